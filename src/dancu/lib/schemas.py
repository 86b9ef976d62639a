"""The base of every API request body: a field the operation does not know is refused, never dropped.

ninja's `Schema` (a pydantic model) ignores fields it does not declare, so a misspelt optional field
("birth_plcae", "source_documnet") was not stored and the client was never told. A body, and every object
inside one, is a `BodySchema`: pydantic refuses the unknown field (`extra_forbidden`), the API answers it
as `schema.unknown_field` on that field (config/api.py), and the OpenAPI document says
`"additionalProperties": false` for it, so that a generated client knows it too.

Only bodies. The answers stay open (a client ignores a field it does not know, and an answer may grow
one), and so does the query string: ninja reads only the parameters it declares, and browsers, proxies
and links add their own (`utm_source`, a cache-busting `_`).
"""

from __future__ import annotations

from ninja import Schema
from pydantic import ConfigDict


class BodySchema(Schema):
    """A request body, or an object inside one: its fields, and no other."""

    # pydantic merges this with ninja's own config (from_attributes), which a body does not use anyway.
    model_config = ConfigDict(extra="forbid")
