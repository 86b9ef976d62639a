"""Quality scorecard endpoints: thin handlers over the same selectors as the page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_noop
from ninja import Path, Query, Router

from dancu.accounts.models import User
from dancu.audit.models import AccessLog
from dancu.collection.quality import exports, selectors
from dancu.collection.quality.checks import Indicator, failure_message
from dancu.collection.quality.schemas import (
    RecordsExportParams,
    RecordsOut,
    RecordsParams,
    ScorecardOut,
    ScorecardParams,
)
from dancu.collection.quality.selectors import Figures
from dancu.geo.models import AdminUnit
from dancu.lib.downloads import ExportFormat

router = Router(tags=["quality"])
PURPOSE = gettext_noop("API: đánh giá chất lượng dữ liệu dân cư")


def _actor(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _unit(unit: AdminUnit | None) -> dict[str, str] | None:
    return None if unit is None else {"code": unit.code, "name": unit.name, "level": unit.level}


def _figures(figures: Figures) -> dict[str, Any]:
    return figures.as_dict()


@router.get("/quality/scorecard", response=ScorecardOut, summary="A unit's đúng/đủ/sạch/sống figures")
def scorecard(request: HttpRequest, params: Query[ScorecardParams]) -> dict[str, Any]:
    user = _actor(request)
    unit = selectors.scorecard_unit(actor=user, code=params.unit.strip() or None)
    card = selectors.scorecard_get(actor=user, unit=unit)
    return {
        "unit": _unit(card.area),
        "figures": _figures(card.figures),
        "sub_units": [{"unit": _unit(sub), "figures": _figures(f)} for sub, f in card.sub_units],
        "trend": [
            {"day": p.day, "records": p.records, "passed_all": p.passed_all, "indicators": p.counts}
            for p in card.trend
        ],
        "last_assessed_at": card.last_assessed_at,
    }


@router.get("/quality/records", response=RecordsOut, summary="A unit's records that need work, worst first")
def records(request: HttpRequest, params: Query[RecordsParams]) -> dict[str, Any]:
    user = _actor(request)
    unit = selectors.scorecard_unit(actor=user, code=params.unit.strip() or None)
    page = selectors.records_needing_work(
        actor=user,
        unit=unit,
        page=params.page,
        indicator=params.indicator,
        purpose=PURPOSE,
        channel=AccessLog.Channel.API,
    )
    return {
        "unit": _unit(unit),
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "results": [
            {
                "citizen_id": a.citizen_id,
                "pin": a.citizen.pin,
                "full_name": a.citizen.full_name,
                "commune_code": a.citizen.area_commune.code if a.citizen.area_commune else None,
                "score": a.score,
                "indicators": {str(i): getattr(a, str(i)) for i in Indicator},
                "failures": [
                    {
                        "indicator": f["indicator"],
                        "field": f["field"],
                        "code": f["code"],
                        "message_vi": failure_message(f, "vi"),
                        "message_en": failure_message(f, "en"),
                    }
                    for f in a.failures
                ],
                "assessed_at": a.assessed_at,
            }
            for a in page.object_list
        ],
    }


# The files of the scorecard page, for a province's or the ministry's own tools: the same selectors, the
# same files, the same access-log rows as the page's buttons (each exported citizen is logged as an export).
_FILE_RESPONSES = {
    200: None,
    404: None,
    422: None,
}


@router.get(
    "/quality/export/scorecard.{file_format}",
    summary="The scorecard of a unit and its sub-units as CSV or XLSX (the XLSX adds the trend)",
    response=_FILE_RESPONSES,
)
def export_scorecard(
    request: HttpRequest, file_format: Path[ExportFormat], params: Query[ScorecardParams]
) -> HttpResponse:
    user = _actor(request)
    unit = selectors.scorecard_unit(actor=user, code=params.unit.strip() or None)
    card = selectors.scorecard_get(actor=user, unit=unit)
    return exports.scorecard_file(card, unit=unit, file_format=file_format)


@router.get(
    "/quality/export/records.{file_format}",
    summary="Every record of a unit that needs work (or fails the indicator asked for), worst first",
    response=_FILE_RESPONSES,
)
def export_records(
    request: HttpRequest, file_format: Path[ExportFormat], params: Query[RecordsExportParams]
) -> HttpResponse:
    user = _actor(request)
    unit = selectors.scorecard_unit(actor=user, code=params.unit.strip() or None)
    records = selectors.records_needing_work_export(
        actor=user, unit=unit, indicator=params.indicator, purpose=PURPOSE, channel=AccessLog.Channel.API
    )
    return exports.records_file(
        records,
        area=unit or selectors.legacy_area(user),
        indicator=params.indicator,
        file_format=file_format,
        language=request.LANGUAGE_CODE,
    )
