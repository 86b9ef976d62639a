"""Writes of the geo app: loading the administrative units and their succession from reference data.

The source is the data shipped with the MIT-licensed `vietnamadminunits` package (version pinned in
pyproject.toml): `dataset.db` holds the GSO unit lists of both structures, `converter_2025.json` the
official conversion of every legacy commune to the 2025 commune(s) that took it over. The files are read
directly with sqlite3 and json; the package's own functions are never called, because its geocoding
helpers reach for the network and an import of the package loads parsers the registry does not need.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Count

from dancu.audit.models import EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.geo.models import UNIT_KINDS, AdminUnit, UnitSuccession
from dancu.lib.chunks import batched
from dancu.lib.vntext import fold, nfc

Structure = AdminUnit.Structure
Level = AdminUnit.Level

# (structure, level, code): the natural key of a unit, stable across loads, unlike the primary key.
UnitKey = tuple[str, str, str]

# The fields the loader owns on an existing unit; structure, level and code form the key itself.
_UNIT_FIELDS = ("name", "short_name", "kind", "parent", "province_code", "search_key", "path")

# Batches small enough for SQLite's limit on bound parameters, large enough to load in a few seconds.
_BATCH_SIZE = 500


class UnitDataError(ValueError):
    """The reference data contradicts itself; nothing was written."""


@dataclass(frozen=True)
class _SourceUnit:
    structure: str
    level: str
    code: str
    name: str
    short_name: str
    kind: str
    parent: UnitKey | None
    province_code: str
    path: str

    @property
    def key(self) -> UnitKey:
        return (self.structure, self.level, self.code)


@dataclass
class _KeyIndex:
    """The package's text keys ("thanhphohanoi", "quanbadinh", "phuongphucxa") resolved to units.

    The keys are the names with tone marks and spaces removed, except where two units of one province
    would get the same key: then the package keeps the tone marks ("xãcẩmgiang" and "xãcẩmgiàng" are two
    communes of Hải Phòng). Keys are therefore matched exactly, never folded, or those pairs would merge.
    """

    current_provinces: dict[str, UnitKey] = field(default_factory=dict)
    current_communes: dict[tuple[str, str], UnitKey] = field(default_factory=dict)
    legacy_provinces: dict[str, UnitKey] = field(default_factory=dict)
    legacy_districts: dict[tuple[str, str], UnitKey] = field(default_factory=dict)
    legacy_communes: dict[tuple[str, str, str], UnitKey] = field(default_factory=dict)


@dataclass
class UnitsLoadReport:
    """What a load found and what it changed, for the command's output and for tests."""

    unit_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    succession_counts: dict[str, int] = field(default_factory=dict)
    default_successions: int = 0
    units_created: int = 0
    units_updated: int = 0
    units_unchanged: int = 0
    # Units in the database that the data no longer lists. They are kept, not deleted: addresses and
    # police units may point at them, and a unit that once existed stays a valid historic reference.
    units_stale: int = 0
    successions_created: int = 0
    successions_updated: int = 0
    successions_deleted: int = 0
    # Converter entries naming a key that no unit of the dataset carries.
    unresolved_keys: list[str] = field(default_factory=list)
    # Legacy communes left without a default successor, as "code name: reason".
    unmapped_communes: list[str] = field(default_factory=list)
    # Legacy districts with no communes of their own, mapped as a whole to a 2025 special zone.
    island_districts: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.units_created
            or self.units_updated
            or self.successions_created
            or self.successions_updated
            or self.successions_deleted
        )


