"""Đăng ký thường trú cho người chuyển đến: a person of Phường Hoàn Kiếm moves to Phường Hồng Hà, and
Bình, collector of Hồng Hà, registers the move from the citizen's card, by the page and by the API.

Hùng (Hoàn Kiếm, born 17/05/1990) is invisible to Bình until the move and invisible to Lan (Hoàn Kiếm)
after it. A PIN, a name or a date of birth that does not match gets one and the same refusal, and writes
nothing but the access-log row of the record compared.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection.quality.models import QualityPass
from dancu.collection.quality.services import quality_pass_run
from dancu.registry import services
from dancu.registry.models import Citizen, Household, HouseholdMember, RecordVersion, Residence
from dancu.registry.selectors import ARRIVAL_CHECK_PURPOSE
from tests.collection.quality_support import QUALITY
from tests.conftest import (
    HONG_HA,
    SYSTEM,
    People,
    Personas,
    commune,
    counts,
    household_of,
    make_citizen,
    personas_create,
)
from tests.pages import field_errors, html
from tests.races import released_together

pytestmark = pytest.mark.django_db

MOVED_ON = date(2025, 8, 1)


@pytest.fixture
def wife(people: People) -> Citizen:
    """Hùng heads a household in Hoàn Kiếm with his wife Hạnh."""
    hanh = make_citizen(full_name="Đỗ Thị Hạnh", sex="F", birth_date="1992")
    household_of(people.hung, spouse=hanh)
    return Citizen.objects.get(pk=hanh.pk)


def card_of(citizen: Citizen, **overrides: Any) -> dict[str, Any]:
    """The arrival form as Bình fills it from the citizen's card: a new household at his new address."""
    birth = citizen.birth_date
    assert birth is not None
    return {
        "pin": citizen.pin,
        # Typed without tone marks, as a hurried officer does: the name is compared folded.
        "full_name": "nguyen van hung" if citizen.full_name == "Nguyễn Văn Hùng" else citizen.full_name,
        "birth_date": f"{birth.day:02d}/{birth.month:02d}/{birth.year}" if birth.day else str(birth.year),
        "registered_on": MOVED_ON.isoformat(),
        "household_number": "",
        "relation_to_head": "",
        "address_detail": "Số 15 phố Hàng Chiếu",
        "reason": "Chuyển đến từ phường Hoàn Kiếm",
        "source_document": "CT01 số 15/2025",
    } | overrides


def checks_of(user_id: int, citizen: Citizen) -> list[AccessLog]:
    return list(
        AccessLog.objects.filter(
            actor_id=user_id, citizen=citizen, action=AccessLog.Action.VERIFY, purpose=ARRIVAL_CHECK_PURPOSE
        )
    )


# The page ---------------------------------------------------------------------------------------------------


