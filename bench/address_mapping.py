"""Address mapping over every old commune of the country: how many map to a 2025 commune they did not go to.

    DANCU_VAR_DIR=<a database with the units loaded> .venv/bin/python bench/address_mapping.py

Each of the 10,035 old communes is written as an address ("Số 1, <commune>, <district>, <province>") in
three ways: in full, abbreviated ("P. 7, TP. Vũng Tàu, T. Bà Rịa - Vũng Tàu") and without tone marks in
lower case. Each is mapped the way the matcher maps addresses (`matching.prepare.AddressUnits`, which
parses the last two or three parts), and the full form also the way the registry does
(`geo.address.parse_address` on the whole text). A result is wrong when its 2025 commune is none of the
old commune's successors; unresolved when no commune is found. Prints the counts and the first few of
each, with the time taken.
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dancu.config.settings")
django.setup()

# The models are imported once Django is set up.
from dancu.geo.address import parse_address
from dancu.geo.models import AdminUnit, UnitSuccession
from dancu.lib.vntext import fold
from dancu.matching.prepare import AddressUnits
from dancu.registry.dirty import unit_text


def main() -> None:
    units = {unit.pk: unit for unit in AdminUnit.objects.all()}
    successors: dict[int, set[str]] = defaultdict(set)
    for legacy_id, successor_id in UnitSuccession.objects.values_list("legacy_id", "successor_id"):
        successors[legacy_id].add(units[successor_id].code)
    communes = [
        unit
        for unit in units.values()
        if unit.structure == AdminUnit.Structure.LEGACY and unit.level == AdminUnit.Level.COMMUNE
    ]
    styles: dict[str, Callable[[AdminUnit, AdminUnit, AdminUnit], str]] = {
        "full": lambda c, d, p: f"Số 1, {c.name}, {d.name}, {p.name}",
        # Written as the generator of dirty records abbreviates them ("P.7", "X. Dương Liễu", "TP. Hà Nội").
        "abbreviated": lambda c, d, p: (
            "Số 1, " + ", ".join(unit_text(u.kind, u.short_name, abbreviated=True) for u in (c, d, p))
        ),
        "unmarked": lambda c, d, p: fold(f"so 1, {c.name}, {d.name}, {p.name}"),
    }
    print(f"{len(communes):,} old communes")
    for name, write in [*styles.items(), ("full, whole text parsed", styles["full"])]:
        mapping = AddressUnits.from_database()
        started = time.perf_counter()
        wrong: Counter[str] = Counter()
        unresolved: list[str] = []
        for commune in communes:
            district = units[commune.parent_id]
            province = units[district.parent_id]
            text = write(commune, district, province)
            if name.endswith("parsed"):
                parsed = parse_address(text)
                code = parsed.commune.code if parsed is not None and parsed.commune is not None else None
            else:
                code = mapping(text).commune
            if code is None:
                unresolved.append(text)
            elif code not in successors[commune.pk]:
                wrong[f"{text} -> {code}"] += 1
        seconds = time.perf_counter() - started
        print(f"{name}: wrong {sum(wrong.values())}, unresolved {len(unresolved)} ({seconds:.1f} s)")
        for example in [*wrong][:5]:
            print(f"  wrong: {example}")
        for example in unresolved[:3]:
            print(f"  unresolved: {example}")


if __name__ == "__main__":
    main()
