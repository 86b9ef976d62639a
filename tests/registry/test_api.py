"""The officer API under /api/v1/: every endpoint, its happy path and the ways input goes wrong.

Whatever a client sends, the answer is JSON: 2xx with the resource, or 4xx with
`{"errors": [{"field", "code", "message_vi", "message_en"}]}`; never a 500, never a half-written record.
Lan (collector of Phường Hoàn Kiếm) calls the API with her bearer token.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog, AuditEvent
from dancu.lib import pin as pin_codec
from dancu.registry import services
from dancu.registry.models import (
    Citizen,
    RecordVersion,
    Residence,
)
from tests.conftest import (
    HOAN_KIEM,
    HONG_HA,
    SYSTEM,
    People,
    Personas,
    commune,
    counts,
    household_of,
    make_citizen,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(personas: Personas) -> Client:
    _token, secret = api_token_create(user=personas.lan, name="máy tính bảng tổ 3")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def send(client: Client, method: str, path: str, body: Any) -> Any:
    if method == "get":
        return client.get(path)
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return getattr(client, method)(path, payload, content_type="application/json")


def errors_of(response: Any, status: int) -> list[dict[str, str]]:
    """The refusal body; checks its shape: 4xx, JSON, each error complete in both languages."""
    assert response.status_code == status, response.content[:800]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"errors"}
    assert body["errors"]
    for error in body["errors"]:
        assert set(error) == {"field", "code", "message_vi", "message_en"}, error
        assert all(isinstance(value, str) for value in error.values()), error
        assert error["code"], error
        assert error["message_vi"], error
        assert error["message_en"], error
    return body["errors"]


def rules(response: Any, status: int = 422) -> set[tuple[str, str]]:
    return {(e["field"], e["code"]) for e in errors_of(response, status)}


def new_person(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "full_name": "hoàng thị thu",
        "birth_date": "12/08/1995",
        "sex": "F",
        "birth_registration_place": "001",
        "phone": "0987654321",
        "residence": {
            "kind": "permanent",
            "commune_code": HOAN_KIEM,
            "address_detail": "Số 20 phố Hàng Bạc",
            "registered_on": "2020-02-01",
        },
        "reason": "Thu thập thông tin dân cư",
        "source_document": "Phiếu DC01",
    }
    for key, value in overrides.items():
        if key.startswith("residence."):
            body["residence"][key.removeprefix("residence.")] = value
        else:
            body[key] = value
    return body


# Authentication and the contract ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/citizens?q=nguyen"),
        ("get", "/api/v1/citizens/001090123456"),
        ("get", "/api/v1/citizens/001090123456/history"),
        ("get", "/api/v1/citizens/001090123456/state?on=2024-01-01"),
        ("post", "/api/v1/citizens"),
        ("patch", "/api/v1/citizens/001090123456"),
        ("post", "/api/v1/citizens/001090123456/residences"),
        ("post", "/api/v1/citizens/001090123456/residences/1/end"),
        ("post", "/api/v1/citizens/001090123456/residences/1/renew"),
        ("post", "/api/v1/citizens/001090123456/absences"),
        ("post", "/api/v1/citizens/001090123456/absences/1/return"),
        ("patch", "/api/v1/citizens/001090123456/absences/1"),
        ("get", "/api/v1/households/1"),
        ("post", "/api/v1/households"),
        ("post", "/api/v1/households/1/members"),
        ("post", "/api/v1/households/1/head"),
        ("post", "/api/v1/households/1/split"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer ", "Bearer dcu_forged", "Basic bGFuOng=", "Token x"])
def test_every_endpoint_needs_an_officer_token(method: str, path: str, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = send(Client(headers=headers), method, path, {})

    assert rules(response, 401) == {("Authorization", "auth.required")}


def test_the_openapi_schema_lists_every_endpoint() -> None:
    response = Client().get("/api/v1/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths) >= {
        "/api/v1/citizens",
        "/api/v1/citizens/{pin}",
        "/api/v1/citizens/{pin}/history",
        "/api/v1/citizens/{pin}/state",
        "/api/v1/citizens/{pin}/residences",
        "/api/v1/citizens/{pin}/residences/{residence_id}/end",
        "/api/v1/citizens/{pin}/residences/{residence_id}/renew",
        "/api/v1/citizens/{pin}/absences",
        "/api/v1/citizens/{pin}/absences/{absence_id}",
        "/api/v1/citizens/{pin}/absences/{absence_id}/return",
        "/api/v1/households",
        "/api/v1/households/{household_id}",
        "/api/v1/households/{household_id}/members",
        "/api/v1/households/{household_id}/head",
        "/api/v1/households/{household_id}/split",
    }
    assert set(paths["/api/v1/citizens"]) == {"get", "post"}
    assert set(paths["/api/v1/citizens/{pin}"]) == {"get", "patch"}
    assert "bearer" in json.dumps(response.json()["components"]["securitySchemes"]).lower()


def test_the_api_documentation_page_renders() -> None:
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    assert b"openapi.json" in response.content


@pytest.mark.parametrize(
    "body", ["{not json", "{'full_name': 'x'}", b"\xff\xfe\x00", '{"full_name": "A"'], ids=str
)
def test_a_body_that_is_not_json_is_a_json_refusal(api: Client, people: People, body: Any) -> None:
    before = counts()

    response = send(api, "post", "/api/v1/citizens", body)

    assert rules(response, 400) == {("body", "request.http_400")}
    assert counts() == before


# GET /citizens --------------------------------------------------------------------------------------


def test_search_returns_summaries_in_the_area(api: Client, people: People) -> None:
    response = api.get("/api/v1/citizens", {"q": "NGUYỄN VĂN HÙNG"})

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "results": [
            {
                "id": people.hung.pk,
                "pin": people.hung.pin,
                "full_name": "Nguyễn Văn Hùng",
                "birth_date": "1990-05-17",
                "sex": "M",
                "commune_name": str(commune(HOAN_KIEM)),
                "deceased": False,
                "away": False,
            }
        ],
        "page": 1,
        "page_size": 20,
        "has_next": False,
    }
    assert AccessLog.objects.filter(citizen=people.hung, channel="api", action="search").count() == 1


def test_search_filters_and_pages(api: Client, people: People) -> None:
    for given in ("An", "Bình", "Chi"):
        make_citizen(full_name=f"Vũ Thị {given}", sex="F", birth_date="2001")

    first = api.get("/api/v1/citizens", {"birth": "2001", "page_size": 2}).json()
    second = api.get("/api/v1/citizens", {"birth": "2001", "page_size": 2, "page": 2}).json()
    by_address = api.get("/api/v1/citizens", {"address": "hang trong", "commune": HOAN_KIEM}).json()

    assert [r["full_name"] for r in first["results"]] == ["Vũ Thị An", "Vũ Thị Bình"]
    assert first["has_next"] is True
    assert [r["full_name"] for r in second["results"]] == ["Vũ Thị Chi"]
    assert second["has_next"] is False
    assert len(by_address["results"]) == 4


def test_a_name_typed_with_the_eth_is_stored_with_dj_and_found_by_every_spelling(
    api: Client, people: People
) -> None:
    # "Ð" (U+00D0) looks exactly like "Đ" (U+0110); text converted from old fonts and some keyboards give it.
    response = api.post(
        "/api/v1/citizens",
        json.dumps(new_person(full_name="\u00d0\u1eb7ng Th\u1ecb \u00d0\u00e0o")),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["full_name"] == "Đặng Thị Đào"
    for typed in ("dang thi dao", "Đặng Thị Đào", "\u00d0\u1eb7ng", "\u00f0\u00e0o"):
        found = api.get("/api/v1/citizens", {"q": typed}).json()["results"]
        assert [r["full_name"] for r in found] == ["Đặng Thị Đào"], typed


def test_a_name_with_any_apostrophe_is_stored_with_the_ascii_one_and_found_by_any(
    api: Client, people: People
) -> None:
    response = api.post(
        "/api/v1/citizens",
        json.dumps(new_person(full_name="H\u2019Hen Niê")),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["full_name"] == "H'Hen Niê"
    for typed in ("H'Hen", "H\u2019Hen", "h\u02bchen nie"):
        found = api.get("/api/v1/citizens", {"q": typed}).json()["results"]
        assert [r["full_name"] for r in found] == ["H'Hen Niê"], typed


def test_an_empty_search_finds_nothing(api: Client, people: People) -> None:
    response = api.get("/api/v1/citizens")

    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    ("params", "rule"),
    [
        ({"q": "n" * 101}, ("q", "search.too_long")),
        ({"q": "n" * 201}, ("q", "schema.string_too_long")),
        ({"q": "nguyen 3"}, ("q", "search.text")),
        ({"q": "nguyen\x00"}, ("q", "search.control_chars")),
        ({"address": "pho\u202ehue"}, ("q", "search.control_chars")),
        ({"commune": "\x00"}, ("q", "search.control_chars")),
        ({"birth": "1990/13/31"}, ("birth", "date.format")),
        ({"birth": "31/13/1990"}, ("birth", "date.month_range")),
        ({"birth": "31/02/1973"}, ("birth", "date.day_range")),
        ({"birth": "9999"}, ("birth", "date.future")),
        ({"page": "0"}, ("page", "schema.greater_than_equal")),
        ({"page": "abc"}, ("page", "schema.int_parsing")),
        ({"page_size": "101"}, ("page_size", "schema.less_than_equal")),
    ],
)
def test_search_refuses_bad_parameters(
    api: Client, people: People, params: dict[str, str], rule: tuple[str, str]
) -> None:
    assert rule in rules(api.get("/api/v1/citizens", params))


# GET /citizens/{pin}, /history, /state --------------------------------------------------------------


def test_a_record_shows_data_household_family_and_residences(api: Client, people: People) -> None:
    wife = make_citizen(full_name="Đỗ Thị Hạnh", sex="F", birth_date="1992")
    household = household_of(people.hung)
    services.family_link_add(
        actor=SYSTEM,
        citizen=people.hung,
        kind="spouse",
        relative=wife,
        reason="Kết hôn",
        source_document="GCN",
    )

    response = api.get(f"/api/v1/citizens/{people.hung.pin}")

    assert response.status_code == 200
    body = response.json()
    assert (body["pin"], body["full_name"], body["old_id_number"]) == (
        people.hung.pin,
        "Nguyễn Văn Hùng",
        "012345678",
    )
    assert body["household"] == {"id": household.pk, "number": household.number, "relation_to_head": "head"}
    assert body["family"] == [
        {"kind": "spouse", "relative_name": "Đỗ Thị Hạnh", "relative_pin": wife.pin, "relative_id": wife.pk}
    ]
    current = [r for r in body["residences"] if r["ended_on"] is None]
    assert [(r["kind"], r["commune_code"], r["household_id"]) for r in current] == [
        ("permanent", HOAN_KIEM, household.pk)
    ]
    assert len(body["residences"]) == 2
    assert body["pin_history"] == [people.hung.pin]
    assert body["version"] == Citizen.objects.get(pk=people.hung.pk).version
    assert AccessLog.objects.filter(citizen=people.hung, channel="api", action="view").exists()


@pytest.mark.parametrize(
    "pin", ["abc", "00109012345", "0010901234567", "001090999999", "%00", "%27%20OR%201"]
)
def test_an_unknown_or_malformed_pin_is_a_json_404(api: Client, people: People, pin: str) -> None:
    for suffix in ("", "/history", "/state?on=2024-01-01"):
        assert rules(api.get(f"/api/v1/citizens/{pin}{suffix}"), 404) == {("", "not_found")}


def test_the_history_lists_every_version_newest_first(api: Client, people: People) -> None:
    services.citizen_update(
        actor=SYSTEM,
        citizen=people.hung,
        changes={"phone": "0912345678"},
        reason="Bổ sung",
        source_document="DC02",
    )

    response = api.get(f"/api/v1/citizens/{people.hung.pin}/history")

    assert response.status_code == 200
    versions = response.json()
    assert [(v["version"], v["event_type"]) for v in versions] == [
        (3, "registry.citizen.updated"),
        (2, "registry.residence.registered"),
        (1, "registry.citizen.created"),
    ]
    assert versions[0]["snapshot"]["phone"] == "0912345678"
    assert versions[1]["snapshot"]["phone"] == ""
    assert versions[0]["reason"] == "Bổ sung"


def test_the_state_on_a_date(api: Client, people: People) -> None:
    RecordVersion.objects.filter(entity="citizen", entity_id=people.hung.pk).update(
        recorded_at="2020-01-10T03:00:00Z"
    )

    on = api.get(f"/api/v1/citizens/{people.hung.pin}/state", {"on": "2020-01-10"})
    before = api.get(f"/api/v1/citizens/{people.hung.pin}/state", {"on": "2020-01-09"})

    assert on.status_code == 200
    assert (on.json()["version"], on.json()["snapshot"]["full_name"]) == (2, "Nguyễn Văn Hùng")
    assert rules(before, 404) == {("on", "history.before_record")}


@pytest.mark.parametrize(
    ("on", "code"),
    [
        ("2023-02-30", "schema.date_from_datetime_parsing"),
        ("31/13/1990", "schema.date_from_datetime_parsing"),
        ("tomorrow", "schema.date_from_datetime_parsing"),
        (None, "schema.missing"),
    ],
)
def test_the_state_needs_a_real_date(api: Client, people: People, on: str | None, code: str) -> None:
    params = {"on": on} if on is not None else {}

    assert rules(api.get(f"/api/v1/citizens/{people.hung.pin}/state", params)) == {("on", code)}


# POST /citizens -------------------------------------------------------------------------------------


def test_a_citizen_is_created_with_an_allocated_pin(api: Client, personas: Personas) -> None:
    response = send(api, "post", "/api/v1/citizens", new_person())

    assert response.status_code == 201, response.content
    body = response.json()
    info = pin_codec.decode(body["pin"])
    assert (info.sex, info.birth_year, info.place_code) == ("F", 1995, "001")
    assert (body["full_name"], body["birth_date"], body["phone"]) == (
        "Hoàng Thị Thu",
        "1995-08-12",
        "0987654321",
    )
    assert [(r["kind"], r["commune_code"]) for r in body["residences"]] == [("permanent", HOAN_KIEM)]
    created = Citizen.objects.get(pin=body["pin"])
    assert created.area_commune == commune(HOAN_KIEM)
    event = AuditEvent.objects.get(event_type="registry.citizen.created", subject_id=str(created.pk))
    assert (event.actor, event.reason, event.source_document) == (
        personas.lan,
        "Thu thập thông tin dân cư",
        "Phiếu DC01",
    )


def test_a_citizen_is_created_at_a_temporary_residence(api: Client) -> None:
    body = new_person(
        **{
            "residence.kind": "temporary",
            "residence.registered_on": str(STAY_FROM),
            "residence.expires_on": str(STAY_UNTIL),
        }
    )

    response = send(api, "post", "/api/v1/citizens", body)

    assert response.status_code == 201, response.content
    [stay] = response.json()["residences"]
    assert (stay["kind"], stay["expires_on"]) == ("temporary", str(STAY_UNTIL))


def test_a_citizen_is_created_with_the_pin_of_the_source_and_a_partial_date(api: Client) -> None:
    pin = pin_codec.compose(place_code="046", sex="M", birth_year=1954, serial="000777")

    response = send(
        api,
        "post",
        "/api/v1/citizens",
        new_person(
            full_name="Lê Văn Tám", sex="M", birth_date="1954", birth_registration_place="046", pin=pin
        ),
    )

    assert response.status_code == 201, response.content
    assert (response.json()["pin"], response.json()["birth_date"]) == (pin, "1954")


def test_unknown_fields_are_refused_everywhere(api: Client, people: People) -> None:
    # Fields a client may not set (an id, a version, another citizen's id, an admin flag) were dropped in
    # silence, and so was a misspelt optional field: now each is refused by name and nothing is written.
    # The same requests without them do what they say, and no more.
    before = counts()
    unknown = {"is_admin": True, "version": 99, "area_commune": 1}
    patch = {"changes": {"phone": "0911111111"}, "reason": "Cập nhật"}
    residence = {
        "kind": "current",
        "commune_code": HOAN_KIEM,
        "address_detail": "Số 3 phố Hàng Gai",
        "registered_on": "2024-01-01",
        "reason": "Khai báo nơi ở hiện tại",
    }
    refused = [
        (send(api, "post", "/api/v1/citizens", new_person(**unknown)), set(unknown)),
        (
            send(api, "patch", f"/api/v1/citizens/{people.hung.pin}", patch | {"version": 1, "pin": "x"}),
            {"version", "pin"},
        ),
        (
            send(
                api,
                "post",
                f"/api/v1/citizens/{people.hung.pin}/residences",
                residence | {"ended_on": "2024-02-01", "citizen_id": people.mai.pk},
            ),
            {"ended_on", "citizen_id"},
        ),
        (
            send(
                api, "post", "/api/v1/households", household_body(people.hung.pin, number="X-1", members=[1])
            ),
            {"number", "members"},
        ),
    ]
    for response, fields in refused:
        assert rules(response) == {(field, "schema.unknown_field") for field in fields}
    assert counts() == before

    created = send(api, "post", "/api/v1/citizens", new_person())
    patched = send(api, "patch", f"/api/v1/citizens/{people.hung.pin}", patch)
    moved = send(api, "post", f"/api/v1/citizens/{people.hung.pin}/residences", residence)
    opened = send(api, "post", "/api/v1/households", household_body(people.hung.pin))

    assert created.status_code == 201, created.content
    assert created.json()["version"] == 2
    assert patched.status_code == 200, patched.content
    assert patched.json()["pin"] == people.hung.pin
    assert patched.json()["phone"] == "0911111111"
    assert moved.status_code == 201, moved.content
    assert moved.json()["ended_on"] is None
    assert Residence.objects.get(pk=moved.json()["id"]).citizen == people.hung
    assert opened.status_code == 201, opened.content
    assert opened.json()["number"] == f"{HOAN_KIEM}-00000001"
    assert [m["pin"] for m in opened.json()["members"]] == [people.hung.pin]


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"pin": "12345"}, ("pin", "pin.format")),
        ({"pin": "001095123456"}, ("pin", "pin.sex_mismatch")),
        ({"pin": "001196123456"}, ("pin", "pin.year_mismatch")),
        ({"pin": "079195123456"}, ("pin", "pin.place_mismatch")),
        ({"birth_date": "2023-02-30"}, ("birth_date", "date.day_range")),
        ({"birth_date": "31/13/1990"}, ("birth_date", "date.month_range")),
        ({"birth_date": "2300"}, ("birth_date", "date.future")),
        ({"birth_date": "1850"}, ("birth_date", "pin.birth_year_range")),
        ({"sex": "X"}, ("sex", "sex.invalid")),
        ({"birth_registration_place": "003"}, ("birth_registration_place", "place.unknown")),
        ({"old_id_number": "12345"}, ("old_id_number", "cmnd.format")),
        ({"old_id_number": "012345678"}, ("old_id_number", "cmnd.duplicate")),
        ({"email": "thu@"}, ("email", "email.format")),
        ({"ethnicity": "99"}, ("ethnicity", "ethnicity.unknown")),
        ({"reason": ""}, ("reason", "reason.required")),
        ({"residence.commune_code": "99999"}, ("residence.commune_code", "unit.unknown")),
        ({"residence.commune_code": "01"}, ("residence.commune_code", "unit.unknown")),
        ({"residence.commune_code": HONG_HA}, ("residence.commune_code", "unit.outside_jurisdiction")),
        ({"residence.kind": "holiday"}, ("residence.kind", "residence.kind_invalid")),
        ({"residence.kind": "temporary"}, ("residence.expires_on", "residence.expiry_required")),
        (
            {"residence.registered_on": "2023-02-30"},
            ("residence.registered_on", "schema.date_from_datetime_parsing"),
        ),
        ({"residence.registered_on": "2999-01-01"}, ("residence.registered_on", "date.future")),
        ({"residence.address_detail": ""}, ("residence.address_detail", "address.required")),
        ({"full_name": 5}, ("full_name", "schema.string_type")),
        ({"full_name": None}, ("full_name", "schema.string_type")),
        ({"sex": "MF"}, ("sex", "schema.string_too_long")),
        # Not an object: the residence is named (it named a field inside it, as if the text were an
        # object that lacked it, while bodies took unknown fields).
        ({"residence": "Hà Nội"}, ("residence", "schema.model_attributes_type")),
        ({"phone": 987654321}, ("phone", "schema.string_type")),
    ],
)
def test_bad_citizens_are_refused_and_nothing_is_written(
    api: Client, people: People, overrides: dict[str, Any], rule: tuple[str, str]
) -> None:
    before = counts()

    response = send(api, "post", "/api/v1/citizens", new_person(**overrides))

    assert rule in rules(response)
    assert counts() == before


def test_a_commune_outside_the_area_is_refused_naming_the_field_sent(api: Client, people: People) -> None:
    before = counts()
    residence = {
        "kind": "current",
        "commune_code": HONG_HA,
        "address_detail": "Số 3 ngõ Gạch",
        "registered_on": "2024-01-01",
        "reason": "Khai báo nơi ở hiện tại",
        "source_document": "CT01",
    }

    moved = send(api, "post", f"/api/v1/citizens/{people.hung.pin}/residences", residence)
    opened = send(api, "post", "/api/v1/households", household_body(people.hung.pin, commune_code=HONG_HA))

    assert rules(moved) == {("commune_code", "unit.outside_jurisdiction")}
    assert rules(opened) == {("commune_code", "unit.outside_jurisdiction")}
    assert counts() == before


@pytest.mark.parametrize(
    "missing", ["full_name", "birth_date", "sex", "birth_registration_place", "residence", "reason"]
)
def test_missing_required_fields_are_named(api: Client, missing: str) -> None:
    body = new_person()
    del body[missing]

    assert rules(send(api, "post", "/api/v1/citizens", body)) == {(missing, "schema.missing")}


@pytest.mark.parametrize("body", [[], None, "null", 5, '"text"'])
def test_a_body_that_is_not_an_object_is_refused(api: Client, body: Any) -> None:
    response = send(api, "post", "/api/v1/citizens", body)

    assert response.status_code in (400, 422)
    errors_of(response, response.status_code)


# PATCH /citizens/{pin} ------------------------------------------------------------------------------


def test_a_record_is_updated_and_the_diff_kept(api: Client, people: People) -> None:
    response = send(
        api,
        "patch",
        f"/api/v1/citizens/{people.hung.pin}",
        {"changes": {"marital_status": "married", "date_of_death": None}, "reason": "Kết hôn"},
    )

    assert response.status_code == 200, response.content
    assert (response.json()["marital_status"], response.json()["version"]) == ("married", 3)
    event = AuditEvent.objects.filter(subject_id=str(people.hung.pk)).latest("pk")
    assert event.data == {"changes": {"marital_status": {"old": "", "new": "married"}}}


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ({"changes": {"pin": "001090123456"}, "reason": "x"}, ("pin", "field.not_updatable")),
        ({"changes": {"sex": "F"}, "reason": "x"}, ("sex", "field.not_updatable")),
        ({"changes": {"nonsense": "x"}, "reason": "x"}, ("nonsense", "field.not_updatable")),
        # Found by the API fuzz: a blank name was refused naming no field at all.
        ({"changes": {"": "x"}, "reason": "x"}, ("changes", "field.not_updatable")),
        ({"changes": {" ": "x"}, "reason": "x"}, ("changes", "field.not_updatable")),
        ({"changes": {"x" * 10_000: "x"}, "reason": "x"}, ("x" * 100, "field.not_updatable")),
        ({"changes": {"date_of_death": "2023-02-30"}, "reason": "x"}, ("date_of_death", "date.day_range")),
        ({"changes": {"date_of_death": "1980"}, "reason": "x"}, ("date_of_death", "date.death_before_birth")),
        ({"changes": {"birth_date": "31/13/1990"}, "reason": "x"}, ("birth_date", "date.month_range")),
        ({"changes": {"birth_date": "1991"}, "reason": "x"}, ("pin", "pin.year_mismatch")),
        ({"changes": {"full_name": None}, "reason": "x"}, ("full_name", "name.required")),
        ({"changes": {"full_name": "Hùng 2"}, "reason": "x"}, ("full_name", "name.digits")),
        ({"changes": {"missing_declared_on": "soon"}, "reason": "x"}, ("missing_declared_on", "date.format")),
        ({"changes": {"phone": "0912"}, "reason": "x"}, ("phone", "phone.format")),
        ({"changes": {"phone": 912345678}, "reason": "x"}, ("changes.phone", "schema.string_type")),
        ({"changes": ["phone"], "reason": "x"}, ("changes", "schema.dict_type")),
        ({"changes": {"phone": "0912345678"}}, ("reason", "schema.missing")),
        ({"changes": {"phone": "0912345678"}, "reason": " "}, ("reason", "reason.required")),
        ({"reason": "x"}, ("changes", "schema.missing")),
    ],
)
def test_bad_updates_are_refused_and_nothing_is_written(
    api: Client, people: People, body: dict[str, Any], rule: tuple[str, str]
) -> None:
    before = counts()

    response = send(api, "patch", f"/api/v1/citizens/{people.hung.pin}", body)

    assert rule in rules(response)
    assert counts() == before


# POST /citizens/{pin}/residences --------------------------------------------------------------------


# A temporary stay that runs today: an expired one is refused at registration.
STAY_FROM = timezone.localdate() - timedelta(days=60)
STAY_UNTIL = STAY_FROM + timedelta(days=700)


def residence(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "temporary",
        "commune_code": HOAN_KIEM,
        "address_detail": "Phòng 3, số 8 phố Hàng Bè",
        "registered_on": str(STAY_FROM),
        "expires_on": str(STAY_UNTIL),
        "reason": "Đăng ký tạm trú",
        "source_document": "CT01",
    } | overrides


def test_a_residence_is_registered(api: Client, people: People) -> None:
    response = send(api, "post", f"/api/v1/citizens/{people.hung.pin}/residences", residence())

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["commune_code"], body["expires_on"], body["ended_on"]) == (
        "temporary",
        HOAN_KIEM,
        str(STAY_UNTIL),
        None,
    )
    assert body["province_name"] == commune(HOAN_KIEM).parent.name
    assert Residence.objects.get(pk=body["id"]).citizen == people.hung


def test_a_move_within_the_area_ends_the_previous_permanent_residence(api: Client, people: People) -> None:
    response = send(
        api,
        "post",
        f"/api/v1/citizens/{people.hung.pin}/residences",
        residence(kind="permanent", expires_on=None, registered_on="2024-05-01"),
    )

    assert response.status_code == 201, response.content
    assert people.hung.residences.get(ended_on__isnull=False).ended_on == date(2024, 5, 1)


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"kind": "holiday"}, ("kind", "residence.kind_invalid")),
        ({"commune_code": "00000"}, ("commune_code", "unit.unknown")),
        ({"commune_code": "\x00"}, ("commune_code", "unit.unknown")),
        ({"commune_code": "٠٠٠٧٠"}, ("commune_code", "unit.unknown")),
        ({"expires_on": str(STAY_FROM + timedelta(days=800))}, ("expires_on", "residence.expiry_range")),
        (
            {"registered_on": "2024-01-01", "expires_on": "2025-01-01"},
            ("expires_on", "residence.already_expired"),
        ),
        ({"expires_on": None}, ("expires_on", "residence.expiry_required")),
        ({"expires_on": "2023-02-30"}, ("expires_on", "schema.date_from_datetime_parsing")),
        ({"registered_on": "31/13/1990"}, ("registered_on", "schema.date_from_datetime_parsing")),
        ({"registered_on": 20240101}, ("registered_on", "schema.date_from_datetime_inexact")),
        (
            {"kind": "permanent", "expires_on": None, "registered_on": "2014-01-01"},
            ("registered_on", "residence.overlap"),
        ),
        ({"address_detail": "x" * 301}, ("address_detail", "text.too_long")),
        ({"reason": None}, ("reason", "schema.string_type")),
    ],
)
def test_bad_residences_are_refused_and_nothing_is_written(
    api: Client, people: People, overrides: dict[str, Any], rule: tuple[str, str]
) -> None:
    before = counts()

    response = send(api, "post", f"/api/v1/citizens/{people.hung.pin}/residences", residence(**overrides))

    assert rule in rules(response)
    assert counts() == before


def test_an_overlapping_temporary_residence_is_refused(api: Client, people: People) -> None:
    path = f"/api/v1/citizens/{people.hung.pin}/residences"
    assert send(api, "post", path, residence()).status_code == 201
    before = counts()

    response = send(api, "post", path, residence(registered_on=str(STAY_FROM + timedelta(days=10))))

    assert rules(response) == {("kind", "residence.overlap")}
    assert counts() == before


def test_a_temporary_residence_is_renewed_then_ended(api: Client, people: People) -> None:
    made = send(api, "post", f"/api/v1/citizens/{people.hung.pin}/residences", residence()).json()
    path = f"/api/v1/citizens/{people.hung.pin}/residences/{made['id']}"
    later = STAY_UNTIL + timedelta(days=365)

    renewed = send(api, "post", f"{path}/renew", {"expires_on": str(later), "reason": "Gia hạn tạm trú"})

    assert renewed.status_code == 200, renewed.content
    assert (renewed.json()["expires_on"], renewed.json()["ended_on"]) == (str(later), None)
    assert AuditEvent.objects.latest("pk").event_type == "registry.residence.renewed"

    today = timezone.localdate()
    ended = send(api, "post", f"{path}/end", {"ended_on": str(today), "reason": "Xoá đăng ký tạm trú"})

    assert ended.status_code == 200, ended.content
    assert ended.json()["ended_on"] == str(today)
    # The place is free for a new temporary residence.
    again = send(
        api, "post", f"/api/v1/citizens/{people.hung.pin}/residences", residence(registered_on=str(today))
    )
    assert again.status_code == 201, again.content


@pytest.mark.parametrize(
    ("action", "body", "status", "rule"),
    [
        ("renew", {"expires_on": str(STAY_UNTIL)}, 422, ("expires_on", "residence.renew_not_later")),
        (
            "renew",
            {"expires_on": str(STAY_UNTIL + timedelta(days=800))},
            422,
            ("expires_on", "residence.expiry_range"),
        ),
        ("renew", {"expires_on": "2027-02-30"}, 422, ("expires_on", "schema.date_from_datetime_parsing")),
        (
            "end",
            {"ended_on": str(STAY_FROM - timedelta(days=1))},
            422,
            ("ended_on", "residence.end_before_start"),
        ),
        ("end", {"ended_on": "2999-01-01"}, 422, ("ended_on", "date.future")),
        ("end", {"ended_on": str(STAY_FROM), "reason": ""}, 422, ("reason", "reason.required")),
    ],
)
def test_bad_renewals_and_ends_are_refused_and_nothing_is_written(
    api: Client, people: People, *, action: str, body: dict[str, Any], status: int, rule: tuple[str, str]
) -> None:
    made = send(api, "post", f"/api/v1/citizens/{people.hung.pin}/residences", residence()).json()
    before = counts()

    response = send(
        api,
        "post",
        f"/api/v1/citizens/{people.hung.pin}/residences/{made['id']}/{action}",
        {"reason": "Thay đổi cư trú"} | body,
    )

    assert rule in rules(response, status)
    assert counts() == before


def test_a_residence_of_another_citizen_is_not_found(api: Client, people: People) -> None:
    other = make_citizen(full_name="Đỗ Văn Long", birth_date="1988-02-03")
    theirs = other.residences.get().pk

    for action, body in (("end", {"ended_on": str(STAY_FROM)}), ("renew", {"expires_on": str(STAY_UNTIL)})):
        response = send(
            api,
            "post",
            f"/api/v1/citizens/{people.hung.pin}/residences/{theirs}/{action}",
            body | {"reason": "x"},
        )
        assert rules(response, 404) == {("", "not_found")}


# Households -----------------------------------------------------------------------------------------


def household_body(pin: str, **overrides: Any) -> dict[str, Any]:
    return {
        "head_pin": pin,
        "commune_code": HOAN_KIEM,
        "address_detail": "Số 1 phố Hàng Trống",
        "registered_on": "2016-01-01",
        "reason": "Lập hộ",
        "source_document": "CT01",
    } | overrides


def member_body(pin: str, **overrides: Any) -> dict[str, Any]:
    return {
        "pin": pin,
        "relation_to_head": "spouse",
        "joined_on": "2017-03-01",
        "reason": "Nhập hộ",
        "source_document": "CT01",
    } | overrides


def household_opened(api: Client, head_pin: str) -> int:
    """The id of the household `head_pin` opens through the API (Số 1 phố Hàng Trống, Hoàn Kiếm, 2016)."""
    return int(send(api, "post", "/api/v1/households", household_body(head_pin)).json()["id"])


def member_joined(api: Client, household_id: int, pin: str) -> Any:
    """`pin` joins the household as the head's spouse, through the API; the answer."""
    return send(api, "post", f"/api/v1/households/{household_id}/members", member_body(pin))