def test_the_commune_moved_to_registers_the_move_and_the_record_changes_hands(
    binh: Client, lan: Client, people: People, personas: Personas
) -> None:
    hung = people.hung
    assert binh.get(f"/citizens/{hung.pk}/").status_code == 404
    menu = html(binh.get("/"))
    assert 'href="/arrivals/new/"' in menu
    assert "Đăng ký người chuyển đến" in menu

    response = binh.post("/arrivals/new/", card_of(hung))

    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == f"/citizens/{hung.pk}/"
    record = html(binh.get(response["Location"]))
    assert "Đã đăng ký thường trú cho người chuyển đến" in record
    assert "Số 15 phố Hàng Chiếu" in record
    # Lan gets for the record she had the answer of a record that does not exist.
    assert lan.get(f"/citizens/{hung.pk}/").status_code == lan.get("/citizens/99999999/").status_code == 404
    assert 'id="no-results"' in html(lan.get("/search/", {"q": hung.pin}))
    # Bình's search by the full PIN opens the record now in his commune (review session 27: an exact
    # PIN that finds one record opens it rather than list it).
    found = binh.get("/search/", {"q": hung.pin})
    assert (found.status_code, found["Location"]) == (302, f"/citizens/{hung.pk}/")

    moved = Citizen.objects.get(pk=hung.pk)
    assert moved.area_commune == commune(HONG_HA)
    old, new = moved.residences.filter(kind="permanent").order_by("pk")
    assert (old.ended_on, old.end_reason) == (MOVED_ON, "Chuyển đến từ phường Hoàn Kiếm")
    assert (new.commune.code, new.registered_on, new.ended_on) == (HONG_HA, MOVED_ON, None)
    membership = moved.household_memberships.get(left_on__isnull=True)
    assert membership.relation_to_head == "head"
    assert membership.household.commune.code == HONG_HA
    assert new.household == membership.household
    # The history shows the move with its reason and document.
    history = html(binh.get(f"/citizens/{hung.pk}/history/"))
    assert "Chuyển đến từ phường Hoàn Kiếm" in history
    assert "CT01 số 15/2025" in history
    event = AuditEvent.objects.get(event_type=EventType.RESIDENCE_REGISTERED, data__residence_id=new.pk)
    assert event.actor == personas.binh
    assert (event.data["arrival"], event.data["household_left_headless"]) == (True, False)
    assert event.source_document == "CT01 số 15/2025"
    opened = AuditEvent.objects.filter(event_type=EventType.HOUSEHOLD_CREATED).latest("pk")
    assert opened.data["arrival"] is True
    # The card's record was compared, and that is in the log, now in the area of Hồng Hà's auditors.
    (check,) = checks_of(personas.binh.pk, hung)
    assert check.channel == AccessLog.Channel.WEB
    assert check.area_commune_id == commune(HONG_HA).pk


def test_the_move_is_one_version_of_the_record_showing_the_household_joined(
    binh: Client, people: People
) -> None:
    """The history of the record has one entry for the move, with the new residence and the household
    together: the arrival wrote a first version without any household and a second with it, as if the
    person had been without a household for a moment."""
    hung = people.hung
    before = RecordVersion.objects.filter(entity="citizen", entity_id=hung.pk).count()

    assert binh.post("/arrivals/new/", card_of(hung)).status_code == 302

    (version,) = RecordVersion.objects.filter(entity="citizen", entity_id=hung.pk).order_by("pk")[before:]
    membership = HouseholdMember.objects.get(citizen=hung, left_on__isnull=True)
    assert version.snapshot["household"]["household_id"] == membership.household_id
    assert version.event.event_type == EventType.RESIDENCE_REGISTERED


