"""Two writes at the same moment, on two connections: how the concurrency tests make a race happen.

On PostgreSQL the first write runs in a transaction held open until the second, in a thread on its own
connection, is seen waiting for a lock the first holds; then the first commits and the test looks at how
the second ended. SQLite lets one writer in at a time, so there the race cannot happen and the two are
played one after the other, which must end the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection, connections, transaction


def _lock_waiters() -> int:
    """How many other sessions of the test database wait for a lock."""
    with connections["default"].cursor() as cursor:
        # The server's statistics views are read from a snapshot taken at their first read in a transaction
        # and kept until it ends: without clearing it, every poll inside the held transaction sees the moment
        # before the second write began, and the loop below ran its whole 20 seconds on every race.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def _in_turn(write: Callable[[], Any]) -> Any:
    """Run `write` here, on SQLite, where the writes are played one after the other: what it returned, or
    the error it raised, as the thread of the PostgreSQL race hands it back (a refusal of an import's file
    is a FileRejectedError, not a DomainError)."""
    try:
        return write()
    except Exception as exc:
        return exc


def _started(write: Callable[[], Any], outcomes: dict[int, Any], key: int) -> threading.Thread:
    """Start `write` in a thread of its own, on its own connection; what it returned or whatever it raised
    lands in `outcomes[key]`, and its connections are closed when it ends."""

    def run() -> None:
        try:
            outcomes[key] = write()
        except BaseException as exc:
            # Whatever it is, the test's own thread looks at it: a refusal is expected, anything else fails.
            outcomes[key] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def race(first: Callable[[], Any], second: Callable[[], Any]) -> Any:
    """Run `first` in a transaction held open until `second` waits for one of its locks, then commit;
    return what `second` returned or the error it raised."""
    if connection.vendor != "postgresql":
        first()
        return _in_turn(second)

    outcome: dict[int, Any] = {}
    with transaction.atomic():
        first()
        thread = _started(second, outcome, 0)
        # Polling the server's view of its sessions is how the test knows the second reached the lock (no
        # sleep guesses); a second that never waits ends on its own and fails the assertion below.
        for _ in range(2000):
            if _lock_waiters() or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        assert thread.is_alive(), "the second write did not wait for the first one's lock"
    thread.join(timeout=60)
    assert not thread.is_alive()
    return outcome[0]


def released_together(hold: Callable[[], Any], *writes: Callable[[], Any]) -> list[Any]:
    """Start the `writes` at one moment: `hold` takes, in a transaction held open, locks each of them needs
    first; once every write is seen waiting, the transaction commits and releases them all at once.
    Return what each write returned or the error it raised, in order.

    This is how two writes that take the same rows in opposite orders are made to meet in the middle,
    which a deadlock needs. SQLite lets one writer in at a time: there the writes run one after the other."""
    if connection.vendor != "postgresql":
        return [_in_turn(write) for write in writes]

    results: dict[int, Any] = {}
    with transaction.atomic():
        hold()
        threads = [_started(write, results, i) for i, write in enumerate(writes)]
        for _ in range(2000):
            if _lock_waiters() >= len(threads) or not all(t.is_alive() for t in threads):
                break
            threading.Event().wait(0.01)
        assert all(t.is_alive() for t in threads), "a write did not wait for the held locks"
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    return [results[i] for i in range(len(writes))]
