"""A province supervisor reads an import's report by rule: a rule whose message does not name its column
("Thông tin không được chứa chữ số.") is shown beside the columns it was found in, so that the officer
knows where to look in the file without downloading the rejected rows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dancu.collection.models import ImportRun
from dancu.collection.reports import by_rule
from tests.collection.test_import_pages import upload
from tests.conftest import Personas

HEADER = "record_id,full_name,gender,birth_date,birth_place,father_name,address"
HANOI = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'


def test_each_line_of_the_report_names_the_columns_its_rule_was_found_in() -> None:
    counts = {"name.digits": 3, "field.required": 2, "row.ragged": 1}
    fields = {
        "name.digits": {"father_name": 1, "full_name": 2},
        "field.required": {"sex": 2},
        "row.ragged": {"": 1},
    }
    lines = by_rule(counts, fields=fields)
    assert [(line.code, line.columns) for line in lines] == [
        # The most frequent column first (a tie in the order of their codes), each with its count.
        ("name.digits", "Họ, chữ đệm và tên (2) · Họ tên cha (1)"),
        # A line about one field names that field alone.
        ("field.required", "Giới tính"),
        # A rule about the row, not a cell of it, has no column.
        ("row.ragged", ""),
    ]
    english = by_rule(counts, fields=fields, language="en")
    assert english[0].columns == "Full name (2) · Father's name (1)"
    # A run made before the fields were kept names none.
    assert [line.columns for line in by_rule({"name.digits": 2})] == [""]


@pytest.mark.django_db
def test_the_report_page_shows_the_column_beside_a_rule_that_does_not_name_it(
    personas: Personas, sign_in: Any
) -> None:
    client = sign_in(Client(), personas.cuong)
    rows = [
        HEADER,
        f"R1,Trần Văn 3,Nam,1990-01-02,Hà Nội,,{HANOI}",
        f"R2,Lê Văn Hải,Nam,1991-02-03,Hà Nội,Lê Văn 7,{HANOI}",
    ]
    upload(client, "\n".join(rows).encode())
    run = ImportRun.objects.get()
    page = client.get(reverse("collection:import_progress", args=[run.pk])).content.decode()
    table = re.search(r'<table[^>]*id="by-rule".*?</table>', page, re.S)
    assert table is not None
    assert "<th>Cột</th>" in table.group(0)
    row = re.search(r'<tr data-rule="name.digits">(.*?)</tr>', table.group(0), re.S)
    assert row is not None
    assert re.search(
        r'<td data-label="Cột"[^>]*>Họ tên cha \(1\) · Họ, chữ đệm và tên \(1\)</td>', row.group(1)
    )

    client.cookies["django_language"] = "en"
    page = client.get(reverse("collection:import_progress", args=[run.pk])).content.decode()
    assert "<th>Column</th>" in page
    assert "Father&#x27;s name (1) · Full name (1)" in page
