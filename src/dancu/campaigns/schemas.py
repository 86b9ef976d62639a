"""API shapes of the campaigns app."""

from __future__ import annotations

from datetime import date
from typing import Any

from ninja import Field, Schema
from pydantic import StrictInt

from dancu.lib.schemas import BodySchema

SCOPE_HELP = '"vn" (the country), a 2-digit province code or a 5-digit commune code (2025 units)'


class CampaignOut(Schema):
    id: int
    name: str
    starts_on: date
    ends_on: date
    metrics: list[str]


class MetricIn(BodySchema):
    code: str = Field(max_length=100)
    name: str = Field(max_length=500)
    name_en: str = Field(max_length=500)
    event_types: list[str] = Field(default_factory=list, max_length=50)
    data_filter: dict[str, Any] = Field(
        default_factory=dict, description='{"shift": ["tối"]}: only these values'
    )
    population_rule: str = Field(default="", max_length=100)


class MetricOut(Schema):
    code: str
    name: str
    name_en: str
    kind: str
    event_types: list[str]
    data_filter: dict[str, list[str]]
    population_rule: str


class CampaignMetricIn(BodySchema):
    metric: str = Field(description="the metric's code", max_length=100)
    denominator: str | None = Field(default=None, description="a population metric's code", max_length=100)


class CampaignIn(BodySchema):
    name: str = Field(max_length=1000)
    starts_on: date
    ends_on: date
    metrics: list[CampaignMetricIn] = Field(max_length=50)


class TargetIn(BodySchema):
    metric: str = Field(description="the metric's code", max_length=100)
    unit: str = Field(description=SCOPE_HELP, max_length=10)
    # Strict: pydantic would otherwise read true as 1 and "12" as 12, and a target would silently be
    # something the caller did not send as a number.
    total: StrictInt | None = Field(default=None, description="the target for the whole period")
    per_day: StrictInt | None = Field(default=None, description="the target per day")
    reason: str = Field(max_length=5000)


class TargetRevisionOut(Schema):
    metric: str
    unit: str
    old_total: int | None
    old_per_day: int | None
    new_total: int | None
    new_per_day: int | None
    revised_by: str
    revised_at: Any
    reason: str


class FiguresParams(Schema):
    day: date | None = Field(default=None, description="figures up to the end of this day (default: today)")
    since: date | None = Field(
        default=None, description="count from this day (default: the campaign's start)"
    )
    language: str = Field(default="vi", pattern="^(vi|en)$")


class DayOut(Schema):
    day: date
    count: int
    cumulative: int
    expected: int | None


class UnitFiguresOut(Schema):
    code: str
    name: str
    level: str
    rank: int
    achieved: int
    target: int | None
    expected: int | None
    pct: float | None
    met: bool
    behind: bool
    shortfall: int = Field(description="what is due by now and not done; 0 when not behind")


class BreakdownOut(Schema):
    key: str
    label: str
    achieved: int


class MetricFiguresOut(Schema):
    code: str
    name: str
    achieved: int
    target: int | None
    expected: int | None
    allocated: int | None
    pct: float | None = Field(description="achieved / target * 100; may exceed 100")
    met: bool
    behind: bool
    shortfall: int = Field(description="what is due by now and not done; 0 when not behind")
    needed_per_day: float | None = Field(
        description="read up to today: what each day left, today included, must bring to meet the target"
    )
    pace_per_day: float
    forecast: date | None = Field(description="the day the target was or will be reached at the current pace")
    days_ahead: int | None = Field(description="days from the forecast to the campaign's end; < 0: late")
    units_met: int
    units_total: int
    units_with_target: int
    days: list[DayOut]
    units: list[UnitFiguresOut] = Field(description="the units directly below, ranked")
    breakdowns: dict[str, list[BreakdownOut]] = Field(
        description="a commune's figures by officer, point, team, shift"
    )


class UnitOut(Schema):
    code: str
    name: str
    level: str


class FiguresOut(Schema):
    campaign: dict[str, Any]
    unit: UnitOut
    since: date
    as_of: date
    started: bool = Field(description="false before the campaign's first day: nothing is due yet")
    metrics: list[MetricFiguresOut]
