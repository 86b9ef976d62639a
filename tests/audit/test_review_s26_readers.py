"""Who read how many citizens (/audit/access/readers/): the auditor's summary of the log by reader, under
the log's own filter, on the page and over the API, paged, scoped and logged as the log is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit import selectors
from dancu.audit.models import AccessLog
from dancu.audit.selectors import AUDIT_PURPOSE, AccessLogQuery, access_log_readers
from dancu.audit.services import Actor, access_log_record
from dancu.registry.models import Citizen
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
MATCHER = Actor(system="dancu match --registry")
PERIOD = {"since": "2026-12-02", "until": "2026-12-03"}


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time of December 2026 (November for day 20), Vietnam's time."""
    return datetime(2026, 11 if day == 20 else 12, day, hour, minute, tzinfo=VIETNAM)


def _read(reader: User | Actor, citizen: Citizen, when: datetime) -> None:
    access_log_record(
        actor=reader,
        citizen_ids=[citizen.pk],
        action=AccessLog.Action.VIEW,
        channel=AccessLog.Channel.WEB,
        purpose="Kiểm tra, phúc tra dữ liệu",
    )
    AccessLog.objects.filter(pk=AccessLog.objects.latest("pk").pk).update(accessed_at=when)


@pytest.fixture
def known_reads(personas: Personas, people: People) -> None:
    """In the period (2 and 3 December): Minh reads four citizens once each, one of them at night; Lan
    reads three, Hùng three times, two of her reads at night; the matcher reads two at 01:00. Outside it:
    Lan read Tuấn on 20 November and Minh read Nga on 4 December, both at night."""
    AccessLog.objects.all().delete()
    lan, minh = personas.lan, personas.minh
    _read(lan, people.hung, _at(2, 9))
    _read(lan, people.hung, _at(2, 9, 5))
    _read(lan, people.hung, _at(2, 23, 30))
    _read(lan, people.mai, _at(2, 10))
    _read(lan, people.nga, _at(2, 5))
    _read(minh, people.mai, _at(2, 14))
    _read(minh, people.tuan, _at(2, 15))
    _read(minh, people.nga, _at(3, 10))
    _read(minh, people.hung, _at(3, 22, 15))
    _read(MATCHER, people.hung, _at(2, 1))
    _read(MATCHER, people.mai, _at(2, 1, 1))
    _read(lan, people.tuan, _at(20, 23))
    _read(minh, people.nga, _at(4, 0, 30))


def _period(**more: Any) -> AccessLogQuery:
    return AccessLogQuery(since=date(2026, 12, 2), until=date(2026, 12, 3), **more)


def _table(actor: User, query: AccessLogQuery) -> list[tuple[str, int, int, int]]:
    """(reader, distinct citizens, reads, reads at night) per row, in the summary's order."""
    summary = access_log_readers(actor=actor, query=query)
    return [(row.reader, row.citizens, row.reads, row.night_reads) for row in summary.rows]


def test_the_summary_counts_each_readers_reads_and_citizens_in_the_period(
    personas: Personas, known_reads: None
) -> None:
    summary = access_log_readers(actor=personas.an, query=_period())
    # By distinct citizens read, the most first: Minh's four citizens before Lan's five reads of three.
    assert [(row.reader, row.citizens, row.reads, row.night_reads) for row in summary.rows] == [
        ("minh", 4, 4, 1),
        ("lan", 3, 5, 2),
        ("system:dancu match --registry", 2, 2, 2),
    ]
    minh, lan, matcher = summary.rows
    assert (minh.first_read, minh.last_read) == (_at(2, 14), _at(3, 22, 15))
    assert (lan.first_read, lan.last_read) == (_at(2, 5), _at(2, 23, 30))
    assert (minh.account_id, lan.account_id, matcher.account_id) == (personas.minh.pk, personas.lan.pk, None)
    assert (summary.readers, summary.page, summary.pages) == (3, 1, 1)
    # Without a first day, the week to the last day: Minh's read of Nga on 4 December counts, Lan's of
    # Tuấn on 20 November does not, until the last day is that day.
    week = access_log_readers(actor=personas.an, query=AccessLogQuery(until=date(2026, 12, 4)))
    assert (week.since, week.until) == (date(2026, 11, 28), date(2026, 12, 4))
    assert [(row.reader, row.citizens, row.reads, row.night_reads) for row in week.rows] == [
        ("minh", 4, 5, 2),
        ("lan", 3, 5, 2),
        ("system:dancu match --registry", 2, 2, 2),
    ]
    assert _table(personas.an, AccessLogQuery(until=date(2026, 11, 20))) == [("lan", 1, 1, 1)]


