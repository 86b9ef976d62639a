"""The auditor's filter of reads made at night (22:00 to 06:00, Vietnam's time): on the page, over the API,
with the other filters, and within the auditor's area."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog
from dancu.audit.selectors import AccessLogQuery, access_log_search
from dancu.registry.models import Citizen
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def _read_at(citizen: Citizen, hour: int, minute: int) -> None:
    """The read of `citizen` (of the `reads` fixture) was made at this time of 2 December 2026, Vietnam's
    time: 23:30 there is 16:30 in UTC, the day the server may count in."""
    AccessLog.objects.filter(citizen=citizen).update(
        accessed_at=datetime(2026, 12, 2, hour, minute, tzinfo=VIETNAM)
    )


@pytest.fixture
def night_reads(people: People, reads: None) -> None:
    """Lan read Hùng at 23:30 and Minh read Mai at 05:59 (night); Minh read Tuấn at 06:00 (morning)."""
    _read_at(people.hung, 23, 30)
    _read_at(people.mai, 5, 59)
    _read_at(people.tuan, 6, 0)


def _names(actor: User, query: AccessLogQuery) -> set[str]:
    page = access_log_search(actor=actor, query=query)
    return {row.citizen.full_name for row in page.rows if row.actor_id != actor.pk}


def test_the_night_filter_finds_the_reads_from_22_to_6_vietnams_time(
    personas: Personas, night_reads: None, commune_auditor: User
) -> None:
    an = personas.an
    assert _names(an, AccessLogQuery()) == {"Nguyễn Văn Hùng", "Lê Thị Mai", "Trần Minh Tuấn"}
    assert _names(an, AccessLogQuery(at_night=True)) == {"Nguyễn Văn Hùng", "Lê Thị Mai"}
    # With the other filters.
    assert _names(an, AccessLogQuery(at_night=True, reader="minh")) == {"Lê Thị Mai"}
    assert _names(an, AccessLogQuery(at_night=True, reader="minh", action="export")) == set()
    assert _names(an, AccessLogQuery(at_night=True, without_audit=True)) == {"Nguyễn Văn Hùng", "Lê Thị Mai"}
    # Within the auditor's area: the commune's auditor sees the night read of their commune only.
    assert _names(commune_auditor, AccessLogQuery(at_night=True)) == {"Nguyễn Văn Hùng"}


def test_a_read_at_21_59_is_not_at_night(personas: Personas, people: People, night_reads: None) -> None:
    _read_at(people.hung, 21, 59)
    assert _names(personas.an, AccessLogQuery(at_night=True)) == {"Lê Thị Mai"}
    _read_at(people.hung, 22, 0)
    assert _names(personas.an, AccessLogQuery(at_night=True)) == {"Nguyễn Văn Hùng", "Lê Thị Mai"}


def test_the_page_offers_the_filter_in_both_languages(
    sign_in: SignIn, personas: Personas, night_reads: None
) -> None:
    client = sign_in(Client(), personas.an)
    page = client.get("/audit/access/").content.decode()
    assert 'name="at_night"' in page
    assert "Chỉ các lần đọc ban đêm (22:00–06:00, giờ Việt Nam)" in page
    filtered = client.get("/audit/access/", {"at_night": "on", "without_audit": "on"}).content.decode()
    assert "Lê Thị Mai" in filtered
    assert "Trần Minh Tuấn" not in filtered
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get("/audit/access/").content.decode()
    assert "Only reads at night (22:00–06:00, Vietnam time)" in english


def test_the_api_takes_the_filter(personas: Personas, people: People, night_reads: None) -> None:
    _token, secret = api_token_create(user=personas.an, name="kiểm toán")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    body = client.get("/api/v1/audit/access", {"at_night": "true", "without_audit": "true"}).json()
    assert {row["citizen_pin"] for row in body["rows"] if row["reader"] != "an"} == {
        people.hung.pin,
        people.mai.pin,
    }
    response = client.get("/api/v1/audit/access/export.csv", {"at_night": "true", "without_audit": "true"})
    exported = b"".join(response.streaming_content).decode()
    assert people.mai.pin in exported
    assert people.tuan.pin not in exported
