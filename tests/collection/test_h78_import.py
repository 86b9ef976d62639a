"""The import's report explains every row waiting for an officer (session 25, h78): the clean rows that wait
only because automatic approval is off, the fields a rule about a field alone was found on, and the person
whose row already waits for review in another import run of the same book."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.collection.models import CollectionForm, ImportRun, StagingRecord
from dancu.collection.readers import read_rows
from dancu.collection.reports import by_rule, summary_lines
from dancu.collection.selectors import numbers_waiting_elsewhere
from dancu.collection.services import ImportPolicy, RowChecker, import_promote, import_rows, import_start
from dancu.registry.models import Citizen
from dancu.registry.rules import rule_summary
from tests.collection.forms_support import Reviewers
from tests.collection.test_import import csv_file, run_import
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

HOAN_KIEM = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'
NOTICE_VI = "Không vi phạm quy tắc nào: chờ cán bộ xem xét chỉ vì chế độ tự động duyệt đang tắt."
NOTICE_EN = "Breaks no rule: waits for an officer only because automatic approval is off."
CLEAN = f"R1,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,,,{HOAN_KIEM}"  # breaks no rule, nor does its DC01
YEAR_ONLY = f"R2,Lê Thị Mai,Nữ,1985,Hà Nội,,,{HOAN_KIEM}"  # its DC01 warns: date.partial
UNKNOWN_PROVINCE = f"R3,Đỗ Thị Hoa,Nữ,1970,Sao Hỏa,,,{HOAN_KIEM}"  # the row's own warning


def _table_rows(page: str, table: str) -> list[tuple[str, str, str]]:
    """The (attributes, message, count) of each line of a table of the report."""
    body = re.search(rf'<table[^>]*id="{table}".*?</table>', page, re.S)
    assert body is not None, table
    return [
        (attributes, message, count)
        for attributes, message, count in re.findall(
            r'<tr (data-rule="[^"]*"(?: data-field="[^"]*")?)>'
            r'<td[^>]*class="rule-message">(.*?)</td>.*?<td[^>]*>(\d+)</td></tr>',
            body.group(0),
            re.S,
        )
    ]


def _command_line(out: str, code: str) -> str:
    return next(line for line in out.splitlines() if line.strip().startswith(code + " "))


# 1. A clean row waiting only because automatic approval is off --------------------------------------------


def test_a_clean_row_waiting_only_because_automatic_approval_is_off_is_counted_and_says_so(
    tmp_path: Path, settings: Any
) -> None:
    settings.DANCU_IMPORT_AUTO_APPROVE = False

    out = run_import(csv_file(tmp_path, [CLEAN, YEAR_ONLY, UNKNOWN_PROVINCE]))

    run = ImportRun.objects.get()
    assert (run.rows_accepted, run.rows_review, run.rows_queued, run.rows_applied) == (0, 3, 3, 0)
    # Only R1 waits for no other reason: R2's DC01 warns of its year-only birth date, R3 warns itself.
    assert run.issue_counts["import.auto_approval_off"] == 1
    assert run.issue_fields["import.auto_approval_off"] == {"": 1}
    assert StagingRecord.objects.get(row_number=1).issues == [
        {
            "field": "",
            "code": "import.auto_approval_off",
            "severity": "notice",
            "message_vi": NOTICE_VI,
            "message_en": NOTICE_EN,
        }
    ]
    # Staged with the notice, R2 lost it when its DC01 found what makes it wait anyway.
    assert StagingRecord.objects.get(row_number=2).issues == []
    assert "import.auto_approval_off" not in {
        i["code"] for i in StagingRecord.objects.get(row_number=3).issues
    }
    # A notice is no warning: R1 is not among the rows with warnings, and its DC01 asks no acknowledgement.
    assert run.rows_with_warnings == 2
    assert CollectionForm.objects.get(staging_record__row_number=1).warnings == []
    # Every row waiting for an officer is explained by a rule the report counts.
    for record in StagingRecord.objects.filter(run=run, status=StagingRecord.Status.REVIEW):
        form = record.form
        codes = {i["code"] for i in record.issues} | {p["code"] for p in (*form.errors, *form.warnings)}
        assert codes & set(run.issue_counts), record.row_number
    # The command's report says it, in its own line by rule.
    line = _command_line(out, "import.auto_approval_off")
    assert line.split()[:2] == ["import.auto_approval_off", "1"]
    assert line.endswith(NOTICE_VI)


def test_with_automatic_approval_on_no_row_carries_the_notice(tmp_path: Path) -> None:
    run_import(csv_file(tmp_path, [CLEAN, UNKNOWN_PROVINCE]))

    run = ImportRun.objects.get()
    assert (run.rows_applied, run.rows_queued) == (1, 1)
    assert "import.auto_approval_off" not in run.issue_counts
    assert StagingRecord.objects.get(row_number=1).issues == []


def test_the_page_counts_the_rows_waiting_for_the_policy_and_the_review_row_says_why(
    tmp_path: Path, personas: Personas, staff: Reviewers, sign_in: Any
) -> None:
    path = csv_file(tmp_path, [CLEAN, UNKNOWN_PROVINCE])
    actor = Actor(user=personas.cuong)
    run, source = import_start(path=path, source_name="Sổ hộ khẩu cũ", actor=actor)
    import_rows(run=run, source=source, actor=actor, policy=ImportPolicy(auto_approve_clean=False))
    import_promote(run=run)

    client = sign_in(Client(), personas.cuong)
    url = reverse("collection:import_progress", args=[run.pk])
    lines = _table_rows(client.get(url).content.decode(), "by-rule")
    assert ('data-rule="import.auto_approval_off"', NOTICE_VI, "1") in lines
    client.cookies["django_language"] = "en"
    lines = _table_rows(client.get(url).content.decode(), "by-rule")
    assert ('data-rule="import.auto_approval_off"', NOTICE_EN, "1") in lines

    # The commune's reviewer opens the row's DC01: the row's general line says why it waits.
    form = CollectionForm.objects.get(staging_record__row_number=1)
    reviewer = sign_in(Client(), staff.hang)
    page = reviewer.get(reverse("collection:form", args=[form.pk])).content.decode()
    general = re.search(r'<tr data-column="">(.*?)</tr>', page, re.S)
    assert general is not None
    assert f"{NOTICE_VI} [import.auto_approval_off]" in general.group(1)
    reviewer.cookies["django_language"] = "en"
    page = reviewer.get(reverse("collection:form", args=[form.pk])).content.decode()
    assert f"{NOTICE_EN} [import.auto_approval_off]" in page
    # The other row waits for its own warning, and says that, not the notice.
    other = CollectionForm.objects.get(staging_record__row_number=2)
    page = reviewer.get(reverse("collection:form", args=[other.pk])).content.decode()
    assert "import.auto_approval_off" not in page


# 2. A rule about its field alone is counted field by field -----------------------------------------------


def test_a_missing_field_is_reported_by_its_name_on_the_page_and_by_the_command(
    tmp_path: Path, personas: Personas, sign_in: Any
) -> None:
    rows = [
        UNKNOWN_PROVINCE,
        f"R4,Lê Văn Tư,Nam,1960,Sao Kim,,,{HOAN_KIEM}",
        f"R5,Trần Văn 3,Nam,1990,,,,{HOAN_KIEM}",
    ]

    out = run_import(csv_file(tmp_path, rows))

    run = ImportRun.objects.get()
    # Both unknown provinces leave their DC01 without a place of birth registration.
    assert run.issue_counts["field.required"] == 2
    assert run.issue_fields["field.required"] == {"birth_registration_place": 2}
    assert run.issue_fields["name.digits"] == {"full_name": 1}
    line = _command_line(out, "field.required")
    assert line.split()[:2] == ["field.required", "2"]
    # Before, the line read "Chưa điền «…».": which field was missing, the report did not say.
    assert line.endswith("Chưa điền «Nơi đăng ký khai sinh».")
    # The other rules read as they did.
    assert _command_line(out, "name.digits").endswith("Thông tin không được chứa chữ số.")

    client = sign_in(Client(), personas.minh)
    url = reverse("collection:import_progress", args=[run.pk])
    lines = _table_rows(client.get(url).content.decode(), "by-rule")
    assert (
        'data-rule="field.required" data-field="birth_registration_place"',
        "Chưa điền «Nơi đăng ký khai sinh».",
        "2",
    ) in lines
    assert ('data-rule="name.digits"', "Thông tin không được chứa chữ số.", "1") in lines
    client.cookies["django_language"] = "en"
    lines = _table_rows(client.get(url).content.decode(), "by-rule")
    assert (
        'data-rule="field.required" data-field="birth_registration_place"',
        "Place of birth registration is required.",
        "2",
    ) in lines


def test_the_counts_by_rule_give_one_line_per_field_of_a_rule_about_its_field() -> None:
    counts = {"field.required": 6, "name.digits": 2, "birth_place.unknown": 1}
    fields = {
        "field.required": {"sex": 1, "birth_registration_place": 4},
        "name.digits": {"full_name": 1, "father_name": 1},
    }
    lines = by_rule(counts, fields=fields)
    assert [(line.code, line.field, line.count, line.message) for line in lines] == [
        ("field.required", "birth_registration_place", 4, "Chưa điền «Nơi đăng ký khai sinh»."),
        ("field.required", "sex", 1, "Chưa điền «Giới tính»."),
        # What the fields do not account for (counted before they were kept) keeps the line it had.
        ("field.required", "", 1, "Chưa điền «…»."),
        # A rule whose message is not about its field alone reads as it always did, in one line.
        ("name.digits", "", 2, "Thông tin không được chứa chữ số."),
        ("birth_place.unknown", "", 1, rule_summary("birth_place.unknown")),
    ]
    english = by_rule(counts, fields=fields, language="en")
    assert english[0].message == "Place of birth registration is required."
    # A run made before the fields were kept: the rule in one line, as before.
    assert [(line.code, line.count, line.message) for line in by_rule({"field.required": 3}, fields={})] == [
        ("field.required", 3, "Chưa điền «…».")
    ]


def test_a_row_rejected_on_the_way_and_its_undo_move_the_counts_by_field_too(tmp_path: Path) -> None:
    run_import(csv_file(tmp_path, [CLEAN, '"R9",Lê Văn Tư,Nam,05/06/1960,Hà Nội,,,"Thành phố Hà Nội"']))
    run = ImportRun.objects.get()
    assert run.issue_counts["import.no_commune"] == 1
    assert run.issue_fields["import.no_commune"] == {"address": 1}
    # The run's summary reads both.
    assert any(line.strip().startswith("import.no_commune") for line in summary_lines(run))


# 3. The same person waiting for review in another import run ---------------------------------------------

# A PIN that agrees with the row: registered in Hà Nội (001), a man born in the 1900s (0), in 1990 (90).
PIN = "001090123456"
BOOK = [
    f"R1,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,{PIN},,{HOAN_KIEM}",
    f"R2,Lê Văn Tư,Nam,05/06/1960,Hà Nội,,987654321,{HOAN_KIEM}",
    f"R3,Phạm Văn Nam,Nam,03/04/1970,Hà Nội,,,{HOAN_KIEM}",
]


def _stage(path: Path, source_name: str, *, auto_approve: bool = True) -> ImportRun:
    actor = Actor(system="test")
    # The same book under other source names on purpose: the officer went on past the refusal (session 27).
    run, source = import_start(path=path, source_name=source_name, actor=actor, same_file_again=True)
    return import_rows(
        run=run, source=source, actor=actor, policy=ImportPolicy(auto_approve_clean=auto_approve)
    )


def test_a_book_imported_again_under_another_name_flags_the_rows_waiting_in_the_first_run(
    tmp_path: Path,
) -> None:
    path = csv_file(tmp_path, BOOK)
    first = _stage(path, "Sổ hộ khẩu Hoàn Kiếm", auto_approve=False)
    import_promote(run=first)
    assert CollectionForm.objects.filter(status="submitted").count() == 3

    # The same book again, under another name: automatic approval on, as by default.
    second = _stage(path, "Sổ hộ khẩu Hoàn Kiếm (bản 2)")

    rows = {r.row_number: r for r in StagingRecord.objects.filter(run=second)}
    pin_warning = next(i for i in rows[1].issues if i["code"] == "pin.waiting_in_import")
    assert pin_warning == {
        "field": "id_number",
        "code": "pin.waiting_in_import",
        "severity": "warning",
        "message_vi": (
            f"Số định danh cá nhân này đang chờ cán bộ xem xét ở dòng 2 của lần nhập #{first.pk} "
            "(Sổ hộ khẩu Hoàn Kiếm): hãy đối chiếu để không nhập một người hai lần."
        ),
        "message_en": (
            f"This personal identification number is waiting for an officer's review on row 2 of import "
            f"#{first.pk} (Sổ hộ khẩu Hoàn Kiếm): compare the two so that no one is imported twice."
        ),
        # Where the other row is, for the reviewer's page to link to it (test_the_form_links_...).
        "waiting": {"run": first.pk, "row": 2},
    }
    cmnd_warning = next(i for i in rows[2].issues if i["code"] == "cmnd.waiting_in_import")
    assert cmnd_warning["field"] == "old_id_number"
    assert f"dòng 3 của lần nhập #{first.pk}" in cmnd_warning["message_vi"]
    # Flagged at staging, the rows wait for an officer, whatever the policy; R3 carries no number to match.
    assert (rows[1].status, rows[2].status, rows[3].status) == ("review", "review", "approved")
    assert second.issue_counts["pin.waiting_in_import"] == 1
    assert second.issue_counts["cmnd.waiting_in_import"] == 1
    assert second.rows_with_warnings == 2

    # Filed for review, the warning is among those the reviewer acknowledges.
    import_promote(run=second)
    form = CollectionForm.objects.get(staging_record=rows[1])
    assert "pin.waiting_in_import" in {warning["code"] for warning in form.warnings}


def test_a_number_no_longer_waiting_elsewhere_is_not_flagged(tmp_path: Path) -> None:
    path = csv_file(tmp_path, BOOK)
    # Written to the registry by the first run: the second finds the PIN taken (an error), not waiting.
    import_promote(run=_stage(path, "Sổ A"))
    assert Citizen.objects.filter(pin=PIN).exists()

    second = _stage(path, "Sổ B")

    codes = {i["code"] for i in StagingRecord.objects.get(run=second, row_number=1).issues}
    assert "pin.duplicate" in codes
    assert "pin.waiting_in_import" not in codes
    assert "cmnd.duplicate" in {i["code"] for i in StagingRecord.objects.get(run=second, row_number=2).issues}
    assert "pin.waiting_in_import" not in second.issue_counts
    assert "cmnd.waiting_in_import" not in second.issue_counts


def test_a_row_rejected_in_the_other_run_is_not_waiting(tmp_path: Path) -> None:
    path = csv_file(tmp_path, BOOK)
    first = _stage(path, "Sổ A", auto_approve=False)
    StagingRecord.objects.filter(run=first).update(status=StagingRecord.Status.REJECTED)

    second = _stage(path, "Sổ B")

    assert "pin.waiting_in_import" not in second.issue_counts
    assert second.rows_accepted == 3


def test_the_waiting_rows_are_looked_up_once_per_chunk(tmp_path: Path) -> None:
    """The look-up costs the same queries for a chunk of 2 rows and of 40: one per kind of number."""
    waiting = [
        f"W{n},Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,0010901{n:05d},{n:09d},{HOAN_KIEM}" for n in range(1, 41)
    ]
    path = csv_file(tmp_path, waiting)
    _stage(path, "Sổ A", auto_approve=False)
    run, source = import_start(
        path=path, source_name="Sổ B", actor=Actor(system="test"), same_file_again=True
    )
    rows = list(read_rows(source))
    checker = RowChecker(run=run)

    def queries(batch: list[Any]) -> tuple[int, list[Any]]:
        with CaptureQueriesContext(connection) as captured:
            checked = checker.check(batch)
        return len(captured.captured_queries), checked

    queries(rows[:1])  # what the process reads once (the units of the addresses) is read here
    few, checked_few = queries(rows[:2])
    many, checked_many = queries(rows)
    assert few == many
    assert len(checked_few) == 2
    assert all(
        {"pin.waiting_in_import", "cmnd.waiting_in_import"} <= {i["code"] for i in row.issues}
        for row in checked_many
    )


def test_a_number_the_rules_refuse_in_the_new_file_is_not_flagged_as_waiting_too(tmp_path: Path) -> None:
    _stage(csv_file(tmp_path, BOOK), "Sổ A", auto_approve=False)
    again = tmp_path / "again"
    again.mkdir()
    # The PIN twice in the new file: its second row is refused, which says enough.
    second = _stage(csv_file(again, [BOOK[0], BOOK[0].replace("R1,", "R9,")]), "Sổ B")

    first_row, second_row = StagingRecord.objects.filter(run=second).order_by("row_number")
    assert [i["code"] for i in first_row.issues] == ["pin.waiting_in_import"]
    assert [i["code"] for i in second_row.issues] == ["pin.duplicate_in_batch"]
    assert second_row.status == StagingRecord.Status.REJECTED


@dataclass
class BookTwice:
    """One book imported twice under two names, each run's rows filed as forms: R1's PIN waits in both."""

    first: ImportRun
    mine: CollectionForm  # the second run's R1
    other: CollectionForm  # the first run's R1


def _book_twice(tmp_path: Path) -> BookTwice:
    path = csv_file(tmp_path, BOOK)
    first = _stage(path, "Sổ hộ khẩu Hoàn Kiếm", auto_approve=False)
    import_promote(run=first)
    second = _stage(path, "Sổ hộ khẩu Hoàn Kiếm (bản 2)")
    import_promote(run=second)
    return BookTwice(
        first=first,
        mine=CollectionForm.objects.get(staging_record__run=second, staging_record__row_number=1),
        other=CollectionForm.objects.get(staging_record__run=first, staging_record__row_number=1),
    )


def test_the_form_links_to_the_other_rows_form_and_says_when_it_no_longer_waits(
    tmp_path: Path, personas: Personas, staff: Reviewers, sign_in: Any
) -> None:
    # The warning said "compare the two" and named the other row in words only; it also went on saying
    # the other row waited once it had been decided.
    book = _book_twice(tmp_path)
    url = reverse("collection:form", args=[book.mine.pk])

    reviewer = sign_in(Client(), staff.hang)
    page = reviewer.get(url).content.decode()
    item = re.search(r'<li data-field="id_number" data-waiting="true">(.*?)</li>', page, re.S)
    assert item is not None, page
    assert f"dòng 2 của lần nhập #{book.first.pk}" in item.group(1)
    assert f'href="{reverse("collection:form", args=[book.other.pk])}"' in item.group(1)
    assert "vẫn đang chờ xem xét" in item.group(1)

    workflow.form_reject(actor=Actor(staff.hang), form=book.other, reason="Trùng với dòng của sổ bản 2")
    page = reviewer.get(url).content.decode()
    assert '<li data-field="id_number" data-waiting="false">' in page
    assert "đã được xử lý" in page
    reviewer.cookies["django_language"] = "en"
    assert "settled" in reviewer.get(url).content.decode()


def test_the_other_rows_form_is_not_linked_for_a_reader_who_may_not_see_it(
    tmp_path: Path, personas: Personas
) -> None:
    book = _book_twice(tmp_path)
    record = book.mine.staging_record
    # Dũng, a supervisor of Hồ Chí Minh City, sees neither form: the selector gives him no form to link.
    assert [w.form_id for w in numbers_waiting_elsewhere(actor=personas.dung, record=record)] == [None]
    found = numbers_waiting_elsewhere(actor=personas.cuong, record=record)
    assert [(w.field, w.run, w.row, w.waiting) for w in found] == [("id_number", book.first.pk, 2, True)]
    assert found[0].form_id == book.other.pk
