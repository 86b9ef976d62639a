"""The dashboard's figures as a workbook (XLSX) and a printable report (PDF), in the reader's language.

Both are made from the same `Figures` the pages show, so a printed report and the screen never disagree.
The workbook keeps numbers as numbers (formatted by the spreadsheet), so leaders can sum and chart them.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from dancu.campaigns.figures import Figures, MetricFigures
from dancu.lib.downloads import spreadsheet_text
from dancu.lib.numbers import format_decimal, format_int, format_percent
from dancu.lib.pdf import pdf_document


def unit_name(figures: Figures) -> str:
    return figures.unit.name if figures.unit is not None else _("Toàn quốc")


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def not_started_text(figures: Figures) -> str:
    """What the dashboard says of a campaign whose first day is after the figures' day, in the same words."""
    return _("chưa bắt đầu: số liệu đến hết %(day)s, chưa có chỉ tiêu nào đến hạn") % {
        "day": _day(figures.as_of)
    }


def period_text(figures: Figures) -> str:
    """The days the figures cover. Before the campaign's first day there is no such range to print (the
    start asked for falls after the day): the report says the campaign has not started, as the page does."""
    if not figures.started:
        return not_started_text(figures)
    # Whole sentences with placeholders, never gettext inside an f-string: makemessages does not look
    # there, and the English report printed "Số liệu từ ngày … to …".
    text = _("Số liệu từ ngày %(since)s đến ngày %(day)s") % {
        "since": _day(figures.since),
        "day": _day(figures.as_of),
    }
    if figures.in_progress:
        text += f" ({in_progress_text()})"
    return text


def in_progress_text() -> str:
    """Why, exported during the day, the day's own quota is not in "Cần đạt đến nay"."""
    return _("ngày này chưa hết, chỉ tiêu của ngày chưa tính vào cần đạt")


def _summary_header() -> list[str]:
    return [
        _("Chỉ số"),
        _("Đạt được"),
        _("Chỉ tiêu"),
        _("Tỷ lệ (%)"),
        _("Cần đạt đến nay"),
        _("Bình quân/ngày"),
        _("Dự kiến hoàn thành"),
        _("Đơn vị đạt"),
    ]


def _met_of(metric: MetricFigures) -> str:
    return f"{metric.units_met}/{len(metric.units_with_target)}" if metric.rows else "—"


def figures_xlsx(figures: Figures, *, language: str = "vi") -> bytes:
    # openpyxl (and NumPy, which it loads) is imported when a workbook is made, not by every process that
    # loads the URL configuration.
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    with translation.override(language):
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = _("Tổng hợp")[:31]
        _append(sheet, [figures.campaign.name])
        _append(sheet, [_("Đơn vị"), unit_name(figures)])
        if figures.started:
            note = [in_progress_text()] if figures.in_progress else []
            _append(sheet, [_("Từ ngày"), figures.since, _("Đến ngày"), figures.as_of, *note])
        else:
            _append(sheet, [_("Đến ngày"), figures.as_of, not_started_text(figures)])
        _append(sheet, [])
        _append(sheet, _summary_header())
        for metric in figures.metrics:
            _append(
                sheet,
                [
                    metric.metric.label(language),
                    metric.achieved,
                    metric.target,
                    round(metric.pct, 1) if metric.pct is not None else None,
                    metric.expected,
                    round(metric.pace, 1),
                    metric.forecast,
                    _met_of(metric),
                ],
            )
        _bold_row(sheet, 5)
        trend = book.create_sheet(_("Theo ngày")[:31])
        _append(trend, [_("Ngày"), *(m.metric.label(language) for m in figures.metrics)])
        for i, day in enumerate(figures.metrics[0].days if figures.metrics else []):
            _append(trend, [day.day, *(m.days[i].count for m in figures.metrics)])
        _bold_row(trend, 1)
        for metric in figures.metrics:
            if metric.rows:
                ranking = book.create_sheet(f"{metric.metric.code}"[:31])
                _append(ranking, _ranking_header(with_code=True))
                for row in metric.rows:
                    _append(
                        ranking,
                        [
                            row.rank,
                            row.unit.code,
                            row.unit.name,
                            row.achieved,
                            row.target,
                            round(row.pct, 1) if row.pct is not None else None,
                            row.expected,
                            row.shortfall if row.expected is not None else None,
                        ],
                    )
                _bold_row(ranking, 1)
            for key, rows in metric.breakdowns.items():
                sheet_name = f"{metric.metric.code}-{key}"[:31]
                detail = book.create_sheet(sheet_name)
                _append(detail, [_breakdown_title(key), _("Đạt được")])
                for item in rows:
                    _append(detail, [item.label or _("(không ghi)"), item.achieved])
                _bold_row(detail, 1)
        for each in book.worksheets:
            for column in range(1, each.max_column + 1):
                each.column_dimensions[get_column_letter(column)].width = 18 if column > 1 else 34
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()


