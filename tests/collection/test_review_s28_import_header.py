"""A header cell is bounded as a data cell is (review 28).

A data cell over 30,000 characters rejects its row (`row.too_long`), but the header's cells were read
whole: a workbook whose header held a 40,000-character cell was imported, the cell kept on the run, shown
on its pages and written cut into the rejected rows' workbook. A CSV header line, read within its first
64 KB, had the same hole. The file is now refused before anything is staged (`file.header_too_long`),
naming the column by its position.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.readers import FileRejectedError, open_source
from tests.collection.workbook_support import cell_put_whole
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

HANOI = "Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"
# openpyxl cuts a cell it writes at Excel's 32,767 characters: the header's long cell is written as this
# mark, then put in the workbook's XML whole, as another program would have written it.
MARK = "@@LONG-HEADER@@"
LONG = "Ghi chú " + "x" * 39_992  # 40,000 characters


def _workbook(path: Path) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["record_id", "full_name", MARK, "birth_date", "address"])
    sheet.append(["HK-0001", "Lê Văn An", "", "1990", HANOI])
    workbook.save(path)
    return cell_put_whole(path, MARK, LONG)


def _csv(path: Path) -> Path:
    path.write_text(
        f'record_id,full_name,{LONG},birth_date,address\nHK-0001,Lê Văn An,,1990,"{HANOI}"\n',
        encoding="utf-8",
    )
    return path


def _import(path: Path) -> None:
    call_command("import", str(path), source="Sổ hộ khẩu", stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.parametrize(("make", "suffix"), [(_workbook, "xlsx"), (_csv, "csv")], ids=["xlsx", "csv"])
def test_a_40_000_character_header_cell_refuses_the_file_naming_its_column(
    make: Any, suffix: str, tmp_path: Path
) -> None:
    path = make(tmp_path / f"so_ho_khau.{suffix}")

    with pytest.raises(FileRejectedError) as refused:
        open_source(path)
    assert refused.value.code == "file.header_too_long"
    assert "cột 3" in refused.value.message_vi
    assert "40000" in refused.value.message_vi
    assert "column 3" in refused.value.message_en
    assert "30000" in refused.value.message_en

    with pytest.raises(CommandError) as command:
        _import(path)
    assert "[file.header_too_long]" in str(command.value)
    assert "column 3" in str(command.value)
    assert not ImportRun.objects.exists()
    assert not StagingRecord.objects.exists()


def test_the_upload_page_refuses_a_workbook_with_a_40_000_character_header_cell(
    personas: Personas, sign_in: Any, tmp_path: Path
) -> None:
    client = sign_in(Client(), personas.cuong)
    content = _workbook(tmp_path / "so_ho_khau.xlsx").read_bytes()

    refused = client.post(
        reverse("collection:imports"),
        {"source": "Sổ hộ khẩu", "file": SimpleUploadedFile("so_ho_khau.xlsx", content)},
    )

    assert refused.status_code == 422
    page = refused.content.decode()
    assert "[file.header_too_long]" in page
    assert "cột 3" in page
    assert LONG not in page
    assert not ImportRun.objects.exists()
    assert not StagingRecord.objects.exists()
