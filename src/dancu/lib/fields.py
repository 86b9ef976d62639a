"""Model fields that are not about the domain."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from django.db import models


class JSONDocumentField(models.JSONField):
    """A JSON value written once and read whole, never searched inside: `json` on PostgreSQL, not `jsonb`.

    PostgreSQL parses a `jsonb` value into its binary form on every write so that it can be searched and
    indexed inside; a `json` value is only checked and kept as written. For a document nobody queries
    into, such as a record version's snapshot, the parse is pure cost, and it is most of the cost of
    writing one: the first load of a million people's registry spent 21 of its 64 seconds copying the
    1.3 million first versions, and the same copy into `json` took a third less (bench/RESULTS.md,
    session 24). Reading is the same either way: the whole text comes back and is decoded here.

    What `json` gives up, on purpose: the lookups inside the value (`snapshot__pin=...`), and equality,
    hence DISTINCT, GROUP BY and UNION over the column. On other databases the field is Django's
    JSONField unchanged.
    """

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        adapted = super().get_db_prep_value(value, connection, prepared)
        if connection.vendor == "postgresql":
            from psycopg.types.json import Json, Jsonb

            # Django sends JSON to PostgreSQL as `jsonb`, which the server would parse only to turn it
            # back into text for the column; and with Vietnamese letters escaped ("\u1ec5"), which
            # `json` would keep as they come, three to six bytes longer each.
            if isinstance(adapted, Jsonb):
                return Json(adapted.obj, dumps=partial(json.dumps, cls=self.encoder, ensure_ascii=False))
        return adapted

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if connection.vendor == "postgresql":
            # psycopg decodes a `json` column itself (Django has it hand over only `jsonb` as text).
            return value
        return super().from_db_value(value, expression, connection)