@pytest.fixture
def wife(people: People) -> Citizen:
    return make_citizen(full_name="Đỗ Thị Hạnh", sex="F", birth_date="1992")


def test_a_household_is_opened_read_and_joined(api: Client, people: People, wife: Citizen) -> None:
    opened = send(api, "post", "/api/v1/households", household_body(people.hung.pin))
    assert opened.status_code == 201, opened.content
    household_id = opened.json()["id"]

    joined = send(api, "post", f"/api/v1/households/{household_id}/members", member_body(wife.pin))
    read = api.get(f"/api/v1/households/{household_id}")

    assert joined.status_code == 201, joined.content
    assert read.status_code == 200
    body = read.json()
    assert body["number"] == f"{HOAN_KIEM}-00000001"
    assert [(m["pin"], m["relation_to_head"], m["joined_on"]) for m in body["members"]] == [
        (people.hung.pin, "head", "2016-01-01"),
        (wife.pin, "spouse", "2017-03-01"),
    ]
    assert joined.json() == body


@pytest.mark.parametrize(
    ("overrides", "status", "rule"),
    [
        ({"head_pin": "001090999999"}, 404, ("head_pin", "not_found")),
        ({"head_pin": "abc"}, 404, ("head_pin", "not_found")),
        ({"commune_code": "99999"}, 422, ("commune_code", "unit.unknown")),
        ({"registered_on": "2023-02-30"}, 422, ("registered_on", "schema.date_from_datetime_parsing")),
        ({"registered_on": "2010-01-01"}, 422, ("registered_on", "residence.overlap")),
        ({"address_detail": "Số 1\nphố Huế"}, 422, ("address_detail", "text.control_chars")),
        ({"reason": ""}, 422, ("reason", "reason.required")),
    ],
)
def test_bad_households_are_refused_and_nothing_is_written(
    api: Client, people: People, overrides: dict[str, Any], status: int, rule: tuple[str, str]
) -> None:
    before = counts()

    response = send(api, "post", "/api/v1/households", household_body(people.hung.pin, **overrides))

    assert rule in rules(response, status)
    assert counts() == before


