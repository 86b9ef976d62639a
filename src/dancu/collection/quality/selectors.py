"""Reading the scorecard, always within the reader's jurisdiction.

A scorecard is about a 2025 province or commune, or about the whole country (for the ministry). An
officer may open the scorecard of their own area and of the units inside it; any other unit gives the
same NotFoundError as a unit that does not exist. The figures count only the records the officer may
see (`accounts.selectors.citizen_scope`), so even a unit straddling the edge of an area never reveals
what lies outside it. Listing the records that need work shows personal data (names, PINs), so the
records listed are written to the access log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.selectors import citizen_scope, officer_can_read_records, unit_in_area
from dancu.audit.models import AccessLog
from dancu.audit.services import access_log_record
from dancu.collection.quality.checks import Indicator
from dancu.collection.quality.models import QualityAssessment, QualityPass, QualitySnapshot
from dancu.collection.quality.services import unit_citizens_q
from dancu.geo.models import AdminUnit
from dancu.lib.chunks import in_chunks
from dancu.lib.errors import DomainError, FieldError, NotFoundError
from dancu.registry.models import Citizen

# A 2025 province has a 2-digit GSO code, a 2025 commune a 5-digit one.
UNIT_CODE_RE = re.compile(r"^(?:[0-9]{2}|[0-9]{5})$")
RECORDS_PER_PAGE = 20
# The sub-units the page lists at once: a province has up to 168 communes, each a card on a phone.
UNITS_PER_PAGE = 10
TREND_DAYS = 90


def unit_code_error(value: str) -> FieldError:
    shown = value[:20]
    return FieldError(
        field="unit",
        code="unit.unknown",
        message_vi=(
            f"Mã đơn vị {shown!r} không hợp lệ: nhập mã tỉnh (2 chữ số) hoặc mã xã/phường (5 chữ số) "
            "theo đơn vị hành chính từ 1-7-2025."
        ),
        message_en=(
            f"The unit code {shown!r} is not valid: give a 2025 province code (2 digits) or commune code "
            "(5 digits)."
        ),
    )


def unit_for_code(code: str) -> AdminUnit:
    """The 2025 province or commune with this code, whoever asks (the command line): NotFoundError when
    there is none, DomainError (`unit.unknown`) when the code cannot be one."""
    if not UNIT_CODE_RE.match(code):
        raise DomainError(unit_code_error(code))
    level = AdminUnit.Level.PROVINCE if len(code) == 2 else AdminUnit.Level.COMMUNE
    unit = (
        AdminUnit.objects.select_related("parent")
        .filter(structure=AdminUnit.Structure.CURRENT, level=level, code=code)
        .first()
    )
    if unit is None:
        raise NotFoundError("unit")
    return unit


def home_unit(user: User) -> AdminUnit | None:
    """The unit a scorecard opens on: the officer's own area (None: the country, for the ministry, or an
    area in the legacy units, whose scorecard is the officer's whole jurisdiction)."""
    police_unit = user.police_unit
    if police_unit is None or police_unit.level == PoliceUnit.Level.MINISTRY:
        return None
    area = police_unit.admin_unit
    if area is None or area.structure != AdminUnit.Structure.CURRENT:
        return None
    return area


def scorecard_unit(*, actor: User, code: str | None) -> AdminUnit | None:
    """The unit of the scorecard the actor asked for: their own area without a code; NotFoundError for an
    unknown unit and for a unit outside the actor's area alike; DomainError for a malformed code."""
    if not officer_can_read_records(actor):
        raise NotFoundError("unit")
    if code is None or code == "":
        return home_unit(actor)
    unit = unit_for_code(code)
    if not unit_in_area(actor, unit):
        raise NotFoundError("unit")
    return unit


def _assessments(actor: User, unit: AdminUnit | None) -> QuerySet[QualityAssessment]:
    citizens = Citizen.objects.filter(citizen_scope(actor), merged_into__isnull=True)
    if unit is not None:
        citizens = citizens.filter(unit_citizens_q(unit))
    return QualityAssessment.objects.filter(citizen__in=citizens.values("pk"))


