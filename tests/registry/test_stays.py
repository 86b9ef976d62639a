"""Người tạm trú trong địa bàn: the police of the commune a person stays at register the stay from the
card, list who stays in their area, and renew or end the stay, while the record stays with the commune of
the permanent residence.

Tuấn lives permanently in Phường Sài Gòn (TP Hồ Chí Minh) and comes to stay in Phường Hồng Hà (Hà Nội),
where Bình is a collector. Lan (Phường Hoàn Kiếm) answers for neither place; Cường (Hà Nội) answers for
the province of the stay, Dũng (TP Hồ Chí Minh) for that of the record; Minh for the whole country; Hoa
for a pre-2025 district elsewhere in Hà Nội; An is an auditor.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client

from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.lib.errors import DomainError
from dancu.registry import selectors, services
from dancu.registry.models import AbsenceDeclaration, Citizen, Residence
from dancu.registry.selectors import STAY_CHECK_PURPOSE
from tests.collection.test_quality_pages import csv_rows, xlsx_sheets
from tests.conftest import (
    HOAN_KIEM,
    HONG_HA,
    SAI_GON,
    SESSION_TODAY,
    SYSTEM,
    People,
    Personas,
    commune,
    counts,
)
from tests.pages import html

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_pinned")]

TODAY = SESSION_TODAY
ADDRESS = "Phòng 302, số 8 ngõ Gạch"


def card_of(citizen: Citizen, **overrides: Any) -> dict[str, Any]:
    """The stay form as Bình fills it from the card, for a stay of a year from today."""
    birth = citizen.birth_date
    assert birth is not None
    return {
        "pin": citizen.pin,
        # Typed without tone marks, as a hurried officer does: the name is compared folded.
        "full_name": "tran minh tuan" if citizen.full_name == "Trần Minh Tuấn" else citizen.full_name,
        "birth_date": f"{birth.day:02d}/{birth.month:02d}/{birth.year}" if birth.day else str(birth.year),
        "address_detail": ADDRESS,
        "registered_on": TODAY.isoformat(),
        "expires_on": (TODAY + timedelta(days=365)).isoformat(),
        "reason": "Thuê nhà để làm việc",
        "source_document": "CT01 số 88/2025",
    } | overrides


def renew(
    client: Client,
    stay: Residence,
    expires_on: date,
    reason: str = "Gia hạn tạm trú",
    source_document: str = "CT01",
) -> Any:
    """`client` sends the stay's renewal form: the stay to run until `expires_on`."""
    return client.post(
        f"/citizens/{stay.citizen_id}/residences/{stay.pk}/renew/",
        {"expires_on": expires_on.isoformat(), "reason": reason, "source_document": source_document},
    )


def stay_of(citizen: Citizen, commune_code: str = HONG_HA, **kwargs: Any) -> Residence:
    """A stay registered by the system (as a legacy import would), in a commune of our choice."""
    return services.residence_register(
        actor=SYSTEM,
        citizen=citizen,
        kind="temporary",
        commune=commune(commune_code),
        address_detail=kwargs.pop("address_detail", ADDRESS),
        registered_on=kwargs.pop("registered_on", TODAY - timedelta(days=30)),
        expires_on=kwargs.pop("expires_on", TODAY + timedelta(days=300)),
        reason="Tạm trú",
        source_document="CT01",
        **kwargs,
    )


def client_of(user: Any, sign_in: Any) -> Client:
    return sign_in(Client(), user)


def token_client(user: Any) -> Client:
    _token, secret = api_token_create(user=user, name="máy trạm")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def rules(response: Any, status: int = 422) -> set[tuple[str, str]]:
    assert response.status_code == status, response.content[:800]
    return {(e["field"], e["code"]) for e in response.json()["errors"]}


# Registering a stay -----------------------------------------------------------------------------------------


