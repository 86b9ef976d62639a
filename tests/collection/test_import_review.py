"""Imported rows after staging: clean ones into the registry as an applied DC01 would be, the others into
the review queue of their commune as DC01 forms whose author is the import, refused ones with reasons."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dancu.accounts.services import api_token_create
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection import selectors, services, workflow
from dancu.collection.models import CollectionForm, ImportRun, StagingRecord
from dancu.collection.services import ImportPolicy, import_promote, import_rows, import_start
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry.models import Citizen, RecordVersion, Residence
from tests.collection.forms_support import Reviewers, make_reviewers
from tests.conftest import DUONG_LIEU_LEGACY, HOAN_KIEM, Personas, make_citizen

pytestmark = pytest.mark.django_db

HEADER = "record_id,full_name,gender,birth_date,birth_place,id_number,old_id_number,address"
HOAN_KIEM_ADDRESS = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'
DUONG_LIEU_ADDRESS = '"Thôn 3, Xã Dương Liễu, Huyện Hoài Đức, Thành phố Hà Nội"'
ROWS = [
    # Clean: reaches the registry without an officer, a PIN allocated, in the mapped legacy commune.
    f"R1,nguyễn văn hùng,Nam,17/05/1990,Hà Nội,,,{DUONG_LIEU_ADDRESS}",
    # A birth province nobody knows: a warning, so an officer of Hoàn Kiếm looks at it.
    f"R2,Đỗ Thị Hoa,Nữ,02/03/1970,Sao Hỏa,,,{HOAN_KIEM_ADDRESS}",
    # A digit in the name: rejected by the rules, never queued.
    f"R3,Trần Văn 3,Nam,1990,,,,{HOAN_KIEM_ADDRESS}",
    # Only the province: no commune's reviewers could see it, so it is rejected on the way.
    '"R4",Lê Văn Tư,Nam,05/06/1960,Hà Nội,,,"Thành phố Hà Nội"',
]


@pytest.fixture
def staff(personas: Personas) -> Reviewers:
    return make_reviewers(personas)


def stage_and_promote(tmp_path: Path, rows: list[str] = ROWS, **kwargs: Any) -> ImportRun:
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    actor = kwargs.pop("actor", Actor(system="import"))
    run, source = import_start(path=path, source_name="Sổ hộ khẩu Hoài Đức", actor=actor)
    run = import_rows(run=run, source=source, actor=actor, policy=kwargs.pop("policy", ImportPolicy()))
    return import_promote(run=run, **kwargs)


def row(number: int) -> StagingRecord:
    return StagingRecord.objects.get(row_number=number)


def test_a_clean_row_reaches_the_registry_as_an_applied_dc01_would(tmp_path: Path) -> None:
    run = stage_and_promote(tmp_path)
    record = row(1)
    citizen = Citizen.objects.get(pk=record.citizen_id)
    assert citizen.full_name == "Nguyễn Văn Hùng"
    assert len(citizen.pin) == 12
    assert citizen.pin.startswith("001")
    residence = Residence.objects.get(citizen=citizen)
    assert residence.kind == Residence.Kind.PERMANENT
    assert residence.legacy_commune is not None
    assert residence.legacy_commune.code == DUONG_LIEU_LEGACY
    assert residence.address_original.startswith("Thôn 3, Xã Dương Liễu")
    # The history points at the import run and the row.
    version = RecordVersion.objects.get(entity=RecordVersion.Entity.CITIZEN, entity_id=citizen.pk, version=1)
    # Cited by its line in the file, the header being line 1.
    assert f"nhập #{run.pk}, dòng 2" in version.source_document
    event = AuditEvent.objects.get(event_type=EventType.STAGING_APPLIED)
    assert event.unit == residence.commune
    assert (run.rows_applied, run.rows_queued) == (1, 1)


def test_a_row_for_an_officer_waits_in_its_communes_queue_as_a_dc01_of_the_import(
    tmp_path: Path, personas: Personas, staff: Reviewers
) -> None:
    run = stage_and_promote(tmp_path)
    form = CollectionForm.objects.get()
    assert form.staging_record == row(2)
    assert (form.kind, form.status, form.created_by, form.commune.code) == (
        "DC01",
        "submitted",
        None,
        HOAN_KIEM,
    )
    assert form.author_label == f"nhập #{run.pk}, dòng 3"
    assert [w["code"] for w in form.warnings] == ["birth_place.unknown"]
    queue = selectors.form_queue(actor=staff.hang, purpose="test")
    assert [f.pk for f in queue.forms] == [form.pk]
    event = AuditEvent.objects.get(event_type=EventType.STAGING_QUEUED)
    assert event.unit == form.commune


def test_an_officer_of_another_commune_never_sees_the_imported_rows(
    tmp_path: Path, personas: Personas, staff: Reviewers
) -> None:
    stage_and_promote(tmp_path)
    form = CollectionForm.objects.get()
    for outsider in (staff.khoa, personas.binh, personas.dung, personas.hoa):
        assert selectors.form_queue(actor=outsider, purpose="test").forms == []
        with pytest.raises(NotFoundError):
            selectors.form_get(actor=outsider, pk=form.pk, purpose="test")
        with pytest.raises(NotFoundError):
            workflow.form_reject(actor=Actor(outsider), form=form, reason="Không phải của tôi")


def test_the_reviewer_sees_the_original_text_and_the_rules_beside_the_normalized_values(
    tmp_path: Path, staff: Reviewers, sign_in: Any
) -> None:
    stage_and_promote(tmp_path, rows=[ROWS[1].replace("Đỗ Thị Hoa", "ĐỖ THỊ HOA")])
    form = CollectionForm.objects.get()
    page = sign_in(Client(), staff.hang).get(reverse("collection:form", args=[form.pk])).content.decode()
    assert 'id="staging"' in page
    assert "ĐỖ THỊ HOA" in page
    assert "Đỗ Thị Hoa" in page
    assert "[birth_place.unknown]" in page
    assert "[repair.case]" in page
    assert 'id="reject-form"' in page


def test_the_reviewer_corrects_checks_and_the_supervisor_applies(
    tmp_path: Path, personas: Personas, staff: Reviewers
) -> None:
    stage_and_promote(tmp_path)
    form = CollectionForm.objects.get()
    # No province of birth could be read, so there is no place of birth registration: an error to correct.
    with pytest.raises(DomainError) as refused:
        workflow.form_check(actor=Actor(staff.hang), form=form)
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("birth_registration_place", "field.required")
    ]
    corrected = {**form.data, "birth_place": "Hải Phòng", "birth_registration_place": "031"}
    form = workflow.form_update_draft(actor=Actor(staff.hang), form=form, data=corrected)
    assert form.status == "submitted"
    with pytest.raises(DomainError) as refused:
        workflow.form_check(actor=Actor(staff.hang), form=form)
    assert [e.code for e in refused.value.errors] == ["warning.unacknowledged"]
    form = workflow.form_check(actor=Actor(staff.hang), form=form, acknowledged=["birth_place.unknown"])
    form = workflow.form_recheck(actor=Actor(personas.cuong), form=form, acknowledged=["birth_place.unknown"])
    form = workflow.form_apply(actor=Actor(personas.cuong), form=form)
    citizen = Citizen.objects.get(pk=form.citizen_id)
    assert (citizen.full_name, citizen.birth_registration_place, citizen.pin[:3]) == (
        "Đỗ Thị Hoa",
        "031",
        "031",
    )
    assert row(2).citizen_id == citizen.pk
    applied = AuditEvent.objects.get(event_type=EventType.FORM_APPLIED)
    assert applied.unit == form.commune


def test_a_refusal_shown_above_the_page_names_its_field(
    tmp_path: Path, staff: Reviewers, sign_in: Any
) -> None:
    stage_and_promote(tmp_path)
    form = CollectionForm.objects.get()
    client = sign_in(Client(), staff.hang)
    url = reverse("collection:form_action", args=[form.pk, "reject"])
    # A reason typed and refused comes back beside its box, where it names its field by being there
    # (test_review_s26_supervisor_return), not above the page.
    refused = client.post(url, {"reason": "x" * 5000})
    assert refused.status_code == 422
    assert re.search(
        r'id="err-reject-reason"><ul class="errorlist" role="alert" data-field="reason">'
        r"<li>Dài tối đa 1000 ký tự \[text.too_long\]",
        refused.content.decode(),
    )
    # A message that names its field already is not led by it again.
    page = client.post(url, {"reason": ""}, follow=True).content.decode()
    assert "[reason.required]" in page
    assert "Lý do: " not in page
    assert CollectionForm.objects.get().status == form.status


def test_nobody_submits_or_returns_an_imported_form_it_is_rejected_with_a_reason(
    tmp_path: Path, staff: Reviewers, sign_in: Any
) -> None:
    run = stage_and_promote(tmp_path)
    form = CollectionForm.objects.get()
    # The row's province of birth was not read (an error on the form): it is corrected or rejected, the check
    # waits for the correction (test_review_s29_form_errors).
    assert workflow.form_allowed_actions(user=staff.hang, form=form) == {"edit", "reject"}
    with pytest.raises(DomainError) as refused:
        workflow.form_return(actor=Actor(staff.hang), form=form, reason="Sai")
    assert [e.code for e in refused.value.errors] == ["form.from_import"]
    with pytest.raises(DomainError) as refused:
        workflow.form_reject(actor=Actor(staff.hang), form=form, reason="")
    assert [e.code for e in refused.value.errors] == ["reason.required"]
    form = workflow.form_reject(actor=Actor(staff.hang), form=form, reason="Người này đã chuyển đi từ 2010")
    assert (form.status, form.rejected_by) == ("rejected", staff.hang)
    record = row(2)
    assert record.status == StagingRecord.Status.REJECTED
    assert record.issues[-1]["code"] == "import.rejected_by_officer"
    assert "chuyển đi từ 2010" in record.issues[-1]["message_vi"]
    before = (run.rows_review, run.rows_rejected)
    run.refresh_from_db()
    assert (run.rows_review, run.rows_rejected) == (before[0] - 1, before[1] + 1)
    assert run.issue_counts["import.rejected_by_officer"] == 1
    assert AuditEvent.objects.get(event_type=EventType.FORM_REJECTED).unit == form.commune
    # A rejected form waits for nobody; its page says why.
    assert workflow.form_allowed_actions(user=staff.hang, form=form) == set()
    page = sign_in(Client(), staff.hang).get(reverse("collection:form", args=[form.pk])).content.decode()
    assert 'id="reject-note"' in page
    assert "chuyển đi từ 2010" in page


def test_a_row_whose_address_names_no_commune_is_rejected_on_the_way(tmp_path: Path) -> None:
    stage_and_promote(tmp_path)
    record = row(4)
    assert record.status == StagingRecord.Status.REJECTED
    assert record.issues[-1]["code"] == "import.no_commune"
    assert row(3).promoted_at is None  # rejected by the rules: nothing to promote


def test_the_policy_off_sends_clean_rows_to_the_queue_too(tmp_path: Path, staff: Reviewers) -> None:
    stage_and_promote(tmp_path, policy=ImportPolicy(auto_approve_clean=False))
    assert not Citizen.objects.exists()
    assert CollectionForm.objects.filter(staging_record__row_number=1, status="submitted").exists()


def test_a_clean_row_sent_to_an_officer_at_promotion_is_counted_as_waiting(tmp_path: Path) -> None:
    # The registry already holds someone of that name and birth date: the row passed the row rules, but the
    # DC01 it becomes warns of a possible duplicate, so it waits for an officer, and the report says so.
    make_citizen(full_name="Nguyễn Văn Hùng", birth_date="1990-05-17")
    run = stage_and_promote(tmp_path, rows=[ROWS[0]])
    assert (run.rows_applied, run.rows_queued) == (0, 1)
    assert (run.rows_accepted, run.rows_review) == (0, 1)
    assert row(1).status == StagingRecord.Status.REVIEW


def test_promoting_again_writes_nothing_twice(tmp_path: Path) -> None:
    run = stage_and_promote(tmp_path)
    import_promote(run=run)
    assert Citizen.objects.count() == 1
    assert CollectionForm.objects.count() == 1
    run.refresh_from_db()
    assert (run.rows_applied, run.rows_queued) == (1, 1)


def test_a_row_another_process_promoted_meanwhile_is_left_as_it_is(tmp_path: Path) -> None:
    """Two processes promoting the same run: the one that finds a row it had listed already promoted by
    the other (its copy is stale) writes nothing for it, neither a second citizen nor an event."""
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(HEADER + "\n" + ROWS[0] + "\n", encoding="utf-8")
    actor = Actor(system="import")
    run, source = import_start(path=path, source_name="Sổ hộ khẩu Hoài Đức", actor=actor)
    run = import_rows(run=run, source=source, actor=actor, policy=ImportPolicy())
    listed_before = row(1)
    import_promote(run=run)
    before = (Citizen.objects.count(), AuditEvent.objects.count(), CollectionForm.objects.count())

    services._promote(record=listed_before, actor=actor, units=services._Units(), today=date(2025, 7, 1))

    assert (Citizen.objects.count(), AuditEvent.objects.count(), CollectionForm.objects.count()) == before
    assert row(1).citizen_id is not None
    run.refresh_from_db()
    assert (run.rows_applied, run.rows_queued) == (1, 0)


def test_an_officers_import_reaches_only_the_communes_of_their_area(
    tmp_path: Path, personas: Personas
) -> None:
    # Dũng supervises Hồ Chí Minh City: rows of Hà Nội communes are not his to write or to queue.
    run = stage_and_promote(tmp_path, actor=Actor(personas.dung))
    for number in (1, 2):
        assert row(number).status == StagingRecord.Status.REJECTED
        assert row(number).issues[-1]["code"] == "unit.outside_jurisdiction"
    assert not Citizen.objects.exists()
    assert not CollectionForm.objects.exists()
    assert (run.rows_applied, run.rows_queued, run.rows_rejected) == (0, 0, 4)


def test_rows_outside_an_officers_area_are_counted_rejected_while_reading(
    tmp_path: Path, personas: Personas
) -> None:
    # A book of another province's people showed its rows approved for the whole reading, then rejected
    # when they were written: the counts the supervisor watched were wrong until the end.
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(HEADER + "\n" + "\n".join(ROWS[:2]) + "\n", encoding="utf-8")
    for officer, rejected in ((personas.dung, 2), (personas.cuong, 0)):
        actor = Actor(officer)
        run, source = import_start(
            path=path, source_name=f"Sổ của {officer.username}", actor=actor, same_file_again=True
        )
        run = import_rows(run=run, source=source, actor=actor, policy=ImportPolicy())
        outside = [
            record.row_number
            for record in StagingRecord.objects.filter(run=run)
            if "unit.outside_jurisdiction" in {issue["code"] for issue in record.issues}
        ]
        # Dũng (Hồ Chí Minh City) reads two Hà Nội rows, one of them by its legacy commune; Cường (Hà Nội)
        # reads the same two in his area, the legacy one by the 2025 commune it became.
        assert (run.rows_rejected, len(outside)) == (rejected, rejected), officer.username
        assert run.rows_accepted + run.rows_review == 2 - rejected


def test_an_officers_import_counts_toward_their_area_and_each_row_toward_its_commune(
    tmp_path: Path, personas: Personas
) -> None:
    run = stage_and_promote(tmp_path, actor=Actor(personas.cuong))
    hanoi = personas.cuong.police_unit.admin_unit  # type: ignore[union-attr]
    run_events = AuditEvent.objects.filter(subject_type="import_run", subject_id=str(run.pk))
    assert set(run_events.values_list("event_type", flat=True)) == {
        EventType.IMPORT_STARTED,
        EventType.IMPORT_FINISHED,
        EventType.IMPORT_PROMOTED,
    }
    assert {event.unit for event in run_events} == {hanoi}
    applied = AuditEvent.objects.get(event_type=EventType.STAGING_APPLIED)
    assert applied.unit is not None
    assert applied.unit.code == row(1).normalized["commune_code"]
    queued = AuditEvent.objects.get(event_type=EventType.STAGING_QUEUED)
    assert queued.unit is not None
    assert queued.unit.code == HOAN_KIEM


def test_a_row_is_cited_by_its_line_in_the_file_on_the_form_and_in_the_api(
    tmp_path: Path, staff: Reviewers
) -> None:
    # Two blank lines before the row: the officer who opens the file finds it on line 4, not as data row 1.
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(f"{HEADER}\n\n\n{ROWS[1]}\n", encoding="utf-8")
    actor = Actor(system="import")
    run, source = import_start(path=path, source_name="Sổ hộ khẩu Hoàn Kiếm", actor=actor)
    import_promote(run=import_rows(run=run, source=source, actor=actor, policy=ImportPolicy()))
    form = CollectionForm.objects.get()
    assert (row(1).row_number, row(1).source_row) == (1, 4)
    assert form.author_label == f"nhập #{run.pk}, dòng 4"
    _token, secret = api_token_create(user=staff.hang, name="máy tính bảng")
    answer = Client(headers={"Authorization": f"Bearer {secret}"}).get(f"/api/v1/forms/{form.pk}").json()
    assert {key: answer["staging"][key] for key in ("run", "row_number", "file_row")} == {
        "run": run.pk,
        "row_number": 1,
        "file_row": 4,
    }
