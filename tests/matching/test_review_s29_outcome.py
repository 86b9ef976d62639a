"""The decision form says what "same person" will do to a pair with a staged row (review session 29).

A pair of two citizens said which record is kept; a pair of a citizen and a row of a legacy file said
nothing, and a commune reviewer looking at a row with a blank mother's name could not tell whether
"same person" would write that blank over the registry. It never does: the row is settled as the
citizen's duplicate. The page now says so before the officer answers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.registry.models import Citizen
from tests.matching.factories import candidate_pair, staged_row

pytestmark = pytest.mark.django_db

SignIn = Callable[[Client, User], Client]


def test_a_citizen_and_a_staged_row_say_the_row_becomes_a_duplicate(
    sign_in: SignIn, thu: User, hung: Citizen
) -> None:
    pair = candidate_pair(staged_row(mother_name=""), hung)
    client = sign_in(Client(), thu)

    page = client.get(f"/duplicates/{pair.pk}/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()

    assert 'id="outcome"' in page
    assert f"bản trùng của công dân {hung.full_name} ({hung.pin})" in page
    assert "hồ sơ trong CSDL không bị ghi đè" in page


def test_two_staged_rows_say_one_stays_in_the_review(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    # Hùng only places the pair in his commune, the reviewer's.
    pair = candidate_pair(staged_row(), staged_row(), unit=hung.area_commune)
    client = sign_in(Client(), thu)

    page = client.get(f"/duplicates/{pair.pk}/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()

    assert 'id="outcome"' in page
    assert "chưa có gì được ghi vào CSDL" in page


def test_two_citizens_say_the_record_kept_and_no_row_outcome(
    sign_in: SignIn, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    pair = candidate_pair(duplicate, hung)
    client = sign_in(Client(), thu)

    page = client.get(f"/duplicates/{pair.pk}/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()

    assert 'id="kept"' in page
    assert 'id="outcome"' not in page
