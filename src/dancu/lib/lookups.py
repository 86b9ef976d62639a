"""`field__one_of=values`: membership in a large set of values, compiled once rather than value by value.

Django's `__in` prepares and adapts every value through the field and writes one placeholder per value:
for the few thousand identifiers of an import batch, compiling the query costs more than running it.
`one_of` sends the values as one array on PostgreSQL (`= ANY(%s)`, which uses the column's index as IN
does) and as plain placeholders elsewhere. The values must already be what the column stores (strings
for a CharField); they are not converted.

On PostgreSQL the array goes as the text of a `text[]`, written here in one join: psycopg adapts a list
element by element, 0.38 ms for the two thousand PINs of an import batch, about a dozen such lists a
batch (bench/RESULTS.md, session 39).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import CharField, Lookup
from django.db.models.sql.compiler import SQLCompiler


def text_array(values: Sequence[str]) -> str:
    """PostgreSQL's input text of a `text[]` holding `values`: each quoted, with its backslashes and double
    quotes escaped (the only two characters that need it inside quotes)."""
    joined = '","'.join(values)
    if "\\" in joined or '"' in joined:
        joined = '","'.join(value.replace("\\", "\\\\").replace('"', '\\"') for value in values)
    return '{"' + joined + '"}'


@CharField.register_lookup
class OneOf(Lookup[Any]):
    lookup_name = "one_of"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        if not isinstance(self.rhs, Iterable) or isinstance(self.rhs, str):
            raise TypeError("one_of takes a collection of values")
        return list(self.rhs)

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = self.rhs
        if not values:
            return "1 = 0", list(lhs_params)
        if connection.vendor == "postgresql":
            if all(type(value) is str for value in values):
                return f"{lhs} = ANY(%s::text[])", [*lhs_params, text_array(values)]
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]
