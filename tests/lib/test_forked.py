"""Work handed to forked worker processes (dancu.lib.forked): what each worker is set up with, and that
no worker outlives the process that started it.

The workers are real processes. What runs in them is not seen by the coverage of the test process: these
tests prove it by what the workers hand back, and by their process ids.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dancu.lib.forked import forked_map

_SETUP: dict[str, str] = {}


def _remember(value: str) -> None:
    _SETUP["value"] = value


def _report(number: int) -> tuple[int, str, bool]:
    return number * number, _SETUP.get("value", ""), signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def test_each_worker_is_set_up_ignores_ctrl_c_and_results_keep_the_order_of_the_work() -> None:
    work = ((f"k{n}", (n,)) for n in range(12))
    # Python's own Ctrl-C handler, whatever this process inherited: a test run started in the background by
    # a non-interactive shell begins with Ctrl-C ignored, which is not what the parent of an import has.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        results = list(forked_map(_report, work, workers=2, setup=_remember, setup_args=("đơn vị đã nạp",)))

        assert results == [(f"k{n}", (n * n, "đơn vị đã nạp", True)) for n in range(12)]
        # The setup ran in the workers, not here; Ctrl-C still stops this process.
        assert "value" not in _SETUP
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, inherited)


def _slowly(number: int) -> tuple[int, int]:
    time.sleep(0.2)
    return number * number, os.getpid()


def _here(number: int) -> tuple[int, int]:
    return number * number, os.getpid()


@pytest.mark.parametrize("share", [0.0, 0.25, 0.5])
def test_while_the_workers_lag_this_process_works_its_share_of_the_pieces_in_order(share: float) -> None:
    """With `inline`, the pieces a lagging worker has not reached are worked here, at most `share` of them
    (one more at the most, as a share of the pieces taken so far), and the results keep the work's order.
    The worker sleeps: when the first result is asked for, it is never ready."""
    results = list(
        forked_map(_slowly, ((n, (n,)) for n in range(12)), workers=1, inline=_here, inline_share=share)
    )

    assert [(key, square) for key, (square, _pid) in results] == [(n, n * n) for n in range(12)]
    here = sum(pid == os.getpid() for _key, (_square, pid) in results)
    if share:
        assert 1 <= here <= share * 12 + 1
    else:
        assert here == 0


_PARENT = """
import os, sys, time
from pathlib import Path
from dancu.lib.forked import forked_map

folder = Path(sys.argv[1])

def wait(number):
    # Written whole, then named: the test reads no half-written number.
    (folder / f"{number}.tmp").write_text(str(os.getpid()))
    os.replace(folder / f"{number}.tmp", folder / f"{number}.pid")
    time.sleep(120)
    return number

for _ in forked_map(wait, ((n, (n,)) for n in range(2)), workers=2):
    pass
"""


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None


def _started(pid: int) -> str:
    """When the process started (in clock ticks since boot): with its id, what names one process."""
    fields = _stat(pid)
    return fields[19] if fields else ""


def _gone(pid: int, started: str) -> bool:
    """The process has ended: it no longer exists, or only as a zombie its new parent has not reaped, or
    its id now names another process (ids are reused, and this machine has 32,768 of them)."""
    fields = _stat(pid)
    return fields is None or fields[0] in ("Z", "X") or fields[19] != started


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the processes' state from /proc")
def test_workers_leave_when_their_parent_is_killed(tmp_path: Path) -> None:
    """A parent killed outright (SIGKILL, out of memory) says nothing to its workers; each one notices it
    has been handed to another parent and leaves within seconds instead of waiting for ever."""
    # The interpreter running the tests, with the script above: no outside input.
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_PARENT), str(tmp_path)])  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = {pid: _started(pid) for pid in (int(path.read_text()) for path in tmp_path.glob("*.pid"))}
        assert len(workers) == 2, "the workers did not start"
        assert not any(_gone(pid, started) for pid, started in workers.items())
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()

    # A worker looks for its parent every second; a loaded machine may take a few more to run it.
    deadline = time.monotonic() + 30
    while not all(_gone(pid, started) for pid, started in workers.items()) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid, started in workers.items() if not _gone(pid, started)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []


def _pid(number: int) -> int:
    time.sleep(0.05)
    return os.getpid()


def test_a_worker_works_on_through_a_sigterm_that_its_parent_did_not_send() -> None:
    """SIGTERM to a whole process group (`systemctl stop`, `kill -TERM -PGID`) reaches the workers with
    their parent. The parent stops the work and the workers with it; a worker that died of the signal at
    once would have broken the pool under the parent first."""
    results = []
    for _, pid in forked_map(_pid, ((n, (n,)) for n in range(40)), workers=2):
        results.append(pid)
        if len(results) == 2:
            # From another process, as the group's signal comes: not from the pool.
            subprocess.run(["kill", "-TERM", str(pid)], check=True)  # noqa: S603, S607 - a pid of ours
    assert len(results) == 40
    assert results[2] in results[20:] or results[3] in results[20:]  # both workers still at work after it


_BROKEN = """
import os, signal, sys, time
from concurrent.futures.process import BrokenProcessPool
from dancu.lib.forked import forked_map

def work(number):
    time.sleep(0.2)
    return os.getpid()

seen = []
try:
    for _, pid in forked_map(work, ((n, (n,)) for n in range(200)), workers=2):
        seen.append(pid)
        if len(seen) == 4:
            os.kill(pid, signal.SIGKILL)  # one worker dies, as the out-of-memory killer ends it
except BrokenProcessPool:
    print(" ".join(str(pid) for pid in sorted(set(seen))))
"""


def test_a_pool_that_a_worker_died_in_still_ends_its_other_workers() -> None:
    """Workers that ignore SIGTERM still end with their pool when one of them dies: the parent gets the
    pool's error, and no worker is left behind or waited for."""
    # The interpreter running the tests, with the script above: no outside input.
    ended = subprocess.run(  # noqa: S603
        [sys.executable, "-c", textwrap.dedent(_BROKEN)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    workers = [int(pid) for pid in ended.stdout.split()]
    assert len(workers) == 2, ended.stderr
    assert all(_stat(pid) is None or _stat(pid)[0] in ("Z", "X") for pid in workers)  # type: ignore[index]
