"""Reads cost a fixed number of queries, whatever the size of the page: no query per row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dancu.registry import services
from dancu.registry.selectors import CitizenQuery, citizen_get, citizen_search, stays_list
from tests.conftest import HOAN_KIEM, HONG_HA, SYSTEM, Personas, commune, make_citizen

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


def test_a_page_of_stays_costs_the_same_queries_for_one_or_twenty(personas: Personas) -> None:
    """The list of people staying in an area reads each stay's person and permanent residence with the
    page, not one query per row."""
    today = timezone.localdate()

    def stay(name: str) -> None:
        services.residence_register(
            actor=SYSTEM,
            citizen=make_citizen(full_name=name),
            kind="temporary",
            commune=commune(HONG_HA),
            address_detail="Số 5 ngõ Gạch",
            registered_on=today - timedelta(days=5),
            expires_on=today + timedelta(days=100),
            reason="Tạm trú",
            source_document="CT01",
        )

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as ctx:
            page = stays_list(actor=personas.binh, purpose="t")
            [
                (r.citizen.full_name, str(r.commune), [str(h.commune.parent) for h in r.citizen.homes])
                for r in page.results
            ]
        return len(ctx.captured_queries)

    stay("Nguyễn Văn Một")
    one = queries_for_page()
    for given in ("Hai", "Ba", "Bốn", "Năm", "Sáu", "Bảy", "Tám", "Chín", "Mười"):
        stay(f"Nguyễn Văn {given}")
    assert len(stays_list(actor=personas.binh, purpose="t").results) == 10
    assert queries_for_page() == one
