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

from dancu.lib.errors import DomainError


def _someone_waits_for_a_lock() -> bool:
    with connections["default"].cursor() as cursor:
        # The server's statistics views are read from a snapshot taken at their first read in a transaction
        # and kept until it ends: without clearing it, every poll inside the held transaction sees the moment
        # before the second write began, and the loop below ran its whole 20 seconds on every race.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return bool(cursor.fetchone()[0])


def race(first: Callable[[], Any], second: Callable[[], Any]) -> Any:
    """Run `first` in a transaction held open until `second` waits for one of its locks, then commit;
    return what `second` returned or the error it raised."""
    outcome: dict[str, Any] = {}
    if connection.vendor != "postgresql":
        first()
        try:
            outcome["value"] = second()
        except DomainError as exc:
            outcome["value"] = exc
        return outcome["value"]

    def run_second() -> None:
        try:
            outcome["value"] = second()
        except BaseException as exc:
            # Whatever it is, the test's own thread looks at it: a refusal is expected, anything else fails.
            outcome["value"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run_second)
    with transaction.atomic():
        first()
        thread.start()
        # Polling the server's view of its sessions is how the test knows the second reached the lock (no
        # sleep guesses); a second that never waits ends on its own and fails the assertion below.
        for _ in range(2000):
            if _someone_waits_for_a_lock() or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        assert thread.is_alive(), "the second write did not wait for the first one's lock"
    thread.join(timeout=60)
    assert not thread.is_alive()
    return outcome["value"]
