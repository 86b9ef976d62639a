"""The DC01/DC02 workflow: every step, every refusal, and the one transaction that writes the registry.

Lan collects door to door in Phường Hoàn Kiếm; Hằng checks (kiểm tra) the forms of Hoàn Kiếm, Khoa those
of Phường Hồng Hà; Cường, supervisor of Hà Nội, re-checks (phúc tra) and applies them; Dũng is the
supervisor of TP Hồ Chí Minh and sees none of them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone, translation

from dancu.accounts.models import User
from dancu.accounts.services import police_unit_for_area
from dancu.audit.models import AccessLog, AuditEvent
from dancu.audit.services import Actor
from dancu.collection import selectors, workflow
from dancu.collection.models import CollectionForm
from dancu.geo.selectors import province_get
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry import services
from dancu.registry.models import Citizen, Household, HouseholdMember, RecordVersion, Residence
from tests.collection.forms_support import (
    Reviewers,
    advance,
    dc01,
    dc01_data,
    dc02,
    reviewer,
    verifications,
)
from tests.conftest import (
    HOAN_KIEM,
    HONG_HA,
    SAI_GON,
    SYSTEM,
    People,
    Personas,
    commune,
    household_of,
    make_citizen,
)

pytestmark = pytest.mark.django_db

Status = CollectionForm.Status


def household_a_year_old(head: Citizen, **where: str) -> Household:
    """The household of `head`, opened 400 days ago (Số 1 phố Hàng Trống, Hoàn Kiếm unless told otherwise)."""
    return household_of(head, registered_on=timezone.localdate() - timedelta(days=400), **where)


def codes(exc: pytest.ExceptionInfo[DomainError]) -> list[str]:
    return [e.code for e in exc.value.errors]


def events(form: CollectionForm) -> list[str]:
    return list(
        AuditEvent.objects.filter(subject_type="collection_form", subject_id=str(form.pk))
        .order_by("pk")
        .values_list("event_type", flat=True)
    )


# Drafts ----------------------------------------------------------------------------------------------------


def test_a_draft_is_saved_incomplete_with_what_it_still_lacks(personas: Personas) -> None:
    form = dc01(personas.lan, birth_date="", full_name="đỗ minh 3")
    assert form.status == Status.DRAFT
    assert form.created_by == personas.lan
    assert form.commune == commune(HOAN_KIEM)
    assert {(e["field"], e["code"]) for e in form.errors} == {
        ("birth_date", "field.required"),
        ("full_name", "name.digits"),
    }
    assert all(e["message_vi"] and e["message_en"] for e in form.errors)
    assert events(form) == ["collection.form.created"]
    # What was typed is kept as typed (trimmed, NFC); the registry normalizes it when the form is applied.
    assert form.data["full_name"] == "đỗ minh 3"


def test_a_draft_needs_a_known_commune_of_the_authors_area(personas: Personas) -> None:
    with pytest.raises(DomainError) as outside:
        dc01(personas.lan, commune_code=HONG_HA)
    assert codes(outside) == ["unit.outside_jurisdiction"]
    with pytest.raises(DomainError) as unknown:
        dc01(personas.lan, commune_code="99999")
    assert codes(unknown) == ["unit.unknown"]
    with pytest.raises(DomainError) as blank:
        dc01(personas.lan, commune_code="")
    assert codes(blank) == ["field.required"]
    assert not CollectionForm.objects.exists()


@pytest.mark.parametrize("who", ["cuong", "minh", "an"])
def test_only_commune_police_fill_in_forms(personas: Personas, who: str) -> None:
    with pytest.raises(DomainError) as refused:
        dc01(getattr(personas, who))
    assert codes(refused) == ["role.not_allowed"]
    with pytest.raises(DomainError):
        workflow.form_create_draft(actor=SYSTEM, kind="DC01", data=dc01_data())
    assert not CollectionForm.objects.exists()


def test_bad_input_shapes_are_refused_with_a_code(personas: Personas) -> None:
    actor = Actor(personas.lan)
    with pytest.raises(DomainError) as unknown:
        workflow.form_create_draft(actor=actor, kind="DC01", data={**dc01_data(), "is_admin": "1"})
    assert codes(unknown) == ["form.unknown_field"]
    with pytest.raises(DomainError) as kind:
        workflow.form_create_draft(actor=actor, kind="DC03", data=dc01_data())
    assert codes(kind) == ["form.kind_invalid"]
    with pytest.raises(DomainError) as long_value:
        workflow.form_create_draft(actor=actor, kind="DC01", data=dc01_data(address_detail="x" * 5000))
    assert codes(long_value) == ["text.too_long"]
    with pytest.raises(DomainError) as not_text:
        workflow.form_create_draft(actor=actor, kind="DC01", data={**dc01_data(), "full_name": ["a"]})
    assert codes(not_text) == ["form.value_type"]


def test_only_the_author_edits_a_draft(personas: Personas, staff: Reviewers) -> None:
    form = dc01(personas.lan)
    with pytest.raises(DomainError) as refused:
        workflow.form_update_draft(actor=Actor(staff.hang), form=form, data=dc01_data(phone=""))
    assert codes(refused) == ["form.not_author"]
    with pytest.raises(NotFoundError):  # Bình, of another commune, does not even see it
        workflow.form_update_draft(actor=Actor(personas.binh), form=form, data=dc01_data())
    form = workflow.form_update_draft(actor=Actor(personas.lan), form=form, data=dc01_data(phone=""))
    assert "phone" not in form.data
    assert events(form) == ["collection.form.created", "collection.form.updated"]


# The way through -----------------------------------------------------------------------------------------


def test_a_dc01_goes_through_check_and_recheck_into_the_registry(
    personas: Personas, staff: Reviewers
) -> None:
    form = dc01(personas.lan)
    assert form.errors == []
    form = workflow.form_submit(actor=Actor(personas.lan), form=form)
    assert (form.status, form.submitted_at is not None) == (Status.SUBMITTED, True)
    form = workflow.form_check(actor=Actor(staff.hang), form=form)
    assert (form.status, form.checked_by, form.checked_at is not None) == (Status.CHECKED, staff.hang, True)
    form = workflow.form_recheck(actor=Actor(personas.cuong), form=form)
    assert (form.status, form.rechecked_by) == (Status.RECHECKED, personas.cuong)
    form = workflow.form_apply(actor=Actor(personas.cuong), form=form)
    assert (form.status, form.applied_by, form.applied_at is not None) == (
        Status.APPLIED,
        personas.cuong,
        True,
    )

    citizen = Citizen.objects.get(pk=form.citizen_id)
    assert citizen.full_name == "Đỗ Minh Khang"
    assert citizen.pin.startswith("001092")  # Hà Nội, a man born in the 1900s, 1992: a PIN allocated
    assert citizen.phone == "0912345678"
    residence = citizen.residences.get()
    assert (residence.kind, residence.commune.code, residence.address_detail) == (
        "permanent",
        HOAN_KIEM,
        "Số 8 phố Hàng Bè",
    )
    versions = RecordVersion.objects.filter(entity="citizen", entity_id=citizen.pk)
    assert versions.exists()
    assert {v.source_document for v in versions} == {f"DC01 #{form.pk}"}
    assert all(
        f"phiếu DC01 #{form.pk}" in v.reason and "Giấy khai sinh số 12/1992" in v.reason for v in versions
    )
    assert all(v.actor == personas.cuong for v in versions)
    assert events(form) == [
        "collection.form.created",
        "collection.form.submitted",
        "collection.form.checked",
        "collection.form.rechecked",
        "collection.form.applied",
    ]
    applied = AuditEvent.objects.get(subject_id=str(form.pk), event_type="collection.form.applied")
    assert applied.actor == personas.cuong
    assert applied.data["pin"] == citizen.pin
    assert applied.source_document == f"DC01 #{form.pk}"
    # Every step counts toward the form's commune, which is how campaigns tally the work.
    form_events = AuditEvent.objects.filter(subject_type="collection_form", subject_id=str(form.pk))
    assert {event.unit_id for event in form_events} == {form.commune_id}


def test_a_dc01_naming_a_household_joins_it(personas: Personas, people: People, staff: Reviewers) -> None:
    household = household_a_year_old(people.hung)
    form = dc01(
        personas.lan,
        household_number=household.number,
        relation_to_head="child",
        birth_date="12/03/2010",
        address_detail="Số 1 phố Hàng Trống",
    )
    assert form.errors == []
    form = advance(form, "applied", reviewer=staff.hang, supervisor=personas.cuong)

    membership = HouseholdMember.objects.get(citizen_id=form.citizen_id)
    assert (membership.household, membership.relation_to_head) == (household, "child")
    residences = {
        r.kind: r for r in Residence.objects.filter(citizen_id=form.citizen_id, ended_on__isnull=True)
    }
    assert residences["permanent"].household == household
    assert residences["current"].address_detail == "Số 1 phố Hàng Trống"
    household_versions = RecordVersion.objects.filter(entity="household", entity_id=household.pk)
    assert household_versions.order_by("-version").first().source_document == f"DC01 #{form.pk}"


def test_household_rules_of_a_dc01(personas: Personas, people: People) -> None:
    household = household_a_year_old(people.hung)
    form = dc01(
        personas.lan, household_number=household.number, relation_to_head="head", residence_kind="temporary"
    )
    assert {e["code"] for e in form.errors} >= {"household.second_head", "household.needs_permanent"}
    form = dc01(personas.lan, household_number="00070-99999999", relation_to_head="child")
    assert [e["code"] for e in form.errors] == ["household.unknown"]
    form = dc01(personas.lan, relation_to_head="child")
    assert [e["code"] for e in form.errors] == ["household.number_required"]
    form = dc01(personas.lan, household_number=household.number)
    assert [e["code"] for e in form.errors] == ["field.required"]


def test_a_dc02_updates_the_record_with_history_pointing_to_it(
    personas: Personas, people: People, staff: Reviewers
) -> None:
    form = dc02(personas.lan, people.hung, {"full_name": "nguyễn văn hưng", "phone": "0987654321"})
    assert (form.citizen, form.commune) == (people.hung, commune(HOAN_KIEM))
    assert [w["code"] for w in form.warnings] == ["change.identity"]
    form = workflow.form_submit(actor=Actor(personas.lan), form=form)
    form = workflow.form_check(actor=Actor(staff.hang), form=form, acknowledged=["change.identity"])
    form = workflow.form_recheck(actor=Actor(personas.cuong), form=form)
    form = workflow.form_apply(actor=Actor(personas.cuong), form=form)

    people.hung.refresh_from_db()
    assert (people.hung.full_name, people.hung.phone) == ("Nguyễn Văn Hưng", "0987654321")
    latest = (
        RecordVersion.objects.filter(entity="citizen", entity_id=people.hung.pk).order_by("-version").first()
    )
    assert latest.source_document == f"DC02 #{form.pk}"
    assert "Sửa sai sót khi nhập liệu" in latest.reason
    assert "Trích lục khai sinh số 45/2024" in latest.reason
    update = AuditEvent.objects.get(event_type="registry.citizen.updated", subject_id=str(people.hung.pk))
    assert update.data["changes"]["full_name"] == {"old": "Nguyễn Văn Hùng", "new": "Nguyễn Văn Hưng"}


def test_a_dc02_needs_a_document_a_reason_and_something_to_change(personas: Personas, people: People) -> None:
    form = dc02(personas.lan, people.hung, {}, document="", reason="")
    assert {e["code"] for e in form.errors} == {"form.no_changes", "document.required", "field.required"}
    with pytest.raises(DomainError) as refused:
        workflow.form_submit(actor=Actor(personas.lan), form=form)
    assert set(codes(refused)) == {"form.no_changes", "document.required", "field.required"}
    form = dc02(personas.lan, people.hung, {"pin": "001090000001", "birth_date": "1991", "phone": "12"})
    assert {(e["field"], e["code"]) for e in form.errors} == {
        ("pin", "field.not_updatable"),
        ("pin", "pin.year_mismatch"),
        ("phone", "phone.format"),
    }


def test_a_dc02_of_someone_outside_the_area_looks_missing(personas: Personas, people: People) -> None:
    with pytest.raises(NotFoundError):
        dc02(personas.lan, people.mai, {"phone": "0987654321"})
    assert not CollectionForm.objects.exists()


def test_a_dc02_of_a_legacy_address_belongs_to_the_old_district_too(
    personas: Personas, people: People
) -> None:
    form = dc02(personas.hoa, people.nga, {"phone": "0987654321"})
    assert form.legacy_commune == people.nga.area_legacy_commune
    assert selectors.form_get(actor=personas.hoa, pk=form.pk, purpose="test") == form
    assert selectors.form_get(actor=personas.cuong, pk=form.pk, purpose="test") == form
    with pytest.raises(NotFoundError):
        selectors.form_get(actor=personas.lan, pk=form.pk, purpose="test")


# Refusals --------------------------------------------------------------------------------------------------


def test_errors_block_submitting(personas: Personas) -> None:
    tomorrow = timezone.localdate() + timedelta(days=1)
    form = dc01(personas.lan, full_name="Đỗ Minh 3", registered_on=tomorrow.isoformat())
    with pytest.raises(DomainError) as refused:
        workflow.form_submit(actor=Actor(personas.lan), form=form)
    assert set(codes(refused)) == {"name.digits", "date.future"}
    form.refresh_from_db()
    assert form.status == Status.DRAFT
    assert events(form) == ["collection.form.created"]


@pytest.mark.parametrize(
    ("status", "who", "action"),
    [
        ("submitted", "lan", "check"),
        ("submitted", "cuong", "check"),
        ("checked", "hang", "recheck"),
        ("checked", "lan", "recheck"),
        ("rechecked", "hang", "apply"),
        ("rechecked", "lan", "apply"),
        ("submitted", "cuong", "return"),
        ("checked", "hang", "return"),
    ],
)
def test_each_step_belongs_to_one_role(
    personas: Personas, staff: Reviewers, status: str, who: str, action: str
) -> None:
    form = advance(dc01(personas.lan), status, reviewer=staff.hang, supervisor=personas.cuong)
    user = getattr(staff, who, None) or getattr(personas, who)
    call = {
        "check": lambda: workflow.form_check(actor=Actor(user), form=form),
        "recheck": lambda: workflow.form_recheck(actor=Actor(user), form=form),
        "apply": lambda: workflow.form_apply(actor=Actor(user), form=form),
        "return": lambda: workflow.form_return(actor=Actor(user), form=form, reason="Thiếu giấy tờ"),
    }[action]
    with pytest.raises(DomainError) as refused:
        call()
    assert codes(refused) == ["role.not_allowed"]
    form.refresh_from_db()
    assert form.status == status


@pytest.mark.parametrize(
    ("status", "who"), [("submitted", "khoa"), ("checked", "dung"), ("rechecked", "dung")]
)
def test_reviewers_of_another_area_find_no_such_form(
    personas: Personas, staff: Reviewers, status: str, who: str
) -> None:
    form = advance(dc01(personas.lan), status, reviewer=staff.hang, supervisor=personas.cuong)
    user = getattr(staff, who, None) or getattr(personas, who)
    for call in (
        lambda: workflow.form_check(actor=Actor(user), form=form),
        lambda: workflow.form_recheck(actor=Actor(user), form=form),
        lambda: workflow.form_apply(actor=Actor(user), form=form),
        lambda: workflow.form_return(actor=Actor(user), form=form, reason="Thiếu giấy tờ"),
    ):
        with pytest.raises(NotFoundError):
            call()
    with pytest.raises(NotFoundError):
        selectors.form_get(actor=user, pk=form.pk, purpose="test")


def test_nobody_checks_their_own_form(personas: Personas, staff: Reviewers) -> None:
    # Commune reviewers collect too; a form of Hằng's waits for another reviewer of Hoàn Kiếm.
    form = workflow.form_submit(actor=Actor(staff.hang), form=dc01(staff.hang))
    with pytest.raises(DomainError) as refused:
        workflow.form_check(actor=Actor(staff.hang), form=form)
    assert codes(refused) == ["form.own"]
    with pytest.raises(DomainError) as own_return:
        workflow.form_return(actor=Actor(staff.hang), form=form, reason="Tự trả lại")
    assert codes(own_return) == ["form.own"]
    colleague = reviewer("hanh", HOAN_KIEM, "Lý Thị Hạnh")
    form = workflow.form_check(actor=Actor(colleague), form=form)
    assert form.checked_by == colleague


def test_the_checker_may_not_also_recheck(personas: Personas, staff: Reviewers) -> None:
    form = advance(dc01(personas.lan), "checked", reviewer=staff.hang, supervisor=personas.cuong)
    # Hằng is promoted to the province meanwhile: the form she checked still needs someone else.
    staff.hang.role = User.Role.SUPERVISOR
    staff.hang.police_unit = police_unit_for_area(area=province_get("01"))
    staff.hang.save()
    with pytest.raises(DomainError) as refused:
        workflow.form_recheck(actor=Actor(staff.hang), form=form)
    assert codes(refused) == ["form.same_reviewer"]
    assert workflow.form_allowed_actions(user=staff.hang, form=form) == {"return"}


def test_the_database_itself_refuses_self_review(personas: Personas, staff: Reviewers) -> None:
    form = advance(dc01(personas.lan), "checked", reviewer=staff.hang, supervisor=personas.cuong)
    with pytest.raises(IntegrityError), transaction.atomic():
        CollectionForm.objects.filter(pk=form.pk).update(checked_by=personas.lan)
    with pytest.raises(IntegrityError), transaction.atomic():
        CollectionForm.objects.filter(pk=form.pk).update(rechecked_by=staff.hang)


def test_an_applied_form_never_changes_again(personas: Personas, staff: Reviewers) -> None:
    form = advance(dc01(personas.lan), "applied", reviewer=staff.hang, supervisor=personas.cuong)
    citizens = Citizen.objects.count()
    for call in (
        lambda: workflow.form_apply(actor=Actor(personas.cuong), form=form),
        lambda: workflow.form_return(actor=Actor(personas.cuong), form=form, reason="Muộn rồi"),
        lambda: workflow.form_recheck(actor=Actor(personas.cuong), form=form),
        lambda: workflow.form_check(actor=Actor(staff.hang), form=form),
        lambda: workflow.form_update_draft(actor=Actor(personas.lan), form=form, data=dc01_data()),
        lambda: workflow.form_submit(actor=Actor(personas.lan), form=form),
    ):
        with pytest.raises(DomainError) as refused:
            call()
        assert codes(refused) == ["form.applied"]
    assert Citizen.objects.count() == citizens
    assert workflow.form_allowed_actions(user=personas.cuong, form=form) == set()


def test_a_step_out_of_order_is_refused(personas: Personas, staff: Reviewers) -> None:
    form = dc01(personas.lan)
    with pytest.raises(DomainError) as early_check:
        workflow.form_check(actor=Actor(staff.hang), form=form)
    assert codes(early_check) == ["form.status"]
    with pytest.raises(DomainError) as draft_return:
        workflow.form_return(actor=Actor(staff.hang), form=form, reason="Chưa gửi")
    assert codes(draft_return) == ["form.status"]
    form = workflow.form_submit(actor=Actor(personas.lan), form=form)
    with pytest.raises(DomainError) as skip:
        workflow.form_apply(actor=Actor(personas.cuong), form=form)
    assert codes(skip) == ["form.status"]
    with pytest.raises(DomainError) as edit_submitted:
        workflow.form_update_draft(actor=Actor(personas.lan), form=form, data=dc01_data())
    assert codes(edit_submitted) == ["form.status"]


# Return and resubmit ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "who"), [("submitted", "hang"), ("checked", "cuong"), ("rechecked", "cuong")]
)
def test_a_form_is_returned_with_a_reason_and_submitted_again(
    personas: Personas, staff: Reviewers, status: str, who: str
) -> None:
    form = advance(dc01(personas.lan), status, reviewer=staff.hang, supervisor=personas.cuong)
    user = getattr(staff, who, None) or getattr(personas, who)
    with pytest.raises(DomainError) as no_reason:
        workflow.form_return(actor=Actor(user), form=form, reason="  ")
    assert codes(no_reason) == ["reason.required"]

    form = workflow.form_return(actor=Actor(user), form=form, reason="Số nhà ghi chưa đúng")
    assert (form.status, form.returned_by, form.returned_from) == (Status.RETURNED, user, status)
    assert form.return_reason == "Số nhà ghi chưa đúng"
    returned = AuditEvent.objects.get(subject_id=str(form.pk), event_type="collection.form.returned")
    assert (returned.reason, returned.data["previous"]) == ("Số nhà ghi chưa đúng", status)
    assert returned.unit == form.commune

    # Back with Lan: she corrects the address and submits again; the checks start over.
    form = workflow.form_update_draft(
        actor=Actor(personas.lan), form=form, data=dc01_data(address_detail="Số 18 phố Hàng Bè")
    )
    assert form.status == Status.RETURNED
    form = workflow.form_submit(actor=Actor(personas.lan), form=form)
    assert (form.status, form.checked_by, form.rechecked_by) == (Status.SUBMITTED, None, None)
    form = advance(form, "applied", reviewer=staff.hang, supervisor=personas.cuong)
    assert Citizen.objects.get(pk=form.citizen_id).residences.get().address_detail == "Số 18 phố Hàng Bè"


# Warnings --------------------------------------------------------------------------------------------------


def test_warnings_wait_for_a_reviewers_acknowledgement(personas: Personas, staff: Reviewers) -> None:
    form = dc01(personas.lan, birth_date="1992")
    assert form.errors == []
    assert [w["code"] for w in form.warnings] == ["date.partial"]
    form = workflow.form_submit(actor=Actor(personas.lan), form=form)
    with pytest.raises(DomainError) as refused:
        workflow.form_check(actor=Actor(staff.hang), form=form)
    assert codes(refused) == ["warning.unacknowledged"]
    assert "[date.partial]" in refused.value.errors[0].message_vi
    form = workflow.form_check(actor=Actor(staff.hang), form=form, acknowledged=["date.partial", "bogus"])
    assert form.acknowledged_warnings == ["date.partial"]
    # The supervisor sees what the reviewer acknowledged and need not acknowledge it again.
    form = workflow.form_recheck(actor=Actor(personas.cuong), form=form)
    assert form.status == Status.RECHECKED


def test_a_person_already_in_the_registry_is_flagged(personas: Personas, people: People) -> None:
    form = dc01(personas.lan, full_name="NGUYỄN VĂN HÙNG", birth_date="17/05/1990")
    assert [w["code"] for w in form.warnings] == ["citizen.possible_duplicate"]


def test_the_records_a_form_would_duplicate_are_logged_as_compared(
    personas: Personas, people: People, sign_in: Any
) -> None:
    purpose = "Kiểm tra trùng lặp khi thu thập"
    # Three records in Sài Gòn, outside Lan's ward: the same name and birth date as her form, the PIN she
    # types, the CMND she types.
    twin = make_citizen(full_name="Đỗ Minh Khang", birth_date="1992-03-12", commune_code=SAI_GON)
    pin_holder = make_citizen(full_name="Phan Văn Tài", commune_code=SAI_GON)
    cmnd_holder = make_citizen(
        full_name="Phan Thị Thu", sex="F", commune_code=SAI_GON, old_id_number="025123456"
    )
    client = sign_in(Client(), personas.lan)

    def checked(**changes: str) -> None:
        response = client.post("/forms/validate/", {"kind": "DC01", **dc01_data(**changes)})
        assert response.status_code == 200

    checked()
    checked(full_name="Đỗ Minh Khang ")  # typed again, the same day: one row all the same
    checked(full_name="Lê Văn An", birth_date="17/05/1990", pin=pin_holder.pin)
    checked(full_name="Lê Văn Bình", old_id_number="025123456")
    for record in (twin, pin_holder, cmnd_holder):
        assert verifications(record) == [("lan", "web", "DC01", purpose)]
    with translation.override("en"):
        assert translation.gettext(purpose) == "Duplicates looked for while collecting"
    # A DC02 giving a CMND another record holds is one more verdict about that record (on another day:
    # yesterday's row does not stand for today's).
    AccessLog.objects.filter(citizen=cmnd_holder).update(accessed_at=timezone.now() - timedelta(days=1))
    dc02(personas.lan, people.hung, {"old_id_number": "025123456"})
    assert [row[2] for row in verifications(cmnd_holder)][1:] == [
        CollectionForm.objects.get(citizen=people.hung).label
    ]
    # Judging alone, as a reviewer's step does, writes nothing.
    before = AccessLog.objects.filter(action=AccessLog.Action.VERIFY).count()
    workflow.form_validate(user=personas.lan, kind="DC01", data=dc01_data())
    assert AccessLog.objects.filter(action=AccessLog.Action.VERIFY).count() == before


def test_a_warning_that_appears_after_the_check_needs_the_supervisor(
    personas: Personas, staff: Reviewers
) -> None:
    form = advance(dc01(personas.lan), "checked", reviewer=staff.hang, supervisor=personas.cuong)
    make_citizen(full_name="Đỗ Minh Khang", birth_date="1992-03-12")
    with pytest.raises(DomainError) as refused:
        workflow.form_recheck(actor=Actor(personas.cuong), form=form)
    assert codes(refused) == ["warning.unacknowledged"]
    form = workflow.form_recheck(
        actor=Actor(personas.cuong), form=form, acknowledged=["citizen.possible_duplicate"]
    )
    assert form.acknowledged_warnings == ["citizen.possible_duplicate"]


# Applying is all or nothing --------------------------------------------------------------------------------


def test_a_pin_taken_meanwhile_stops_the_apply_and_writes_nothing(
    personas: Personas, staff: Reviewers
) -> None:
    form = advance(
        dc01(personas.lan, pin="001092123456"), "rechecked", reviewer=staff.hang, supervisor=personas.cuong
    )
    make_citizen(full_name="Người Khác", birth_date="1992-01-01", pin="001092123456")
    citizens, versions = Citizen.objects.count(), RecordVersion.objects.count()

    with pytest.raises(DomainError) as refused:
        workflow.form_apply(actor=Actor(personas.cuong), form=form)
    assert codes(refused) == ["pin.duplicate"]

    form.refresh_from_db()
    assert form.status == Status.RECHECKED
    assert form.citizen_id is None
    assert [e["code"] for e in form.apply_errors] == ["pin.duplicate"]
    assert (Citizen.objects.count(), RecordVersion.objects.count()) == (citizens, versions)
    assert not RecordVersion.objects.filter(source_document=f"DC01 #{form.pk}").exists()
    assert events(form)[-1] == "collection.form.apply_failed"


def test_a_failure_halfway_through_the_registry_rolls_everything_back(
    personas: Personas, people: People, staff: Reviewers, monkeypatch: pytest.MonkeyPatch
) -> None:
    household = household_a_year_old(people.hung)
    form = advance(
        dc01(personas.lan, household_number=household.number, relation_to_head="child", birth_date="2010"),
        "rechecked",
        reviewer=staff.hang,
        supervisor=personas.cuong,
        acknowledged=("date.partial",),
    )
    citizens, residences, versions = (
        Citizen.objects.count(),
        Residence.objects.count(),
        RecordVersion.objects.count(),
    )

    def collide(**kwargs: Any) -> None:
        # The citizen and their residence are written by now; the membership then hits a constraint.
        assert Citizen.objects.filter(full_name="Đỗ Minh Khang").exists()
        raise IntegrityError("household_one_current_head")

    monkeypatch.setattr(services, "household_add_member", collide)
    with pytest.raises(DomainError) as refused:
        workflow.form_apply(actor=Actor(personas.cuong), form=form)
    assert codes(refused) == ["registry.conflict"]
    assert not Citizen.objects.filter(full_name="Đỗ Minh Khang").exists()
    assert (Citizen.objects.count(), Residence.objects.count(), RecordVersion.objects.count()) == (
        citizens,
        residences,
        versions,
    )
    form.refresh_from_db()
    assert (form.status, form.citizen_id) == (Status.RECHECKED, None)
    assert [e["code"] for e in form.apply_errors] == ["registry.conflict"]

    # Once the cause is gone, the same form applies; the refusal is cleared.
    monkeypatch.undo()
    form = workflow.form_apply(actor=Actor(personas.cuong), form=form)
    assert (form.status, form.apply_errors) == (Status.APPLIED, [])


# Queues and reads ------------------------------------------------------------------------------------------


def _aged(form: CollectionForm, days: int) -> CollectionForm:
    CollectionForm.objects.filter(pk=form.pk).update(status_since=timezone.now() - timedelta(days=days))
    form.refresh_from_db()
    return form


def test_each_role_sees_its_queue_in_its_area_oldest_first(
    personas: Personas, people: People, staff: Reviewers
) -> None:
    lan_draft = _aged(dc01(personas.lan), 1)
    lan_returned = _aged(
        workflow.form_return(
            actor=Actor(staff.hang),
            form=workflow.form_submit(actor=Actor(personas.lan), form=dc01(personas.lan)),
            reason="Bổ sung số điện thoại",
        ),
        5,
    )
    lan_submitted_new = _aged(workflow.form_submit(actor=Actor(personas.lan), form=dc01(personas.lan)), 2)
    lan_submitted_old = _aged(workflow.form_submit(actor=Actor(personas.lan), form=dc01(personas.lan)), 9)
    binh_submitted = _aged(
        workflow.form_submit(
            actor=Actor(personas.binh),
            form=workflow.form_create_draft(
                actor=Actor(personas.binh),
                kind="DC01",
                data=dc01_data(commune_code=HONG_HA, address_detail="Số 5 ngõ Gạch"),
            ),
        ),
        3,
    )
    checked = _aged(advance(dc01(personas.lan), "checked", reviewer=staff.hang, supervisor=personas.cuong), 4)
    rechecked = _aged(
        advance(dc01(personas.lan), "rechecked", reviewer=staff.hang, supervisor=personas.cuong), 7
    )
    binh_checked = _aged(
        advance(
            workflow.form_create_draft(
                actor=Actor(personas.binh), kind="DC01", data=dc01_data(commune_code=HONG_HA)
            ),
            "checked",
            reviewer=staff.khoa,
            supervisor=personas.cuong,
        ),
        6,
    )
    advance(dc01(personas.lan), "applied", reviewer=staff.hang, supervisor=personas.cuong)

    def queue(user: User) -> selectors.FormQueue:
        return selectors.form_queue(actor=user, purpose="test")

    lan = queue(personas.lan)
    assert lan.forms == [lan_returned, lan_draft]
    assert (lan.counts, lan.total) == ({"draft": 1, "returned": 1}, 2)
    assert lan.oldest_age is not None
    assert lan.oldest_age >= timedelta(days=5)
    assert queue(personas.binh).forms == []

    assert queue(staff.hang).forms == [lan_submitted_old, lan_submitted_new]
    assert queue(staff.hang).counts == {"submitted": 2}
    assert queue(staff.khoa).forms == [binh_submitted]

    cuong = queue(personas.cuong)
    assert cuong.forms == [rechecked, binh_checked, checked]
    assert cuong.counts == {"checked": 2, "rechecked": 1}
    assert queue(personas.dung).forms == []
    assert queue(personas.minh).forms == []
    assert queue(personas.an).forms == []


def test_the_queue_is_cut_at_its_limit_but_counts_everything(personas: Personas) -> None:
    for _ in range(3):
        dc01(personas.lan)
    queue = selectors.form_queue(actor=personas.lan, purpose="test", limit=2)
    assert (len(queue.forms), queue.total) == (2, 3)


def test_reading_a_form_about_a_citizen_is_logged(
    personas: Personas, people: People, staff: Reviewers
) -> None:
    form = dc02(personas.lan, people.hung, {"phone": "0987654321"})
    before = AccessLog.objects.filter(citizen=people.hung).count()
    selectors.form_get(actor=staff.hang, pk=form.pk, purpose="Kiểm tra, phúc tra dữ liệu")
    entry = AccessLog.objects.filter(citizen=people.hung).latest("pk")
    assert (entry.actor, entry.action, entry.purpose) == (staff.hang, "view", "Kiểm tra, phúc tra dữ liệu")
    assert f"DC02 #{form.pk}" in entry.detail
    workflow.form_submit(actor=Actor(personas.lan), form=form)
    selectors.form_queue(actor=staff.hang, purpose="Kiểm tra, phúc tra dữ liệu")
    assert AccessLog.objects.filter(citizen=people.hung).count() == before + 2

    draft = dc01(personas.lan)
    logged = AccessLog.objects.count()
    selectors.form_get(actor=personas.lan, pk=draft.pk, purpose="test")
    assert AccessLog.objects.count() == logged  # a DC01 not yet applied is nobody's record


def test_the_steps_of_a_form_are_read_in_order(personas: Personas, staff: Reviewers) -> None:
    form = advance(dc01(personas.lan), "checked", reviewer=staff.hang, supervisor=personas.cuong)
    steps = selectors.form_events(actor=personas.cuong, form=form)
    assert [(e.event_type, e.actor) for e in steps] == [
        ("collection.form.created", personas.lan),
        ("collection.form.submitted", personas.lan),
        ("collection.form.checked", staff.hang),
    ]
    with pytest.raises(NotFoundError):
        selectors.form_events(actor=personas.dung, form=form)


def test_allowed_actions_follow_the_rules(personas: Personas, staff: Reviewers) -> None:
    form = dc01(personas.lan)
    assert workflow.form_allowed_actions(user=personas.lan, form=form) == {"edit", "submit"}
    assert workflow.form_allowed_actions(user=staff.hang, form=form) == set()
    form = workflow.form_submit(actor=Actor(personas.lan), form=form)
    assert workflow.form_allowed_actions(user=staff.hang, form=form) == {"check", "return"}
    assert workflow.form_allowed_actions(user=personas.cuong, form=form) == set()
    assert workflow.form_allowed_actions(user=personas.an, form=form) == set()


def test_live_validation_judges_only_what_was_typed(personas: Personas) -> None:
    partial = workflow.form_validate(
        user=personas.lan, kind="DC01", data={"full_name": "Lê 4", "commune_code": HOAN_KIEM}, complete=False
    )
    assert [(e.field, e.code) for e in partial.errors] == [("full_name", "name.digits")]
    assert partial.commune == commune(HOAN_KIEM)
    whole = workflow.form_validate(
        user=personas.lan, kind="DC01", data={"full_name": "Lê Bốn"}, complete=True
    )
    assert {e.field for e in whole.errors} == {
        "birth_date",
        "sex",
        "birth_registration_place",
        "residence_kind",
        "commune_code",
        "address_detail",
        "registered_on",
    }
    temporary = workflow.form_validate(
        user=personas.lan,
        kind="DC01",
        data=dc01_data(residence_kind="temporary", expires_on="2029-01-01", birth_registration_place="abc"),
    )
    assert {e.code for e in temporary.errors} == {"residence.expiry_range", "place.unknown"}
    assert CollectionForm.objects.count() == 0


# The rules, one by one -------------------------------------------------------------------------------------


def _codes_of(check: workflow.FormCheck) -> set[str]:
    return {e.code for e in check.errors}


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"commune_code": "abc"}, "unit.unknown"),
        ({"residence_kind": "castle"}, "residence.kind_invalid"),
        ({"registered_on": "1990-01-01"}, "residence.before_birth"),
        ({"registered_on": "01/2020"}, "date.format"),
        ({"expires_on": "2025-01-01"}, "residence.expiry_not_allowed"),
        ({"residence_kind": "temporary"}, "residence.expiry_required"),
        ({"address_detail": "Số 8 <script>"}, "text.characters"),
        ({"pin": "001092123456"}, None),
        ({"pin": "001192123456"}, "pin.sex_mismatch"),
        ({"old_id_number": "12345"}, "cmnd.format"),
    ],
)
def test_each_rule_of_a_dc01(personas: Personas, changes: dict[str, str], code: str | None) -> None:
    check = workflow.form_validate(user=personas.lan, kind="DC01", data=dc01_data(**changes))
    assert _codes_of(check) == ({code} if code else set())


def test_household_rules_seen_from_the_province(personas: Personas, people: People) -> None:
    household = household_a_year_old(people.mai, commune_code=HONG_HA, address="Số 5 ngõ Gạch")
    data = dc01_data(household_number=household.number, relation_to_head="cousin")
    check = workflow.form_validate(user=personas.cuong, kind="DC01", data=data)
    assert _codes_of(check) == {"household.other_commune", "relation.invalid"}


def test_the_shape_of_the_data_is_checked_first(personas: Personas, people: People) -> None:
    cases: list[tuple[str, Any, str]] = [
        ("DC01", ["not", "a", "mapping"], "form.data_type"),
        ("DC02", {"changes": ["phone"]}, "form.data_type"),
        ("DC02", {"changes": {}, "extra": 1}, "form.unknown_field"),
        ("DC01", {"full_name": "Lê\x00"}, "text.control_chars"),
        # Half of a UTF-16 pair (a JSON body can spell it): no page could show it.
        ("DC01", {"full_name": "Lê\ud800"}, "text.invalid_chars"),
        ("DC02", {"changes": {"phone": "\udfff"}}, "text.invalid_chars"),
        # A change's name must look like a field's: not 5,000 characters, not a surrogate.
        ("DC02", {"changes": {"x" * 5_000: "1"}}, "form.unknown_field"),
        ("DC02", {"changes": {"\ud800": "1"}}, "form.unknown_field"),
        ("DC02", {"changes": {"Phone Number": "1"}}, "form.unknown_field"),
    ]
    for kind, data, code in cases:
        with pytest.raises(DomainError) as refused:
            workflow.form_validate(user=personas.lan, kind=kind, data=data, citizen=people.hung)
        assert codes(refused) == [code]
    with pytest.raises(DomainError) as no_citizen:
        workflow.form_validate(user=personas.lan, kind="DC02", data={"changes": {}})
    assert codes(no_citizen) == ["citizen.required"]
    with pytest.raises(DomainError) as dc01_citizen:
        workflow.form_create_draft(
            actor=Actor(personas.lan), kind="DC01", data=dc01_data(), citizen=people.hung
        )
    assert codes(dc01_citizen) == ["form.citizen_not_allowed"]


def test_dc02_warnings_and_a_record_without_an_area(personas: Personas, people: People) -> None:
    check = workflow.form_validate(
        user=personas.lan,
        kind="DC02",
        citizen=people.hung,
        data={"changes": {"date_of_death": "2024-01-01", "phone": None, "old_id_number": "012345678"}},
        document="Trích lục khai tử số 3",
        reason="Công dân đã mất",
    )
    assert check.errors == []
    assert {(w.field, w.code) for w in check.warnings} == {
        ("date_of_death", "change.death"),
        ("phone", "change.same_value"),
        ("old_id_number", "change.same_value"),
    }
    nowhere = services.citizen_create(
        actor=SYSTEM,
        data=services.NewCitizen(
            full_name="Lưu Văn Xa", birth_date="1980", sex="M", birth_registration_place="001"
        ),
        residence=None,
        reason="Thử nghiệm",
        source_document="Thử nghiệm",
    )
    check = workflow.form_validate(
        user=personas.minh, kind="DC02", citizen=nowhere, data={"changes": {"phone": ""}}
    )
    assert "citizen.no_area" in _codes_of(check)


def test_an_error_that_appears_after_submitting_stops_the_check(personas: Personas, staff: Reviewers) -> None:
    form = workflow.form_submit(actor=Actor(personas.lan), form=dc01(personas.lan, old_id_number="111222333"))
    make_citizen(full_name="Người Khác", old_id_number="111222333")
    with pytest.raises(DomainError) as refused:
        workflow.form_check(actor=Actor(staff.hang), form=form)
    assert codes(refused) == ["cmnd.duplicate"]
    form.refresh_from_db()
    assert form.status == Status.SUBMITTED
