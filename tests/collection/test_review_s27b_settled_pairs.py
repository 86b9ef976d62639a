"""What the duplicates queue decided about an imported row's pair counts on the form's page and in the
import's promotion as it does when the form is checked (review session 27, follow-up).

A legacy book lists "Nguyễn Văn Hùng, 17/05/1990" in Phường Hoàn Kiếm, where the registry already holds a
Hùng born that day. The book is staged first (`dancu import --stage-only`), the matcher pairs the row
with the record, and Thu, the commune's reviewer, decides the pair before the rows are promoted.

- "Not the same person": the row is a clean row like any other and reaches the registry with the
  promotion, instead of waiting as a form that asks Thu the question she has answered.
- "Same person": the row is never written as a second record of Hùng.
- A form whose row was decided "same person" shows Thu the record it was decided to be, as a form warning
  of a possible duplicate shows the records it means.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dancu.accounts.models import User
from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.collection import services, workflow
from dancu.collection.models import CollectionForm, ImportRun, StagingRecord
from dancu.collection.services import ImportPolicy, import_promote, import_rows, import_start
from dancu.matching.models import CandidatePair
from dancu.matching.services import decisions
from dancu.registry.models import Citizen
from dancu.registry.selectors import DUPLICATE_CHECK_PURPOSE
from tests.collection.forms_support import dc01_data
from tests.collection.test_import_review import HEADER, HOAN_KIEM_ADDRESS
from tests.conftest import HOAN_KIEM, SYSTEM, People, commune
from tests.matching.factories import candidate_pair, staged_row
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db
REASON = "Khác cha mẹ, khác quê quán; đã xác minh với công dân"
HUNG_ROW = f"R1,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,,,{HOAN_KIEM_ADDRESS}"


@pytest.fixture
def thu(db: None) -> User:
    return reviewer()


def _stage(tmp_path: Path) -> tuple[ImportRun, StagingRecord]:
    """The book staged and not promoted (`--stage-only`): its one row waits for the promotion."""
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(HEADER + "\n" + HUNG_ROW + "\n", encoding="utf-8")
    actor = Actor(system="import")
    run, source = import_start(path=path, source_name="Sổ hộ khẩu Hoàn Kiếm", actor=actor)
    run = import_rows(run=run, source=source, actor=actor, policy=ImportPolicy())
    row = StagingRecord.objects.get(run=run)
    # The row's own rules find nothing: only the DC01 it becomes finds the Hùng of the registry.
    assert row.status == StagingRecord.Status.APPROVED
    return run, row


def _promote(run: ImportRun, how: str) -> ImportRun:
    if how == "batches":
        return import_promote(run=run)
    # The row-by-row way, which a batch the registry refuses falls back to.
    units = services._Units()
    for record in StagingRecord.objects.filter(run=run, promoted_at__isnull=True).exclude(
        status=StagingRecord.Status.REJECTED
    ):
        services._promote(
            record=record, actor=Actor(system="import"), units=units, today=timezone.localdate()
        )
    run.refresh_from_db()
    return run


def _hungs() -> int:
    return Citizen.objects.filter(full_name="Nguyễn Văn Hùng").count()


@pytest.mark.parametrize("how", ["batches", "row by row"])
def test_a_row_decided_not_the_same_person_reaches_the_registry(
    tmp_path: Path, thu: User, people: People, how: str
) -> None:
    run, row = _stage(tmp_path)
    decisions.candidate_pair_decide(
        actor=Actor(thu), pair=candidate_pair(people.hung, row), same=False, reason=REASON
    )

    run = _promote(run, how)

    row.refresh_from_db()
    assert row.status == StagingRecord.Status.APPROVED
    assert row.citizen_id is not None
    assert row.citizen_id != people.hung.pk
    assert _hungs() == 2
    assert not CollectionForm.objects.filter(staging_record=row).exists()
    assert (run.rows_applied, run.rows_queued, run.rows_review) == (1, 0, 0)


def test_two_rows_of_one_book_decided_not_the_same_person_both_reach_the_registry(
    tmp_path: Path, thu: User
) -> None:
    """The first row is written first; the second is then judged against the record the first became,
    whose pair with it is the two rows' pair."""
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(HEADER + "\n" + HUNG_ROW + "\n" + HUNG_ROW.replace("R1", "R2") + "\n", encoding="utf-8")
    actor = Actor(system="import")
    run, source = import_start(path=path, source_name="Sổ hộ khẩu Hoàn Kiếm", actor=actor)
    run = import_rows(run=run, source=source, actor=actor, policy=ImportPolicy())
    first, second = StagingRecord.objects.filter(run=run).order_by("row_number")
    decisions.candidate_pair_decide(
        actor=Actor(thu),
        pair=candidate_pair(first, second, unit=commune(HOAN_KIEM)),
        same=False,
        reason=REASON,
    )

    run = import_promote(run=run)

    assert _hungs() == 2
    assert not CollectionForm.objects.exists()
    assert (run.rows_applied, run.rows_queued) == (2, 0)


