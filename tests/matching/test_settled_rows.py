""" "Same person" on a pair with an imported row takes the row out of the import review: its DC01 is closed
and can never write the person a second record; undoing the decision puts both back as they were."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection import selectors as form_selectors
from dancu.collection import workflow
from dancu.collection.models import CollectionForm, ImportRun, StagingRecord
from dancu.collection.services import ImportPolicy, import_promote, import_rows, import_start
from dancu.lib.errors import DomainError
from dancu.matching.models import CandidatePair
from dancu.matching.services import decisions
from dancu.registry.models import Citizen
from tests.collection.forms_support import Reviewers, make_reviewers
from tests.conftest import Personas, commune, make_citizen
from tests.matching.factories import candidate_pair

pytestmark = pytest.mark.django_db

REASON = "Cùng họ tên, ngày sinh, cha mẹ; đã xác minh với công an phường"
HEADER = "record_id,full_name,gender,birth_date,birth_place,id_number,old_id_number,address"
HOAN_KIEM_ADDRESS = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'
DUONG_LIEU_ADDRESS = '"Thôn 3, Xã Dương Liễu, Huyện Hoài Đức, Thành phố Hà Nội"'
# An unknown province of birth is a warning: the row waits for an officer as a DC01.
HOA_FOR_REVIEW = f"R1,Đỗ Thị Hoa,Nữ,02/03/1970,Sao Hỏa,,,{HOAN_KIEM_ADDRESS}"


@pytest.fixture
def staff(personas: Personas) -> Reviewers:
    return make_reviewers(personas)


def stage(tmp_path: Path, rows: list[str], *, promote: bool = True) -> ImportRun:
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    actor = Actor(system="import")
    run, source = import_start(path=path, source_name="Sổ hộ khẩu 2019", actor=actor)
    run = import_rows(run=run, source=source, actor=actor, policy=ImportPolicy())
    return import_promote(run=run) if promote else run


def counts(run: ImportRun) -> tuple[Any, ...]:
    run.refresh_from_db()
    return (run.rows_accepted, run.rows_review, run.rows_rejected, run.rows_applied, run.rows_queued)


def decide(actor: Any, pair: CandidatePair) -> CandidatePair:
    return decisions.candidate_pair_decide(actor=Actor(actor), pair=pair, same=True, reason=REASON)


def test_a_row_found_to_be_a_citizen_leaves_the_review_and_its_form_never_writes_a_second_record(
    tmp_path: Path, personas: Personas, staff: Reviewers
) -> None:
    run = stage(tmp_path, [HOA_FOR_REVIEW])
    form = CollectionForm.objects.get()
    row = StagingRecord.objects.get()
    hoa = make_citizen(full_name="Đỗ Thị Hoa", birth_date="1970-03-02", sex="F")
    before = counts(run)
    pair = decide(staff.hang, candidate_pair(hoa, row))

    assert pair.status == CandidatePair.Status.SAME
    form.refresh_from_db()
    assert form.status == CollectionForm.Status.REJECTED
    assert form.rejected_by == staff.hang
    assert f"#{pair.pk}" in form.reject_reason
    assert hoa.pin not in form.reject_reason  # the form's readers may not be the record's
    assert form_selectors.form_queue(actor=staff.hang, purpose="test").forms == []
    row.refresh_from_db()
    assert row.status == StagingRecord.Status.REJECTED
    assert row.issues[-1]["code"] == "import.duplicate"
    accepted, review, rejected, applied, queued = before
    assert counts(run) == (accepted, review - 1, rejected + 1, applied, queued)
    # No step of the review can bring the form to the registry any more.
    with pytest.raises(DomainError) as refused:
        workflow.form_recheck(actor=Actor(personas.cuong), form=form)
    assert [e.code for e in refused.value.errors] == ["form.status"]
    with pytest.raises(DomainError):
        workflow.form_apply(actor=Actor(personas.cuong), form=form)
    assert Citizen.objects.filter(full_name="Đỗ Thị Hoa").count() == 1
    assert AuditEvent.objects.get(event_type=EventType.PAIR_DECIDED).data["settled"]["form_id"] == form.pk
    assert AuditEvent.objects.filter(event_type=EventType.FORM_REJECTED, subject_id=str(form.pk)).exists()

    # Undone: the form waits for its reviewer again and the report counts the row where it was.
    decisions.candidate_pair_undo(actor=Actor(staff.hang), pair=pair, reason="Xác minh lại: hai người")
    form.refresh_from_db()
    assert (form.status, form.rejected_by, form.reject_reason) == (CollectionForm.Status.SUBMITTED, None, "")
    assert [f.pk for f in form_selectors.form_queue(actor=staff.hang, purpose="test").forms] == [form.pk]
    row.refresh_from_db()
    assert row.status == StagingRecord.Status.REVIEW
    assert "import.duplicate" not in {issue["code"] for issue in row.issues}
    assert counts(run) == before
    assert "import.duplicate" not in run.issue_counts


def test_a_row_already_written_is_decided_as_the_citizen_it_became(
    tmp_path: Path, personas: Personas, staff: Reviewers, sign_in: Any
) -> None:
    # Hùng twice in one book: the first row reached the registry without an officer, the second waits.
    stage(
        tmp_path,
        [
            f"R1,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,,,{DUONG_LIEU_ADDRESS}",
            f"R2,Nguyen Van Hung,Nam,17/05/1990,Sao Hỏa,,,{DUONG_LIEU_ADDRESS}",
        ],
    )
    written, waiting = StagingRecord.objects.order_by("row_number")
    assert written.citizen_id is not None
    form = CollectionForm.objects.get(staging_record=waiting)
    pair = candidate_pair(written, waiting, unit=form.commune)

    # The pair shows the citizen the row became, and the read is logged on the citizen.
    client = sign_in(Client(), personas.cuong)
    page = client.get(reverse("matching:pair", args=[pair.pk])).content.decode()
    citizen = Citizen.objects.get(pk=written.citizen_id)
    assert citizen.pin in page
    assert AccessLog.objects.filter(actor=personas.cuong, citizen=citizen).exists()

    pair = decide(personas.cuong, pair)
    assert pair.status == CandidatePair.Status.SAME
    assert AuditEvent.objects.get(event_type=EventType.PAIR_DECIDED).data["citizen_id"] == citizen.pk
    form.refresh_from_db()
    assert form.status == CollectionForm.Status.REJECTED
    assert Citizen.objects.filter(birth_date="1990-05-17", full_name="Nguyễn Văn Hùng").count() == 1


def test_of_two_rows_not_yet_promoted_one_stays_and_the_other_never_reaches_the_registry(
    tmp_path: Path, personas: Personas
) -> None:
    # `dancu import --stage-only`: both rows wait in staging, neither promoted yet.
    run = stage(
        tmp_path,
        [
            f"R1,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,,,{DUONG_LIEU_ADDRESS}",
            f"R2,Nguyen Van Hung,Nam,17/05/1990,Hà Nội,,,{DUONG_LIEU_ADDRESS}",
        ],
        promote=False,
    )
    first, second = StagingRecord.objects.order_by("row_number")
    pair = candidate_pair(first, second, unit=_duong_lieu_2025())
    pair = decide(personas.cuong, pair)
    event = AuditEvent.objects.get(event_type=EventType.PAIR_DECIDED)
    assert event.data["stays"] == first.pk
    assert event.data["settled"]["staging_id"] == second.pk

    import_promote(run=run)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.citizen_id is not None
    assert (second.status, second.citizen_id) == (StagingRecord.Status.REJECTED, None)
    assert Citizen.objects.filter(birth_date="1990-05-17").count() == 1
    assert not CollectionForm.objects.exists()


def _duong_lieu_2025() -> Any:
    """The 2025 commune the import maps Xã Dương Liễu to (the commune a pair of its rows is routed to)."""
    row = StagingRecord.objects.order_by("row_number").first()
    assert row is not None
    return commune(row.normalized["commune_code"])