def test_a_head_of_a_household_cannot_open_another(api: Client, people: People) -> None:
    assert send(api, "post", "/api/v1/households", household_body(people.hung.pin)).status_code == 201

    response = send(api, "post", "/api/v1/households", household_body(people.hung.pin))

    assert rules(response) == {("head_pin", "household.already_member")}


@pytest.mark.parametrize(
    ("overrides", "status", "rule"),
    [
        ({"relation_to_head": "head"}, 422, ("relation_to_head", "household.second_head")),
        ({"relation_to_head": "lodger"}, 422, ("relation_to_head", "relation.invalid")),
        ({"relation_to_head": None}, 422, ("relation_to_head", "schema.string_type")),
        ({"pin": "001090999999"}, 404, ("pin", "not_found")),
        ({"joined_on": "2010-01-01"}, 422, ("joined_on", "residence.overlap")),
        ({"joined_on": "1980-01-01"}, 422, ("joined_on", "residence.before_birth")),
        ({"joined_on": "2999-01-01"}, 422, ("joined_on", "date.future")),
        ({"joined_on": "2017-02-29"}, 422, ("joined_on", "schema.date_from_datetime_parsing")),
    ],
)
def test_bad_members_are_refused_and_nothing_is_written(
    api: Client,
    people: People,
    wife: Citizen,
    *,
    overrides: dict[str, Any],
    status: int,
    rule: tuple[str, str],
) -> None:
    household_id = household_opened(api, people.hung.pin)
    before = counts()

    response = send(
        api, "post", f"/api/v1/households/{household_id}/members", member_body(wife.pin) | overrides
    )

    assert rule in rules(response, status)
    assert counts() == before