def test_the_commune_stayed_at_registers_the_stay_and_sees_it_but_not_the_record(
    binh: Client, people: People, personas: Personas
) -> None:
    tuan = people.tuan
    menu = html(binh.get("/"))
    assert 'href="/stays/"' in menu
    assert 'href="/stays/new/"' in html(binh.get("/stays/"))

    response = binh.post("/stays/new/", card_of(tuan))

    assert response.status_code == 302, response.content.decode()[:2000]
    stay = Residence.objects.get(citizen=tuan, kind="temporary", ended_on__isnull=True)
    assert response["Location"] == f"/stays/{stay.pk}/"
    assert (stay.commune.code, stay.address_detail, stay.registered_on) == (HONG_HA, ADDRESS, TODAY)
    assert stay.expires_on == TODAY + timedelta(days=365)
    page = html(binh.get(response["Location"]))
    assert "Đã đăng ký tạm trú" in page
    assert tuan.pin in page
    assert "12 Lê Lợi" in page  # where he comes from
    assert f'href="/citizens/{tuan.pk}/residences/{stay.pk}/renew/"' in page
    assert 'id="full-record"' not in page
    # The record, its history and its other residences stay with Sài Gòn (the stay's own writes and the
    # absences are Hồng Hà's too: below).
    for path in (
        f"/citizens/{tuan.pk}/",
        f"/citizens/{tuan.pk}/history/",
        f"/citizens/{tuan.pk}/residences/new/",
    ):
        assert binh.get(path).status_code == 404, path
    assert 'id="no-results"' in html(binh.get("/search/", {"q": tuan.pin}))
    record = Citizen.objects.get(pk=tuan.pk)
    assert record.area_commune == commune(SAI_GON)
    assert record.residences.get(kind="permanent", ended_on__isnull=True).commune.code == SAI_GON
    # The audit trail and the card check.
    event = AuditEvent.objects.get(event_type=EventType.RESIDENCE_REGISTERED, data__residence_id=stay.pk)
    assert (event.actor, event.source_document, event.data["kind"]) == (
        personas.binh,
        "CT01 số 88/2025",
        "temporary",
    )
    (check,) = AccessLog.objects.filter(
        actor=personas.binh, citizen=tuan, action=AccessLog.Action.VERIFY, purpose=STAY_CHECK_PURPOSE
    )
    assert check.channel == AccessLog.Channel.WEB


@pytest.mark.parametrize(
    "typed",
    [{"full_name": "Trần Minh Tuân Anh"}, {"birth_date": "18/05/1990"}, {"pin": "079090999999"}],
    ids=["name", "birth", "pin"],
)
def test_a_card_that_does_not_match_gets_one_answer_and_writes_nothing(
    binh: Client, people: People, personas: Personas, typed: dict[str, str]
) -> None:
    before = counts()

    page = html(binh.post("/stays/new/", card_of(people.tuan, **typed)))

    assert "đối chiếu lại với thẻ căn cước" in page
    assert counts() == before
    assert not Residence.objects.filter(citizen=people.tuan, kind="temporary").exists()


def test_a_person_of_the_commune_is_registered_from_the_record(binh: Client, people: People) -> None:
    page = html(binh.post("/stays/new/", card_of(people.mai)))

    assert "đăng ký cư trú từ trang hồ sơ của công dân" in page
    assert f'href="/citizens/{people.mai.pk}/"' in page


def test_the_new_stay_ends_the_stay_elsewhere_and_keeps_the_rest(binh: Client, people: People) -> None:
    tuan = people.tuan
    old = stay_of(tuan, HOAN_KIEM, address_detail="Số 3 phố Hàng Bông")
    absence = services.absence_declare(
        actor=SYSTEM,
        citizen=tuan,
        starts_on=TODAY - timedelta(days=40),
        ends_on=TODAY + timedelta(days=200),
        destination="Hà Nội",
        reason="Đi làm",
    )

    assert binh.post("/stays/new/", card_of(tuan)).status_code == 302

    old.refresh_from_db()
    assert old.ended_on == TODAY
    current = Residence.objects.get(citizen=tuan, kind="temporary", ended_on__isnull=True)
    assert current.commune.code == HONG_HA
    # Staying elsewhere is what a person away declares: the absence from Sài Gòn goes on.
    absence = AbsenceDeclaration.objects.get(pk=absence.pk)
    assert (absence.returned_on, absence.ended_by_move) == (None, False)
    assert Citizen.objects.get(pk=tuan.pk).area_commune == commune(SAI_GON)


