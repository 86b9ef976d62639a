"""The import's report (session 24, h71): every row waiting for an officer is explained by a rule the
report counts, each rule is shown by what it says beside its code, and the upload page names the
Vietnamese column headers the reader takes."""

from __future__ import annotations

import contextlib
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse

from dancu.collection.models import CollectionForm, ImportRun, StagingRecord
from dancu.collection.readers import VIETNAMESE_COLUMNS, VIETNAMESE_HEADERS, column_name
from dancu.collection.reports import by_rule, summary_lines
from dancu.collection.services import import_promote
from dancu.registry import services as registry
from dancu.registry.rules import rule_summary
from tests.collection.test_import import csv_file, run_import
from tests.collection.test_import_bulk import _dirty_file, _promote_row_by_row, _stage, seeded_pins
from tests.collection.test_import_pages import CSV, upload
from tests.conftest import Personas, make_citizen

pytestmark = pytest.mark.django_db

__all__ = ["seeded_pins"]  # a fixture of test_import_bulk, used here by name

HOAN_KIEM = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'


def _form_codes(form: CollectionForm | None) -> set[str]:
    if form is None:
        return set()
    return {problem["code"] for problem in (*form.errors, *form.warnings, *form.apply_errors)}


def _expected_report(run: ImportRun) -> tuple[Counter[str], int]:
    """What the report should say, read from the rows and the DC01s they were filed as: each rule of each
    row once per field, what its form found besides (its warnings, errors and the registry's refusal) when
    the row's own rules had not found it; and the rows warned about by either."""
    counts: Counter[str] = Counter()
    warned = 0
    forms = {form.staging_record_id: form for form in CollectionForm.objects.filter(staging_record__run=run)}
    for record in StagingRecord.objects.filter(run=run).order_by("row_number"):
        own = {issue["code"] for issue in record.issues}
        counts.update(issue["code"] for issue in record.issues)
        row_warned = any(issue["severity"] == "warning" for issue in record.issues)
        form = forms.get(record.pk)
        if form is not None:
            found = {
                (problem["field"], problem["code"])
                for problem in (*form.errors, *form.apply_errors, *form.warnings)
                if problem["code"] not in own
            }
            counts.update(code for _field, code in found)
            row_warned = row_warned or any(warning["code"] not in own for warning in form.warnings)
        warned += row_warned
    return counts, warned


# 1. Every row waiting for review is explained by a rule of the report --------------------------------------


def test_the_rules_of_the_dc01_a_row_becomes_are_counted_by_rule_and_among_the_rows_with_warnings(
    tmp_path: Path,
) -> None:
    rows = [
        f"R1,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,,,{HOAN_KIEM}",  # clean: written to the registry
        f"R2,Lê Thị Mai,Nữ,1985,Hà Nội,,,{HOAN_KIEM}",  # year alone: the DC01 warns (date.partial)
        f"R3,Đỗ Thị Hoa,Nữ,1970,Sao Hỏa,,,{HOAN_KIEM}",  # unknown province: the row's own warning
    ]

    run_import(csv_file(tmp_path, rows))

    run = ImportRun.objects.get()
    assert (run.rows_accepted, run.rows_review, run.rows_rejected) == (1, 2, 0)
    # Before, the report counted only the row rules: one row with warnings, and no date.partial at all,
    # though two rows waited for an officer.
    assert run.rows_with_warnings == 2
    assert run.issue_counts == {"birth_place.unknown": 1, "date.partial": 2, "field.required": 1}
    third = CollectionForm.objects.get(staging_record__row_number=3)
    # R3's unknown province leaves its DC01 without a place of birth registration: an error of the form.
    assert {(e["field"], e["code"]) for e in third.errors} == {("birth_registration_place", "field.required")}
    # The rows themselves keep what their own rules said; the forms hold the rest.
    assert StagingRecord.objects.get(row_number=2).issues == []
    for record in StagingRecord.objects.filter(run=run, status=StagingRecord.Status.REVIEW):
        codes = {issue["code"] for issue in record.issues} | _form_codes(getattr(record, "form", None))
        assert codes & set(run.issue_counts), record.row_number


