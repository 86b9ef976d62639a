"""What an integrator met calling the card queue as docs/cards.md shows it (review session 21).

Lan took Hùng's application at the station of Phường Hoàn Kiếm; she reads the queue with her API token.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dancu.accounts.services import api_token_create
from dancu.cards.models import Application, IntakeDevice, IntakePoint
from dancu.cards.selectors import MAX_PAGE
from tests.cards.conftest import take
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def lan(personas: Personas) -> Client:
    _token, secret = api_token_create(user=personas.lan, name="máy trạm")
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def taken(personas: Personas, people: People, station: IntakePoint, device: IntakeDevice) -> Application:
    return take(personas.lan, people.hung, station, device)


def only_error(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.content[:800]
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return dict(errors[0])


@pytest.mark.usefixtures("taken")
@pytest.mark.parametrize("status", ["tak", "TAKEN", "bogus"])
def test_a_status_the_queue_does_not_know_is_refused_not_ignored(lan: Client, status: str) -> None:
    # It listed every application, as if no filter had been given: a typo read as "all".
    error = only_error(lan.get(f"/api/v1/cards/applications?status={status}"))

    assert (error["field"], error["code"]) == ("status", "schema.literal_error")
    assert "taken" in error["message_vi"]
    assert "taken" in error["message_en"]


def test_every_status_of_an_application_filters_the_queue(lan: Client, taken: Application) -> None:
    for status in Application.Status.values:
        response = lan.get(f"/api/v1/cards/applications?status={status}")
        assert response.status_code == 200, (status, response.content[:300])
        expected = [taken.pk] if status == taken.status else []
        assert [row["id"] for row in response.json()["results"]] == expected, status
    assert [row["id"] for row in lan.get("/api/v1/cards/applications?status=").json()["results"]] == [
        taken.pk
    ]


@pytest.mark.usefixtures("taken")
@pytest.mark.parametrize(
    ("limit", "code"),
    [
        ("0", "schema.greater_than_equal"),
        ("-1", "schema.greater_than_equal"),
        (str(MAX_PAGE + 1), "schema.less_than_equal"),
    ],
)
def test_a_limit_out_of_bounds_is_refused_not_clamped(lan: Client, limit: str, code: str) -> None:
    # limit=0 answered one application and limit=10^21 the first 200, each without a word.
    error = only_error(lan.get(f"/api/v1/cards/applications?limit={limit}"))

    assert (error["field"], error["code"]) == ("limit", code)


def test_the_limits_in_bounds_are_taken(lan: Client, taken: Application) -> None:
    for limit in (1, MAX_PAGE):
        response = lan.get(f"/api/v1/cards/applications?limit={limit}")
        assert response.status_code == 200
        assert [row["id"] for row in response.json()["results"]] == [taken.pk]
