"""`dancu load_units`: load the 2025 and legacy administrative units and the mapping between them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dancu.geo.models import AdminUnit
from dancu.geo.services import UnitDataError, UnitsLoadReport, admin_units_load

Structure = AdminUnit.Structure
Level = AdminUnit.Level

# How many unmapped communes or unresolved keys to list before summarizing the rest.
_SHOWN = 20


class Command(BaseCommand):
    help = (
        "Nạp đơn vị hành chính (2025 và trước 2025) và bảng chuyển đổi giữa hai cơ cấu. "
        "Load the administrative units of both structures and the legacy-to-2025 succession; "
        "running it again changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = admin_units_load()
        except UnitDataError as exc:
            raise CommandError(f"reference data rejected, nothing was written: {exc}") from exc
        for line in _summary(report):
            self.stdout.write(line)
        if report.unresolved_keys or report.unmapped_communes:
            self.stderr.write(self.style.WARNING("Some legacy units could not be mapped; see above."))


def _summary(report: UnitsLoadReport) -> list[str]:
    def count(structure: str, level: str) -> int:
        return report.unit_counts.get((structure, level), 0)

    successions = report.succession_counts
    lines = [
        "2025:   "
        f"{count(Structure.CURRENT, Level.PROVINCE)} provinces, "
        f"{count(Structure.CURRENT, Level.COMMUNE)} communes",
        "legacy: "
        f"{count(Structure.LEGACY, Level.PROVINCE)} provinces, "
        f"{count(Structure.LEGACY, Level.DISTRICT)} districts, "
        f"{count(Structure.LEGACY, Level.COMMUNE)} communes",
        f"successions: {sum(successions.values())} "
        f"({successions.get(Level.PROVINCE, 0)} provinces, "
        f"{successions.get(Level.DISTRICT, 0)} commune-less island districts, "
        f"{successions.get(Level.COMMUNE, 0)} communes; {report.default_successions} defaults)",
        f"island districts without communes, mapped whole to a special zone: "
        f"{', '.join(report.island_districts) or 'none'}",
        f"legacy communes without a default successor: {len(report.unmapped_communes)}",
        *(f"  {line}" for line in report.unmapped_communes[:_SHOWN]),
        f"converter keys naming no unit: {len(report.unresolved_keys)}",
        *(f"  {key}" for key in report.unresolved_keys[:_SHOWN]),
        f"units: {report.units_created} created, {report.units_updated} updated, "
        f"{report.units_unchanged} unchanged, {report.units_stale} no longer in the data (kept)",
        f"successions: {report.successions_created} created, {report.successions_updated} updated, "
        f"{report.successions_deleted} deleted",
    ]
    for listed, total in ((report.unmapped_communes, "communes"), (report.unresolved_keys, "keys")):
        if len(listed) > _SHOWN:
            lines.append(f"({len(listed) - _SHOWN} more {total} not shown)")
    return lines
