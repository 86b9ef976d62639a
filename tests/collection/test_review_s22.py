"""The rows an import rejects are cited by their own number in the file: the spreadsheet's row number in
a workbook, the line the record starts on in a CSV file, so that a supervisor finds "Dòng 57" in Excel or
LibreOffice. A resumed import gives the same numbers."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.readers import open_source, read_rows
from dancu.collection.reports import rejected_rows_xlsx
from dancu.collection.services import ImportPolicy, import_rows, import_start
from tests.collection.crash_support import staged_until_killed
from tests.collection.workbook_support import rejected_rows, workbook_rows
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

HEADER = "record_id,full_name,gender,birth_date,birth_place,id_number,old_id_number,address"
HOAN_KIEM = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'
# A cell holding a line break, as offices type an address on two lines: the record spans two lines.
TWO_LINES = '"Số 1 phố Hàng Trống,\nPhường Hoàn Kiếm, Thành phố Hà Nội"'

# Line by line, as a text editor or LibreOffice numbers them (the header is line 1).
CSV_LINES = [
    HEADER,  # 1
    f"R1,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,,,{HOAN_KIEM}",  # 2: clean
    "",  # 3: blank
    f"R2,Trần Văn 3,Nam,1990,,,,{HOAN_KIEM}",  # 4: digit in a name, rejected
    f"R3,Lê Thị Mai,Nữ,1985,Hà Nội,,,{TWO_LINES}",  # 5-6: a record on two lines
    "",  # 7
    ",,",  # 8: only delimiters: no record, but a line
    "",  # 9
    f"R4,Phạm Văn 4,Nam,1990,,,,{TWO_LINES}",  # 10-11: rejected, starts on line 10
    f"R5,Đỗ Văn 5,Nam,1990,,,,{HOAN_KIEM}",  # 12: rejected
]


def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "so_ho_khau.csv"
    path.write_text("\n".join(CSV_LINES) + "\n", encoding="utf-8")
    return path


def xlsx_file(tmp_path: Path) -> Path:
    """A list as offices save it: a title and a blank row above the header, blank rows between records."""
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"] = "DANH SÁCH NHÂN KHẨU PHƯỜNG HOÀN KIẾM"
    address = "Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"
    rows = {
        3: HEADER.split(","),
        4: ["R1", "Nguyễn Văn Hùng", "Nam", "17/05/1990", "Hà Nội", "", "", address],
        5: ["R2", "Trần Văn 3", "Nam", "1990", "", "", "", address],  # rejected
        # 6 and 7 blank
        8: ["R3", "Lê Thị Mai", "Nữ", "1985", "Hà Nội", "", "", "Số 1 phố Hàng Trống,\nPhường Hoàn Kiếm"],
        9: ["R4", "Phạm Văn 4", "Nam", "1990", "", "", "", "Số 1,\nHàng Trống"],  # rejected
        # 10 blank
        11: ["R5", "Đỗ Văn 5", "Nam", "1990", "", "", "", address],  # rejected
    }
    for number, cells in rows.items():
        for column, value in enumerate(cells, start=1):
            if value:
                sheet.cell(row=number, column=column, value=value)
    path = tmp_path / "danh_sach.xlsx"
    workbook.save(path)
    return path


def run_import(path: Path, **options: object) -> None:
    call_command(
        "import", str(path), source="Sổ hộ khẩu cũ", stdout=io.StringIO(), stderr=io.StringIO(), **options
    )


def test_the_csv_reader_gives_each_record_the_line_it_starts_on(tmp_path: Path) -> None:
    read = list(read_rows(open_source(csv_file(tmp_path))))
    # The data rows are still counted without the blank lines: the import resumes by them.
    assert [row.number for row in read] == [1, 2, 3, 4, 5, 6]
    assert [row.line for row in read] == [2, 4, 5, 8, 10, 12]
    assert read[2].values["address"] == "Số 1 phố Hàng Trống,\nPhường Hoàn Kiếm, Thành phố Hà Nội"


def test_the_workbook_reader_gives_each_row_the_spreadsheets_row_number(tmp_path: Path) -> None:
    source = open_source(xlsx_file(tmp_path))
    assert source.header_row == 3
    read = list(read_rows(source))
    assert [row.number for row in read] == [1, 2, 3, 4, 5]
    assert [row.line for row in read] == [4, 5, 8, 9, 11]
    # Skipping the rows a crashed session committed leaves the file's numbers as they were.
    assert [row.line for row in read_rows(source, skip=3)] == [9, 11]


def test_the_rejected_rows_of_a_csv_file_name_its_lines(tmp_path: Path) -> None:
    path = csv_file(tmp_path)
    run_import(path)

    rows = rejected_rows(tmp_path / "so_ho_khau.csv.rejected.xlsx")
    # Line 8 holds only delimiters: a ragged record, rejected, found on line 8 too.
    assert [(row[0], row[2].split(", ")[0]) for row in rows] == [
        (4, "name.digits"),
        (8, "row.ragged"),
        (10, "name.digits"),
        (12, "name.digits"),
    ]
    assert rows[2][-1] == "Số 1 phố Hàng Trống,\nPhường Hoàn Kiếm, Thành phố Hà Nội"
    staged = StagingRecord.objects.order_by("row_number")
    assert list(staged.values_list("row_number", "source_row")) == [
        (1, 2),
        (2, 4),
        (3, 5),
        (4, 8),
        (5, 10),
        (6, 12),
    ]


def test_the_rejected_rows_of_a_workbook_name_its_rows(tmp_path: Path) -> None:
    path = xlsx_file(tmp_path)
    run_import(path)

    rows = rejected_rows(tmp_path / "danh_sach.xlsx.rejected.xlsx")
    assert [(row[0], row[2]) for row in rows] == [(5, "name.digits"), (9, "name.digits"), (11, "name.digits")]
    assert rows[0][1] == "Họ, chữ đệm và tên không được chứa chữ số."
    assert rows[1][-1] == "Số 1,\nHàng Trống"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_resumed_import_gives_the_same_file_rows(tmp_path: Path, kind: str) -> None:
    path = csv_file(tmp_path) if kind == "csv" else xlsx_file(tmp_path)
    actor = Actor(system="test")
    run, source = import_start(path=path, source_name="Sổ cũ", actor=actor)

    # The first batch of two rows is committed, then the process dies.
    staged_until_killed(rows=1, run=run, source=source, actor=actor, batch_size=2)
    assert StagingRecord.objects.count() == 2

    run, source = import_start(path=path, source_name="Sổ cũ", actor=actor)
    assert run.rows_read == 2
    import_rows(run=run, source=source, actor=actor, policy=ImportPolicy(), batch_size=2)

    staged = list(StagingRecord.objects.order_by("row_number").values_list("source_row", flat=True))
    assert staged == ([2, 4, 5, 8, 10, 12] if kind == "csv" else [4, 5, 8, 9, 11])


def test_a_number_repeated_in_the_file_names_the_first_rows_line(tmp_path: Path) -> None:
    """Rows without a record id are told apart by their row: the file's, as the workbook gives it, also
    when the first row was staged by an earlier batch (found among the staged rows)."""
    path = tmp_path / "cmnd.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                "",
                f",Lê Văn Tư,Nam,1960,,,987654321,{HOAN_KIEM}",  # line 3
                "",
                f",Lê Văn Tư,Nam,1960,,,987654321,{HOAN_KIEM}",  # line 5
                f",Lê Văn Tư,Nam,1960,,,987654321,{HOAN_KIEM}",  # line 6, same batch as line 5
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    run_import(path, batch_size=2, stage_only=True)

    records = {r.source_row: r for r in StagingRecord.objects.all()}
    assert records[3].issues == []
    for line in (5, 6):
        assert [i["code"] for i in records[line].issues] == ["cmnd.duplicate_in_batch"]
        assert records[line].issues[0]["message_vi"] == "Số CMND này đã có ở bản ghi #3 của cùng đợt nhập."
    assert [row[0] for row in rejected_rows(tmp_path / "cmnd.csv.rejected.xlsx")] == [5, 6]


def test_the_downloaded_rejected_rows_name_the_files_rows(
    tmp_path: Path, personas: Personas, sign_in: Callable[[Client, User], Client]
) -> None:
    client = sign_in(Client(), personas.cuong)
    content = xlsx_file(tmp_path).read_bytes()
    client.post(
        reverse("collection:imports"),
        {"source": "Danh sách", "file": SimpleUploadedFile("danh_sach.xlsx", content)},
    )
    run = ImportRun.objects.get()
    assert run.rows_read == 5

    download = client.get(reverse("collection:import_rejected", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="en")

    assert download.status_code == 200
    rows = workbook_rows(download)
    assert [row[0] for row in rows] == ["Row", 5, 9, 11]


def test_a_row_staged_before_the_files_rows_were_recorded_is_cited_by_its_data_row(tmp_path: Path) -> None:
    run_import(csv_file(tmp_path))
    StagingRecord.objects.filter(row_number=2).update(source_row=None)
    target = tmp_path / "again.xlsx"

    rejected_rows_xlsx(ImportRun.objects.get(), target)

    assert [row[0] for row in rejected_rows(target)] == [2, 8, 10, 12]