def test_the_same_stay_twice_is_refused(binh: Client, people: People) -> None:
    assert binh.post("/stays/new/", card_of(people.tuan)).status_code == 302
    before = counts()

    page = html(binh.post("/stays/new/", card_of(people.tuan)))

    assert "Công dân đang cư trú tại đúng địa chỉ này" in page
    assert counts() == before


def test_the_stays_rules_are_the_residences(people: People, personas: Personas) -> None:
    actor = Actor(personas.binh)
    base = card_of(people.tuan)
    too_long = base | {"expires_on": TODAY + timedelta(days=800)}
    with pytest.raises(DomainError) as caught:
        services.residence_stay_register(
            actor=actor,
            **{k: v for k, v in too_long.items() if k not in ("registered_on", "expires_on")},
            registered_on=TODAY,
            expires_on=too_long["expires_on"],
        )
    assert {(e.field, e.code) for e in caught.value.errors} == {("expires_on", "residence.expiry_range")}
    with pytest.raises(DomainError) as caught:
        services.residence_stay_register(
            actor=actor,
            **{k: v for k, v in base.items() if k not in ("registered_on", "expires_on", "address_detail")},
            address_detail="Số 1\x00",
            registered_on=TODAY,
            expires_on=TODAY + timedelta(days=30),
        )
    assert ("address_detail", "text.control_chars") in {(e.field, e.code) for e in caught.value.errors}
    assert not Residence.objects.filter(citizen=people.tuan, kind="temporary").exists()


@pytest.mark.parametrize("who", ["cuong", "hoa", "minh", "an"])
def test_only_the_police_of_a_commune_register_a_stay(people: People, personas: Personas, who: str) -> None:
    with pytest.raises(DomainError) as caught:
        services.residence_stay_register(
            actor=Actor(getattr(personas, who)),
            **{k: v for k, v in card_of(people.tuan).items() if k not in ("registered_on", "expires_on")},
            registered_on=TODAY,
            expires_on=TODAY + timedelta(days=30),
        )
    assert [(e.field, e.code) for e in caught.value.errors] == [("actor", "role.not_allowed")]


# Who sees the stay ------------------------------------------------------------------------------------------


def test_the_list_shows_the_areas_stays_expired_first(
    binh: Client, people: People, personas: Personas
) -> None:
    tuan_stay = stay_of(people.tuan)
    hung_stay = stay_of(
        people.hung,
        registered_on=TODAY - timedelta(days=400),
        expires_on=TODAY - timedelta(days=10),
        today=TODAY - timedelta(days=20),
    )
    elsewhere = stay_of(people.nga, HOAN_KIEM)

    page = html(binh.get("/stays/"))

    assert page.index(f'data-stay="{hung_stay.pk}"') < page.index(f'data-stay="{tuan_stay.pk}"')
    assert f'data-stay="{elsewhere.pk}"' not in page
    assert "đã hết hạn" in page
    expired = html(binh.get("/stays/", {"expired": "on"}))
    assert f'data-stay="{hung_stay.pk}"' in expired
    assert f'data-stay="{tuan_stay.pk}"' not in expired
    by_name = html(binh.get("/stays/", {"q": "tran minh"}))
    assert f'data-stay="{tuan_stay.pk}"' in by_name
    assert f'data-stay="{hung_stay.pk}"' not in by_name
    by_pin = html(binh.get("/stays/", {"q": people.hung.pin}))
    assert f'data-stay="{hung_stay.pk}"' in by_pin
    assert f'data-stay="{tuan_stay.pk}"' not in by_pin
    # Every person listed is logged as read, by Bình, in the area of their record.
    logged = AccessLog.objects.filter(actor=personas.binh, action=AccessLog.Action.SEARCH)
    assert {r.citizen_id for r in logged} == {people.tuan.pk, people.hung.pk}
    assert logged.filter(citizen=people.tuan).first().area_commune_id == commune(SAI_GON).pk


