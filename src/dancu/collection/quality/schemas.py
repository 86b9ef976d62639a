"""API shapes of the quality scorecard."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

IndicatorKey = Literal["dung", "du", "sach", "song"]


class ScorecardParams(Schema):
    unit: str = Field(
        "",
        max_length=20,
        description="2025 province (2 digits) or commune (5 digits) code; empty for your own area",
    )


class RecordsExportParams(ScorecardParams):
    indicator: IndicatorKey | None = Field(None, description="only the records failing this indicator")


class RecordsParams(RecordsExportParams):
    page: int = Field(1, ge=1, le=1_000_000)


class IndicatorOut(Schema):
    passed: int
    percent: float | None


class FiguresOut(Schema):
    records: int
    passed_all: int
    passed_all_percent: float | None
    indicators: dict[str, IndicatorOut] = Field(description="dung, du, sach, song")


class UnitOut(Schema):
    code: str
    name: str
    level: str


class SubUnitOut(Schema):
    unit: UnitOut
    figures: FiguresOut


class TrendPointOut(Schema):
    day: date
    records: int
    passed_all: int
    indicators: dict[str, int]


class ScorecardOut(Schema):
    unit: UnitOut | None = Field(description="null: the whole country, or an area in the legacy units")
    figures: FiguresOut
    sub_units: list[SubUnitOut]
    trend: list[TrendPointOut]
    last_assessed_at: datetime | None


class FailureOut(Schema):
    indicator: str
    field: str
    code: str
    message_vi: str
    message_en: str


class RecordOut(Schema):
    citizen_id: int
    pin: str
    full_name: str
    commune_code: str | None
    score: int
    indicators: dict[str, bool]
    failures: list[FailureOut]
    assessed_at: datetime


class RecordsOut(Schema):
    unit: UnitOut | None
    count: int
    page: int
    pages: int
    results: list[RecordOut]