@dataclass
class Figures:
    records: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    passed_all: int = 0

    def percent(self, indicator: str) -> float | None:
        if not self.records:
            return None
        return round(100 * self.counts.get(indicator, 0) / self.records, 1)

    @property
    def passed_all_percent(self) -> float | None:
        return round(100 * self.passed_all / self.records, 1) if self.records else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "passed_all": self.passed_all,
            "passed_all_percent": self.passed_all_percent,
            "indicators": {
                str(i): {"passed": self.counts.get(i, 0), "percent": self.percent(i)} for i in Indicator
            },
        }


_AGGREGATES = {
    "records": Count("pk"),
    "n_dung": Count("pk", filter=Q(dung=True)),
    "n_du": Count("pk", filter=Q(du=True)),
    "n_sach": Count("pk", filter=Q(sach=True)),
    "n_song": Count("pk", filter=Q(song=True)),
    "n_all": Count("pk", filter=Q(passed_all=True)),
}


def _figures(row: dict[str, Any]) -> Figures:
    return Figures(
        records=row["records"] or 0,
        counts={str(i): row[f"n_{i}"] or 0 for i in Indicator},
        passed_all=row["n_all"] or 0,
    )


@dataclass
class TrendPoint:
    day: date
    records: int
    passed_all: int
    counts: dict[str, int]


@dataclass
class Scorecard:
    unit: AdminUnit | None
    figures: Figures
    sub_units: list[tuple[AdminUnit, Figures]]
    trend: list[TrendPoint]
    last_pass: QualityPass | None
    # The area the figures cover, as a file or an API answer names it: `unit`, or for an officer of a
    # pre-2025 unit (whose scorecard has no unit) their own area; None for the country.
    area: AdminUnit | None = None
    # The newest assessment among the records counted. A decision on a candidate pair reassesses its
    # records at once (services.quality_pair_refresh_on_commit), and so do a merge and its undoing
    # (services.quality_records_refresh_on_commit, called by citizen_merge and citizen_merge_undo): the
    # figures can be newer than the last pass, and "last assessed" must say so.
    newest_assessment: datetime | None = None

    @property
    def last_assessed_at(self) -> datetime | None:
        """When the figures were last brought up to date: the last pass's end, or a later reassessment."""
        times = [t for t in (self.last_pass and self.last_pass.finished_at, self.newest_assessment) if t]
        return max(times) if times else None


def _sub_units(actor: User, unit: AdminUnit | None) -> list[tuple[AdminUnit, Figures]]:
    """The provinces of the country, or the communes of a province, that have assessed records the actor
    may see; a commune has none."""
    if unit is not None and unit.level != AdminUnit.Level.PROVINCE:
        return []
    key = "citizen__area_province" if unit is None else "citizen__area_commune"
    rows = {
        row[key]: _figures(row)
        for row in _assessments(actor, unit).values(key).annotate(**_AGGREGATES).order_by()
        if row[key] is not None
    }
    units = AdminUnit.objects.filter(pk__in=rows).order_by("code")
    return [(sub, rows[sub.pk]) for sub in units]


def sub_units_page(
    card: Scorecard, *, page: int | str, per_page: int = UNITS_PER_PAGE
) -> Page[tuple[AdminUnit, Figures]]:
    """The scorecard's sub-units a page at a time, worst first: the smallest share of records passing all
    four indicators, then the most records (the most work), then by code. A page number that is not one
    gives the first page, one past the end the last page."""
    ranked = sorted(
        card.sub_units,
        key=lambda item: (item[1].passed_all / item[1].records, -item[1].records, item[0].code),
    )
    return Paginator(ranked, per_page).get_page(page)


def _trend(actor: User, unit: AdminUnit | None, *, today: date) -> list[TrendPoint]:
    # Snapshots count every record of a unit; an officer sees the trend of a unit only when the whole unit
    # lies in their area, which `scorecard_unit` has checked, or of the country for the ministry.
    if unit is None and not (
        actor.police_unit is not None and actor.police_unit.level == PoliceUnit.Level.MINISTRY
    ):
        return []
    rows = QualitySnapshot.objects.filter(
        unit=unit, day__gt=today - timedelta(days=TREND_DAYS), day__lte=today
    ).order_by("day")
    if unit is None:
        rows = rows.filter(unit__isnull=True)
    return [
        TrendPoint(
            day=row.day,
            records=row.records,
            passed_all=row.passed_all,
            counts={str(i): getattr(row, str(i)) for i in Indicator},
        )
        for row in rows
    ]