def test_the_person_joins_a_household_of_the_commune(binh: Client, people: People) -> None:
    mai_household = household_of(people.mai, commune_code=HONG_HA, address="Số 5 ngõ Gạch")

    response = binh.post(
        "/arrivals/new/",
        card_of(
            people.hung, household_number=mai_household.number, relation_to_head="other", address_detail=""
        ),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    members = html(binh.get(f"/households/{mai_household.pk}/"))
    assert people.hung.full_name in members
    assert people.mai.full_name in members
    joined = HouseholdMember.objects.get(citizen=people.hung, left_on__isnull=True)
    assert (joined.household, joined.relation_to_head, joined.joined_on) == (mai_household, "other", MOVED_ON)
    residence = Residence.objects.get(citizen=people.hung, kind="permanent", ended_on__isnull=True)
    assert (residence.address_detail, residence.household) == ("Số 5 ngõ Gạch", mai_household)


@pytest.mark.parametrize(
    "typed",
    [
        {"full_name": "Nguyễn Văn Hòa"},
        {"birth_date": "18/05/1990"},
        {"birth_date": "1990"},
        {"pin": "001090999999"},
    ],
    ids=["another-name", "another-day", "year-only", "unknown-pin"],
)
def test_a_card_that_does_not_match_gets_the_one_answer_and_nothing_is_written(
    binh: Client, people: People, personas: Personas, typed: dict[str, str]
) -> None:
    before = counts()

    page = html(binh.post("/arrivals/new/", card_of(people.hung, **typed)))

    errors = field_errors(page, "pin")
    assert "Không có công dân với số định danh, họ tên và ngày sinh này" in errors
    assert "[arrival.not_found]" in errors
    # Nothing else is said, of the record or of which value differs.
    assert page.count("[arrival.not_found]") == 1
    assert people.hung.full_name not in page
    assert "Hàng Trống" not in page
    assert counts() == before
    assert Citizen.objects.get(pk=people.hung.pk).area_commune.code != HONG_HA
    # A record that was compared is logged as checked; a PIN nobody holds names nobody.
    assert len(checks_of(personas.binh.pk, people.hung)) == (0 if "pin" in typed else 1)


def test_a_merged_away_pin_leads_to_the_kept_record(binh: Client, people: People) -> None:
    again = make_citizen(full_name="Nguyen Van Hung", address="Số 3 phố Hàng Gai")
    keep, absorb, _rule = services.merge_pin_rule(people.hung, again)
    services.citizen_merge(
        actor=SYSTEM,
        keep=keep,
        absorb=absorb,
        reason="Hai hồ sơ của một người",
        source_document="Biên bản xác minh",
        choices={"permanent": "keep"},
    )

    response = binh.post("/arrivals/new/", card_of(absorb, full_name="Nguyễn Văn Hùng"))

    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == f"/citizens/{keep.pk}/"
    assert Citizen.objects.get(pk=keep.pk).area_commune == commune(HONG_HA)


def test_a_head_moving_away_leaves_the_old_household_headless_for_the_old_commune_to_settle(
    binh: Client, lan: Client, people: People, wife: Citizen, personas: Personas
) -> None:
    old = Household.objects.get(memberships__citizen=people.hung)

    response = binh.post("/arrivals/new/", card_of(people.hung))

    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(old.memberships.filter(left_on__isnull=True).values_list("citizen", "relation_to_head")) == [
        (wife.pk, "spouse")
    ]
    event = AuditEvent.objects.filter(event_type=EventType.RESIDENCE_REGISTERED).latest("pk")
    assert (event.data["left_household_id"], event.data["household_left_headless"]) == (old.pk, True)
    # Lan sees the household without its head, and the quality page names the rule for the wife.
    page = html(lan.get(f"/households/{old.pk}/"))
    assert 'id="household-state"' in page
    assert "Hộ chưa có chủ hộ" in page
    assert people.hung.full_name not in page
    assert f'href="/households/{old.pk}/head/"' in page
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL, today=timezone.localdate())
    scorecard = html(lan.get("/quality/"))
    assert f'href="/citizens/{wife.pk}/"' in scorecard
    assert "[household.no_head]" in scorecard
    # She chooses the wife as the new head there.
    chosen = lan.post(
        f"/households/{old.pk}/head/",
        {
            "new_head": wife.pin,
            "changed_on": MOVED_ON.isoformat(),
            "reason": "Chủ hộ cũ chuyển đi",
            "source_document": "Đơn đề nghị",
        },
    )
    assert chosen.status_code == 302, chosen.content.decode()[:2000]
    assert old.memberships.get(left_on__isnull=True).relation_to_head == "head"


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"registered_on": "2014-12-31"}, "registered_on", "residence.overlap"),
        ({"registered_on": "2999-01-01"}, "registered_on", "date.future"),
        ({"address_detail": ""}, "address_detail", "address.required"),
        (
            {"household_number": "00097-99999999", "relation_to_head": "child"},
            "household_number",
            "household.unknown",
        ),
        (
            {"relation_to_head": "child", "address_detail": "Số 1"},
            "household_number",
            "household.number_required",
        ),
        ({"pin": "00109012345"}, "pin", "pin.format"),
        ({"birth_date": "31/02/1990"}, "birth_date", "date.day_range"),
        ({"full_name": "Nguyễn Văn 3"}, "full_name", "name.digits"),
    ],
)
def test_a_refusal_names_the_field_and_writes_nothing(
    binh: Client, people: People, overrides: dict[str, str], field: str, code: str
) -> None:
    before = counts()

    page = html(binh.post("/arrivals/new/", card_of(people.hung, **overrides)))

    assert f"[{code}]" in field_errors(page, field), page[:3000]
    assert counts() == before


