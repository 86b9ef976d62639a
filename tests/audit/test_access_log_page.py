"""The auditor's access log: the reads of citizens of the auditor's area, filtered, paged, and logged.

An auditor reads no record; what they read is who read which citizen. Who was read is personal data of
that citizen, so the rule of jurisdiction is the records' own: an auditor of a commune sees the reads of
that commune's citizens and no other.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dancu.accounts.models import User
from dancu.audit import selectors as audit_selectors
from dancu.audit.models import AccessLog
from dancu.audit.seals import SETTLE, access_log_seal, access_log_verify
from dancu.audit.selectors import AUDIT_PURPOSE, PAGE_SIZE, AccessLogQuery, access_log_search
from dancu.audit.services import Actor, access_log_record
from dancu.lib.errors import DomainError
from dancu.registry.models import Citizen
from dancu.registry.selectors import citizen_get
from tests.audit.conftest import PURPOSE, auditor_of
from tests.conftest import HONG_HA, People, Personas, make_citizen, move

pytestmark = pytest.mark.django_db


def _citizens(actor: User, query: AccessLogQuery | None = None) -> set[str]:
    page = access_log_search(actor=actor, query=query or AccessLogQuery())
    return {row.citizen.full_name for row in page.rows if row.actor_id != actor.pk}


def test_an_auditor_sees_the_reads_of_citizens_of_their_area_only(
    personas: Personas, people: People, reads: None, commune_auditor: User
) -> None:
    assert _citizens(personas.an) == {"Nguyễn Văn Hùng", "Lê Thị Mai", "Trần Minh Tuấn"}
    assert _citizens(commune_auditor) == {"Nguyễn Văn Hùng"}
    # A PIN of another commune's citizen finds nothing, as one that does not exist.
    assert _citizens(commune_auditor, AccessLogQuery(pin=people.tuan.pin)) == set()
    assert _citizens(commune_auditor, AccessLogQuery(pin="001090999999")) == set()


@pytest.mark.parametrize("role", ["collector", "supervisor", "ministry_admin"])
def test_officers_who_are_not_auditors_read_no_log(personas: Personas, reads: None, role: str) -> None:
    officer = {"collector": personas.lan, "supervisor": personas.cuong, "ministry_admin": personas.minh}[role]
    assert access_log_search(actor=officer, query=AccessLogQuery()).rows == []


def test_filters(personas: Personas, people: People, reads: None) -> None:
    an = personas.an
    assert _citizens(an, AccessLogQuery(reader="LAN")) == {"Nguyễn Văn Hùng"}
    assert _citizens(an, AccessLogQuery(pin=people.tuan.pin)) == {"Trần Minh Tuấn"}
    assert _citizens(an, AccessLogQuery(action="view", channel="web")) == {
        "Nguyễn Văn Hùng",
        "Lê Thị Mai",
        "Trần Minh Tuấn",
    }
    assert _citizens(an, AccessLogQuery(action="export")) == set()
    today = timezone.localdate()
    assert len(_citizens(an, AccessLogQuery(since=today, until=today))) == 3
    assert _citizens(an, AccessLogQuery(until=today - timedelta(days=1))) == set()
    assert _citizens(an, AccessLogQuery(since=today + timedelta(days=1))) == set()


# A reader's name: the accounts and system jobs it stands for ---------------------------------------------


@pytest.fixture(params=["few", "many"])
def readers_merged(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of reading a reader's rows: each reader's newest rows merged (the readers a name stands
    for are few), and one query for all of them (more than `MERGED_READERS`, here any)."""
    if request.param == "many":
        monkeypatch.setattr(audit_selectors, "MERGED_READERS", 0)
    return str(request.param)


def _job_read(people: People, job: str, *citizens: Citizen) -> None:
    access_log_record(
        actor=Actor(system=job),
        citizen_ids=[citizen.pk for citizen in citizens],
        action=AccessLog.Action.PROCESS,
        channel=AccessLog.Channel.JOB,
        purpose=PURPOSE,
    )


