"""`dancu import` stopped by SIGTERM stops as Ctrl-C does, and the same command resumes it.

`systemctl stop`, `docker stop` and a scheduler's time limit send SIGTERM, to the command and (systemd's
default, a shell's job control) to the workers it forked. Before, the command died on the spot: no word
of where it stopped, exit status -15, and its run shown "in progress" on its page until the workers'
check found it silent ten minutes later. A worker that died of the group's signal first broke the pool
under the command, which then ended on the pool's error.

The command runs in a process of its own, on a database of its own (SQLite or PostgreSQL, as the test
run is configured), and is sent the real signal.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from tqdm import tqdm

from dancu.audit.models import AuditEvent, EventType
from dancu.collection.models import ImportRun
from tests.collection.test_import import HEADER, HOAN_KIEM, _query, migrated_cli

# The command's database is one of its own on the test run's server (`migrated_cli`): the mark keeps these
# tests in the PostgreSQL pass of `make test`.
pytestmark = pytest.mark.django_db

SOURCE = "Sổ hộ khẩu Hoàn Kiếm"


def book(tmp_path: Path, count: int) -> Path:
    rows = [
        f"R{i},Người Thứ {chr(65 + i % 26)},Nam,19{50 + i % 50},,,,{HOAN_KIEM}" for i in range(1, count + 1)
    ]
    path = tmp_path / "so_hoan_kiem.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


class Command:
    """`dancu import` of one book in a process of its own, which leads its own process group."""

    def __init__(self, tmp_path: Path, rows: int) -> None:
        self.env, self.dancu = migrated_cli(tmp_path)
        self.path = book(tmp_path, rows)

    def start(self, *options: str) -> subprocess.Popen[str]:
        return subprocess.Popen(  # noqa: S603 - our own CLI
            [*self.dancu, "import", str(self.path), "--source", SOURCE, *options],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def run(self) -> tuple[object, ...]:
        """The run's counters, status and reason, as its page reads them."""
        return _query(
            self.env,
            "SELECT rows_read, rows_applied + rows_queued, status, error, promoted_at IS NOT NULL, "
            "(SELECT count(*) FROM collection_stagingrecord), "
            "(SELECT count(DISTINCT row_number) FROM collection_stagingrecord) FROM collection_importrun",
        )

    def wait_until(self, process: subprocess.Popen[str], column: int, at_least: int) -> None:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            try:
                found = self.run()
            except Exception:  # the run's row does not exist until the command has begun
                found = ()
            if found and int(found[column]) >= at_least:  # type: ignore[call-overload]
                return
            time.sleep(0.02)
        raise AssertionError(f"the command was not caught in the middle: {self.run()}")


def _group_gone(group: int) -> bool:
    """No process of the group is left (the command's forked workers included)."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.slow
def test_sigterm_to_the_whole_group_while_reading_stops_the_workers_and_the_command_resumes(
    tmp_path: Path,
) -> None:
    command = Command(tmp_path, 8_000)
    process = command.start("--stage-only", "--workers", "2", "--batch-size", "500")
    command.wait_until(process, column=0, at_least=1_000)

    # As systemd stops a service: the command and its workers, all at once.
    os.killpg(process.pid, signal.SIGTERM)
    _, err = process.communicate(timeout=120)

    assert process.returncode == 143, err
    assert "Traceback" not in err
    rows_read, _, status, error, _, staged, distinct = command.run()
    assert 1_000 <= rows_read < 8_000  # type: ignore[operator]
    assert f"Stopped (SIGTERM) after {rows_read:,} committed rows; run the same command to resume." in err
    # Its page says so at once, and how it goes on: the file is the operator's, on the server.
    assert status == "interrupted"
    assert str(error).startswith("import.stopped: Lệnh dancu import bị dừng bởi tín hiệu SIGTERM khi đọc")
    assert f"dancu import was stopped by SIGTERM while reading and checking ({rows_read:,} rows" in str(error)
    assert "the operator runs the same command on the server again" in str(error)
    # Every committed row once; the batches the workers had in hand were dropped, and so were they.
    assert staged == distinct == rows_read
    deadline = time.monotonic() + 10
    while not _group_gone(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group_gone(process.pid)

    again = command.start("--stage-only", "--workers", "2", "--batch-size", "500")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert f"resuming after row {rows_read:,}" in err
    rows_read, _, status, error, _, staged, distinct = command.run()
    assert (rows_read, status, error, staged, distinct) == (8_000, "done", "", 8_000, 8_000)


@pytest.mark.slow
def test_sigterm_while_writing_stops_after_a_chunk_and_the_command_writes_the_rest(tmp_path: Path) -> None:
    # Rows for review are written one form at a time, some 10 ms each on a slow machine: 900 of them keep
    # the test short and leave some 700 after the signal, sent once 200 are written.
    command = Command(tmp_path, 900)
    process = command.start("--workers", "0")
    command.wait_until(process, column=1, at_least=200)

    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)

    assert process.returncode == 143, err
    assert "Traceback" not in err
    rows_read, written, status, error, promoted, _, _ = command.run()
    assert rows_read == 900
    assert 200 <= written < 900  # type: ignore[operator]
    assert f"Stopped (SIGTERM) after {written:,} records written; run the same command to resume." in err
    assert (status, promoted) == ("interrupted", False)
    assert f"while writing to the registry ({written:,} rows committed)" in str(error)

    again = command.start("--workers", "0")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    # The file is not read again: every row was staged.
    assert "resuming after row 900" in err
    rows_read, written, status, error, promoted, staged, _ = command.run()
    assert (rows_read, written, status, error, promoted, staged) == (900, 900, "done", "", True, 900)


def test_ctrl_c_marks_the_run_stopped_at_once_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C at the terminal, where the command reports a committed batch: its page says so at once,
    # rather than "in progress" until the workers' check finds the run silent.
    path = book(tmp_path, 30)

    def interrupted(self: tqdm, n: float = 1) -> None:
        raise KeyboardInterrupt  # the bar is told of each batch once it is committed

    monkeypatch.setattr(tqdm, "update", interrupted)
    err = io.StringIO()
    stopped: BaseException | None = None
    try:  # caught by hand: a KeyboardInterrupt let through would end the test session
        call_command("import", str(path), source=SOURCE, batch_size=10, stdout=io.StringIO(), stderr=err)
    except (SystemExit, KeyboardInterrupt) as exc:
        stopped = exc

    assert isinstance(stopped, SystemExit)
    assert stopped.code == 130
    assert "Stopped after 10 committed rows; run the same command to resume." in err.getvalue()
    run = ImportRun.objects.get()
    assert (run.status, run.rows_read) == (ImportRun.Status.INTERRUPTED, 10)
    assert run.error.startswith(
        "import.stopped: Lệnh dancu import bị người vận hành dừng (Ctrl-C) khi đọc và kiểm tra "
        "(10 dòng đã lưu)"
    )
    assert AuditEvent.objects.filter(event_type=EventType.IMPORT_INTERRUPTED, subject_id=str(run.pk)).exists()
