"""Rows written with PostgreSQL's COPY, formatted here rather than cell by cell through psycopg; and read
back from that text where there is no COPY (SQLite).

psycopg's `Copy.write_row` adapts every cell through its type adapters, which cost more than the rest of
a bulk writer's Python (the population loader, an import's staging rows). The text format is simple: a
tab between columns, `\\N` for NULL, and four characters escaped in values. The text is sent in chunks,
so that the server ingests one (its CPU) while this process formats the next (this one's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

# Rows per piece of COPY text sent at once (a few hundred kilobytes).
CHUNK_ROWS = 2_000
_SPECIAL = ("\\", "\t", "\n", "\r")


def copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
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
