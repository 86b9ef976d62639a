"""Look-ups run without PostgreSQL's JIT compilation.

PostgreSQL compiles a query to machine code when the planner's estimate of its cost passes `jit_above_cost`
(100,000 by default), and inlines and optimizes that code past `jit_optimize_above_cost` (500,000). That
pays for a query that reads for seconds. For a look-up of a few thousand values by an index it is most
of the work: the estimate of such a look-up grows with the table it probes, while the look-up itself
stays a few milliseconds. An import asks, at every batch, which of the batch's numbers its run staged
earlier (`collection.services.RowChecker`); past about 750,000 staged rows the estimate of that look-up
passed 500,000, and each batch spent 80 ms compiling a query that then ran in 10 (bench/RESULTS.md,
session 32).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def jit_off() -> Iterator[None]:
    """On PostgreSQL, a transaction whose queries are not compiled (`SET LOCAL jit = off`, which ends with
    the transaction, so the connection goes back as it was). SQLite compiles nothing, and its transactions
    take the write lock as they begin (`transaction_mode` IMMEDIATE in the settings): there the queries
    run as they would without the block."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield
