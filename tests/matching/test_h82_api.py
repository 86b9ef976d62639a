"""The API's queue carries what the merge would say of each pending pair, as the queue's page marks it: the
merge's refusals and the choices it needs, each with its code and its message in both languages, read for
the whole page at once (a page of eight pairs costs the queries of a page of two)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dancu.accounts.models import User
from dancu.matching.models import CandidatePair
from dancu.registry import services
from dancu.registry.models import Citizen
from tests.conftest import SYSTEM, make_citizen
from tests.matching.factories import candidate_pair, staged_row
from tests.matching.test_api import api
from tests.matching.test_h79_queue import _pair_with_everything

pytestmark = pytest.mark.django_db


def _items(client: Client, query: str = "") -> dict[int, dict[str, Any]]:
    response = client.get(f"/api/v1/matching/pairs{query}")
    assert response.status_code == 200, response.content[:800]
    return {item["id"]: item for item in response.json()["results"]}


def test_each_pending_pair_says_what_the_merge_would(thu: User, hung: Citizen, duplicate: Citizen) -> None:
    woman = make_citizen(full_name="Nguyễn Thị Hùng", sex="F")
    refused = candidate_pair(hung, woman, probability=0.99)
    elsewhere = make_citizen(
        full_name="Nguyen Van Hung", address="Số 9 phố Hàng Bông", old_id_number="087654321"
    )
    choosing = candidate_pair(elsewhere, hung, probability=0.98)
    clean = candidate_pair(hung, duplicate, probability=0.97)
    staged = candidate_pair(hung, staged_row(), probability=0.96)
    client = api(thu)

    items = _items(client)

    assert items[refused.pk]["conflicts"] == [
        {
            "field": "absorb",
            "code": "merge.sex_differs",
            "message_vi": "Hai hồ sơ khác giới tính: không thể là một người",
            "message_en": "The records differ in sex: they cannot be one person",
        }
    ]
    needed = items[choosing.pk]["conflicts"]
    assert {(c["field"], c["code"]) for c in needed} == {
        ("choices.permanent", "merge.choice_required"),
        ("choices.old_id_number", "merge.choice_required"),
    }
    assert all(c["message_vi"] and c["message_en"] for c in needed)
    assert items[clean.pk]["conflicts"] == []
    assert items[staged.pk]["conflicts"] == []
    # The list says what the pair's own answer says, and what deciding it answers.
    for pair in (refused, choosing, clean):
        detail = client.get(f"/api/v1/matching/pairs/{pair.pk}").json()
        assert detail["conflicts"] == items[pair.pk]["conflicts"]


def test_a_side_merged_away_since_is_refused_naming_the_kept_record(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    other = make_citizen(full_name="Nguyen Van Hung")
    pair = candidate_pair(duplicate, other)
    services.citizen_merge(
        actor=SYSTEM, keep=hung, absorb=duplicate, reason="Cùng một người", source_document="Biên bản 7"
    )
    [conflict] = [c for c in _items(api(thu))[pair.pk]["conflicts"] if c["code"] == "citizen.merged"]
    assert f"Hồ sơ {duplicate.pin} đã được hợp nhất vào hồ sơ {hung.pin}" in conflict["message_vi"]
    assert f"Record {duplicate.pin} was merged into record {hung.pin}" in conflict["message_en"]


def test_a_decided_pair_carries_none(thu: User, hung: Citizen) -> None:
    woman = make_citizen(full_name="Nguyễn Thị Hùng", sex="F")
    pair = candidate_pair(hung, woman)
    CandidatePair.objects.filter(pk=pair.pk).update(
        status=CandidatePair.Status.DIFFERENT,
        decided_by=thu,
        decided_at=timezone.now(),
        decision_reason="Khác người",
    )
    assert _items(api(thu), "?status=decided")[pair.pk]["conflicts"] == []


def _queue_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        items = _items(client)
    assert all(item["conflicts"] for item in items.values())
    return len(ctx.captured_queries)


def test_the_conflicts_cost_the_same_queries_for_two_pairs_as_for_eight(thu: User) -> None:
    for number in range(2):
        _pair_with_everything(number)
    client = api(thu)
    two = _queue_queries(client)
    for number in range(2, 8):
        _pair_with_everything(number)
    eight = _queue_queries(client)
    assert len(_items(client)) == 8
    assert eight == two
