"""An old CMND finds its application in the card queue (review session 27).

Hùng comes to the counter of Phường Hoàn Kiếm with only his old nine-digit identity card (CMND
012345678). Lan types the number as it is printed or read out in groups and finds his application, on
the page and on the API. Bình (Phường Hồng Hà) types the same and finds nothing, and nothing is logged as
read by him. A part of the number finds no one: the CMND is matched whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog
from dancu.cards.models import Application, IntakeDevice, IntakePoint
from tests.cards.conftest import take
from tests.conftest import People, Personas, make_citizen

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]
CMND = "012345678"  # Hùng's old card (tests.conftest.people_create)


def api(officer: User) -> Client:
    _token, secret = api_token_create(user=officer, name="máy trạm")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def rows(html: str) -> list[int]:
    """The applications listed on a queue page, by id, in order."""
    return [int(pk) for pk in re.findall(r'data-application="(\d+)"', html)]


@pytest.fixture
def hungs(personas: Personas, people: People, station: IntakePoint, device: IntakeDevice) -> Application:
    assert people.hung.old_id_number == CMND
    # A neighbour whose CMND shares all but the last digit with Hùng's: an exact match must not list him.
    take(personas.lan, make_citizen(full_name="Trần Văn Nam", old_id_number="012345679"), station, device)
    return take(personas.lan, people.hung, station, device)


@pytest.mark.parametrize("typed", [CMND, "012 345 678", "012.345.678", " 012-345-678 "])
def test_lan_finds_hungs_application_by_his_old_cmnd(
    client: Client, sign_in: SignIn, personas: Personas, hungs: Application, typed: str
) -> None:
    sign_in(client, personas.lan)
    response = client.get("/cards/", {"q": typed})
    assert response.status_code == 200
    assert rows(response.content.decode()) == [hungs.pk]
    answer = api(personas.lan).get("/api/v1/cards/applications", {"q": typed})
    assert answer.status_code == 200, answer.content[:300]
    assert [row["id"] for row in answer.json()["results"]] == [hungs.pk]
    read = AccessLog.objects.filter(actor=personas.lan, citizen=hungs.citizen, action=AccessLog.Action.SEARCH)
    assert read.count() == 2


@pytest.mark.parametrize("typed", ["12345678", "0123456", "345678"])
def test_a_part_of_the_cmnd_finds_no_one(
    client: Client, sign_in: SignIn, personas: Personas, hungs: Application, typed: str
) -> None:
    sign_in(client, personas.lan)
    assert rows(client.get("/cards/", {"q": typed}).content.decode()) == []
    assert not AccessLog.objects.filter(actor=personas.lan, citizen=hungs.citizen).exists()


def test_binh_does_not_find_hoan_kiems_application_by_its_cmnd(
    sign_in: SignIn, personas: Personas, hungs: Application
) -> None:
    page = sign_in(Client(), personas.binh).get("/cards/", {"q": CMND, "status": "all"})
    assert page.status_code == 200
    assert rows(page.content.decode()) == []
    answer = api(personas.binh).get("/api/v1/cards/applications", {"q": CMND, "status": "all"})
    assert answer.status_code == 200
    assert answer.json()["results"] == []
    assert answer.json()["total"] == 0
    assert not AccessLog.objects.filter(actor=personas.binh, citizen=hungs.citizen).exists()
