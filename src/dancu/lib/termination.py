"""SIGTERM stops a long command the way Ctrl-C does: it says where it stopped, and running it again resumes.

`systemctl stop`, `docker stop`, a scheduler's time limit and `kill` all send SIGTERM, and by default a
Python process dies of it on the spot: no word of how far it got, a run's page left saying "in
progress". Within `sigterm_stops()` SIGTERM is only noted, and the command stops at its next safe point,
where it reports progress (after a batch's commit, between two pieces of a copy), by raising
`Terminated` there. It is a `KeyboardInterrupt`, so that the `except KeyboardInterrupt` that tells the
operator what was kept serves both.

Noted rather than raised where it lands: an exception raised at any bytecode may land inside the
database layer's own bookkeeping (between a commit and the connection's return to autocommit), and the
command's last words (marking its run stopped) would then be written into a transaction that never
commits. Ctrl-C keeps Python's own behaviour: the operator at the terminal sees at once what it did.

The process exits with 143 (128 + SIGTERM), as a shell reports a process that SIGTERM ended, against
Ctrl-C's 130.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# 128 + the signal's number: what a shell reports for a process the signal ended.
EXIT_CTRL_C = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: stop as Ctrl-C stops."""


class StopRequest:
    """Whether SIGTERM has arrived; `check()` at each safe point stops the command there."""

    def __init__(self) -> None:
        self.requested = False

    def note(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def check(self) -> None:
        if self.requested:
            raise Terminated


@contextmanager
def sigterm_stops() -> Iterator[StopRequest]:
    """Within the block SIGTERM is noted in the request yielded; outside it, it ends the process as
    before. Off the main thread (a command called from a thread) Python cannot install a handler: the
    request is then never made, and SIGTERM acts as before."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGTERM, stop.note)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def exit_status(stop: KeyboardInterrupt) -> int:
    """The status a command stopped by `stop` exits with: 143 for SIGTERM, 130 for Ctrl-C."""
    return EXIT_TERMINATED if isinstance(stop, Terminated) else EXIT_CTRL_C
