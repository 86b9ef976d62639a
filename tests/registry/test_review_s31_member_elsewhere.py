"""Session 31 review: adding to a household a person whose record lies in another commune.

Mai's permanent residence is in Phường Hồng Hà; she marries Hùng and comes to live in his household in
Phường Hoàn Kiếm. Lan types Mai's PIN on "Thêm thành viên": the registry answers that no such citizen is
in her area, rightly (the record is Hồng Hà's, and a refusal must not tell Lan whether the PIN exists),
but said nothing of what to do. A person who comes from another commune is registered as a person moving
in ("Đăng ký người chuyển đến"), which finds the record from the card and joins the household: the
refusal now leads there, with the household's number and the relation already filled in.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.registry.models import HouseholdMember
from tests.conftest import People, Personas, counts, household_of
from tests.pages import field_errors, html

pytestmark = pytest.mark.django_db


def _member_form(pin: str) -> dict[str, str]:
    return {
        "pin": pin,
        "relation_to_head": "spouse",
        "joined_on": "2025-08-01",
        "reason": "Về ở với chồng",
        "source_document": "CT01",
    }


def _value(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    return match.group(1) if match else ""


def test_a_person_of_another_commune_is_sent_to_the_arrival_with_the_household(
    people: People, lan: Client
) -> None:
    household = household_of(people.hung)
    before = counts()

    page = html(lan.post(f"/households/{household.pk}/members/new/", _member_form(people.mai.pin)))

    assert "citizen.not_found" in field_errors(page, "pin")
    link = re.search(r'<a[^>]*id="arrival-link"[^>]*href="([^"]+)"', page)
    assert link is not None, page
    href = link.group(1).replace("&amp;", "&")
    assert href.startswith("/arrivals/new/?")
    # The PIN stays out of the address (addresses end up in logs and browser history).
    assert people.mai.pin not in href
    arrival = html(lan.get(href))
    assert _value(arrival, "household_number") == household.number
    assert re.search(r'<option value="spouse" selected', arrival)
    assert counts() == before
    assert not HouseholdMember.objects.filter(citizen=people.mai).exclude(household__commune__code="00097")


def test_a_pin_of_the_wrong_shape_is_a_typo_not_a_person_elsewhere(people: People, lan: Client) -> None:
    household = household_of(people.hung)

    page = html(lan.post(f"/households/{household.pk}/members/new/", _member_form("00109012345")))

    assert "pin.format" in field_errors(page, "pin")
    assert 'id="arrival-link"' not in page


def test_an_officer_who_registers_no_arrivals_is_not_sent_there(
    people: People, personas: Personas, sign_in: Callable[[Client, User], Client]
) -> None:
    # Cường, of the city's police, registers no one moving in (that is a commune's work): no link to a
    # page that would refuse him.
    household = household_of(people.hung)
    cuong = sign_in(Client(), personas.cuong)

    page = html(cuong.post(f"/households/{household.pk}/members/new/", _member_form("079090413733")))

    assert "citizen.not_found" in field_errors(page, "pin")
    assert 'id="arrival-link"' not in page
