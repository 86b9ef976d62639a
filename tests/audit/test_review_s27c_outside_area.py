"""The auditor's filter of reads outside the reader's area: on the page, over the API, in the files, with
the other filters, and within the auditor's own area.

The reads are written as the selectors write them (`access_log_record`), including those the selectors
would refuse an officer: those are the rows the filter is for.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog
from dancu.audit.selectors import AccessLogQuery, access_log_export, access_log_search
from dancu.audit.services import Actor, access_log_record
from dancu.registry.models import Citizen
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]
PURPOSE = "Kiểm tra, phúc tra dữ liệu"
MATCHER = Actor(system="dancu match --registry")


def _read(reader: User | Actor, citizen: Citizen) -> None:
    access_log_record(
        actor=reader,
        citizen_ids=[citizen.pk],
        action=AccessLog.Action.VIEW,
        channel=AccessLog.Channel.WEB,
        purpose=PURPOSE,
    )


@pytest.fixture
def area_reads(personas: Personas, people: People) -> None:
    """Reads inside the reader's area: Lan (Hoàn Kiếm) reads Hùng (Hoàn Kiếm), Bình (Hồng Hà) and Cường
    (Hà Nội) read Mai (Hồng Hà), Hoa (legacy Hoài Đức) reads Nga (legacy Dương Liễu, in Hoài Đức).
    Outside it: Lan reads Mai, Cường reads Tuấn (TP HCM), Minh (the ministry) reads Tuấn, Hoa reads Hùng,
    and the matcher (a system job) reads Hùng."""
    AccessLog.objects.all().delete()
    _read(personas.lan, people.hung)
    _read(personas.binh, people.mai)
    _read(personas.cuong, people.mai)
    _read(personas.hoa, people.nga)
    _read(personas.lan, people.mai)
    _read(personas.cuong, people.tuan)
    _read(personas.minh, people.tuan)
    _read(personas.hoa, people.hung)
    _read(MATCHER, people.hung)


OUTSIDE = {
    ("lan", "Lê Thị Mai"),
    ("cuong", "Trần Minh Tuấn"),
    ("minh", "Trần Minh Tuấn"),
    ("hoa", "Nguyễn Văn Hùng"),
    ("system:dancu match --registry", "Nguyễn Văn Hùng"),
}


def _reads(actor: User, query: AccessLogQuery) -> set[tuple[str, str]]:
    page = access_log_search(actor=actor, query=query)
    return {(row.actor_label, row.citizen.full_name) for row in page.rows if row.actor_id != actor.pk}


def test_the_filter_finds_the_reads_outside_the_readers_area(
    personas: Personas, area_reads: None, commune_auditor: User
) -> None:
    an = personas.an
    assert len(_reads(an, AccessLogQuery())) == 9
    assert _reads(an, AccessLogQuery(outside_area=True)) == OUTSIDE
    # With the other filters.
    assert _reads(an, AccessLogQuery(outside_area=True, reader="lan")) == {("lan", "Lê Thị Mai")}
    assert _reads(an, AccessLogQuery(outside_area=True, channel="job")) == set()
    # Within the auditor's area: Hoàn Kiếm's auditor sees the outside reads of Hoàn Kiếm's citizens only
    # (the ministry auditor's own reads of the log just above among them, unless left out).
    assert _reads(commune_auditor, AccessLogQuery(outside_area=True, without_audit=True)) == {
        ("hoa", "Nguyễn Văn Hùng"),
        ("system:dancu match --registry", "Nguyễn Văn Hùng"),
    }


def test_a_citizen_reading_their_own_record_is_not_outside(personas: Personas, people: People) -> None:
    AccessLog.objects.all().delete()
    holder = User.objects.create(username=people.hung.pin, role=User.Role.CITIZEN)
    _read(holder, people.hung)
    assert _reads(personas.an, AccessLogQuery()) == {(people.hung.pin, "Nguyễn Văn Hùng")}
    assert _reads(personas.an, AccessLogQuery(outside_area=True)) == set()


def test_the_export_takes_the_filter(personas: Personas, area_reads: None) -> None:
    rows = access_log_export(actor=personas.an, query=AccessLogQuery(outside_area=True, without_audit=True))
    assert {(row.actor_label, row.citizen.full_name) for row in rows} == OUTSIDE


def test_the_page_offers_the_filter_in_both_languages(
    sign_in: SignIn, personas: Personas, people: People, area_reads: None
) -> None:
    client = sign_in(Client(), personas.an)
    page = client.get("/audit/access/").content.decode()
    assert 'name="outside_area"' in page
    assert "Chỉ các lần đọc công dân ngoài địa bàn của đơn vị người đọc" in page
    filtered = client.get("/audit/access/", {"outside_area": "on", "reader": "binh"}).content.decode()
    assert "Lê Thị Mai" not in filtered
    filtered = client.get("/audit/access/", {"outside_area": "on", "reader": "lan"}).content.decode()
    assert "Lê Thị Mai" in filtered
    assert "Nguyễn Văn Hùng" not in filtered
    response = client.get("/audit/access/export.csv", {"outside_area": "on", "reader": "lan"})
    exported = b"".join(response.streaming_content).decode()
    assert people.mai.pin in exported
    assert people.hung.pin not in exported
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get("/audit/access/").content.decode()
    # The apostrophe comes escaped in the page (&#x27;).
    assert "Only reads of citizens outside the area of the reader&#x27;s unit" in english


def test_the_api_takes_the_filter(personas: Personas, people: People, area_reads: None) -> None:
    _token, secret = api_token_create(user=personas.an, name="kiểm toán")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    body = client.get("/api/v1/audit/access", {"outside_area": "true", "without_audit": "true"}).json()
    assert {(row["reader"], row["citizen_pin"]) for row in body["rows"]} == {
        ("lan", people.mai.pin),
        ("cuong", people.tuan.pin),
        ("minh", people.tuan.pin),
        ("hoa", people.hung.pin),
        ("system:dancu match --registry", people.hung.pin),
    }
    response = client.get("/api/v1/audit/access/export.csv", {"outside_area": "true", "reader": "binh"})
    assert response.status_code == 200
    assert people.mai.pin not in b"".join(response.streaming_content).decode()
    response = client.get("/api/v1/audit/access/export.csv", {"outside_area": "true", "reader": "cuong"})
    exported = b"".join(response.streaming_content).decode()
    assert people.tuan.pin in exported
    assert people.mai.pin not in exported
