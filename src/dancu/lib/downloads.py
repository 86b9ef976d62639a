"""Files officers download: CSV streamed line by line, XLSX written row by row.

Cells that look like formulas are written as text (a name starting with "=" in a legacy record must not
run when the file is opened), characters an XLSX cannot store are dropped, column headers included (an
imported file's header names are the uploader's text too), and a CSV starts with a byte-order mark so
that Excel reads its Vietnamese as UTF-8. Neither format holds more than the current row in memory, so a
file of a million rows costs what a file of ten does.
"""

from __future__ import annotations

import csv
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, cast, get_args

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from openpyxl import Workbook

ExportFormat = Literal["csv", "xlsx"]
FORMATS: tuple[str, ...] = get_args(ExportFormat)
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Excel refuses cells longer than this; a longer value is cut, with a mark, rather than lost silently.
_EXCEL_CELL_LIMIT = 32_000

Sheet = tuple[str, list[str], Iterable[list[Any]]]  # title, column headers, rows

# What a cell cannot hold: the C0 control characters but tab and line feed (openpyxl refuses them and the
# download fails), and the code points XML 1.0 forbids, which openpyxl writes but which leave a workbook
# Excel cannot open (lone surrogates, U+FFFE, U+FFFF). All of them reach us in legacy files.
_NOT_IN_A_CELL = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")
# The first characters that make a spreadsheet read a cell as a formula (OWASP's "CSV injection" list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t")


def spreadsheet_text(value: object) -> str:
    """`value` as a text cell of a CSV or XLSX: without the characters a cell cannot hold, and with a
    leading apostrophe when it would otherwise be read as a formula."""
    text = "" if value is None else str(value)
    # Strip the characters a workbook cannot store, and defuse formulas: a cell starting with "=" in a
    # rejected legacy row must be shown as text, not run when a reviewer opens the file.
    text = _NOT_IN_A_CELL.sub("", text)
    if text.startswith(_FORMULA_STARTS):
        text = "'" + text
    return text if len(text) <= _EXCEL_CELL_LIMIT else text[:_EXCEL_CELL_LIMIT] + "…"


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
    yield "\ufeff" + writer.writerow(_text_safe(headers))
    for row in rows:
        yield writer.writerow(["" if value is None else value for value in _text_safe(row)])


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> None:
    """A workbook of one or more sheets, written row by row (openpyxl's write-only mode keeps no rows in
    memory)."""
    workbook = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append(_text_safe(headers))
        for row in rows:
            sheet.append(_text_safe(row))
    workbook.save(path)


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
