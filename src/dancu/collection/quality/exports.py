"""The scorecard and the records behind it as files: CSV (streamed) and XLSX (written row by row), by
`lib.downloads`.

Column headers are in Vietnamese, the language of the officers who open these files in a spreadsheet;
docs/quality.md gives them in English.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

from dancu.collection.quality.checks import INDICATOR_LABELS, Indicator, failure_message
from dancu.collection.quality.models import QualityAssessment
from dancu.collection.quality.selectors import Figures, Scorecard
from dancu.geo.models import AdminUnit
from dancu.lib import downloads

_INDICATORS = list(Indicator)
_VI = {i: INDICATOR_LABELS[i][0] for i in Indicator}

SCORECARD_HEADERS = [
    "Mã đơn vị",
    "Tên đơn vị",
    "Số hồ sơ",
    *(header for i in _INDICATORS for header in (f"{_VI[i]}", f"{_VI[i]} (%)")),
    "Đạt cả bốn",
    "Đạt cả bốn (%)",
]
TREND_HEADERS = ["Ngày", "Số hồ sơ", *(_VI[i] for i in _INDICATORS), "Đạt cả bốn"]
RECORD_HEADERS = [
    "Số định danh",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Xã, phường",
    "Điểm",
    "Số lỗi",
    "Tiêu chí chưa đạt",
    "Mã quy tắc",
    "Lý do",
]


def _figures_row(code: str, name: str, figures: Figures) -> list[Any]:
    cells: list[Any] = [code, name, figures.records]
    for indicator in _INDICATORS:
        cells += [figures.counts.get(str(indicator), 0), figures.percent(str(indicator))]
    return [*cells, figures.passed_all, figures.passed_all_percent]


def scorecard_rows(card: Scorecard) -> Iterator[list[Any]]:
    """The unit itself (or the country), then each sub-unit: counts passing each indicator, and shares."""
    unit: AdminUnit | None = card.area
    yield _figures_row(unit.code if unit else "VN", unit.name if unit else "Cả nước", card.figures)
    for sub, figures in card.sub_units:
        yield _figures_row(sub.code, sub.name, figures)


def trend_rows(card: Scorecard) -> Iterator[list[Any]]:
    for point in card.trend:
        yield [
            point.day.isoformat(),
            point.records,
            *(point.counts.get(str(i), 0) for i in _INDICATORS),
            point.passed_all,
        ]


def record_rows(assessments: Iterable[QualityAssessment], *, language: str) -> Iterator[list[Any]]:
    """One row per record that needs work; the reasons in the reader's language."""
    for assessment in assessments:
        citizen = assessment.citizen
        commune = citizen.area_commune
        yield [
            citizen.pin,
            citizen.full_name,
            str(citizen.birth_date) if citizen.birth_date else "",
            citizen.get_sex_display(),
            commune.name if commune is not None else "",
            assessment.score,
            assessment.failure_count,
            ", ".join(_VI[i] for i in _INDICATORS if not getattr(assessment, str(i))),
            ", ".join(failure["code"] for failure in assessment.failures),
            "; ".join(failure_message(failure, language) for failure in assessment.failures),
        ]


def _file_name(kind: str, unit: AdminUnit | None, indicator: str | None, file_format: str) -> str:
    today = timezone.localdate().isoformat()
    return f"{kind}-{unit.code if unit else 'VN'}{'-' + indicator if indicator else ''}-{today}.{file_format}"


def scorecard_file(card: Scorecard, *, unit: AdminUnit | None, file_format: str) -> HttpResponse:
    """The scorecard of a unit and its sub-units as a download; the XLSX adds the trend. The page's button
    and the API answer with this same file."""
    return downloads.download(
        file_format,
        _file_name("chat-luong", unit or card.area, None, file_format),
        [
            ("Tổng hợp", SCORECARD_HEADERS, scorecard_rows(card)),
            ("Theo ngày", TREND_HEADERS, trend_rows(card)),
        ],
    )


def records_file(
    assessments: Iterable[QualityAssessment],
    *,
    area: AdminUnit | None,
    indicator: str | None,
    file_format: str,
    language: str,
) -> HttpResponse:
    """The records of an area that need work as a download, the reasons in the reader's language; the
    file is named after the area (None: the whole country)."""
    return downloads.download(
        file_format,
        _file_name("ho-so-can-lam-sach", area, indicator, file_format),
        [("Hồ sơ cần làm sạch", RECORD_HEADERS, record_rows(assessments, language=language))],
    )
