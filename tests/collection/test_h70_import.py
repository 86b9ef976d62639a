"""A commune's old household book as offices keep it, brought in from the import page (session 24, h70):
a CSV saved by the office's old software in a legacy encoding with its header in Vietnamese, and the
column names of the Hà Nội books ("Ngày/tháng/năm sinh", "Họ tên bố")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.readers import FileRejectedError, open_source, read_rows
from dancu.lib import vnencoding
from dancu.registry.models import Citizen
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

VIETNAMESE_HEADER = "Mã hồ sơ;Họ và tên;Ngày sinh;Giới tính;Nơi sinh;Họ tên cha;Địa chỉ thường trú"
ROW = (
    "HK1;Nguyễn Thị Hường;17/05/1990;Nữ;Hà Nội;Nguyễn Văn Đức;"
    "Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"
)


@pytest.mark.parametrize(
    "encoding",
    [vnencoding.CP1258_AS_CP1252, vnencoding.TCVN3, vnencoding.VNI],
    ids=["cp1258", "tcvn3", "vni"],
)
def test_a_vietnamese_header_in_a_legacy_encoding_is_read_like_its_rows(
    tmp_path: Path, encoding: str
) -> None:
    # Before session 24 the header had to be UTF-8 though the rows below it need not: the whole file, as
    # the office's software saved it, was refused with file.encoding.
    path = tmp_path / "so_ho_khau.csv"
    path.write_bytes(
        b"\r\n".join(vnencoding.encode_legacy(line, encoding) for line in (VIETNAMESE_HEADER, ROW)) + b"\r\n"
    )

    source = open_source(path)

    assert source.columns == [
        "record_id", "full_name", "birth_date", "gender", "birth_place", "father_name", "address",
    ]  # fmt: skip
    (row,) = read_rows(source)
    assert row.problems == []
    assert row.values["full_name"] == "Nguyễn Thị Hường"
    assert row.values["father_name"] == "Nguyễn Văn Đức"


def test_a_header_no_legacy_encoding_explains_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"full_na\xffme;Ng\xe0y sinh\xfe\xfe\n1990\n")
    with pytest.raises(FileRejectedError) as refused:
        open_source(path)
    assert refused.value.code == "file.encoding"
    assert "TCVN3 (ABC), VNI hay Windows-1258" in refused.value.message_vi


def test_the_page_imports_a_windows_1258_book_with_a_vietnamese_header(
    personas: Personas, sign_in: Any
) -> None:
    content = b"\r\n".join(
        vnencoding.encode_legacy(line, vnencoding.CP1258_AS_CP1252) for line in (VIETNAMESE_HEADER, ROW)
    )
    client = sign_in(Client(), personas.cuong)

    response = client.post(
        reverse("collection:imports"),
        {"source": "Sổ hộ khẩu Hoàn Kiếm", "file": SimpleUploadedFile("so_ho_khau.csv", content)},
    )

    assert response.status_code == 302, response.content.decode()
    run = ImportRun.objects.get()
    assert (run.status, run.rows_read, run.rows_applied, run.rows_rejected) == ("done", 1, 1, 0)
    record = StagingRecord.objects.get(run=run)
    assert (record.status, record.issues) == (StagingRecord.Status.APPROVED, [])
    citizen = Citizen.objects.get()
    assert citizen.full_name == "Nguyễn Thị Hường"


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Ngày/tháng/năm sinh", "birth_date"),
        ("Ngày, tháng, năm sinh", "birth_date"),
        ("NGÀY THÁNG NĂM SINH", "birth_date"),
        ("Năm sinh", "birth_date"),
        ("Họ tên bố", "father_name"),
        ("Họ và tên bố", "father_name"),
        ("Họ, chữ đệm và tên", "full_name"),
    ],
)
def test_the_column_names_of_the_books_are_understood(tmp_path: Path, header: str, column: str) -> None:
    # "Ngày/tháng/năm sinh" was an unknown column, so a book naming its dates so was refused for a missing
    # birth_date; "Họ tên bố" was kept as an extra column and the father's name never reached the record.
    names = {"full_name": "Họ và tên", "birth_date": "Ngày sinh"} | {column: header}
    path = tmp_path / "so.csv"
    path.write_text(";".join(names.values()) + "\nx;y;z\n", encoding="utf-8")
    assert open_source(path).columns == list(names)


def test_an_unknown_column_is_still_kept_under_its_own_name(tmp_path: Path) -> None:
    path = tmp_path / "so.csv"
    path.write_text("Họ và tên,Ngày sinh,Quan hệ với chủ hộ\nLê Văn An,1990,Con\n", encoding="utf-8")
    (row,) = read_rows(open_source(path))
    assert row.values["quan hệ với chủ hộ"] == "Con"


# The first sector of an Excel 97-2003 workbook (a Compound File): its signature, then binary zeros.
OLD_EXCEL = (
    bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 16 + bytes.fromhex("3E000300FEFF0900") + b"\x00" * 488
)


def test_an_old_excel_workbook_uploaded_is_refused_saying_how_to_save_it(
    personas: Personas, sign_in: Any
) -> None:
    # The refusal said only "Chỉ nhận tệp .csv hoặc .xlsx": an officer holding the book as an .xls was not
    # told that saving it again as .xlsx is all it takes.
    client = sign_in(Client(), personas.cuong)

    response = client.post(
        reverse("collection:imports"),
        {"source": "Sổ hộ khẩu", "file": SimpleUploadedFile("so_ho_khau.xls", OLD_EXCEL)},
    )

    assert response.status_code == 422
    refusal = response.content.decode()
    assert "so_ho_khau.xls: Chỉ nhận tệp .csv hoặc .xlsx; bảng tính Excel cũ (.xls)" in refusal
    assert "lưu lại dạng .xlsx hoặc CSV UTF-8 [file.type]" in refusal
    assert not ImportRun.objects.exists()


def test_an_old_excel_workbook_under_another_name_is_named_as_such(tmp_path: Path) -> None:
    # A workbook renamed .csv (or given to `dancu import`) was "not CSV text nor an XLSX workbook".
    path = tmp_path / "so_ho_khau.csv"
    path.write_bytes(OLD_EXCEL)
    with pytest.raises(FileRejectedError) as refused:
        open_source(path)
    assert refused.value.code == "file.binary"
    assert refused.value.message_vi.startswith("Tệp là bảng tính Excel cũ (.xls, Excel 97–2003)")
    assert "save it as .xlsx or CSV UTF-8" in refused.value.message_en
