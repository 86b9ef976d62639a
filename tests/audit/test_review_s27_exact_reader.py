"""The readers summary links each reader to exactly their own reads (review session 27).

Lan (lan) and Lan Hai (lan2) both read Hùng's record. The summary by reader lists them on two rows; the
link of Lan's row opened the log filtered by "lan" as a part of names, which listed Lan Hai's reads
under Lan's name. The link now names the account by its id (a system job by its whole label), on the
page and over the API alike, and the free text still finds every name that holds it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog
from dancu.audit.services import Actor, access_log_record
from dancu.registry.models import Citizen
from tests.conftest import People, Personas, _officer

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]
MATCHER = Actor(system="dancu match --registry")
MATCHER_TOO = Actor(system="dancu match --registry --again")


def _read(reader: User | Actor, citizen: Citizen, times: int = 1) -> None:
    for _ in range(times):
        access_log_record(
            actor=reader,
            citizen_ids=[citizen.pk],
            action=AccessLog.Action.VIEW,
            channel=AccessLog.Channel.WEB,
            purpose="Kiểm tra, phúc tra dữ liệu",
        )


@pytest.fixture
def lan2(personas: Personas) -> User:
    assert personas.lan.police_unit is not None
    return _officer("lan2", User.Role.COLLECTOR, personas.lan.police_unit, "Phạm Thị Lan")


@pytest.fixture
def reads(personas: Personas, people: People, lan2: User) -> None:
    """Lan reads Hùng twice, Lan Hai three times; two system jobs whose labels share a beginning read
    Mai once each."""
    AccessLog.objects.all().delete()
    _read(personas.lan, people.hung, 2)
    _read(lan2, people.hung, 3)
    _read(MATCHER, people.mai)
    _read(MATCHER_TOO, people.mai)


def _links(html: str) -> dict[str, str]:
    """Each reader of the summary's table and the address its name links to."""
    table = html[html.index('id="readers-summary"') :]
    return {
        name: unescape(href)
        for href, name in re.findall(r'<a href="(/audit/access/\?[^"]*)">([^<]+)</a>', table)
    }


def _readers(client: Client, href: str) -> list[str]:
    page = client.get(href).context["page"]
    return sorted(row.actor_label for row in page.rows)


def test_each_readers_link_opens_that_readers_reads_alone(
    client: Client, sign_in: SignIn, personas: Personas, lan2: User, reads: None
) -> None:
    sign_in(client, personas.an)
    summary = client.get("/audit/access/readers/", {"reader": "lan"}).content.decode()
    links = _links(summary)
    assert set(links) == {"lan", "lan2"}
    assert _readers(client, links["lan"]) == ["lan", "lan"]
    assert _readers(client, links["lan2"]) == ["lan2", "lan2", "lan2"]
    # The page says whose reads it shows, and leads back to everyone's.
    page = client.get(links["lan"]).content.decode()
    assert "Chỉ các lần đọc của lan." in page
    # A system job is named by its whole label: one job's link does not list another whose label holds it.
    jobs = _links(client.get("/audit/access/readers/").content.decode())
    assert _readers(client, jobs[MATCHER.label]) == [MATCHER.label]
    assert _readers(client, jobs[MATCHER_TOO.label]) == [MATCHER_TOO.label]


def test_the_free_text_still_finds_every_name_that_holds_it(
    client: Client, sign_in: SignIn, personas: Personas, reads: None
) -> None:
    sign_in(client, personas.an)
    assert _readers(client, "/audit/access/?reader=lan") == ["lan", "lan", "lan2", "lan2", "lan2"]


def test_an_edited_link_is_named_not_ignored(
    client: Client, sign_in: SignIn, personas: Personas, reads: None
) -> None:
    sign_in(client, personas.an)
    for value in ("abc", "0", str(2**63)):
        response = client.get("/audit/access/", {"reader_id": value})
        assert response.status_code == 200
        assert 'data-field="reader_id"' in response.content.decode(), value
        assert response.context["page"] is None


def _api(user: User) -> Client:
    _token, secret = api_token_create(user=user, name="kiểm toán")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_the_api_filters_by_the_account_id_the_summary_gives(
    personas: Personas, lan2: User, reads: None
) -> None:
    api = _api(personas.an)
    summary = api.get("/api/v1/audit/access/readers", {"reader": "lan"}).json()["rows"]
    ids = {row["reader"]: row["account_id"] for row in summary}
    assert ids == {"lan": personas.lan.pk, "lan2": lan2.pk}
    rows = api.get("/api/v1/audit/access", {"reader_id": personas.lan.pk}).json()["rows"]
    assert [row["reader"] for row in rows] == ["lan", "lan"]
    jobs = api.get("/api/v1/audit/access", {"job": MATCHER.label}).json()["rows"]
    assert [row["reader"] for row in jobs] == [MATCHER.label]
    # The summary takes the same filter: one row, the reader's own.
    one = api.get("/api/v1/audit/access/readers", {"reader_id": lan2.pk}).json()["rows"]
    assert [(row["reader"], row["reads"]) for row in one] == [("lan2", 3)]
    bad = api.get("/api/v1/audit/access", {"reader_id": 0})
    assert bad.status_code == 422
    assert [error["field"] for error in bad.json()["errors"]] == ["reader_id"]


def test_the_filter_form_carries_the_chosen_reader_and_nothing_else(
    client: Client, sign_in: SignIn, personas: Personas, reads: None
) -> None:
    sign_in(client, personas.an)
    plain = client.get("/audit/access/", {"reader": "lan"}).content.decode()
    assert 'name="reader_id"' not in plain
    assert 'name="job"' not in plain
    assert "#}" not in plain
    chosen = client.get("/audit/access/", {"reader_id": personas.lan.pk}).content.decode()
    assert f'<input type="hidden" name="reader_id" value="{personas.lan.pk}"' in chosen
    assert 'href="?">' in chosen  # the way back to every reader