def test_a_row_whose_pair_is_undecided_still_waits_for_an_officer(tmp_path: Path, people: People) -> None:
    run, row = _stage(tmp_path)
    candidate_pair(people.hung, row)

    run = import_promote(run=run)

    form = CollectionForm.objects.get(staging_record=row)
    assert [w["code"] for w in form.warnings] == ["citizen.possible_duplicate"]
    assert _hungs() == 1
    assert (run.rows_applied, run.rows_queued, run.rows_review) == (0, 1, 1)


def test_a_row_decided_the_same_person_is_rejected_as_a_duplicate_and_never_written(
    tmp_path: Path, thu: User, people: People
) -> None:
    run, row = _stage(tmp_path)
    decisions.candidate_pair_decide(
        actor=Actor(thu), pair=candidate_pair(people.hung, row), same=True, reason=REASON
    )

    run = import_promote(run=run)

    row.refresh_from_db()
    assert row.status == StagingRecord.Status.REJECTED
    assert [issue["code"] for issue in row.issues] == ["import.duplicate"]
    assert row.citizen_id is None
    assert _hungs() == 1
    assert (run.rows_applied, run.rows_queued) == (0, 0)


@pytest.mark.parametrize("how", ["batches", "row by row"])
def test_a_row_still_waiting_whose_pair_reads_same_person_is_held_saying_so(
    tmp_path: Path, thu: User, people: People, how: str
) -> None:
    """A "same person" decision takes the row out of the import at once (above). Should a row still be
    waiting for the promotion with such a decision on record (restored by hand, say), it is held for an
    officer with the decision as its warning, never written as a second record."""
    run, row = _stage(tmp_path)
    pair = candidate_pair(people.hung, row)
    CandidatePair.objects.filter(pk=pair.pk).update(
        status=CandidatePair.Status.SAME, decided_by=thu, decided_at=timezone.now(), decision_reason=REASON
    )

    run = _promote(run, how)

    form = CollectionForm.objects.get(staging_record=row)
    assert [w["code"] for w in form.warnings] == ["citizen.decided_same_person"]
    assert _hungs() == 1
    assert (run.rows_applied, run.rows_queued, run.rows_review) == (0, 1, 1)


def test_the_form_page_shows_the_record_a_row_was_decided_to_be(
    thu: User, people: People, sign_in: Any
) -> None:
    row = staged_row()
    pair = candidate_pair(people.hung, row)
    CandidatePair.objects.filter(pk=pair.pk).update(
        status=CandidatePair.Status.SAME, decided_by=thu, decided_at=timezone.now(), decision_reason=REASON
    )
    form = workflow.form_from_staging(
        actor=SYSTEM,
        record=row,
        data=dc01_data(full_name="Nguyễn Văn Hùng", birth_date="17/05/1990"),
        commune=commune(HOAN_KIEM),
        legacy_commune=None,
    )
    assert [w["code"] for w in form.warnings] == ["citizen.decided_same_person"]
    client = sign_in(Client(), thu)

    page = client.get(f"/forms/{form.pk}/")

    assert page.status_code == 200
    shown = page.context["duplicates"]
    assert shown is not None
    assert shown.shown == [people.hung]
    assert f'href="/citizens/{people.hung.pk}/"' in page.content.decode()
    reads = AccessLog.objects.filter(actor=thu, purpose=DUPLICATE_CHECK_PURPOSE)
    assert list(reads.values_list("citizen_id", flat=True)) == [people.hung.pk]
