"""A query's rows a chunk at a time, for exports that write to the access log between chunks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from django.db import connections
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def in_chunks(rows: QuerySet[M], size: int) -> Iterator[list[M]]:
    """The rows of `rows`, in its order, `size` at a time; each chunk read to its end before it is given.

    An export logs each chunk (a write) before it hands the chunk on. On PostgreSQL a server-side cursor
    reads on between the writes. On SQLite a connection reads from one snapshot: a write while a statement
    is still reading must upgrade that snapshot, and fails at once ("database is locked") when another
    connection has written since the reading began. There the ids are read first, in one statement read
    to its end, and then each chunk by its ids.
    """
    if connections[rows.db].vendor != "sqlite":
        chunk: list[M] = []
        for row in rows.iterator(chunk_size=size):
            chunk.append(row)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
        return
    ids = list(rows.values_list("pk", flat=True))
    for start in range(0, len(ids), size):
        wanted = ids[start : start + size]
        found = {row.pk: row for row in rows.filter(pk__in=wanted)}
        # A row removed since its id was read is left out, as the cursor would not have seen it either.
        yield [found[pk] for pk in wanted if pk in found]