def test_a_possible_duplicate_found_on_promotion_is_counted_and_shown_with_its_message(
    tmp_path: Path, personas: Personas, sign_in: Any
) -> None:
    make_citizen(full_name="Trần Văn Bình", birth_date="1980-03-04")
    run_import(csv_file(tmp_path, [f"R1,Trần Văn Bình,Nam,04/03/1980,Hà Nội,,,{HOAN_KIEM}"]))

    run = ImportRun.objects.get()
    assert (run.rows_accepted, run.rows_review, run.rows_queued) == (0, 1, 1)
    assert run.rows_with_warnings == 1
    assert run.issue_counts == {"citizen.possible_duplicate": 1}
    client = sign_in(Client(), personas.minh)
    progress = client.get(reverse("collection:import_progress", args=[run.pk])).content.decode()
    row = _table_row(progress, "by-rule", "citizen.possible_duplicate")
    assert "CSDL đã có người cùng họ tên và ngày sinh" in row
    assert ">1</td>" in row
    assert 'data-stat="warnings">1<' in progress


def _report_row_by_row(run: ImportRun) -> tuple[dict[str, int], int, tuple[Counter[str], int]]:
    """The report the row-by-row promotion leaves, and the one its rows and forms call for; rolled back."""

    class _Rollback(Exception):  # noqa: N818 - not an error: the way out of the transaction
        pass

    with contextlib.suppress(_Rollback), transaction.atomic():
        _promote_row_by_row(run)
        run.refresh_from_db()
        found = (dict(run.issue_counts), run.rows_with_warnings, _expected_report(run))
        raise _Rollback
    return found


@pytest.mark.slow
def test_the_batches_and_the_row_by_row_promotion_count_the_same_rules(
    tmp_path: Path, seeded_pins: None
) -> None:
    run = _stage(_dirty_file(tmp_path))
    staged = dict(run.issue_counts)
    registry._rng.seed(56)
    row_by_row, warned_row_by_row, expected_row_by_row = _report_row_by_row(run)
    registry._rng.seed(56)

    import_promote(run=run, batch_size=40)

    run.refresh_from_db()
    assert (run.issue_counts, run.rows_with_warnings) == (row_by_row, warned_row_by_row)
    # And what they count is what the rows and their forms say, the forms' findings included.
    assert (Counter(run.issue_counts), run.rows_with_warnings) == _expected_report(run)
    assert (Counter(row_by_row), warned_row_by_row) == expected_row_by_row
    assert run.issue_counts["date.partial"] > staged.get("date.partial", 0)
    # Every row waiting for an officer has a rule the report counts.
    for record in StagingRecord.objects.filter(run=run, status=StagingRecord.Status.REVIEW):
        codes = {issue["code"] for issue in record.issues} | _form_codes(getattr(record, "form", None))
        assert codes & set(run.issue_counts), record.row_number


# 2. Each rule by what it says ------------------------------------------------------------------------------


def _table_row(page: str, table: str, code: str) -> str:
    body = re.search(rf'<table[^>]*id="{table}".*?</table>', page, re.S)
    assert body is not None, table
    row = re.search(rf'<tr data-rule="{re.escape(code)}">(.*?)</tr>', body.group(0), re.S)
    assert row is not None, code
    return row.group(1)


def test_the_report_shows_each_rule_by_its_message_beside_its_code_in_the_pages_language(
    personas: Personas, sign_in: Any
) -> None:
    client = sign_in(Client(), personas.cuong)
    upload(client, CSV.encode())
    run = ImportRun.objects.get()
    url = reverse("collection:import_progress", args=[run.pk])

    page = client.get(url).content.decode()
    assert "<th>Mã quy tắc</th>" in page
    digits = _table_row(page, "by-rule", "name.digits")
    assert "Thông tin không được chứa chữ số." in digits
    assert "<code>name.digits</code>" in digits
    place = _table_row(page, "by-rule", "birth_place.unknown")
    assert "Không nhận ra tỉnh nơi sinh …; hãy chọn tỉnh (theo danh mục trước 2025)." in place
    assert "Đã viết hoa chữ cái đầu mỗi tiếng." in _table_row(page, "repairs", "repair.case")

    client.cookies["django_language"] = "en"
    page = client.get(url).content.decode()
    assert "<th>Rule code</th>" in page
    assert "The value must not contain digits." in _table_row(page, "by-rule", "name.digits")
    assert "Cannot tell which province the place of birth … is" in _table_row(
        page, "by-rule", "birth_place.unknown"
    )
    assert "Capitalized the first letter of each word." in _table_row(page, "repairs", "repair.case")