def test_a_member_of_another_household_is_refused(api: Client, people: People, wife: Citizen) -> None:
    first = household_opened(api, people.hung.pin)
    second = household_opened(api, wife.pin)

    response = send(api, "post", f"/api/v1/households/{first}/members", member_body(wife.pin))

    assert rules(response) == {("pin", "household.already_member")}
    assert [m["pin"] for m in api.get(f"/api/v1/households/{second}").json()["members"]] == [wife.pin]


def change_head_body(pin: str, **overrides: Any) -> dict[str, Any]:
    return {
        "new_head_pin": pin,
        "previous_head_relation": "spouse",
        "changed_on": "2023-01-01",
        "reason": "Thay đổi chủ hộ",
        "source_document": "Đơn đề nghị",
    } | overrides


def test_the_head_of_a_household_changes_and_can_then_move(
    api: Client, people: People, wife: Citizen
) -> None:
    household_id = household_opened(api, people.hung.pin)
    member_joined(api, household_id, wife.pin)
    moving = residence(
        kind="permanent", expires_on=None, registered_on="2024-05-01", address_detail="Số 3 Hàng Bạc"
    )
    refused = send(api, "post", f"/api/v1/citizens/{people.hung.pin}/residences", moving)
    assert rules(refused) == {("household", "household.head_leaving")}

    changed = send(api, "post", f"/api/v1/households/{household_id}/head", change_head_body(wife.pin))

    assert changed.status_code == 200, changed.content
    assert [(m["pin"], m["relation_to_head"]) for m in changed.json()["members"]] == [
        (wife.pin, "head"),
        (people.hung.pin, "spouse"),
    ]
    assert AuditEvent.objects.latest("pk").event_type == "registry.household.head_changed"
    moved = send(api, "post", f"/api/v1/citizens/{people.hung.pin}/residences", moving)
    assert moved.status_code == 201, moved.content
    members = api.get(f"/api/v1/households/{household_id}").json()["members"]
    assert [(m["pin"], m["relation_to_head"]) for m in members] == [(wife.pin, "head")]


