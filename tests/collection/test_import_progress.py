"""An import's progress, from the first row on, and an import whose worker died.

A commune officer who uploads a 200,000-row book must see how far the import is and how long it still
needs, from the start: the file's rows are counted when it is identified, so the bar has its end before
the first row is read. A worker killed mid-way must not leave a run "in progress" forever: the check the
workers run every few minutes marks it interrupted with the reason, and continuing it loses and doubles
nothing.
"""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.readers import open_source
from dancu.collection.selectors import ImportProgress, import_progress, import_runs
from dancu.collection.services import (
    ImportConflictError,
    import_in_background,
    import_promote,
    import_resume,
    import_rows,
    import_start,
    import_upload,
    imports_mark_interrupted,
)
from dancu.collection.workers import WORKERS_FROM_ROWS
from dancu.lib.errors import DomainError
from tests.collection.crash_support import promoted_until_killed, staged_until_killed
from tests.collection.test_import import HEADER, HOAN_KIEM, _query, migrated_cli
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

SYSTEM = Actor(system="test")


def people(count: int) -> list[str]:
    return [
        f"R{i},Người Thứ {chr(65 + i % 26)},Nam,19{50 + i % 50},,,,{HOAN_KIEM}" for i in range(1, count + 1)
    ]


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_the_progress_has_its_end_from_the_start_and_moves_with_every_batch(tmp_path: Path) -> None:
    # Two blank lines: the line count is an upper bound until the rows are read.
    rows = people(50)
    rows[10:10] = ["", ""]
    path = write_csv(tmp_path / "so.csv", rows)
    run, source = import_start(path=path, source_name="Sổ cũ", actor=SYSTEM)
    assert run.rows_total == 52
    before = import_progress(run)
    assert (before.step, before.done, before.total, before.percent) == ("queued", 0, 52, 0)

    seen: list[ImportProgress] = []
    import_rows(
        run=run,
        source=source,
        actor=SYSTEM,
        batch_size=10,
        on_batch=lambda r: seen.append(import_progress(r)),
    )
    assert [p.step for p in seen] == ["reading"] * 5
    assert [p.done for p in seen] == [10, 20, 30, 40, 50]
    assert [p.percent for p in seen] == [19, 38, 57, 76, 96]
    assert all(p.total == 52 for p in seen)
    run.refresh_from_db()
    assert run.rows_total == 50  # exact once read

    writing: list[ImportProgress] = []
    import_promote(run=run, batch_size=20, on_batch=lambda r: writing.append(import_progress(r)))
    assert [p.step for p in writing] == ["writing"] * 3
    assert [p.done for p in writing] == [20, 40, 50]
    assert {p.total for p in writing} == {50}
    run.refresh_from_db()
    after = import_progress(run)
    assert (after.step, after.percent) == ("done", 100)


