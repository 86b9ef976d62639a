"""The figures of a campaign for one unit and day, read from the tallies (never typed in).

For the country the figures come from the province tallies, for a province from its communes' tallies,
for a commune from the drill-down tally, so each dashboard reads a few hundred or thousand rows however
many events lie behind them. Every computation catches the tallies up on the trail first.

Definitions (docs/campaigns.md explains them to leaders):
- achieved: events counted from `since` (the campaign's first day unless a range is asked for) to `as_of`.
- target: the unit's own target (the whole period, or per day times the days of the range); without one,
  the eligible population when the metric has a denominator (with the citizens the campaign's own work
  took out of it added back, `_left_since_start`); else none. A range shorter than the period
  gets the period target pro rata.
- expected: what the target asks for by `as_of` (per day times days elapsed, or the target pro rata).
  Only days that are over are due: read during today (Vietnam time), today's share is not yet asked for.
- met: achieved >= target. behind: not met and achieved < expected.
- pace: the mean per day over the last PACE_DAYS days of the range that are over; forecast: the day the
  target is reached at that pace (or the day it was reached).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent, EventType
from dancu.campaigns import population, tally
from dancu.campaigns.models import (
    Campaign,
    CampaignMetric,
    CommuneTally,
    DetailTally,
    Metric,
    PopulationTally,
    ProvinceTally,
    Target,
)
from dancu.campaigns.tally import tally_catch_up
from dancu.cards.models import shift_label
from dancu.geo.models import AdminUnit

PACE_DAYS = 7
FORECAST_HORIZON_DAYS = 10 * 366
BREAKDOWN_KEYS = ("officer", "point", "team", "shift")


@dataclass
class Progress:
    """What was achieved against a target and against what is due by the day (a unit's or a row's)."""

    achieved: int
    target: int | None
    expected: int | None

    @property
    def pct(self) -> float | None:
        return percent(self.achieved, self.target)

    @property
    def met(self) -> bool:
        return self.target is not None and self.achieved >= self.target

    @property
    def behind(self) -> bool:
        return self.expected is not None and not self.met and self.achieved < self.expected

    @property
    def shortfall(self) -> int:
        """How much of what is due by now is not done: what "behind" is by; 0 when not behind."""
        return self.expected - self.achieved if self.behind and self.expected is not None else 0


@dataclass
class UnitRow(Progress):
    unit: AdminUnit
    rank: int = 0


@dataclass
class DayFigure:
    day: date
    count: int
    cumulative: int
    expected: int | None


@dataclass
class BreakdownRow:
    key: str
    label: str
    achieved: int


@dataclass
class MetricFigures(Progress):
    campaign_metric: CampaignMetric
    allocated: int | None  # the sum of the sub-units' own targets: how much of the target is handed down
    days: list[DayFigure]
    rows: list[UnitRow]
    breakdowns: dict[str, list[BreakdownRow]] = field(default_factory=dict)
    # How many of `days` are over; the rest (today, read during the day) are still in progress.
    days_over: int | None = None
    # The days of the period still to work, today included, when the figures are read up to today from
    # the first day; None otherwise (a past day or a partial range has no "from now on" to plan).
    days_left: int | None = None

    @property
    def metric(self) -> Metric:
        return self.campaign_metric.metric

    @property
    def pace(self) -> float:
        # A day just begun counted as a whole day dragged the pace down every morning (at 07:00 today
        # has next to nothing), and the forecast with it. Only a range with no day over yet (the first
        # day of a campaign) has nothing better than the day in progress.
        over = self.days if self.days_over is None else self.days[: self.days_over]
        recent = (over or self.days)[-PACE_DAYS:]
        return sum(d.count for d in recent) / len(recent) if recent else 0.0

    @property
    def needed_per_day(self) -> float | None:
        """What each day left (today included) must bring for the target to be met on the last day: the
        commune chief's "how many today", shown with one decimal as the pace is (2 left over 150 days is
        0,0 a day, not the 1 a day rounding up would ask for). None without a target, once it is met, or
        when there are no days left to plan."""
        if self.target is None or self.met or not self.days_left:
            return None
        return (self.target - self.achieved) / self.days_left

    @property
    def forecast(self) -> date | None:
        """The day the target was or will be reached at the current pace; None without a target or pace."""
        if self.target is None or not self.days:
            return None
        for day in self.days:
            if day.cumulative >= self.target:
                return day.day
        if self.pace <= 0:
            return None
        needed = math.ceil((self.target - self.achieved) / self.pace)
        if needed > FORECAST_HORIZON_DAYS:
            return None  # not at this pace: a date centuries away says nothing (and may not exist)
        return self.days[-1].day + timedelta(days=needed)

    @property
    def days_ahead(self) -> int | None:
        """Days between the forecast and the campaign's last day: ahead of schedule when positive."""
        forecast = self.forecast
        if forecast is None:
            return None
        return (self.campaign_metric.campaign.ends_on - forecast).days

    @property
    def units_with_target(self) -> list[UnitRow]:
        return [row for row in self.rows if row.target is not None]

    @property
    def units_met(self) -> int:
        return sum(1 for row in self.rows if row.met)

    @property
    def units_behind(self) -> list[UnitRow]:
        """The units below that are behind, the furthest behind (in work not done) first."""
        return sorted(
            (row for row in self.rows if row.behind), key=lambda row: (-row.shortfall, row.unit.code)
        )