def test_a_household_of_another_commune_is_unknown(binh: Client, people: People, wife: Citizen) -> None:
    hoan_kiem = Household.objects.get(memberships__citizen=wife)

    page = html(
        binh.post(
            "/arrivals/new/",
            card_of(
                people.hung, household_number=hoan_kiem.number, relation_to_head="child", address_detail=""
            ),
        )
    )

    assert "[household.unknown]" in field_errors(page, "household_number")


@pytest.mark.parametrize(
    ("relation", "head_left", "code"),
    [("head", False, "household.second_head"), ("child", True, "household.no_head")],
)
def test_joining_a_household_keeps_it_to_one_head_taken_first(
    binh: Client, people: People, relation: str, head_left: bool, code: str
) -> None:
    """Mai heads a household of Hồng Hà: Hùng cannot join it as a second head; and once she has left
    it, he cannot join it as anyone's child before it has a head again."""
    household = household_of(people.mai, commune_code=HONG_HA, address="Số 5 ngõ Gạch")
    if head_left:
        services.residence_end(
            actor=SYSTEM,
            residence=people.mai.residences.get(household=household),
            ended_on=date(2025, 1, 1),
            reason="Xoá đăng ký thường trú",
            source_document="CT01",
        )
    before = counts()

    page = html(
        binh.post(
            "/arrivals/new/",
            card_of(
                people.hung, household_number=household.number, relation_to_head=relation, address_detail=""
            ),
        )
    )

    assert f"[{code}]" in field_errors(page, "relation_to_head"), page[:3000]
    # Only the check of the card against the record is logged; the move is not written.
    assert counts() == before
    assert Citizen.objects.get(pk=people.hung.pk).area_commune == commune("00070")


def test_a_deceased_person_is_refused(binh: Client, people: People) -> None:
    services.citizen_update(
        actor=SYSTEM,
        citizen=people.hung,
        changes={"date_of_death": "2025-01-02"},
        reason="Khai tử",
        source_document="Trích lục khai tử",
    )
    before = counts()

    page = html(binh.post("/arrivals/new/", card_of(people.hung)))

    assert "[citizen.deceased]" in field_errors(page, "pin")
    assert counts() == before


def test_a_person_of_the_commune_already_is_pointed_to_the_record(lan: Client, people: People) -> None:
    before = counts()

    page = html(lan.post("/arrivals/new/", card_of(people.hung)))

    assert "[arrival.in_area]" in field_errors(page, "pin")
    assert f'href="/citizens/{people.hung.pk}/"' in page.split('id="in-area"')[1]
    assert counts() == before


@pytest.mark.parametrize("who", ["hoa", "an", "cuong"])
def test_officers_not_of_a_2025_commune_have_no_arrival_page(
    personas: Personas, people: People, sign_in: Any, who: str
) -> None:
    client = sign_in(Client(), getattr(personas, who))

    assert client.get("/arrivals/new/").status_code == 403
    assert client.post("/arrivals/new/", card_of(people.hung)).status_code == 403
    assert "/arrivals/new/" not in client.get("/").content.decode()


