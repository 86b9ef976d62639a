"""Lập hộ mới: a person of the commune who is in no household opens one as its head, from their record's
page. Until session 21 only the API and a person moving in could open one, and a newborn added with "Thêm
công dân" stayed in no household."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.registry import services
from dancu.registry.models import Household, HouseholdMember
from tests.conftest import SYSTEM, People, Personas, counts, household_of, make_citizen

pytestmark = pytest.mark.django_db


def _value(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    return match.group(1) if match else ""


def _sent(**changes: str) -> dict[str, str]:
    data = {
        "commune_code": "00070",
        "address_detail": "Số 3 phố Hàng Bè",
        "registered_on": "2025-09-01",
        "reason": "Tách ra ở riêng",
        "source_document": "CT01 số 15",
    }
    data.update(changes)
    return data


def test_the_record_of_a_person_in_no_household_offers_to_open_one(people: People, lan: Client) -> None:
    page = lan.get(f"/citizens/{people.hung.pk}/").content.decode()
    assert f'href="/citizens/{people.hung.pk}/household/new/"' in page

    household_of(people.hung)
    page = lan.get(f"/citizens/{people.hung.pk}/").content.decode()
    assert "/household/new/" not in page


def test_the_page_starts_at_the_persons_permanent_address_today(people: People, lan: Client) -> None:
    response = lan.get(f"/citizens/{people.hung.pk}/household/new/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Lập hộ mới" in page
    assert people.hung.pin in page
    assert _value(page, "commune_code") == "00070"
    assert _value(page, "address_detail") == "Số 1 phố Hàng Trống"
    assert _value(page, "registered_on") == timezone.localdate().isoformat()
    # Opening the page reads the record, as every page of it does.
    assert AccessLog.objects.filter(citizen=people.hung, actor__username="lan").exists()


def test_lan_opens_a_household_with_hung_at_its_head(people: People, lan: Client) -> None:
    response = lan.post(f"/citizens/{people.hung.pk}/household/new/", _sent())

    household = Household.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/households/{household.pk}/"
    member = HouseholdMember.objects.get(household=household)
    assert (member.citizen, member.relation_to_head, member.joined_on) == (
        people.hung,
        "head",
        date(2025, 9, 1),
    )
    assert household.address_detail == "Số 3 phố Hàng Bè"
    home = people.hung.residences.get(kind="permanent", ended_on__isnull=True)
    assert home.address_detail == "Số 3 phố Hàng Bè"
    event = AuditEvent.objects.get(event_type=EventType.HOUSEHOLD_CREATED)
    assert event.actor.username == "lan"
    assert lan.get(response["Location"]).content.decode().count(f"Đã lập hộ số {household.number}") == 1


def test_a_person_already_in_a_household_is_refused_and_nothing_is_written(
    people: People, lan: Client
) -> None:
    household_of(people.hung)
    before = counts()

    response = lan.post(f"/citizens/{people.hung.pk}/household/new/", _sent())

    assert response.status_code == 200
    assert "[household.already_member]" in response.content.decode()
    assert counts() == before


def test_a_dead_person_opens_no_household(people: People, lan: Client) -> None:
    services.citizen_update(
        actor=SYSTEM,
        citizen=people.hung,
        changes={"date_of_death": "2025-01-02"},
        reason="Trích lục khai tử",
        source_document="KT 1/2025",
    )
    page = lan.get(f"/citizens/{people.hung.pk}/").content.decode()
    assert "/household/new/" not in page
    before = counts()

    response = lan.post(f"/citizens/{people.hung.pk}/household/new/", _sent())

    assert "[citizen.deceased]" in response.content.decode()
    assert counts() == before


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"commune_code": "00097"}, "commune_code", "unit.outside_jurisdiction"),
        ({"commune_code": "99999"}, "commune_code", "unit.unknown"),
        ({"address_detail": "Số 3\x00 phố Hàng Bè"}, "address_detail", ""),
        ({"registered_on": "2025-02-31"}, "registered_on", ""),
        ({"reason": ""}, "reason", ""),
    ],
)
def test_bad_input_is_named_by_its_field_and_nothing_is_written(
    people: People, lan: Client, changes: dict[str, str], field: str, code: str
) -> None:
    before = counts()

    response = lan.post(f"/citizens/{people.hung.pk}/household/new/", _sent(**changes))

    page = response.content.decode()
    assert response.status_code == 200
    errors = re.search(rf'id="err-{field}".*?</div>|data-field="{field}".*?</ul>', page, re.S)
    assert errors is not None, (field, page[:2000])
    if code:
        assert f"[{code}]" in errors.group(0)
    assert counts() == before


def test_an_officer_of_another_ward_gets_a_404_and_nothing_is_logged(
    people: People, personas: Personas, sign_in: Any
) -> None:
    binh = sign_in(Client(), personas.binh)
    before = counts()
    reads = AccessLog.objects.count()

    assert binh.get(f"/citizens/{people.hung.pk}/household/new/").status_code == 404
    assert binh.post(f"/citizens/{people.hung.pk}/household/new/", _sent()).status_code == 404

    assert counts() == before
    assert AccessLog.objects.count() == reads


def test_the_auditor_has_no_such_page(people: People, personas: Personas, sign_in: Any) -> None:
    auditor = sign_in(Client(), personas.an)
    response = auditor.get(f"/citizens/{people.hung.pk}/household/new/")
    assert response.status_code in (302, 403, 404)
    assert not Household.objects.exists()


def test_the_page_speaks_english(people: People, lan: Client) -> None:
    lan.cookies["django_language"] = "en"
    page = lan.get(f"/citizens/{people.hung.pk}/household/new/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "New household" in page
    assert "Lập hộ mới" not in page


def test_a_newborn_added_today_opens_a_household_at_their_registered_address(
    lan: Client, personas: Personas
) -> None:
    baby = make_citizen(full_name="Nguyễn Minh An", birth_date="2025-08-01", address="Số 9 phố Hàng Gai")
    page = lan.get(f"/citizens/{baby.pk}/household/new/").content.decode()
    assert _value(page, "address_detail") == "Số 9 phố Hàng Gai"
