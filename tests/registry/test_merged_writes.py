"""A record merged into another takes no more writes, and a merge and a write never both win a race.

Hùng was registered twice; the second record was merged into the first. A form, a request or an import
that loaded the second record before the merge must not write to it afterwards: its data now live in
the kept record, and the refusal says which one, so the officer knows where to go.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import connection, transaction

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.lib.errors import DomainError
from dancu.registry import services
from dancu.registry.models import Citizen, CitizenMerge, Household
from tests.conftest import HOAN_KIEM, SYSTEM, commune, counts, household_of, make_citizen, personas_create
from tests.races import race

TODAY = date(2025, 9, 1)
REASON = "Sửa theo giấy tờ"
DOCUMENT = "Đơn đề nghị"


def merge(keep: Citizen, absorb: Citizen) -> CitizenMerge:
    return services.citizen_merge(
        actor=SYSTEM,
        keep=Citizen.objects.get(pk=keep.pk),
        absorb=Citizen.objects.get(pk=absorb.pk),
        reason="Hai hồ sơ cùng một người",
        source_document="Biên bản xác minh 7",
    )


def twins() -> tuple[Citizen, Citizen]:
    """Two records of one Hùng at the same address: a merge needs no choice."""
    return make_citizen(full_name="Nguyễn Văn Hùng"), make_citizen(full_name="Nguyen Van Hung")


def update_phone(citizen: Citizen, phone: str = "0911222333") -> Citizen:
    return services.citizen_update(
        actor=SYSTEM, citizen=citizen, changes={"phone": phone}, reason=REASON, source_document=DOCUMENT
    )


def _card_record(citizen: Citizen, other: Citizen) -> None:
    with transaction.atomic():
        event = audit_event_record(
            actor=SYSTEM, event_type=EventType.CARD_DELIVERED, subject_type="card", subject_id=1
        )
        services.identity_card_record_add(
            actor=SYSTEM,
            citizen=citizen,
            event=event,
            kind="cccd",
            number=citizen.pin,
            issued_on=TODAY,
            issued_by="Cục Cảnh sát QLHC về TTXH",
            expires_on=date(2030, 5, 17),
            reason="Trả thẻ",
            source_document="Lô 1",
        )


def _household_of_other(other: Citizen) -> Household:
    return Household.objects.get(memberships__citizen=other)


# Each write service of the registry, given the merged record as it was loaded before the merge.
WRITES: dict[str, Callable[[Citizen, Citizen], Any]] = {
    "citizen_update": lambda stale, other: update_phone(stale),
    "pin_reissue": lambda stale, other: services.pin_reissue(
        actor=SYSTEM, citizen=stale, new_sex="F", reason=REASON, source_document="Quyết định 12"
    ),
    "residence_register": lambda stale, other: services.residence_register(
        actor=SYSTEM,
        citizen=stale,
        kind="temporary",
        commune=commune(HOAN_KIEM),
        address_detail="Số 4 phố Hàng Bè",
        registered_on=TODAY,
        expires_on=date(2026, 9, 1),
        reason=REASON,
        source_document=DOCUMENT,
        today=TODAY,
    ),
    "household_create": lambda stale, other: services.household_create(
        actor=SYSTEM,
        head=stale,
        commune=commune(HOAN_KIEM),
        address_detail="Số 4 phố Hàng Bè",
        registered_on=TODAY,
        reason=REASON,
        source_document=DOCUMENT,
    ),
    "household_add_member": lambda stale, other: services.household_add_member(
        actor=SYSTEM,
        household=_household_of_other(other),
        citizen=stale,
        relation_to_head="child",
        joined_on=TODAY,
        reason=REASON,
        source_document=DOCUMENT,
    ),
    "household_change_head": lambda stale, other: services.household_change_head(
        actor=SYSTEM,
        household=_household_of_other(other),
        new_head=stale,
        previous_head_relation="child",
        changed_on=TODAY,
        reason=REASON,
        source_document=DOCUMENT,
    ),
    "family_link_add": lambda stale, other: services.family_link_add(
        actor=SYSTEM, citizen=stale, kind="spouse", relative=other, reason=REASON, source_document=DOCUMENT
    ),
    "family_link_add (relative)": lambda stale, other: services.family_link_add(
        actor=SYSTEM, citizen=other, kind="spouse", relative=stale, reason=REASON, source_document=DOCUMENT
    ),
    "identity_card_record_add": _card_record,
}


@pytest.mark.django_db
@pytest.mark.parametrize("write", sorted(WRITES))
def test_every_write_to_a_merged_record_is_refused_naming_the_kept_record(write: str) -> None:
    kept, absorbed = twins()
    other = make_citizen(
        full_name="Lê Thị Hạnh", sex="F", birth_date="1992-02-03", address="Số 7 phố Hàng Da"
    )
    household_of(other)
    stale = Citizen.objects.get(pk=absorbed.pk)  # loaded before the merge, as by a form or a request
    merge(kept, absorbed)
    before = counts()
    with pytest.raises(DomainError) as exc:
        WRITES[write](stale, Citizen.objects.get(pk=other.pk))
    [problem] = exc.value.errors
    assert (problem.field, problem.code) == ("citizen", "citizen.merged")
    # Both languages name the merged record and the record to work on instead.
    for message in (problem.message_vi, problem.message_en):
        assert absorbed.pin in message
        assert kept.pin in message
    assert counts() == before
    assert Citizen.objects.get(pk=absorbed.pk).phone == ""


@pytest.mark.django_db
def test_the_review_page_lists_the_refusal_too() -> None:
    kept, absorbed = twins()
    third = make_citizen(full_name="Nguyễn Văn Hùng", address="Số 9 phố Hàng Bông")
    merge(kept, absorbed)
    conflicts = services.merge_conflicts(keep=third, absorb=Citizen.objects.get(pk=absorbed.pk))
    assert [c.code for c in conflicts] == ["citizen.merged"]


@pytest.mark.django_db
def test_undoing_the_merge_makes_the_record_writable_again() -> None:
    kept, absorbed = twins()
    stale = Citizen.objects.get(pk=absorbed.pk)
    result = merge(kept, absorbed)
    with pytest.raises(DomainError):
        update_phone(stale)
    services.citizen_merge_undo(actor=SYSTEM, merge=result, reason="Hai người khác nhau")
    update_phone(stale)
    assert Citizen.objects.get(pk=absorbed.pk).phone == "0911222333"
    assert Citizen.objects.get(pk=kept.pk).phone == ""


@pytest.mark.django_db
def test_a_write_to_the_kept_record_after_a_merge_is_accepted() -> None:
    kept, absorbed = twins()
    stale_kept = Citizen.objects.get(pk=kept.pk)
    merge(kept, absorbed)
    update_phone(stale_kept)
    assert Citizen.objects.get(pk=kept.pk).phone == "0911222333"


def test_a_lock_taken_outside_a_transaction_is_a_callers_mistake() -> None:
    """A row lock outside a transaction would end with the statement that took it, leaving the write it was
    for unprotected: the lock helpers refuse before any query (this test has no database at all)."""
    citizen = Citizen(pk=1, pin="001090000001")
    with pytest.raises(RuntimeError, match="inside the transaction of the write"):
        services.citizen_lock(citizen)
    with pytest.raises(RuntimeError, match="inside the transaction of its delivery"):
        services.identity_card_record_add(
            actor=SYSTEM,
            citizen=citizen,
            event=AuditEvent(),
            kind="cccd",
            number=citizen.pin,
            issued_on=TODAY,
            issued_by="Cục Cảnh sát QLHC về TTXH",
            expires_on=date(2030, 5, 17),
            reason="Trả thẻ",
            source_document="Lô 1",
        )


# A merge and a write at the same moment --------------------------------------------------------------------
#
# On PostgreSQL the two run in two threads, each on its own connection, on committed data: the first
# holds its transaction open (and so the record's lock) until the second is seen waiting for that lock,
# then commits. SQLite lets one writer in at a time: there the same two orders are played one after the
# other, and must end the same way.


def test_a_write_that_waits_for_a_merge_is_refused(transactional_db: None) -> None:
    kept, absorbed = twins()
    stale = Citizen.objects.get(pk=absorbed.pk)
    result = race(lambda: merge(kept, absorbed), lambda: update_phone(stale))
    assert isinstance(result, DomainError), result
    assert [e.code for e in result.errors] == ["citizen.merged"]
    assert Citizen.objects.get(pk=absorbed.pk).phone == ""
    assert Citizen.objects.get(pk=kept.pk).phone == ""
    assert Citizen.objects.get(pk=absorbed.pk).merged_into_id == kept.pk


def test_a_merge_that_waits_for_a_write_carries_it_over(transactional_db: None) -> None:
    kept, absorbed = twins()
    stale = Citizen.objects.get(pk=absorbed.pk)
    result = race(lambda: update_phone(stale), lambda: merge(kept, absorbed))
    assert isinstance(result, CitizenMerge), result
    # The phone only the absorbed record knew, written just before, fills the kept record.
    assert Citizen.objects.get(pk=kept.pk).phone == "0911222333"
    assert result.summary["filled"] == {"phone": 1}
    assert Citizen.objects.get(pk=absorbed.pk).merged_into_id == kept.pk


def test_an_arrival_that_waits_for_a_merge_names_no_record_outside_the_area(transactional_db: None) -> None:
    """Bình of Phường Hồng Hà registers the arrival of the second Hùng from his card while that record is
    being merged into the first, in Hoàn Kiếm. On PostgreSQL the arrival found the record before the merge
    committed and is refused once it has: the refusal must not give the PIN of the kept record, which lies
    outside Bình's area. (SQLite plays the merge first, and the arrival finds the kept record by the PIN
    merged away: Hùng moves to Hồng Hà, which is as right.)"""
    binh = personas_create().binh
    kept, absorbed = twins()

    def arrival() -> Citizen:
        return services.residence_arrival_register(
            actor=Actor(binh),
            pin=absorbed.pin,
            full_name=absorbed.full_name,
            birth_date="17/05/1990",
            registered_on=date(2025, 8, 1),
            address_detail="Số 15 phố Hàng Chiếu",
            reason="Chuyển đến",
            source_document="CT01",
        )

    result = race(lambda: merge(kept, absorbed), arrival)

    if connection.vendor != "postgresql":
        assert isinstance(result, Citizen), result
        assert result.pk == kept.pk
        return
    assert isinstance(result, DomainError), result
    assert [e.code for e in result.errors] == ["citizen.merged"]
    assert all(kept.pin not in e.message_vi + e.message_en for e in result.errors)
