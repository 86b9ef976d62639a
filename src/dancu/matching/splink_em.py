"""Splink's expectation-maximisation iterations on DuckDB, run without DuckDB's query optimizer.

A session of expectation maximisation first blocks the records and compares the pairs (a join, which the
optimizer makes fast), then counts the pairs per agreement pattern and iterates up to twenty times over
those counts: each iteration is a few queries over a table of a few thousand rows at most. DuckDB spends
longer optimizing such a query (long CASE expressions of every comparison level, in common table
expressions) than running it. Without the optimizer for their iterations, the three sessions of
RLdata10000 took 0.48 s instead of 0.59, those of the Vietnamese set of 100,000 records without PINs
1.30 s instead of 1.42 (RESULTS.md, session 36). Switched off for the whole session instead, it made the
blocking join slower by as much (session 35), and no single optimizer left out for the whole session
made a difference.

`install` wraps the function that runs the iterations (`splink.internals.expectation_maximisation`, as
the training session calls it) so that on DuckDB the optimizer is off while it runs and on again after,
on the session's own connection (each of `engine._expectation_maximisation`'s sessions has a cursor of its
own, and the setting is the cursor's). The estimates are the same but for the order in which DuckDB adds
up the floating-point sums (tested, to twelve significant digits). Other backends are left as they are.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

_lock = threading.Lock()
# Splink's own function, kept once installed (and for the tests to compare against).
originals: dict[str, Any] = {}


@contextlib.contextmanager
def unoptimized(connection: Any) -> Iterator[None]:
    """DuckDB's optimizer off on `connection` (a connection or a cursor) inside, on again after."""
    connection.execute("PRAGMA disable_optimizer")
    try:
        yield
    finally:
        connection.execute("PRAGMA enable_optimizer")


def install() -> None:
    """Run Splink's expectation-maximisation iterations without DuckDB's optimizer (idempotent)."""
    with _lock:
        if originals:  # installed already
            return
        from splink import DuckDBAPI
        from splink.internals import em_training_session

        original = em_training_session.expectation_maximisation

        @functools.wraps(original)
        def iterations(*args: Any, **options: Any) -> Any:
            db_api = options.get("db_api", args[0] if args else None)
            if not isinstance(db_api, DuckDBAPI):
                return original(*args, **options)
            with unoptimized(db_api.duckdb_con):
                return original(*args, **options)

        em_training_session.expectation_maximisation = iterations
        originals["expectation_maximisation"] = original