def test_a_rule_is_said_without_the_record_it_was_found_on() -> None:
    # Led by its field: the field goes, the sentence stays.
    assert rule_summary("date.day_range") == "Ngày không có trong tháng đó."
    assert rule_summary("date.day_range", language="en") == "The day does not exist in that month."
    # The values of one record are gaps.
    assert rule_summary("pin.year_mismatch") == (
        "Số định danh cá nhân ứng với năm sinh …, khác năm sinh … trong hồ sơ."
    )
    assert rule_summary("birth_place.unknown", language="en") == (
        "Cannot tell which province the place of birth … is; choose one (pre-2025 list)."
    )
    assert rule_summary("field.required") == "Chưa điền «…»."
    assert rule_summary("date.format", language="en") == "Cannot read the date; accepted formats: …"
    # A code of no rule in the catalogue is shown by its code alone.
    assert rule_summary("registry.something_else") == ""


def test_the_counts_by_rule_come_most_frequent_first_with_their_messages() -> None:
    lines = by_rule({"name.digits": 1, "date.partial": 3, "other.code": 1}, language="en")
    assert [(line.code, line.count) for line in lines] == [
        ("date.partial", 3),
        ("name.digits", 1),
        ("other.code", 1),
    ]
    assert lines[0].message == (
        "The value is known only to the year or month: compare with the source document."
    )
    assert lines[2].message == ""


def test_the_command_prints_each_rule_with_its_message(tmp_path: Path) -> None:
    out = run_import(csv_file(tmp_path, [f"R1,Trần Văn 3,Nam,1990,,,,{HOAN_KIEM}"]))
    line = next(line for line in out.splitlines() if line.strip().startswith("name.digits"))
    assert line.split()[:2] == ["name.digits", "1"]
    assert line.endswith("Thông tin không được chứa chữ số.")
    assert any(
        line.endswith("1  Thông tin không được chứa chữ số.")
        for line in summary_lines(ImportRun.objects.get())
    )


# 3. The upload page names the Vietnamese headers -----------------------------------------------------------


def test_the_upload_page_lists_the_vietnamese_headers_in_the_pages_language(
    personas: Personas, sign_in: Any
) -> None:
    client = sign_in(Client(), personas.cuong)
    page = client.get(reverse("collection:imports")).content.decode()
    assert "Hoặc đặt tên cột bằng tiếng Việt:" in page
    listed = re.search(r'<ul class="muted" id="vietnamese-columns">(.*?)</ul>', page, re.S)
    assert listed is not None
    # The names are marked as Vietnamese (lang="vi"), which they are on the English page too.
    items = dict(
        re.findall(
            r'<li data-column="(\w+)"><code>\w+</code>: <span lang="vi">(.*?)</span></li>', listed.group(1)
        )
    )
    assert items["full_name"] == "Họ và tên · Họ tên · Họ, chữ đệm và tên"
    assert items["father_name"] == "Họ tên cha · Họ và tên cha · Họ tên bố · Họ và tên bố"
    assert "Năm sinh" in items["birth_date"]
    assert set(items) == set(VIETNAMESE_HEADERS)

    client.cookies["django_language"] = "en"
    page = client.get(reverse("collection:imports")).content.decode()
    assert "Or name the columns in Vietnamese:" in page
    assert "Họ và tên · Họ tên" in page


def test_every_header_the_page_names_is_one_the_reader_takes() -> None:
    shown = [(column, name) for column, names in VIETNAMESE_HEADERS.items() for name in names]
    assert all(column_name(name) == column for column, name in shown)
    # And every name the reader takes is shown.
    assert len(VIETNAMESE_COLUMNS) == len(shown)


def test_a_file_with_the_headers_the_page_names_is_imported(tmp_path: Path) -> None:
    header = ",".join(names[0] for names in VIETNAMESE_HEADERS.values())
    path = tmp_path / "so.csv"
    path.write_text(
        f"{header}\nHK1,Sổ cũ,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,,,,,{HOAN_KIEM}\n", encoding="utf-8"
    )
    call_command("import", str(path), source="Sổ cũ", stdout=io.StringIO(), stderr=io.StringIO())
    record = StagingRecord.objects.get()
    assert (record.status, record.normalized["full_name"], record.normalized["record_id"]) == (
        "approved",
        "Nguyễn Văn Hùng",
        "HK1",
    )