def package_data_dir() -> Path:
    """The `data/` directory of the installed `vietnamadminunits` package.

    `find_spec` locates the package without executing its `__init__`, which would import its parsers.
    """
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise UnitDataError("the vietnamadminunits package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def split_unit_name(raw: str) -> tuple[str, str, str]:
    """Split a full unit name into (canonical full name, short name, kind).

    The name is the authority, not the package's separate type and short-name columns: four 2025
    communes carry a type that contradicts their official name ("Phường Việt Hòa" typed "Xã"), legacy
    short names add a disambiguator ("Yên Viên (Thị trấn)"), and a few legacy districts capitalize the
    kind differently ("Thành Phố Bắc Kạn", "Thị Trấn Ái Tử"). The kind is written in its canonical
    spelling. A numbered unit keeps its kind in the short name ("Phường 5", "Quận 1"), as people say
    and write it: a bare "5" names nothing.
    """
    name = nfc(" ".join(raw.split()))
    for kind in UNIT_KINDS:
        if name.casefold().startswith(kind.casefold() + " "):
            rest = name[len(kind) + 1 :]
            name = f"{kind} {rest}"
            return name, name if rest.isdigit() else rest, kind
    raise UnitDataError(f"unit name {raw!r} does not start with a known kind ({', '.join(UNIT_KINDS)})")


def _add_unit(
    units: dict[UnitKey, _SourceUnit],
    *,
    structure: str,
    level: str,
    code: str,
    raw_name: str,
    parent: _SourceUnit | None,
) -> _SourceUnit:
    """Record a unit and return it; the legacy table repeats each province and district on every
    commune row, and all repetitions must agree. A unit below a province carries its province's code."""
    name, short_name, kind = split_unit_name(raw_name)
    unit = _SourceUnit(
        structure=structure,
        level=level,
        code=code,
        name=name,
        short_name=short_name,
        kind=kind,
        parent=parent.key if parent else None,
        province_code=parent.province_code if parent else code,
        path=f"{parent.path}/{code}" if parent else f"{structure}/{code}",
    )
    known = units.setdefault(unit.key, unit)
    if known != unit:
        raise UnitDataError(f"conflicting data for unit {unit.key}: {known} and {unit}")
    return unit


def _read_units(db: sqlite3.Connection) -> tuple[dict[UnitKey, _SourceUnit], _KeyIndex, list[str]]:
    """Read both structures; return the units, the key index and the names of commune-less districts."""
    units: dict[UnitKey, _SourceUnit] = {}
    keys = _KeyIndex()
    current = db.execute(
        "SELECT provinceCode, province, provinceKey, wardCode, ward, wardKey"
        " FROM admin_units ORDER BY wardCode"
    )
    for province_code, province, province_key, ward_code, ward, ward_key in current:
        province_unit = _add_unit(
            units,
            structure=Structure.CURRENT,
            level=Level.PROVINCE,
            code=province_code,
            raw_name=province,
            parent=None,
        )
        commune = _add_unit(
            units,
            structure=Structure.CURRENT,
            level=Level.COMMUNE,
            code=ward_code,
            raw_name=ward,
            parent=province_unit,
        )
        keys.current_provinces[nfc(province_key)] = province_unit.key
        keys.current_communes[(nfc(province_key), nfc(ward_key))] = commune.key

    island_districts: list[str] = []
    legacy = db.execute(
        "SELECT provinceCode, province, provinceKey, districtCode, district, districtKey,"
        " wardCode, ward, wardKey FROM admin_units_legacy ORDER BY districtCode, wardCode"
    )
    for row in legacy:
        province_code, province, province_key, district_code, district, district_key = row[:6]
        ward_code, ward, ward_key = row[6:]
        province_unit = _add_unit(
            units,
            structure=Structure.LEGACY,
            level=Level.PROVINCE,
            code=province_code,
            raw_name=province,
            parent=None,
        )
        district_unit = _add_unit(
            units,
            structure=Structure.LEGACY,
            level=Level.DISTRICT,
            code=district_code,
            raw_name=district,
            parent=province_unit,
        )
        keys.legacy_provinces[nfc(province_key)] = province_unit.key
        keys.legacy_districts[(nfc(province_key), nfc(district_key))] = district_unit.key
        if not ward_code:
            # A few island districts had no communes at all (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa; Lý Sơn
            # and Côn Đảo since their communes were dissolved in 2024 and 2025). The dataset lists each
            # as one row without a commune; the district is still a unit an address can name.
            island_districts.append(district_unit.name)
            continue
        commune = _add_unit(
            units,
            structure=Structure.LEGACY,
            level=Level.COMMUNE,
            code=ward_code,
            raw_name=ward,
            parent=district_unit,
        )
        keys.legacy_communes[(nfc(province_key), nfc(district_key), nfc(ward_key))] = commune.key
    return units, keys, island_districts


def _legacy_ref(keys: _KeyIndex, ref: str) -> UnitKey | None:
    """Resolve "oldprovincekey_olddistrictkey_oldwardkey"; an empty ward key names the district itself,
    which is how the converter maps the commune-less island districts."""
    parts = nfc(ref).split("_")
    if len(parts) != 3:
        return None
    province_key, district_key, ward_key = parts
    if not ward_key:
        return keys.legacy_districts.get((province_key, district_key))
    return keys.legacy_communes.get((province_key, district_key, ward_key))


def _plan_successions(
    converter: dict[str, Any], keys: _KeyIndex
) -> tuple[dict[tuple[UnitKey, UnitKey], bool], list[str]]:
    """Turn the converter into {(legacy unit, 2025 unit): is_default} and the list of unresolved keys."""
    planned: dict[tuple[UnitKey, UnitKey], bool] = {}
    unresolved: list[str] = []

    def add(legacy: UnitKey | None, successor: UnitKey | None, is_default: bool, ref: str) -> None:
        if legacy is None or successor is None:
            unresolved.append(ref)
            return
        planned[(legacy, successor)] = planned.get((legacy, successor), False) or is_default

    for new_key, old_keys in converter["DICT_PROVINCE"].items():
        for old_key in old_keys:
            add(
                keys.legacy_provinces.get(nfc(old_key)),
                keys.current_provinces.get(nfc(new_key)),
                True,
                f"DICT_PROVINCE {new_key} <- {old_key}",
            )
    for new_province_key, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_ward_key, old_refs in wards.items():
            successor = keys.current_communes.get((nfc(new_province_key), nfc(new_ward_key)))
            for old_ref in old_refs:
                add(
                    _legacy_ref(keys, old_ref),
                    successor,
                    True,
                    f"DICT_PROVINCE_WARD_NO_DIVIDED {new_province_key}/{new_ward_key} <- {old_ref}",
                )
    for new_province_key, divided in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_ref, parts in divided.items():
            legacy = _legacy_ref(keys, old_ref)
            for part in parts:
                add(
                    legacy,
                    keys.current_communes.get((nfc(new_province_key), nfc(part["newWardKey"]))),
                    bool(part["isDefaultNewWard"]),
                    f"DICT_PROVINCE_WARD_DIVIDED {new_province_key}/{part['newWardKey']} <- {old_ref}",
                )

    defaults = Counter(legacy for (legacy, _), is_default in planned.items() if is_default)
    doubled = sorted(legacy for legacy, count in defaults.items() if count > 1)
    if doubled:
        raise UnitDataError(f"legacy units with more than one default successor: {doubled[:10]}")
    return planned, unresolved


def _sync_units(units: dict[UnitKey, _SourceUnit], report: UnitsLoadReport) -> dict[UnitKey, int]:
    """Create missing units and update changed ones, level by level so parents exist before children;
    return the primary key of every unit by natural key."""
    existing = {(u.structure, u.level, u.code): u for u in AdminUnit.objects.all()}
    pks = {key: unit.pk for key, unit in existing.items()}
    ordered = sorted(units.values(), key=lambda unit: unit.path)
    for level in (Level.PROVINCE, Level.DISTRICT, Level.COMMUNE):
        to_create: list[AdminUnit] = []
        to_update: list[AdminUnit] = []
        for source in (unit for unit in ordered if unit.level == level):
            values: dict[str, Any] = {
                "name": source.name,
                "short_name": source.short_name,
                "kind": source.kind,
                "parent_id": pks[source.parent] if source.parent else None,
                "province_code": source.province_code,
                "search_key": fold(source.name),
                "path": source.path,
            }
            unit = existing.get(source.key)
            if unit is None:
                to_create.append(
                    AdminUnit(structure=source.structure, level=level, code=source.code, **values)
                )
                continue
            changed = {name: value for name, value in values.items() if getattr(unit, name) != value}
            if not changed:
                report.units_unchanged += 1
                continue
            for name, value in changed.items():
                setattr(unit, name, value)
            to_update.append(unit)
        AdminUnit.objects.bulk_create(to_create, batch_size=_BATCH_SIZE)
        AdminUnit.objects.bulk_update(to_update, fields=_UNIT_FIELDS, batch_size=_BATCH_SIZE)
        report.units_created += len(to_create)
        report.units_updated += len(to_update)
        if to_create:
            # Not every backend returns primary keys from a bulk insert, so the new ones are read back.
            created = AdminUnit.objects.filter(level=level).values_list("structure", "level", "code", "pk")
            pks.update({(structure, lvl, code): pk for structure, lvl, code, pk in created})
    report.units_stale = len(existing.keys() - units.keys())
    return pks


def _sync_successions(
    planned: dict[tuple[UnitKey, UnitKey], bool], pks: dict[UnitKey, int], report: UnitsLoadReport
) -> None:
    wanted = {
        (pks[legacy], pks[successor]): is_default for (legacy, successor), is_default in planned.items()
    }
    existing = {
        (legacy_id, successor_id): (pk, is_default)
        for pk, legacy_id, successor_id, is_default in UnitSuccession.objects.values_list(
            "pk", "legacy_id", "successor_id", "is_default"
        )
    }
    obsolete = [pk for pair, (pk, _) in existing.items() if pair not in wanted]
    demote = [pk for pair, (pk, is_default) in existing.items() if is_default and wanted.get(pair) is False]
    promote = [pk for pair, (pk, is_default) in existing.items() if not is_default and wanted.get(pair)]
    # The order keeps the "one default per legacy unit" constraint true after every statement: old
    # defaults disappear or step down before new ones are set or inserted.
    for chunk in batched(obsolete, _BATCH_SIZE):
        UnitSuccession.objects.filter(pk__in=chunk).delete()
    for chunk in batched(demote, _BATCH_SIZE):
        UnitSuccession.objects.filter(pk__in=chunk).update(is_default=False)
    for chunk in batched(promote, _BATCH_SIZE):
        UnitSuccession.objects.filter(pk__in=chunk).update(is_default=True)
    UnitSuccession.objects.bulk_create(
        (
            UnitSuccession(legacy_id=legacy_id, successor_id=successor_id, is_default=is_default)
            for (legacy_id, successor_id), is_default in sorted(wanted.items())
            if (legacy_id, successor_id) not in existing
        ),
        batch_size=_BATCH_SIZE,
    )
    report.successions_deleted = len(obsolete)
    report.successions_updated = len(demote) + len(promote)
    report.successions_created = len(wanted.keys() - existing.keys())


def _unmapped_communes() -> list[str]:
    """Legacy communes without a default successor, each with the reason."""
    orphans = (
        AdminUnit.objects.filter(structure=Structure.LEGACY, level=Level.COMMUNE)
        .exclude(successions__is_default=True)
        .annotate(alternatives=Count("successions"))
        .order_by("path")
    )
    return [
        f"{unit.code} {unit.name}: "
        + (
            "split between several communes, none marked default"
            if unit.alternatives
            else "absent from converter_2025.json"
        )
        for unit in orphans
    ]


def _count(pairs: Iterable[tuple[str, str, int]]) -> dict[tuple[str, str], int]:
    return {(first, second): count for first, second, count in pairs}


@transaction.atomic
def admin_units_load(*, data_dir: Path | None = None) -> UnitsLoadReport:
    """Load both structures and the succession between them; running it again changes nothing.

    Units are matched on (structure, level, code) and updated in place, so primary keys, and every
    address that points at them, survive a reload with newer data. Successions are derived data and are
    made to equal the converter exactly. Everything happens in one transaction: a failed load leaves the
    previous units untouched.
    """
    directory = data_dir or package_data_dir()
    # Opened read-only through a URI so that a load can never modify the installed package.
    with sqlite3.connect(f"{(directory / 'dataset.db').as_uri()}?mode=ro", uri=True) as db:
        units, keys, island_districts = _read_units(db)
    converter = json.loads((directory / "converter_2025.json").read_text(encoding="utf-8"))
    planned, unresolved = _plan_successions(converter, keys)

    report = UnitsLoadReport(unresolved_keys=unresolved, island_districts=island_districts)
    pks = _sync_units(units, report)
    _sync_successions(planned, pks, report)

    report.unit_counts = _count(
        AdminUnit.objects.values_list("structure", "level").annotate(n=Count("pk")).order_by()
    )
    report.succession_counts = dict(
        UnitSuccession.objects.values_list("legacy__level").annotate(n=Count("pk")).order_by()
    )
    report.default_successions = UnitSuccession.objects.filter(is_default=True).count()
    report.unmapped_communes = _unmapped_communes()
    if report.changed:
        # Reference data that decides every officer's jurisdiction: a change to it is on the trail too.
        audit_event_record(
            actor=Actor(system="load_units"),
            event_type=EventType.UNITS_LOADED,
            subject_type="admin_units",
            subject_id="all",
            data={
                "units_created": report.units_created,
                "units_updated": report.units_updated,
                "successions_created": report.successions_created,
                "successions_updated": report.successions_updated,
                "successions_deleted": report.successions_deleted,
            },
        )
    return report
