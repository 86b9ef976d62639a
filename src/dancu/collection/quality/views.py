"""The scorecard page: a unit's four indicators, its sub-units, its trend and the records that need work."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from dancu.collection.quality import exports, selectors
from dancu.collection.quality.charts import trend_chart
from dancu.collection.quality.checks import INDICATOR_LABELS, Indicator, failure_message
from dancu.geo.models import AdminUnit
from dancu.lib import downloads
from dancu.lib.errors import DomainError, FieldError, NotFoundError
from dancu.web.access import current_user, officer_required, purpose_of

# Longer than any unit code or page number: what is longer is refused before it reaches a selector.
MAX_PARAM_LENGTH = 20


def _indicator_error(value: str) -> FieldError:
    return FieldError(
        field="indicator",
        code="quality.indicator_unknown",
        message_vi=f"Tiêu chí {value[:MAX_PARAM_LENGTH]!r} không có; chọn dung, du, sach hoặc song.",
        message_en=f"There is no indicator {value[:MAX_PARAM_LENGTH]!r}; choose dung, du, sach or song.",
    )


def _bad_request(request: HttpRequest, error: FieldError) -> HttpResponse:
    return render(
        request,
        "collection/quality/bad_request.html",
        {"message": error.message(request.LANGUAGE_CODE), "code": error.code},
        status=400,
    )


def _unit_and_indicator(request: HttpRequest) -> tuple[AdminUnit | None, str | None] | HttpResponse:
    """The unit (?unit=) and indicator (?indicator=) asked for, or the page that refuses them: 400 for a
    malformed one, 404 alike for a unit that does not exist and one outside the officer's area."""
    code = request.GET.get("unit", "").strip()
    indicator = request.GET.get("indicator", "").strip() or None
    if indicator is not None and indicator not in selectors.INDICATOR_FILTERS:
        return _bad_request(request, _indicator_error(indicator))
    try:
        unit = selectors.scorecard_unit(
            actor=current_user(request), code=code[: MAX_PARAM_LENGTH + 1] or None
        )
    except DomainError as exc:
        return _bad_request(request, exc.errors[0])
    except NotFoundError:
        raise Http404 from None
    return unit, indicator


@officer_required
def scorecard_view(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    language = request.LANGUAGE_CODE
    english = language.startswith("en")
    asked = _unit_and_indicator(request)
    if isinstance(asked, HttpResponse):
        return asked
    unit, indicator = asked
    card = selectors.scorecard_get(actor=user, unit=unit)
    # A province's communes are many: a page of them at a time, the worst first.
    units = selectors.sub_units_page(card, page=request.GET.get("units_page", "1")[:MAX_PARAM_LENGTH])
    page = selectors.records_needing_work(
        actor=user,
        unit=unit,
        page=request.GET.get("page", "1")[:MAX_PARAM_LENGTH],
        indicator=indicator,
        purpose=purpose_of(request),
    )
    labels = {str(i): INDICATOR_LABELS[i][1 if english else 0] for i in Indicator}
    records: list[dict[str, Any]] = [
        {
            "assessment": assessment,
            "citizen": assessment.citizen,
            "failed": [labels[i] for i in labels if not getattr(assessment, i)],
            "reasons": [
                {
                    "indicator": labels[failure["indicator"]],
                    "code": failure["code"],
                    "text": failure_message(failure, language),
                }
                for failure in assessment.failures
            ],
        }
        for assessment in page.object_list
    ]
    return render(
        request,
        "collection/quality/scorecard.html",
        {
            "card": card,
            "unit": unit,
            "unit_code": unit.code if unit is not None else "",
            "indicators": [
                {
                    "key": key,
                    "label": label,
                    "passed": card.figures.counts.get(key, 0),
                    "percent": card.figures.percent(key),
                }
                for key, label in labels.items()
            ],
            "indicator_labels": labels,
            "indicator": indicator,
            "sub_units": [
                {
                    "unit": sub,
                    "figures": figures,
                    "percent": figures.passed_all_percent,
                    "cells": [(label, figures.counts.get(key, 0)) for key, label in labels.items()],
                }
                for sub, figures in units.object_list
            ],
            "units": units,
            "chart": trend_chart(card.trend),
            "page": page,
            "records": records,
        },
    )


@officer_required
def scorecard_export_view(request: HttpRequest, file_format: str) -> HttpResponse:
    """The scorecard of a unit and its sub-units (counts only: nothing in the access log); the XLSX adds
    the trend."""
    if file_format not in downloads.FORMATS:
        raise Http404
    asked = _unit_and_indicator(request)
    if isinstance(asked, HttpResponse):
        return asked
    unit, _indicator = asked
    card = selectors.scorecard_get(actor=current_user(request), unit=unit)
    return exports.scorecard_file(card, unit=unit, file_format=file_format)


@officer_required
def records_export_view(request: HttpRequest, file_format: str) -> HttpResponse:
    """Every record of the unit that needs work (or that fails the indicator asked for), worst first; each
    citizen written to the file is written to the access log."""
    if file_format not in downloads.FORMATS:
        raise Http404
    asked = _unit_and_indicator(request)
    if isinstance(asked, HttpResponse):
        return asked
    unit, indicator = asked
    actor = current_user(request)
    records = selectors.records_needing_work_export(
        actor=actor, unit=unit, indicator=indicator, purpose=purpose_of(request)
    )
    return exports.records_file(
        records,
        area=unit or selectors.legacy_area(actor),
        indicator=indicator,
        file_format=file_format,
        language=request.LANGUAGE_CODE,
    )