def test_the_summary_takes_the_logs_other_filters(personas: Personas, known_reads: None) -> None:
    # At night: Lan and the matcher tie at two citizens and two reads; the account comes first.
    assert _table(personas.an, _period(at_night=True)) == [
        ("lan", 2, 2, 2),
        ("system:dancu match --registry", 2, 2, 2),
        ("minh", 1, 1, 1),
    ]
    assert _table(personas.an, _period(reader="minh")) == [("minh", 4, 4, 1)]
    assert _table(personas.an, _period(reader="match")) == [("system:dancu match --registry", 2, 2, 2)]
    assert _table(personas.an, _period(action="export")) == []


def test_the_summary_is_of_the_auditors_area(
    personas: Personas, known_reads: None, commune_auditor: User
) -> None:
    """Hoàn Kiếm's auditor counts the reads of Hùng, the commune's citizen, alone."""
    assert _table(commune_auditor, _period()) == [
        ("lan", 1, 3, 1),
        ("minh", 1, 1, 1),
        ("system:dancu match --registry", 1, 1, 1),
    ]
    # Nobody but an auditor is counted anything.
    assert _table(personas.minh, _period()) == []


def test_the_summary_is_paged(personas: Personas, known_reads: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selectors, "READERS_PAGE", 1)
    pages = [access_log_readers(actor=personas.an, query=_period(), page=n) for n in (1, 2, 3)]
    assert [[row.reader for row in page.rows] for page in pages] == [
        ["minh"],
        ["lan"],
        ["system:dancu match --registry"],
    ]
    assert [(page.pages, page.has_previous, page.has_next) for page in pages] == [
        (3, False, True),
        (3, True, True),
        (3, True, False),
    ]
    beyond = access_log_readers(actor=personas.an, query=_period(), page=7)
    assert (beyond.rows, beyond.readers, beyond.pages, beyond.past_the_end) == ([], 3, 3, True)


def test_the_auditors_reading_is_logged_when_the_filter_names_a_citizen(
    personas: Personas, people: People, known_reads: None
) -> None:
    """The summary names no citizen and writes no row; filtered by a PIN it lists that citizen's readers,
    and the citizen is written to the log as the log's page writes the citizens it shows, once a day."""
    before = AccessLog.objects.count()
    access_log_readers(actor=personas.an, query=_period())
    assert AccessLog.objects.count() == before
    assert _table(personas.an, _period(pin=people.hung.pin)) == [
        ("lan", 1, 3, 1),
        ("minh", 1, 1, 1),
        ("system:dancu match --registry", 1, 1, 1),
    ]
    own = AccessLog.objects.filter(actor=personas.an)
    assert list(own.values_list("citizen_id", "action", "channel", "purpose")) == [
        (people.hung.pk, "search", "web", AUDIT_PURPOSE)
    ]
    access_log_readers(actor=personas.an, query=_period(pin=people.hung.pin))
    assert own.count() == 1


