"""Reading legacy files in whatever state they arrive: the file is refused only when nothing can be read."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from dancu.collection.readers import MAX_LINE_BYTES, FileRejectedError, _plain_cells, open_source, read_rows

HEADER = ",".join(
    [
        "record_id", "source", "full_name", "gender", "birth_date", "birth_place",
        "id_number", "old_id_number", "father_name", "mother_name", "address",
    ]
)  # fmt: skip


def write(tmp_path: Path, content: bytes | str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def rows(path: Path) -> list:
    return list(read_rows(open_source(path)))


def test_a_clean_file_reads_every_row_with_its_number(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{HEADER}\nR1,s,Nguyễn Văn Hùng,Nam,1990,Hà Nội,,,,,Số 1\nR2,s,Lê Thị Mai,Nữ,1985-03,,,,,,\n",
    )
    read = rows(path)
    assert [r.number for r in read] == [1, 2]
    assert read[0].values["full_name"] == "Nguyễn Văn Hùng"
    assert read[1].values["birth_date"] == "1985-03"
    assert all(not r.problems for r in read)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_delimiter_is_found_from_the_header(tmp_path: Path, delimiter: str) -> None:
    header = HEADER.replace(",", delimiter)
    path = write(
        tmp_path,
        f"{header}\nR1{delimiter}s{delimiter}Lê Văn Bình{delimiter}Nam{delimiter}1990" + delimiter * 6 + "\n",
    )
    assert rows(path)[0].values["full_name"] == "Lê Văn Bình"


def test_extra_columns_are_kept_and_order_does_not_matter(tmp_path: Path) -> None:
    path = write(tmp_path, "birth_date,ghi_chu,full_name\n1990,sổ cũ trang 12,Trần Văn Tâm\n")
    row = rows(path)[0]
    assert row.values == {"birth_date": "1990", "ghi_chu": "sổ cũ trang 12", "full_name": "Trần Văn Tâm"}


def test_a_bom_and_crlf_line_ends_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path, b"\xef\xbb\xbffull_name,birth_date\r\nTr\xe1\xba\xa7n V\xc4\x83n T\xc3\xa2m,1990\r\n"
    )
    assert rows(path)[0].values == {"full_name": "Trần Văn Tâm", "birth_date": "1990"}


def test_a_quoted_field_may_hold_the_delimiter_and_a_line_break(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'full_name,birth_date,address\nLê Văn A,1990,"Số 5, ngõ 2\nHà Nội"\nLê Văn B,1991,x\n'
    )
    read = rows(path)
    assert [r.values["full_name"] for r in read] == ["Lê Văn A", "Lê Văn B"]
    assert read[0].values["address"] == "Số 5, ngõ 2\nHà Nội"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "file.empty"),
        (b"\x00\x01\x02binary\x00", "file.binary"),
        # Excel's "Unicode Text", little- or big-endian: told as UTF-16, with how to save it instead.
        ("full_name,birth_date\n".encode("utf-16"), "file.utf16"),
        (b"\xfe\xff" + "full_name,birth_date\n".encode("utf-16-be"), "file.utf16"),
        (b"Nguyen Van A;1990;Ha Noi\n", "file.no_header"),
        (b"full_name,gender\nA,Nam\n", "file.missing_columns"),
        (b"full_name,birth_date,full_name\nA,1990,B\n", "file.duplicate_columns"),
        (b"full_na\xffme,birth_date\n", "file.encoding"),
        (b"x" * (MAX_LINE_BYTES + 10), "file.no_header"),
        (b"PK\x03\x04not really a workbook", "file.xlsx_damaged"),
        # Lines ended by CR alone, and a CR inside the header line.
        (b"record_id,full_name,birth_date\rR1,A,1990\r", "file.line_ends"),
        (b'record_id,"full\rname",birth_date\nR1,A,1990\n', "file.line_ends"),
    ],
)
def test_an_unreadable_file_is_refused_naming_the_rule(tmp_path: Path, content: bytes, code: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(FileRejectedError) as refused:
        open_source(path)
    assert refused.value.code == code
    assert refused.value.message_vi
    assert refused.value.message_en


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileRejectedError, match=r"file\.missing"):
        open_source(tmp_path / "nowhere.csv")


@pytest.mark.parametrize("kind", ["directory", "device", "pipe"])
def test_something_other_than_a_regular_file_is_refused_as_such(tmp_path: Path, kind: str) -> None:
    # There is something at the path: "no such file" would send the operator looking for a typo.
    if kind == "directory":
        path = tmp_path
    elif kind == "device":
        path = Path("/dev/null")
    else:
        path = tmp_path / "pipe"
        os.mkfifo(path)
    with pytest.raises(FileRejectedError, match=r"file\.not_regular") as refused:
        open_source(path)
    assert refused.value.message_en == f"{path} is not a regular file (it is a directory, a device or a pipe)"


def test_bad_rows_come_back_with_their_problem_and_reading_goes_on(tmp_path: Path) -> None:
    long_line = "A," + "x" * (MAX_LINE_BYTES * 3) + "\n"
    content = (
        (
            "full_name,birth_date\n"
            "Lê Văn A,1990\n"
            "Lê Văn B,1990,extra\n"  # ragged
            + long_line  # far too long: read past in chunks
            + "Lê Văn C\n"  # ragged, short
        ).encode()
        + b"L\xea V\xff,1990\n"
        + "Lê Văn D,1992\n".encode()
    )
    read = rows(write(tmp_path, content))
    assert [r.number for r in read] == [1, 2, 3, 4, 5, 6]
    codes = [[p.code for p in r.problems] for r in read]
    assert codes == [[], ["row.ragged"], ["row.too_long"], ["row.ragged"], ["row.encoding"], []]
    assert read[5].values["full_name"] == "Lê Văn D"


def test_reading_resumes_after_the_rows_already_done(tmp_path: Path) -> None:
    lines = "\n".join(f"Người {i},1990" for i in range(1, 11))
    path = write(tmp_path, f"full_name,birth_date\n{lines}\n")
    resumed = list(read_rows(open_source(path), skip=7))
    assert [r.number for r in resumed] == [8, 9, 10]
    assert resumed[0].values["full_name"] == "Người 8"


def test_an_xlsx_workbook_reads_like_a_csv(tmp_path: Path) -> None:
    import datetime

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Full_Name", "birth_date", "old_id_number"])
    # Excel stores dates without a time zone; openpyxl gives them back as naive datetimes.
    sheet.append(["Nguyễn Văn Hùng", datetime.datetime(1990, 5, 17), 123456789])  # noqa: DTZ001
    sheet.append([None, None, None])  # blank rows are not records
    sheet.append(["Lê Thị Mai", "1985", None])
    path = tmp_path / "data.xlsx"
    workbook.save(path)

    source = open_source(path)
    assert source.file_format == "xlsx"
    read = list(read_rows(source))
    assert [r.values for r in read] == [
        {"full_name": "Nguyễn Văn Hùng", "birth_date": "1990-05-17", "old_id_number": "123456789"},
        {"full_name": "Lê Thị Mai", "birth_date": "1985", "old_id_number": ""},
    ]
    assert [r.number for r in list(read_rows(source, skip=1))] == [2]


@pytest.mark.parametrize("dimension", ["A1:A1", "A1:C2", "A1"])
def test_a_workbook_whose_dimension_is_wrong_is_read_whole(tmp_path: Path, dimension: str) -> None:
    """Some programs write the sheet's used range wrong; openpyxl's streaming reader trusts it, and the
    columns and rows past it were left out without a word (or the file refused as holding no rows)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["record_id", "full_name", "birth_date"])
    for number in range(1, 6):
        sheet.append([f"R{number}", f"Lê Văn {'ABCDE'[number - 1]}", f"199{number}"])
    whole = tmp_path / "whole.xlsx"
    workbook.save(whole)
    wrong = tmp_path / "wrong.xlsx"
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(wrong, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert b'<dimension ref="A1:C6" />' in data
                data = data.replace(b'<dimension ref="A1:C6" />', f'<dimension ref="{dimension}" />'.encode())
            target.writestr(item, data)

    read = rows(wrong)

    assert [r.values["record_id"] for r in read] == ["R1", "R2", "R3", "R4", "R5"]
    assert read[-1].values == {"record_id": "R5", "full_name": "Lê Văn E", "birth_date": "1995"}
    assert all(not r.problems for r in read)


def _workbook_with(tmp_path: Path, damage: dict[str, bytes | None]) -> Path:
    """A workbook of the right columns, with some of its parts replaced (or removed, for None)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["record_id", "full_name", "birth_date"])
    sheet.append(["R1", "Lê Văn A", "1990"])
    whole = tmp_path / "whole.xlsx"
    workbook.save(whole)
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            if item.filename not in damage:
                target.writestr(item, source.read(item))
            elif damage[item.filename] is not None:
                target.writestr(item, damage[item.filename])
    return damaged


@pytest.mark.parametrize(
    "damage",
    [
        {"xl/workbook.xml": b"<workbook><sheets><sheet"},
        {"xl/styles.xml": b"<styleSheet"},
        {"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row"},
        {"xl/worksheets/sheet1.xml": None},
    ],
    ids=["workbook", "styles", "sheet", "sheet removed"],
)
def test_a_damaged_workbook_is_refused_naming_the_rule(
    tmp_path: Path, damage: dict[str, bytes | None]
) -> None:
    with pytest.raises(FileRejectedError) as refused:
        open_source(_workbook_with(tmp_path, damage))
    assert refused.value.code == "file.xlsx_damaged"


@settings(max_examples=3000, deadline=None)
@given(line=st.text(alphabet='a,;" \r\nạ', max_size=16), delimiter=st.sampled_from([",", ";"]))
def test_a_line_split_without_the_csv_module_is_split_as_the_csv_module_splits_it(
    line: str, delimiter: str
) -> None:
    """The reader splits the common lines itself (`_plain_cells`); whatever it splits, the csv module (as
    the reader uses it, strict) splits the same, and what it declines, the csv module reads."""
    cells = _plain_cells(line, delimiter)
    if cells is not None:
        assert cells == next(csv.reader(io.StringIO(line), delimiter=delimiter, strict=True))


@pytest.mark.parametrize(
    ("line", "cells"),
    [
        ('P1,Lê Văn Tư,"Bản Khau Vai, Xã Hùng Lợi"\n', ["P1", "Lê Văn Tư", "Bản Khau Vai, Xã Hùng Lợi"]),
        ('"x",,"y"\r\n', ["x", "", "y"]),
        ("a,b,\n", ["a", "b", ""]),
        (',"x",\n', ["", "x", ""]),
        ('"Nguyễn ""Văn"" A",1\n', None),  # a quote inside a quoted cell: the csv module's
        ('a"b",c\n', None),  # a quote inside a plain cell: the csv module's
        ('"a,b\n', None),  # a quoted cell left open
    ],
)
def test_the_lines_a_book_is_made_of_are_split_without_the_csv_module(
    line: str, cells: list[str] | None
) -> None:
    assert _plain_cells(line, ",") == cells
