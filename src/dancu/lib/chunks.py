"""Work a chunk at a time: any items in lists of a given size, and a query's rows for exports that write
to the access log between chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

from django.db import connections
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)
T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size`, the last one shorter; Python 3.12's `itertools.batched` for 3.11."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def in_chunks(rows: QuerySet[M], size: int) -> Iterator[list[M]]:
    """The rows of `rows`, in its order, `size` at a time; each chunk read to its end before it is given.

    An export logs each chunk (a write) before it hands the chunk on. On PostgreSQL a server-side cursor
    reads on between the writes. On SQLite a connection reads from one snapshot: a write while a statement
    is still reading must upgrade that snapshot, and fails at once ("database is locked") when another
    connection has written since the reading began. There the ids are read first, in one statement read
    to its end, and then each chunk by its ids.
    """
    if connections[rows.db].vendor != "sqlite":
        yield from batched(rows.iterator(chunk_size=size), size)
        return
    for wanted in batched(list(rows.values_list("pk", flat=True)), size):
        found = {row.pk: row for row in rows.filter(pk__in=wanted)}
        # A row removed since its id was read is left out, as the cursor would not have seen it either.
        yield [found[pk] for pk in wanted if pk in found]
