"""Reading person-records files (DESIGN.md) as a stream of rows, whatever state the file is in.

Legacy files arrive with the wrong delimiter, without a header, with ragged rows, in Excel, sometimes
as a binary dump or a single enormous line. The reader never loads a file into memory and never stops on
a bad row: file-level faults raise `FileRejectedError` (nothing can be read), row-level faults come back as
rows carrying their problems, so the import records them as rejected rows and goes on.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from dancu.lib import vnencoding
from dancu.lib.errors import FieldError
from dancu.lib.vntext import fold
from dancu.registry.normalize import COLUMNS

# Without these a row cannot describe a person; the others may be absent from a legacy file.
REQUIRED_COLUMNS = ("full_name", "birth_date")
# No real row of person data comes near this: a longer line is a damaged file, read past in chunks.
MAX_LINE_BYTES = 64 * 1024
# Excel keeps at most 32,767 characters in a cell, and the rejected rows' workbook writes a cell whole only
# up to 32,000 (`lib.downloads.spreadsheet_text`, an apostrophe before a formula-like text counted): a longer
# cell would come back cut there, and the officer would import half a value again. No cell of person data
# comes near it; a longer one is refused, naming its column, rather than read (see `_bound_cells`).
MAX_CELL_CHARS = 30_000
_SNIFF_BYTES = 64 * 1024
# The first bytes of a Compound File (OLE2): the Office 97-2003 formats, an .xls workbook among them.
_OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_DELIMITERS = ",;\t|"


# The names commune offices give the columns in Vietnamese, as they write them, for each column they stand
# for: what the upload page's hint lists, in this order. A header may mix them with the registry's own names.
VIETNAMESE_HEADERS: dict[str, tuple[str, ...]] = {
    "record_id": ("Mã hồ sơ", "Mã bản ghi"),
    "source": ("Nguồn", "Nguồn dữ liệu"),
    "full_name": ("Họ và tên", "Họ tên", "Họ, chữ đệm và tên"),
    "gender": ("Giới tính",),
    # Old household books often knew only the year: birth_date takes a year alone.
    "birth_date": ("Ngày sinh", "Ngày, tháng, năm sinh", "Ngày tháng năm sinh", "Năm sinh"),
    "birth_place": ("Nơi sinh",),
    "id_number": ("Số định danh", "Số định danh cá nhân", "Số CCCD"),
    "old_id_number": ("Số CMND",),
    # In the North a father is "bố": "Họ tên bố" is the Hà Nội book's column for the father's name.
    "father_name": ("Họ tên cha", "Họ và tên cha", "Họ tên bố", "Họ và tên bố"),
    "mother_name": ("Họ tên mẹ", "Họ và tên mẹ"),
    "address": ("Địa chỉ", "Địa chỉ thường trú", "Nơi thường trú"),
}

# The same names folded (no marks, lower case, single spaces: `vntext.fold`), as a header cell is looked up.
VIETNAMESE_COLUMNS = {fold(name): column for column, names in VIETNAMESE_HEADERS.items() for name in names}


_REQUIRED_IN_VIETNAMESE = {"full_name": "Họ và tên", "birth_date": "Ngày sinh"}


# The Vietnamese names by their words alone: offices separate "Ngày/tháng/năm sinh" with slashes, commas or
# nothing, as the form they copied did.
def _words(folded: str) -> str:
    return " ".join(re.sub(r"[/,.]", " ", folded).split())


_VIETNAMESE_COLUMN_WORDS = {_words(key): column for key, column in VIETNAMESE_COLUMNS.items()}


def column_name(name: str) -> str:
    """The column a header cell names: one of the registry's (`COLUMNS`) in any case and spacing, or in
    the Vietnamese most offices use ("Họ và tên", "NGÀY SINH", "Ngày/tháng/năm sinh"); any other name as
    written, in lower case."""
    key = " ".join(name.split()).lower()
    if key in COLUMNS:
        return key
    folded = fold(key)
    return VIETNAMESE_COLUMNS.get(folded) or _VIETNAMESE_COLUMN_WORDS.get(_words(folded), key)


class FileRejectedError(Exception):
    """Nothing in the file can be read as person records."""

    def __init__(self, code: str, message_vi: str, message_en: str):
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_vi = message_vi
        self.message_en = message_en


@dataclass
class Row:
    number: int  # 1 = the first data row after the header: what the import counts and resumes by
    values: dict[str, str]
    problems: list[FieldError] = field(default_factory=list)
    # The row's own number in the file, the one its reader finds it by: the spreadsheet's row number in a
    # workbook (title rows above the header and blank rows counted), the physical line on which the record
    # starts in a CSV file (the header line and blank lines counted; a quoted cell may span lines).
    line: int = 0


@dataclass
class Source:
    path: Path
    file_format: str
    columns: list[str]
    sha256: str
    size: int
    delimiter: str = ","
    # How many data rows the file holds, at most (see `ImportRun.rows_total`); None when it cannot tell.
    rows_estimate: int | None = None
    # In a workbook: the sheet (0 = the first) and the row (1 = the first) that hold the header.
    sheet: int = 0
    header_row: int = 1
    # The header's cells as the file writes them ("Mã hồ sơ", "Họ và tên"), one for each of `columns`: what
    # the rejected rows' workbook gives back to the officer who corrects and imports them again.
    header: list[str] = field(default_factory=list)


def file_digest(path: Path) -> tuple[str, int, int]:
    """The file's SHA-256, its size and its number of lines, in one pass over the bytes (counting line
    breaks costs next to nothing beside the hash, and gives the progress bar its end from the start)."""
    digest = hashlib.sha256()
    size = lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    # A last line without a line break is a line too.
    return digest.hexdigest(), size, lines + (last != b"\n")


def _row_problem(column: str, code: str, vi: str, en: str) -> FieldError:
    return FieldError(field=column, code=code, message_vi=vi, message_en=en)


# How much of a ragged row's cells beyond the header its reason quotes.
EXTRA_CELLS_QUOTED = 200


def _extra_cells(cells: Sequence[str]) -> str:
    """The cells of a row beyond the header's columns, quoted for its reason: they are kept under no column,
    so the rejected rows' workbook would lose them, and they are what the officer needs to mend the row
    (most often an address whose comma was taken for a delimiter). Empty cells are left out, and the
    quote is cut at EXTRA_CELLS_QUOTED characters, since a reason is a sentence, not a copy of the row."""
    quoted = ", ".join(f"«{cell.strip()}»" for cell in cells if cell.strip())
    return quoted if len(quoted) <= EXTRA_CELLS_QUOTED else quoted[: EXTRA_CELLS_QUOTED - 1] + "…"


def check_regular_file(path: Path) -> None:
    """Raise FileRejectedError unless `path` is a regular file: `file.missing` when nothing is there,
    `file.not_regular` for a folder, a device or a pipe. A command calls it before it checks its other
    options, so that a mistyped input is named as such first."""
    if not path.exists():
        raise FileRejectedError("file.missing", f"Không có tệp {path}", f"No such file: {path}")
    if not path.is_file():
        # A folder, a device (/dev/null) or a pipe: there is something there, so "no such file" would
        # send the operator looking for a typo. A pipe is refused too, since the file is read twice (its
        # digest, then its rows) and a pipe can be read once.
        raise FileRejectedError(
            "file.not_regular",
            f"{path} không phải tệp thường (là thư mục, thiết bị hoặc ống dẫn)",
            f"{path} is not a regular file (it is a directory, a device or a pipe)",
        )


def open_source(path: Path) -> Source:
    """Identify the file and its columns; raise FileRejectedError when it cannot be read at all or holds
    no row after its header."""
    source = _open_source(path)
    if source.rows_estimate == 0:
        # An office that sent the template without its list: an import of nothing would be "finished" with
        # no refusal, and the supervisor would take the commune's list for imported.
        raise FileRejectedError(
            "file.no_rows",
            "Tệp chỉ có dòng tiêu đề, không có dòng dữ liệu nào",
            "The file has a header line and no data rows",
        )
    return source


def _open_source(path: Path) -> Source:
    check_regular_file(path)
    try:
        sha, size, lines = file_digest(path)
    except OSError as exc:
        raise FileRejectedError(
            "file.unreadable",
            f"Không đọc được tệp {path} ({exc.strerror or exc})",
            f"The file {path} cannot be read ({exc.strerror or exc})",
        ) from None
    if size == 0:
        raise FileRejectedError("file.empty", "Tệp rỗng", "The file is empty")
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if head.startswith(b"PK\x03\x04"):
        header_cells, rows, sheet, header_row = _xlsx_header(path)
        return Source(
            path=path,
            file_format="xlsx",
            columns=[column_name(cell) for cell in header_cells],
            sha256=sha,
            size=size,
            rows_estimate=rows,
            sheet=sheet,
            header_row=header_row,
            header=header_cells,
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # What Excel saves as "Unicode Text": text all the same, but every other byte is NUL, and the
        # officer is better told how to save it than that it is no text.
        raise FileRejectedError(
            "file.utf16",
            "Tệp là văn bản UTF-16 (Excel: “Văn bản Unicode”): hãy lưu lại dạng “CSV UTF-8”",
            "The file is UTF-16 text (Excel's “Unicode Text”): save it again as “CSV UTF-8”",
        )
    if head.startswith(_OLE2_MAGIC):
        # An Excel 97-2003 workbook (.xls), whatever its name: binary, but what to do with it is known.
        raise FileRejectedError(
            "file.binary",
            "Tệp là bảng tính Excel cũ (.xls, Excel 97–2003): hãy mở bằng Excel hoặc LibreOffice và lưu lại "
            "dạng .xlsx hoặc CSV UTF-8",
            "The file is an old Excel workbook (.xls, Excel 97-2003): open it in Excel or LibreOffice and "
            "save it as .xlsx or CSV UTF-8",
        )
    if b"\x00" in head:
        raise FileRejectedError(
            "file.binary",
            "Tệp không phải văn bản CSV hay bảng tính XLSX (có byte nhị phân)",
            "The file is neither CSV text nor an XLSX workbook (it contains binary bytes)",
        )
    first_line_end = head.find(b"\n")
    if first_line_end < 0 and len(head) == _SNIFF_BYTES:
        raise FileRejectedError(
            "file.no_header",
            "Dòng đầu tiên quá dài: tệp không có dòng tiêu đề đọc được",
            "The first line is too long: the file has no readable header line",
        )
    header_line = head[: first_line_end if first_line_end >= 0 else len(head)]
    try:
        header_text = header_line.decode("utf-8-sig")
    except UnicodeDecodeError:
        # A header in Vietnamese ("Họ và tên;Ngày sinh") saved by the office's old software is in the
        # legacy encoding of the rows below it: read it as they are read (`_parse_line`). The delimiters
        # are ASCII in every one of these encodings, so the line can be decoded whole, before it is split.
        legacy = _legacy_cells([vnencoding.decode_bytes(header_line)])
        if legacy is None:
            raise FileRejectedError(
                "file.encoding",
                "Dòng tiêu đề không đọc được: không phải UTF-8, cũng không phải bảng mã cũ TCVN3 (ABC), VNI "
                "hay Windows-1258; hãy lưu tệp dưới dạng CSV UTF-8",
                "The header line cannot be read: it is neither UTF-8 nor the legacy TCVN3 (ABC), VNI or "
                "Windows-1258; save the file as CSV UTF-8",
            ) from None
        header_text = legacy[0]
    if "\r" in header_text.rstrip("\r"):
        # Lines are read up to each line feed, so that an interrupted import resumes at a line number.
        raise FileRejectedError(
            "file.line_ends",
            "Tệp xuống dòng chỉ bằng ký tự CR (kiểu Mac cũ): hãy lưu lại tệp dưới dạng CSV UTF-8",
            "The file ends its lines with CR alone (old Mac style): save it again as CSV UTF-8",
        )
    delimiter = _delimiter(header_text)
    try:
        header = next(csv.reader([header_text], delimiter=delimiter))
    except csv.Error as exc:
        raise FileRejectedError(
            "file.no_header", f"Dòng tiêu đề không đọc được: {exc}", f"The header line cannot be read: {exc}"
        ) from None
    # The header line is read within its first 64 KB, which leaves room for a cell over the bound.
    _bound_header(header)
    columns = [column_name(name) for name in header]
    _check_columns(columns)
    return Source(
        path=path,
        file_format="csv",
        columns=columns,
        sha256=sha,
        size=size,
        delimiter=delimiter,
        rows_estimate=max(lines - 1, 0),  # the header is not a data row
        header=header,
    )


def _delimiter(header: str) -> str:
    """The delimiter that splits the header into known column names (a header is what tells)."""
    best, best_known = ",", -1
    for candidate in _DELIMITERS:
        names = {column_name(name) for name in header.split(candidate)}
        known = len(names & set(COLUMNS))
        if known > best_known:
            best, best_known = candidate, known
    return best


def _bound_header(cells: list[str]) -> None:
    """Refuse a header with a cell over MAX_CELL_CHARS (`file.header_too_long`), naming its column by
    position. A data cell that long rejects its row (`_bound_cells`), but the header's cells are kept on
    the run, shown on its pages and written as the titles of the rejected rows' workbook, which Excel cuts
    at its cell limit: no column of a book is named by 30,000 characters, so the file is damaged or not a
    book, and the officer is told which cell before anything is staged."""
    for position, cell in enumerate(cells, start=1):
        if len(cell) > MAX_CELL_CHARS:
            raise FileRejectedError(
                "file.header_too_long",
                f"Ô tiêu đề ở cột {position} có {len(cell)} ký tự, quá {MAX_CELL_CHARS} ký tự một ô được "
                "có: tệp không đọc được",
                f"The header cell of column {position} holds {len(cell)} characters, over the "
                f"{MAX_CELL_CHARS} a cell may hold: the file cannot be read",
            )


def _check_columns(columns: list[str]) -> None:
    if not set(columns) & set(COLUMNS):
        raise FileRejectedError(
            "file.no_header",
            "Không có dòng tiêu đề: dòng đầu phải nêu tên cột (full_name hoặc “Họ và tên”, birth_date "
            "hoặc “Ngày sinh”, ...)",
            "No header line: the first line must name the columns (full_name or “Họ và tên”, birth_date "
            "or “Ngày sinh”, ...)",
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        named = ", ".join(f"{name} (“{_REQUIRED_IN_VIETNAMESE[name]}”)" for name in missing)
        raise FileRejectedError(
            "file.missing_columns",
            f"Thiếu cột bắt buộc: {named}",
            f"Required columns are missing: {named}",
        )
    duplicates = sorted({name for name in columns if name and columns.count(name) > 1})
    if duplicates:
        raise FileRejectedError(
            "file.duplicate_columns",
            f"Cột bị lặp: {', '.join(duplicates)}",
            f"Columns appear twice: {', '.join(duplicates)}",
        )


def read_rows(source: Source, *, skip: int = 0) -> Iterator[Row]:
    """The data rows after the header, numbered from 1, starting after the first `skip` rows."""
    if source.file_format == "xlsx":
        yield from _xlsx_rows(source, skip=skip)
    else:
        yield from _csv_rows(source, skip=skip)


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """Physical lines after the header as bytes, each with its line number in the file (the header is
    line 1) and cut at MAX_LINE_BYTES; the flag says the line was too long, and the bytes are then its
    first MAX_LINE_BYTES.

    The disk, the network share or the USB stick the file is on may fail part-way (EIO, ESTALE): that is
    `file.read_failed`, naming the last line read whole. The rows before it are read, and an import keeps
    them and fails as it does for a workbook damaged part-way; the same command again, once the file can be
    read, goes on."""
    read = 0
    try:
        with path.open("rb") as handle:
            handle.readline(MAX_LINE_BYTES)  # the header
            read = 1
            while line := handle.readline(MAX_LINE_BYTES):
                too_long = len(line) >= MAX_LINE_BYTES and not line.endswith(b"\n")
                if too_long:
                    # Read past the rest of the line in chunks: a 2 GB line never sits in memory.
                    while (rest := handle.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                        pass
                read += 1
                yield read, line, too_long
    except OSError as exc:
        raise _read_failed(exc, read) from None


def _read_failed(exc: OSError, line: int) -> FileRejectedError:
    reason = exc.strerror or str(exc)
    return FileRejectedError(
        "file.read_failed",
        f"Không đọc tiếp được tệp sau dòng {line} ({reason}); các dòng trước đã được đọc. Hãy kiểm tra ổ "
        "đĩa hoặc chép tệp về máy, rồi nhập lại tệp đó: việc nhập đi tiếp từ chỗ dừng",
        f"The file could not be read past line {line} ({reason}); the lines before it were read. Check the "
        "disk or copy the file to this machine, then import that file again: the import goes on from "
        "where it stopped",
    )


def _csv_rows(source: Source, *, skip: int) -> Iterator[Row]:
    columns = source.columns
    number = 0
    pending = b""
    # The physical line the pending record started on.
    pending_start = 0
    for line_number, line, too_long in _lines(source.path):
        if too_long:
            number += 1
            start = pending_start if pending else line_number
            # The record's first bytes, those of the lines it began on included (a quoted cell may span
            # lines): at most twice MAX_LINE_BYTES, read only for the record's ID.
            head, pending = pending + line, b""
            if number > skip:
                yield Row(
                    number,
                    _leading_record_id(head, columns, source.delimiter),
                    [
                        _row_problem(
                            "",
                            "row.too_long",
                            f"Dòng dài quá {MAX_LINE_BYTES // 1024} KB, bỏ qua",
                            f"Line longer than {MAX_LINE_BYTES // 1024} KB, skipped",
                        )
                    ],
                    line=start,
                )
            continue
        if not pending:
            pending_start = line_number
        pending += line
        # A quoted field may hold a line break: keep reading until the quotes balance.
        if pending.count(b'"') % 2 == 1 and len(pending) < MAX_LINE_BYTES:
            continue
        raw, pending = pending, b""
        if not raw.strip():
            continue
        number += 1
        if number <= skip:
            continue
        yield _parse_line(raw, number, columns, source.delimiter, line=pending_start)
    if pending.strip():
        number += 1
        if number > skip:
            yield _parse_line(pending, number, columns, source.delimiter, line=pending_start)


# A record ID longer than this in a line too long to read is part of the damage, not an ID.
_MAX_RECORD_ID = 100


def _leading_record_id(head: bytes, columns: list[str], delimiter: str) -> dict[str, str]:
    """The record ID of a line too long to read, from its first bytes, so that the rejected rows' workbook
    names the record as well as its line: {"record_id": ...}, or {} when it cannot be read safely.

    Only the cells before the last delimiter of `head` can be whole (the line was cut anywhere, inside a
    quoted cell too), and the ID is taken only from among those: never half an ID. A line whose first bytes
    are not UTF-8 (an old encoding) gives an ID only when it is plain ASCII, the same in every encoding."""
    if "record_id" not in columns:
        return {}
    cut = head.rfind(delimiter.encode())
    if cut < 0:
        return {}
    whole = head[: cut + 1]
    try:
        text, legacy = whole.decode("utf-8"), False
    except UnicodeDecodeError:
        text, legacy = vnencoding.decode_bytes(whole), True
    # Not strict: the cut may leave a quoted cell open at the end, the one cell that is not used.
    cells = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    index = columns.index("record_id")
    if index >= len(cells) - 1:
        return {}
    value = cells[index]
    # Printable: no NUL, control character or line break, which no stored ID may hold.
    if (legacy and not value.isascii()) or len(value) > _MAX_RECORD_ID or not value.isprintable():
        return {}
    return {"record_id": value}


def _plain_cells(text: str, delimiter: str) -> list[str] | None:
    """The cells of a line as the csv module splits it, when each cell is either plain or wholly quoted
    with no quote inside, and no line break is inside the line; None for any other line, which the csv
    module reads. Such are the lines of a book (its addresses quoted for their commas), and a csv reader
    made for each line cost more than the rest of reading it (bench/RESULTS.md, session 33)."""
    body = text[:-1] if text.endswith("\n") else text
    if body.endswith("\r"):
        body = body[:-1]
    if not body or "\r" in body or "\n" in body:
        return None
    if '"' not in body:
        return body.split(delimiter)
    parts = body.split('"')
    if len(parts) % 2 == 0:
        return None
    # Even parts lie outside quotes, odd parts are the quoted cells. A quote must open a cell and close
    # one: the part before it ends with the delimiter, the part after it starts with one.
    first, last = parts[0], parts[-1]
    if (first and not first.endswith(delimiter)) or (last and not last.startswith(delimiter)):
        return None
    cells = first.split(delimiter)[:-1] if first else []
    for index in range(1, len(parts) - 1, 2):
        cells.append(parts[index])
        between = parts[index + 1]
        if index + 2 < len(parts):
            if len(between) < 1 or not (between.startswith(delimiter) and between.endswith(delimiter)):
                return None
            if len(between) > 1:
                cells += between[1:-1].split(delimiter)
    if last:
        cells += last[1:].split(delimiter)
    return cells


def _parse_line(raw: bytes, number: int, columns: list[str], delimiter: str, *, line: int) -> Row:
    problems: list[FieldError] = []
    legacy = False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # A file saved by the office's old software in TCVN3 (ABC), VNI or Windows-1258: its bytes read as
        # Windows-1252 (`vnencoding.decode_bytes`) are split into cells as any line, and the cells are then
        # read in the encoding they are in (`_legacy_cells`), as the file's own text.
        text = vnencoding.decode_bytes(raw)
        legacy = True
    if "\x00" in text:
        # A NUL beyond the first 64 KB (the file passed as text): nothing can store it (PostgreSQL refuses
        # it in text and JSON), so the row keeps a visible replacement and is rejected for it.
        text = text.replace("\x00", "\ufffd")
        problems.append(
            _row_problem(
                "",
                "row.nul",
                "Dòng có ký tự NUL (U+0000), thường do tệp nhị phân hoặc bị hỏng",
                "The line contains NUL characters (U+0000), usually from a binary or damaged file",
            )
        )
    try:
        cells = _plain_cells(text, delimiter) or next(
            csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
        )
    except (csv.Error, StopIteration) as exc:
        return Row(
            number,
            {"_line": text[:500]},
            [
                *problems,
                _row_problem("", "row.malformed", f"Dòng CSV hỏng: {exc}", f"Malformed CSV line: {exc}"),
            ],
            line=line,
        )
    if legacy and (decoded := _legacy_cells(cells)) is not None:
        cells = decoded
    elif legacy:
        problems.append(
            _row_problem(
                "",
                "row.encoding",
                "Dòng có ký tự không đọc được: tệp không phải UTF-8, cũng không phải bảng mã cũ TCVN3 (ABC), "
                "VNI hay Windows-1258; hãy lưu lại tệp dưới dạng CSV UTF-8",
                "The line has characters that cannot be read: the file is neither UTF-8 nor one of the old "
                "encodings TCVN3 (ABC), VNI or Windows-1258; save it again as CSV UTF-8",
            )
        )
    if len(cells) != len(columns):
        extra = _extra_cells(cells[len(columns) :])
        problems.append(
            _row_problem(
                "",
                "row.ragged",
                f"Dòng có {len(cells)} ô, tiêu đề có {len(columns)} cột{extra and f'; ô thừa: {extra}'}",
                f"The line has {len(cells)} cells; the header has {len(columns)} columns"
                f"{extra and f'; cells beyond them: {extra}'}",
            )
        )
    values = (
        dict(zip(columns, cells, strict=True))
        if len(cells) == len(columns)
        else {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(columns)}
    )
    # A line within MAX_LINE_BYTES may still hold a cell over MAX_CELL_CHARS.
    problems += _bound_cells(values)
    return Row(number, values, problems, line=line)


def _bound_cells(values: dict[str, str]) -> list[FieldError]:
    """Empty the cells of a row that holds more than a row of person data can: a cell over MAX_CELL_CHARS,
    or the longest cells of a row over MAX_LINE_BYTES (as UTF-8, the bound a CSV line has), until the rest
    fits; a `row.too_long` problem for each, naming its column, so that the row is rejected for it.

    A workbook holds its rows in cells, not lines, so a cell of any length comes whole out of it (Excel
    writes no more than 32,767 characters in one, other programs do). Kept as it is, it would be stored in
    the import's staging and written cut into the rejected rows' workbook; emptied, the row's other cells
    still say which record it is, and the reason says which cell to correct."""
    # Every row of person data fits: a character is at most four bytes of UTF-8, so a row this short in
    # characters holds no cell over the bound and no more bytes than a line. Said first, since it is the
    # answer for every row of a real book, and an import reads millions.
    if 4 * sum(map(len, values.values())) <= MAX_LINE_BYTES:
        return []
    problems: list[FieldError] = []
    sizes = {name: len(value.encode()) for name, value in values.items()}
    size = sum(sizes.values())
    kb = MAX_LINE_BYTES // 1024
    # The cells over the bound first, then the largest: the fewest cells are emptied to make the row fit.
    for name in sorted(
        values, key=lambda column: (len(values[column]) > MAX_CELL_CHARS, sizes[column]), reverse=True
    ):
        length = len(values[name])
        if length <= MAX_CELL_CHARS and size <= MAX_LINE_BYTES:
            break
        if length > MAX_CELL_CHARS:
            vi = f"Ô có {length} ký tự, quá {MAX_CELL_CHARS} ký tự một ô được có; bỏ qua dòng"
            en = f"The cell holds {length} characters, over the {MAX_CELL_CHARS} a cell may hold; row skipped"
        else:
            vi = f"Dòng dài quá {kb} KB (ô này có {length} ký tự); bỏ qua dòng"
            en = f"Row longer than {kb} KB (this cell holds {length} characters); row skipped"
        problems.append(_row_problem(name, "row.too_long", vi, en))
        size -= sizes[name]
        values[name] = ""
    return problems


# The encodings a whole file may be saved in; a line's cells are all in the same one.
_LEGACY_ENCODINGS = frozenset({vnencoding.TCVN3, vnencoding.VNI, vnencoding.CP1258_AS_CP1252})


def _legacy_cells(cells: list[str]) -> list[str] | None:
    """The cells of a line that was not UTF-8 (read as Windows-1252), decoded from the one legacy encoding
    (TCVN3, VNI or Windows-1258) that the cells it can be told from are in; None when there is no such
    encoding or a cell does not read as Vietnamese in it. The encoding is judged on the whole line, since
    a cell alone may read as Vietnamese both ways ("Thò" is what VNI makes of "Thị")."""
    found = {vnencoding.repair(cell).encoding for cell in cells if not cell.isascii()}
    encodings = found - {None}
    if len(encodings) != 1 or not encodings <= _LEGACY_ENCODINGS:
        return None
    encoding = str(encodings.pop())
    decoded = [vnencoding.decode_as(cell, encoding) for cell in cells]
    if any(cell is None for cell in decoded):
        return None
    return [cell for cell in decoded if cell is not None]


# What a workbook may hold before openpyxl reads any of it. openpyxl, in read-only mode too, reads the
# shared-strings part (`xl/sharedStrings.xml`) whole into a list, keeping a parsed element beside every
# string (about 150 bytes each, measured), and the styles, the workbook and every relationship part whole
# into a tree: a 200 KB upload whose shared strings inflate to 128 MB of `<si/>` took 2.5 GB and four
# minutes before its first row. The bounds are far above what a register reaches and keep one reader
# under about half a gigabyte. Deflate cannot lie past them: Python's zipfile stops a part at the size the
# archive declares for it (and fails its CRC), so the declared sizes are checked, not the bytes inflated.
#
# A commune's book of ten thousand people has well under a megabyte of shared strings; a province's export
# of a million rows, each with its name, its parents' names and its address (the strings Excel shares once
# each), holds some tens of megabytes of them in under two million strings. A larger book is imported as
# CSV, which is read line by line whatever its size.
MAX_XLSX_SHARED_STRINGS_BYTES = 64 * 1024 * 1024
MAX_XLSX_SHARED_STRINGS = 2_000_000
# A sheet is read row by row, not whole: its bound is that of Excel's 1,048,576 rows of a dozen columns.
MAX_XLSX_SHEET_BYTES = 1024 * 1024 * 1024
# But a row is parsed whole, its cells' text with it: a sheet is also read through once for its longest
# text or tag, which no cell of a book comes near (a cell over MAX_CELL_CHARS rejects its row; Excel's
# 32,767 characters, escaped, are under 200 KB), so that one cell of a gigabyte never reaches the parser.
MAX_XLSX_RUN_BYTES = 16 * 1024 * 1024
# Nor one row of millions of cells: Excel's sheet has 16,384 columns.
MAX_XLSX_ROW_CELLS = 16_384
# Every other XML part is parsed whole. Excel's own limit of 64,000 cell formats makes a styles part of a
# few megabytes at most, and the workbook part lists its sheets in a line each.
MAX_XLSX_PART_BYTES = 16 * 1024 * 1024
# A workbook of one list has a dozen parts and each sheet adds one to three; openpyxl makes an object for
# every sheet the workbook part lists, and zipfile one for every member, before a row is read.
MAX_XLSX_MEMBERS = 1_000
MAX_XLSX_SHEETS = 255
# Excel's XML deflates ten to twenty times, a sheet of near-identical rows some fifty; a part inflating more
# than this (a zip bomb reaches a thousand) is not a spreadsheet. Small parts are let be: a part of a few
# kilobytes of repeated tags may deflate more, and cannot cost memory.
MAX_XLSX_RATIO = 100
_RATIO_FROM_BYTES = 1024 * 1024
_UNREADABLE_PART = (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError)
_SHARED_STRING = re.compile(rb"<(?:\w+:)?si[\s/>]")
_SHEET = re.compile(rb"<(?:\w+:)?sheet[\s/>]")


def _xlsx_refusal(part: str, vi: str, en: str) -> FileRejectedError:
    # The file is named by what shows the refusal (the page and `dancu import` put its name first): the
    # reader holds the upload's stored copy, whose name is ours, not the officer's.
    return FileRejectedError(
        "file.xlsx_too_large",
        f"Bảng tính XLSX, phần {part}: {vi}; tệp không được đọc, hãy lưu lại dạng CSV UTF-8",
        f"The XLSX workbook, part {part}: {en}; the file is not read, save it again as CSV UTF-8",
    )


def _check_xlsx_archive(path: Path) -> None:
    """Refuse a workbook whose parts would take more memory to read than any register's do
    (`file.xlsx_too_large`, naming the file and the part), or a ZIP archive that is no workbook
    (`file.xlsx_not_workbook`), before openpyxl reads any of it."""
    declared = _declared_members(path)
    if declared > MAX_XLSX_MEMBERS:
        raise _xlsx_refusal(
            "ZIP",
            f"có {declared:,} phần, quá {MAX_XLSX_MEMBERS:,} phần một bảng tính được có",
            f"it holds {declared:,} parts, over the {MAX_XLSX_MEMBERS:,} a workbook may hold",
        )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise _xlsx_damaged(exc) from None
    with archive:
        members = archive.infolist()
        names = {member.filename for member in members}
        if "[Content_Types].xml" not in names or not any(name.endswith("workbook.xml") for name in names):
            raise FileRejectedError(
                "file.xlsx_not_workbook",
                "Tệp là tệp nén ZIP nhưng không phải bảng tính XLSX (không có phần xl/workbook.xml)",
                "The file is a ZIP archive but not an XLSX workbook (it has no part xl/workbook.xml)",
            )
        try:
            for member in members:
                _check_xlsx_part(archive, member)
        except _UNREADABLE_PART as exc:
            # Read no further than the part says it holds (a part that inflates past it fails its
            # checksum), encrypted or compressed in a way zipfile does not know.
            raise _xlsx_damaged(exc) from None


def _declared_members(path: Path) -> int:
    """How many members the archive's end record declares (0 when it has none: zipfile says it is
    damaged). Read before zipfile opens the archive, since it makes an object for every member first, and
    a 200 MB upload holds two million empty ones. The end record's reader is zipfile's own, not public."""
    with path.open("rb") as handle:
        end = zipfile._EndRecData(handle)  # type: ignore[attr-defined]
    return int(end[zipfile._ECD_ENTRIES_TOTAL]) if end else 0  # type: ignore[attr-defined]


def _check_xlsx_part(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    name = member.filename
    if not name.endswith((".xml", ".rels")):
        return  # pictures, printer settings and macros: openpyxl does not read them in read-only mode
    if name.endswith("sharedStrings.xml"):
        limit = MAX_XLSX_SHARED_STRINGS_BYTES
    elif name.startswith("xl/worksheets/"):
        limit = MAX_XLSX_SHEET_BYTES
    else:
        limit = MAX_XLSX_PART_BYTES
    mb = 1024 * 1024
    if member.file_size > limit:
        raise _xlsx_refusal(
            name,
            f"giải nén ra {member.file_size / mb:,.0f} MB, quá {limit // mb:,} MB phần này được có",
            f"it inflates to {member.file_size / mb:,.0f} MB, over the {limit // mb:,} MB this part may hold",
        )
    ratio = member.file_size / max(member.compress_size, 1)
    if member.file_size > _RATIO_FROM_BYTES and ratio > MAX_XLSX_RATIO:
        raise _xlsx_refusal(
            name,
            f"giải nén ra gấp {ratio:,.0f} lần, quá {MAX_XLSX_RATIO} lần một bảng tính thật có",
            f"it inflates {ratio:,.0f} times, over the {MAX_XLSX_RATIO} times of a real workbook",
        )
    if name.startswith("xl/worksheets/"):
        run, cells = _sheet_extent(archive, member)
        if run > MAX_XLSX_RUN_BYTES:
            raise _xlsx_refusal(
                name,
                # Read no further than the bound: the cell's whole length is not known, only that it is over.
                f"có một ô hay thẻ dài hơn {MAX_XLSX_RUN_BYTES // mb} MB, quá giới hạn của một ô",
                f"it holds a cell or tag longer than {MAX_XLSX_RUN_BYTES // mb} MB, over a cell's limit",
            )
        if cells > MAX_XLSX_ROW_CELLS:
            raise _xlsx_refusal(
                name,
                f"có một dòng hơn {MAX_XLSX_ROW_CELLS:,} ô, quá số cột một trang tính có",
                f"it holds a row of more than {MAX_XLSX_ROW_CELLS:,} cells, over the columns a sheet has",
            )
    counted = {"xl/sharedStrings.xml": (_SHARED_STRING, MAX_XLSX_SHARED_STRINGS, "chuỗi", "strings")}
    counted["xl/workbook.xml"] = (_SHEET, MAX_XLSX_SHEETS, "trang tính", "sheets")
    if name in counted:
        pattern, most, vi_unit, en_unit = counted[name]
        found = _count_tags(archive, member, pattern)
        if found > most:
            raise _xlsx_refusal(
                name,
                f"có {found:,} {vi_unit}, quá {most:,} {vi_unit} một bảng tính được có",
                f"it holds {found:,} {en_unit}, over the {most:,} a workbook may hold",
            )


def _sheet_extent(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> tuple[int, int]:
    """The longest stretch of the sheet without a "<" (a text, or a tag with its attributes) and the most
    cells a row opens, read in chunks, stopping once either is over its bound. A stretch inside one chunk
    is shorter than MAX_XLSX_RUN_BYTES, so only those that run across chunks are followed; a tag cut
    between two chunks may go uncounted, which a bound this far above a real row does not feel."""
    longest = run = most = cells = 0
    with archive.open(member) as part:
        while chunk := part.read(1 << 20):
            first = chunk.find(b"<")
            if first < 0:
                run += len(chunk)
            else:
                longest = max(longest, run + first)
                run = len(chunk) - chunk.rfind(b"<") - 1
            longest = max(longest, run)
            for number, segment in enumerate(chunk.split(b"<row")):
                # Cells as Excel writes them (`<c r="B3" ...>`), with a namespace prefix as some programs do.
                counted = sum(segment.count(tag) for tag in (b"<c ", b"<c>", b"<c/>", b":c "))
                cells = cells + counted if number == 0 else counted
                most = max(most, cells)
            if longest > MAX_XLSX_RUN_BYTES or most > MAX_XLSX_ROW_CELLS:
                break
    return longest, most


def _count_tags(archive: zipfile.ZipFile, member: zipfile.ZipInfo, pattern: re.Pattern[bytes]) -> int:
    """How many elements `pattern` finds in the part, read in chunks (at most the part's bound in all):
    a string or a sheet costs memory by its number, which its bytes do not tell (`<si/>` is five)."""
    found = 0
    tail = b""
    with archive.open(member) as part:
        while chunk := part.read(1 << 20):
            text = tail + chunk
            found += len(pattern.findall(text))
            # A tag cut between two chunks is found in the next; the kept bytes hold no whole tag.
            tail = text[-64:]
            found -= len(pattern.findall(tail))
    # The last bytes were kept for a next chunk that did not come.
    return found + len(pattern.findall(tail))


# What openpyxl raises for a damaged workbook. SyntaxError: the XML parsers' errors (ElementTree's
# ParseError, lxml's) derive from it; IndexError: a workbook without a sheet, or a cell naming a shared
# string the workbook lacks; KeyError: a part the workbook lists and lacks.
_DAMAGED = (SyntaxError, IndexError, KeyError, ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile)


# Offices save their lists as Excel made them: an empty "Sheet1" left before the list, a title ("DANH SÁCH
# NHÂN KHẨU ...", merged across the columns) and a blank line above the header. The header is the first row
# that names a known column, in the first sheets and rows; none of that is a data row.
_HEADER_SEARCH_SHEETS = 5
_HEADER_SEARCH_ROWS = 10


def _header_name(value: object) -> str:
    return column_name(str(value)) if value is not None else ""


def _xlsx_header(path: Path) -> tuple[list[str], int | None, int, int]:
    """The header's cells as text (an empty cell as ""), the data rows the sheet's dimension says it holds
    (Excel and openpyxl write the dimension; a workbook without one gives None), the header's sheet and
    row."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_xlsx_archive(path)
    # openpyxl judges a workbook by its file name; read it through a handle so that a workbook saved
    # under any name (legacy exports are often "*.xls" or have no extension) is recognised by content.
    with path.open("rb") as handle:
        try:
            workbook = load_workbook(handle, read_only=True, data_only=True)
        except (*_DAMAGED, InvalidFileException) as exc:
            raise _xlsx_damaged(exc) from None
        try:
            # Without a known column anywhere, the first row of the first sheet is the header the refusal
            # is about.
            sheet_index, header_row = 0, 1
            header: tuple[Any, ...] = next(
                workbook.worksheets[0].iter_rows(min_row=1, max_row=1, values_only=True), ()
            )
            found = False
            declared: dict[int, int | None] = {}
            for index, sheet in enumerate(workbook.worksheets[:_HEADER_SEARCH_SHEETS]):
                # The dimension is read from the sheet's first bytes, not by walking its rows, and some
                # programs write it wrong ("A1:A1"): it is kept as the estimate, and the rows are read as
                # the sheet holds them, so that no column or row beyond it is cut off.
                declared[index] = sheet.max_row
                sheet.reset_dimensions()
                rows = sheet.iter_rows(min_row=1, max_row=_HEADER_SEARCH_ROWS, values_only=True)
                for number, cells in enumerate(rows, start=1):
                    if {_header_name(value) for value in cells} & set(COLUMNS):
                        sheet_index, header_row, header, found = index, number, cells, True
                        break
                if found:
                    break
            max_row = declared.get(sheet_index)
            if (
                isinstance(max_row, int)
                and max_row <= header_row
                and _has_row_after(workbook.worksheets[sheet_index], header_row)
            ):
                max_row = None  # a dimension that leaves out rows the sheet has: no estimate
        except _DAMAGED as exc:
            raise _xlsx_damaged(exc) from None
        finally:
            workbook.close()
    cells = [str(value) if value is not None else "" for value in header]
    _bound_header(cells)
    _check_columns([column_name(cell) for cell in cells])
    rows_estimate = max(max_row - header_row, 0) if isinstance(max_row, int) else None
    return cells, rows_estimate, sheet_index, header_row


def _has_row_after(sheet: Any, header_row: int) -> bool:
    """Whether the sheet (its dimensions reset) has a row with a value after the header's."""
    return any(
        any(value is not None and str(value).strip() for value in cells)
        for cells in sheet.iter_rows(min_row=header_row + 1, values_only=True)
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "date") and hasattr(value, "year"):
        # Excel dates arrive as datetimes: keep only the day, in ISO form.
        return value.strftime("%Y-%m-%d")  # type: ignore[attr-defined]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# The columns that hold a date. In a workbook, Excel keeps a date as the number of days since 1899-12-30 and
# shows it as a date through the cell's format; a cell whose format was lost (pasted as values, set to
# "General") shows that number.
DATE_COLUMNS = frozenset({"birth_date"})
# From 10000 (1927-05-18) on, a whole number in a date column is such a serial: below it, it is a year
# ("1964"), which legacy books often give alone. The largest is Excel's last day, 9999-12-31.
_EXCEL_SERIALS = range(10_000, 2_958_466)


def _date_cell(value: object) -> str:
    """A date column's cell: an Excel serial number read as the date it stands for, in ISO form (a serial
    with a time of day, a fraction, is left as it is, for the date rules to refuse)."""
    if isinstance(value, int) and not isinstance(value, bool) and value in _EXCEL_SERIALS:
        return (date(1899, 12, 30) + timedelta(days=value)).isoformat()
    return _cell(value)


# What reading a sheet's rows raises where the sheet is damaged past its header: the XML parser's errors
# (a part cut short, or bytes that are no XML) and the archive's (a deflate stream that breaks, a checksum
# that fails at the part's end), among those openpyxl raises for a damaged workbook (`_DAMAGED`).
# `open_source` reads every part through once, so the archive's errors come here only from a file that
# changed after it (written over on a share while `dancu import` reads it).
_SHEET_BROKEN = (*_DAMAGED, zlib.error)


def _xlsx_rows(source: Source, *, skip: int) -> Iterator[Row]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    with source.path.open("rb") as handle:
        try:
            workbook = load_workbook(handle, read_only=True, data_only=True)
        except (*_SHEET_BROKEN, InvalidFileException) as exc:
            # Sound when it was opened, the file changed since: it is refused as one damaged from the start.
            raise _xlsx_damaged(exc) from None
        yield from _xlsx_sheet_rows(workbook, source, skip=skip)


def _xlsx_damaged(exc: BaseException) -> FileRejectedError:
    """The refusal of a workbook that cannot be read from the start (its archive, a part, its XML)."""
    return FileRejectedError(
        "file.xlsx_damaged", f"Tệp XLSX hỏng: {exc}", f"The XLSX workbook is damaged: {exc}"
    )


def _damaged_after(sheet: Any, line: int, exc: BaseException) -> FileRejectedError:
    """The refusal of a sheet that breaks after its row `line` (the header's, when no data row came
    whole), naming that row as the spreadsheet numbers it: the officer finds there where the damage
    begins, and the rows above it were read (and an import has kept them)."""
    title = getattr(sheet, "title", "")
    return FileRejectedError(
        "file.xlsx_damaged",
        f"Tệp XLSX hỏng sau dòng {line} của trang tính “{title}”, không đọc tiếp được ({exc}); hãy mở tệp "
        "bằng Excel hoặc LibreOffice, lưu lại (.xlsx hoặc CSV UTF-8) rồi nhập lại",
        f"The XLSX workbook is damaged after row {line} of the sheet “{title}” and cannot be read further "
        f"({exc}); open it in Excel or LibreOffice, save it again (.xlsx or CSV UTF-8) and import it again",
    )


def _xlsx_sheet_rows(workbook: Any, source: Source, *, skip: int) -> Iterator[Row]:
    try:
        sheet = workbook.worksheets[source.sheet]
        # Every row the sheet holds, whatever its dimension says (see `_xlsx_header`): rows past a wrong
        # one were skipped without a word.
        sheet.reset_dimensions()
        columns = source.columns
        number = 0
        # The sheet's rows come one by one from the first after the header, the rows the workbook leaves
        # out (blank) given empty: counting them gives the spreadsheet's own row number.
        rows = sheet.iter_rows(min_row=source.header_row + 1, values_only=True)
        line = source.header_row
        while True:
            # The sheet is parsed as its rows are taken: a damage past the header shows here, after the
            # rows before it were given. Only the taking is guarded, not what is made of the cells.
            try:
                cells = next(rows)
            except StopIteration:
                return
            except _SHEET_BROKEN as exc:
                raise _damaged_after(sheet, line, exc) from None
            line += 1
            if all(value is None or str(value).strip() == "" for value in cells):
                continue
            number += 1
            if number <= skip:
                continue
            problems = []
            if len(cells) > len(columns) and any(value not in (None, "") for value in cells[len(columns) :]):
                extra = _extra_cells([_cell(value) for value in cells[len(columns) :]])
                problems.append(
                    _row_problem(
                        "",
                        "row.ragged",
                        f"Dòng có ô ngoài {len(columns)} cột của tiêu đề: {extra}",
                        f"The row has cells beyond the header's {len(columns)} columns: {extra}",
                    )
                )
            values = {
                name: (_date_cell if name in DATE_COLUMNS else _cell)(cells[i]) if i < len(cells) else ""
                for i, name in enumerate(columns)
            }
            problems += _bound_cells(values)
            yield Row(number, values, problems, line=line)
    finally:
        workbook.close()
