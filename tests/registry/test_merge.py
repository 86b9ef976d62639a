"""Merging two records of one person, and undoing the merge.

The case at the desk of Phường Hoàn Kiếm: Nguyễn Văn Hùng was collected twice, once from the household
register (with his household, CMND and card) and once from a legacy file, spelled without tone marks,
with a phone number, his father's name, a child and an earlier address. One record must remain, with
everything either source knew, and an officer who got it wrong must be able to take it back exactly.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry import selectors, services
from dancu.registry.models import (
    AbsenceDeclaration,
    Citizen,
    CitizenMerge,
    FamilyLink,
    Household,
    HouseholdMember,
    IdentityCardRecord,
    PinRecord,
    RecordVersion,
    Residence,
)
from tests.conftest import HOAN_KIEM, HONG_HA, SYSTEM, Personas, commune, household_of, make_citizen
from tests.registry.merge_support import card, full_snapshot, reviewer

pytestmark = pytest.mark.django_db
REASON = "Hai hồ sơ cùng một người: trùng họ tên, ngày sinh, cha"
TODAY = date(2025, 9, 1)


def codes(exc: pytest.ExceptionInfo[DomainError]) -> set[str]:
    return {e.code for e in exc.value.errors}


def _moved(citizen: Citizen, commune_code: str, address: str, registered_on: date) -> Residence:
    """`citizen` registers a new permanent residence at `address`: a move, which ends the old one."""
    return services.residence_register(
        actor=SYSTEM,
        citizen=citizen,
        kind="permanent",
        commune=commune(commune_code),
        address_detail=address,
        registered_on=registered_on,
        reason="Chuyển nơi thường trú",
        source_document="CT01",
    )


def _temporary_stay(citizen: Citizen, address: str, *, commune_code: str, expires_on: date) -> Residence:
    """`citizen` registers a temporary residence at `address` from 1 January 2025 until `expires_on`."""
    return services.residence_register(
        actor=SYSTEM,
        citizen=citizen,
        kind="temporary",
        commune=commune(commune_code),
        address_detail=address,
        registered_on=date(2025, 1, 1),
        expires_on=expires_on,
        reason="Đăng ký tạm trú",
        source_document="CT01",
        today=TODAY,
    )


def _father(citizen: Citizen, name: str) -> FamilyLink:
    return services.family_link_add(
        actor=SYSTEM,
        citizen=citizen,
        kind="father",
        relative_name=name,
        reason="Khai báo cha",
        source_document="Giấy khai sinh",
    )


@pytest.fixture
def thu(db: None) -> User:
    return reviewer()


@pytest.fixture
def hung() -> Citizen:
    """Hùng from the household register: head of his household, CMND, chip card."""
    hung = make_citizen(full_name="Nguyễn Văn Hùng", old_id_number="012345678")
    wife = make_citizen(full_name="Lê Thị Hạnh", sex="F", birth_date="1992-02-03")
    household_of(hung, spouse=wife)
    card(hung)
    return Citizen.objects.get(pk=hung.pk)


@pytest.fixture
def duplicate() -> Citizen:
    """The same Hùng from a legacy file, registered later: another address before the current one, a
    phone, his father by name, a child in the registry, an old paper card and a declared absence."""
    dup = make_citizen(
        full_name="Nguyen Van Hung", address="Số 3 phố Hàng Gai", phone="0912345678", native_place="Nam Định"
    )
    _moved(dup, "00070", "Số 9 phố Hàng Bông", date(2020, 3, 1))
    _father(dup, "Nguyễn Văn Tâm")
    child = make_citizen(full_name="Nguyễn Văn An", birth_date="2015-08-09", address="Số 9 phố Hàng Bông")
    services.family_link_add(
        actor=SYSTEM, citizen=child, kind="father", relative=dup, reason="Khai sinh", source_document="KS 9"
    )
    IdentityCardRecord.objects.create(
        citizen=dup, kind="cmnd", number="012345678", issued_on=date(2008, 1, 1), issued_by="CA Hà Nội"
    )
    AbsenceDeclaration.objects.create(
        citizen=dup,
        starts_on=date(2024, 1, 1),
        ends_on=date(2024, 6, 30),
        destination="Đà Nẵng",
        reason="Công tác",
    )
    return Citizen.objects.get(pk=dup.pk)


def merge(actor: User, keep: Citizen, absorb: Citizen, **kwargs: Any) -> CitizenMerge:
    return services.citizen_merge(
        actor=Actor(actor),
        keep=keep,
        absorb=absorb,
        reason=REASON,
        source_document="Biên bản xác minh 7",
        **kwargs,
    )


def test_the_earliest_pin_stays_unless_the_other_is_on_a_card(hung: Citizen, duplicate: Citizen) -> None:
    assert services.merge_pin_rule(duplicate, hung) == (hung, duplicate, "pin.on_card")
    IdentityCardRecord.objects.filter(citizen=hung, kind="cccd").delete()
    assert services.merge_pin_rule(duplicate, hung) == (hung, duplicate, "pin.earliest")
    card(duplicate)
    assert services.merge_pin_rule(hung, duplicate) == (duplicate, hung, "pin.on_card")


def test_keeping_the_record_whose_pin_must_go_is_refused(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    with pytest.raises(DomainError) as exc:
        merge(thu, duplicate, hung, choices={"permanent": "keep"})
    assert codes(exc) == {"merge.pin_rule"}
    assert hung.pin in exc.value.errors[0].message_en


def test_merge_moves_everything_and_undo_restores_everything(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    child = Citizen.objects.get(full_name="Nguyễn Văn An")
    before = full_snapshot(hung, duplicate, child)
    dup_residences = set(duplicate.residences.values_list("pk", flat=True))

    result = merge(thu, hung, duplicate, choices={"permanent": "keep"}, today=TODAY)

    duplicate.refresh_from_db()
    hung.refresh_from_db()
    assert duplicate.merged_into_id == hung.pk
    assert result.pin_rule == "pin.on_card"
    # The absorbed PIN is cancelled in the ledger, linked to the PIN that stayed, and never reused.
    cancelled = PinRecord.objects.get(pin=duplicate.pin)
    assert cancelled.cancelled_at is not None
    assert cancelled.merged_into == PinRecord.objects.get(pin=hung.pin)
    assert PinRecord.objects.get(pin=hung.pin).cancelled_at is None
    # Residences: the duplicate's history moved; its current one (another address) was ended.
    assert set(hung.residences.values_list("pk", flat=True)) >= dup_residences
    current = hung.residences.get(kind="permanent", ended_on__isnull=True)
    assert current.address_detail == "Số 1 phố Hàng Trống"
    assert Residence.objects.get(address_detail="Số 9 phố Hàng Bông", citizen=hung).ended_on == TODAY
    # Family: the father by name moved; the child's father is now the kept record, both ways.
    assert hung.family_links.get(kind="father").relative_name == "Nguyễn Văn Tâm"
    assert child.family_links.get(kind="father").relative == hung
    assert child.family_links.get(kind="father").relative_pin == hung.pin
    assert hung.family_links.filter(kind="child", relative=child).exists()
    # Cards, absences, and what only the duplicate knew.
    assert hung.card_records.count() == 2
    assert hung.absences.count() == 1
    assert (hung.phone, hung.native_place) == ("0912345678", "Nam Định")
    assert hung.old_id_number == "012345678"
    assert hung.household_memberships.get(left_on__isnull=True).relation_to_head == "head"
    # One event, counted toward the commune.
    event = AuditEvent.objects.get(event_type=EventType.CITIZEN_MERGED)
    assert event.unit == commune("00070")
    assert event.data["absorbed_pin"] == duplicate.pin
    # Reads: the absorbed PIN leads to the kept record; searches show the person once.
    assert selectors.citizen_get(actor=thu, pin=duplicate.pin, purpose="Kiểm tra").pk == hung.pk
    assert selectors.citizen_get(actor=thu, pk=duplicate.pk, purpose="Kiểm tra").pk == hung.pk
    page = selectors.citizen_search(
        actor=thu, query=selectors.CitizenQuery(text="nguyen van hung"), purpose="Kiểm tra"
    )
    assert [c.pk for c in page.results] == [hung.pk]
    # The duplicate's own history stays readable from the kept record.
    [(found, versions)] = selectors.citizen_merged_history(actor=thu, citizen_id=hung.pk, purpose="Kiểm tra")
    assert found == result
    assert versions[0].snapshot["full_name"] == "Nguyen Van Hung"
    # The cancelled PIN is never given again.
    with pytest.raises(DomainError) as exc:
        make_citizen(
            full_name="Trần Văn Mới", place=duplicate.pin[:3], pin=duplicate.pin, birth_date="1990-01-01"
        )
    assert "pin.duplicate" in codes(exc)

    services.citizen_merge_undo(actor=Actor(thu), merge=result, reason="Xác minh lại: hai người khác nhau")

    assert full_snapshot(hung, duplicate, child) == before
    result.refresh_from_db()
    assert result.is_undone
    assert (
        AuditEvent.objects.filter(event_type=EventType.CITIZEN_MERGE_UNDONE, unit=commune("00070")).count()
        == 1
    )
    assert selectors.citizen_get(actor=thu, pin=duplicate.pin, purpose="Kiểm tra").pk == duplicate.pk
    with pytest.raises(DomainError) as exc:
        services.citizen_merge_undo(actor=Actor(thu), merge=result, reason="Lần nữa")
    assert codes(exc) == {"merge.already_undone"}


def test_choosing_the_absorbed_address_moves_household_and_cmnd(thu: User, hung: Citizen) -> None:
    """The kept record is a legacy one without a household; the registered household comes with the
    other record's residence, and its CMND is chosen over the kept record's."""
    legacy = make_citizen(full_name="Nguyễn Văn Hùng", address="Số 5 phố Hàng Mã", old_id_number="087654321")
    card(legacy)
    IdentityCardRecord.objects.filter(citizen=hung, kind="cccd").delete()
    before = full_snapshot(hung, legacy)
    with pytest.raises(DomainError) as exc:
        merge(thu, legacy, hung)
    assert codes(exc) == {"merge.choice_required"}
    assert {e.field for e in exc.value.errors} == {"choices.permanent", "choices.old_id_number"}
    with pytest.raises(DomainError) as exc:
        merge(thu, legacy, hung, choices={"permanent": "keep", "old_id_number": "absorb"})
    # Hùng heads a household with his wife: he cannot leave it in a merge.
    assert codes(exc) == {"household.head_leaving"}
    assert full_snapshot(hung, legacy) == before

    result = merge(thu, legacy, hung, choices={"permanent": "absorb", "old_id_number": "absorb"}, today=TODAY)

    legacy.refresh_from_db()
    hung.refresh_from_db()
    assert legacy.old_id_number == "012345678"
    assert hung.old_id_number == "087654321"  # the CMND not kept stays on the absorbed record
    assert (
        legacy.residences.get(kind="permanent", ended_on__isnull=True).address_detail == "Số 1 phố Hàng Trống"
    )
    assert legacy.household_memberships.get(left_on__isnull=True).relation_to_head == "head"
    _household, members = selectors.household_get(
        actor=thu, pk=legacy.household_memberships.get().household_id, purpose="Kiểm tra"
    )
    assert legacy.pk in {m.citizen_id for m in members}
    assert hung.pk not in {m.citizen_id for m in members}
    services.citizen_merge_undo(actor=Actor(thu), merge=result, reason="Nhầm")
    assert full_snapshot(hung, legacy) == before


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("sex", "merge.sex_differs"),
        ("relatives", "merge.relatives"),
        ("both_heads", "merge.both_heads"),
        ("already_merged", "citizen.merged"),
        ("same", "merge.same_record"),
    ],
)
def test_impossible_merges_are_refused_and_leave_nothing(
    thu: User, hung: Citizen, setup: str, code: str
) -> None:
    other = make_citizen(
        full_name="Nguyễn Văn Hùng", sex="F" if setup == "sex" else "M", address="Số 9 phố Hàng Bông"
    )
    if setup == "relatives":
        services.family_link_add(
            actor=SYSTEM,
            citizen=other,
            kind="spouse",
            relative=hung,
            reason="Kết hôn",
            source_document="ĐKKH",
        )
    if setup == "both_heads":
        household_of(
            other, commune_code="00070", address="Số 9 phố Hàng Bông", registered_on=date(2018, 1, 1)
        )
    if setup == "already_merged":
        newer = make_citizen(full_name="Nguyễn Văn Hùng", address="Số 9 phố Hàng Bông")
        merge(thu, other, newer)
        other = newer  # merged into the record above already
    absorb = hung if setup == "same" else other
    before = full_snapshot(hung, other)
    events = AuditEvent.objects.count()
    with pytest.raises(DomainError) as exc:
        merge(thu, hung, absorb, choices={"permanent": "keep"})
    assert code in codes(exc)
    assert full_snapshot(hung, other) == before
    assert AuditEvent.objects.count() == events
    assert not CitizenMerge.objects.filter(kept=hung).exists()


def test_only_reviewers_of_the_area_merge(
    personas: Personas, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    for officer in (personas.lan, personas.an):  # a collector, an auditor
        with pytest.raises(DomainError) as exc:
            merge(officer, hung, duplicate, choices={"permanent": "keep"})
        assert codes(exc) == {"role.not_allowed"}
    other_commune = reviewer(username="hong_ha_reviewer", commune_code=HONG_HA)
    with pytest.raises(NotFoundError):
        merge(other_commune, hung, duplicate, choices={"permanent": "keep"})
    with pytest.raises(NotFoundError):
        merge(personas.dung, hung, duplicate, choices={"permanent": "keep"})  # supervisor of TP HCM
    assert merge(personas.cuong, hung, duplicate, choices={"permanent": "keep"}).kept == hung


@pytest.mark.parametrize("reason", ["", "   ", "lý do\x00", "\u202egnol", "x" * 1001])
def test_hostile_reasons_are_refused(thu: User, hung: Citizen, duplicate: Citizen, reason: str) -> None:
    with pytest.raises(DomainError) as exc:
        services.citizen_merge(
            actor=Actor(thu),
            keep=hung,
            absorb=duplicate,
            reason=reason,
            source_document="",
            choices={"permanent": "keep"},
        )
    assert {e.field for e in exc.value.errors} == {"reason"}
    assert not CitizenMerge.objects.exists()


def test_bad_choices_name_the_choice(thu: User, hung: Citizen, duplicate: Citizen) -> None:
    with pytest.raises(DomainError) as exc:
        merge(thu, hung, duplicate, choices={"permanent": "both", "father": "absorb", "<script>": "keep"})
    assert {e.field for e in exc.value.errors} == {"choices.permanent", "choices.father", "choices.<script>"}
    assert codes(exc) == {"merge.choice_invalid"}


def test_undo_is_refused_when_a_merged_value_changed_since(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    result = merge(thu, hung, duplicate, choices={"permanent": "keep"}, today=TODAY)
    hung.refresh_from_db()
    services.citizen_update(
        actor=Actor(thu),
        citizen=hung,
        changes={"phone": "0987654321"},
        reason="Công dân báo số điện thoại mới",
        source_document="DC02",
    )
    with pytest.raises(DomainError) as exc:
        services.citizen_merge_undo(actor=Actor(thu), merge=result, reason="Nhầm")
    assert codes(exc) == {"merge.changed_since"}
    assert "citizen" in exc.value.errors[0].message_en
    assert "phone" in exc.value.errors[0].message_en
    result.refresh_from_db()
    assert not result.is_undone


def test_undo_is_refused_when_the_kept_record_was_merged_again(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    result = merge(thu, hung, duplicate, choices={"permanent": "keep"})
    IdentityCardRecord.objects.filter(citizen=hung, kind="cccd").delete()
    older = Citizen.objects.get(pk=hung.pk)
    newer = make_citizen(full_name="Nguyễn Văn Hùng", address="Số 1 phố Hàng Trống")
    merge(thu, older, newer)
    # Undo in the wrong order: the first merge's kept record is fine, so undo the second first.
    third = make_citizen(full_name="Nguyễn Văn Hùng", address="Số 1 phố Hàng Trống")
    card(third)
    merge(thu, third, Citizen.objects.get(pk=hung.pk))
    with pytest.raises(DomainError) as exc:
        services.citizen_merge_undo(actor=Actor(thu), merge=result, reason="Nhầm")
    assert codes(exc) == {"merge.kept_merged_since"}


def test_undo_is_for_reviewers(personas: Personas, thu: User, hung: Citizen, duplicate: Citizen) -> None:
    result = merge(thu, hung, duplicate, choices={"permanent": "keep"})
    with pytest.raises(DomainError) as exc:
        services.citizen_merge_undo(actor=Actor(personas.lan), merge=result, reason="Nhầm")
    assert codes(exc) == {"role.not_allowed"}
    with pytest.raises(NotFoundError):
        services.citizen_merge_undo(actor=Actor(personas.dung), merge=result, reason="Nhầm")
    with pytest.raises(DomainError) as exc:
        services.citizen_merge_undo(actor=Actor(thu), merge=result, reason="\x00")
    assert {e.field for e in exc.value.errors} == {"reason"}


def test_merge_conflicts_lists_what_needs_a_choice(hung: Citizen, duplicate: Citizen) -> None:
    found = services.merge_conflicts(keep=hung, absorb=duplicate)
    assert [(e.field, e.code) for e in found] == [("choices.permanent", "merge.choice_required")]
    assert services.merge_conflicts(keep=duplicate, absorb=hung)[0].code == "merge.pin_rule"
    assert FamilyLink.objects.filter(relative=duplicate).count() == 1


def test_a_conflict_that_one_answer_to_a_choice_settles_is_said_with_the_choice(hung: Citizen) -> None:
    """Keeping the legacy record's address would take Hùng, a head, out of his household: that bars only
    that answer (choosing Hùng's address merges), so the review lists it with the choice of the permanent
    residence and not among what forbids the merge ("Không thể hợp nhất")."""
    legacy = make_citizen(full_name="Nguyễn Văn Hùng", address="Số 5 phố Hàng Mã")
    # The legacy record holds the card, so it is the one kept (the PIN rule).
    card(legacy)
    IdentityCardRecord.objects.filter(citizen=hung, kind="cccd").delete()

    found = services.merge_conflicts(keep=legacy, absorb=hung)

    assert [(e.field, e.code) for e in found] == [("choices.permanent", "merge.choice_required")]
    assert "thay đổi chủ hộ" in found[0].message_vi
    assert "change the head" in found[0].message_en
    # Where neither answer settles it, it still bars the merge: both records head a household.
    other_home = make_citizen(
        full_name="Nguyễn Văn Hùng", address="Số 7 phố Hàng Mã", birth_date="1990-05-17"
    )
    household_of(other_home)
    card(other_home)
    assert "merge.both_heads" in {e.code for e in services.merge_conflicts(keep=other_home, absorb=hung)}


def test_temporary_residences_and_shared_relatives_round_trip(thu: User, hung: Citizen) -> None:
    """Both records declare a temporary stay elsewhere and both are recorded as Hạnh's spouse: the
    absorbed stay is chosen, Hạnh's duplicate link stays with the absorbed record; undo restores all."""
    dup = make_citizen(full_name="Nguyen Van Hung", address="Số 1 phố Hàng Trống")
    hanh = Citizen.objects.get(full_name="Lê Thị Hạnh")
    for citizen, address in ((hung, "Số 2 Lê Lợi"), (dup, "Số 8 Trần Phú")):
        _temporary_stay(citizen, address, commune_code=HONG_HA, expires_on=date(2026, 1, 1))
    for citizen in (hung, dup):
        services.family_link_add(
            actor=SYSTEM,
            citizen=hanh,
            kind="spouse",
            relative=citizen,
            reason="Kết hôn",
            source_document="ĐKKH",
        )
    before = full_snapshot(hung, dup, hanh)

    result = merge(thu, hung, dup, choices={"temporary": "absorb"}, today=TODAY)

    assert hung.residences.get(kind="temporary", ended_on__isnull=True).address_detail == "Số 8 Trần Phú"
    assert result.summary["left_on_absorbed"]["links_to_record"] == 1
    assert FamilyLink.objects.filter(citizen=hanh, kind="spouse", relative=dup).exists()
    services.citizen_merge_undo(actor=Actor(thu), merge=result, reason="Nhầm")
    assert full_snapshot(hung, dup, hanh) == before


def test_a_chain_of_merges_is_undone_from_the_last(thu: User, hung: Citizen) -> None:
    second = make_citizen(full_name="Nguyen Van Hung", address="Số 1 phố Hàng Trống", email="hung@example.vn")
    third = make_citizen(full_name="NGUYEN VAN HUNG", address="Số 1 phố Hàng Trống", phone="0900000000")
    before = full_snapshot(hung, second, third)
    first_merge = merge(thu, second, third)
    with pytest.raises(DomainError) as exc:
        merge(thu, hung, third)
    assert codes(exc) == {"citizen.merged"}
    second_merge = merge(thu, hung, Citizen.objects.get(pk=second.pk))
    # The first absorbed PIN now leads through both merges to Hùng.
    assert selectors.citizen_get(actor=thu, pin=third.pin, purpose="Kiểm tra").pk == hung.pk
    # What only the first duplicate knew came through the second to the record that stayed.
    kept = Citizen.objects.get(pk=hung.pk)
    assert (kept.phone, kept.email) == ("0900000000", "hung@example.vn")
    with pytest.raises(DomainError) as exc:
        services.citizen_merge_undo(actor=Actor(thu), merge=first_merge, reason="Nhầm")
    assert codes(exc) == {"merge.kept_merged_since"}
    services.citizen_merge_undo(actor=Actor(thu), merge=second_merge, reason="Nhầm")
    services.citizen_merge_undo(actor=Actor(thu), merge=first_merge, reason="Nhầm")
    assert full_snapshot(hung, second, third) == before


def _current_residence(citizen: Citizen, address: str) -> Residence:
    return services.residence_register(
        actor=SYSTEM,
        citizen=citizen,
        kind="current",
        commune=commune("00070"),
        address_detail=address,
        registered_on=TODAY,
        reason="Khai báo nơi ở hiện tại",
        source_document="CT01",
        today=TODAY,
    )


def test_undo_refused_when_the_person_moved_on_since(thu: User, hung: Citizen, duplicate: Citizen) -> None:
    ours = _current_residence(hung, "Số 1 phố Hàng Bè")
    _current_residence(duplicate, "Số 2 phố Hàng Bè")
    # The absorbed record's place of living stays current; the kept record's own is ended by the merge.
    result = merge(thu, hung, duplicate, choices={"permanent": "keep", "current": "absorb"}, today=TODAY)
    # Since, the person moved again: the place of living the merge kept ends and a new one is declared.
    # Undoing would give the absorbed record back a residence whose story went on on the kept record, and
    # make the one the merge ended current again, next to the new one.
    moved = Residence.objects.get(citizen=hung, kind="current", ended_on__isnull=True)
    services.residence_end(
        actor=SYSTEM, residence=moved, ended_on=TODAY, reason="Chuyển đi", source_document="CT01"
    )
    _current_residence(Citizen.objects.get(pk=hung.pk), "Số 3 phố Hàng Bè")
    with pytest.raises(DomainError) as exc:
        services.citizen_merge_undo(actor=Actor(thu), merge=result, reason="Nhầm")
    assert codes(exc) == {"merge.changed_since"}
    assert f"residence #{moved.pk}: ended_on" in exc.value.errors[0].message_en
    result.refresh_from_db()
    assert not result.is_undone
    assert Citizen.objects.get(pk=duplicate.pk).merged_into_id == hung.pk
    ours.refresh_from_db()
    assert ours.ended_on == TODAY


def test_undo_is_refused_when_a_later_merge_ended_a_residence_this_one_moved(thu: User) -> None:
    # Quý registered three times at one address; B and C each with a temporary residence of their own.
    a, b, c = (make_citizen(full_name="Đinh Văn Quý", birth_date="1965-03-03") for _ in range(3))
    moved = _temporary_stay(b, "Số 5 phố Hàng Đào", commune_code=HOAN_KIEM, expires_on=date(2026, 12, 31))
    _temporary_stay(c, "Số 9 phố Hàng Bè", commune_code=HOAN_KIEM, expires_on=date(2026, 12, 31))
    first = merge(thu, a, b, today=TODAY)
    assert Residence.objects.get(pk=moved.pk).citizen_id == a.pk
    # The second merge takes C's temporary residence and ends the one the first merge moved to A.
    merge(thu, Citizen.objects.get(pk=a.pk), c, choices={"temporary": "absorb"}, today=TODAY)
    assert Residence.objects.get(pk=moved.pk).ended_on is not None

    with pytest.raises(DomainError) as exc:
        services.citizen_merge_undo(actor=Actor(thu), merge=first, reason="Nhầm người")
    assert codes(exc) == {"merge.changed_since"}
    assert f"residence #{moved.pk}: ended_on" in exc.value.errors[0].message_en
    first.refresh_from_db()
    assert not first.is_undone
    assert Citizen.objects.get(pk=b.pk).merged_into_id == a.pk


def test_undo_is_refused_when_a_moved_residence_was_ended_since(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    result = merge(thu, hung, duplicate, choices={"permanent": "keep"}, today=TODAY)
    # The earlier address the duplicate brought, moved as it was (only its owner changed).
    moved = next(
        entry["pk"]
        for entry in result.changes
        if entry["model"] == "residence" and entry["new"] == {"citizen_id": hung.pk}
    )
    past = Residence.objects.get(pk=moved)
    Residence.objects.filter(pk=past.pk).update(end_reason="Sửa lý do kết thúc")
    with pytest.raises(DomainError) as exc:
        services.citizen_merge_undo(actor=Actor(thu), merge=result, reason="Nhầm")
    assert codes(exc) == {"merge.changed_since"}
    assert f"residence #{past.pk}: end_reason" in exc.value.errors[0].message_en


# Households, parents and fields of the two records ------------------------------------------------------


def _join(household: Household, citizen: Citizen, joined_on: date) -> None:
    services.household_add_member(
        actor=SYSTEM,
        household=household,
        citizen=citizen,
        relation_to_head="other",
        joined_on=joined_on,
        reason="Nhập hộ",
        source_document="CT01",
    )


def _change_head(household: Household, new_head: Citizen, changed_on: date) -> None:
    services.household_change_head(
        actor=SYSTEM,
        household=household,
        new_head=new_head,
        previous_head_relation="other",
        changed_on=changed_on,
        reason="Thay đổi chủ hộ",
        source_document="CT01",
    )


def test_a_duplicate_in_the_kept_records_household_leaves_it_and_brings_its_former_households(
    thu: User, hung: Citizen
) -> None:
    """The duplicate once lived in Bảy's household, then joined Hùng's own: the same person twice in one
    household. While the duplicate heads it the merge is refused; once Hùng heads it again, the
    duplicate's membership ends and stays on the absorbed record, its former household moves to Hùng."""
    household = Household.objects.get(memberships__citizen=hung)
    hanh = Citizen.objects.get(full_name="Lê Thị Hạnh")
    bay = make_citizen(full_name="Trần Văn Bảy", birth_date="1960-01-01", address="Số 7 phố Hàng Mã")
    bays = household_of(bay)
    dup = make_citizen(full_name="Nguyen Van Hung", address="Số 3 phố Hàng Gai")
    _join(bays, dup, date(2016, 6, 1))
    _moved(dup, HOAN_KIEM, "Số 3 phố Hàng Gai", date(2017, 1, 1))
    _join(household, dup, date(2018, 1, 1))
    _change_head(household, dup, date(2019, 1, 1))
    before = full_snapshot(hung, dup, hanh)
    events = AuditEvent.objects.count()

    with pytest.raises(DomainError) as exc:
        merge(thu, hung, Citizen.objects.get(pk=dup.pk), today=TODAY)

    assert [(e.field, e.code) for e in exc.value.errors] == [("household", "merge.absorbed_is_head")]
    assert "make the kept record the head first" in exc.value.errors[0].message_en
    assert full_snapshot(hung, dup, hanh) == before
    assert AuditEvent.objects.count() == events
    # The review page says the same before the officer decides.
    found = services.merge_conflicts(
        keep=Citizen.objects.get(pk=hung.pk), absorb=Citizen.objects.get(pk=dup.pk)
    )
    assert [e.code for e in found] == ["merge.absorbed_is_head"]

    # What the refusal asks: Hùng heads his household again.
    _change_head(household, Citizen.objects.get(pk=hung.pk), date(2019, 6, 1))
    before = full_snapshot(hung, dup, hanh, bay)
    version = Household.objects.get(pk=household.pk).version

    result = merge(thu, Citizen.objects.get(pk=hung.pk), Citizen.objects.get(pk=dup.pk), today=TODAY)

    # One member fewer: the duplicate's membership ended on the day of the merge, on the absorbed record.
    ended = HouseholdMember.objects.get(household=household, citizen=dup)
    assert ended.left_on == TODAY
    assert set(
        HouseholdMember.objects.filter(household=household, left_on__isnull=True).values_list(
            "citizen_id", "relation_to_head"
        )
    ) == {(hung.pk, "head"), (hanh.pk, "spouse")}
    # The household Bảy heads is in the kept record's history now, once.
    former = HouseholdMember.objects.get(household=bays, relation_to_head="other")
    assert (former.citizen_id, former.left_on) == (hung.pk, date(2017, 1, 1))
    assert result.summary["moved"]["past_households"] == 1
    assert "households" not in result.summary["moved"]
    # The household's next version is the merge's, and shows its members as they now are.
    merged = Household.objects.get(pk=household.pk)
    assert merged.version == version + 1
    latest = RecordVersion.objects.get(entity="household", entity_id=household.pk, version=merged.version)
    assert latest.event.event_type == EventType.CITIZEN_MERGED
    assert {m["citizen_id"] for m in latest.snapshot["members"]} == {hung.pk, hanh.pk}

    services.citizen_merge_undo(actor=Actor(thu), merge=result, reason="Nhầm")

    assert full_snapshot(hung, dup, hanh, bay) == before


def test_the_blood_type_only_the_absorbed_record_knows_fills_the_kept_one_with_its_source(
    thu: User, hung: Citizen
) -> None:
    dup = make_citizen(
        full_name="Nguyen Van Hung",
        address="Số 1 phố Hàng Trống",
        blood_type="A",
        blood_type_source="Kết quả xét nghiệm Bệnh viện Bạch Mai 12/2020",
    )

    result = merge(thu, hung, dup, today=TODAY)

    kept = Citizen.objects.get(pk=hung.pk)
    assert (kept.blood_type, kept.blood_type_source) == ("A", "Kết quả xét nghiệm Bệnh viện Bạch Mai 12/2020")
    assert result.summary["filled"] == {"blood_type": 1, "blood_type_source": 1}
    services.citizen_merge_undo(actor=Actor(thu), merge=result, reason="Nhầm")
    kept.refresh_from_db()
    assert (kept.blood_type, kept.blood_type_source) == ("", "")


def test_a_blood_type_of_the_kept_record_is_not_replaced(thu: User) -> None:
    keep = make_citizen(full_name="Đinh Văn Quý", blood_type="O", blood_type_source="Giấy xét nghiệm 1")
    absorb = make_citizen(full_name="Dinh Van Quy", blood_type="B", blood_type_source="Giấy xét nghiệm 2")

    result = merge(thu, keep, absorb, today=TODAY)

    keep.refresh_from_db()
    assert (keep.blood_type, keep.blood_type_source) == ("O", "Giấy xét nghiệm 1")
    assert "filled" not in result.summary


def test_a_father_named_alike_on_both_records_needs_no_choice(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    """The legacy file spelled Hùng's father without tone marks: the same name, so the same father."""
    ours = _father(hung, "NGUYEN VAN TAM")
    theirs = duplicate.family_links.get(kind="father")

    assert [e.field for e in services.merge_conflicts(keep=hung, absorb=duplicate)] == ["choices.permanent"]
    result = merge(thu, hung, duplicate, choices={"permanent": "keep"}, today=TODAY)

    assert list(FamilyLink.objects.filter(citizen=hung, kind="father")) == [ours]
    assert FamilyLink.objects.get(pk=theirs.pk).citizen_id == duplicate.pk
    assert result.summary["left_on_absorbed"]["family_links"] == 1


def test_different_fathers_need_the_officer_to_keep_the_kept_records(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    ours = _father(hung, "Nguyễn Văn Tấn")
    theirs = duplicate.family_links.get(kind="father")
    before = full_snapshot(hung, duplicate)

    with pytest.raises(DomainError) as exc:
        merge(thu, hung, duplicate, choices={"permanent": "keep"}, today=TODAY)

    assert [(e.field, e.code) for e in exc.value.errors] == [("choices.father", "merge.choice_required")]
    assert "different parents" in exc.value.errors[0].message_en
    assert full_snapshot(hung, duplicate) == before

    merge(thu, hung, duplicate, choices={"permanent": "keep", "father": "keep"}, today=TODAY)

    assert list(FamilyLink.objects.filter(citizen=hung, kind="father")) == [ours]
    # The other father stays on the absorbed record; a wrong one is corrected with a DC02 form.
    assert FamilyLink.objects.get(pk=theirs.pk).citizen_id == duplicate.pk


def test_undo_is_refused_when_a_moved_link_was_replaced_since(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    """The father the duplicate brought was corrected since (a DC02): the link the merge moved is gone,
    and the undo cannot hand it back."""
    result = merge(thu, hung, duplicate, choices={"permanent": "keep"}, today=TODAY)
    moved = FamilyLink.objects.get(citizen=hung, kind="father")
    services.family_link_replace(
        actor=SYSTEM,
        citizen=Citizen.objects.get(pk=hung.pk),
        kind="father",
        relative_name="Nguyễn Văn Tấn",
        reason="Sửa tên cha theo giấy khai sinh",
        source_document="DC02 số 3",
    )
    events = AuditEvent.objects.count()

    with pytest.raises(DomainError) as exc:
        services.citizen_merge_undo(actor=Actor(thu), merge=result, reason="Nhầm")

    assert codes(exc) == {"merge.changed_since"}
    assert f"family_link #{moved.pk}: citizen_id" in exc.value.errors[0].message_en
    result.refresh_from_db()
    assert not result.is_undone
    assert Citizen.objects.get(pk=duplicate.pk).merged_into_id == hung.pk
    assert AuditEvent.objects.count() == events


def test_undo_is_refused_when_the_household_the_absorbed_record_left_has_a_new_head(thu: User) -> None:
    """Quý was registered twice; the second record headed a household alone at another address. The merge
    kept the first record's address and ended that membership; since, Tư moved in and heads the
    household. Undoing would give it two heads: refused, and nothing is written."""
    keep = make_citizen(full_name="Đinh Văn Quý", birth_date="1965-03-03", address="Số 2 phố Hàng Bạc")
    absorb = make_citizen(full_name="Dinh Van Quy", birth_date="1965-03-03", address="Số 4 phố Hàng Bạc")
    emptied = household_of(absorb, address="Số 4 phố Hàng Bạc")
    result = merge(thu, keep, Citizen.objects.get(pk=absorb.pk), choices={"permanent": "keep"}, today=TODAY)
    assert not emptied.memberships.filter(left_on__isnull=True).exists()
    tu = make_citizen(full_name="Lê Văn Tư", birth_date="1970-01-01", address="Số 8 phố Hàng Bạc")
    services.household_add_member(
        actor=SYSTEM,
        household=emptied,
        citizen=tu,
        relation_to_head="head",
        joined_on=TODAY,
        reason="Nhập hộ",
        source_document="CT01",
    )
    before = full_snapshot(keep, absorb, tu)
    events = AuditEvent.objects.count()

    with pytest.raises(DomainError) as exc:
        services.citizen_merge_undo(actor=Actor(thu), merge=result, reason="Nhầm người")

    assert [(e.field, e.code) for e in exc.value.errors] == [("merge", "merge.undo_conflict")]
    # The refusal names what clashes: the household's new head, not something of the kept record.
    assert "a new head of the household the absorbed record left" in exc.value.errors[0].message_en
    assert full_snapshot(keep, absorb, tu) == before
    assert AuditEvent.objects.count() == events
    result.refresh_from_db()
    assert not result.is_undone


def test_the_kept_address_ends_no_earlier_than_the_household_the_merge_brought(thu: User) -> None:
    """Quý's first record was registered at Số 2 phố Hàng Bạc in 2015; the second opened a household at
    the same address in 2020. Merged, the first record keeps its residence of 2015 and takes the
    household of 2020: the residence cannot be ended before the day he joined that household."""
    keep = make_citizen(full_name="Đinh Văn Quý", birth_date="1965-03-03", address="Số 2 phố Hàng Bạc")
    absorb = make_citizen(full_name="Dinh Van Quy", birth_date="1965-03-03", address="Số 6 phố Hàng Bạc")
    household = household_of(absorb, address="Số 2 phố Hàng Bạc", registered_on=date(2020, 1, 1))
    merge(thu, keep, Citizen.objects.get(pk=absorb.pk), today=TODAY)
    residence = Residence.objects.get(citizen=keep, kind="permanent", ended_on__isnull=True)
    assert residence.registered_on == date(2015, 1, 1)
    membership = HouseholdMember.objects.get(citizen=keep, left_on__isnull=True)
    assert (membership.household, membership.joined_on) == (household, date(2020, 1, 1))
    events = AuditEvent.objects.count()

    with pytest.raises(DomainError) as exc:
        services.residence_end(
            actor=Actor(thu),
            residence=residence,
            ended_on=date(2018, 1, 1),
            reason="Xoá đăng ký thường trú",
            source_document="CT01",
            today=TODAY,
        )

    assert [(e.field, e.code) for e in exc.value.errors] == [("ended_on", "residence.end_before_start")]
    assert "before the citizen joined the household" in exc.value.errors[0].message_en
    residence.refresh_from_db()
    assert residence.ended_on is None
    assert HouseholdMember.objects.get(pk=membership.pk).left_on is None
    assert AuditEvent.objects.count() == events
