"""A province supervisor imports the files commune offices really send: saved by old Vietnamese software in
TCVN3, VNI or Windows-1258, as Excel workbooks with a title above the header and an empty sheet before
the list, with PINs turned into numbers and dates into serial numbers, with the columns named in
Vietnamese."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from dancu.collection.models import ImportRun
from dancu.collection.readers import FileRejectedError, open_source, read_rows
from dancu.lib.vnencoding import CP1258_DECOMPOSED, TCVN3, VNI, encode_legacy
from dancu.registry.models import Citizen
from tests.conftest import Personas

HEADER = "record_id,full_name,gender,birth_date,birth_place,address"
ADDRESS = "Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"
PEOPLE = [
    ("R1", "Nguyễn Văn Hùng", "Nam", "17/05/1990", "Hà Nội", ADDRESS),
    # Every word of "Phan Thị Loan" in VNI reads as Vietnamese too ("Phan Thò Loan"): only the other
    # cells of the line tell which it is.
    ("R2", "Phan Thị Loan", "Nữ", "02/03/1970", "Hà Nội", ADDRESS),
    ("R3", "Lê Thu Giang", "Nữ", "1985", "Hà Nội", ADDRESS),
]


def legacy_file(tmp_path: Path, encoding: str) -> Path:
    """The people as the office's old software saved them: one byte per letter, CRLF line ends."""
    lines = [HEADER.encode()]
    for person in PEOPLE:
        lines.append(b",".join(b'"' + encode_legacy(cell, encoding) + b'"' for cell in person))
    path = tmp_path / f"{encoding}.csv"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    return path


@pytest.mark.parametrize("encoding", [TCVN3, VNI, CP1258_DECOMPOSED])
def test_a_file_saved_in_a_legacy_vietnamese_encoding_reads_as_vietnamese(
    tmp_path: Path, encoding: str
) -> None:
    read = list(read_rows(open_source(legacy_file(tmp_path, encoding))))
    assert [row.problems for row in read] == [[], [], []]
    assert [tuple(row.values.values()) for row in read] == PEOPLE


def test_a_line_no_legacy_encoding_explains_is_still_refused_in_words_a_supervisor_follows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mixed.csv"
    # "Lê" and a byte that is no letter in any of them.
    path.write_bytes(f"{HEADER}\n".encode() + b"R1,L\xea V\xff,Nam,1990,,\n")
    (row,) = read_rows(open_source(path))
    (problem,) = row.problems
    assert problem.code == "row.encoding"
    assert "TCVN3" in problem.message_vi
    assert "CSV UTF-8" in problem.message_vi
    assert "TCVN3" in problem.message_en
    assert "CSV UTF-8" in problem.message_en


