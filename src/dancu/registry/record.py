"""A citizen's whole record (the citizen, its units, household, family, residences, cards, PINs, absences)
in one round trip on PostgreSQL.

The record page and the API show the citizen with six related sets and the administrative units they
name. Read through the ORM that is seven queries, and compiling them costs more than running them: the
SQL of a PIN lookup executes in about 0.1 ms while the ORM spent about 3 ms of Python per record, and
each round trip to the server waits for a CPU that other processes share. Here one statement, whose
text is built once from the models, returns every row as JSON; the rows become model instances with
the same caches `select_related` and `prefetch_related` would have filled, so templates, schemas and
services read the record exactly as before without a further query.

Only the jurisdiction filter (`accounts.selectors.citizen_scope`) still goes through the ORM, compiled
once per distinct filter and kept: the rule stays in the one place that defines it.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connection, models
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from dancu.geo.models import AdminUnit
from dancu.registry.models import (
    AbsenceDeclaration,
    Citizen,
    FamilyLink,
    Household,
    HouseholdMember,
    IdentityCardRecord,
    PinRecord,
    Residence,
)

# Each related set: the cache name prefetch_related uses, its model, and the order the ORM reads in
# (the selector's Prefetch orderings; cards and PINs in the order they were written).
_SETS: tuple[tuple[str, type[models.Model], str], ...] = (
    ("residences", Residence, "ended_on NULLS FIRST, kind, registered_on DESC"),
    ("household_memberships", HouseholdMember, "left_on NULLS FIRST, joined_on DESC"),
    ("family_links", FamilyLink, "kind, id"),
    ("card_records", IdentityCardRecord, "id"),
    ("pin_records", PinRecord, "id"),
    ("absences", AbsenceDeclaration, "starts_on DESC, id DESC"),
)
_SCOPE_CACHE_SIZE = 4096

_M = TypeVar("_M", bound=models.Model)


def _table(model: type[models.Model]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


@functools.cache
def _record_sql(column: str) -> str:
    """The statement for a lookup by `column` ("id" or "pin"); `{scope}` is filled per actor."""
    related = ",\n".join(
        f"(SELECT coalesce(json_agg(t ORDER BY {order}), '[]') FROM {_table(model)} t "  # noqa: S608 - from the models
        "WHERE t.citizen_id = (SELECT id FROM c))"
        for _, model, order in _SETS
    )
    return f"""
WITH RECURSIVE
c AS (SELECT * FROM {_table(Citizen)} c WHERE c.{column} = %s {{scope}}),
memberships AS (SELECT household_id FROM {_table(HouseholdMember)} WHERE citizen_id = (SELECT id FROM c)),
residences AS (SELECT commune_id, legacy_commune_id FROM {_table(Residence)}
               WHERE citizen_id = (SELECT id FROM c)),
units AS (
    SELECT u.* FROM {_table(AdminUnit)} u WHERE u.id IN (
        SELECT area_commune_id FROM c
        UNION ALL SELECT commune_id FROM residences
        UNION ALL SELECT legacy_commune_id FROM residences
    )
    UNION SELECT p.* FROM {_table(AdminUnit)} p JOIN units ON p.id = units.parent_id
)
SELECT
(SELECT row_to_json(c) FROM c),
{related},
(SELECT coalesce(json_agg(h), '[]') FROM {_table(Household)} h
 WHERE h.id IN (SELECT household_id FROM memberships)),
(SELECT coalesce(json_agg(u), '[]') FROM units u)
"""  # noqa: S608 - table names from the models, the only values are parameters


@functools.lru_cache(maxsize=_SCOPE_CACHE_SIZE)
def _scope_sql(scope: Q) -> tuple[str, tuple[Any, ...]] | None:
    """The jurisdiction filter as SQL on the citizen's id, compiled once per filter; None if it admits
    nothing. An empty filter (the ministry's) adds nothing."""
    if not scope:
        return "", ()
    try:
        sql, params = Citizen.objects.filter(scope).values("id").query.sql_with_params()
    except EmptyResultSet:
        return None
    return f"AND c.id IN ({sql})", tuple(params)


def _converter(field: models.Field[Any, Any]) -> Any:
    """How a JSON value of `field` becomes what the ORM would hold (JSON has no dates)."""
    if isinstance(field, models.DateTimeField):
        return parse_datetime
    if isinstance(field, models.DateField):
        return date.fromisoformat
    if hasattr(field, "from_db_value"):
        return lambda value: field.from_db_value(value, None, connection)
    return None


@functools.cache
def _columns(model: type[models.Model]) -> tuple[list[str], list[tuple[str, Any]]]:
    fields = model._meta.concrete_fields
    return [f.attname for f in fields], [(str(f.column), _converter(f)) for f in fields]


def _instance(model: type[_M], row: dict[str, Any]) -> _M:
    attnames, columns = _columns(model)
    values = []
    for column, convert in columns:
        value = row[column]
        values.append(value if value is None or convert is None else convert(value))
    return model.from_db(connection.alias, attnames, values)


def _cache_related(obj: models.Model, field_name: str, target: models.Model | None) -> None:
    """What select_related leaves behind: the related object already on `obj`."""
    if target is not None:
        obj._meta.get_field(field_name).set_cached_value(obj, target)  # type: ignore[union-attr]


def citizen_record(*, scope: Q, pk: int | None = None, pin: str | None = None) -> Citizen | None:
    """The citizen with that id or PIN within `scope`, its record fully loaded; None if there is none."""
    scope_sql = _scope_sql(scope)
    if scope_sql is None:
        return None
    condition, scope_params = scope_sql
    column, value = ("id", pk) if pk is not None else ("pin", pin)
    with connection.cursor() as cursor:
        cursor.execute(_record_sql(column).format(scope=condition), [value, *scope_params])
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    citizen_row, *set_rows, household_rows, unit_rows = row

    # Keyed so that a missing (NULL) unit id finds nothing.
    units: dict[int | None, AdminUnit] = {u.pk: u for u in (_instance(AdminUnit, r) for r in unit_rows)}
    for unit in units.values():
        _cache_related(unit, "parent", units.get(unit.parent_id))
    citizen = _instance(Citizen, citizen_row)
    _cache_related(citizen, "area_commune", units.get(citizen.area_commune_id))
    households = {h.pk: h for h in (_instance(Household, r) for r in household_rows)}

    citizen._prefetched_objects_cache = {}  # type: ignore[attr-defined]
    for (name, model, _), rows in zip(_SETS, set_rows, strict=True):
        objects = [_instance(model, r) for r in rows]
        for obj in objects:
            _cache_related(obj, "citizen", citizen)
            if isinstance(obj, Residence):
                _cache_related(obj, "commune", units.get(obj.commune_id))
                _cache_related(obj, "legacy_commune", units.get(obj.legacy_commune_id))
            elif isinstance(obj, HouseholdMember):
                _cache_related(obj, "household", households.get(obj.household_id))
        related = getattr(citizen, name).all()
        related._result_cache = objects
        related._prefetch_done = True
        citizen._prefetched_objects_cache[name] = related  # type: ignore[attr-defined]
    return citizen