@pytest.mark.parametrize(
    "hostile",
    [
        {"pin": "001090\x00123456"},
        {"full_name": "Nguyễn\x00 Văn Hùng"},
        {"full_name": "Nguyễn Văn Hùng\u202e"},
        {"birth_date": "17/05/1990\x00"},
        {"household_number": "00097-\x00", "relation_to_head": "child", "address_detail": ""},
        {"address_detail": "Số 15\x00 phố Hàng Chiếu"},
        {"address_detail": "x" * 400},
        {"reason": "Chuyển đến\x00"},
        {"relation_to_head": "<script>", "household_number": "1"},
        {"registered_on": "not a date"},
    ],
    ids=str,
)
def test_hostile_input_is_refused_on_the_page(binh: Client, people: People, hostile: dict[str, str]) -> None:
    before = counts()

    response = binh.post("/arrivals/new/", card_of(people.hung, **hostile))

    assert response.status_code == 200
    assert 'class="errorlist"' in response.content.decode()
    assert counts() == before


def test_the_page_speaks_english(binh: Client, people: People) -> None:
    binh.post("/i18n/setlang/", {"language": "en", "next": "/arrivals/new/"})

    page = html(binh.post("/arrivals/new/", card_of(people.hung, full_name="Nguyễn Văn Hòa")))

    assert "Permanent residence for a person moving in" in page
    assert "Register a person moving in" in page
    assert "No citizen has this PIN, full name and date of birth" in field_errors(page, "pin")


# The API ----------------------------------------------------------------------------------------------------


def token_client(user: Any) -> Client:
    _token, secret = api_token_create(user=user, name="máy trạm")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def post(client: Client, body: Any) -> Any:
    return client.post("/api/v1/arrivals", json.dumps(body), content_type="application/json")


def rules(response: Any, status: int = 422) -> set[tuple[str, str]]:
    assert response.status_code == status, response.content[:800]
    errors = response.json()["errors"]
    for e in errors:
        assert set(e) == {"field", "code", "message_vi", "message_en"}
        assert all(e.values())
    return {(e["field"], e["code"]) for e in errors}


def test_the_api_registers_the_move_and_answers_the_record(people: People, personas: Personas) -> None:
    api = token_client(personas.binh)
    assert api.get(f"/api/v1/citizens/{people.hung.pin}").status_code == 404

    response = post(api, card_of(people.hung))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["pin"], body["commune_name"]) == (people.hung.pin, str(commune(HONG_HA)))
    assert body["household"]["relation_to_head"] == "head"
    assert token_client(personas.lan).get(f"/api/v1/citizens/{people.hung.pin}").status_code == 404
    (check,) = checks_of(personas.binh.pk, people.hung)
    assert check.channel == AccessLog.Channel.API


@pytest.mark.parametrize(
    "typed",
    [{"full_name": "Nguyễn Văn Hòa"}, {"birth_date": "1990-05-18"}, {"pin": "001090999999"}],
    ids=["another-name", "another-day", "unknown-pin"],
)
def test_the_api_gives_the_one_answer_to_a_card_that_does_not_match(
    people: People, personas: Personas, typed: dict[str, str]
) -> None:
    api = token_client(personas.binh)
    before = counts()

    response = post(api, card_of(people.hung, **typed))

    assert rules(response) == {("pin", "arrival.not_found")}
    assert counts() == before


def test_the_api_refuses_an_officer_of_no_2025_commune_and_the_auditor(
    people: People, personas: Personas
) -> None:
    hoa, cuong, an = (token_client(user) for user in (personas.hoa, personas.cuong, personas.an))
    before = counts()

    assert rules(post(hoa, card_of(people.hung))) == {("actor", "role.not_allowed")}
    assert rules(post(cuong, card_of(people.hung))) == {("actor", "role.not_allowed")}
    assert rules(post(an, card_of(people.hung)), 401) == {("Authorization", "auth.required")}
    assert counts() == before
    assert not checks_of(personas.hoa.pk, people.hung)


