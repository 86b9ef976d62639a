"""What an integrator met calling the registry's API as docs/api.md shows it (review session 21).

Lan (Phường Hoàn Kiếm) and Bình (Phường Hồng Hà) call with their API tokens. Tuấn lives in Phường Sài
Gòn and stays in Hồng Hà; Thu (born in May 1985, a partial date) lives in Hồng Hà and stays in Hoàn Kiếm.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dancu.registry.models import Household
from tests.conftest import HOAN_KIEM, HONG_HA, People, Personas, counts, household_of, make_citizen
from tests.registry.test_stays import card_of, stay_of, token_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_pinned")]

UNKNOWN_PIN = "001090999999"


def only_error(response: Any, status: int) -> dict[str, str]:
    assert response.status_code == status, response.content[:800]
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return dict(errors[0])


# A stay's person carries an ISO birth date, as every other answer does -------------------------------------


def test_the_stays_list_writes_the_birth_date_as_every_other_answer_does(
    people: People, personas: Personas
) -> None:
    stay_of(people.tuan)
    binh = token_client(personas.binh)

    listed = binh.get("/api/v1/stays").json()["results"]

    # Not the pages' "17/05/1990": the form GET /citizens/{pin} gives, here for Mai, of Bình's area.
    assert [row["citizen"]["birth_date"] for row in listed] == ["1990-05-17"]
    assert binh.get(f"/api/v1/citizens/{people.mai.pin}").json()["birth_date"] == "1985"


def test_a_partial_birth_date_in_the_stays_list_is_written_as_the_record_writes_it(
    personas: Personas,
) -> None:
    thu = make_citizen(full_name="Đỗ Thị Thu", sex="F", birth_date="05/1985", commune_code=HONG_HA)
    stay_of(thu, commune_code=HOAN_KIEM)

    listed = token_client(personas.lan).get("/api/v1/stays").json()["results"]

    # Not "05/1985", which a client reading dates as YYYY-MM-DD cannot parse.
    assert [row["citizen"]["birth_date"] for row in listed] == ["1985-05"]
    assert token_client(personas.binh).get(f"/api/v1/citizens/{thu.pin}").json()["birth_date"] == "1985-05"


def test_the_registered_stay_answers_the_birth_date_in_iso(people: People, personas: Personas) -> None:
    response = token_client(personas.binh).post(
        "/api/v1/stays", card_of(people.tuan), content_type="application/json"
    )

    assert response.status_code == 201, response.content[:800]
    assert response.json()["citizen"]["birth_date"] == "1990-05-17"


# POST /households and the member calls name the field of the body ------------------------------------------


@pytest.fixture
def lan(personas: Personas) -> Client:
    return token_client(personas.lan)


def household_body(pin: str) -> dict[str, str]:
    return {
        "head_pin": pin,
        "commune_code": HOAN_KIEM,
        "address_detail": "Số 3 phố Hàng Bạc",
        "registered_on": "2024-01-01",
        "reason": "Lập hộ",
    }


def test_a_head_already_in_a_household_is_refused_on_head_pin(lan: Client, people: People) -> None:
    household_of(people.hung)
    before = counts()

    response = lan.post(
        "/api/v1/households", household_body(people.hung.pin), content_type="application/json"
    )

    error = only_error(response, 422)
    assert (error["field"], error["code"]) == ("head_pin", "household.already_member")
    assert counts() == before


def test_an_unknown_head_pin_is_a_404_on_head_pin(lan: Client) -> None:
    before = counts()

    response = lan.post("/api/v1/households", household_body(UNKNOWN_PIN), content_type="application/json")

    error = only_error(response, 404)
    assert (error["field"], error["code"]) == ("head_pin", "not_found")
    assert counts() == before


def test_a_head_outside_the_area_is_the_same_404_on_head_pin(lan: Client, people: People) -> None:
    response = lan.post(
        "/api/v1/households", household_body(people.tuan.pin), content_type="application/json"
    )

    error = only_error(response, 404)
    assert (error["field"], error["code"]) == ("head_pin", "not_found")
    assert not Household.objects.exists()


def test_an_unknown_member_pin_is_a_404_on_pin(lan: Client, people: People) -> None:
    household = household_of(people.hung)
    before = counts()

    response = lan.post(
        f"/api/v1/households/{household.pk}/members",
        {"pin": UNKNOWN_PIN, "relation_to_head": "child", "joined_on": "2024-01-01", "reason": "Nhập hộ"},
        content_type="application/json",
    )

    error = only_error(response, 404)
    assert (error["field"], error["code"]) == ("pin", "not_found")
    assert counts() == before


def test_an_unknown_household_is_still_a_404_without_a_field(lan: Client) -> None:
    response = lan.post(
        "/api/v1/households/999999/members",
        {"pin": UNKNOWN_PIN, "relation_to_head": "child", "joined_on": "2024-01-01", "reason": "Nhập hộ"},
        content_type="application/json",
    )

    error = only_error(response, 404)
    assert (error["field"], error["code"]) == ("", "not_found")


def test_an_unknown_new_head_pin_is_a_404_on_new_head_pin(lan: Client, people: People) -> None:
    household = household_of(people.hung)
    before = counts()

    response = lan.post(
        f"/api/v1/households/{household.pk}/head",
        {
            "new_head_pin": UNKNOWN_PIN,
            "previous_head_relation": "child",
            "changed_on": "2024-01-01",
            "reason": "x",
        },
        content_type="application/json",
    )

    error = only_error(response, 404)
    assert (error["field"], error["code"]) == ("new_head_pin", "not_found")
    assert counts() == before
