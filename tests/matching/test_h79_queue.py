"""The queue marks each pending pair with what the merge would say of it, without opening the pair: a pair
the merge refuses ("Không thể hợp nhất"), one that needs the officer's choice, and one that needs nothing.
The mark is the merge's own verdict (registry.services.merge_conflicts), read for the whole page at once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dancu.accounts.models import User
from dancu.matching.models import CandidatePair
from dancu.registry import services
from dancu.registry.models import Citizen, CitizenMerge
from tests.conftest import SYSTEM, household_of, make_citizen
from tests.matching.factories import candidate_pair, staged_row
from tests.registry.merge_support import card

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def _row(page: str, pair: CandidatePair) -> str:
    start = page.index(f'data-pair="{pair.pk}"')
    return page[start : page.index("</tr>", start)]


def test_each_pair_says_whether_it_can_be_merged_and_what_it_needs(
    sign_in: SignIn, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    woman = make_citizen(full_name="Nguyễn Thị Hùng", sex="F")
    refused = candidate_pair(hung, woman, probability=0.99)
    elsewhere = make_citizen(
        full_name="Nguyen Van Hung", address="Số 9 phố Hàng Bông", old_id_number="087654321"
    )
    choosing = candidate_pair(elsewhere, hung, probability=0.98)
    clean = candidate_pair(hung, duplicate, probability=0.97)
    staged = candidate_pair(hung, staged_row(), probability=0.96)
    client = sign_in(Client(), thu)

    page = client.get("/duplicates/").content.decode()

    assert "data-blocked" in _row(page, refused)
    assert "Không thể hợp nhất" in _row(page, refused)
    assert "Hai hồ sơ khác giới tính: không thể là một người" in _row(page, refused)
    assert "data-choices" not in _row(page, refused)
    assert "data-choices" in _row(page, choosing)
    assert "Cần chọn khi hợp nhất" in _row(page, choosing)
    assert "Nơi thường trú giữ lại" in _row(page, choosing)
    assert "Số CMND giữ lại" in _row(page, choosing)
    assert "data-blocked" not in _row(page, choosing)
    for quiet in (clean, staged):
        assert "data-blocked" not in _row(page, quiet)
        assert "data-choices" not in _row(page, quiet)

    # The mark is what the merge says: confirming the refused pair is refused for that rule, nothing written.
    response = client.post(f"/duplicates/{refused.pk}/decide/", {"decision": "same", "reason": "Trùng"})
    assert response.status_code == 422
    assert "merge.sex_differs" in response.content.decode()
    refused.refresh_from_db()
    assert refused.status == CandidatePair.Status.PENDING
    assert not CitizenMerge.objects.exists()

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/duplicates/").content.decode()
    assert "Cannot be merged" in _row(page, refused)
    assert "The records differ in sex: they cannot be one person" in _row(page, refused)
    assert "Needs a choice to merge" in _row(page, choosing)
    assert "Permanent residence to keep" in _row(page, choosing)


def test_a_side_merged_away_since_is_marked_as_refused(
    sign_in: SignIn, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    other = make_citizen(full_name="Nguyen Van Hung")
    pair = candidate_pair(duplicate, other)
    services.citizen_merge(
        actor=SYSTEM, keep=hung, absorb=duplicate, reason="Cùng một người", source_document="Biên bản 7"
    )
    page = sign_in(Client(), thu).get("/duplicates/").content.decode()
    row = _row(page, pair)
    assert "data-blocked" in row
    assert f"Hồ sơ {duplicate.pin} đã được hợp nhất vào hồ sơ {hung.pin}" in row


def test_the_decided_list_carries_no_mark(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    woman = make_citizen(full_name="Nguyễn Thị Hùng", sex="F")
    pair = candidate_pair(hung, woman)
    CandidatePair.objects.filter(pk=pair.pk).update(
        status=CandidatePair.Status.DIFFERENT,
        decided_by=thu,
        decided_at=timezone.now(),
        decision_reason="Khác người",
    )
    page = sign_in(Client(), thu).get("/duplicates/?status=decided").content.decode()
    assert f'data-pair="{pair.pk}"' in page
    assert "data-blocked" not in page


def _queue_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/duplicates/")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _pair_with_everything(number: int) -> None:
    """Two records of one person, each with a card, a household and parents, at two addresses: every
    check of the merge has rows to read."""
    given = ["An", "Bình", "Cường", "Dũng", "Giang", "Hải", "Khánh", "Long"][number]
    first = make_citizen(full_name=f"Trần Văn {given}", old_id_number=f"1{number:08d}")
    second = make_citizen(
        full_name=f"Tran Van {given}", address=f"Số {number + 1} phố Huế", old_id_number=f"2{number:08d}"
    )
    household_of(first)
    for citizen, mother in ((first, "Lê Thị Tư"), (second, "Phạm Thị Năm")):
        card(citizen)
        for kind, name in (("father", "Trần Văn Ba"), ("mother", mother)):
            services.family_link_add(
                actor=SYSTEM,
                citizen=Citizen.objects.get(pk=citizen.pk),
                kind=kind,
                relative_name=name,
                reason="Thu thập",
                source_document="DC01",
            )
    candidate_pair(first, second, probability=0.9 - number / 1000)


def test_the_marks_cost_the_same_queries_for_two_pairs_as_for_eight(sign_in: SignIn, thu: User) -> None:
    for number in range(2):
        _pair_with_everything(number)
    client = sign_in(Client(), thu)
    two = _queue_queries(client)
    for number in range(2, 8):
        _pair_with_everything(number)
    eight = _queue_queries(client)
    page = client.get("/duplicates/").content.decode()
    assert page.count("data-choices") == 8
    assert eight == two