def test_a_workbook_says_how_many_rows_it_has(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    for i in range(7):
        sheet.append([f"R{i}", "Lê Thị Mai", "Nữ", "1985", "", "", "", HOAN_KIEM.strip('"')])
    path = tmp_path / "so.xlsx"
    workbook.save(path)
    run, _source = import_start(path=path, source_name="Sổ cũ", actor=SYSTEM)
    assert run.rows_total == 7


def test_the_time_left_follows_the_rate_of_the_current_session() -> None:
    started = timezone.now()
    run = ImportRun(
        status=ImportRun.Status.RUNNING,
        rows_read=300,
        rows_total=1300,
        session_started_at=started,
        session_start_count=100,  # resumed after row 100: only this session's rows give the rate
    )
    # 200 rows in 20 s: 10 rows/s, 1,000 rows to go.
    assert import_progress(run, now=started + timedelta(seconds=20)).remaining_seconds == 100
    # Too early to tell.
    assert import_progress(run, now=started + timedelta(seconds=1)).remaining_seconds is None
    run.rows_read = 100
    assert import_progress(run, now=started + timedelta(seconds=20)).remaining_seconds is None
    # Writing: the staged rows that wait, whatever the file held. The staging finished before this
    # session began writing.
    run.finished_at = started - timedelta(minutes=1)
    run.rows_accepted, run.rows_review, run.rows_applied, run.rows_queued = 900, 100, 500, 0
    run.session_start_count = 0
    writing = import_progress(run, now=started + timedelta(seconds=50))
    assert (writing.step, writing.done, writing.total, writing.remaining_seconds) == (
        "writing",
        500,
        1000,
        50,
    )


@pytest.fixture
def no_worker(settings: Any, tmp_path: Path) -> Any:
    """Uploads kept under tmp_path, and no background worker: the test plays the worker."""
    settings.VAR_DIR = tmp_path
    settings.DANCU_TASKS_INLINE = False
    return settings


def _upload(tmp_path: Path, actor: Actor, rows: list[str]) -> ImportRun:
    content = (HEADER + "\n" + "\n".join(rows) + "\n").encode()
    return import_upload(actor=actor, upload=SimpleUploadedFile("so.csv", content), source_name="Sổ cũ")


def test_a_run_whose_worker_went_silent_is_marked_interrupted_and_continues(
    personas: Personas, no_worker: Any, tmp_path: Path
) -> None:
    settings = no_worker
    cuong = Actor(personas.cuong)
    run = _upload(tmp_path, cuong, people(50))
    stored = tmp_path / "imports" / run.stored_file
    assert stored.is_file()
    assert import_progress(run).step == "queued"
    # A run still waiting for a worker is not silent, however long it waits.
    later = timezone.now() + timedelta(minutes=settings.DANCU_IMPORT_STALL_MINUTES + 1)
    assert imports_mark_interrupted(actor=SYSTEM, now=later) == []

    staged_until_killed(rows=20, run=run, source=open_source(stored), actor=cuong, batch_size=10)
    # Only just now: not silent yet.
    assert imports_mark_interrupted(actor=SYSTEM) == []

    marked = imports_mark_interrupted(actor=SYSTEM, now=later)
    assert [r.pk for r in marked] == [run.pk]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.INTERRUPTED
    assert run.error.startswith("import.interrupted:")
    assert "20 dòng đã lưu" in run.error
    assert "20 rows committed" in run.error
    assert (import_progress(run).step, import_progress(run).done) == ("interrupted", 20)
    assert imports_mark_interrupted(actor=SYSTEM, now=later) == []  # once
    assert (
        AuditEvent.objects.filter(event_type=EventType.IMPORT_INTERRUPTED, subject_id=str(run.pk)).count()
        == 1
    )

    # A commune collector may not continue it; the supervisor does, and the worker takes it from row 21.
    with pytest.raises(DomainError) as refused:
        import_resume(actor=Actor(personas.lan), run=run)
    assert refused.value.errors[0].code == "role.not_allowed"
    settings.DANCU_TASKS_INLINE = True
    run = import_resume(actor=cuong, run=run)
    assert (run.status, run.rows_read, run.rows_total) == (ImportRun.Status.DONE, 50, 50)
    assert run.promoted_at is not None
    numbers = list(
        StagingRecord.objects.filter(run=run).order_by("row_number").values_list("row_number", flat=True)
    )
    assert numbers == list(range(1, 51))
    assert AuditEvent.objects.filter(event_type=EventType.IMPORT_RESUMED, subject_id=str(run.pk)).count() == 1
    # The uploaded copy is gone with the run finished.
    assert not stored.exists()
    assert run.stored_file == ""
    with pytest.raises(DomainError) as again:
        import_resume(actor=cuong, run=run)
    assert again.value.errors[0].code == "import.not_interrupted"


def test_an_interrupted_run_whose_file_is_gone_fails_saying_so(
    personas: Personas, no_worker: Any, tmp_path: Path
) -> None:
    cuong = Actor(personas.cuong)
    run = _upload(tmp_path, cuong, people(5))
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.INTERRUPTED, session_started_at=timezone.now()
    )
    (tmp_path / "imports" / run.stored_file).unlink()
    run.refresh_from_db()
    run = import_resume(actor=cuong, run=run)
    assert run.status == ImportRun.Status.FAILED
    assert run.error.startswith("file.missing:")
    assert "upload the same file again" in run.error
    assert import_progress(run).step == "failed"


def test_a_run_staged_on_the_server_for_its_operator_is_not_silent(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "so.csv", people(5))
    run, source = import_start(path=path, source_name="Sổ cũ", actor=SYSTEM)
    import_rows(run=run, source=source, actor=SYSTEM)  # `dancu import --stage-only`: promotion waits
    later = timezone.now() + timedelta(days=1)
    assert imports_mark_interrupted(actor=SYSTEM, now=later) == []
    # The page says the rows wait for their operator, not that they are being written.
    run.refresh_from_db()
    assert import_progress(run, now=later) == ImportProgress("staged", 0, 5)
    import_promote(run=run, actor=SYSTEM)
    run.refresh_from_db()
    assert import_progress(run).step == "done"