def test_an_ended_stay_leaves_the_list(binh: Client, people: People) -> None:
    stay = stay_of(people.tuan)

    response = binh.post(
        f"/citizens/{people.tuan.pk}/residences/{stay.pk}/end/",
        {"ended_on": TODAY.isoformat(), "reason": "Đã chuyển đi", "source_document": "Đơn"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/stays/"
    assert f'data-stay="{stay.pk}"' not in html(binh.get("/stays/"))
    assert binh.get(f"/stays/{stay.pk}/").status_code == 404
    stay.refresh_from_db()
    assert (stay.ended_on, stay.end_reason) == (TODAY, "Đã chuyển đi")


def test_the_stay_is_renewed_from_its_page(binh: Client, people: People, personas: Personas) -> None:
    stay = stay_of(people.tuan)
    new_end = TODAY + timedelta(days=600)

    form = html(binh.get(f"/citizens/{people.tuan.pk}/residences/{stay.pk}/renew/"))
    assert f'href="/stays/{stay.pk}/"' in form  # "Huỷ" goes back to the stay
    response = renew(binh, stay, new_end)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == f"/stays/{stay.pk}/"
    stay.refresh_from_db()
    assert stay.expires_on == new_end
    event = AuditEvent.objects.get(event_type=EventType.RESIDENCE_RENEWED)
    assert event.actor == personas.binh


def test_the_stay_of_a_person_who_died_is_not_renewed(binh: Client, people: People) -> None:
    stay = stay_of(people.tuan)
    services.citizen_update(
        actor=SYSTEM,
        citizen=people.tuan,
        changes={"date_of_death": (TODAY - timedelta(days=3)).isoformat()},
        reason="Khai tử",
        source_document="Trích lục khai tử",
    )

    page = html(renew(binh, stay, TODAY + timedelta(days=600)))

    assert "Công dân đã mất" in page
    stay.refresh_from_db()
    assert stay.expires_on == TODAY + timedelta(days=300)
    assert not AuditEvent.objects.filter(event_type=EventType.RESIDENCE_RENEWED).exists()


# Who sees the stay (listed, its page, its renewal) and who the whole record.
SEEN = {
    "binh": (True, False),
    "lan": (False, False),
    "cuong": (True, False),
    "dung": (False, True),
    "minh": (True, True),
    "hoa": (False, False),
}


@pytest.mark.parametrize("who", SEEN)
def test_who_sees_the_stay_and_the_record(people: People, personas: Personas, sign_in: Any, who: str) -> None:
    sees_stay, sees_record = SEEN[who]
    stay = stay_of(people.tuan)
    user = getattr(personas, who)
    client = client_of(user, sign_in)
    tuan = people.tuan

    listed = f'data-stay="{stay.pk}"' in html(client.get("/stays/"))
    page = client.get(f"/stays/{stay.pk}/")
    renew = client.get(f"/citizens/{tuan.pk}/residences/{stay.pk}/renew/")
    record = client.get(f"/citizens/{tuan.pk}/")
    api = token_client(user)
    api_listed = [r["id"] for r in api.get("/api/v1/stays").json()["results"]]
    api_record = api.get(f"/api/v1/citizens/{tuan.pin}")

    assert listed is sees_stay
    assert api_listed == ([stay.pk] if sees_stay else [])
    assert page.status_code == (200 if sees_stay else 404)
    assert renew.status_code == (200 if sees_stay or sees_record else 404)
    assert record.status_code == (200 if sees_record else 404)
    assert api_record.status_code == (200 if sees_record else 404)
    if sees_stay:
        # The link to the whole record is given to those who may read it.
        assert ('id="full-record"' in page.content.decode()) is sees_record


def test_the_auditor_reads_no_stay(people: People, personas: Personas, sign_in: Any) -> None:
    stay = stay_of(people.tuan)
    client = client_of(personas.an, sign_in)
    assert client.get("/stays/").status_code == 403
    assert client.get(f"/stays/{stay.pk}/").status_code == 403
    assert selectors.stays_list(actor=personas.an, purpose="x").results == []


def test_the_commune_of_the_record_cannot_renew_a_stay_elsewhere(
    people: People, personas: Personas, sign_in: Any
) -> None:
    """Dũng (TP Hồ Chí Minh) reads Tuấn's record, stay included, but the stay is Hồng Hà's to renew."""
    stay = stay_of(people.tuan)
    dung = client_of(personas.dung, sign_in)
    home = people.tuan.residences.get(kind="permanent")
    record = html(dung.get(f"/citizens/{people.tuan.pk}/"))
    # The record offers the actions on the residence of Sài Gòn, and none on the stay in Hồng Hà.
    assert f'href="/citizens/{people.tuan.pk}/residences/{home.pk}/end/"' in record
    assert f"/residences/{stay.pk}/" not in record
    assert f'data-elsewhere="{stay.pk}"' in record

    page = html(renew(dung, stay, TODAY + timedelta(days=500), reason="Gia hạn", source_document=""))

    assert "Nơi cư trú này nằm ngoài địa bàn quản lý của bạn" in page
    stay.refresh_from_db()
    assert stay.expires_on == TODAY + timedelta(days=300)


def test_a_residence_of_another_person_is_not_reached_through_a_stay(binh: Client, people: People) -> None:
    stay = stay_of(people.tuan)
    # The stay's id with another citizen's id, and another citizen's residence with the stay's citizen.
    assert binh.get(f"/citizens/{people.hung.pk}/residences/{stay.pk}/renew/").status_code == 404
    hung_home = people.hung.residences.get(kind="permanent")
    assert binh.get(f"/citizens/{people.tuan.pk}/residences/{hung_home.pk}/end/").status_code == 404


# Absences declared where the person stays -------------------------------------------------------------------


def absence_form(starts: int, ends: int, **overrides: Any) -> dict[str, Any]:
    """The absence form for a period from `starts` to `ends` days after today."""
    return {
        "starts_on": (TODAY + timedelta(days=starts)).isoformat(),
        "ends_on": (TODAY + timedelta(days=ends)).isoformat(),
        "destination": "Đà Lạt, Lâm Đồng",
        "reason": "Đi công tác",
        "source_document": "CT01 số 12",
    } | overrides


def trip(citizen: Citizen, starts: int, ends: int) -> AbsenceDeclaration:
    """An absence to Huế from `starts` to `ends` days after today, declared by the system."""
    return services.absence_declare(
        actor=SYSTEM,
        citizen=citizen,
        starts_on=TODAY + timedelta(days=starts),
        ends_on=TODAY + timedelta(days=ends),
        destination="Huế",
        reason="Thăm người thân",
    )


def test_the_commune_stayed_at_takes_the_absences_from_the_stays_page(
    binh: Client, people: People, personas: Personas
) -> None:
    """An absence is declared at the place of residence, a temporary one included (Luật Cư trú 2020, art.
    31): Bình declares, corrects and withdraws Tuấn's absence from his stay, records his return from
    another, and each page goes back to the stay, whose record Bình does not read."""
    stay = stay_of(people.tuan)
    tuan = people.tuan
    page = html(binh.get(f"/stays/{stay.pk}/"))
    assert "Không có khai báo tạm vắng chưa kết thúc" in page
    assert f'href="/citizens/{tuan.pk}/absences/new/"' in page
    assert f'href="/stays/{stay.pk}/"' in html(binh.get(f"/citizens/{tuan.pk}/absences/new/"))

    declared = binh.post(f"/citizens/{tuan.pk}/absences/new/", absence_form(10, 40))

    assert declared.status_code == 302, declared.content.decode()[:2000]
    assert declared["Location"] == f"/stays/{stay.pk}/"
    absence = AbsenceDeclaration.objects.get(citizen=tuan)
    event = AuditEvent.objects.get(event_type=EventType.ABSENCE_DECLARED)
    assert (event.actor, event.data["residence_ids"]) == (personas.binh, [stay.pk])
    page = html(binh.get(f"/stays/{stay.pk}/"))
    assert f'data-absence="{absence.pk}"' in page
    assert f'href="/citizens/{tuan.pk}/absences/{absence.pk}/withdraw/"' in page

    corrected = binh.post(
        f"/citizens/{tuan.pk}/absences/{absence.pk}/edit/",
        absence_form(
            10, 40, destination="Nha Trang, Khánh Hòa", absence_reason="Đi công tác", reason="Sai nơi đến"
        ),
    )
    assert corrected["Location"] == f"/stays/{stay.pk}/"
    absence.refresh_from_db()
    assert absence.destination == "Nha Trang, Khánh Hòa"
    withdrawn = binh.post(
        f"/citizens/{tuan.pk}/absences/{absence.pk}/withdraw/",
        {"reason": "Công dân không đi nữa", "source_document": ""},
    )
    assert withdrawn["Location"] == f"/stays/{stay.pk}/"
    absence.refresh_from_db()
    assert absence.withdrawn_on == TODAY

    away = binh.post(f"/citizens/{tuan.pk}/absences/new/", absence_form(0, 20))
    assert away.status_code == 302, away.content.decode()[:2000]
    current = AbsenceDeclaration.objects.get(citizen=tuan, withdrawn_on=None)
    # The list marks him away, which spares the door-to-door check a visit to an empty room.
    row = html(binh.get("/stays/")).split(f'data-stay="{stay.pk}"')[1].split("</tr>")[0]
    assert "đang tạm vắng" in row
    assert f'href="/citizens/{tuan.pk}/absences/{current.pk}/return/"' in html(binh.get(f"/stays/{stay.pk}/"))
    came_back = binh.post(
        f"/citizens/{tuan.pk}/absences/{current.pk}/return/",
        {"returned_on": TODAY.isoformat(), "reason": "Trở về nơi cư trú", "source_document": ""},
    )
    assert came_back["Location"] == f"/stays/{stay.pk}/"
    current.refresh_from_db()
    assert current.returned_on == TODAY
    # Declarations that are over stay on the record's page, not on the stay's.
    page = html(binh.get(f"/stays/{stay.pk}/"))
    assert "data-absence=" not in page
    assert binh.get(f"/citizens/{tuan.pk}/").status_code == 404


@pytest.mark.parametrize("who", SEEN)
def test_who_takes_an_absence_of_a_person_staying(
    people: People, personas: Personas, sign_in: Any, who: str
) -> None:
    """Those who reach the stay or the record reach the absence pages; the others get "not found", on the
    pages and in the API, and nothing is written."""
    sees_stay, sees_record = SEEN[who]
    stay_of(people.tuan)
    tuan = people.tuan
    absence = trip(tuan, 5, 9)
    user = getattr(personas, who)
    client = client_of(user, sign_in)
    reached = 200 if sees_stay or sees_record else 404

    assert client.get(f"/citizens/{tuan.pk}/absences/new/").status_code == reached
    assert client.get(f"/citizens/{tuan.pk}/absences/{absence.pk}/edit/").status_code == reached
    assert client.get(f"/citizens/{tuan.pk}/absences/{absence.pk}/withdraw/").status_code == reached
    before = AbsenceDeclaration.objects.count()
    declared = token_client(user).post(
        f"/api/v1/citizens/{tuan.pin}/absences",
        json.dumps(absence_form(20, 30) | {"source_document": ""}),
        content_type="application/json",
    )
    assert declared.status_code == (201 if sees_stay or sees_record else 404), declared.content
    assert AbsenceDeclaration.objects.count() == before + (declared.status_code == 201)


def test_the_api_takes_the_absences_of_a_person_staying(people: People, personas: Personas) -> None:
    stay_of(people.tuan)
    api = token_client(personas.binh)
    pin = people.tuan.pin

    declared = api.post(
        f"/api/v1/citizens/{pin}/absences", json.dumps(absence_form(3, 30)), content_type="application/json"
    )

    assert declared.status_code == 201, declared.content
    absence_id = declared.json()["id"]
    # The list of stays gives the declarations not yet over, with their ids, to a client that did not
    # make them (the record's API is not this commune's).
    [listed] = api.get("/api/v1/stays").json()["results"]
    assert [(a["id"], a["status"]) for a in listed["absences"]] == [(absence_id, "upcoming")]
    corrected = api.patch(
        f"/api/v1/citizens/{pin}/absences/{absence_id}",
        json.dumps({"ends_on": (TODAY + timedelta(days=45)).isoformat(), "reason": "Ở lâu hơn"}),
        content_type="application/json",
    )
    assert corrected.status_code == 200, corrected.content
    assert corrected.json()["ends_on"] == (TODAY + timedelta(days=45)).isoformat()
    withdrawn = api.post(
        f"/api/v1/citizens/{pin}/absences/{absence_id}/withdraw",
        json.dumps({"reason": "Không đi nữa"}),
        content_type="application/json",
    )
    assert withdrawn.status_code == 200, withdrawn.content
    assert AbsenceDeclaration.objects.get(pk=absence_id).withdrawn_on == TODAY
    assert api.get("/api/v1/stays").json()["results"][0]["absences"] == []
    # Another person's declaration is not reached through the stay's citizen.
    hung = trip(people.hung, 5, 9)
    other = api.post(
        f"/api/v1/citizens/{pin}/absences/{hung.pk}/withdraw",
        json.dumps({"reason": "Không đi nữa"}),
        content_type="application/json",
    )
    assert other.status_code == 404


# The API ----------------------------------------------------------------------------------------------------


def test_the_api_registers_lists_renews_and_ends_a_stay(people: People, personas: Personas) -> None:
    api = token_client(personas.binh)
    body = card_of(people.tuan)

    response = api.post("/api/v1/stays", json.dumps(body), content_type="application/json")

    assert response.status_code == 201, response.content
    stay = response.json()
    assert (stay["kind"], stay["commune_code"], stay["address_detail"]) == ("temporary", HONG_HA, ADDRESS)
    assert stay["citizen"]["pin"] == people.tuan.pin
    assert (stay["expired"], stay["permanent_commune_name"]) == (False, commune(SAI_GON).name)
    listed = api.get("/api/v1/stays", {"q": "Trần"}).json()
    assert [r["id"] for r in listed["results"]] == [stay["id"]]
    assert api.get("/api/v1/stays", {"expired": "true"}).json()["results"] == []

    renewed = api.post(
        f"/api/v1/citizens/{people.tuan.pin}/residences/{stay['id']}/renew",
        json.dumps({"expires_on": (TODAY + timedelta(days=700)).isoformat(), "reason": "Gia hạn"}),
        content_type="application/json",
    )
    assert renewed.status_code == 200, renewed.content
    assert renewed.json()["expires_on"] == (TODAY + timedelta(days=700)).isoformat()
    ended = api.post(
        f"/api/v1/citizens/{people.tuan.pin}/residences/{stay['id']}/end",
        json.dumps({"ended_on": TODAY.isoformat(), "reason": "Chuyển đi"}),
        content_type="application/json",
    )
    assert ended.status_code == 200, ended.content
    assert ended.json()["ended_on"] == TODAY.isoformat()
    assert api.get("/api/v1/stays").json()["results"] == []


def test_the_api_refuses_what_the_page_refuses(people: People, personas: Personas) -> None:
    api = token_client(personas.binh)
    stay = stay_of(people.tuan)

    wrong = api.post(
        "/api/v1/stays",
        json.dumps(card_of(people.hung, full_name="Nguyễn Văn Hưởng")),
        content_type="application/json",
    )
    assert rules(wrong) == {("pin", "arrival.not_found")}
    unreadable = api.post(
        "/api/v1/stays",
        json.dumps(card_of(people.tuan, birth_date="30/02/1990")),
        content_type="application/json",
    )
    assert rules(unreadable) == {("birth_date", "date.day_range")}
    hostile = api.get("/api/v1/stays", {"q": "Trần\x00"})
    assert rules(hostile) == {("q", "text.control_chars")}
    # Another commune's officer reaches no stay of Hồng Hà, whatever the path names.
    lan = token_client(personas.lan)
    renew = lan.post(
        f"/api/v1/citizens/{people.tuan.pin}/residences/{stay.pk}/renew",
        json.dumps({"expires_on": (TODAY + timedelta(days=500)).isoformat(), "reason": "Gia hạn"}),
        content_type="application/json",
    )
    assert renew.status_code == 404
    # Nor does Bình reach it under another person's PIN.
    other = api.post(
        f"/api/v1/citizens/{people.hung.pin}/residences/{stay.pk}/end",
        json.dumps({"ended_on": TODAY.isoformat(), "reason": "Chuyển đi"}),
        content_type="application/json",
    )
    assert other.status_code == 404
    stay.refresh_from_db()
    assert stay.ended_on is None


# The file ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", SEEN)
def test_the_file_holds_the_stays_of_the_area_and_each_is_logged(
    people: People, personas: Personas, sign_in: Any, who: str
) -> None:
    sees_stay, _sees_record = SEEN[who]
    stay_of(people.tuan)
    trip(people.tuan, 5, 9)
    user = getattr(personas, who)
    client = client_of(user, sign_in)

    rows = csv_rows(client.get("/stays/export.csv"))
    sheet = xlsx_sheets(client.get("/stays/export.xlsx"))["Người tạm trú"]

    assert rows[0][:3] == ["Số định danh", "Họ và tên", "Ngày sinh"]
    expected = [[people.tuan.pin, "Trần Minh Tuấn"]] if sees_stay else []
    assert [row[:2] for row in rows[1:]] == expected
    assert [list(row[:2]) for row in sheet[1:]] == expected
    if sees_stay:
        assert rows[1][4] == ADDRESS
        assert rows[1][9] == f"12 Lê Lợi, {commune(SAI_GON)}"
        # A person about to leave is marked with the days, for the door-to-door check.
        soon, until = TODAY + timedelta(days=5), TODAY + timedelta(days=9)
        assert rows[1][10] == f"sắp đi {soon:%d/%m/%Y} – {until:%d/%m/%Y}"
        assert sheet[1][10] == rows[1][10]
    exported = AccessLog.objects.filter(actor=user, action=AccessLog.Action.EXPORT)
    assert [r.citizen_id for r in exported] == ([people.tuan.pk] * 2 if sees_stay else [])


def test_the_file_keeps_the_lists_filter_and_refuses_a_hostile_one(binh: Client, people: People) -> None:
    stay_of(people.tuan)
    stay_of(
        people.hung,
        registered_on=TODAY - timedelta(days=400),
        expires_on=TODAY - timedelta(days=1),
        today=TODAY - timedelta(days=20),
    )

    trip(people.hung, -2, 20)

    expired = csv_rows(binh.get("/stays/export.csv", {"expired": "on"}))
    assert [row[0] for row in expired[1:]] == [people.hung.pin]
    assert expired[1][8] == "có"
    assert expired[1][10] == f"đang tạm vắng đến {TODAY + timedelta(days=20):%d/%m/%Y}"
    by_name = csv_rows(binh.get("/stays/export.csv", {"q": "tran minh"}))
    assert [row[0] for row in by_name[1:]] == [people.tuan.pin]

    logged = AccessLog.objects.filter(action=AccessLog.Action.EXPORT).count()
    refused = binh.get("/stays/export.csv", {"q": "Trần\x00"})
    assert refused.status_code == 400
    assert 'data-field="q"' in refused.content.decode()
    assert binh.get("/stays/export.pdf").status_code == 404
    assert AccessLog.objects.filter(action=AccessLog.Action.EXPORT).count() == logged