@pytest.mark.parametrize(
    "hostile",
    [
        {"pin": "001090\u0000123456"},
        {"pin": "٠٠١٠٩٠١٢٣٤٥٦"},
        {"full_name": "Nguyễn\u0000Văn Hùng"},
        {"birth_date": "\u0000"},
        {"household_number": "\u0000", "relation_to_head": "child", "address_detail": ""},
        {"address_detail": "Số 15\u2028phố"},
        {"reason": "x" * 2000},
        {"registered_on": "2025-02-30"},
        {"pin": 1},
        {"full_name": ["Nguyễn Văn Hùng"]},
    ],
    ids=str,
)
def test_the_api_refuses_hostile_input_naming_the_field(
    people: People, personas: Personas, hostile: dict[str, Any]
) -> None:
    api = token_client(personas.binh)
    before = counts()

    response = post(api, card_of(people.hung, **hostile))

    assert response.status_code == 422, response.content
    field = next(iter(hostile))
    assert field in {e["field"].split(".")[-1] for e in response.json()["errors"]}, response.content
    assert counts() == before


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"reason": ""}, ("reason", "reason.required")),
        ({"full_name": ""}, ("full_name", "name.required")),
        ({"birth_date": ""}, ("birth_date", "date.required")),
        ({"household_number": "00097-00000001", "relation_to_head": "child"}, None),
        (
            {"household_number": "00097-99999999", "address_detail": ""},
            ("relation_to_head", "field.required"),
        ),
    ],
)
def test_the_api_names_the_field_of_each_refusal(
    people: People, personas: Personas, overrides: dict[str, str], rule: tuple[str, str] | None
) -> None:
    api = token_client(personas.binh)
    before = counts()

    response = post(api, card_of(people.hung, **overrides))

    # A household number with an address too asks which of the two was meant.
    assert (rule or ("address_detail", "arrival.household_or_address")) in rules(response)
    assert counts() == before


@pytest.mark.parametrize(
    ("birth_date", "rule"),
    [("31/02/1990", "date.day_range"), ("17/13/1990", "date.month_range"), ("17-05-90x", "date.format")],
)
def test_a_date_of_birth_that_cannot_be_read_names_its_rule_and_only_it(
    people: People, personas: Personas, birth_date: str, rule: str
) -> None:
    """A date not in the calendar is not also reported missing: the page said both "no such day" and
    "the date of birth is required" under the field."""
    response = post(token_client(personas.binh), card_of(people.hung, birth_date=birth_date))

    assert [e for e in rules(response) if e[0] == "birth_date"] == [("birth_date", rule)]


def test_the_api_documents_the_endpoint() -> None:
    operation = Client().get("/api/v1/openapi.json").json()["paths"]["/api/v1/arrivals"]["post"]

    assert "arrival.not_found" in operation["description"]
    assert "ArrivalIn" in json.dumps(operation["requestBody"])


def test_the_registration_date_may_be_today_but_not_tomorrow(people: People, personas: Personas) -> None:
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = post(token_client(personas.binh), card_of(people.hung, registered_on=tomorrow.isoformat()))

    assert rules(response) == {("registered_on", "date.future")}


