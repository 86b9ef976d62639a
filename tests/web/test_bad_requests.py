"""Requests no page or endpoint should fail on with a server error, found by probing the running demo with
hostile input (session 11): ids and page numbers past the database's integers or written in other
digits, dates at the ends of the calendar, a redirect target that is no path.

Each answer is a refusal that says what was wrong, a page as if the parameter had not been given, or
404 for a path that names nothing; never a 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dancu.accounts.models import ApiToken
from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog
from dancu.audit.selectors import AccessLogQuery, access_log_search
from dancu.campaigns.models import Campaign
from dancu.lib.chunks import in_chunks
from dancu.lib.errors import DomainError
from dancu.registry.selectors import citizen_get
from dancu.web.converters import LAST_PAGE, id_param, page_param
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db

TOO_LARGE = "99999999999999999999"  # past 2**63: no id of ours


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("0042", 42),
        ("²", None),
        ("①", None),
        ("٤٢", None),
        ("-1", None),
        ("4.0", None),
        (TOO_LARGE, None),
        ("999999999999999999", 999_999_999_999_999_999),
        ("", None),
        (None, None),
    ],
)
def test_an_id_in_a_request_is_ascii_digits_that_fit_the_database(text: Any, expected: int | None) -> None:
    assert id_param(text) == expected


def test_a_page_number_is_one_to_the_last_page() -> None:
    assert [page_param(text) for text in ("3", "0", "x", "²", TOO_LARGE, str(LAST_PAGE + 1))] == [
        3,
        1,
        1,
        1,
        1,
        LAST_PAGE,
    ]


@pytest.mark.parametrize(
    "path",
    [
        f"/cards/applications/{TOO_LARGE}/face.png",
        f"/citizens/{TOO_LARGE}/",
        f"/forms/{TOO_LARGE}/",
        f"/duplicates/{TOO_LARGE}/",
        "/citizens/9223372036854775808/",
    ],
)
def test_a_path_with_an_id_past_the_databases_integers_names_nothing(
    personas: Personas, sign_in: Any, path: str
) -> None:
    assert sign_in(Client(), personas.lan).get(path).status_code == 404


def test_page_numbers_past_the_databases_integers_show_the_last_page_offered(
    personas: Personas, sign_in: Any
) -> None:
    client = sign_in(Client(), personas.lan)
    for path in ("/duplicates/", "/search/"):
        for page in (TOO_LARGE, "²", "-3"):
            assert client.get(path, {"page": page, "q": "Nguyễn"}).status_code == 200


def test_the_auditors_page_and_a_token_revocation_take_only_ascii_ids(
    personas: Personas, people: People, sign_in: Any
) -> None:
    citizen_get(actor=personas.lan, pk=people.hung.pk, purpose="Kiểm tra, phúc tra dữ liệu")
    auditor = sign_in(Client(), personas.an)
    for before in ("²", "①", TOO_LARGE):
        page = auditor.get("/audit/access/", {"before": before})
        # Not a starting point: the first page, as without one.
        assert page.status_code == 200
        assert "Nguyễn Văn Hùng" in page.content.decode()
    token, _secret = api_token_create(user=personas.lan, name="máy tính bảng")
    lan = sign_in(Client(), personas.lan)
    for revoke in ("²", TOO_LARGE):
        assert lan.post("/account/tokens/", {"revoke": revoke}).status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [("0001-01-01", "", "since"), ("", "9999-12-31", "until"), ("1799-12-31", "2025-01-01", "since")],
)
def test_access_log_days_at_the_ends_of_the_calendar_are_refused_by_name(
    personas: Personas, sign_in: Any, since: str, until: str, field: str
) -> None:
    auditor = sign_in(Client(), personas.an)
    days = {name: day for name, day in (("since", since), ("until", until)) if day}
    for path in ("/audit/access/", "/audit/access/export.csv", "/audit/access/export.xlsx"):
        response = auditor.get(path, days)
        assert response.status_code in (200, 422), (path, response.status_code)
        assert "date." in response.content.decode(), path
    _token, secret = api_token_create(user=personas.an, name="kiểm toán")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    for path in ("/api/v1/audit/access", "/api/v1/audit/access/export.csv"):
        response = api.get(path, days)
        assert response.status_code == 422, (path, response.status_code)
        assert [error["field"] for error in response.json()["errors"]] == [field]


def test_the_selector_names_the_day_outside_the_calendar(personas: Personas) -> None:
    from datetime import date

    with pytest.raises(DomainError) as refused:
        access_log_search(actor=personas.an, query=AccessLogQuery(until=date(9999, 12, 31)))
    assert [(error.field, error.code) for error in refused.value.errors] == [("until", "date.year_range")]


@pytest.mark.parametrize(
    "next_url", ["abc", "-1", "nguyễn", "' OR 1=1--", "//evil.example/", "https://evil.example/"]
)
def test_the_purpose_goes_back_to_a_path_of_this_site_or_home(
    personas: Personas, sign_in: Any, next_url: str
) -> None:
    response = sign_in(Client(), personas.lan).post("/purpose/", {"purpose": "collection", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_campaign_with_a_metric_past_the_databases_integers_is_refused_on_the_form(
    personas: Personas, sign_in: Any
) -> None:
    response = sign_in(Client(), personas.minh).post(
        "/campaigns/new/",
        {"name": "Thử", "starts_on": "2026-01-01", "ends_on": "2026-02-01", "metrics": [TOO_LARGE]},
    )
    # The form again, with the choice refused (as any choice not offered), and nothing made.
    assert response.status_code == 400
    assert TOO_LARGE in response.content.decode()
    assert not Campaign.objects.exists()


def test_chunks_give_every_row_in_order_and_leave_out_one_removed_meanwhile(
    personas: Personas, people: People
) -> None:
    AccessLog.objects.all().delete()
    for _ in range(7):
        citizen_get(actor=personas.lan, pk=people.hung.pk, purpose="Kiểm tra, phúc tra dữ liệu")
    ids = list(AccessLog.objects.order_by("-pk").values_list("pk", flat=True))
    chunks = in_chunks(AccessLog.objects.order_by("-pk"), 3)
    first = next(chunks)
    # A write between two chunks, as an export's own access-log rows are, and a row gone meanwhile.
    citizen_get(actor=personas.lan, pk=people.hung.pk, purpose="Kiểm tra, phúc tra dữ liệu")
    AccessLog.objects.filter(pk=ids[4]).delete()
    rest = list(chunks)
    given = [row.pk for row in first] + [row.pk for chunk in rest for row in chunk]
    assert len(first) == 3
    assert all(1 <= len(chunk) <= 3 for chunk in rest)
    # In order, none twice, the row written meanwhile not among them; the removed one left out where the
    # chunks are read by their ids (SQLite), still given where a cursor had read on (PostgreSQL).
    assert given in (ids, ids[:4] + ids[5:])