@pytest.mark.parametrize(
    ("overrides", "status", "rule"),
    [
        ({"new_head_pin": "001090999999"}, 404, ("new_head_pin", "not_found")),
        ({"previous_head_relation": "head"}, 422, ("previous_head_relation", "household.second_head")),
        ({"previous_head_relation": ""}, 422, ("previous_head_relation", "household.second_head")),
        ({"changed_on": "2999-01-01"}, 422, ("changed_on", "date.future")),
        ({"changed_on": "2023-02-30"}, 422, ("changed_on", "schema.date_from_datetime_parsing")),
        ({"reason": ""}, 422, ("reason", "reason.required")),
    ],
)
def test_bad_changes_of_head_are_refused_and_nothing_is_written(
    api: Client,
    people: People,
    wife: Citizen,
    *,
    overrides: dict[str, Any],
    status: int,
    rule: tuple[str, str],
) -> None:
    household_id = household_opened(api, people.hung.pin)
    member_joined(api, household_id, wife.pin)
    before = counts()

    response = send(
        api, "post", f"/api/v1/households/{household_id}/head", change_head_body(wife.pin) | overrides
    )

    assert rule in rules(response, status)
    assert counts() == before


def test_a_person_outside_the_household_cannot_become_its_head(
    api: Client, people: People, wife: Citizen
) -> None:
    household_id = household_opened(api, people.hung.pin)

    response = send(api, "post", f"/api/v1/households/{household_id}/head", change_head_body(wife.pin))

    assert rules(response) == {("new_head_pin", "household.not_member")}


