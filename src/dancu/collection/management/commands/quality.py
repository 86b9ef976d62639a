"""`dancu quality assess [--unit CODE | --changed]`: assess records against "đúng, đủ, sạch, sống".

Without an option every record is assessed; `--unit` assesses the records of one 2025 province (2-digit
code) or commune (5-digit code); `--changed` those changed since the last pass (the scheduled task runs
this every few minutes, and the whole registry once a night). Each run rewrites today's snapshots and
prints the figures of the unit (or the country).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count, Q

from dancu.audit.services import Actor
from dancu.collection.quality.checks import INDICATOR_LABELS, Indicator
from dancu.collection.quality.models import QualityAssessment, QualityPass
from dancu.collection.quality.selectors import unit_for_code
from dancu.collection.quality.services import quality_pass_run, unit_citizens_q
from dancu.geo.models import AdminUnit
from dancu.lib.errors import DomainError, NotFoundError, command_error, command_error_from
from dancu.registry.models import Citizen


class Command(BaseCommand):
    help = (
        "Đánh giá chất lượng hồ sơ dân cư (đúng, đủ, sạch, sống). "
        "Assess citizen records against the quality indicators (correct, complete, clean, up to date)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        assess = actions.add_parser("assess", help="Đánh giá hồ sơ (assess records)", description=__doc__)
        which = assess.add_mutually_exclusive_group()
        which.add_argument("--unit", metavar="CODE", help="mã tỉnh (2 số) hoặc xã/phường (5 số) từ 1-7-2025")
        which.add_argument(
            "--changed", action="store_true", help="chỉ hồ sơ thay đổi từ lần trước (changed since last pass)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        unit = None
        if options["unit"] is not None:
            try:
                unit = unit_for_code(options["unit"].strip())
            except DomainError as exc:
                raise command_error_from(exc) from None
            except NotFoundError:
                raise command_error(
                    f"Không có tỉnh hay xã/phường mã {options['unit']!r} (từ 1-7-2025)",
                    f"No 2025 province or commune has the code {options['unit']!r}.",
                ) from None
            scope = QualityPass.Scope.UNIT
        elif options["changed"]:
            scope = QualityPass.Scope.CHANGED
        else:
            scope = QualityPass.Scope.ALL
        run = quality_pass_run(actor=Actor(system="quality"), scope=scope, unit=unit)
        self.stdout.write(
            f"Đã đánh giá (assessed) {run.assessed} hồ sơ; đạt chuẩn mới (newly clean) {run.cleaned}."
        )
        self._figures(unit)

    def _figures(self, unit: AdminUnit | None) -> None:
        citizens = (
            Citizen.objects.filter(unit_citizens_q(unit)) if unit is not None else Citizen.objects.all()
        )
        figures = QualityAssessment.objects.filter(citizen__in=citizens.values("pk")).aggregate(
            records=Count("pk"),
            passed_all=Count("pk", filter=Q(passed_all=True)),
            **{str(i): Count("pk", filter=Q(**{str(i): True})) for i in Indicator},
        )
        records = figures["records"]
        self.stdout.write(f"{unit.name if unit else 'Cả nước (country)'}: {records} hồ sơ (records)")
        for label, key in [
            *((f"{vi} ({en})", str(i)) for i, (vi, en) in INDICATOR_LABELS.items()),
            ("Cả bốn (all four)", "passed_all"),
        ]:
            share = f"{100 * figures[key] / records:.1f}%" if records else "—"
            self.stdout.write(f"  {label}: {figures[key]} ({share})")