def test_a_run_of_the_server_killed_while_writing_is_marked_interrupted_and_a_worker_finishes_it(
    personas: Personas, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "so.csv", people(30))
    run, source = import_start(path=path, source_name="Sổ cũ", actor=SYSTEM)
    import_rows(run=run, source=source, actor=SYSTEM)

    # `dancu import` writing its staged rows, killed after the first chunk: no word from it again.
    promoted_until_killed(run=run, actor=SYSTEM, batch_size=10)
    run.refresh_from_db()
    later = timezone.now() + timedelta(days=1)
    assert import_progress(run, now=later).step == "writing"

    assert [r.pk for r in imports_mark_interrupted(actor=SYSTEM, now=later)] == [run.pk]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.INTERRUPTED
    assert "ghi vào CSDL (10 dòng đã lưu" in run.error
    assert "writing to the registry (10 rows committed" in run.error
    assert import_progress(run, now=later).step == "interrupted"
    # Every row is staged, so no file is needed: from the page, which shows a run of the server to the
    # ministry only, a worker writes the rest.
    assert [r.pk for r in import_runs(actor=personas.cuong)] == []
    assert [r.pk for r in import_runs(actor=personas.minh)] == [run.pk]
    run = import_resume(actor=Actor(personas.minh), run=run)
    assert run.promoted_at is not None
    assert (run.status, run.rows_applied + run.rows_queued + run.rows_rejected) == (ImportRun.Status.DONE, 30)


@pytest.mark.slow
def test_killing_the_worker_mid_import_leaves_a_run_that_is_marked_interrupted_and_continues(
    tmp_path: Path,
) -> None:
    # The worker's task runs in a real process on the run's database (a SQLite file, or the PostgreSQL
    # database of scripts/with-postgres) and is killed with SIGKILL, as a worker killed by the system is.
    env, dancu = migrated_cli(tmp_path)
    (tmp_path / "imports").mkdir()
    # Rows with an impossible birth date: rejected when staged, so that nothing waits to be promoted and the
    # test is about the staging the worker was killed in.
    # Enough rows for the import to start its workers as it would for a large file, killed once 2,000 are
    # read: the rest is seconds of work even on a fast machine.
    total = WORKERS_FROM_ROWS + 2_000
    rows = [f"R{i},Người Thứ {chr(65 + i % 26)},Nam,31/02/19{50 + i % 50},,,," for i in range(1, total + 1)]
    write_csv(tmp_path / "imports" / "upload.csv", rows)
    source = f"Sổ cũ {time.time_ns()}"  # the PostgreSQL database outlives this test

    def shell(code: str, *, check: bool) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own CLI
            [*dancu, "shell", "-c", code], env=env, capture_output=True, text=True, timeout=300, check=check
        )

    started = shell(
        "from pathlib import Path; from django.conf import settings;"
        "from dancu.audit.services import Actor; from dancu.collection.services import import_start;"
        "run, _ = import_start(path=Path(settings.VAR_DIR) / 'imports' / 'upload.csv',"
        f" source_name={source!r}, actor=Actor(system='test'), stored_file='upload.csv'); print(run.pk)",
        check=True,
    )
    run_id = int(started.stdout.split()[-1])
    worker = f"from dancu.collection.services import import_in_background;import_in_background({run_id})"
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [*dancu, "shell", "-c", worker], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def run_row(columns: str, table: str = "collection_importrun", key: str = "id") -> tuple:
        # run_id is the integer the subprocess printed: nothing of the SQL comes from outside the test.
        return _query(env, f"SELECT {columns} FROM {table} WHERE {key} = {run_id}")  # noqa: S608

    def rows_read() -> int:
        return int(run_row("rows_read")[0])

    deadline = time.monotonic() + 120
    while rows_read() < 2000 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    interrupted_at = rows_read()
    assert 0 < interrupted_at < total, "the worker was not caught in the middle"
    assert run_row("status") == ("running",)

    # The workers' check, some minutes later.
    marked = shell(
        "from datetime import timedelta; from django.utils import timezone;"
        "from dancu.audit.services import Actor;"
        "from dancu.collection.services import imports_mark_interrupted;"
        "print([r.pk for r in imports_mark_interrupted(actor=Actor(system='import'),"
        " now=timezone.now() + timedelta(minutes=30))])",
        check=True,
    )
    assert str(run_id) in marked.stdout
    status, error = run_row("status, error")
    assert status == "interrupted"
    assert f"{interrupted_at:,} rows committed" in error

    # The task again (as `import_resume` queues it): it continues after the last committed row.
    finished = shell(worker, check=False)
    assert finished.returncode == 0, finished.stderr
    count, low, high, distinct = run_row(
        "COUNT(*), MIN(row_number), MAX(row_number), COUNT(DISTINCT row_number)",
        table="collection_stagingrecord",
        key="run_id",
    )
    read, status, rows_total = run_row("rows_read, status, rows_total")
    assert (count, low, high, distinct, read, status, rows_total) == (
        total,
        1,
        total,
        total,
        total,
        "done",
        total,
    )


