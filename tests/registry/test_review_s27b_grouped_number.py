"""A PIN or CMND typed in groups finds the citizen in the registry search (review session 27b).

Lan, at the counter of Phường Hoàn Kiếm, types the number as Hùng reads it out: "001 090 123 456", or
with the dots or dashes of a receipt. The card queue has always taken the number so; the registry search
refused it as "digits in a name". It now finds him, and a full number of one record opens that record
as the ungrouped number does; the API lists him.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]
CMND = "012345678"  # Hùng's old card (tests.conftest.people_create)


@pytest.fixture
def lan(client: Client, sign_in: SignIn, personas: Personas) -> Client:
    return sign_in(client, personas.lan)


def _grouped(number: str, separator: str) -> str:
    """The number in groups of three, as it is read out."""
    return separator.join(number[i : i + 3] for i in range(0, len(number), 3))


@pytest.mark.parametrize("separator", [" ", ".", "-", " - "])
@pytest.mark.parametrize("number", ["pin", "cmnd"])
def test_a_grouped_number_opens_the_record(
    lan: Client, personas: Personas, people: People, number: str, separator: str
) -> None:
    assert people.hung.old_id_number == CMND
    typed = _grouped(people.hung.pin if number == "pin" else CMND, separator)
    response = lan.get("/search/", {"q": typed})
    assert (response.status_code, response.get("Location")) == (302, f"/citizens/{people.hung.pk}/")
    # The log keeps what the officer typed, as for every search.
    search = AccessLog.objects.get(actor=personas.lan, citizen=people.hung)
    assert (search.action, search.detail) == (AccessLog.Action.SEARCH, f"từ khoá: {typed}; trang 1")


def test_the_search_box_opens_the_record_of_a_grouped_pin(lan: Client, people: People) -> None:
    response = lan.get("/search/", {"q": _grouped(people.hung.pin, " ")}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/citizens/{people.hung.pk}/"


def test_a_grouped_number_outside_the_area_finds_no_one_and_a_name_with_digits_is_still_refused(
    lan: Client, people: People
) -> None:
    # Mai lives in Phường Hồng Hà: her PIN, grouped or not, finds nothing in Lan's area.
    outside = lan.get("/search/", {"q": _grouped(people.mai.pin, ".")})
    assert outside.status_code == 200
    assert outside.context["page"].results == []
    # Digits that make no whole number (eight here) are still no name.
    for typed in ("001 090 12", "nguyen 001 090"):
        refused = lan.get("/search/", {"q": typed})
        assert refused.status_code == 200
        assert "[search.text]" in str(refused.context["form"].errors["q"]), typed


def test_the_api_lists_the_citizen_of_a_grouped_number(personas: Personas, people: People) -> None:
    _token, secret = api_token_create(user=personas.lan, name="máy trạm")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    for typed in (_grouped(people.hung.pin, " "), _grouped(people.hung.pin, "."), _grouped(CMND, "-")):
        response = api.get("/api/v1/citizens", {"q": typed})
        assert response.status_code == 200, response.content
        assert [row["pin"] for row in response.json()["results"]] == [people.hung.pin], typed
