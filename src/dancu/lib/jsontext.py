"""JSON text for the cells that bulk writers format themselves (COPY text, see `pgcopy`).

An import writes four JSON cells a row (the row as read, as normalized, its issues and its repairs) in
the importing process, the one part of an import that more workers do not spread. orjson encodes them
several times faster than the standard library's encoder: measured on 102,079 rows, the importing
process's CPU fell from 66-67 to 63-64 µs a row (bench/RESULTS.md, session 31).
"""

from __future__ import annotations

from typing import Any

import orjson


def json_text(value: Any) -> str:
    """`value` as compact JSON, the Vietnamese unescaped: the text `json.dumps(value, ensure_ascii=False,
    separators=(",", ":"))` gives for the values the writers store (str-keyed dicts, lists, tuples, str,
    int, bool, None; a float may be spelt otherwise, "1e-7" for "1e-07"). The tests hold the
    two to that on random values."""
    return orjson.dumps(value).decode()
