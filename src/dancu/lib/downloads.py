"""Files officers download: CSV and XLSX, both streamed row by row as they are read.

Cells that look like formulas are written as text (a name starting with "=" in a legacy record must not
run when the file is opened), characters an XLSX cannot store are dropped, column headers included (an
imported file's header names are the uploader's text too), and a CSV starts with a byte-order mark so
that Excel reads its Vietnamese as UTF-8. Neither format holds more than the current row in memory, so a
file of a million rows costs what a file of ten does.

An XLSX is a zip of a few XML parts. It is written here as it is sent (`xlsx_chunks`): the fixed parts
first, then each sheet's rows, compressed as they come, the sizes of each part after it (the zip's data
descriptors). Written whole to a temporary file first (openpyxl's write-only workbook), a file of 600,000
rows sent its first byte after almost nine minutes: longer than a proxy or a browser waits, and an
export whose reads were logged as they were written was logged for a file nobody received. Streamed,
it starts at once, and a read is logged when its rows go out, as for a CSV.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, cast, get_args
from xml.sax.saxutils import escape, quoteattr

from django.http import HttpResponse, StreamingHttpResponse

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


# The fixed parts of a workbook: its content types, its relations, its sheets' names, one plain style.
_CONTENT_TYPES_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "{sheets}</Types>"
)
_SHEET_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
)
_ROOT_RELS_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    "<sheets>{sheets}</sheets></workbook>"
)
_WORKBOOK_RELS_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    "{sheets}"
    '<Relationship Id="rIdStyles" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>'
)
_STYLES_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_END = "</sheetData></worksheet>"
# Bytes gathered before they are handed to the server: a few compressed rows per write would be slow.
_SEND_SIZE = 64 * 1024


def _column(index: int) -> str:
    """The column's letters: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _row_xml(number: int, values: list[Any], columns: list[str]) -> str:
    cells = []
    for index, value in enumerate(values):
        while index >= len(columns):
            columns.append(_column(len(columns)))
        ref = f"{columns[index]}{number}"
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, int | float):
            cells.append(f'<c r="{ref}"><v>{value!r}</v></c>')
        else:
            cells.append(
                f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'
            )
    return f'<row r="{number}">{"".join(cells)}</row>'


class _Pending:
    """Where the zip writes: bytes kept until they are taken, with no seek, so that the zip writes each
    part's sizes after it."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        # Part of the writable file the zip module is typed to take; it never closes a file it was given.
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts, self.size = [], 0
        return data


def xlsx_chunks(sheets: Sequence[Sheet]) -> Iterator[bytes]:
    """A workbook of one or more sheets, as the bytes to send, produced as the rows are read."""
    pending = _Pending()
    titles = [title for title, _headers, _rows in sheets]
    with zipfile.ZipFile(pending, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        sheet_types = "".join(_SHEET_TYPE.format(n=n) for n in range(1, len(titles) + 1))
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES_XML.format(sheets=sheet_types))
        archive.writestr("_rels/.rels", _ROOT_RELS_XML)
        archive.writestr(
            "xl/workbook.xml",
            _WORKBOOK_XML.format(
                sheets="".join(
                    f'<sheet name={quoteattr(spreadsheet_text(title)[:31])} sheetId="{n}" r:id="rId{n}"/>'
                    for n, title in enumerate(titles, start=1)
                )
            ),
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            _WORKBOOK_RELS_XML.format(
                sheets="".join(
                    f'<Relationship Id="rId{n}" '
                    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                    f'Target="worksheets/sheet{n}.xml"/>'
                    for n in range(1, len(titles) + 1)
                )
            ),
        )
        archive.writestr("xl/styles.xml", _STYLES_XML)
        yield pending.take()
        for n, (_title, headers, rows) in enumerate(sheets, start=1):
            columns: list[str] = []
            with archive.open(f"xl/worksheets/sheet{n}.xml", "w") as part:
                part.write(_SHEET_START.encode())
                part.write(_row_xml(1, _text_safe(headers), columns).encode())
                for number, row in enumerate(rows, start=2):
                    part.write(_row_xml(number, _text_safe(row), columns).encode())
                    if pending.size >= _SEND_SIZE:
                        yield pending.take()
                part.write(_SHEET_END.encode())
    yield pending.take()


def download(file_format: str, name: str, sheets: list[Sheet]) -> HttpResponse:
    """A CSV (of the first sheet) or an XLSX, streamed as the rows are read: the first bytes leave at
    once, whatever the size. The page and the API answer with the same files."""
    if file_format == "csv":
        _title, headers, rows = sheets[0]
        body: Iterator[Any] = csv_lines(headers, rows)
    else:
        body = xlsx_chunks(sheets)
    streamed = StreamingHttpResponse(body, content_type=CONTENT_TYPES[file_format])
    streamed["Content-Disposition"] = f'attachment; filename="{name}"'
    # A streamed file is not an HttpResponse to the type checker, though the decorators treat it as one.
    return cast(HttpResponse, streamed)
