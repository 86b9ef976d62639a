"""`dancu serve`, the command `make demo` ends with: the pages and the background worker, as one service;
and the tasks the worker runs on a schedule.

Every other test runs queued tasks inline (`DANCU_TASKS_INLINE`). This one runs the real thing in
processes of their own, on a database of their own: the web server answers, a task queued the way the
import page queues it is taken by a `dancu qcluster` worker from the database and done, and stopping the
server with SIGTERM, as a service manager does, stops the worker and every process it forked.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from django_q.models import Schedule, Task

from dancu.lib.tasks import enqueue
from dancu.web.management.commands.serve import WORKER_STOP_GRACE_SECONDS
from tests.collection.test_import import HEADER, HOAN_KIEM, _children, _query, migrated_cli

# Time for the server and the worker to start and for the worker to take and finish a small import, on a
# slow hour of a shared machine; the test is done as soon as everything has happened.
_DEADLINE_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _status(url: str) -> int | None:
    """The HTTP status of a GET of `url`, or None while nothing answers there."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - a local http URL of the test
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _until(condition: Callable[[], bool], deadline: float) -> bool:
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


# The server and its worker run on a database of their own (`migrated_cli`), on the run's database server:
# a SQLite file, or a database of the PostgreSQL server of `make test`'s second pass, where the worker's
# queue is read with row locks. The mark keeps the test in both passes.
@pytest.mark.slow
@pytest.mark.django_db
def test_serve_answers_pages_runs_the_queued_import_and_stops_its_worker_with_it(tmp_path: Path) -> None:
    env, dancu = migrated_cli(tmp_path)
    (tmp_path / "imports").mkdir()
    rows = [f"R{i},Người Thứ {chr(65 + i)},Nam,19{50 + i},,,,{HOAN_KIEM}" for i in range(1, 6)]
    (tmp_path / "imports" / "upload.csv").write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    source = f"Sổ cũ {time.time_ns()}"  # the PostgreSQL database outlives this test
    # The run is started and its task queued as the import page does (`import_upload`), before any worker
    # runs: the task waits in the database.
    queued = subprocess.run(  # noqa: S603 - our own CLI
        [
            *dancu,
            "shell",
            "-c",
            "from pathlib import Path; from django.conf import settings;"
            "from dancu.audit.services import Actor; from dancu.collection.services import import_start;"
            "from dancu.lib.tasks import enqueue;"
            "run, _ = import_start(path=Path(settings.VAR_DIR) / 'imports' / 'upload.csv',"
            f" source_name={source!r}, actor=Actor(system='test'), stored_file='upload.csv');"
            "enqueue('dancu.collection.services.import_in_background', run.pk, name=f'import #{run.pk}');"
            "print(run.pk)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    run_id = int(queued.stdout.split()[-1])

    def run_status() -> str:
        # run_id is the integer the subprocess printed: nothing of the SQL comes from outside the test.
        return str(_query(env, f"SELECT status FROM collection_importrun WHERE id = {run_id}")[0])  # noqa: S608

    assert run_status() == "running"
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - our own CLI
        [*dancu, "serve", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    worker_group = None
    try:
        deadline = time.monotonic() + _DEADLINE_SECONDS
        assert _until(lambda: _status(f"http://127.0.0.1:{port}/login/") == 200, deadline), (
            "the server never answered its sign-in page"
        )
        # The worker was started before the server: known from here on, it is stopped whatever fails.
        workers = _children(server.pid)
        assert len(workers) == 1, "serve starts exactly one worker (dancu qcluster) beside the server"
        worker_group = workers[0]
        assert os.getpgid(worker_group) == worker_group, "the worker leads a process group of its own"
        # Static files are served by the same process (WhiteNoise), so the demo's pages have their style.
        assert _status(f"http://127.0.0.1:{port}/static/web/dancu.css") == 200
        assert _until(lambda: run_status() == "done", deadline), (
            f"the worker did not finish the queued import: {run_status()}"
        )
        (rows_read, staged) = _query(
            env,
            f"SELECT rows_read, (SELECT COUNT(*) FROM collection_stagingrecord WHERE run_id = {run_id})"  # noqa: S608
            f" FROM collection_importrun WHERE id = {run_id}",
        )
        assert (rows_read, staged) == (5, 5)

        def task_result() -> tuple:
            return _query(env, f"SELECT success FROM django_q_task WHERE name = 'import #{run_id}'")  # noqa: S608

        # The cluster's monitor saves the task's result after the worker has returned it, a moment after
        # the run itself is done.
        assert _until(lambda: task_result() != (), deadline), "the worker never reported the task"
        assert task_result() == (True,)

        server.send_signal(signal.SIGTERM)
        # The worker stops by itself, in a second or two: a server still there when the grace period given
        # to the worker is nearly over waited for a worker that would not stop, and killed it.
        assert server.wait(timeout=WORKER_STOP_GRACE_SECONDS - 5) == 0
        assert not _group_alive(worker_group), "a process of the worker outlived the server"
        assert _status(f"http://127.0.0.1:{port}/login/") is None
    finally:
        # Whatever failed above, no process of the test is left running: the worker lives in a process
        # group of its own, which killing the server's would leave behind.
        if worker_group is None and server.poll() is None:
            worker_group = next(iter(_children(server.pid)), None)
        for group in (server.pid, worker_group):
            if group is not None and _group_alive(group):
                os.killpg(group, signal.SIGKILL)
        server.wait(timeout=30)


@pytest.mark.django_db
def test_every_task_the_migrations_schedule_for_the_workers_exists_and_runs() -> None:
    """A schedule names its task by a dotted path that only the worker imports: a function renamed or
    moved would fail there, every few minutes, with nobody looking. Each one runs here as the worker runs
    it, on the empty registry."""
    schedules = dict(Schedule.objects.values_list("name", "func"))
    # The check that marks interrupted the imports whose worker died (collection migration 0008) and the
    # nightly expiry of cards (cards migration 0007), among the quality passes, the campaigns' tallies
    # and reports and the access log's seal.
    assert schedules["imports: interrupted runs"] == "dancu.collection.tasks.imports_check"
    assert schedules["cards: expire the cards past their date"] == "dancu.cards.tasks.expire_due"
    assert len(schedules) == 7
    for name, func in sorted(schedules.items()):
        task = Task.objects.get(id=enqueue(func))
        assert task.success, f"{name}: {task.result}"
    assert Task.objects.get(func="dancu.collection.tasks.imports_check").result == []


def _processes_of(var_dir: Path) -> list[int]:
    """The processes run with DANCU_VAR_DIR set to `var_dir` (Linux /proc), whoever their parent now is."""
    marker = f"DANCU_VAR_DIR={var_dir}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue  # a process that ended while the list was read, or one of another user
    return found


def test_serve_on_a_port_in_use_says_so_and_starts_no_worker(tmp_path: Path) -> None:
    """runserver ends with os._exit when it cannot listen, which skipped the stopping of the worker: a
    `dancu serve` on a busy port left a worker running for good, with nothing to stop it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DANCU_")} | {
        "DANCU_VAR_DIR": str(tmp_path)
    }
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        try:
            served = subprocess.run(  # noqa: S603 - our own CLI
                [sys.executable, "-m", "dancu.cli", "serve", f"127.0.0.1:{port}"],
                check=False,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            left = _processes_of(tmp_path)
        finally:
            for pid in _processes_of(tmp_path):
                os.kill(pid, signal.SIGKILL)

    assert served.returncode == 1
    assert f"Không phục vụ được tại 127.0.0.1:{port}" in served.stderr
    assert "nothing was started" in served.stderr
    assert left == []
