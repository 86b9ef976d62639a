"""A citizen's page leads to their e-ID registration and their cards: an officer at the e-ID desk or the card
counter started from the record and had to know the addresses (session 31's e-ID desk review)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from tests.conftest import Personas, make_citizen

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def test_a_commune_officer_goes_from_the_record_to_the_e_id_registration_and_the_cards(
    personas: Personas, sign_in: SignIn
) -> None:
    citizen = make_citizen(full_name="Phạm Văn Đức")
    client = sign_in(Client(), personas.lan)

    page = client.get(f"/citizens/{citizen.pk}/").content.decode()

    assert f'href="/eid/citizens/{citizen.pk}/register/"' in page
    assert f'href="/cards/citizens/{citizen.pk}/"' in page
    assert client.get(f"/eid/citizens/{citizen.pk}/register/").status_code == 200
