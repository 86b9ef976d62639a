"""The duplicates queue's word on an imported row's pairs is read for the whole chunk at once when the
rows are promoted (review session 28).

A legacy book of Phường Hoàn Kiếm lists people the registry already holds a record of the same name and
birth for. The matcher paired each row with that record and Thu, the commune's reviewer, settled most of
the pairs "not the same person" before the promotion: those rows reach the registry with the batch. Each
such row used to ask the queue about its pairs on its own (which citizens earlier rows became, then the
pairs themselves), two statements per row; a chunk of two hundred such rows cost four hundred. Now the
chunk's settled pairs are read once, and a book of ten such rows costs what a book of two does.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dancu.audit.services import Actor
from dancu.collection import services
from dancu.collection.models import CollectionForm, ImportRun, StagingRecord
from dancu.collection.services import ImportPolicy, import_promote, import_rows, import_start
from dancu.matching.models import CandidatePair
from dancu.registry.models import Citizen
from tests.collection.test_import_review import HEADER, HOAN_KIEM_ADDRESS
from tests.conftest import HOAN_KIEM, commune, make_citizen
from tests.matching.factories import candidate_pair

pytestmark = pytest.mark.django_db

TODAY = date(2025, 7, 1)
GIVEN_NAMES = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Giang",
    "Hải",
    "Khánh",
    "Long",
    "Minh",
    "Nam",
    "Phong",
    "Quang",
]


def _book(folder: Path, settled: int, year: int) -> ImportRun:
    """A staged book of `settled` rows settled "not the same person" with the record of their name and
    birth in the registry, then one row whose pair waits in the queue and one settled "same person"."""
    folder.mkdir()
    people = [(f"Trần Văn {name}", f"{year}-03-{day:02d}") for day, name in enumerate(GIVEN_NAMES, 1)]
    people = people[: settled + 2]
    lines, held = [HEADER], []
    for number, (name, birth) in enumerate(people, 1):
        held.append(make_citizen(full_name=name, birth_date=birth))
        day = birth[-2:]
        lines.append(f"R{number},{name},Nam,{day}/03/{year},Hà Nội,,,{HOAN_KIEM_ADDRESS}")
    path = folder / "so_ho_khau.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    actor = Actor(system="import")
    run, source = import_start(path=path, source_name=f"Sổ hộ khẩu Hoàn Kiếm {year}", actor=actor)
    run = import_rows(run=run, source=source, actor=actor, policy=ImportPolicy())
    rows = list(StagingRecord.objects.filter(run=run).order_by("row_number"))
    assert [row.status for row in rows] == [StagingRecord.Status.APPROVED] * len(people)
    statuses = [CandidatePair.Status.DIFFERENT] * settled + [None, CandidatePair.Status.SAME]
    for row, citizen, status in zip(rows, held, statuses, strict=True):
        pair = candidate_pair(citizen, row)
        if status is not None:
            CandidatePair.objects.filter(pk=pair.pk).update(status=status, decided_at=timezone.now())
    return run


def _promoted(run: ImportRun) -> tuple[ImportRun, int]:
    with CaptureQueriesContext(connection) as queries:
        run = import_promote(run=run, today=TODAY)
    return run, len(queries)


def test_rows_settled_in_the_duplicates_queue_cost_the_chunk_no_statement_of_their_own(
    tmp_path: Path,
) -> None:
    two, ten = _book(tmp_path / "a", 2, 1961), _book(tmp_path / "b", 10, 1972)

    two, two_queries = _promoted(two)
    ten, ten_queries = _promoted(ten)

    assert (two.rows_applied, two.rows_queued) == (2, 2)
    assert (ten.rows_applied, ten.rows_queued) == (10, 2)
    for run in (two, ten):
        forms = CollectionForm.objects.filter(staging_record__run=run).order_by("staging_record__row_number")
        assert [[w["code"] for w in form.warnings] for form in forms] == [
            ["citizen.possible_duplicate"],
            ["citizen.decided_same_person"],
        ]
    assert ten_queries == two_queries


@pytest.mark.parametrize("how", ["batches", "row by row"])
def test_a_row_settled_with_a_row_written_earlier_in_the_chunk_counts_the_decision(
    tmp_path: Path, how: str
) -> None:
    """The chunk's settled pairs are read when its first row asks (row 1, which has a record of its name
    and birth). Row 3 is settled "not the same person" with row 2, which the promotion writes after that
    read: the decision counts for the record row 2 became, as it does row by row."""
    hung = make_citizen(full_name="Nguyễn Văn Hùng")
    path = tmp_path / "so_ho_khau.csv"
    rows = [
        f"R1,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,,,{HOAN_KIEM_ADDRESS}",
        f"R2,Lê Thị Lan,Nữ,02/03/1970,Hà Nội,,,{HOAN_KIEM_ADDRESS}",
        f"R3,Lê Thị Lan,Nữ,02/03/1970,Hà Nội,,,{HOAN_KIEM_ADDRESS}",
    ]
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    actor = Actor(system="import")
    run, source = import_start(path=path, source_name="Sổ hộ khẩu Hoàn Kiếm", actor=actor)
    run = import_rows(run=run, source=source, actor=actor, policy=ImportPolicy())
    first, second, third = StagingRecord.objects.filter(run=run).order_by("row_number")
    for pair in (candidate_pair(hung, first), candidate_pair(second, third, unit=commune(HOAN_KIEM))):
        CandidatePair.objects.filter(pk=pair.pk).update(
            status=CandidatePair.Status.DIFFERENT, decided_at=timezone.now()
        )

    if how == "batches":
        run = import_promote(run=run, today=TODAY)
    else:
        units = services._Units()
        for record in (first, second, third):
            services._promote(record=record, actor=actor, units=units, today=TODAY)
        run.refresh_from_db()

    assert (run.rows_applied, run.rows_queued) == (3, 0)
    assert not CollectionForm.objects.exists()
    assert Citizen.objects.filter(full_name="Lê Thị Lan").count() == 2