def test_the_page_shows_the_summary_and_links_each_reader_to_the_log(
    client: Client, sign_in: SignIn, personas: Personas, known_reads: None
) -> None:
    sign_in(client, personas.an)
    log = client.get("/audit/access/", PERIOD).content.decode()
    assert 'href="/audit/access/readers/?since=2026-12-02&amp;until=2026-12-03"' in log
    response = client.get("/audit/access/readers/", PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index(">minh<") < html.index(">lan<") < html.index(">system:dancu match --registry<")
    # The link names the reader exactly, by the account's id (review session 27): "minh" as a part of
    # names would find every account holding it.
    assert (
        f'href="/audit/access/?since=2026-12-02&amp;until=2026-12-03&amp;reader_id={personas.minh.pk}"'
        in html
    )
    assert "Các lần đọc từ ngày 02/12/2026 đến hết ngày 03/12/2026." in html
    assert "03/12/2026 22:15" in html  # Minh's last read, Vietnam's time
    # Without a first day: the week counted is said, and the links carry its first day.
    week = client.get("/audit/access/readers/", {"until": "2026-12-04"}).content.decode()
    assert "Các lần đọc từ ngày 28/11/2026 đến hết ngày 04/12/2026. Chưa chọn ngày đầu nên đếm 7 ngày" in week
    assert (
        f'href="/audit/access/?until=2026-12-04&amp;since=2026-11-28&amp;reader_id={personas.minh.pk}"'
        in week
    )
    # The link opens the log at that reader's rows of the period.
    rows = client.get("/audit/access/", {**PERIOD, "reader_id": personas.minh.pk}).context["page"].rows
    assert len(rows) == 4
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get("/audit/access/readers/", PERIOD).content.decode()
    assert "Citizens read by each reader" in english
    assert "Reads at night" in english


@pytest.mark.parametrize("page", ["abc", "0", "-1", "²", "99999999999999999999999", "10000", "20000"])
def test_a_page_number_that_is_none_is_answered(
    client: Client, sign_in: SignIn, personas: Personas, known_reads: None, page: str
) -> None:
    sign_in(client, personas.an)
    response = client.get("/audit/access/readers/", {**PERIOD, "page": page})
    assert response.status_code == 200
    html = response.content.decode()
    if page in {"10000", "20000"}:
        # Past the last page (the last offered is 10,000): said so, with the way back.
        assert 'id="empty-page"' in html
        assert "page=1" in html
    else:
        assert ">minh<" in html


def test_a_bad_filter_is_named_beside_its_field(
    client: Client, sign_in: SignIn, personas: Personas, known_reads: None
) -> None:
    sign_in(client, personas.an)
    response = client.get("/audit/access/readers/", {"pin": "12ab", "since": "2026-02-30"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-field="pin"' in html
    assert 'data-field="since"' in html
    assert 'id="readers-summary"' not in html


def test_the_page_is_the_auditors_alone_as_the_log_is(
    client: Client, sign_in: SignIn, personas: Personas, known_reads: None
) -> None:
    assert client.get("/audit/access/readers/").status_code == client.get("/audit/access/").status_code == 302
    for officer in (personas.lan, personas.minh):
        other = sign_in(Client(), officer)
        assert other.get("/audit/access/readers/").status_code == other.get("/audit/access/").status_code
        assert other.get("/audit/access/readers/").status_code == 403


def _api(user: User) -> Client:
    _token, secret = api_token_create(user=user, name="kiểm toán")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_the_api_gives_the_same_numbers(personas: Personas, known_reads: None) -> None:
    response = _api(personas.an).get("/api/v1/audit/access/readers", PERIOD)
    assert response.status_code == 200
    body = response.json()
    assert [(r["reader"], r["citizens"], r["reads"], r["night_reads"]) for r in body["rows"]] == [
        ("minh", 4, 4, 1),
        ("lan", 3, 5, 2),
        ("system:dancu match --registry", 2, 2, 2),
    ]
    assert body["rows"][0]["account_id"] == personas.minh.pk
    assert datetime.fromisoformat(body["rows"][0]["last_read"]) == _at(3, 22, 15)
    assert (body["readers"], body["page"], body["pages"]) == (3, 1, 1)
    night = _api(personas.an).get("/api/v1/audit/access/readers", {**PERIOD, "at_night": "true"}).json()
    assert [r["reader"] for r in night["rows"]] == ["lan", "system:dancu match --registry", "minh"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"pin": "12ab"}, "pin"),
        ({"channel": "fax"}, "channel"),
    ],
)
def test_the_api_names_a_bad_filter(
    personas: Personas, known_reads: None, params: dict[str, str], field: str
) -> None:
    response = _api(personas.an).get("/api/v1/audit/access/readers", params)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_the_api_is_the_auditors_alone_as_the_log_is(personas: Personas, known_reads: None) -> None:
    for officer in (personas.lan, personas.minh):
        client = _api(officer)
        assert client.get("/api/v1/audit/access/readers").status_code == 401
        assert client.get("/api/v1/audit/access").status_code == 401
    assert Client().get("/api/v1/audit/access/readers").status_code == 401
