"""Merge choices sent on a pair with a staged (imported, not yet promoted) row are refused naming the field
and the rule: such a pair merges nothing, so a choice is a client's mistake. Until session 27 they were
dropped without a word, invalid ones too, and the client believed its choice was applied."""

from __future__ import annotations

from typing import Any

import pytest

from dancu.accounts.models import User
from dancu.collection.models import StagingRecord
from dancu.matching.models import CandidatePair
from dancu.registry.models import Citizen
from tests.matching.factories import candidate_pair, staged_row
from tests.matching.test_api import REASON, api, post, refusal

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("choices", [{"permanent": "keep"}, {"permenant": "whatever"}])
@pytest.mark.parametrize("with_citizen", [True, False], ids=["citizen and row", "two rows"])
def test_choices_on_a_pair_with_a_staged_row_are_refused(
    thu: User, hung: Citizen, choices: dict[str, str], with_citizen: bool
) -> None:
    row = staged_row()
    pair = candidate_pair(hung if with_citizen else staged_row(), row, unit=hung.area_commune)

    response = post(
        api(thu),
        f"/api/v1/matching/pairs/{pair.pk}/decision",
        {"same": True, "reason": REASON, "choices": choices},
    )

    assert refusal(response, 422) == [("choices", "merge.choices_not_applicable")]
    [error] = response.json()["errors"]
    assert "choices" in error["message_en"]
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING
    row.refresh_from_db()
    assert row.status == StagingRecord.Status.REVIEW


def test_the_same_pair_without_choices_is_decided(thu: User, hung: Citizen) -> None:
    pair = candidate_pair(hung, staged_row())
    response = post(api(thu), f"/api/v1/matching/pairs/{pair.pk}/decision", {"same": True, "reason": REASON})
    assert response.status_code == 200, response.content[:500]
    assert response.json()["status"] == "same"


def test_not_the_same_person_with_empty_choices_is_decided(thu: User, hung: Citizen) -> None:
    pair = candidate_pair(hung, staged_row())
    body: dict[str, Any] = {"same": False, "reason": REASON, "choices": {}}
    response = post(api(thu), f"/api/v1/matching/pairs/{pair.pk}/decision", body)
    assert response.json()["status"] == "different"