def _append(sheet: Any, values: list[Any]) -> None:
    # Campaign, unit, officer, point and team names are typed by people: a name starting with "=" must stay
    # text in the leaders' spreadsheet, not become a formula openpyxl writes and Excel runs.
    sheet.append([spreadsheet_text(value) if isinstance(value, str) else value for value in values])
    # openpyxl shows a day as 2026-12-06; the leaders read 06/12/2026. The cell stays a date (sortable).
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, date):
            cell.number_format = "dd/mm/yyyy"


def _ranking_header(*, with_code: bool) -> list[str]:
    # What is due by now and how short of it a unit is: the meeting asks "who is behind, by how much",
    # and the ranking by percentage alone does not say it.
    code = [_("Mã")] if with_code else []
    return [
        _("Hạng"),
        *code,
        _("Đơn vị"),
        _("Đạt được"),
        _("Chỉ tiêu"),
        _("Tỷ lệ (%)"),
        _("Cần đạt đến nay"),
        _("Còn thiếu"),
    ]


def _bold_row(sheet: object, row: int) -> None:
    from openpyxl.styles import Font

    for cell in sheet[row]:  # type: ignore[index]
        cell.font = Font(bold=True)


def _breakdown_title(key: str) -> str:
    titles = {"officer": _("Cán bộ"), "point": _("Điểm thu nhận"), "team": _("Tổ công tác"), "shift": _("Ca")}
    return titles[key]


def figures_pdf(figures: Figures, *, language: str = "vi") -> bytes:
    with translation.override(language):
        title = f"{figures.campaign.name} — {unit_name(figures)}"
        pdf = pdf_document(title, orientation="landscape")
        pdf.add_page()
        pdf.set_font(size=14, style="B")
        pdf.multi_cell(0, 8, title)
        pdf.set_font(size=10)
        pdf.cell(0, 6, period_text(figures))
        pdf.ln(9)
        rows = [_summary_header()]
        for metric in figures.metrics:
            rows.append(
                [
                    metric.metric.label(language),
                    format_int(metric.achieved, language),
                    format_int(metric.target, language),
                    format_percent(metric.pct, language),
                    format_int(metric.expected, language),
                    # One decimal, as in the spreadsheet: 3 in a week is 0,4 a day, not 0.
                    format_decimal(metric.pace, language),
                    _day(metric.forecast),
                    _met_of(metric),
                ]
            )
        _table(pdf, rows, widths=(70, 26, 26, 24, 30, 28, 34, 24))
        for metric in figures.metrics:
            if metric.rows:
                pdf.ln(4)
                pdf.set_font(style="B")
                pdf.cell(0, 7, _("Xếp hạng: %(metric)s") % {"metric": metric.metric.label(language)})
                pdf.ln(8)
                pdf.set_font(style="")
                ranking = [_ranking_header(with_code=False)]
                ranking += [
                    [
                        str(row.rank),
                        row.unit.name,
                        format_int(row.achieved, language),
                        format_int(row.target, language),
                        format_percent(row.pct, language),
                        format_int(row.expected, language),
                        format_int(row.shortfall if row.expected is not None else None, language),
                    ]
                    for row in metric.rows
                ]
                _table(pdf, ranking, widths=(16, 86, 32, 32, 30, 38, 30))
            for key, items in metric.breakdowns.items():
                pdf.ln(4)
                pdf.set_font(style="B")
                pdf.cell(0, 7, f"{metric.metric.label(language)}: {_breakdown_title(key)}")
                pdf.ln(8)
                pdf.set_font(style="")
                table = [[_breakdown_title(key), _("Đạt được")]]
                table += [
                    [item.label or _("(không ghi)"), format_int(item.achieved, language)] for item in items
                ]
                _table(pdf, table, widths=(120, 40))
        return bytes(pdf.output())


def _table(pdf: object, rows: list[list[str]], *, widths: tuple[int, ...]) -> None:
    with pdf.table(col_widths=widths, width=sum(widths), align="LEFT", text_align="LEFT") as table:  # type: ignore[attr-defined]
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(value)
