"""Session 31 review: finding a person in the list of stays as the record search finds them.

Bình (Phường Hồng Hà) has Tuấn, of Phường Sài Gòn, staying in his ward. At the door he hears the name
people use, the given name ("Tuấn"), or reads the PIN off a card in groups of three ("079 090 …"). The
record search finds a person both ways; the list of stays found nobody and said nothing, as if Tuấn did
not stay there, on the page, in the download and over the API.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.collection.test_quality_pages import csv_rows
from tests.conftest import People, Personas
from tests.pages import html
from tests.registry.test_stays import stay_of, token_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_pinned")]


def _grouped(pin: str) -> str:
    """The PIN as read aloud or copied from a receipt: four groups of three digits."""
    return " ".join(pin[i : i + 3] for i in range(0, 12, 3))


@pytest.mark.parametrize("typed", ["Tuấn", "tuan", "GROUPED"])
def test_the_list_of_stays_finds_a_person_by_given_name_or_grouped_pin(
    people: People, binh: Client, typed: str
) -> None:
    stay = stay_of(people.tuan)
    text = _grouped(people.tuan.pin) if typed == "GROUPED" else typed

    page = html(binh.get("/stays/", {"q": text}))

    assert f'data-stay="{stay.pk}"' in page
    assert 'id="no-stays"' not in page
    assert [row[0] for row in csv_rows(binh.get("/stays/export.csv", {"q": text}))[1:]] == [people.tuan.pin]


def test_a_given_name_finds_no_one_whose_name_merely_contains_it(people: People, binh: Client) -> None:
    # "Minh" is Tuấn's middle name: a given name is the last word, as the record search reads it.
    stay_of(people.tuan)

    page = html(binh.get("/stays/", {"q": "minh"}))

    assert 'id="no-stays"' in page


@pytest.mark.parametrize("typed", ["tuấn", "GROUPED"])
def test_the_api_lists_the_stay_by_given_name_or_grouped_pin(
    people: People, personas: Personas, typed: str
) -> None:
    stay = stay_of(people.tuan)
    api = token_client(personas.binh)
    text = _grouped(people.tuan.pin) if typed == "GROUPED" else typed

    listed: Any = api.get("/api/v1/stays", {"q": text}).json()

    assert [r["id"] for r in listed["results"]] == [stay.pk]