@dataclass
class Figures:
    campaign: Campaign
    unit: AdminUnit | None
    since: date
    as_of: date
    metrics: list[MetricFigures]
    today: date | None = None

    @property
    def in_progress(self) -> bool:
        """Whether the last day of the figures is not over yet (today, read during the day)."""
        return self.today is not None and self.started and self.as_of >= self.today

    @property
    def started(self) -> bool:
        """Whether the figures reach the campaign's first day: before it, nothing is due and no one is
        behind."""
        return self.as_of >= self.campaign.starts_on

    @property
    def level(self) -> str:
        return "country" if self.unit is None else self.unit.level

    @property
    def children_level(self) -> str | None:
        return {"country": "province", "province": "commune"}.get(self.level)


def percent(achieved: int, target: int | None) -> float | None:
    if not target:
        return None
    return achieved * 100 / target


@dataclass(frozen=True)
class Goal:
    """A unit's target over the whole period, with the pace it asks for when one is set per day."""

    total: int
    per_day: int | None
    period_days: int

    def due(self, days: int) -> int:
        """What the goal asks for after `days` days of the period."""
        days = min(days, self.period_days)
        if self.per_day is not None:
            return min(self.total, self.per_day * days)
        return round(self.total * days / self.period_days)

    def for_range(self, campaign: Campaign, since: date, days: int, days_over: int) -> tuple[int, int]:
        """(target, expected) for `days` days from `since`, of which `days_over` are over: the whole goal
        and what is due by the end of the days over for a range from the first day; for any other range,
        the share of its days and the share of its days that are over."""
        if since == campaign.starts_on:
            return self.total, self.due(days_over)
        return self._share(days), self._share(days_over)

    def _share(self, days: int) -> int:
        return self.due(days) if self.per_day is not None else round(self.total * days / self.period_days)


def _goal(target: Target | None, population: int | None, campaign: Campaign) -> Goal | None:
    if target is not None:
        total = target.total if target.total is not None else (target.per_day or 0) * campaign.days
        return Goal(total=total, per_day=target.per_day, period_days=campaign.days)
    if population is not None:
        return Goal(total=population, per_day=None, period_days=campaign.days)
    return None


def _days(campaign: Campaign, since: date, as_of: date) -> list[date]:
    last = min(as_of, campaign.ends_on)
    return [since + timedelta(days=i) for i in range(max(0, (last - since).days + 1))]


def _children(unit: AdminUnit | None) -> list[AdminUnit]:
    if unit is None:
        return list(
            AdminUnit.objects.filter(
                structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.PROVINCE
            ).order_by("code")
        )
    if unit.level == AdminUnit.Level.PROVINCE:
        return list(AdminUnit.objects.filter(parent=unit, level=AdminUnit.Level.COMMUNE).order_by("code"))
    return []


def _series(
    metric_ids: list[int], unit: AdminUnit | None, since: date, as_of: date
) -> dict[int, dict[date, int]]:
    rows: QuerySet[ProvinceTally] | QuerySet[CommuneTally]
    if unit is None:
        rows = ProvinceTally.objects.filter(metric_id__in=metric_ids)
    elif unit.level == AdminUnit.Level.PROVINCE:
        rows = ProvinceTally.objects.filter(metric_id__in=metric_ids, province=unit)
    else:
        rows = CommuneTally.objects.filter(metric_id__in=metric_ids, commune=unit)
    series: dict[int, dict[date, int]] = defaultdict(dict)
    for metric_id, day, n in (
        rows.filter(day__gte=since, day__lte=as_of)
        .values_list("metric_id", "day")
        .annotate(n=Sum("count"))
        .order_by()
    ):
        series[metric_id][day] = n
    return series


