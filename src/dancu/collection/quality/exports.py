"""The scorecard and the records behind it as files: CSV (streamed) and XLSX (written row by row).

Column headers are in Vietnamese, the language of the officers who open these files in a spreadsheet;
docs/quality.md gives them in English. Cells that look like formulas are written as text (a name starting
with "=" in a legacy record must not run when the file is opened), and a CSV starts with a byte-order mark
so that Excel reads its Vietnamese as UTF-8.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook

from dancu.collection.quality.checks import INDICATOR_LABELS, Indicator, failure_message
from dancu.collection.quality.models import QualityAssessment
from dancu.collection.quality.selectors import Figures, Scorecard
from dancu.collection.reports import spreadsheet_text
from dancu.geo.models import AdminUnit

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

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
    unit: AdminUnit | None = card.unit
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


def _text_safe(row: list[Any]) -> list[Any]:
    return [
        value if isinstance(value, int | float) or value is None else spreadsheet_text(value) for value in row
    ]


class _Line:
    """A file-like object that hands back what the csv writer writes, one line at a time."""

    def write(self, value: str) -> str:
        return value


def csv_lines(headers: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """The CSV as lines, produced as the rows are read: nothing is held but the current row."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(headers)
    for row in rows:
        yield writer.writerow(["" if value is None else value for value in _text_safe(row)])


def write_xlsx(path: Path, sheets: Sequence[tuple[str, list[str], Iterable[list[Any]]]]) -> None:
    """A workbook of one or more sheets, written row by row (openpyxl's write-only mode keeps no rows in
    memory)."""
    workbook = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append(headers)
        for row in rows:
            sheet.append(_text_safe(row))
    workbook.save(path)


Sheet = tuple[str, list[str], Iterable[list[Any]]]  # title, column headers, rows


def _file_name(kind: str, unit: AdminUnit | None, indicator: str | None, file_format: str) -> str:
    today = timezone.localdate().isoformat()
    return f"{kind}-{unit.code if unit else 'VN'}{'-' + indicator if indicator else ''}-{today}.{file_format}"


def download(file_format: str, name: str, sheets: list[Sheet]) -> HttpResponse:
    """A CSV streamed line by line (of the first sheet), or an XLSX written row by row to a temporary file
    that is gone once sent. The page and the API answer with the same files."""
    if file_format == "csv":
        _title, headers, rows = sheets[0]
        streamed = StreamingHttpResponse(csv_lines(headers, rows), content_type=CONTENT_TYPES["csv"])
        streamed["Content-Disposition"] = f'attachment; filename="{name}"'
        return cast(HttpResponse, streamed)
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 - closed by the response
    write_xlsx(Path(handle.name), sheets)
    handle.seek(0)
    response = FileResponse(handle, as_attachment=True, filename=name, content_type=CONTENT_TYPES["xlsx"])
    # A streamed file is not an HttpResponse to the type checker, though the decorators treat it as one.
    return cast(HttpResponse, response)


def scorecard_file(card: Scorecard, *, unit: AdminUnit | None, file_format: str) -> HttpResponse:
    """The scorecard of a unit and its sub-units as a download; the XLSX adds the trend. The page's button
    and the API answer with this same file."""
    return download(
        file_format,
        _file_name("chat-luong", unit, None, file_format),
        [
            ("Tổng hợp", SCORECARD_HEADERS, scorecard_rows(card)),
            ("Theo ngày", TREND_HEADERS, trend_rows(card)),
        ],
    )


def records_file(
    assessments: Iterable[QualityAssessment],
    *,
    unit: AdminUnit | None,
    indicator: str | None,
    file_format: str,
    language: str,
) -> HttpResponse:
    """The records of a unit that need work as a download, the reasons in the reader's language."""
    return download(
        file_format,
        _file_name("ho-so-can-lam-sach", unit, indicator, file_format),
        [("Hồ sơ cần làm sạch", RECORD_HEADERS, record_rows(assessments, language=language))],
    )
