"""A full PIN or CMND opens the record it names (review session 27).

Lan, at the counter of Phường Hoàn Kiếm, types Hùng's full PIN, or the nine digits of his old CMND: the
search opens his record rather than a list of one, and the search is logged as every search is. A name,
a number of another commune's citizen, or a search of several records still answers with the list; the
API keeps answering with a list.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog
from tests.conftest import People, Personas
from tests.pages import html

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]
CMND = "012345678"  # Hùng's old card (tests.conftest.people_create)


@pytest.fixture
def lan(client: Client, sign_in: SignIn, personas: Personas) -> Client:
    return sign_in(client, personas.lan)


@pytest.mark.parametrize("number", ["pin", "cmnd"])
def test_a_full_number_opens_the_record_and_the_search_is_logged(
    lan: Client, personas: Personas, people: People, number: str
) -> None:
    typed = people.hung.pin if number == "pin" else CMND
    assert people.hung.old_id_number == CMND
    response = lan.get("/search/", {"q": f" {typed} "})
    assert (response.status_code, response["Location"]) == (302, f"/citizens/{people.hung.pk}/")
    search = AccessLog.objects.get(actor=personas.lan, citizen=people.hung)
    assert search.action == AccessLog.Action.SEARCH
    assert search.detail == f"từ khoá: {typed}; trang 1"
    record = html(lan.get(response["Location"]))
    assert people.hung.full_name in record
    assert AccessLog.objects.filter(actor=personas.lan, citizen=people.hung, action="view").count() == 1


def test_the_search_box_is_told_to_load_the_record_as_a_page(lan: Client, people: People) -> None:
    """The search box sends its search by HTMX: the record must replace the page, not the results."""
    response = lan.get("/search/", {"q": people.hung.pin}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/citizens/{people.hung.pk}/"


def test_a_name_a_number_outside_the_area_and_other_criteria_still_list(lan: Client, people: People) -> None:
    # A name that finds one person is still a list: a name is no identifier.
    by_name = lan.get("/search/", {"q": "nguyen van hung"})
    assert by_name.status_code == 200
    assert [c.pk for c in by_name.context["page"].results] == [people.hung.pk]
    # Mai lives in Phường Hồng Hà: her PIN finds nothing in Lan's area, as any search does.
    outside = lan.get("/search/", {"q": people.mai.pin})
    assert outside.status_code == 200
    assert 'id="no-results"' in html(outside)
    # The PIN with a date of birth that is not his finds no one, and opens nothing.
    other_birth = lan.get("/search/", {"q": people.hung.pin, "birth": "1950"})
    assert other_birth.status_code == 200
    assert 'id="no-results"' in html(other_birth)
    # A second page of a number's search is a page, not the record.
    second = lan.get("/search/", {"q": people.hung.pin, "page": "2"})
    assert second.status_code == 200


def test_the_api_keeps_answering_with_a_list(personas: Personas, people: People) -> None:
    _token, secret = api_token_create(user=personas.lan, name="máy trạm")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    for typed in (people.hung.pin, CMND):
        response = api.get("/api/v1/citizens", {"q": typed})
        assert response.status_code == 200
        assert [row["pin"] for row in response.json()["results"]] == [people.hung.pin]