def test_a_readers_name_finds_accounts_and_system_jobs_whatever_the_case(
    personas: Personas, people: People, reads: None, commune_auditor: User, readers_merged: str
) -> None:
    an = personas.an
    _job_read(people, "dancu match --registry", people.hung, people.mai)
    _job_read(people, "quality", people.tuan)
    assert _citizens(an, AccessLogQuery(reader="MINH")) == {"Lê Thị Mai", "Trần Minh Tuấn"}
    assert _citizens(an, AccessLogQuery(reader="Match")) == {"Nguyễn Văn Hùng", "Lê Thị Mai"}
    # "system" is in every job's label; "n" in Lan's, Minh's and An's names and in two jobs'.
    assert _citizens(an, AccessLogQuery(reader="system")) == {
        "Nguyễn Văn Hùng",
        "Lê Thị Mai",
        "Trần Minh Tuấn",
    }
    page = access_log_search(actor=an, query=AccessLogQuery(reader="n"))
    assert {(row.actor_label, row.citizen.full_name) for row in page.rows if row.actor_id != an.pk} == {
        ("lan", "Nguyễn Văn Hùng"),
        ("minh", "Lê Thị Mai"),
        ("minh", "Trần Minh Tuấn"),
        ("system:dancu match --registry", "Nguyễn Văn Hùng"),
        ("system:dancu match --registry", "Lê Thị Mai"),
    }
    assert _citizens(an, AccessLogQuery(reader="nobody")) == set()
    # The page says whom the name stood for, accounts by name then jobs, up to MERGED_READERS of them.
    stood_for = [
        "an",
        "binh",
        "cuong",
        "dung",
        "kiem.toan.hk",
        "lan",
        "minh",
        "system:dancu match --registry",
    ]
    if readers_merged == "few":
        assert (page.readers, page.more_readers) == (stood_for, False)
    else:
        assert (page.readers, page.more_readers) == ([], True)
    nobody = access_log_search(actor=an, query=AccessLogQuery(reader="nobody"))
    assert (nobody.readers, nobody.more_readers) == ([], False)
    assert access_log_search(actor=an, query=AccessLogQuery()).readers is None
    # The auditor of Hoàn Kiếm finds, for the same names, only the reads of Hoàn Kiếm's citizen.
    assert _citizens(commune_auditor, AccessLogQuery(reader="n")) == {"Nguyễn Văn Hùng"}
    assert _citizens(commune_auditor, AccessLogQuery(reader="minh")) == set()
    assert _citizens(commune_auditor, AccessLogQuery(reader="match")) == {"Nguyễn Văn Hùng"}


def test_a_readers_rows_page_newest_first_without_gaps(
    personas: Personas, people: People, readers_merged: str
) -> None:
    AccessLog.objects.all().delete()
    for _ in range(PAGE_SIZE):
        citizen_get(actor=personas.lan, pk=people.hung.pk, purpose=PURPOSE)
        _job_read(people, "quality", people.mai)
    citizen_get(actor=personas.minh, pk=people.tuan.pk, purpose=PURPOSE)
    wanted = list(AccessLog.objects.exclude(actor=personas.minh).order_by("-pk").values_list("pk", flat=True))
    pages = []
    before = None
    while True:
        page = access_log_search(actor=personas.an, query=AccessLogQuery(reader="a"), before=before)
        pages.append([row.pk for row in page.rows])
        if page.next_before is None:
            break
        before = page.next_before
    # Lan's and the quality job's rows, interleaved as they were written, in pages of PAGE_SIZE; Minh's
    # ("a" is not in his name) and the auditor's own reading of each page (after it) are not among them.
    assert [len(rows) for rows in pages] == [PAGE_SIZE, PAGE_SIZE]
    assert [pk for rows in pages for pk in rows] == wanted


def test_a_citizens_own_reads_are_found_but_no_pin_is_listed(
    personas: Personas, people: People, reads: None, commune_auditor: User
) -> None:
    # A citizen's portal account is named by its PIN, and reading their own record is logged under it.
    own = User.objects.create_user(username=people.hung.pin, role=User.Role.CITIZEN)
    access_log_record(
        actor=own,
        citizen_ids=[people.hung.pk],
        action=AccessLog.Action.VIEW,
        channel=AccessLog.Channel.WEB,
        purpose="Công dân xem dữ liệu của mình",
    )
    other = User.objects.create_user(username=people.tuan.pin, role=User.Role.CITIZEN)
    digits = people.hung.pin[3:6]  # the birth year's digits, "090": both were born in 1990
    assert digits in people.tuan.pin
    page = access_log_search(actor=commune_auditor, query=AccessLogQuery(reader=digits))
    assert [(row.actor_id, row.citizen_id) for row in page.rows] == [(own.pk, people.hung.pk)]
    # The PINs that hold the digits across the country are not listed, not even the one on the page.
    assert page.readers == []
    assert other.pk not in {row.actor_id for row in page.rows}


def test_officers_are_listed_however_many_citizens_names_hold_the_text(
    personas: Personas, people: People, reads: None
) -> None:
    # More citizens' accounts than the page lists, all sorting before the one officer the digits name.
    for n in range(audit_selectors.MERGED_READERS + 5):
        User.objects.create_user(username=f"0010900000{n:02}", role=User.Role.CITIZEN)
    User.objects.filter(pk=personas.binh.pk).update(username="x.0900.binh")
    page = access_log_search(actor=personas.an, query=AccessLogQuery(reader="0900"))
    assert (page.readers, page.more_readers) == (["x.0900.binh"], False)