def excel_workbook(tmp_path: Path) -> Path:
    """A list as an office keeps it in Excel: "Sheet1" left empty, the list on the second sheet under a
    title merged across the columns and a blank line; PINs typed as numbers (the leading zero gone), one
    date a date cell, one a serial number whose date format was lost, one a year alone."""
    workbook = Workbook()
    workbook.active.title = "Sheet1"
    sheet = workbook.create_sheet("Danh sách")
    sheet.append(["DANH SÁCH NHÂN KHẨU PHƯỜNG HOÀN KIẾM"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=6)
    sheet.append([])
    sheet.append(
        ["Mã hồ sơ", "  Họ và tên ", "GIỚI TÍNH", "Ngày sinh", "Nơi sinh", "Số định danh", "Địa chỉ"]
    )
    sheet.append(
        ["R1", "Nguyễn Văn Hùng", "Nam", datetime.datetime(1990, 5, 17), "Hà Nội", 1090123456, ADDRESS],  # noqa: DTZ001
    )
    serial = (datetime.date(1970, 3, 2) - datetime.date(1899, 12, 30)).days
    sheet.append(["R2", "Đỗ Thị Hoa", "Nữ", serial, "Hà Nội", None, ADDRESS])
    sheet.append(["R3", "Lê Thu Giang", "Nữ", 1985, "Hà Nội", None, ADDRESS])
    path = tmp_path / "danh_sach.xlsx"
    workbook.save(path)
    return path


def test_an_excel_list_under_a_title_after_an_empty_sheet_is_read_from_its_header(tmp_path: Path) -> None:
    source = open_source(excel_workbook(tmp_path))
    assert source.columns == [
        "record_id", "full_name", "gender", "birth_date", "birth_place", "id_number", "address",
    ]  # fmt: skip
    assert (source.sheet, source.header_row, source.rows_estimate) == (1, 3, 3)
    read = list(read_rows(source))
    assert [row.number for row in read] == [1, 2, 3]
    assert [row.values["birth_date"] for row in read] == ["1990-05-17", "1970-03-02", "1985"]
    assert read[0].values["id_number"] == "1090123456"
    # Resuming after the first row reads the same rows on.
    assert [row.values["record_id"] for row in read_rows(source, skip=1)] == ["R2", "R3"]


def test_a_header_in_vietnamese_with_any_case_and_spacing_names_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "vn.csv"
    path.write_text(
        " MÃ HỒ SƠ ;Họ và  tên;Giới tính ; ngày sinh;Địa chỉ thường trú;Ghi chú\n"
        "R1;Nguyễn Văn Hùng;Nam;1990;Hà Nội;x\n",
        encoding="utf-8-sig",
    )
    source = open_source(path)
    assert source.columns == ["record_id", "full_name", "gender", "birth_date", "address", "ghi chú"]
    (row,) = read_rows(source)
    assert (row.values["full_name"], row.values["ghi chú"]) == ("Nguyễn Văn Hùng", "x")


def test_a_missing_column_is_named_as_the_office_names_it(tmp_path: Path) -> None:
    path = tmp_path / "no_date.csv"
    path.write_text("Họ và tên,Giới tính\nNguyễn Văn Hùng,Nam\n", encoding="utf-8")
    with pytest.raises(FileRejectedError) as refused:
        open_source(path)
    assert refused.value.code == "file.missing_columns"
    assert refused.value.message_vi == "Thiếu cột bắt buộc: birth_date (“Ngày sinh”)"
    assert refused.value.message_en == "Required columns are missing: birth_date (“Ngày sinh”)"


def upload(client: Client, path: Path, source: str = "Sổ hộ khẩu Hoàn Kiếm") -> Any:
    return client.post(
        reverse("collection:imports"),
        {"source": source, "file": SimpleUploadedFile(path.name, path.read_bytes())},
    )


@pytest.mark.django_db
def test_a_tcvn3_file_uploaded_by_the_supervisor_lands_in_the_registry_in_vietnamese(
    personas: Personas, sign_in: Any, tmp_path: Path
) -> None:
    client = sign_in(Client(), personas.cuong)
    response = upload(client, legacy_file(tmp_path, TCVN3))
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert (run.rows_read, run.rows_rejected) == (3, 0)
    assert "row.encoding" not in run.issue_counts
    assert set(run.records.values_list("normalized__full_name", flat=True)) == {
        "Nguyễn Văn Hùng", "Phan Thị Loan", "Lê Thu Giang",
    }  # fmt: skip
    # The dated rows go straight into the registry (the year-only one waits for a reviewer).
    assert {"Nguyễn Văn Hùng", "Phan Thị Loan"} <= set(Citizen.objects.values_list("full_name", flat=True))


@pytest.mark.django_db
def test_an_excel_workbook_uploaded_by_the_supervisor_keeps_its_dates(
    personas: Personas, sign_in: Any, tmp_path: Path
) -> None:
    client = sign_in(Client(), personas.cuong)
    assert upload(client, excel_workbook(tmp_path)).status_code == 302
    run = ImportRun.objects.get()
    assert run.rows_read == 3
    assert "date.format" not in run.issue_counts
    staged = dict(run.records.values_list("normalized__record_id", "normalized__birth_date"))
    assert staged["R2"] == "1970-03-02"


def test_a_line_whose_cells_are_not_all_in_one_legacy_encoding_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "half.csv"
    # The name is VNI; the place holds a letter VNI does not write.
    path.write_bytes(
        f"{HEADER}\n".encode() + b"R1," + encode_legacy("Nguyễn Văn Hùng", VNI) + b",Nam,1990,V\xff,\n"
    )
    (row,) = read_rows(open_source(path))
    assert [problem.code for problem in row.problems] == ["row.encoding"]


def test_a_workbook_with_no_known_column_anywhere_is_refused_for_its_first_row(tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.append(["STT", "Tên"])
    workbook.active.append([1, "Nguyễn Văn Hùng"])
    path = tmp_path / "unknown.xlsx"
    workbook.save(path)
    with pytest.raises(FileRejectedError) as refused:
        open_source(path)
    assert refused.value.code == "file.no_header"
    assert "“Họ và tên”" in refused.value.message_vi
    assert "“Họ và tên”" in refused.value.message_en


def test_only_whole_numbers_in_the_serial_range_of_a_date_column_are_read_as_excel_dates(
    tmp_path: Path,
) -> None:
    workbook = Workbook()
    workbook.active.append(["full_name", "birth_date", "id_number"])
    serial = (datetime.date(1970, 3, 2) - datetime.date(1899, 12, 30)).days
    assert serial == 25629
    for value in (25629, 25629.5, True, "25629", 9999):
        workbook.active.append(["Nguyễn Văn Hùng", value, serial])
    path = tmp_path / "dates.xlsx"
    workbook.save(path)
    read = list(read_rows(open_source(path)))
    assert [row.values["birth_date"] for row in read] == ["1970-03-02", "25629.5", "True", "25629", "9999"]
    # Only a date column: a number elsewhere stays a number.
    assert read[0].values["id_number"] == "25629"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["template.csv", "template.xlsx"])
def test_a_file_with_a_header_and_no_rows_is_refused_at_the_upload(
    personas: Personas, sign_in: Any, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text(HEADER + "\r\n", encoding="utf-8-sig")
    else:
        workbook = Workbook()
        workbook.active.append(HEADER.split(","))
        workbook.save(path)
    client = sign_in(Client(), personas.cuong)
    response = upload(client, path)
    assert response.status_code == 422
    assert (
        f"{name}: Tệp chỉ có dòng tiêu đề, không có dòng dữ liệu nào [file.no_rows]"
        in response.content.decode()
    )
    assert not ImportRun.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "told"),
    [
        ("vi", "Tệp này đã được nhập với nguồn “Sổ hộ khẩu Hoàn Kiếm” (lần nhập #{run}, "),
        ("en", "This file was already imported under the source “Sổ hộ khẩu Hoàn Kiếm” (import #{run}, "),
    ],
)
def test_the_same_file_uploaded_again_shows_its_earlier_import_and_says_so(
    personas: Personas, sign_in: Any, tmp_path: Path, language: str, told: str
) -> None:
    client = sign_in(Client(HTTP_ACCEPT_LANGUAGE=language), personas.cuong)
    path = legacy_file(tmp_path, TCVN3)
    first = upload(client, path)
    run = ImportRun.objects.get()
    page = client.get(first.url).content.decode()
    assert "already imported" not in page
    assert "đã được nhập với nguồn" not in page

    again = upload(client, path)
    assert again.status_code == 302
    assert again.url == first.url
    assert ImportRun.objects.count() == 1
    assert run.records.count() == 3  # nothing read twice
    page = client.get(again.url).content.decode()
    assert told.format(run=run.pk) in page
