"""Work handed to forked worker processes, results taken back in the order it was given.

An import's normalization and the matcher's preparation both split a long run of independent work
between worker processes and need the same things from them:

- `fork`: the workers start with what the parent has loaded (the administrative units, an address
  parser bound to them), so they never open the database; a forked child must not use the connection
  it inherited, and a test's units may sit in a transaction only the parent's connection sees;
- results in the order the work was given, with at most two pieces per worker in hand, so that no worker
  idles and a million rows are never all copied into the pipes at once;
- Ctrl-C and SIGTERM handled by the parent only (it says where it stopped, and stops its workers in
  order), and no worker left waiting for ever when the parent is killed;
- stopping the iteration stops the workers at once and drops the pieces they had not finished.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

Key = TypeVar("Key")
Result = TypeVar("Result")

# How often a worker looks whether the process that started it is still there.
_PARENT_CHECK_SECONDS = 1.0


def can_fork_workers() -> bool:
    """Whether this process may start worker processes: a daemonic one (a task worker of the queue) may
    not, and only `fork` gives the workers what this process has loaded."""
    return not multiprocessing.current_process().daemon and "fork" in multiprocessing.get_all_start_methods()


def _start(setup: Callable[..., None] | None, setup_args: tuple[Any, ...]) -> None:
    # Ctrl-C on the terminal reaches every process of the group: the parent stops the run and says
    # where it stopped; its workers have nothing to say and leave with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # So does SIGTERM sent to the group (`systemctl stop`, `kill -TERM -PGID`). A worker that died of it at
    # once would break the pool under the parent, which would then end on the pool's error instead of
    # stopping as it was asked to (`lib.termination`). The pool ends its workers itself, and a worker whose
    # parent is gone leaves (below).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_leave_with_parent, args=(os.getppid(),), daemon=True).start()
    if setup is not None:
        setup(*setup_args)


def _leave_with_parent(parent: int) -> None:
    # A worker waits for work on a pipe that it holds both ends of (forked), so it would not notice its
    # parent being killed (SIGKILL, out of memory) and would wait for ever. It leaves once it has been
    # handed to another parent.
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(1)


def forked_map(
    function: Callable[..., Result],
    work: Iterable[tuple[Key, tuple[Any, ...]]],
    *,
    workers: int,
    setup: Callable[..., None] | None = None,
    setup_args: tuple[Any, ...] = (),
    inline: Callable[..., Result] | None = None,
    inline_share: float = 0.0,
) -> Generator[tuple[Key, Result], None, None]:
    """`function(*args)` for each `(key, args)` of `work` in `workers` forked processes; yields each key
    with its result, in the order of `work`. `setup(*setup_args)` runs once in each worker as it starts
    (the arguments are handed over by the fork, not pickled).

    With `inline`, this process works a piece itself, `inline(*args)`, when the oldest piece is not ready
    when it is asked for, rather than wait for the workers, up to `inline_share` of the pieces: a caller
    whose own work on each result leaves it idle part of the time (an import on two cores, where the
    database and the importing process share the core the worker leaves) lends that time to the work. A
    piece takes this process longer than its wait, so the share bounds it, lest the caller's own work
    become the slower. The results still come in the order of `work`."""
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start,
        initargs=(setup, setup_args),
    )
    pieces = iter(work)
    # Each piece in hand: its key, its result to come, and whether a worker has it.
    pending: deque[tuple[Key, Future[Result], bool]] = deque()
    # Two pieces in hand per worker (one being worked on, one waiting), and at most as many done here
    # waiting for their turn.
    ahead = 2 * workers
    in_workers = inlined = given = 0
    try:
        while True:
            while in_workers < ahead and (piece := next(pieces, None)) is not None:
                pending.append((piece[0], executor.submit(function, *piece[1]), True))
                in_workers += 1
            if not pending:
                return
            key, oldest, in_worker = pending[0]
            if (
                inline is not None
                and not oldest.done()
                and len(pending) - in_workers < ahead
                and inlined < inline_share * (given + len(pending))
                and (piece := next(pieces, None)) is not None
            ):
                inlined += 1
                done: Future[Result] = Future()
                done.set_result(inline(*piece[1]))
                pending.append((piece[0], done, False))
                continue
            pending.popleft()
            in_workers -= in_worker
            given += 1
            yield key, oldest.result()
    except BrokenProcessPool:
        _kill_workers(executor)
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _kill_workers(executor: ProcessPoolExecutor) -> None:
    """End the workers left in a pool that one of them died in.

    The pool ends them with SIGTERM, which they ignore (`_start`), and then waits for them. A worker killed
    while it held the lock of the pool's queue of work (waiting for its next piece) leaves the others
    waiting for that lock for ever, and the pool with them: one run in forty under load. SIGKILL cannot
    be ignored. The pool's own list of its processes is the only one that names them (private, so read
    defensively).
    """
    processes = getattr(executor, "_processes", None) or {}
    for process in list(processes.values()):
        if process.is_alive():
            process.kill()