def _by_child(
    metric_ids: list[int], unit: AdminUnit | None, since: date, as_of: date
) -> dict[tuple[int, int], int]:
    rows: QuerySet[ProvinceTally, tuple[int, int]] | QuerySet[CommuneTally, tuple[int, int]]
    if unit is None:
        rows = ProvinceTally.objects.filter(metric_id__in=metric_ids).values_list("metric_id", "province_id")
    else:
        rows = CommuneTally.objects.filter(metric_id__in=metric_ids, province=unit).values_list(
            "metric_id", "commune_id"
        )
    return {
        (metric_id, unit_id): n
        for metric_id, unit_id, n in rows.filter(day__gte=since, day__lte=as_of)
        .annotate(n=Sum("count"))
        .order_by()
    }


def _populations(
    metric_ids: set[int], unit: AdminUnit | None
) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """(population of the unit per metric, population of each child per metric)."""
    if not metric_ids:
        return {}, {}
    rows = PopulationTally.objects.filter(metric_id__in=metric_ids)
    if unit is None:
        child_field = "province_id"
    elif unit.level == AdminUnit.Level.PROVINCE:
        rows, child_field = rows.filter(province=unit), "commune_id"
    else:
        rows, child_field = rows.filter(commune=unit), "commune_id"
    own: dict[int, int] = defaultdict(int)
    children: dict[tuple[int, int], int] = {}
    for metric_id, child_id, n in (
        rows.values_list("metric_id", child_field).annotate(n=Sum("count")).order_by()
    ):
        own[metric_id] += n
        children[(metric_id, child_id)] = n
    return own, children


def _left_since_start(
    campaign: Campaign, campaign_metrics: list[CampaignMetric], unit: AdminUnit | None
) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """(per followed metric, per followed metric and child) the citizens the metric's own events took out
    of its denominator between the campaign's first day and the denominator's last count.

    A level-2 registration takes the citizen out of `due_for_eid` at once (`population.LEFT_BY`). Measured
    against what is still due, a commune's target shrank with every registration: 3 registered out of 4
    read "3 of 1, 300%, met" the morning after, with one citizen still waiting, and the commune that
    worked hardest had the smallest target. A leader reads "achieved / target" as the share of the
    citizens who were due when the campaign began, so the target is those still due plus those the
    campaign registered up to the count; registrations after the count are still in it. The count's day
    up to its minute is read from the trail, the days before from the tallies. Registrations after the
    campaign's last day count here too: they also left the population, and only adding them back keeps
    the target of an ended campaign what it was. A card application leaves `due_for_card` only when the
    card is issued, and nothing leaves `residents`: those stay as counted.
    """
    own: dict[int, int] = defaultdict(int)
    by_child: dict[tuple[int, int], int] = defaultdict(int)
    for cm in campaign_metrics:
        leaving = population.LEFT_BY.get(cm.denominator.population_rule) if cm.denominator else None
        metric = cm.metric
        if not leaving or not metric.event_types or not set(metric.event_types) <= leaving:
            continue
        # The count's own event, rather than its rows: a count that found nobody left due writes no row.
        counted_at = (
            AuditEvent.objects.filter(
                event_type=EventType.POPULATION_COUNTED,
                subject_type="metric",
                subject_id=str(cm.denominator_id),
            )
            .order_by("-pk")
            .values_list("occurred_at", flat=True)
            .first()
        )
        count_day = timezone.localdate(counted_at) if counted_at is not None else None
        if count_day is None or count_day < campaign.starts_on:
            continue
        if campaign.starts_on < count_day:
            before = count_day - timedelta(days=1)
            own[cm.pk] += sum(
                _series([metric.pk], unit, campaign.starts_on, before).get(metric.pk, {}).values()
            )
            if unit is None or unit.level == AdminUnit.Level.PROVINCE:
                for (_metric_id, child_id), n in _by_child(
                    [metric.pk], unit, campaign.starts_on, before
                ).items():
                    by_child[(cm.pk, child_id)] += n
        day_start = timezone.make_aware(datetime.combine(count_day, time.min))
        counts = tally.count_events(metric, occurred_at__gte=day_start, occurred_at__lt=counted_at)
        for (_metric_id, province_id, commune_id, _day), n in counts.commune.items():
            if unit is None:
                own[cm.pk] += n
                by_child[(cm.pk, province_id)] += n
            elif unit.level == AdminUnit.Level.PROVINCE and province_id == unit.pk:
                own[cm.pk] += n
                by_child[(cm.pk, commune_id)] += n
            elif commune_id == unit.pk:
                own[cm.pk] += n
    return own, by_child