def test_an_absence_from_the_old_commune_ends_with_the_arrival(
    people: People, personas: Personas, sign_in: Any
) -> None:
    """Hùng declared in Hoàn Kiếm that he would be away working in Hồng Hà; he then moves there. The
    absence was from the residence the move ends: it ends on the day of the registration, where it went on
    showing him away from the commune he now lives in, and only Hồng Hà, which never took it, could close
    it. A stay declared elsewhere with a temporary residence kept there is that commune's to close."""
    hung, today = people.hung, timezone.localdate()
    away = services.absence_declare(
        actor=SYSTEM,
        citizen=hung,
        starts_on=today - timedelta(days=20),
        ends_on=today + timedelta(days=90),
        destination="Phường Hồng Hà",
        reason="Đi làm việc",
    )
    api = token_client(personas.binh)

    response = post(api, card_of(hung, registered_on=today.isoformat()))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["away"] is False
    assert [(a["id"], a["returned_on"], a["ended_by_move"], a["current"]) for a in body["absences"]] == [
        (away.pk, today.isoformat(), True, False)
    ]
    # He did not come back: the record page says the move ended it, in Bình's commune now.
    page = html(sign_in(Client(), personas.binh).get(f"/citizens/{hung.pk}/"))
    assert f"kết thúc do chuyển nơi thường trú {today:%d/%m/%Y}" in page
    assert "đã trở về" not in page
    event = AuditEvent.objects.filter(event_type=EventType.RESIDENCE_REGISTERED).latest("pk")
    assert event.data["absences_ended"] == [away.pk]
    # Each version the arrival writes shows him no longer away.
    versions = RecordVersion.objects.filter(entity="citizen", entity_id=hung.pk, event__pk__gte=event.pk)
    assert versions.exists()
    assert all("absences" not in v.snapshot for v in versions)


def test_an_arrival_at_the_place_of_the_temporary_residence_ends_it(
    people: People, personas: Personas
) -> None:
    """Hùng has lived in Hồng Hà on a temporary residence, then settles there at the same address: the
    permanent registration deletes the temporary one (Luật Cư trú 2020, art. 29), which would otherwise
    count him twice in Hồng Hà until it ran out."""
    hung = people.hung
    stay = services.residence_register(
        actor=SYSTEM,
        citizen=hung,
        kind="temporary",
        commune=commune(HONG_HA),
        address_detail="Số 15 phố Hàng Chiếu",
        registered_on=date(2025, 1, 10),
        expires_on=date(2026, 12, 31),
        reason="Đăng ký tạm trú",
        source_document="CT01",
        today=date(2025, 1, 10),
    )

    response = post(token_client(personas.binh), card_of(hung))

    assert response.status_code == 201, response.content
    stay.refresh_from_db()
    assert stay.ended_on == MOVED_ON
    current = Residence.objects.filter(citizen=hung, ended_on__isnull=True)
    assert [(r.kind, r.commune.code, r.address_detail) for r in current] == [
        ("permanent", HONG_HA, "Số 15 phố Hàng Chiếu")
    ]


def test_a_refused_date_tells_nothing_of_the_record_left(people: People, personas: Personas) -> None:
    """Whoever has a card's PIN, name and date of birth (a photocopy suffices) could otherwise ask the
    arrival for an early date and read in the refusal the day the person registered their residence in the
    commune they live in, or joined its household: data of a record outside the officer's area. The
    refusal names the rule; the person at the desk knows their own dates."""
    hung = people.hung
    home = Residence.objects.get(citizen=hung, kind="permanent", ended_on__isnull=True)
    api = token_client(personas.binh)

    response = post(api, card_of(hung, registered_on="2010-01-01"))

    assert rules(response) == {("registered_on", "residence.overlap")}
    for e in response.json()["errors"]:
        for shown in (f"{home.registered_on:%d/%m/%Y}", home.registered_on.isoformat(), "2015"):
            assert shown not in e["message_vi"] + e["message_en"]


def test_a_date_before_joining_the_household_left_tells_nothing_either(
    people: People, personas: Personas, wife: Citizen
) -> None:
    """Hạnh split off Hùng's household on 01/03/2024, keeping her residence of 2015: a move dated between
    the two is refused by its rule, without the day of the split."""
    household = Household.objects.get(memberships__citizen=wife, memberships__left_on__isnull=True)
    services.household_split(
        actor=SYSTEM,
        household=household,
        members=[services.SplitMember(citizen=wife)],
        new_head=wife,
        split_on=date(2024, 3, 1),
        reason="Tách hộ",
        source_document="CT01",
    )
    api = token_client(personas.binh)  # a token's creation is an audit event
    before = counts()

    response = post(api, card_of(wife, registered_on="2020-01-01"))

    assert rules(response) == {("registered_on", "residence.before_household")}
    for e in response.json()["errors"]:
        assert "2024" not in e["message_vi"] + e["message_en"]
    assert counts() == before


