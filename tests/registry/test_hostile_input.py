"""Hostile text in every field a person can type into: the new-citizen form, the API and the search box.

The answer is always a clear refusal (a form error or a 4xx JSON body) or a safe empty result; never a
server error. Names, codes, numbers and dates accept none of these strings. Free-text fields (other
names, places, addresses) also refuse characters foreign to Vietnamese text: markup, other scripts,
emoji (`text.characters`). The reason and the source document are sentences and accept a sentence's
punctuation; what they accept is stored exactly as typed, never interpreted, and escaped wherever it is
shown.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
from django.test import Client

from dancu.accounts.services import api_token_create
from dancu.audit.models import AuditEvent
from dancu.registry.models import Citizen
from tests.conftest import HOAN_KIEM, People, Personas, counts, make_citizen

pytestmark = pytest.mark.django_db

# Text no field may hold: invisible, control, line-break or far too long.
INVISIBLE = {
    "nul": "Nguyễn\x00Văn",
    "bell-escape": "Nguyễn\x07\x1b[31mVăn",
    "newline": "Nguyễn\r\nVăn",
    "tab": "Nguyễn\tVăn",
    "rtl-override": "Nguyễn\u202eVăn",
    "zero-width": "Nguy\u200bễn",
    "bom": "\ufeffNguyễn",
    "10k": "A" * 10_000,
}
# Printable text that is no Vietnamese name, number, code or date.
PRINTABLE = {
    "sql": "Robert'); DROP TABLE registry_citizen;--",
    "sql-or": "' OR '1'='1",
    "script": "<script>alert(1)</script>",
    "img": '"><img src=x onerror=alert(1)>',
    "cyrillic": "Нгуен Ван Хунг",
    "chinese": "阮文雄",
    "arabic": "نغوين فان",
    "emoji": "Nguyễn 😀",
    "template": "{{ request.user.password }}{% debug %}",
}
HOSTILE = INVISIBLE | PRINTABLE
# A name's inner whitespace, line breaks and tabs included, is collapsed to one space (normalize_name):
# what is stored is clean, so such a name is accepted rather than refused.
COLLAPSED_IN_NAMES = {"newline": "Nguyễn Văn", "tab": "Nguyễn Văn"}
# A lone surrogate cannot travel in a form or a URL (it has no UTF-8 form), but JSON can escape it.
JSON_ONLY = {"lone-surrogate": "Nguyễn\udcff"}

# Fields whose content has a rule of its own; none of the strings above may pass.
STRICT_FORM_FIELDS = (
    "full_name",
    "birth_date",
    "pin",
    "birth_registration_place",
    "old_id_number",
    "phone",
    "email",
    "commune_code",
    "registered_on",
    "sex",
    "ethnicity",
    "religion",
    "marital_status",
    "residence_kind",
)
# Free text, stored as typed when printable.
FREE_FORM_FIELDS = (
    "other_names",
    "birth_place",
    "native_place",
    "address_detail",
    "reason",
    "source_document",
)
# Of the free text, these hold places and names: markup, other scripts and emoji have no place there.
PLACE_FIELDS = ("other_names", "birth_place", "native_place", "address_detail")
FOREIGN_TO_VIETNAMESE_TEXT = ("script", "img", "cyrillic", "chinese", "arabic", "emoji", "template", "sql")


def newcomer(**overrides: str) -> dict[str, str]:
    return {
        "full_name": "Hoàng Thị Thu",
        "birth_date": "12/08/1995",
        "sex": "F",
        "birth_registration_place": "001",
        "pin": "",
        "ethnicity": "01",
        "religion": "00",
        "marital_status": "",
        "residence_kind": "permanent",
        "commune_code": HOAN_KIEM,
        "address_detail": "Số 20 phố Hàng Bạc",
        "registered_on": "2020-02-01",
        "reason": "Thu thập thông tin dân cư",
        "source_document": "Phiếu DC01",
    } | overrides


def stored_as_typed(citizen: Citizen, field: str, value: str) -> bool:
    if field in ("address_detail", "residence.address_detail"):
        stored = citizen.residences.get().address_detail
    elif field == "reason":
        stored = AuditEvent.objects.get(
            event_type="registry.citizen.created", subject_id=str(citizen.pk)
        ).reason
    elif field == "source_document":
        stored = AuditEvent.objects.get(
            event_type="registry.citizen.created", subject_id=str(citizen.pk)
        ).source_document
    else:
        stored = getattr(citizen, field)
    return stored == unicodedata.normalize("NFC", value).strip()


# The new-citizen form --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_the_new_citizen_form_never_fails_on_hostile_text(
    personas: Personas, people: People, sign_in: Any, kind: str
) -> None:
    client = sign_in(Client(), personas.lan)
    value = HOSTILE[kind]
    problems = []
    for field in STRICT_FORM_FIELDS + FREE_FORM_FIELDS:
        before = counts()
        response = client.post("/citizens/new/", newcomer(**{field: value}))
        if response.status_code == 200:
            if 'role="alert"' not in response.content.decode() or counts() != before:
                problems.append(f"{field}: redisplayed without an error, or wrote rows")
        elif response.status_code == 302 and field == "full_name" and kind in COLLAPSED_IN_NAMES:
            if Citizen.objects.latest("pk").full_name != COLLAPSED_IN_NAMES[kind]:
                problems.append(f"{field}: whitespace not collapsed")
        elif response.status_code == 302 and field in PLACE_FIELDS and kind in FOREIGN_TO_VIETNAMESE_TEXT:
            problems.append(f"{field}: accepted text foreign to Vietnamese ({kind})")
        elif response.status_code == 302 and field in FREE_FORM_FIELDS and kind in PRINTABLE:
            created = Citizen.objects.latest("pk")
            if not stored_as_typed(created, field, value):
                problems.append(f"{field}: stored differently from what was typed")
            page = client.get(response["Location"]).content.decode()
            if "<script>alert" in page or "<img src=x" in page:
                problems.append(f"{field}: shown unescaped")
        else:
            problems.append(f"{field}: answered {response.status_code}")
    assert problems == []


def test_a_refused_name_names_its_rule_and_shows_the_characters_escaped(
    personas: Personas, people: People, sign_in: Any
) -> None:
    client = sign_in(Client(), personas.lan)

    page = client.post("/citizens/new/", newcomer(full_name=PRINTABLE["script"])).content.decode()

    assert "[name.letters]" in page
    assert "&lt;" in page  # the refused characters are named, escaped
    assert "<script>alert" not in page


# The API ---------------------------------------------------------------------------------------------


API_STRICT_FIELDS = (
    "full_name",
    "birth_date",
    "sex",
    "birth_registration_place",
    "pin",
    "ethnicity",
    "religion",
    "nationality",
    "blood_type",
    "old_id_number",
    "marital_status",
    "phone",
    "email",
    "residence.kind",
    "residence.commune_code",
    "residence.registered_on",
)
API_FREE_FIELDS = (
    "other_names",
    "birth_place",
    "native_place",
    "blood_type_source",
    "residence.address_detail",
    "reason",
    "source_document",
)


def api_body(field: str, value: str) -> dict[str, Any]:
    body: dict[str, Any] = newcomer()
    residence = {
        "kind": body.pop("residence_kind"),
        "commune_code": body.pop("commune_code"),
        "address_detail": body.pop("address_detail"),
        "registered_on": body.pop("registered_on"),
    }
    body["residence"] = residence
    if field.startswith("residence."):
        residence[field.removeprefix("residence.")] = value
    else:
        body[field] = value
    if field == "blood_type_source":
        body["blood_type"] = "O"
    return body


@pytest.mark.parametrize("kind", list(HOSTILE | JSON_ONLY))
def test_the_api_never_fails_on_hostile_text(personas: Personas, people: People, kind: str) -> None:
    _token, secret = api_token_create(user=personas.lan, name="kiểm thử")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    value = (HOSTILE | JSON_ONLY)[kind]
    problems = []
    for field in API_STRICT_FIELDS + API_FREE_FIELDS:
        before = counts()
        response = client.post(
            "/api/v1/citizens", json.dumps(api_body(field, value)), content_type="application/json"
        )
        if response.status_code in (400, 422):
            errors = response.json()["errors"]
            if not errors or counts() != before or not all(e["code"] and e["message_en"] for e in errors):
                problems.append(f"{field}: refused without a named rule, or wrote rows")
        elif response.status_code == 201 and field == "full_name" and kind in COLLAPSED_IN_NAMES:
            if response.json()["full_name"] != COLLAPSED_IN_NAMES[kind]:
                problems.append(f"{field}: whitespace not collapsed")
        elif response.status_code == 201 and field in API_FREE_FIELDS and kind in PRINTABLE:
            if not stored_as_typed(Citizen.objects.get(pin=response.json()["pin"]), field, value):
                problems.append(f"{field}: stored differently from what was sent")
        else:
            problems.append(f"{field}: answered {response.status_code}")
    assert problems == []


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_api_updates_and_paths_never_fail_on_hostile_text(
    personas: Personas, people: People, kind: str
) -> None:
    _token, secret = api_token_create(user=personas.lan, name="kiểm thử")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    value = HOSTILE[kind]
    before = counts()

    statuses = set()
    for field in (
        "full_name",
        "phone",
        "email",
        "old_id_number",
        "date_of_death",
        "missing_declared_on",
        value,
    ):
        response = client.patch(
            f"/api/v1/citizens/{people.hung.pin}",
            json.dumps({"changes": {field: value}, "reason": "Cập nhật"}),
            content_type="application/json",
        )
        statuses.add(response.status_code)
    for path in (
        f"/api/v1/citizens/{value}",
        f"/api/v1/citizens/{value}/history",
        f"/api/v1/households/{value}",
    ):
        statuses.add(client.get(path.replace("\x00", "%00")).status_code)
    response = client.post(
        "/api/v1/households",
        json.dumps(
            {
                "head_pin": value,
                "commune_code": value,
                "address_detail": value,
                "registered_on": "2020-01-01",
                "reason": value,
            }
        ),
        content_type="application/json",
    )
    statuses.add(response.status_code)

    if kind in COLLAPSED_IN_NAMES:
        # The one accepted change: the name, with its whitespace collapsed to single spaces.
        assert statuses <= {200, 404, 422}
        assert Citizen.objects.get(pk=people.hung.pk).full_name == COLLAPSED_IN_NAMES[kind]
    else:
        assert statuses <= {404, 422}
        assert counts() == before


# The search box -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_the_search_box_never_fails_on_hostile_text(
    personas: Personas, people: People, sign_in: Any, kind: str
) -> None:
    client = sign_in(Client(), personas.minh)
    _token, secret = api_token_create(user=personas.minh, name="kiểm thử")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    value = HOSTILE[kind]

    for field, api_field in (("q", "q"), ("birth", "birth"), ("commune", "commune"), ("address", "address")):
        for headers in ({}, {"HX-Request": "true"}):
            page = client.get("/search/", {field: value}, headers=headers)
            assert page.status_code == 200
            content = page.content.decode()
            assert 'id="results-table"' not in content, field
            assert "<script>alert" not in content
            assert "<img src=x" not in content
        answer = api.get("/api/v1/citizens", {api_field: value})
        assert answer.status_code in (200, 422), (field, answer.status_code)
        if answer.status_code == 200:
            assert answer.json()["results"] == []


# Escaping what is legitimately stored ---------------------------------------------------------------


def test_a_name_with_an_apostrophe_is_escaped_on_every_page(personas: Personas, sign_in: Any) -> None:
    citizen = make_citizen(
        full_name="H'hen Niê",
        sex="F",
        birth_date="1990",
        address='Buôn Ko Sier "Ea Tam" & Co',
        other_names="Hen",
    )
    client = sign_in(Client(), personas.lan)

    pages = [
        client.get(f"/citizens/{citizen.pk}/").content.decode(),
        client.get("/search/", {"q": "h'hen"}).content.decode(),
        client.get("/search/", {"q": "h'hen"}, headers={"HX-Request": "true"}).content.decode(),
        client.get(f"/citizens/{citizen.pk}/history/", {"on": "2030-01-01"}).content.decode(),
    ]

    assert Citizen.objects.get(pk=citizen.pk).full_name == "H'hen Niê"
    for page in pages:
        assert "H&#x27;hen Niê" in page
        assert "H'hen" not in page
    record = pages[0]
    assert "Buôn Ko Sier &quot;Ea Tam&quot; &amp; Co" in record


@pytest.mark.parametrize(
    "email",
    [
        "<script>alert(1)</script>@x.vn",
        "thu@@x.vn",
        "thu\x00@x.vn",
        "thu@x.vn\u202e",
        "thu@x..vn",
        "a" * 64 + "@" + "b" * 150 + ".vn",  # passes a pattern, but the column holds 200 characters
    ],
)
def test_an_email_address_is_plain_and_fits_its_column(personas: Personas, email: str) -> None:
    _token, secret = api_token_create(user=personas.lan, name="kiểm thử")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    before = counts()

    response = client.post(
        "/api/v1/citizens", json.dumps(api_body("email", email)), content_type="application/json"
    )

    assert response.status_code == 422
    assert {(e["field"], e["code"]) for e in response.json()["errors"]} == {("email", "email.format")}
    assert counts() == before
    accepted = client.post(
        "/api/v1/citizens",
        json.dumps(api_body("email", "thu.hoang@example.vn")),
        content_type="application/json",
    )
    assert accepted.status_code == 201
    assert accepted.json()["email"] == "thu.hoang@example.vn"
