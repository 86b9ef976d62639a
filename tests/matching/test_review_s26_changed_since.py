"""A decision is made on the records the page showed: a record changed since the page was opened (another
officer's correction in a second tab, a staged row written to the registry meanwhile) refuses the decision
with `pair.changed_since`, writes nothing, and the page shows the records as they are now (session 26,
the reviewers' round)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent, EventType
from dancu.matching.models import CandidatePair
from dancu.registry import services
from dancu.registry.models import Citizen, CitizenMerge
from tests.conftest import SYSTEM, make_citizen
from tests.matching.factories import candidate_pair, staged_row
from tests.matching.test_api import api, post

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def _seen(page: str) -> str:
    found = re.search(r'<input type="hidden" name="seen" value="([^"]*)">', page)
    assert found, "the decision form carries the records as the page showed them"
    return found.group(1)


def _correct_phone(citizen: Citizen) -> None:
    """Another officer corrects the record while the reviewer's page is open."""
    services.citizen_update(
        actor=SYSTEM,
        citizen=Citizen.objects.get(pk=citizen.pk),
        changes={"phone": "0987654321"},
        reason="Công dân báo số điện thoại mới",
        source_document="Phiếu DC02 số 12",
    )


def test_a_merge_on_a_record_changed_since_the_page_was_opened_is_refused(
    sign_in: SignIn, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    pair = candidate_pair(hung, duplicate)
    client = sign_in(Client(), thu)
    opened = client.get(f"/duplicates/{pair.pk}/").content.decode()
    seen = _seen(opened)

    _correct_phone(duplicate)
    answer = client.post(
        f"/duplicates/{pair.pk}/decide/",
        {"decision": "same", "reason": "Cùng cha mẹ, cùng ngày sinh", "seen": seen},
    )

    assert answer.status_code == 422
    page = answer.content.decode()
    assert "pair.changed_since" in page
    assert "0987654321" in page  # the page now shows the record as it is
    # The answer is asked again, on the records as they are now; the reason typed is kept.
    assert 'value="same" id="decision-same" checked' not in page
    assert "Cùng cha mẹ, cùng ngày sinh</textarea>" in page
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING
    assert Citizen.objects.get(pk=duplicate.pk).merged_into_id is None
    assert not AuditEvent.objects.filter(event_type=EventType.PAIR_DECIDED).exists()

    # The reviewer reads the records again and decides on what the page now shows.
    again = client.post(
        f"/duplicates/{pair.pk}/decide/",
        {"decision": "same", "reason": "Cùng cha mẹ, cùng ngày sinh", "seen": _seen(page)},
    )
    assert again.status_code == 302
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.MERGED


def test_not_the_same_on_a_changed_record_is_refused_too(
    sign_in: SignIn, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    # A correction may be what makes the two records one person: "not the same" is kept for ever (the
    # matcher never proposes the pair again), so it is refused on a stale page as a merge is.
    pair = candidate_pair(hung, duplicate)
    client = sign_in(Client(), thu)
    seen = _seen(client.get(f"/duplicates/{pair.pk}/").content.decode())

    _correct_phone(hung)
    answer = client.post(
        f"/duplicates/{pair.pk}/decide/", {"decision": "different", "reason": "Khác quê quán", "seen": seen}
    )

    assert answer.status_code == 422
    assert "pair.changed_since" in answer.content.decode()
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING


def test_a_double_submit_after_the_merge_is_still_answered_as_the_first(
    sign_in: SignIn, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    # The merge itself writes a new version of both records; the same form sent twice (a double click, the
    # back button and "send again") is the officer's own decision, answered as the first, not as stale.
    pair = candidate_pair(hung, duplicate)
    client = sign_in(Client(), thu)
    form = {
        "decision": "same",
        "reason": "Cùng cha mẹ, cùng ngày sinh",
        "seen": _seen(client.get(f"/duplicates/{pair.pk}/").content.decode()),
    }
    assert client.post(f"/duplicates/{pair.pk}/decide/", form).status_code == 302
    assert client.post(f"/duplicates/{pair.pk}/decide/", form).status_code == 302
    assert AuditEvent.objects.filter(event_type=EventType.PAIR_DECIDED).count() == 1


def test_the_api_gives_the_records_as_read_and_refuses_a_stale_decision(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    pair = candidate_pair(hung, duplicate)
    client = api(thu)
    seen = client.get(f"/api/v1/matching/pairs/{pair.pk}").json()["seen"]
    assert seen

    _correct_phone(duplicate)
    stale = post(
        client,
        f"/api/v1/matching/pairs/{pair.pk}/decision",
        {"same": True, "reason": "Cùng cha mẹ", "seen": seen},
    )
    assert stale.status_code == 422
    assert [(e["field"], e["code"]) for e in stale.json()["errors"]] == [("seen", "pair.changed_since")]
    assert all(e["message_vi"] and e["message_en"] for e in stale.json()["errors"])
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING

    fresh = client.get(f"/api/v1/matching/pairs/{pair.pk}").json()["seen"]
    assert fresh != seen
    decided = post(
        client,
        f"/api/v1/matching/pairs/{pair.pk}/decision",
        {"same": True, "reason": "Cùng cha mẹ", "seen": fresh},
    )
    assert decided.status_code == 200, decided.content[:800]
    assert decided.json()["status"] == "merged"


def test_a_staged_row_written_to_the_registry_since_turns_the_link_into_a_merge_and_is_refused(
    sign_in: SignIn, thu: User, hung: Citizen
) -> None:
    # The page showed a legacy row beside Hùng: "same person" would link the row. The row reached the
    # registry meanwhile as a record of its own, and the same answer would now merge two citizens.
    row = staged_row(full_name="Nguyen Van Hung")
    pair = candidate_pair(hung, row)
    client = sign_in(Client(), thu)
    seen = _seen(client.get(f"/duplicates/{pair.pk}/").content.decode())

    row.citizen = make_citizen(full_name="Nguyen Van Hung")
    row.save(update_fields=["citizen"])
    answer = client.post(
        f"/duplicates/{pair.pk}/decide/", {"decision": "same", "reason": "Cùng cha mẹ", "seen": seen}
    )

    assert answer.status_code == 422
    assert "pair.changed_since" in answer.content.decode()
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING
    assert not CitizenMerge.objects.exists()
