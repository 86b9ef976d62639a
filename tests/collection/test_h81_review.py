"""A commune reviewer and a province supervisor working an imported book (session 25, h81): the import's
report names the field a missing value was missing from, and a form rejected after the registry refused to
apply it no longer says it still waits to be applied."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.collection.models import CollectionForm, ImportRun
from dancu.collection.reports import by_rule
from tests.collection.forms_support import Reviewers
from tests.collection.test_import import csv_file, run_import
from tests.collection.test_import_review import stage_and_promote
from tests.conftest import Personas, make_citizen

pytestmark = pytest.mark.django_db

HOAN_KIEM = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'


def _by_rule_lines(page: str) -> list[tuple[str, str, str]]:
    """The (attributes, message, count) of each line of the report's table by rule."""
    body = re.search(r'<table[^>]*id="by-rule".*?</table>', page, re.S)
    assert body is not None
    return re.findall(
        r'<tr (data-rule="[^"]*"(?: data-field="[^"]*")?)>'
        r'<td[^>]*class="rule-message">(.*?)</td>.*?<td[^>]*>(\d+)</td></tr>',
        body.group(0),
        re.S,
    )


def test_the_report_names_the_field_a_required_value_was_missing_from(
    tmp_path: Path, personas: Personas, sign_in: Any
) -> None:
    rows = [
        f"R1,Lê Văn Tư,Nam,,Hà Nội,,,{HOAN_KIEM}",  # no date of birth
        f"R2,Lê Văn Năm,Nam,,Hà Nội,,,{HOAN_KIEM}",  # no date of birth
        f"R3,,Nam,1990,Hà Nội,,,{HOAN_KIEM}",  # no name
        "R4,Trần Văn Ba,Nam,1990,Hà Nội,,,",  # no address
    ]
    run_import(csv_file(tmp_path, rows))
    run = ImportRun.objects.get()
    assert run.issue_fields["date.required"] == {"birth_date": 2}

    client = sign_in(Client(), personas.minh)
    url = reverse("collection:import_progress", args=[run.pk])
    lines = _by_rule_lines(client.get(url).content.decode())
    # Before, these read "Thiếu thông tin." and "Thông tin không được để trống.": which value was missing,
    # the officer could not tell.
    assert ('data-rule="date.required" data-field="birth_date"', "Thiếu ngày sinh.", "2") in lines
    assert ('data-rule="address.required" data-field="address"', "Thiếu địa chỉ.", "1") in lines
    assert (
        'data-rule="name.required" data-field="full_name"',
        "Họ, chữ đệm và tên không được để trống.",
        "1",
    ) in lines
    assert not [line for line in lines if "Thiếu thông tin" in line[1] or line[1].startswith("Thông tin ")]

    client.cookies["django_language"] = "en"
    lines = _by_rule_lines(client.get(url).content.decode())
    assert ('data-rule="date.required" data-field="birth_date"', "Date of birth is required.", "2") in lines


def test_a_required_value_missing_from_two_fields_is_counted_field_by_field() -> None:
    lines = by_rule({"name.required": 3}, fields={"name.required": {"father_name": 2, "full_name": 1}})
    assert [(line.field, line.count, line.message) for line in lines] == [
        ("father_name", 2, "Họ tên cha không được để trống."),
        ("full_name", 1, "Họ, chữ đệm và tên không được để trống."),
    ]
    # A rule that says something without its field keeps its one line.
    lines = by_rule({"name.digits": 2}, fields={"name.digits": {"father_name": 1, "full_name": 1}})
    assert [(line.field, line.count) for line in lines] == [("", 2)]


def test_a_form_rejected_after_the_registry_refused_it_does_not_say_it_still_waits(
    tmp_path: Path, personas: Personas, staff: Reviewers, sign_in: Any
) -> None:
    # A year-only birth date: the row waits for a reviewer.
    stage_and_promote(tmp_path, [f"R1,Lê Thị Mai,Nữ,1985,Hà Nội,,123456789,{HOAN_KIEM}"])
    form = CollectionForm.objects.get()
    form = workflow.form_check(actor=Actor(staff.hang), form=form, acknowledged=["date.partial"])
    form = workflow.form_recheck(actor=Actor(personas.cuong), form=form, acknowledged=["date.partial"])
    # The same person was filed from another book meanwhile.
    make_citizen(full_name="Lê Thị Mai", old_id_number="123456789")
    client = sign_in(Client(), personas.cuong)
    page = client.post(reverse("collection:form_action", args=[form.pk, "apply"]), follow=True)
    text = page.content.decode()
    assert "CSDL từ chối cập nhật phiếu; phiếu vẫn chờ cập nhật" in text
    assert "[cmnd.duplicate]" in text

    url = reverse("collection:form_action", args=[form.pk, "reject"])
    text = client.post(url, {"reason": "Đã có trong CSDL"}, follow=True).content.decode()
    assert CollectionForm.objects.get(pk=form.pk).status == "rejected"
    assert 'id="reject-note"' in text
    # The registry's reason is still shown, but the form waits for nothing any more.
    assert "[cmnd.duplicate]" in text
    assert "phiếu vẫn chờ cập nhật" not in text
    assert "CSDL đã từ chối cập nhật phiếu" in text
    client.cookies["django_language"] = "en"
    text = client.get(reverse("collection:form", args=[form.pk])).content.decode()
    assert "still waiting to be applied" not in text
    assert "The registry refused to apply the form" in text


def test_an_import_names_the_officer_who_started_it_by_their_full_name(
    tmp_path: Path, personas: Personas, sign_in: Any
) -> None:
    stage_and_promote(tmp_path, [f"R1,Lê Thị Mai,Nữ,1985,Hà Nội,,,{HOAN_KIEM}"], actor=Actor(personas.cuong))
    run = ImportRun.objects.get()
    assert run.started_label == personas.cuong.username
    client = sign_in(Client(), personas.cuong)
    full_name = personas.cuong.get_full_name()
    # Before, both pages showed the account's username, where the forms' steps name the officer.
    page = client.get(reverse("collection:import_run", args=[run.pk])).content.decode()
    assert full_name not in ("", personas.cuong.username)
    assert f"so_ho_khau.csv · {full_name} · " in page
    listing = client.get(reverse("collection:imports")).content.decode()
    assert re.search(rf"<td data-label=\"Người nhập\">{full_name}</td>", listing)
