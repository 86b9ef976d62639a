"""What the application answers is stored by no cache: a shared computer's back button or disk cache must
not show the last citizen's record to the next person at the keyboard (web/middleware.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from tests.campaigns.test_api import api
from tests.conftest import Personas, make_citizen

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def _never_stored(response: object) -> bool:
    cache_control = response.headers.get("Cache-Control", "")  # type: ignore[attr-defined]
    return "no-store" in cache_control and "private" in cache_control


def test_a_citizens_record_and_the_sign_in_page_are_never_stored(personas: Personas, sign_in: SignIn) -> None:
    citizen = make_citizen(full_name="Trần Thị Mai")
    client = sign_in(Client(), personas.lan)

    record = client.get(f"/citizens/{citizen.pk}/")
    assert record.status_code == 200
    assert "Trần Thị Mai" in record.content.decode()
    assert _never_stored(record)
    assert _never_stored(Client().get("/login/"))


def test_an_api_answer_with_personal_data_is_never_stored(personas: Personas) -> None:
    citizen = make_citizen(full_name="Trần Thị Mai")
    response = api(personas.lan).get(f"/api/v1/citizens/{citizen.pin}")
    assert response.status_code == 200
    assert _never_stored(response)


def test_the_static_files_keep_their_own_caching() -> None:
    response = Client().get("/static/web/dancu.css")
    assert response.status_code == 200
    assert not _never_stored(response)
