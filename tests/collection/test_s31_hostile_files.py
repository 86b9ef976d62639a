"""Hostile workbooks, as an officer's account could upload them (sprint 31).

openpyxl reads a workbook's shared strings whole into memory, in read-only mode too, and its styles,
workbook and relationship parts whole into a tree. A 200 KB upload whose `xl/sharedStrings.xml` inflated to
128 MB of `<si/>` took 2.5 GB and four minutes of the web worker before its header was found; a few
megabytes more kill it. The reader now refuses such a workbook from its archive's own records (the sizes
it declares, its number of members, strings and sheets) before openpyxl reads any part, naming the file
and the part; a normal workbook is read as before. The files are built here small, as a bomb is.
"""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from random import Random
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.readers import (
    MAX_XLSX_MEMBERS,
    MAX_XLSX_SHARED_STRINGS,
    MAX_XLSX_SHARED_STRINGS_BYTES,
    MAX_XLSX_SHEETS,
    FileRejectedError,
    open_source,
    read_rows,
)
from dancu.collection.services import upload_folder
from tests.collection.test_form_api import api, errors_of
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
SST = "xl/sharedStrings.xml"
SST_OPEN = b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def _book() -> bytes:
    """A workbook of two people, as an office saves it (openpyxl writes its strings inline)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["record_id", "full_name", "birth_date"])
    sheet.append(["HK-0001", "Lê Văn An", "1990"])
    sheet.append(["HK-0002", "Đỗ Thị Hoa", "1985"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _hostile(path: Path, part: str, content: Iterable[bytes], *, extra: int = 0) -> Path:
    """The workbook `_book` with `part` written from `content` as it is produced (never whole in memory, a
    shared-strings part declared in the workbook's types and relationships), and `extra` empty members."""
    with (
        zipfile.ZipFile(io.BytesIO(_book())) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for item in source.infolist():
            if item.filename == part:
                continue
            data = source.read(item)
            if part == SST and item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>", f'<Override PartName="/{SST}" ContentType="{SST_TYPE}"/></Types>'.encode()
                )
            if part == SST and item.filename == "xl/_rels/workbook.xml.rels":
                rel = f'<Relationship Id="rIdS" Type="{SST_REL}" Target="sharedStrings.xml"/>'
                data = data.replace(b"</Relationships>", f"{rel}</Relationships>".encode())
            out.writestr(item, data)
        with out.open(part, "w", force_zip64=True) as handle:
            for chunk in content:
                handle.write(chunk)
        for number in range(extra):
            out.writestr(f"customXml/item{number}.xml", b"")
    return path


def _repeated(
    unit: bytes, size: int, *, opening: bytes = SST_OPEN, closing: bytes = b"</sst>"
) -> Iterator[bytes]:
    yield opening
    block = unit * (MB // len(unit))
    for _ in range(size // len(block) + 1):
        yield block
    yield closing


def _empty_strings(count: int) -> Iterator[bytes]:
    """`count` empty shared strings, each followed by a few random spaces and line breaks: what costs
    openpyxl most for the fewest bytes (an element kept for each), made random enough to deflate as a
    real workbook does."""
    chooser = Random(31)
    yield SST_OPEN
    for _ in range(count // 10_000):
        yield b"".join(b"<si/>" + bytes(chooser.choices(b" \t\r\n", k=3)) for _ in range(10_000))
    yield b"</sst>"


def _refusal(path: Path) -> FileRejectedError:
    with pytest.raises(FileRejectedError) as refused:
        open_source(path)
    return refused.value


def test_a_normal_workbook_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "so_ho_khau.xlsx"
    path.write_bytes(_book())
    rows = list(read_rows(open_source(path)))
    assert [row.values["full_name"] for row in rows] == ["Lê Văn An", "Đỗ Thị Hoa"]
    assert all(row.problems == [] for row in rows)


def test_shared_strings_that_inflate_past_the_bound_are_refused_naming_the_part(tmp_path: Path) -> None:
    unit = "<si><t>Nguyễn Văn An</t></si>".encode()
    path = _hostile(tmp_path / "bom.xlsx", SST, _repeated(unit, MAX_XLSX_SHARED_STRINGS_BYTES))
    assert path.stat().st_size < 2 * MB

    tracemalloc.start()
    try:
        refusal = _refusal(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert refusal.code == "file.xlsx_too_large"
    assert f"phần {SST}" in refusal.message_vi
    assert f"part {SST}" in refusal.message_en
    assert "64 MB" in refusal.message_en
    # Refused from the archive's records: not a string was read (openpyxl took gigabytes for such a file).
    assert peak < 16 * MB


@pytest.mark.slow
def test_millions_of_empty_strings_in_few_megabytes_are_refused_by_their_number(tmp_path: Path) -> None:
    path = _hostile(tmp_path / "bom.xlsx", SST, _empty_strings(MAX_XLSX_SHARED_STRINGS + 10_000))
    assert path.stat().st_size < 4 * MB

    tracemalloc.start()
    try:
        refusal = _refusal(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert refusal.code == "file.xlsx_too_large"
    assert f"{MAX_XLSX_SHARED_STRINGS + 10_000:,} strings" in refusal.message_en
    assert f"part {SST}" in refusal.message_en
    assert peak < 16 * MB


def test_a_part_that_inflates_a_thousand_times_is_refused_as_no_spreadsheet(tmp_path: Path) -> None:
    # Twenty megabytes of shared strings, under their bound, but deflated as no workbook's XML is.
    path = _hostile(tmp_path / "bom.xlsx", SST, _repeated(b"<si/>", 20 * MB))
    refusal = _refusal(path)
    assert refusal.code == "file.xlsx_too_large"
    assert re.search(r"inflates [\d,]+ times, over the 100 times", refusal.message_en)
    assert f"phần {SST}" in refusal.message_vi


def test_a_styles_part_past_its_bound_is_refused_naming_it(tmp_path: Path) -> None:
    styles = _repeated(
        b'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
        17 * MB,
        opening=b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs>',
        closing=b"</cellXfs></styleSheet>",
    )
    refusal = _refusal(_hostile(tmp_path / "bom.xlsx", "xl/styles.xml", styles))
    assert refusal.code == "file.xlsx_too_large"
    assert "part xl/styles.xml" in refusal.message_en
    assert "16 MB" in refusal.message_en


def test_a_sheet_cell_of_many_megabytes_is_refused_before_the_parser_holds_it(tmp_path: Path) -> None:
    # Seventeen megabytes of text in one cell of the third row, among the rows the header is looked for
    # in, random enough (two letters) to deflate as a real sheet does.
    text = Random(31).randbytes(17 * MB).translate(bytes(b"ab"[byte & 1] for byte in range(256)))
    with zipfile.ZipFile(io.BytesIO(_book())) as book:
        sheet = book.read("xl/worksheets/sheet1.xml")
    cell = b'<c r="B3" t="inlineStr"><is><t>'
    head, rest = sheet.split(b'<c r="B3" t="inlineStr"><is><t>')
    tail = rest[rest.index(b"</t>") :]
    path = _hostile(tmp_path / "bom.xlsx", "xl/worksheets/sheet1.xml", [head, cell, text, tail])
    assert path.stat().st_size < 4 * MB

    tracemalloc.start()
    try:
        refusal = _refusal(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert refusal.code == "file.xlsx_too_large"
    assert "part xl/worksheets/sheet1.xml" in refusal.message_en
    assert "a cell or tag longer than 16 MB" in refusal.message_en
    assert peak < 16 * MB


def test_a_row_of_more_cells_than_a_sheet_has_columns_is_refused(tmp_path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(_book())) as book:
        sheet = book.read("xl/worksheets/sheet1.xml")
    head, tail = sheet.split(b"</sheetData>")
    row = b'<row r="4">' + b"".join(b'<c r="A4" t="n"><v>%d</v></c>' % n for n in range(20_000)) + b"</row>"
    refusal = _refusal(
        _hostile(tmp_path / "bom.xlsx", "xl/worksheets/sheet1.xml", [head, row, b"</sheetData>", tail])
    )
    assert refusal.code == "file.xlsx_too_large"
    assert "a row of more than 16,384 cells, over the columns a sheet has" in refusal.message_en
    assert "part xl/worksheets/sheet1.xml" in refusal.message_en


def test_a_zip_of_thousands_of_members_is_refused_before_they_are_listed(tmp_path: Path) -> None:
    path = _hostile(tmp_path / "bom.xlsx", "customXml/pad.xml", [b"<a/>"], extra=MAX_XLSX_MEMBERS)
    refusal = _refusal(path)
    assert refusal.code == "file.xlsx_too_large"
    assert "part ZIP" in refusal.message_en
    assert f"over the {MAX_XLSX_MEMBERS:,} a workbook may hold" in refusal.message_en


def test_a_workbook_listing_thousands_of_sheets_is_refused(tmp_path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(_book())) as book:
        workbook_xml = book.read("xl/workbook.xml")
    one = re.search(rb"<sheet [^>]*/>", workbook_xml)
    assert one is not None
    many = b"".join(
        one.group().replace(b'name="Sheet"', b'name="S%d"' % n).replace(b'sheetId="1"', b'sheetId="%d"' % n)
        for n in range(1, 3_000)
    )
    path = _hostile(tmp_path / "bom.xlsx", "xl/workbook.xml", [workbook_xml.replace(one.group(), many)])
    refusal = _refusal(path)
    assert refusal.code == "file.xlsx_too_large"
    assert "part xl/workbook.xml" in refusal.message_en
    assert f"2,999 sheets, over the {MAX_XLSX_SHEETS:,}" in refusal.message_en


def test_a_zip_that_is_no_workbook_is_refused_as_such(tmp_path: Path) -> None:
    path = tmp_path / "danh_sach.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("danh_sach.csv", "full_name,birth_date\nLê Văn An,1990\n")
    refusal = _refusal(path)
    assert refusal.code == "file.xlsx_not_workbook"
    assert "xl/workbook.xml" in refusal.message_vi
    assert "not an XLSX workbook" in refusal.message_en


def test_a_part_that_lies_about_its_size_is_read_no_further_than_it_says(tmp_path: Path) -> None:
    """The declared sizes are what the bounds check: zipfile stops a part at its declared size, so a part
    that says 1 KB and inflates to 64 MB is read as 1 KB, fails its checksum, and is refused as damaged."""
    path = _hostile(
        tmp_path / "bom.xlsx", SST, _repeated(b"<si><t>a</t></si>", MAX_XLSX_SHARED_STRINGS_BYTES)
    )
    path.write_bytes(_declared_size(path.read_bytes(), SST, 1024))
    tracemalloc.start()
    try:
        refusal = _refusal(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert refusal.code == "file.xlsx_damaged"
    assert peak < 16 * MB


def _declared_size(content: bytes, part: str, size: int) -> bytes:
    """The archive `content` with the size its central directory declares for `part` (what zipfile reads
    by) set to `size`."""
    data = bytearray(content)
    entry = data.find(b"PK\x01\x02")
    while entry >= 0:
        name_length = int.from_bytes(data[entry + 28 : entry + 30], "little")
        if data[entry + 46 : entry + 46 + name_length] == part.encode():
            data[entry + 24 : entry + 28] = size.to_bytes(4, "little")
            return bytes(data)
        entry = data.find(b"PK\x01\x02", entry + 46)
    raise AssertionError(f"no part {part}")


@pytest.fixture
def own_var_folder(settings: Any, tmp_path: Path) -> None:
    """An upload folder of the test's own: another test worker's upload would change what is counted."""
    settings.VAR_DIR = tmp_path


@pytest.mark.usefixtures("own_var_folder")
def test_the_api_refuses_the_bomb_with_422_naming_the_rule_and_stages_nothing(
    personas: Personas, tmp_path: Path
) -> None:
    bomb = _hostile(tmp_path / "bom.xlsx", SST, _empty_strings(MAX_XLSX_SHARED_STRINGS + 10_000)).read_bytes()
    kept_before = set(upload_folder().glob("*"))
    response = api(personas.cuong).post(
        "/api/v1/imports",
        {"file": SimpleUploadedFile("so_ho_khau.xlsx", bomb), "source_name": "Sổ hộ khẩu Hoàn Kiếm"},
    )
    assert errors_of(response, 422) == ["file.xlsx_too_large"]
    [error] = response.json()["errors"]
    assert error["field"] == "file"
    assert SST in error["message_vi"]
    assert SST in error["message_en"]
    assert not ImportRun.objects.exists()
    assert not StagingRecord.objects.exists()
    assert set(upload_folder().glob("*")) == kept_before


@pytest.mark.usefixtures("own_var_folder")
def test_the_import_page_refuses_the_bomb_naming_file_part_and_rule(
    personas: Personas, sign_in: Any, tmp_path: Path
) -> None:
    bomb = _hostile(tmp_path / "bom.xlsx", SST, _repeated(b"<si/>", 20 * MB)).read_bytes()
    response = sign_in(Client(), personas.cuong).post(
        reverse("collection:imports"),
        {"source": "Sổ hộ khẩu", "file": SimpleUploadedFile("so_ho_khau.xlsx", bomb)},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "[file.xlsx_too_large]" in page
    assert "so_ho_khau.xlsx" in page
    assert SST in page
    assert not ImportRun.objects.exists()


def test_a_normal_workbook_still_imports_through_the_api(personas: Personas) -> None:
    response = api(personas.cuong).post(
        "/api/v1/imports",
        {"file": SimpleUploadedFile("so_ho_khau.xlsx", _book()), "source_name": "Sổ hộ khẩu Hoàn Kiếm"},
    )
    assert response.status_code == 201, response.content
    run = ImportRun.objects.get()
    assert (run.file_format, run.rows_read) == ("xlsx", 2)