def _breakdowns(
    metric_ids: list[int], commune: AdminUnit, since: date, as_of: date
) -> dict[int, dict[str, list[BreakdownRow]]]:
    rows = DetailTally.objects.filter(
        metric_id__in=metric_ids, commune=commune, day__gte=since, day__lte=as_of
    )
    result: dict[int, dict[str, list[BreakdownRow]]] = defaultdict(dict)
    columns = {"officer": "officer_id", "point": "point", "team": "team", "shift": "shift"}
    grouped: dict[str, list[tuple[Any, ...]]] = {
        key: list(rows.values_list("metric_id", column).annotate(n=Sum("count")).order_by())
        for key, column in columns.items()
    }
    officer_ids = {value for _m, value, _n in grouped["officer"] if value}
    names = {u.pk: u.display_name() for u in User.objects.filter(pk__in=officer_ids)}
    for key, values in grouped.items():
        for metric_id, value, n in values:
            if key == "officer":
                label = names.get(value, "") if value else ""
            else:
                # The cards app records a shift by its number: a commander reads "Ca 1 (7:00–12:00)".
                label = shift_label(value) if key == "shift" and value else value
            result[metric_id].setdefault(key, []).append(
                BreakdownRow(key=str(value), label=label, achieved=n)
            )
    for per_key in result.values():
        for items in per_key.values():
            items.sort(key=lambda row: (-row.achieved, row.label))
    return result


def figures_compute(
    *,
    campaign: Campaign,
    unit: AdminUnit | None,
    as_of: date,
    since: date | None = None,
    today: date | None = None,
) -> Figures:
    """The figures of `unit` (None: the country) for the campaign's days from `since` to `as_of`.

    `today` (the local day in Vietnam unless given) and any later day are not over: their share of a
    target is not yet due. Without that, a commune that met its daily quota on every day so far read as
    behind from midnight until it had done today's quota too, and the morning's dashboard listed nearly
    every commune with a daily target as "chậm".

    No scoping here: callers reach this through `selectors.figures_get`, which checks the reader's area,
    or from the report task, which makes reports for every level.
    """
    today = today or timezone.localdate()
    tally_catch_up()
    since = max(since or campaign.starts_on, campaign.starts_on)
    as_of = min(as_of, campaign.ends_on)
    campaign_metrics = list(campaign.campaign_metrics.select_related("metric", "denominator"))
    metric_ids = [cm.metric_id for cm in campaign_metrics]
    children = _children(unit)
    series = _series(metric_ids, unit, since, as_of) if since <= as_of else {}
    by_child = _by_child(metric_ids, unit, since, as_of) if children and since <= as_of else {}
    own_pop, child_pop = _populations(
        {cm.denominator_id for cm in campaign_metrics if cm.denominator_id}, unit
    )
    own_left, child_left = _left_since_start(campaign, campaign_metrics, unit)

    def population_of(cm: CampaignMetric, child: AdminUnit | None = None) -> int | None:
        """The denominator's population of the unit (or a child), with those the campaign took out of it."""
        if child is None:
            counted, left = own_pop.get(cm.denominator_id or 0), own_left.get(cm.pk, 0)
        else:
            counted = child_pop.get((cm.denominator_id or 0, child.pk))
            left = child_left.get((cm.pk, child.pk), 0)
        # A commune whose every due citizen was registered has no population row left at all, yet its
        # target is still the citizens it registered.
        return counted + left if counted is not None else (left or None)

    targets = Target.objects.filter(campaign_metric__in=campaign_metrics)
    own_targets = (
        {t.campaign_metric_id: t for t in targets.filter(unit=unit)}
        if unit
        else {t.campaign_metric_id: t for t in targets.filter(unit__isnull=True)}
    )
    child_targets = (
        {(t.campaign_metric_id, t.unit_id): t for t in targets.filter(unit__in=children)} if children else {}
    )
    details = (
        _breakdowns(metric_ids, unit, since, as_of)
        if unit is not None and unit.level == AdminUnit.Level.COMMUNE and since <= as_of
        else {}
    )
    days = _days(campaign, since, as_of)
    days_over = sum(1 for day in days if day < today)
    days_left = (
        (campaign.ends_on - today).days + 1
        if since == campaign.starts_on and campaign.starts_on <= today <= as_of
        else None
    )
    result = []
    for cm in campaign_metrics:
        goal = _goal(own_targets.get(cm.pk), population_of(cm), campaign)
        target, expected = goal.for_range(campaign, since, len(days), days_over) if goal else (None, None)
        counts = series.get(cm.metric_id, {})
        cumulative = 0
        day_figures = []
        for i, day in enumerate(days, start=1):
            cumulative += counts.get(day, 0)
            due = goal.due(i) if goal else None
            day_figures.append(
                DayFigure(day=day, count=counts.get(day, 0), cumulative=cumulative, expected=due)
            )
        rows = []
        for child in children:
            child_goal = _goal(
                child_targets.get((cm.pk, child.pk)),
                population_of(cm, child),
                campaign,
            )
            child_target, child_expected = (
                child_goal.for_range(campaign, since, len(days), days_over) if child_goal else (None, None)
            )
            rows.append(
                UnitRow(
                    unit=child,
                    achieved=by_child.get((cm.metric_id, child.pk), 0),
                    target=child_target,
                    expected=child_expected,
                )
            )
        _rank(rows)
        handed_down = [child_targets[(cm.pk, c.pk)] for c in children if (cm.pk, c.pk) in child_targets]
        allocated = (
            sum(
                g.for_range(campaign, since, len(days), days_over)[0]
                for t in handed_down
                if (g := _goal(t, None, campaign))
            )
            if handed_down
            else None
        )
        result.append(
            MetricFigures(
                campaign_metric=cm,
                achieved=cumulative,
                target=target,
                expected=expected,
                allocated=allocated,
                days=day_figures,
                rows=rows,
                breakdowns=details.get(cm.metric_id, {}),
                days_over=days_over,
                days_left=days_left,
            )
        )
    return Figures(campaign=campaign, unit=unit, since=since, as_of=as_of, metrics=result, today=today)