def scorecard_get(*, actor: User, unit: AdminUnit | None, today: date | None = None) -> Scorecard:
    """The figures of a unit (as found by `scorecard_unit`), its sub-units and its trend. Counts only,
    no personal data: nothing is written to the access log."""
    today = today or timezone.localdate()
    row = _assessments(actor, unit).aggregate(**_AGGREGATES, newest=Max("assessed_at"))
    figures = _figures(row)
    legacy = legacy_area(actor) if unit is None else None
    return Scorecard(
        unit=unit,
        figures=figures,
        # The 2025 provinces would show only the part of each that lies in the legacy area, under links
        # the officer may not open: an officer of a pre-2025 unit gets their own area's figures alone.
        sub_units=[] if legacy is not None else _sub_units(actor, unit),
        trend=_trend(actor, unit, today=today),
        last_pass=QualityPass.objects.filter(finished_at__isnull=False).order_by("-finished_at").first(),
        area=unit or legacy,
        newest_assessment=row["newest"],
    )


def legacy_area(actor: User) -> AdminUnit | None:
    """The pre-2025 area of an officer whose scorecard opens without a unit (`home_unit`); None for the
    ministry and for officers without a unit."""
    police_unit = actor.police_unit
    if police_unit is None or police_unit.level == PoliceUnit.Level.MINISTRY:
        return None
    return police_unit.admin_unit


INDICATOR_FILTERS = {str(i): Q(**{str(i): False}) for i in Indicator}


def _needing_work(actor: User, unit: AdminUnit | None, indicator: str | None) -> QuerySet[QualityAssessment]:
    """The assessments of the unit's records that fail an indicator (or the one given), worst first:
    lowest score, then most failures, then oldest record."""
    rows = (
        _assessments(actor, unit)
        .filter(passed_all=False)
        .select_related("citizen__area_commune")
        .order_by("score", "-failure_count", "citizen_id")
    )
    if indicator is not None:
        rows = rows.filter(INDICATOR_FILTERS[indicator])
    return rows


def _records_detail(unit: AdminUnit | None, indicator: str | None) -> str:
    return f"hồ sơ cần làm sạch {unit.code if unit else 'VN'}" + (f" ({indicator})" if indicator else "")


def records_needing_work(
    *,
    actor: User,
    unit: AdminUnit | None,
    page: int | str,
    purpose: str,
    indicator: str | None = None,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
    per_page: int = RECORDS_PER_PAGE,
) -> Page[QualityAssessment]:
    """The records of the unit that fail an indicator (or the one given), worst first. A page number that
    is not one gives the first page, one past the end the last page. The records listed are logged as a
    search."""
    result = Paginator(_needing_work(actor, unit, indicator), per_page).get_page(page)
    access_log_record(
        actor=actor,
        citizen_ids=[row.citizen_id for row in result.object_list],
        action=AccessLog.Action.SEARCH,
        channel=channel,
        purpose=purpose,
        detail=f"hồ sơ cần làm sạch {unit.code if unit else 'VN'}",
    )
    return result


EXPORT_CHUNK = 2_000


def records_needing_work_export(
    *,
    actor: User,
    unit: AdminUnit | None,
    purpose: str,
    indicator: str | None = None,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
    chunk_size: int = EXPORT_CHUNK,
) -> Iterator[QualityAssessment]:
    """Every record of the unit that fails an indicator (or the one given), worst first, for a file.

    Read from the database in chunks (`lib.chunks.in_chunks`), so that a million records never
    sit in memory; each chunk is written to the access log, one row per citizen with the action "export",
    before its records are handed on: nothing reaches the file unlogged.
    """
    detail = "xuất " + _records_detail(unit, indicator)
    for chunk in in_chunks(_needing_work(actor, unit, indicator), chunk_size):
        yield from _logged(chunk, actor=actor, purpose=purpose, channel=channel, detail=detail)


def _logged(
    chunk: list[QualityAssessment], *, actor: User, purpose: str, channel: AccessLog.Channel, detail: str
) -> list[QualityAssessment]:
    access_log_record(
        actor=actor,
        citizen_ids=[row.citizen_id for row in chunk],
        action=AccessLog.Action.EXPORT,
        channel=channel,
        purpose=purpose,
        detail=detail,
    )
    return chunk