def test_a_run_interrupted_while_writing_continues_without_its_file(
    personas: Personas, no_worker: Any, tmp_path: Path
) -> None:
    settings = no_worker
    cuong = Actor(personas.cuong)
    run = _upload(tmp_path, cuong, people(30))
    stored = tmp_path / "imports" / run.stored_file
    import_rows(run=run, source=open_source(stored), actor=cuong)

    promoted_until_killed(run=run, actor=cuong, batch_size=10)
    run.refresh_from_db()
    assert (import_progress(run).step, import_progress(run).done) == ("writing", 10)
    later = timezone.now() + timedelta(minutes=settings.DANCU_IMPORT_STALL_MINUTES + 1)
    assert [r.pk for r in imports_mark_interrupted(actor=SYSTEM, now=later)] == [run.pk]
    run.refresh_from_db()
    assert "writing to the registry" in run.error
    assert import_progress(run).step == "interrupted"
    # The staged rows are all it needs now: the uploaded copy may be gone.
    stored.unlink()
    settings.DANCU_TASKS_INLINE = True
    run = import_resume(actor=cuong, run=run)
    assert run.status == ImportRun.Status.DONE
    assert run.promoted_at is not None
    assert run.rows_applied + run.rows_queued == run.rows_accepted + run.rows_review == 30
    assert not StagingRecord.objects.filter(run=run, promoted_at__isnull=True).exists()


def test_a_failed_run_started_again_is_under_way_again(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "so.csv", people(5))
    run, source = import_start(path=path, source_name="Sổ cũ", actor=SYSTEM)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.FAILED, error="file.missing: …")
    run.refresh_from_db()
    seen: list[str] = []
    import_rows(run=run, source=source, actor=SYSTEM, batch_size=2, on_batch=lambda r: seen.append(r.status))
    assert seen == [ImportRun.Status.RUNNING] * 3
    run.refresh_from_db()
    assert (run.status, run.error, run.rows_read) == (ImportRun.Status.DONE, "", 5)


def test_the_same_file_uploaded_again_keeps_one_copy_and_replaces_a_lost_one(
    personas: Personas, no_worker: Any, tmp_path: Path
) -> None:
    cuong = Actor(personas.cuong)
    run = _upload(tmp_path, cuong, people(5))
    kept = run.stored_file
    again = _upload(tmp_path, cuong, people(5))
    assert (again.pk, again.stored_file) == (run.pk, kept)
    assert [p.name for p in (tmp_path / "imports").iterdir()] == [kept]
    # The copy lost (a disk cleaned by hand): the next upload of the file gives the run its copy again.
    (tmp_path / "imports" / kept).unlink()
    again = _upload(tmp_path, cuong, people(5))
    assert again.stored_file not in ("", kept)
    assert [p.name for p in (tmp_path / "imports").iterdir()] == [again.stored_file]


def test_a_bar_without_a_known_end_has_no_percentage_and_an_empty_one_is_full() -> None:
    """A file that cannot tell how many rows it holds shows a bar without an end; a step with nothing to
    do (every row of the file rejected, nothing to write) is complete, not 0 % for ever."""
    unknown = import_progress(
        ImportRun(
            status=ImportRun.Status.RUNNING, rows_read=40, rows_total=None, session_started_at=timezone.now()
        )
    )
    assert (unknown.step, unknown.done, unknown.total, unknown.percent, unknown.determinate) == (
        "reading",
        40,
        None,
        None,
        False,
    )


def test_a_file_whose_every_row_is_rejected_has_nothing_left_to_write(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "so.csv", [f"R{i},Người Thứ {i},Nam,31/02/1990,,,,{HOAN_KIEM}" for i in (1, 2)]
    )
    run, source = import_start(path=path, source_name="Sổ cũ", actor=SYSTEM)
    run = import_rows(run=run, source=source, actor=SYSTEM)

    staged = import_progress(run)
    assert (staged.step, staged.done, staged.total, staged.percent) == ("staged", 0, 0, 100)
    assert run.rows_rejected == 2


