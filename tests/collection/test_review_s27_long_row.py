"""A row over the reader's 64 KB limit keeps its record ID in the rejected rows' workbook, read from the
line's first bytes, beside its line number. Until session 27 the workbook gave the line only, and an officer
with a book of thousands of records had to find the record by counting lines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from dancu.collection.readers import MAX_LINE_BYTES, open_source, read_rows

pytestmark = pytest.mark.django_db

HEADER = "record_id,full_name,gender,birth_date,address"
HANOI = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'
HUGE = "x" * (MAX_LINE_BYTES * 2)


def _rejected(tmp_path: Path, content: str, header: str = HEADER) -> list[tuple[object, ...]]:
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(header + "\n" + content, encoding="utf-8")
    call_command("import", str(path), source="Sổ hộ khẩu", stdout=io.StringIO(), stderr=io.StringIO())
    workbook = load_workbook(tmp_path / "so_ho_khau.csv.rejected.xlsx", read_only=True)
    return list(workbook.active.iter_rows(values_only=True))


def test_an_over_long_row_keeps_its_record_id_in_the_rejected_rows_workbook(tmp_path: Path) -> None:
    rows = _rejected(
        tmp_path,
        f"HK-0001,Lê Văn An,Nam,1990,{HANOI}\n"
        # The address cell runs past the limit: the ID before it is whole in the first bytes.
        f'HK-0002,Lê Văn Bình,Nam,1990,"{HUGE}"\n'
        f"HK-0003,Lê Văn Cường,Nam,1990,{HANOI}\n",
    )
    titles, [rejected] = rows[0], rows[1:]
    assert rejected[0] == 3  # the file's line: the header is line 1
    assert rejected[2] == "row.too_long"
    assert rejected[titles.index("record_id")] == "HK-0002"


def test_the_record_id_is_found_in_any_column_before_the_cut(tmp_path: Path) -> None:
    rows = _rejected(
        tmp_path,
        f"Lê Văn Bình,HK-0002,Nam,1990,{HUGE}\n",
        header="full_name,record_id,gender,birth_date,address",
    )
    titles, [rejected] = rows[0], rows[1:]
    assert rejected[titles.index("record_id")] == "HK-0002"


def test_an_id_the_line_was_cut_inside_is_left_out_rather_than_halved(tmp_path: Path) -> None:
    # The first cell itself runs past the limit: nothing of it is taken for an ID.
    rows = _rejected(tmp_path, f"HK-{HUGE},Lê Văn Bình,Nam,1990,{HANOI}\n")
    titles, [rejected] = rows[0], rows[1:]
    assert rejected[2] == "row.too_long"
    assert rejected[titles.index("record_id")] in (None, "")


def test_an_id_in_quotes_on_a_record_spanning_lines_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "so.csv"
    path.write_text(
        HEADER + "\n" + f'"HK, 7","Lê Văn\nBình",Nam,1990,"{HUGE}"\n' + f"HK-8,Lê Văn An,Nam,1990,{HANOI}\n",
        encoding="utf-8",
    )
    read = list(read_rows(open_source(path)))
    assert [problem.code for problem in read[0].problems] == ["row.too_long"]
    assert read[0].values == {"record_id": "HK, 7"}
    assert read[1].values["record_id"] == "HK-8"
