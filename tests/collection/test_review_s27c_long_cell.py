"""A workbook's row is bounded as a CSV line is (review 27c).

The CSV reader rejects a line over 64 KB; a workbook's cells came out of the XLSX reader whole, whatever
their length. A cell of 200,000 characters (Excel writes no more than 32,767 in one, other programs do) was
stored in the import's staging and written cut to 32,000 characters, with "…", into the rejected rows'
workbook, whose cells Excel caps: an officer who corrected the row there imported half a value again. The
row is now rejected for the cell, named by its column, and its other cells still say which record it is.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from dancu.collection.models import StagingRecord
from dancu.collection.readers import MAX_CELL_CHARS, open_source, read_rows
from tests.collection.workbook_support import cell_put_whole, workbook_rows

pytestmark = pytest.mark.django_db

HEADER = ["record_id", "full_name", "gender", "birth_date", "address"]
HANOI = "Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"
# openpyxl cuts a cell it writes at Excel's 32,767 characters: the long cell is written as this mark, then
# put in the workbook's XML as another program would have written it.
MARK = "@@LONG-CELL@@"


def _workbook(path: Path, rows: list[list[str]], *, long_cell: str = "") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return cell_put_whole(path, MARK, long_cell) if long_cell else path


def _import(path: Path) -> list[tuple[object, ...]]:
    call_command("import", str(path), source="Sổ hộ khẩu", stdout=io.StringIO(), stderr=io.StringIO())
    return workbook_rows(path.with_name(path.name + ".rejected.xlsx"))


def test_a_200_000_character_cell_rejects_its_row_naming_the_column(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "so_ho_khau.xlsx",
        [
            ["HK-0001", "Lê Văn An", "Nam", "1990", HANOI],
            ["HK-0002", "Lê Văn Bình", "Nam", "1990", MARK],
            ["HK-0003", "Lê Văn Cường", "Nam", "1990", HANOI],
        ],
        long_cell="x" * 200_000,
    )

    [first, long, last] = list(read_rows(open_source(path)))

    assert first.problems == last.problems == []
    [problem] = long.problems
    assert (problem.field, problem.code) == ("address", "row.too_long")
    assert "200000 ký tự" in problem.message_vi
    assert "200000 characters" in problem.message_en
    assert long.line == 3
    assert long.values == {
        "record_id": "HK-0002",
        "full_name": "Lê Văn Bình",
        "gender": "Nam",
        "birth_date": "1990",
        "address": "",
    }


def test_the_import_rejects_the_row_and_its_workbook_names_row_column_and_rule(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "so_ho_khau.xlsx",
        [["HK-0001", "Lê Văn An", "Nam", "1990", HANOI], ["HK-0002", "Lê Văn Bình", "Nam", "1990", MARK]],
        long_cell="x" * 200_000,
    )

    titles, *rejected = _import(path)

    [row] = rejected
    assert row[0] == 3  # the spreadsheet's row: the header is row 1
    assert row[2] == "row.too_long"
    reasons = str(row[1])
    assert reasons.startswith("Địa chỉ:")
    assert "200000 ký tự" in reasons
    assert row[titles.index("record_id")] == "HK-0002"
    assert row[titles.index("full_name")] == "Lê Văn Bình"
    # Nothing is cut: the cell is refused, not kept in part, in the staging or in the workbook.
    assert row[titles.index("address")] in (None, "")
    stored = StagingRecord.objects.get(row_number=2)
    assert stored.status == StagingRecord.Status.REJECTED
    assert max(len(value) for value in stored.raw.values()) < 100


def test_a_cell_excel_itself_writes_whole_is_refused_over_the_bound(tmp_path: Path) -> None:
    # 32,767 characters: as much as Excel keeps in a cell, more than the rejected rows' workbook writes whole.
    path = _workbook(
        tmp_path / "so.xlsx",
        [
            ["HK-0001", "Lê Văn An", "Nam", "1990", HANOI],
            ["HK-0002", "Lê Văn Bình", "Nam", "1990", "x" * 32_767],
        ],
    )

    [_first, long] = list(read_rows(open_source(path)))

    [problem] = long.problems
    assert (problem.field, problem.code) == ("address", "row.too_long")
    assert f"{MAX_CELL_CHARS}" in problem.message_vi


def test_a_row_of_cells_each_within_the_bound_is_bounded_as_a_csv_line(tmp_path: Path) -> None:
    # Three cells of 25,000 Vietnamese letters (three bytes each in UTF-8): a row of 220 KB, far over the
    # 64 KB a CSV line may hold. The longest cells are refused until the rest fits.
    letters = "ạ" * 25_000
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([*HEADER, "ghi chú", "ghi chú 2"])
    sheet.append(["HK-0001", "Lê Văn An", "Nam", "1990", letters, letters, letters])
    path = tmp_path / "so.xlsx"
    workbook.save(path)

    [row] = list(read_rows(open_source(path)))

    assert {problem.code for problem in row.problems} == {"row.too_long"}
    assert sorted(problem.field for problem in row.problems) == ["address", "ghi chú", "ghi chú 2"]
    assert all("64 KB" in problem.message_en for problem in row.problems)
    assert row.values["record_id"] == "HK-0001"


def test_a_csv_cell_over_the_bound_within_a_readable_line_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "so.csv"
    path.write_text(
        ",".join(HEADER) + "\n" + f"HK-0001,Lê Văn An,Nam,1990,{'x' * 40_000}\n", encoding="utf-8"
    )

    [row] = list(read_rows(open_source(path)))

    [problem] = row.problems
    assert (problem.field, problem.code) == ("address", "row.too_long")
    assert row.values["address"] == ""
    assert row.values["record_id"] == "HK-0001"