def test_a_run_marked_interrupted_while_its_worker_was_only_slow_goes_on(tmp_path: Path) -> None:
    """The check saw no progress for too long and marked the run interrupted; the worker was alive after
    all: its next batch puts the run back under way, with the reason cleared."""
    path = write_csv(tmp_path / "so.csv", people(30))
    run, source = import_start(path=path, source_name="Sổ cũ", actor=SYSTEM)
    later = timezone.now() + timedelta(days=1)
    seen: list[tuple[str, str]] = []

    def slow_worker(current: ImportRun) -> None:
        if current.rows_read == 10:
            assert [r.pk for r in imports_mark_interrupted(actor=SYSTEM, now=later)] == [run.pk]
        seen.append((current.status, current.error[:18]))

    run = import_rows(run=run, source=source, actor=SYSTEM, batch_size=10, on_batch=slow_worker)

    assert seen == [("running", ""), ("running", ""), ("running", "")]
    assert (run.status, run.error, run.rows_read) == (ImportRun.Status.DONE, "", 30)
    assert StagingRecord.objects.filter(run=run).count() == 30


def test_a_second_process_on_the_same_run_stops_rather_than_write_its_rows_twice(tmp_path: Path) -> None:
    """Another process committed the next rows meanwhile (rows_read moved past this batch's first row):
    this one stops before writing them, and the run keeps what the other wrote."""
    path = write_csv(tmp_path / "so.csv", people(30))
    run, source = import_start(path=path, source_name="Sổ cũ", actor=SYSTEM)

    def other_process_commits_rows_11_to_20(current: ImportRun) -> None:
        if current.rows_read == 10:
            ImportRun.objects.filter(pk=run.pk).update(rows_read=20)

    with pytest.raises(ImportConflictError):
        import_rows(
            run=run, source=source, actor=SYSTEM, batch_size=10, on_batch=other_process_commits_rows_11_to_20
        )

    run.refresh_from_db()
    assert (run.status, run.rows_read) == (ImportRun.Status.RUNNING, 20)
    assert StagingRecord.objects.filter(run=run).count() == 10
    assert not AuditEvent.objects.filter(event_type=EventType.IMPORT_FINISHED).exists()


def test_a_process_that_may_not_fork_imports_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A task worker of the queue is a daemonic process, and a daemonic process may have no children: the
    workers asked for are not started, and the rows are staged all the same."""
    import multiprocessing

    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True)
    path = write_csv(tmp_path / "so.csv", people(30))
    run, source = import_start(path=path, source_name="Sổ cũ", actor=SYSTEM)

    run = import_rows(run=run, source=source, actor=SYSTEM, batch_size=10, workers=2)

    assert (run.status, run.rows_read) == (ImportRun.Status.DONE, 30)
    assert StagingRecord.objects.filter(run=run).count() == 30


def test_the_worker_task_queued_twice_does_the_run_once(
    personas: Personas, no_worker: Any, tmp_path: Path
) -> None:
    run = _upload(tmp_path, Actor(personas.cuong), people(5))
    assert import_in_background(run.pk) == {"run": run.pk, "rows_read": 5}
    events = AuditEvent.objects.count()

    assert import_in_background(run.pk) == {"run": run.pk, "rows_read": 5}

    assert AuditEvent.objects.count() == events
    assert StagingRecord.objects.filter(run=run).count() == 5


@pytest.mark.parametrize("how", ["file deleted", "file forgotten"])
def test_the_worker_finding_no_uploaded_file_fails_the_run_saying_to_upload_it_again(
    personas: Personas, no_worker: Any, tmp_path: Path, how: str
) -> None:
    """The copy of the upload is gone before a worker took the run (the folder was cleaned, or the run was
    left without one): the run fails with the advice the officer needs, not with a path of the server."""
    run = _upload(tmp_path, Actor(personas.cuong), people(5))
    stored = tmp_path / "imports" / run.stored_file
    if how == "file deleted":
        stored.unlink()
    else:
        ImportRun.objects.filter(pk=run.pk).update(stored_file="")

    assert import_in_background(run.pk) == {"run": run.pk, "rows_read": 0}

    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert run.error.startswith("file.missing: Không còn tệp đã tải lên")
    assert "upload the same file again" in run.error
    assert str(tmp_path) not in run.error
    assert not StagingRecord.objects.filter(run=run).exists()
    failed = AuditEvent.objects.get(event_type=EventType.IMPORT_FAILED, subject_id=str(run.pk))
    assert failed.data == {"code": "file.missing"}