def test_an_account_is_found_by_its_name_now(personas: Personas, people: People, reads: None) -> None:
    User.objects.filter(pk=personas.lan.pk).update(username="tran.thi.lan")
    page = access_log_search(actor=personas.an, query=AccessLogQuery(reader="tran.thi"))
    # The row keeps the name the account had when it read.
    assert [(row.actor_label, row.citizen.full_name) for row in page.rows] == [("lan", "Nguyễn Văn Hùng")]


def test_a_name_that_stands_for_no_reader_reads_no_row_of_the_log(
    personas: Personas, people: People, reads: None
) -> None:
    _job_read(people, "quality", people.hung)
    with CaptureQueriesContext(connection) as queries:
        assert access_log_search(actor=personas.an, query=AccessLogQuery(reader="nobody")).rows == []
    # The accounts are asked, then the jobs' index once per job and once past the last: nothing else.
    log = AccessLog._meta.db_table
    on_log = [query["sql"] for query in queries.captured_queries if log in query["sql"]]
    assert len(on_log) == 2
    assert all("actor_label" in sql and "IS NULL" in sql for sql in on_log)


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        (AccessLogQuery(pin="0010900123"), "pin", "pin.format"),
        (AccessLogQuery(pin="00109001234x"), "pin", "pin.format"),
        (AccessLogQuery(reader="lan\x00"), "reader", "text.control_chars"),
        (AccessLogQuery(reader="x" * 151), "reader", "text.too_long"),
        (
            AccessLogQuery(since=timezone.localdate(), until=timezone.localdate() - timedelta(days=1)),
            "until",
            "date.range",
        ),
        (AccessLogQuery(action="delete"), "action", "choice.unknown"),
        (AccessLogQuery(channel="fax"), "channel", "choice.unknown"),
    ],
)
def test_a_filter_that_breaks_a_rule_is_named(
    personas: Personas, query: AccessLogQuery, field: str, code: str
) -> None:
    with pytest.raises(DomainError) as caught:
        access_log_search(actor=personas.an, query=query)
    assert [(error.field, error.code) for error in caught.value.errors] == [(field, code)]


def test_every_broken_rule_is_named_at_once(personas: Personas) -> None:
    with pytest.raises(DomainError) as caught:
        access_log_search(actor=personas.an, query=AccessLogQuery(pin="1", action="delete", reader="\x07"))
    assert sorted(error.field for error in caught.value.errors) == ["action", "pin", "reader"]


def test_the_auditors_own_reading_is_in_the_log(personas: Personas, people: People, reads: None) -> None:
    page = access_log_search(actor=personas.an, query=AccessLogQuery())
    own = AccessLog.objects.filter(actor=personas.an)
    assert sorted(own.values_list("citizen_id", flat=True)) == sorted({row.citizen_id for row in page.rows})
    assert set(own.values_list("purpose", "action", "channel")) == {(AUDIT_PURPOSE, "search", "web")}


def test_pages_follow_each_other_without_gaps(personas: Personas, people: People, reads: None) -> None:
    for _ in range(PAGE_SIZE):
        citizen_get(actor=personas.lan, pk=people.hung.pk, purpose=PURPOSE)
    ids = set(AccessLog.objects.values_list("pk", flat=True))
    first = access_log_search(actor=personas.an, query=AccessLogQuery())
    assert len(first.rows) == PAGE_SIZE
    assert first.next_before is not None
    second = access_log_search(actor=personas.an, query=AccessLogQuery(), before=first.next_before)
    # The auditor's reading of page one came after: page two goes on with what was there before.
    assert {row.pk for row in first.rows} | {row.pk for row in second.rows} == ids
    assert second.next_before is None


# The area of a row: its citizen's, now ----------------------------------------------------------------------


def _area(citizen: Citizen) -> tuple[int | None, int | None, int | None]:
    citizen.refresh_from_db()
    return citizen.area_commune_id, citizen.area_province_id, citizen.area_legacy_commune_id


def _row_areas(citizen: Citizen) -> set[tuple[int | None, int | None, int | None]]:
    rows = AccessLog.objects.filter(citizen=citizen)
    return set(rows.values_list("area_commune_id", "area_province_id", "area_legacy_commune_id"))