def test_the_pass_of_changed_records_flags_the_household_left_headless(
    binh: Client, lan: Client, people: People, wife: Citizen
) -> None:
    """The quality pass of the records changed since the last one (every 15 minutes) assesses the members
    of a household an event is about. The arrival's events are about Hùng and the household he joins, not
    about the one he leaves headless: its members are assessed again all the same, so that the old commune
    learns it within the quarter hour, and not at the next nightly pass over every record."""
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL, today=timezone.localdate())
    assert "[household.no_head]" not in html(lan.get("/quality/"))

    assert binh.post("/arrivals/new/", card_of(people.hung)).status_code == 302
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.CHANGED, today=timezone.localdate())

    scorecard = html(lan.get("/quality/"))
    assert f'href="/citizens/{wife.pk}/"' in scorecard
    assert "[household.no_head]" in scorecard


def test_two_people_crossing_between_two_households_are_both_registered(transactional_db: None) -> None:
    """Quân of Hoàn Kiếm joins his sister's household in Hồng Hà while Thảo of Hồng Hà joins her aunt's
    in Hoàn Kiếm, each registered by the commune moved to at the same moment. Each arrival changes both
    households, the one left and the one joined: taken in opposite orders, their locks met in a deadlock
    that PostgreSQL ended by failing one of the two with a server error. Both are registered."""
    officers = personas_create()
    aunt = make_citizen(full_name="Lê Thị Hoa", sex="F", birth_date="1960")
    quan = make_citizen(full_name="Trần Minh Quân", birth_date="1995-03-02")
    sister = make_citizen(full_name="Trần Thị Lụa", sex="F", birth_date="1988", commune_code=HONG_HA)
    thao = make_citizen(full_name="Phạm Thu Thảo", sex="F", birth_date="2000-11-20", commune_code=HONG_HA)
    in_hoan_kiem = household_of(aunt)
    in_hong_ha = household_of(sister, commune_code=HONG_HA, address="Số 3 phố Hàng Chiếu")
    for household, member in ((in_hoan_kiem, quan), (in_hong_ha, thao)):
        services.household_add_member(
            actor=SYSTEM,
            household=household,
            citizen=member,
            relation_to_head="other",
            joined_on=date(2017, 1, 1),
            reason="Nhập hộ",
            source_document="CT01",
        )

    def arrival(officer: Any, person: Citizen, birth_date: str, household: Household) -> Any:
        return lambda: services.residence_arrival_register(
            actor=Actor(officer),
            pin=person.pin,
            full_name=person.full_name,
            birth_date=birth_date,
            registered_on=MOVED_ON,
            household_number=household.number,
            relation_to_head="other",
            reason="Chuyển đến",
            source_document="CT01",
        )

    def hold_both_households() -> None:
        list(Household.objects.select_for_update().filter(pk__in=[in_hoan_kiem.pk, in_hong_ha.pk]))

    outcomes = released_together(
        hold_both_households,
        arrival(officers.binh, quan, "02/03/1995", in_hong_ha),
        arrival(officers.lan, thao, "20/11/2000", in_hoan_kiem),
    )

    assert [type(o) for o in outcomes] == [Citizen, Citizen], outcomes
    current = HouseholdMember.objects.filter(left_on__isnull=True)
    assert current.get(citizen=quan).household_id == in_hong_ha.pk
    assert current.get(citizen=thao).household_id == in_hoan_kiem.pk
    assert set(current.filter(household=in_hoan_kiem).values_list("citizen", flat=True)) == {aunt.pk, thao.pk}
    assert set(current.filter(household=in_hong_ha).values_list("citizen", flat=True)) == {sister.pk, quan.pk}