def _rank(rows: list[UnitRow]) -> None:
    """Rank by % of target (units without a target after, by what they achieved); ties share a rank."""

    def key(row: UnitRow) -> tuple[int, float, int]:
        pct = row.pct
        return (0 if pct is not None else 1, -(pct or 0.0), -row.achieved)

    rows.sort(key=lambda row: (*key(row), row.unit.code))
    previous: tuple[int, float, int] | None = None
    for position, row in enumerate(rows, start=1):
        current = key(row)
        row.rank = rows[position - 2].rank if previous == current else position
        previous = current


def figures_as_dict(data: Figures, language: str = "vi") -> dict[str, Any]:
    """The figures as plain data: the API answer and the chart's input."""

    def unit_info(unit: AdminUnit | None) -> dict[str, Any]:
        if unit is None:
            return {
                "code": "vn",
                "name": "Việt Nam" if not language.startswith("en") else "Viet Nam",
                "level": "country",
            }
        return {"code": unit.code, "name": unit.name, "level": unit.level}

    return {
        "campaign": {
            "id": data.campaign.pk,
            "name": data.campaign.name,
            "starts_on": data.campaign.starts_on,
            "ends_on": data.campaign.ends_on,
        },
        "unit": unit_info(data.unit),
        "since": data.since,
        "as_of": data.as_of,
        "started": data.started,
        "metrics": [
            {
                "code": m.metric.code,
                "name": m.metric.label(language),
                "achieved": m.achieved,
                "target": m.target,
                "expected": m.expected,
                "allocated": m.allocated,
                "pct": m.pct,
                "met": m.met,
                "behind": m.behind,
                "shortfall": m.shortfall,
                "needed_per_day": m.needed_per_day,
                "pace_per_day": m.pace,
                "forecast": m.forecast,
                "days_ahead": m.days_ahead,
                "units_met": m.units_met,
                "units_total": len(m.rows),
                "units_with_target": len(m.units_with_target),
                "days": [
                    {"day": d.day, "count": d.count, "cumulative": d.cumulative, "expected": d.expected}
                    for d in m.days
                ],
                "units": [
                    {
                        **unit_info(r.unit),
                        "rank": r.rank,
                        "achieved": r.achieved,
                        "target": r.target,
                        "expected": r.expected,
                        "pct": r.pct,
                        "met": r.met,
                        "behind": r.behind,
                        "shortfall": r.shortfall,
                    }
                    for r in m.rows
                ],
                "breakdowns": {
                    key: [{"key": b.key, "label": b.label, "achieved": b.achieved} for b in rows]
                    for key, rows in m.breakdowns.items()
                },
            }
            for m in data.metrics
        ],
    }
