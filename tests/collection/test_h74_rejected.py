"""The rejected rows' workbook gives the officer their own file back: its header cells as the office wrote
them ("STT", "Mã hồ sơ", "Họ và tên"), in the file's order, after the row and its reasons, so that the
corrected rows can be imported again under the columns the office knows (session 24, h74)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.readers import open_source
from dancu.collection.reports import rejected_rows_xlsx
from dancu.collection.services import import_start
from tests.collection.crash_support import staged_until_killed
from tests.collection.workbook_support import workbook_rows
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

ADDRESS = "Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"
TITLES_VI = ("Dòng", "Lý do", "Mã quy tắc")
DIGITS_IN_NAME = "Họ, chữ đệm và tên không được chứa chữ số."

# A commune's list as its office keeps it: a running number first, the columns in Vietnamese, one in
# capitals, a column of notes the registry does not know.
OFFICE_HEADER = ["STT", "Mã hồ sơ", "Họ và tên", "Giới tính", "NGÀY SINH", "Nơi sinh", "Địa chỉ", "Ghi chú"]
OFFICE_ROWS = [
    ["1", "R1", "Nguyễn Văn Hùng", "Nam", "17/05/1990", "Hà Nội", ADDRESS, ""],  # line 2: clean
    ["2", "R2", "Trần Văn 3", "Nam", "1990", "", ADDRESS, "sai tên"],  # line 3: digit in a name
    ["3", "R3", "Lê Thị Mai", "Nữ", "1985", "Hà Nội", ADDRESS, ""],  # line 4: waits for review
    ["4", "R4", "Phạm Văn 4", "Nam", "1991", "", ADDRESS, ""],  # line 5: digit in a name
]


def _csv_line(cells: list[str]) -> str:
    return ",".join(f'"{cell}"' if "," in cell else cell for cell in cells)


def office_csv(tmp_path: Path, rows: list[list[str]] = OFFICE_ROWS) -> Path:
    path = tmp_path / "danh_sach.csv"
    path.write_text("\n".join(_csv_line(cells) for cells in [OFFICE_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def run_import(path: Path, source: str = "Sổ hộ khẩu cũ", **options: object) -> None:
    call_command("import", str(path), source=source, stdout=io.StringIO(), stderr=io.StringIO(), **options)


def uploaded_by_cuong(
    tmp_path: Path, personas: Personas, sign_in: Callable[[Client, User], Client]
) -> Client:
    """The office's list uploaded from the import page by Cường, the district supervisor; his client."""
    client = sign_in(Client(), personas.cuong)
    client.post(
        reverse("collection:imports"),
        {
            "source": "Danh sách",
            "file": SimpleUploadedFile("danh_sach.csv", office_csv(tmp_path).read_bytes()),
        },
    )
    return client


def test_the_rejected_rows_are_titled_with_the_files_own_header_in_its_order(tmp_path: Path) -> None:
    path = office_csv(tmp_path)
    run_import(path)

    run = ImportRun.objects.get()
    # The run keeps the cells as written beside the registry's names for them, one for one.
    assert run.header == OFFICE_HEADER
    assert run.columns == [
        "stt",
        "record_id",
        "full_name",
        "gender",
        "birth_date",
        "birth_place",
        "address",
        "ghi chú",
    ]
    rows = workbook_rows(tmp_path / "danh_sach.csv.rejected.xlsx")
    # Before session 24 the header read "stt", "record_id", "full_name", ...: the registry's names.
    assert rows[0] == (*TITLES_VI, *OFFICE_HEADER)
    assert rows[1] == (
        3,
        DIGITS_IN_NAME,
        "name.digits",
        "2",
        "R2",
        "Trần Văn 3",
        "Nam",
        "1990",
        None,
        ADDRESS,
        "sai tên",
    )
    assert [row[0] for row in rows[1:]] == [3, 5]


