"""An import's batches written while the next one is checked (`collection.services._BatchWriter`).

On PostgreSQL, outside a caller's transaction, a batch's COPY and commit run in a thread of their own on a
connection of their own, so that the database server stores one batch while the importing process reads
and checks the next. These tests commit for real (a transactional test), as an import does: another
connection sees nothing of a test's transaction. On SQLite the batches are written in the importing
thread, and the same tests hold the import to the same results.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection

from dancu.audit.services import Actor
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.readers import Row
from dancu.collection.services import (
    ImportDiscardedError,
    ImportPolicy,
    RowChecker,
    import_rows,
    import_start,
)
from dancu.collection.workers import PreparedRow
from tests.collection.crash_support import staged_until_killed
from tests.collection.test_import import HOAN_KIEM, csv_file

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = Actor(system="test")


def _rows(count: int) -> list[str]:
    return [
        f"R{i},Người Thứ {chr(65 + i % 26)},Nam,1990,,0010901{i:05d},01234{i:04d},{HOAN_KIEM}"
        for i in range(1, count + 1)
    ]


def _writer_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("dancu-import-writer")]


def _client_backends() -> set[int]:
    """The server processes of the connections open to this test's database (on PostgreSQL)."""
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND backend_type = 'client backend'"
        )
        return {pid for (pid,) in cursor.fetchall()}


def _left(backends: set[int]) -> set[int]:
    """Those of `backends` still open, once the closed ones have gone: a server process leaves a moment
    after its client closed the connection, later on a busy machine."""
    deadline = time.monotonic() + 10
    while (still := backends & _client_backends()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return still


def _other_connection() -> psycopg.Connection[Any]:
    params = connection.get_connection_params()
    keys = ("dbname", "user", "password", "host", "port")
    return psycopg.connect(**{key: params[key] for key in keys if params.get(key)})


class _HeldWriter(RowChecker):
    """A checker that, on PostgreSQL, holds the first batch's write back until the second batch is checked:
    another connection locks the run's row as the first batch is checked, so the writer's transaction
    waits for it, and lets go once the second batch is checked. It notes how many of the run's rows the
    importing process could see while it checked the second batch."""

    def __init__(self, *, run: ImportRun) -> None:
        super().__init__(run=run)
        self.visible_at_second_batch: int | None = None
        self._blocker: psycopg.Connection[Any] | None = None
        self.blocker_pid = 0

    def check(self, rows: Any, prepared: list[PreparedRow] | None = None) -> Any:
        first: Row = rows[0]
        if first.number == 1 and connection.vendor == "postgresql":
            self._blocker = _other_connection()
            self.blocker_pid = self._blocker.info.backend_pid
            self._blocker.execute(
                "SELECT id FROM collection_importrun WHERE id = %s FOR UPDATE", [self.run.pk]
            )
        checked = super().check(rows, prepared)
        if first.number == 11:
            self.visible_at_second_batch = StagingRecord.objects.filter(run=self.run).count()
            if self._blocker is not None:
                self._blocker.close()  # the transaction rolls back; the writer has the row
        return checked


def test_a_number_repeated_just_after_its_batch_is_a_duplicate_while_that_batch_is_being_written(
    tmp_path: Path,
) -> None:
    rows = _rows(20)
    # Row 12 repeats row 5's PIN and row 7's CMND, both in the batch before its own.
    rows[11] = f"R12,Người Lặp Lại,Nam,1990,,001090100005,012340007,{HOAN_KIEM}"
    run, source = import_start(path=csv_file(tmp_path, rows), source_name="Sổ cũ", actor=ACTOR)
    checker = _HeldWriter(run=run)
    before = _client_backends()
    threads_seen: list[int] = []
    during: set[int] = set()

    def committed(current: ImportRun) -> None:
        threads_seen.append(len(_writer_threads()))
        during.update(_client_backends())

    run = import_rows(
        run=run,
        source=source,
        actor=ACTOR,
        policy=ImportPolicy(),
        checker=checker,
        batch_size=10,
        workers=0,
        on_batch=committed,
    )

    repeated = StagingRecord.objects.get(run=run, row_number=12)
    codes = {issue["code"]: issue["message_en"] for issue in repeated.issues}
    assert codes.keys() == {"pin.duplicate_in_batch", "cmnd.duplicate_in_batch"}
    assert "R5" in codes["pin.duplicate_in_batch"]
    assert "R7" in codes["cmnd.duplicate_in_batch"]
    assert (run.rows_read, run.rows_rejected, run.status) == (20, 1, ImportRun.Status.DONE)
    assert StagingRecord.objects.filter(run=run).count() == 20
    assert _writer_threads() == []
    if connection.vendor != "postgresql":
        # Written in the importing thread: the first batch was stored before the second was checked.
        assert checker.visible_at_second_batch == 10
        assert threads_seen == [0, 0]
        return
    # The second batch was checked while the first was still being written, and found its numbers.
    assert checker.visible_at_second_batch == 0
    assert threads_seen == [1, 1]
    # The writer's connection (the one open while the batches were written, other than this test's and the
    # one that held the run's row) is closed with its thread.
    writers = during - before - {checker.blocker_pid}
    assert len(writers) == 1
    assert _left(writers) == set()


def test_an_import_killed_after_a_batch_leaves_it_whole_and_resumes_after_it(tmp_path: Path) -> None:
    path = csv_file(tmp_path, _rows(50))
    run, source = import_start(path=path, source_name="Sổ cũ", actor=ACTOR)

    staged_until_killed(rows=20, run=run, source=source, actor=ACTOR, batch_size=10, workers=0)

    assert StagingRecord.objects.filter(run=run).count() == 20
    assert _writer_threads() == []
    run, source = import_start(path=path, source_name="Sổ cũ", actor=ACTOR)
    assert run.rows_read == 20
    import_rows(run=run, source=source, actor=ACTOR, policy=ImportPolicy(), batch_size=10, workers=0)
    numbers = sorted(StagingRecord.objects.filter(run=run).values_list("row_number", flat=True))
    assert numbers == list(range(1, 51))


def test_the_writers_refusal_stops_the_import_with_its_own_error(tmp_path: Path) -> None:
    run, source = import_start(path=csv_file(tmp_path, _rows(30)), source_name="Sổ cũ", actor=ACTOR)
    before = _client_backends()
    during: set[int] = set()

    def discarded_meanwhile(current: ImportRun) -> None:
        during.update(_client_backends())
        # What `import_discard` leaves of the run, as another process's discard would while this one writes.
        ImportRun.objects.filter(pk=current.pk).update(status=ImportRun.Status.DISCARDED)

    with pytest.raises(ImportDiscardedError):
        import_rows(
            run=run,
            source=source,
            actor=ACTOR,
            policy=ImportPolicy(),
            batch_size=10,
            workers=0,
            on_batch=discarded_meanwhile,
        )

    run.refresh_from_db()
    assert (run.rows_read, run.status) == (10, ImportRun.Status.DISCARDED)
    assert StagingRecord.objects.filter(run=run).count() == 10
    assert _writer_threads() == []
    # The writer's connection is closed after its error too.
    assert len(during - before) == (1 if connection.vendor == "postgresql" else 0)
    assert _left(during - before) == set()