def test_a_household_left_by_its_last_member_takes_a_head_before_anyone_else(
    api: Client, personas: Personas, people: People, wife: Citizen
) -> None:
    household_id = household_opened(api, people.hung.pin)
    moving = residence(
        kind="permanent", expires_on=None, registered_on="2024-05-01", address_detail="Số 3 Hàng Bạc"
    )
    assert send(api, "post", f"/api/v1/citizens/{people.hung.pin}/residences", moving).status_code == 201
    assert api.get(f"/api/v1/households/{household_id}").json()["members"] == []

    child = send(
        api,
        "post",
        f"/api/v1/households/{household_id}/members",
        member_body(wife.pin, relation_to_head="child", joined_on="2024-06-01"),
    )
    assert rules(child) == {("relation_to_head", "household.no_head")}
    head = send(
        api,
        "post",
        f"/api/v1/households/{household_id}/members",
        member_body(wife.pin, relation_to_head="head", joined_on="2024-06-01"),
    )

    assert head.status_code == 201, head.content
    assert [(m["pin"], m["relation_to_head"]) for m in head.json()["members"]] == [(wife.pin, "head")]


def test_a_dead_citizen_is_registered_nowhere_and_joins_no_household(
    api: Client, people: People, wife: Citizen
) -> None:
    household_id = household_opened(api, people.hung.pin)
    died = send(
        api,
        "patch",
        f"/api/v1/citizens/{wife.pin}",
        {"changes": {"date_of_death": "2024-10-03"}, "reason": "Khai tử"},
    )
    assert died.status_code == 200, died.content
    before = counts()

    stay = send(
        api,
        "post",
        f"/api/v1/citizens/{wife.pin}/residences",
        residence(),
    )
    joined = send(
        api,
        "post",
        f"/api/v1/households/{household_id}/members",
        member_body(wife.pin, joined_on="2024-12-01"),
    )

    assert ("citizen", "citizen.deceased") in rules(stay)
    assert ("pin", "citizen.deceased") in rules(joined)
    assert counts() == before


