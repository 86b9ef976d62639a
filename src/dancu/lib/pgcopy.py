"""Rows written with PostgreSQL's COPY, formatted here rather than cell by cell through psycopg; and read
back from that text where there is no COPY (SQLite).

psycopg's `Copy.write_row` adapts every cell through its type adapters, which cost more than the rest of
a bulk writer's Python (the population loader, an import's staging rows). The text format is simple: a
tab between columns, `\\N` for NULL, and four characters escaped in values. The text is sent in chunks,
so that the server ingests one (its CPU) while this process formats the next (this one's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)

# Rows per piece of COPY text sent at once (a few hundred kilobytes).
CHUNK_ROWS = 2_000
_SPECIAL = ("\\", "\t", "\n", "\r")
# A NULL cell.
COPY_NULL = "\\N"


def copy_value(value: Any) -> str:
    if value is None:
        return COPY_NULL
    # Numbers, booleans ("True" is valid boolean input) and datetimes: their str() is what PostgreSQL reads.
    text = value if type(value) is str else str(value)
    # Four substring tests run at C speed; the escaping itself is rare.
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        for char in _SPECIAL:
            text = text.replace(char, char.encode("unicode_escape").decode())
    return text


def copy_text(rows: Iterable[Sequence[Any]]) -> str:
    """Rows in COPY's text format. Values are str, int, bool, None or aware datetimes."""
    return "".join("\t".join(map(copy_value, row)) + "\n" for row in rows)


def copy_rows(cursor: Any, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
    """COPY `rows` into `table` (quoted) for `columns` (quoted, comma-separated) on a psycopg cursor."""
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for start in range(0, len(rows), CHUNK_ROWS):
            copy.write(copy_text(rows[start : start + CHUNK_ROWS]))


def copy_in(cursor: Any, table: str, columns: str, text: str) -> None:
    """COPY rows already in COPY's text format into `table` (quoted) for `columns` (quoted,
    comma-separated) on a psycopg cursor: for a writer that knows its cells and formats them faster than
    `copy_text` can."""
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(text)


_ESCAPED = re.compile(r"\\([\\tnr])")
_UNESCAPE = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def _read_value(text: str) -> str | None:
    if text == "\\N":
        return None
    if "\\" in text:
        return _ESCAPED.sub(lambda match: _UNESCAPE[match.group(1)], text)
    return text


def read_copy_rows(chunks: Iterable[bytes]) -> Iterator[list[str | None]]:
    """Rows of COPY text as `copy_text` writes it (UTF-8), from pieces of it cut anywhere; the values
    are text or None, as the text format keeps no types."""
    rest = b""
    for chunk in chunks:
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield [_read_value(text) for text in line.decode("utf-8").split("\t")]
    if rest:
        yield [_read_value(text) for text in rest.decode("utf-8").split("\t")]


# Fields whose Python value is what PostgreSQL reads in COPY text once str() is applied (copy_value): for
# them, the ORM's per-cell preparation (get_db_prep_save and its adapters) is skipped.
_PLAIN_FIELDS = (
    models.AutoField,
    models.BigAutoField,
    models.BigIntegerField,
    models.BooleanField,
    models.CharField,
    models.DateField,
    models.DateTimeField,
    models.ForeignKey,
    models.IntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SmallIntegerField,
    models.TextField,
)


def _cell(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    """How one field's value becomes a COPY cell: as it is for the plain fields, JSON text for a JSON
    field, and through the field's own preparation for any other (a PartialDate, say)."""
    if isinstance(field, models.JSONField):
        encoder = field.encoder

        def json_text(value: Any) -> str | None:
            # The ORM writes a Python None as JSON null in a JSONField, not as SQL NULL.
            return json.dumps(value, cls=encoder, ensure_ascii=False)

        return json_text
    if type(field) in _PLAIN_FIELDS:
        return lambda value: value
    return lambda value: field.get_db_prep_save(value, connection)


def insert_instances(objs: Sequence[M]) -> list[M]:
    """`bulk_create(objs)` for new rows of one model, each given its id: by COPY on PostgreSQL, the ids
    drawn from the table's sequence first, where bulk_create would compile every cell of a many-row
    INSERT through the ORM (a third of an import's promotion); bulk_create itself elsewhere (SQLite).

    For rows that need nothing of bulk_create but their values: no multi-table inheritance, no conflict
    handling. Fields with `auto_now`/`auto_now_add` are set as bulk_create sets them (their pre_save)."""
    if not objs:
        return []
    model = type(objs[0])
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_create(objs)
    meta = model._meta
    # Every model of ours has an id column.
    assert meta.pk is not None
    assert meta.pk.column is not None
    pk_column = meta.pk.column
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    cells = [_cell(field) for field in fields]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        # The ids first, in one statement: COPY returns none, and the rows written after these (their
        # versions, their events) refer to them.
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk_column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        rows = []
        for obj, pk in zip(objs, ids, strict=True):
            obj.pk = pk
            rows.append(
                [pk] + [cell(field.pre_save(obj, True)) for field, cell in zip(fields, cells, strict=True)]
            )
            obj._state.adding = False
            obj._state.db = connection.alias
        # Concrete fields all have a column.
        columns = ", ".join(quote(str(column)) for column in [pk_column, *(field.column for field in fields)])
        copy_rows(cursor.cursor, quote(meta.db_table), columns, rows)
    return list(objs)