def test_the_english_download_keeps_the_files_header_under_english_titles(
    tmp_path: Path, personas: Personas, sign_in: Callable[[Client, User], Client]
) -> None:
    client = uploaded_by_cuong(tmp_path, personas, sign_in)
    run = ImportRun.objects.get()

    download = client.get(reverse("collection:import_rejected", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="en")

    assert download.status_code == 200
    rows = workbook_rows(download)
    # The office's titles are its own words, in no language of the page: they stay as written.
    assert rows[0] == ("Row", "Reasons", "Rule codes", *OFFICE_HEADER)
    assert [row[0] for row in rows[1:]] == [3, 5]
    assert rows[1][1:3] == ("Full name must not contain digits.", "name.digits")
    # The rows are people's data: who took them from the page, and how many, is on record.
    taken = AuditEvent.objects.get(event_type=EventType.IMPORT_REJECTED_EXPORTED)
    assert (taken.actor, taken.subject_id, taken.data) == (
        personas.cuong,
        str(run.pk),
        {"rows": 2, "channel": "web"},
    )


def test_a_workbook_under_a_title_gives_back_its_header_row_as_written(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"] = "DANH SÁCH NHÂN KHẨU PHƯỜNG HOÀN KIẾM"
    header = ["Mã hồ sơ", "Họ, chữ đệm và tên", "Ngày/tháng/năm sinh", "Giới tính", "Địa chỉ thường trú"]
    for column, value in enumerate(header, start=1):
        sheet.cell(row=3, column=column, value=value)
    for column, value in enumerate(["R1", "Trần Văn 3", "1990", "Nam", ADDRESS], start=1):
        sheet.cell(row=4, column=column, value=value)
    path = tmp_path / "danh_sach.xlsx"
    workbook.save(path)

    assert open_source(path).header == header
    run_import(path)

    rows = workbook_rows(tmp_path / "danh_sach.xlsx.rejected.xlsx")
    assert rows[0] == (*TITLES_VI, *header)
    assert rows[1] == (4, DIGITS_IN_NAME, "name.digits", "R1", "Trần Văn 3", "1990", "Nam", ADDRESS)


def test_a_file_titled_with_the_registrys_names_gets_those_names_back(tmp_path: Path) -> None:
    # As written: a name in capitals is the registry's column all the same, and comes back in capitals.
    header = ["record_id", "Full_Name", "gender", "birth_date", "address"]
    path = tmp_path / "registry.csv"
    path.write_text(
        ",".join(header) + f'\nR1,Trần Văn 3,Nam,1990,"{ADDRESS}"\n',
        encoding="utf-8",
    )
    run_import(path)

    assert ImportRun.objects.get().columns == ["record_id", "full_name", "gender", "birth_date", "address"]
    rows = workbook_rows(tmp_path / "registry.csv.rejected.xlsx")
    assert rows[0] == (*TITLES_VI, *header)
    assert rows[1][3:] == ("R1", "Trần Văn 3", "Nam", "1990", ADDRESS)


def test_a_resumed_import_keeps_the_files_header(tmp_path: Path) -> None:
    path = office_csv(tmp_path)
    actor = Actor(system="test")
    run, source = import_start(path=path, source_name="Sổ hộ khẩu cũ", actor=actor)

    # The first batch of two rows is committed, then the process dies; the command is run again.
    staged_until_killed(rows=1, run=run, source=source, actor=actor, batch_size=2)
    assert StagingRecord.objects.count() == 2
    run_import(path, batch_size=2)

    run = ImportRun.objects.get()
    assert (run.status, run.rows_read, run.header) == (ImportRun.Status.DONE, 4, OFFICE_HEADER)
    rows = workbook_rows(tmp_path / "danh_sach.csv.rejected.xlsx")
    assert rows[0] == (*TITLES_VI, *OFFICE_HEADER)
    assert [(row[0], row[5]) for row in rows[1:]] == [(3, "Trần Văn 3"), (5, "Phạm Văn 4")]


def test_a_run_from_before_the_header_was_kept_still_downloads_with_the_registrys_names(
    tmp_path: Path, personas: Personas, sign_in: Callable[[Client, User], Client]
) -> None:
    client = uploaded_by_cuong(tmp_path, personas, sign_in)
    # What the migration leaves a run made before it: no header cells.
    ImportRun.objects.update(header=[])
    run = ImportRun.objects.get()

    download = client.get(reverse("collection:import_rejected", args=[run.pk]))

    assert download.status_code == 200
    rows = workbook_rows(download)
    assert rows[0] == (*TITLES_VI, *run.columns)
    assert rows[1][3:6] == ("2", "R2", "Trần Văn 3")


def test_a_run_from_before_the_header_was_kept_takes_it_when_its_file_is_imported_again(
    tmp_path: Path,
) -> None:
    path = office_csv(tmp_path)
    run_import(path)
    ImportRun.objects.update(header=[])
    target = tmp_path / "again.xlsx"

    # Running the command again for the same file (to write the workbook elsewhere) reads the same header.
    run_import(path, rejected_xlsx=target)

    assert ImportRun.objects.get().header == OFFICE_HEADER
    assert workbook_rows(target)[0] == (*TITLES_VI, *OFFICE_HEADER)


def test_a_header_whose_cells_do_not_match_the_runs_columns_is_not_used(tmp_path: Path) -> None:
    run_import(office_csv(tmp_path))
    run = ImportRun.objects.get()
    # A run whose columns were read otherwise than its header (never so by the reader): the names it
    # stages by are the only ones that fit its rows.
    run.header = OFFICE_HEADER[:3]
    run.save(update_fields=["header"])
    target = tmp_path / "mismatch.xlsx"

    rejected_rows_xlsx(run, target)

    assert workbook_rows(target)[0] == (*TITLES_VI, *run.columns)


def test_the_corrected_rows_import_again_under_the_offices_columns(tmp_path: Path) -> None:
    run_import(office_csv(tmp_path))
    rejected = tmp_path / "danh_sach.csv.rejected.xlsx"
    workbook = load_workbook(rejected)
    sheet = workbook.active
    # The officer corrects the names in the office's own "Họ và tên" column and sends the file again.
    name_column = [cell.value for cell in sheet[1]].index("Họ và tên") + 1
    sheet.cell(row=2, column=name_column, value="Trần Văn Ba")
    sheet.cell(row=3, column=name_column, value="Phạm Văn Bốn")
    corrected = tmp_path / "da_sua.xlsx"
    workbook.save(corrected)

    run_import(corrected, source="Sổ hộ khẩu cũ, đã sửa")

    again = ImportRun.objects.get(source="Sổ hộ khẩu cũ, đã sửa")
    assert again.rows_read == 2
    assert again.rows_rejected == 0
    staged = StagingRecord.objects.filter(run=again).order_by("row_number")
    assert [record.normalized["full_name"] for record in staged] == ["Trần Văn Ba", "Phạm Văn Bốn"]
    assert [record.raw["record_id"] for record in staged] == ["R2", "R4"]
