"""The form endpoints of /api/v1/: the whole way of a form, and every way a call is refused.

Refusals are `{"errors": [{"field", "code", "message_vi", "message_en"}]}`: 422 for a broken rule or a
step not allowed, 404 for a form or record outside the caller's area (the same as one that does not
exist), 401 without a token.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.collection.models import CollectionForm
from dancu.registry.models import Citizen, RecordVersion
from tests.collection.forms_support import Reviewers, dc01_data, merge_into_duplicate
from tests.conftest import HOAN_KIEM, HONG_HA, People, Personas, make_citizen

pytestmark = pytest.mark.django_db


def api(user: User) -> Client:
    _token, secret = api_token_create(user=user, name="máy tính bảng")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def call(client: Client, method: str, path: str, body: Any = None) -> Any:
    if method == "get":
        return client.get(path)
    payload = body if isinstance(body, str | bytes) else json.dumps(body if body is not None else {})
    return getattr(client, method)(path, payload, content_type="application/json")


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.content[:800]
    return response.json()


def errors_of(response: Any, status: int) -> list[str]:
    """The codes of a refusal; checks its shape: JSON, each error complete in both languages."""
    assert response.status_code == status, response.content[:800]
    body = response.json()
    assert set(body) == {"errors"}
    for error in body["errors"]:
        assert set(error) == {"field", "code", "message_vi", "message_en"}
        assert error["code"]
        assert error["message_vi"]
        assert error["message_en"]
    return [error["code"] for error in body["errors"]]


def new_dc01(client: Client, **changes: str) -> dict[str, Any]:
    body = {"kind": "DC01", "data": dc01_data(**changes), "document": "Giấy khai sinh số 12/1992"}
    return ok(call(client, "post", "/api/v1/forms", body), 201)


def test_a_dc01_goes_all_the_way_through_the_api(personas: Personas, staff: Reviewers) -> None:
    lan, hang, cuong = api(personas.lan), api(staff.hang), api(personas.cuong)
    form = new_dc01(lan, birth_date="1992")
    assert (form["kind"], form["status"], form["label"]) == ("DC01", "draft", f"DC01 #{form['id']}")
    assert (form["commune_code"], form["created_by"], form["errors"]) == ("00070", "lan", [])
    assert [w["code"] for w in form["warnings"]] == ["date.partial"]
    assert form["allowed_actions"] == ["edit", "submit"]
    path = f"/api/v1/forms/{form['id']}"

    assert ok(call(lan, "post", f"{path}/submit"))["status"] == "submitted"
    queue = ok(call(hang, "get", "/api/v1/forms"))
    assert (queue["statuses"], queue["counts"], queue["total"]) == (
        ["submitted", "draft", "returned"],
        {"submitted": 1},
        1,
    )
    assert queue["results"][0]["id"] == form["id"]
    assert queue["results"][0]["full_name"] == "Đỗ Minh Khang"
    assert queue["results"][0]["waiting_seconds"] >= 0

    assert errors_of(call(hang, "post", f"{path}/check", {}), 422) == ["warning.unacknowledged"]
    checked = ok(call(hang, "post", f"{path}/check", {"acknowledged_warnings": ["date.partial"]}))
    assert (checked["status"], checked["checked_by"], checked["acknowledged_warnings"]) == (
        "checked",
        "hang",
        ["date.partial"],
    )
    assert ok(call(cuong, "post", f"{path}/recheck", {}))["rechecked_by"] == "cuong"
    applied = ok(call(cuong, "post", f"{path}/apply"))
    assert (applied["status"], applied["applied_by"]) == ("applied", "cuong")
    citizen = Citizen.objects.get(pin=applied["citizen_pin"])
    assert citizen.full_name == "Đỗ Minh Khang"
    assert RecordVersion.objects.filter(entity_id=citizen.pk, source_document=f"DC01 #{form['id']}").exists()

    again = ok(call(lan, "get", path))
    assert (again["status"], again["allowed_actions"]) == ("applied", [])
    assert errors_of(call(cuong, "post", f"{path}/apply"), 422) == ["form.applied"]


def test_a_dc02_through_the_api(personas: Personas, people: People, staff: Reviewers) -> None:
    lan = api(personas.lan)
    body = {
        "kind": "DC02",
        "citizen_pin": people.hung.pin,
        "data": {"changes": {"phone": "0987654321"}},
        "document": "Đơn đề nghị ngày 01/09/2025",
        "reason": "Đổi số điện thoại",
    }
    form = ok(call(lan, "post", "/api/v1/forms", body), 201)
    assert (form["citizen_pin"], form["data"]) == (people.hung.pin, {"changes": {"phone": "0987654321"}})
    # Bình's PIN of another commune, or a PIN nobody has: the same answer.
    outside = call(lan, "post", "/api/v1/forms", {**body, "citizen_pin": people.mai.pin})
    missing = call(lan, "post", "/api/v1/forms", {**body, "citizen_pin": "001099999999"})
    assert errors_of(outside, 404) == errors_of(missing, 404) == ["not_found"]
    # No number, or one of the wrong shape, is the body's mistake, named by its field.
    for pin, code in (("", "citizen.required"), ("  ", "citizen.required"), ("abc", "pin.format")):
        refused = call(lan, "post", "/api/v1/forms", {**body, "citizen_pin": pin})
        assert errors_of(refused, 422) == [code]
        assert refused.json()["errors"][0]["field"] == "citizen_pin"
    assert CollectionForm.objects.count() == 1

    path = f"/api/v1/forms/{form['id']}"
    ok(call(lan, "post", f"{path}/submit"))
    ok(call(api(staff.hang), "post", f"{path}/check", {}))
    cuong = api(personas.cuong)
    ok(call(cuong, "post", f"{path}/recheck", {}))
    ok(call(cuong, "post", f"{path}/apply"))
    people.hung.refresh_from_db()
    assert people.hung.phone == "0987654321"


def test_a_draft_is_updated_returned_and_resubmitted(personas: Personas, staff: Reviewers) -> None:
    lan, hang = api(personas.lan), api(staff.hang)
    form = new_dc01(lan, phone="12")
    assert [e["code"] for e in form["errors"]] == ["phone.format"]
    path = f"/api/v1/forms/{form['id']}"
    assert errors_of(call(lan, "post", f"{path}/submit"), 422) == ["phone.format"]

    fixed = ok(call(lan, "put", path, {"data": dc01_data(), "document": "Giấy khai sinh"}))
    assert (fixed["errors"], fixed["document"]) == ([], "Giấy khai sinh")
    ok(call(lan, "post", f"{path}/submit"))
    assert errors_of(call(hang, "post", f"{path}/return", {"reason": ""}), 422) == ["reason.required"]
    returned = ok(call(hang, "post", f"{path}/return", {"reason": "Ảnh giấy khai sinh bị mờ"}))
    assert (returned["status"], returned["returned_by"], returned["returned_from"]) == (
        "returned",
        "hang",
        "submitted",
    )
    assert returned["return_reason"] == "Ảnh giấy khai sinh bị mờ"
    assert ok(call(lan, "get", "/api/v1/forms"))["results"][0]["id"] == form["id"]
    assert ok(call(lan, "post", f"{path}/submit"))["status"] == "submitted"


def test_refusals_by_role_and_by_authorship(personas: Personas, staff: Reviewers) -> None:
    lan, hang, cuong = api(personas.lan), api(staff.hang), api(personas.cuong)
    body = {"kind": "DC01", "data": dc01_data()}
    assert errors_of(call(cuong, "post", "/api/v1/forms", body), 422) == ["role.not_allowed"]
    own = ok(call(hang, "post", "/api/v1/forms", body), 201)
    ok(call(hang, "post", f"/api/v1/forms/{own['id']}/submit"))
    assert errors_of(call(hang, "post", f"/api/v1/forms/{own['id']}/check", {}), 422) == ["form.own"]

    form = new_dc01(lan)
    path = f"/api/v1/forms/{form['id']}"
    assert errors_of(call(hang, "put", path, {"data": dc01_data()}), 422) == ["form.not_author"]
    assert errors_of(call(hang, "post", f"{path}/check", {}), 422) == ["form.status"]
    ok(call(lan, "post", f"{path}/submit"))
    assert errors_of(call(lan, "post", f"{path}/check", {}), 422) == ["role.not_allowed"]
    assert errors_of(call(cuong, "post", f"{path}/recheck", {}), 422) == ["form.status"]
    assert errors_of(call(cuong, "post", f"{path}/apply"), 422) == ["form.status"]


def test_forms_of_another_area_look_missing(personas: Personas, staff: Reviewers) -> None:
    form = new_dc01(api(personas.lan))
    for user in (personas.binh, staff.khoa, personas.dung):
        client = api(user)
        for method, suffix, body in (
            ("get", "", None),
            ("put", "", {"data": dc01_data()}),
            ("post", "/submit", None),
            ("post", "/check", {}),
            ("post", "/recheck", {}),
            ("post", "/return", {"reason": "x"}),
            ("post", "/apply", None),
        ):
            response = call(client, method, f"/api/v1/forms/{form['id']}{suffix}", body)
            assert errors_of(response, 404) == ["not_found"], (user, method, suffix)
    assert errors_of(call(api(personas.lan), "get", "/api/v1/forms/999999"), 404) == ["not_found"]


def test_bad_input_is_refused_by_name(personas: Personas, people: People) -> None:
    lan = api(personas.lan)
    assert errors_of(call(lan, "post", "/api/v1/forms", {"kind": "DC03", "data": {}}), 422) == [
        "form.kind_invalid"
    ]
    assert errors_of(call(lan, "post", "/api/v1/forms", {"kind": "DC01", "data": {"x": "1"}}), 422) == [
        "form.unknown_field"
    ]
    assert errors_of(
        call(lan, "post", "/api/v1/forms", {"kind": "DC01", "data": dc01_data(commune_code=HONG_HA)}), 422
    ) == ["unit.outside_jurisdiction"]
    for value in ({"a": 1}, True, 1e30, 70):
        bad_value = {"kind": "DC01", "data": {**dc01_data(), "full_name": value}}
        assert errors_of(call(lan, "post", "/api/v1/forms", bad_value), 422) == ["form.value_type"]
    numeric_change = {
        "kind": "DC02",
        "citizen_pin": people.hung.pin,
        "data": {"changes": {"phone": 912345678}},
    }
    assert errors_of(call(lan, "post", "/api/v1/forms", numeric_change), 422) == ["form.value_type"]
    assert errors_of(call(lan, "post", "/api/v1/forms", {"data": {}}), 422) == ["schema.missing"]
    assert errors_of(call(lan, "post", "/api/v1/forms", "{not json"), 400) == ["request.http_400"]
    nul = {"kind": "DC01", "data": dc01_data(household_number="00070-\x00", relation_to_head="child")}
    assert errors_of(call(lan, "post", "/api/v1/forms", nul), 422) == ["text.control_chars"]
    control = {"kind": "DC01", "data": dc01_data(household_number="00070-\x01", relation_to_head="child")}
    created = ok(call(lan, "post", "/api/v1/forms", control), 201)
    assert "text.control_chars" in [e["code"] for e in created["errors"]]
    assert errors_of(call(lan, "get", "/api/v1/forms?limit=0"), 422) == ["schema.greater_than_equal"]
    # A lone surrogate, which JSON can escape: stored, it broke every page that showed the draft.
    surrogate = '{"kind": "DC01", "data": {"full_name": "L\\ud800", "commune_code": "' + HOAN_KIEM + '"}}'
    assert errors_of(call(lan, "post", "/api/v1/forms", surrogate), 422) == ["text.invalid_chars"]
    assert CollectionForm.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "DC01", "data": {**dc01_data(), "": "x"}}, "data"),
        ({"kind": "DC01", "data": {**dc01_data(), "  ": "x"}}, "data"),
        ({"kind": "DC02", "citizen_pin": "", "data": {"changes": {"": "x"}}}, "changes"),
    ],
)
def test_a_blank_field_name_is_refused_naming_where_it_is(
    personas: Personas, people: People, body: dict[str, Any], field: str
) -> None:
    # Found by the API fuzz: the refusal named the blank key itself, an empty field.
    if body["kind"] == "DC02":
        body["citizen_pin"] = people.hung.pin
    response = call(api(personas.lan), "post", "/api/v1/forms", body)

    assert errors_of(response, 422) == ["form.unknown_field"]
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert CollectionForm.objects.count() == 0


def test_an_apply_refused_by_the_registry_is_reported_and_kept(personas: Personas, staff: Reviewers) -> None:
    lan, hang, cuong = api(personas.lan), api(staff.hang), api(personas.cuong)
    form = new_dc01(lan, old_id_number="111222333")
    path = f"/api/v1/forms/{form['id']}"
    ok(call(lan, "post", f"{path}/submit"))
    ok(call(hang, "post", f"{path}/check", {}))
    ok(call(cuong, "post", f"{path}/recheck", {}))
    make_citizen(full_name="Người Khác", old_id_number="111222333")
    assert errors_of(call(cuong, "post", f"{path}/apply"), 422) == ["cmnd.duplicate"]
    kept = ok(call(cuong, "get", path))
    assert (kept["status"], [e["code"] for e in kept["apply_errors"]]) == ("rechecked", ["cmnd.duplicate"])
    assert not Citizen.objects.filter(full_name="Đỗ Minh Khang").exists()


def test_the_api_needs_an_officer_token(personas: Personas) -> None:
    assert errors_of(Client().get("/api/v1/forms"), 401) == ["auth.required"]
    assert errors_of(call(api(personas.an), "get", "/api/v1/forms"), 401) == ["auth.required"]


def test_a_dc02_of_a_record_merged_since_is_refused_with_the_record_to_use(
    personas: Personas, people: People, staff: Reviewers
) -> None:
    lan, cuong = api(personas.lan), api(personas.cuong)
    body = {
        "kind": "DC02",
        "citizen_pin": people.hung.pin,
        "data": {"changes": {"phone": "0987654321"}},
        "document": "Đơn đề nghị ngày 01/09/2025",
        "reason": "Đổi số điện thoại",
    }
    path = f"/api/v1/forms/{ok(call(lan, 'post', '/api/v1/forms', body), 201)['id']}"
    ok(call(lan, "post", f"{path}/submit"))
    ok(call(api(staff.hang), "post", f"{path}/check", {}))
    ok(call(cuong, "post", f"{path}/recheck", {}))
    kept = merge_into_duplicate(people.hung)

    response = call(cuong, "post", f"{path}/apply")
    assert errors_of(response, 422) == ["citizen.merged"]
    assert kept.pin in response.json()["errors"][0]["message_en"]
    form = ok(call(cuong, "get", path))
    assert (form["status"], [e["code"] for e in form["apply_errors"]]) == ("rechecked", ["citizen.merged"])
    assert Citizen.objects.get(pk=kept.pk).phone == ""
