"""Rows normalized by worker processes: the import stages exactly what the importing process alone stages.

The workers are real processes forked from the test's process (collection/workers.py); they parse with
the units the test's own transaction holds, which they could not read from the database themselves.
"""

from __future__ import annotations

import csv
import gc
import io
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from dancu.audit.services import Actor
from dancu.collection.models import StagingRecord
from dancu.collection.readers import MAX_LINE_BYTES
from dancu.collection.services import ImportPolicy, import_rows, import_start
from dancu.collection.workers import CachedParser
from dancu.registry import normalize
from tests.collection.crash_support import staged_until_killed

pytestmark = pytest.mark.django_db


def _dirty_file(tmp_path: Path) -> Path:
    """A generated dirty file, plus a row too long to read and a copy of an early row at the end (its PIN
    is a duplicate that only checks made in file order across batches can see)."""
    path = tmp_path / "people.csv"
    call_command(
        "generate",
        "--people",
        "300",
        "--seed",
        "11",
        "--today",
        "2025-07-01",
        "--out",
        str(path),
        "--dirty",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    with_pin = next(row for row in body if row[header.index("id_number")].strip())
    # Under another record id: the same record repeated is not a duplicate of itself.
    with_pin[header.index("record_id")] = "COPY-1"
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write("X" * (MAX_LINE_BYTES + 10) + "\n")
        csv.writer(handle).writerow(with_pin)
    return path


def _staged(source_name: str) -> list[tuple[Any, ...]]:
    return list(
        StagingRecord.objects.filter(run__source=source_name)
        .order_by("row_number")
        .values_list("row_number", "status", "raw", "normalized", "issues", "repairs", "id_number")
    )


def _import(path: Path, source_name: str, workers: int) -> None:
    actor = Actor(system="test")
    # The same file under several source names on purpose, to compare what each way stages.
    run, source = import_start(path=path, source_name=source_name, actor=actor, same_file_again=True)
    import_rows(run=run, source=source, actor=actor, policy=ImportPolicy(), batch_size=40, workers=workers)


def test_workers_stage_exactly_what_the_importing_process_alone_stages(tmp_path: Path) -> None:
    path = _dirty_file(tmp_path)
    _import(path, "alone", workers=0)
    _import(path, "with workers", workers=2)
    alone, with_workers = _staged("alone"), _staged("with workers")
    assert len(alone) > 300
    assert with_workers == alone
    # The file's faults reached the comparison: repairs, units from addresses, and the rows at the end.
    assert sum(bool(row[5]) for row in alone) > 50
    assert sum(bool(row[3].get("commune_code")) for row in alone) > 250
    assert sum(bool(row[3].get("address_detail")) for row in alone) > 100
    too_long, duplicate = alone[-2], alone[-1]
    assert [issue["code"] for issue in too_long[4]] == ["row.too_long"]
    assert "pin.duplicate_in_batch" in {issue["code"] for issue in duplicate[4]}


def test_a_workbooks_rows_are_staged_by_workers_as_the_importing_process_alone_stages_them(
    tmp_path: Path,
) -> None:
    """A workbook's rows are read by the importing process (openpyxl), as a CSV file's lines are, and
    prepared by the workers the same way."""
    with _dirty_file(tmp_path).open(encoding="utf-8", newline="") as handle:
        lines = [row for row in csv.reader(handle) if len(row) > 1]  # not the line too long to read
    workbook = Workbook()
    for line in lines:
        workbook.active.append(line)
    path = tmp_path / "people.xlsx"
    workbook.save(path)

    _import(path, "alone", workers=0)
    _import(path, "with workers", workers=2)

    alone = _staged("alone")
    assert len(alone) > 300  # the blank rows are not a workbook's rows
    assert _staged("with workers") == alone
    assert "pin.duplicate_in_batch" in {issue["code"] for issue in alone[-1][4]}


def test_batches_the_importing_process_prepares_itself_stage_the_same_rows_and_leave_no_memory(
    tmp_path: Path,
) -> None:
    """While its worker lags (always at the first batch: the worker has just started), the importing
    process prepares a batch itself (`workers.INLINE_SHARE`). The rows are staged as they are alone, and
    the process keeps none of the names it normalized for those batches: its memory of texts would
    otherwise grow by a hundred megabytes over a long file."""
    path = _dirty_file(tmp_path)
    _import(path, "alone", workers=0)
    assert normalize._name_steps.seen  # alone, the process remembers the names it met

    _import(path, "one worker", workers=1)

    assert _staged("one worker") == _staged("alone")
    assert not normalize._name_steps.seen


def test_an_import_stopped_with_workers_stops_them_and_resumes_after_its_last_batch(tmp_path: Path) -> None:
    path = _dirty_file(tmp_path)
    actor = Actor(system="test")
    run, source = import_start(path=path, source_name="stopped", actor=actor)

    staged_until_killed(rows=80, run=run, source=source, actor=actor, batch_size=40, workers=2)
    # The workers had batches beyond the second in hand; none was written, and none of them is left.
    assert StagingRecord.objects.filter(run=run).count() == 80
    assert multiprocessing.active_children() == []

    run, source = import_start(path=path, source_name="stopped", actor=actor)
    import_rows(run=run, source=source, actor=actor, policy=ImportPolicy(), batch_size=40, workers=2)
    _import(path, "alone", workers=0)
    assert _staged("stopped") == _staged("alone")


def test_the_command_takes_a_number_of_workers_and_refuses_a_negative_one(tmp_path: Path) -> None:
    path = _dirty_file(tmp_path)
    call_command("import", str(path), source="Sổ cũ", workers=2, stage_only=True, stdout=io.StringIO())
    _import(path, "alone", workers=0)
    assert _staged("Sổ cũ") == _staged("alone")
    with pytest.raises(CommandError, match="--workers must be from 0 to 32, not -1"):
        call_command("import", str(path), source="Sổ khác", workers=-1, stdout=io.StringIO())


@pytest.mark.parametrize("workers", [0, 2])
def test_an_import_gives_the_garbage_collector_back_as_it_found_it(tmp_path: Path, workers: int) -> None:
    """The import holds the cyclic collector off while it works (`import_rows`), also in a task worker
    of the queue that goes on to other work; it is on again after the import, and after one that fails."""
    path = _dirty_file(tmp_path)
    assert gc.isenabled()
    _import(path, "collected", workers=workers)
    assert gc.isenabled()
    actor = Actor(system="test")
    run, source = import_start(path=path, source_name="failing", actor=actor, same_file_again=True)

    def refuse(run: Any) -> None:
        raise RuntimeError("the progress bar broke")

    with pytest.raises(RuntimeError, match="progress bar"):
        import_rows(run=run, source=source, actor=actor, batch_size=40, workers=workers, on_batch=refuse)
    assert gc.isenabled()


def test_the_address_memory_keeps_the_addresses_asked_for_lately() -> None:
    """A book lists a village's houses together: once the memory is full, the village being read is the
    one to remember, not the book's first ones (which kept every later village's addresses parsed again
    and again)."""
    parsed: list[str] = []

    def parse(text: str) -> None:
        parsed.append(text)

    remembered = CachedParser(parse, limit=2)  # type: ignore[arg-type]
    for text in ["Thôn 1", "Thôn 2", "Thôn 3", "Thôn 3", "Thôn 3", "Thôn 2", "Thôn 1"]:
        remembered(text)

    assert parsed == ["Thôn 1", "Thôn 2", "Thôn 3", "Thôn 1"]
    assert len(remembered) == 2