@pytest.mark.parametrize("copies", [1, 70], ids=["a page", "a system job's thousands"])
def test_every_row_carries_its_citizens_area(personas: Personas, people: People, copies: int) -> None:
    # One citizen read (a statement of its own) and several (a page's batch, or one large enough that
    # SQLite reads the areas before writing), a 2025 area and a legacy one.
    citizen_get(actor=personas.minh, pk=people.hung.pk, purpose=PURPOSE)
    written = access_log_record(
        actor=personas.minh,
        citizen_ids=[people.mai.pk, people.tuan.pk, people.nga.pk] * copies,
        action=AccessLog.Action.SEARCH,
        channel=AccessLog.Channel.WEB,
        purpose=PURPOSE,
    )
    assert written == 3 * copies
    for citizen in (people.hung, people.mai, people.tuan, people.nga):
        assert _row_areas(citizen) == {_area(citizen)}, citizen.full_name
    assert people.nga.area_legacy_commune_id is not None


def test_the_reads_of_a_citizen_who_moves_go_to_the_auditor_of_the_new_area(
    personas: Personas, people: People, reads: None, commune_auditor: User
) -> None:
    hong_ha_auditor = auditor_of(personas.binh, username="kiem.toan.hh", full_name="Phan Thị Hạnh")
    access_log_seal(now=timezone.now() + SETTLE + timedelta(minutes=1))
    assert _citizens(commune_auditor) == {"Nguyễn Văn Hùng"}
    assert _citizens(hong_ha_auditor) == {"Lê Thị Mai"}

    move(people.hung, HONG_HA)

    # Who read Hùng is personal data of Hùng: it follows him to the auditor of his new ward, and the
    # auditor of the old one no longer sees it, as no officer of Hoàn Kiếm sees his record now.
    assert _citizens(commune_auditor) == set()
    assert _citizens(hong_ha_auditor) == {"Nguyễn Văn Hùng", "Lê Thị Mai"}
    assert _row_areas(people.hung) == {_area(people.hung)}
    # The rows' area is no part of what the seals cover: the chain still holds.
    assert access_log_verify() == []


def test_the_migration_gives_the_rows_written_before_it_their_citizens_area(
    personas: Personas, people: People, reads: None
) -> None:
    AccessLog.objects.update(area_commune=None, area_province=None, area_legacy_commune=None)
    migration = importlib.import_module("dancu.audit.migrations.0008_access_log_area")
    migration.backfill(django_apps, None)
    for citizen in (people.hung, people.mai, people.tuan):
        assert _row_areas(citizen) == {_area(citizen)}


# The page ---------------------------------------------------------------------------------------------------


def test_an_auditor_lands_on_the_access_log(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas, reads: None
) -> None:
    sign_in(client, personas.an)
    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"] == "/audit/access/"
    page = client.get("/audit/access/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-label="Công dân"') == 3
    assert "Nguyễn Văn Hùng" in html
    assert "Chưa có dấu niêm phong" in html
    # The auditor's menu holds their page and their API tokens only: the officers' pages would refuse them.
    assert "/audit/access/" in html
    assert 'href="/account/tokens/"' in html
    assert 'href="/search/"' not in html


def test_the_page_names_a_bad_filter(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas, reads: None
) -> None:
    sign_in(client, personas.an)
    html = client.get("/audit/access/", {"pin": "12ab", "since": "2026-02-30"}).content.decode()
    assert 'data-field="since"' in html
    html = client.get("/audit/access/", {"pin": "12ab"}).content.decode()
    assert 'data-field="pin"' in html
    assert "12 chữ số" in html
    assert 'id="access-log"' not in html


def test_the_page_is_the_auditors_alone(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas
) -> None:
    assert client.get("/audit/access/").status_code == 302  # to the sign-in page
    sign_in(client, personas.lan)
    assert client.get("/audit/access/").status_code == 403


def test_the_reads_of_a_record_merged_away_are_found_by_the_kept_pin(
    personas: Personas, people: People, reads: None
) -> None:
    """A record absorbed by a merge was the same person's: its reads are found by the PIN kept, as the
    person's history shows the merged records' histories; the cancelled PIN still finds its own."""
    from tests.collection.forms_support import merge_into_duplicate

    twice = make_citizen(full_name="Đỗ Văn Hai Lần", birth_date="1960-02-01")
    citizen_get(actor=personas.lan, pk=twice.pk, purpose=PURPOSE)
    old_pin = twice.pin
    kept = merge_into_duplicate(twice)
    assert kept.pin != old_pin
    rows = access_log_search(actor=personas.an, query=AccessLogQuery(pin=kept.pin, action="view")).rows
    assert [row.citizen_id for row in rows] == [twice.pk]
    rows = access_log_search(actor=personas.an, query=AccessLogQuery(pin=old_pin, action="view")).rows
    assert [row.citizen_id for row in rows] == [twice.pk]