@pytest.mark.parametrize(("household_id", "status"), [("999999", 404), ("abc", 422), ("-1", 404)])
def test_an_unknown_household_is_a_json_refusal(api: Client, household_id: str, status: int) -> None:
    for response in (
        api.get(f"/api/v1/households/{household_id}"),
        send(api, "post", f"/api/v1/households/{household_id}/members", member_body("001090123456")),
    ):
        errors_of(response, status)


# The same person sent twice -------------------------------------------------------------------------------


def test_a_person_sent_twice_is_refused_the_second_time_until_the_officer_says_it_is_another(
    api: Client, personas: Personas
) -> None:
    # A client retrying after a timeout: the first request made the record, the second would make another
    # with a second PIN, which is never reused.
    first = send(api, "post", "/api/v1/citizens", new_person())
    assert first.status_code == 201
    before = counts()

    again = send(api, "post", "/api/v1/citizens", new_person())

    assert rules(again) == {("not_a_duplicate", "citizen.possible_duplicate")}
    assert counts() == before
    # The refusal told the officer that someone of this name and birth is registered: logged.
    created = Citizen.objects.get(pin=first.json()["pin"])
    logged = AccessLog.objects.get(citizen=created, action=AccessLog.Action.VERIFY)
    assert (logged.actor, logged.channel, logged.purpose) == (
        personas.lan,
        AccessLog.Channel.API,
        "Kiểm tra trùng lặp khi thu thập",
    )
    # Twins of the same name do exist: the officer who checked says so, and the record is made.
    confirmed = send(api, "post", "/api/v1/citizens", new_person(not_a_duplicate=True))
    assert confirmed.status_code == 201
    assert confirmed.json()["pin"] != first.json()["pin"]


