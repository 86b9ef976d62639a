"""Reads cost a fixed number of queries, whatever the size of the page: no query per row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dancu.registry.selectors import CitizenQuery, citizen_get, citizen_search
from tests.conftest import HOAN_KIEM, Personas, make_citizen

pytestmark = pytest.mark.django_db


def test_a_search_page_costs_the_same_queries_for_one_or_twenty_results(personas: Personas) -> None:
    make_citizen(full_name="Nguyễn Văn Một", commune_code=HOAN_KIEM)

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as ctx:
            page = citizen_search(actor=personas.cuong, query=CitizenQuery(text="nguyen van"), purpose="t")
            [str(c.area_commune) for c in page.results]
        return len(ctx.captured_queries)

    one = queries_for_page()
    given_names = ("Hai", "Ba", "Bốn", "Năm", "Sáu", "Bảy", "Tám", "Chín", "Mười")
    for i in range(19):
        make_citizen(full_name=f"Nguyễn Văn {given_names[i % 9]}")
    assert queries_for_page() == one


def test_a_record_read_costs_a_fixed_number_of_queries(personas: Personas) -> None:
    citizen = make_citizen(
        full_name="Phạm Thị Nga", sex="F", legacy_code="09841", commune_code="00070", address="Thôn Thượng"
    )
    with CaptureQueriesContext(connection) as ctx:
        record = citizen_get(actor=personas.minh, pin=citizen.pin, purpose="t")
        shown = [str(record.area_commune)] + [
            (str(r.commune), r.legacy_commune.full_name() if r.legacy_commune else "")
            for r in record.residences.all()
        ]
    assert "Phường Hoàn Kiếm" in shown[0]
    # PostgreSQL: the whole record in one statement (registry/record.py), then the access-log row.
    # SQLite: the record with its commune, six related sets (absences the sixth), and the access-log row.
    assert len(ctx.captured_queries) == (2 if connection.vendor == "postgresql" else 8)
