"""A ragged row's cells beyond the header are quoted in its reason, so the rejected rows' workbook keeps them.

A row with more cells than the header has columns (most often an address whose comma was read as a
delimiter) is rejected; its cells beyond the header belong to no column, and the workbook of rejected
rows, written column by column, dropped them: the officer mending the row in the workbook could not see
the half of the address that was cut off. The reason beside the row now quotes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from dancu.collection.models import ImportRun
from dancu.collection.readers import open_source, read_rows
from tests.collection.test_import_pages import upload
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

HEADER = "record_id,full_name,gender,birth_date,birth_place,address"
ROWS = [
    # The address unquoted: its commas split it into three cells.
    "R1,Lê Thị Mai,Nữ,1985,Hà Nội,Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội",
    '"R2","Trần Văn Nam","Nam","1979","Hà Nội","Số 2 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"',
]


def test_the_rejected_rows_workbook_keeps_the_cells_beyond_the_header(
    tmp_path: Path, personas: Personas, sign_in: Any
) -> None:
    client = sign_in(Client(), personas.cuong)
    upload(client, "\n".join([HEADER, *ROWS]).encode())
    run = ImportRun.objects.get()
    assert run.rows_rejected == 1

    response = client.get(reverse("collection:import_rejected", args=[run.pk]))
    path = tmp_path / "rejected.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2
    row, reasons, codes = rows[1][:3]
    assert (row, codes) == (2, "row.ragged")
    assert "«Phường Hoàn Kiếm», «Thành phố Hà Nội»" in str(reasons)


def test_a_workbooks_cells_beyond_the_header_are_quoted_and_a_long_quote_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "so.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["full_name", "birth_date"])
    sheet.append(["Lê Văn A", "1990", None, "thừa"])
    sheet.append(["Lê Văn B", "1991", "x" * 500])
    workbook.save(path)

    first, second = read_rows(open_source(path))

    (problem,) = first.problems
    assert problem.code == "row.ragged"
    assert problem.message_vi.endswith(": «thừa»")
    assert problem.message_en.endswith(": «thừa»")
    (problem,) = second.problems
    assert problem.message_vi.endswith("…")
    assert len(problem.message_vi) < 300
