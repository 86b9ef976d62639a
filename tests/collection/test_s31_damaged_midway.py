"""Files damaged after their header, met in the middle of an import (sprint 31).

A workbook whose sheet is cut or corrupted part-way passes `open_source` (its header and its archive's
records are sound) and breaks only when its rows are read: the parser's error used to escape the reader
and every caller, leaving a traceback on the terminal, a run "in progress" for ever and a failed task in
the worker. Now the rows before the damage are committed, the run is marked failed with `file.xlsx_damaged`
naming the sheet row after which the damage begins, and the page, the API and `dancu import` say so. The
files are built here small: a workbook of a few good rows, its sheet part cut or corrupted after them.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from dancu.audit.models import AuditEvent, EventType
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.readers import FileRejectedError, open_source, read_rows
from tests.collection.test_form_api import api
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

SHEET = "xl/worksheets/sheet1.xml"
SOURCE = "Sổ hộ khẩu Hoàn Kiếm"
HOAN_KIEM = "Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"
# The people of the book, one a row after its header (sheet rows 2 to 6).
PEOPLE = [
    ("HK-0001", "Lê Văn An", "Nam", "1990"),
    ("HK-0002", "Đỗ Thị Hoa", "Nữ", "1985"),
    ("HK-0003", "Trần Văn Bình", "Nam", "1972"),
    ("HK-0004", "Phạm Thị Lan", "Nữ", "1968"),
    ("HK-0005", "Vũ Văn Long", "Nam", "2001"),
]


def _book() -> bytes:
    """The book whole, as an office saves it (openpyxl writes its strings inline, in the sheet)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["record_id", "full_name", "gender", "birth_date", "address"])
    for person in PEOPLE:
        sheet.append([*person, HOAN_KIEM])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _with_sheet(sheet: bytes, *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The book with its sheet part replaced by `sheet`, the archive itself sound."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_book())) as source, zipfile.ZipFile(out, "w", method) as archive:
        for item in source.infolist():
            archive.writestr(item.filename, sheet if item.filename == SHEET else source.read(item))
    return out.getvalue()


def _sheet() -> bytes:
    with zipfile.ZipFile(io.BytesIO(_book())) as archive:
        return archive.read(SHEET)


def _after_row(sheet: bytes, row: int) -> int:
    """Where the sheet's XML goes on after its row `row` (the header is row 1)."""
    start = sheet.index(f'<row r="{row}"'.encode())
    return sheet.index(b"</row>", start) + len(b"</row>")


def cut_book(after_row: int = 4) -> bytes:
    """The book with its sheet cut a few bytes into the row after `after_row`, as a copy that stopped."""
    sheet = _sheet()
    return _with_sheet(sheet[: _after_row(sheet, after_row) + 30])


def garbled_book(after_row: int = 4) -> bytes:
    """The book with bytes that are no XML in its sheet after `after_row`, its archive sound."""
    sheet = _sheet()
    at = _after_row(sheet, after_row)
    return _with_sheet(sheet[:at] + b"<row r=<<\x01\x02 garbage" + sheet[at + 40 :])


def failed_checksum_book() -> bytes:
    """The book stored uncompressed, one byte of a later row changed after its checksum was taken."""
    data = bytearray(_with_sheet(_sheet(), method=zipfile.ZIP_STORED))
    at = data.index(b"HK-0005")
    data[at : at + 7] = b"HK-9995"
    return bytes(data)


def broken_deflate_book() -> bytes:
    """The book with the compressed bytes of its sheet overwritten past the first rows: what the
    decompressor makes of them is an error of its own (zlib), a checksum or an XML one."""
    data = bytearray(_book())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(SHEET)
    # The member's data starts after its local header: 30 bytes, its name and its extra field.
    name_length = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_length = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_length + extra_length
    middle = start + info.compress_size * 2 // 3
    data[middle : middle + 24] = b"\xff" * 24
    return bytes(data)


def _write(tmp_path: Path, content: bytes, name: str = "so_ho_khau.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


# The reader -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("damaged", [cut_book, garbled_book], ids=["cut", "garbled"])
def test_a_sheet_damaged_after_its_header_gives_its_good_rows_then_refuses_naming_the_row(
    tmp_path: Path, damaged: Any
) -> None:
    source = open_source(_write(tmp_path, damaged()))
    read = []
    with pytest.raises(FileRejectedError) as refused:
        read.extend(read_rows(source))
    assert [row.values["record_id"] for row in read] == ["HK-0001", "HK-0002", "HK-0003"]
    assert refused.value.code == "file.xlsx_damaged"
    assert "sau dòng 4" in refused.value.message_vi
    assert "after row 4" in refused.value.message_en


def test_a_resumed_read_of_a_damaged_sheet_is_refused_at_the_same_row(tmp_path: Path) -> None:
    source = open_source(_write(tmp_path, cut_book()))
    read = []
    with pytest.raises(FileRejectedError) as refused:
        read.extend(read_rows(source, skip=2))
    assert [row.values["record_id"] for row in read] == ["HK-0003"]
    assert "after row 4" in refused.value.message_en


@pytest.mark.parametrize("damaged", [failed_checksum_book, broken_deflate_book], ids=["crc", "deflate"])
def test_a_workbook_whose_archive_breaks_under_the_reader_is_refused_as_damaged(
    tmp_path: Path, damaged: Any
) -> None:
    # `open_source` reads every part through once, so a checksum or a deflate stream that fails is refused
    # there; a file that changes after it (written over on a share while `dancu import` reads it) breaks
    # under the reader.
    path = _write(tmp_path, _book())
    source = open_source(path)
    path.write_bytes(damaged())
    with pytest.raises(FileRejectedError) as refused:
        list(read_rows(source))
    assert refused.value.code == "file.xlsx_damaged"
    assert "Tệp XLSX hỏng" in refused.value.message_vi
    assert "The XLSX workbook is damaged" in refused.value.message_en


@pytest.mark.parametrize("damaged", [failed_checksum_book, broken_deflate_book], ids=["crc", "deflate"])
def test_a_workbook_whose_archive_is_damaged_from_the_start_is_refused_before_any_row(
    tmp_path: Path, damaged: Any
) -> None:
    with pytest.raises(FileRejectedError) as refused:
        open_source(_write(tmp_path, damaged()))
    assert refused.value.code == "file.xlsx_damaged"


# `dancu import` ---------------------------------------------------------------------------------------------


def _import(path: Path, **options: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", str(path), source=SOURCE, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def _staged(run: ImportRun) -> list[str]:
    return list(
        StagingRecord.objects.filter(run=run).order_by("row_number").values_list("raw__record_id", flat=True)
    )


@pytest.mark.parametrize("workers", [0, 2], ids=["alone", "with-workers"])
def test_the_command_keeps_the_rows_before_the_damage_fails_the_run_and_says_where(
    tmp_path: Path, workers: int
) -> None:
    path = _write(tmp_path, cut_book())
    with pytest.raises(CommandError) as refused:
        # Batches of two: the last row before the damage is alone in a batch the damage cuts short. The
        # workers take batches ahead of the one committed, the one the damage cuts short among them.
        _import(path, batch_size=2, workers=workers)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: [file.xlsx_damaged] ")
    assert "sau dòng 4" in message
    assert "after row 4" in message
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert run.error.startswith("file.xlsx_damaged: ")
    assert "after row 4" in run.error
    assert (run.rows_read, run.rows_accepted + run.rows_review + run.rows_rejected) == (3, 3)
    assert run.finished_at is None
    assert _staged(run) == ["HK-0001", "HK-0002", "HK-0003"]
    failed = AuditEvent.objects.filter(event_type=EventType.IMPORT_FAILED, subject_id=str(run.pk))
    assert [event.data["code"] for event in failed] == ["file.xlsx_damaged"]


def test_the_same_damaged_file_again_resumes_and_stops_at_the_same_row_doubling_nothing(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, cut_book())
    with pytest.raises(CommandError):
        _import(path, batch_size=2)
    with pytest.raises(CommandError, match=r"\[file\.xlsx_damaged\] .*after row 4"):
        _import(path, batch_size=2)
    run = ImportRun.objects.get()
    assert (run.status, run.rows_read) == (ImportRun.Status.FAILED, 3)
    assert _staged(run) == ["HK-0001", "HK-0002", "HK-0003"]


def test_the_file_replaced_by_a_sound_copy_is_imported_whole_in_a_run_of_its_own(tmp_path: Path) -> None:
    path = _write(tmp_path, cut_book())
    with pytest.raises(CommandError):
        _import(path, batch_size=2)
    path.write_bytes(_book())
    _import(path, batch_size=2)
    failed, whole = ImportRun.objects.order_by("pk")
    # A run is the import of one file's content: the sound copy is another content, read from its first
    # row, and the failed run's rows, never written to the registry, stay as they were.
    assert (failed.status, failed.rows_read, failed.promoted_at) == (ImportRun.Status.FAILED, 3, None)
    assert (whole.status, whole.rows_read) == (ImportRun.Status.DONE, 5)
    assert whole.promoted_at is not None
    assert _staged(whole) == [person[0] for person in PEOPLE]
    assert not StagingRecord.objects.filter(run=failed, promoted_at__isnull=False).exists()


# The upload: the worker, the page and the API ---------------------------------------------------------------


@pytest.fixture
def own_var_folder(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path


@pytest.mark.usefixtures("own_var_folder")
def test_an_uploaded_damaged_workbook_fails_its_run_and_the_api_and_page_say_where(
    personas: Personas, sign_in: Any
) -> None:
    response = api(personas.cuong).post(
        "/api/v1/imports",
        {"file": SimpleUploadedFile("so_ho_khau.xlsx", garbled_book()), "source_name": SOURCE},
    )
    assert response.status_code == 201, response.content
    run_id = response.json()["id"]
    shown = api(personas.cuong).get(f"/api/v1/imports/{run_id}").json()
    assert shown["status"] == "failed"
    assert shown["error"].startswith("file.xlsx_damaged: ")
    assert "sau dòng 4" in shown["error"]
    assert "after row 4" in shown["error"]
    assert shown["rows_read"] == 3
    run = ImportRun.objects.get(pk=run_id)
    assert _staged(run) == ["HK-0001", "HK-0002", "HK-0003"]
    # The run's page shows its progress as a part it loads, and reloads while the run goes on.
    shown_page = sign_in(Client(), personas.cuong).get(reverse("collection:import_progress", args=[run_id]))
    assert shown_page.status_code == 200
    page = shown_page.content.decode()
    assert 'id="run-error"' in page
    assert "file.xlsx_damaged" in page
    assert "sau dòng 4" in page


# A CSV file whose bytes go bad after its header -------------------------------------------------------------


def test_a_csv_file_whose_bytes_go_bad_part_way_rejects_those_rows_and_imports_the_rest(
    tmp_path: Path,
) -> None:
    lines = [b"record_id,full_name,gender,birth_date,address"]
    lines += [f'{rid},{name},{gender},{born},"{HOAN_KIEM}"'.encode() for rid, name, gender, born in PEOPLE]
    # Bytes that are UTF-8 in no line and Vietnamese in no legacy encoding, in the third row.
    lines[3] = lines[3].replace("Trần".encode(), b"\xff\xfe\x81\x9d")
    path = _write(tmp_path, b"\n".join(lines) + b"\n", name="so_ho_khau.csv")
    _import(path)
    run = ImportRun.objects.get()
    assert (run.status, run.rows_read, run.rows_rejected) == (ImportRun.Status.DONE, 5, 1)
    bad = StagingRecord.objects.get(run=run, row_number=3)
    assert bad.status == StagingRecord.Status.REJECTED
    assert "row.encoding" in {issue["code"] for issue in bad.issues}
    # The rows around it are read as the rest of the file.
    assert run.rows_accepted + run.rows_review == 4


def test_a_csv_file_cut_inside_a_quoted_cell_rejects_its_last_row_only(tmp_path: Path) -> None:
    lines = [b"record_id,full_name,gender,birth_date,address"]
    lines += [f'{rid},{name},{gender},{born},"{HOAN_KIEM}"'.encode() for rid, name, gender, born in PEOPLE]
    # A copy that stopped in the last row's address, inside its quotes.
    content = b"\n".join(lines)[:-25]
    _import(_write(tmp_path, content, name="so_ho_khau.csv"))
    run = ImportRun.objects.get()
    assert (run.status, run.rows_read, run.rows_rejected) == (ImportRun.Status.DONE, 5, 1)
    last = StagingRecord.objects.get(run=run, row_number=5)
    assert last.status == StagingRecord.Status.REJECTED
    assert "row.malformed" in {issue["code"] for issue in last.issues}