def test_a_name_spelled_with_a_space_for_the_hyphen_is_the_same_person(api: Client) -> None:
    first = send(api, "post", "/api/v1/citizens", new_person(full_name="Y-Moan Ênuôl", sex="M"))
    assert first.status_code == 201, first.content

    again = send(api, "post", "/api/v1/citizens", new_person(full_name="Y Moan Ênuôl", sex="M"))

    assert rules(again) == {("not_a_duplicate", "citizen.possible_duplicate")}


def test_duplicate_checks_against_records_outside_the_area_are_rationed_per_day(
    api: Client, people: People, settings: Any
) -> None:
    """Adding people of the name and birth of someone outside the area, again and again, tells whether
    such a person exists: past the day's budget of comparisons with records outside the area, the new
    record is refused whole and the refusal gives no verdict, as a form's check is."""
    settings.DANCU_OUTSIDE_CHECKS_PER_RECORD = 1
    tuan = {"full_name": "Trần Minh Tuấn", "sex": "M", "birth_date": "1990-05-17"}

    first = send(api, "post", "/api/v1/citizens", new_person(**tuan))
    # The same values checked again are the same comparison: the verdict again, no new row.
    again = send(api, "post", "/api/v1/citizens", new_person(**tuan))
    # Another comparison with the same record (its PIN typed) is past the record's budget of one.
    by_pin = send(
        api,
        "post",
        "/api/v1/citizens",
        new_person(**tuan, birth_registration_place="079", pin=people.tuan.pin),
    )

    assert rules(first) == rules(again) == {("not_a_duplicate", "citizen.possible_duplicate")}
    assert rules(by_pin) == {("form", "check.record_limit")}
    assert "để trống số định danh người thân" not in by_pin.json()["errors"][0]["message_vi"]
    assert AccessLog.objects.filter(citizen=people.tuan).count() == 1


def test_a_pin_or_cmnd_of_a_record_outside_the_area_is_refused_and_the_lookup_logged(
    api: Client, people: People, personas: Personas
) -> None:
    # Tuấn lives in Sài Gòn, outside Lan's area: that his PIN and CMND are taken is a verdict about him.
    services.citizen_update(
        actor=SYSTEM,
        citizen=people.tuan,
        changes={"old_id_number": "079123456"},
        reason="x",
        source_document="y",
    )
    by_pin = send(
        api,
        "post",
        "/api/v1/citizens",
        new_person(
            full_name="Trần Minh Tuấn",
            sex="M",
            birth_date="1990-05-17",
            birth_registration_place="079",
            pin=people.tuan.pin,
        ),
    )
    by_cmnd = send(api, "post", "/api/v1/citizens", new_person(old_id_number="079123456"))
    patched = send(
        api,
        "patch",
        f"/api/v1/citizens/{people.hung.pin}",
        {"changes": {"old_id_number": "079123456"}, "reason": "Cập nhật"},
    )

    assert rules(by_pin) == {("pin", "pin.duplicate")}
    assert rules(by_cmnd) == {("old_id_number", "cmnd.duplicate")}
    assert rules(patched) == {("old_id_number", "cmnd.duplicate")}
    # A record outside the area is logged once per distinct comparison, as a form's checks are: the PIN
    # typed and the CMND typed are two, the CMND typed again on the correction adds nothing. Each row ends
    # with the keyed digest of the values compared, not the values.
    rows = AccessLog.objects.filter(citizen=people.tuan).order_by("pk")
    assert [(r.actor, r.action, r.purpose) for r in rows] == 2 * [
        (personas.lan, AccessLog.Action.VERIFY, "Kiểm tra trùng lặp khi thu thập")
    ]
    assert all(re.search(r" \[[0-9a-f]{12}\]$", r.detail) for r in rows)
    assert "079123456" not in "".join(r.detail for r in rows)
