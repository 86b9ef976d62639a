"""Reads of the geo app.

Administrative units are public reference data, so unlike the registry's selectors these take no actor
and write no access-log entry; other apps scope their own reads by unit through `subtree` and
`province_code`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Count, IntegerField, Max, Q, QuerySet, Value, When

from dancu.audit.models import AuditEvent, EventType
from dancu.geo.models import UNIT_KINDS, AdminUnit, UnitSuccession
from dancu.lib.vntext import fold

Structure = AdminUnit.Structure
Level = AdminUnit.Level


def unit_get(*, structure: str, level: str, code: str) -> AdminUnit:
    """The unit with this GSO code; raises `AdminUnit.DoesNotExist`.

    Parents are fetched along, so `str(unit)` and `unit.full_name()` need no further query.
    """
    return AdminUnit.objects.select_related("parent__parent").get(structure=structure, level=level, code=code)


def province_get(code: str, *, structure: str = Structure.CURRENT) -> AdminUnit:
    """The province with this two-digit code, by default in the 2025 structure."""
    return unit_get(structure=structure, level=Level.PROVINCE, code=code)


def communes_of(province: AdminUnit) -> QuerySet[AdminUnit]:
    """The communes of a province in its own structure; for a legacy province, those of all its districts.

    The denormalized `province_code` makes this one indexed filter whatever the depth of the tree.
    """
    if province.level != Level.PROVINCE:
        raise ValueError(f"{province} is not a province")
    return AdminUnit.objects.filter(
        structure=province.structure, level=Level.COMMUNE, province_code=province.code
    ).order_by("path")


def successor_of(legacy_unit: AdminUnit) -> AdminUnit:
    """The default 2025 unit for a legacy one: where an old address converts to automatically.

    Raises `AdminUnit.DoesNotExist` for a legacy unit without one (a district with communes of its own
    is not mapped as a whole: its communes went separate ways) and `ValueError` for a 2025 unit.
    """
    if not legacy_unit.is_legacy:
        raise ValueError(f"{legacy_unit} is already a 2025 unit")
    return AdminUnit.objects.select_related("parent").get(
        predecessions__legacy=legacy_unit, predecessions__is_default=True
    )


def successors_of(legacy_unit: AdminUnit) -> list[tuple[AdminUnit, bool]]:
    """Every 2025 unit that took over part of a legacy unit, with whether it is the default; the default
    comes first, then the alternatives an officer may choose for an address in the part that went there."""
    successions = (
        UnitSuccession.objects.filter(legacy=legacy_unit)
        .select_related("successor__parent")
        .order_by("-is_default", "successor__path")
    )
    return [(succession.successor, succession.is_default) for succession in successions]


def predecessors_of(unit: AdminUnit, *, default_only: bool = False) -> QuerySet[AdminUnit]:
    """The legacy units that (partly) became this 2025 unit: communes for a commune (and the island
    district for a special zone), provinces for a province.

    With `default_only`, only those whose default successor is this unit, which is the set of old
    addresses that convert here without an officer's choice.
    """
    successions = UnitSuccession.objects.filter(successor=unit)
    if default_only:
        successions = successions.filter(is_default=True)
    return (
        AdminUnit.objects.filter(pk__in=successions.values("legacy_id"))
        .select_related("parent__parent")
        .order_by("path")
    )


def default_predecessors_by_unit() -> dict[int, list[AdminUnit]]:
    """`predecessors_of(unit, default_only=True)` for every unit at once, by the unit's id, in one query: for
    a caller that asks about thousands of units (the dirty-data generator), where a query pair per unit
    took longer than the rest of its work. A unit no legacy unit converts to by default is not a key."""
    successions = (
        UnitSuccession.objects.filter(is_default=True)
        .select_related("legacy__parent__parent")
        .order_by("legacy__path")
    )
    by_unit: dict[int, list[AdminUnit]] = {}
    for succession in successions:
        by_unit.setdefault(succession.successor_id, []).append(succession.legacy)
    return by_unit


def units_version() -> tuple[Any, ...]:
    """What changes whenever the units or their successions are reloaded: row counts and highest keys,
    and the last load recorded on the audit trail (a load that only renamed units changes nothing else).

    Three aggregate queries: the processes that keep the units in memory (the address parser's index,
    `registry.rules.UnitIndex.current`) ask it to learn whether theirs are still the database's."""
    units = AdminUnit.objects.aggregate(n=Count("pk"), top=Max("pk"))
    successions = UnitSuccession.objects.aggregate(n=Count("pk"), top=Max("pk"))
    loads = AuditEvent.objects.filter(event_type=EventType.UNITS_LOADED).aggregate(top=Max("pk"))
    return (units["n"], units["top"], successions["n"], successions["top"], loads["top"])


def within(field: str, area: AdminUnit) -> Q:
    """A filter on the rows whose unit `field` (a foreign key to AdminUnit, or a path to one through
    relations: "police_unit__admin_unit") is `area` or lies under it: a jurisdiction, which is always a
    unit's subtree. The slash after the path is there for the reason `subtree` gives."""
    return Q(**{field: area.pk}) | Q(**{f"{field}__path__startswith": f"{area.path}/"})


def subtree(unit: AdminUnit) -> QuerySet[AdminUnit]:
    """The unit and every unit under it, in path order.

    The slash after the path keeps "legacy/01/001" from matching a sibling that merely shares the prefix;
    GSO codes have a fixed width today, but the query should not depend on it.
    """
    return AdminUnit.objects.filter(Q(pk=unit.pk) | Q(path__startswith=f"{unit.path}/")).order_by("path")


def unit_search(
    query: str, *, structure: str | None = None, level: str | None = None, limit: int = 20
) -> list[AdminUnit]:
    """Units whose name contains `query`, ignoring tone marks and case ("hong ha" finds "Hồng Hà").

    Best matches first: the exact name, with or without its kind ("Hồng Hà", "Phường Hồng Hà"); then
    names starting with the query; then names with a word starting with it; then any other containing
    it. Within a rank provinces come before districts before communes, and 2025 units before legacy
    ones, because that is what someone typing a place name usually means.
    """
    key = fold(query)
    if not key:
        return []
    exact = [key, *(f"{fold(kind)} {key}" for kind in UNIT_KINDS)]
    units = AdminUnit.objects.filter(search_key__contains=key)
    if structure is not None:
        units = units.filter(structure=structure)
    if level is not None:
        units = units.filter(level=level)
    ranked = units.annotate(
        match_rank=Case(
            When(search_key__in=exact, then=Value(0)),
            When(search_key__startswith=key, then=Value(1)),
            When(search_key__contains=f" {key}", then=Value(2)),
            default=Value(3),
            output_field=IntegerField(),
        ),
        level_rank=Case(
            When(level=Level.PROVINCE, then=Value(0)),
            When(level=Level.DISTRICT, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
        structure_rank=Case(
            When(structure=Structure.CURRENT, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
    )
    return list(
        ranked.select_related("parent__parent").order_by(
            "match_rank", "level_rank", "structure_rank", "path"
        )[:limit]
    )
