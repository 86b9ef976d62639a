"""Ids in URLs and in request parameters: ASCII digits that fit the database's 64-bit integers.

Django's `<int:…>` takes any run of digits, and a filter on a foreign key with a number past 2**63 is not
answered as "no such row" but raises inside the database driver (OverflowError on SQLite). A path with
such a number is no page of ours: it is answered 404 by the URL itself, before any view runs.
"""

from __future__ import annotations

import re

# At most 18 digits: every such number is below 2**63 - 1, the largest id a bigint holds.
_ID = re.compile(r"[0-9]{1,18}")


class IdConverter:
    regex = _ID.pattern

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def id_param(text: object) -> int | None:
    """An id written in a request (a query parameter, a button's value), or None when it is none.

    `str.isdigit()` would accept "²" and "①", which `int()` then refuses.
    """
    return int(text) if isinstance(text, str) and _ID.fullmatch(text) else None


# Pages past this one are not offered: nobody reads on to them, and the database would skip all the rows
# before them.
LAST_PAGE = 10_000


def page_param(text: object) -> int:
    """A page number written in a request, from 1 to LAST_PAGE; anything else is the first page."""
    number = id_param(text)
    return max(1, min(number, LAST_PAGE)) if number is not None else 1
