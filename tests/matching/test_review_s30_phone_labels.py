"""On a phone, where the table's head row is hidden, a reviewer working through a day's pairs reads each
value under its column's label and answers at the foot of a long page. A pair of a registry record and an
import row labels its columns as such ("Hồ sơ trong CSDL", "Bản ghi nhập"), not "first" and "second", and
the page leads to the answer's form in one tap. Until session 30 the labels said only first and second, and
the form was several screens down with no way to it but scrolling."""

from __future__ import annotations

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.matching.services import decisions
from dancu.registry.models import Citizen
from tests.matching.factories import candidate_pair, staged_row
from tests.matching.test_api import REASON
from tests.matching.test_pages import SignIn

pytestmark = pytest.mark.django_db


def test_a_registry_record_and_an_import_row_are_labelled_as_such(
    sign_in: SignIn, thu: User, hung: Citizen
) -> None:
    pair = candidate_pair(staged_row(), hung, unit=hung.area_commune)
    client = sign_in(Client(), thu)

    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    assert '<td data-label="Hồ sơ trong CSDL"' in page
    assert '<td data-label="Bản ghi nhập"' in page
    queue = client.get("/duplicates/").content.decode()
    assert '<td data-label="Hồ sơ trong CSDL">' in queue
    assert '<td data-label="Bản ghi nhập">' in queue


def test_two_registry_records_stay_first_and_second(
    sign_in: SignIn, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    pair = candidate_pair(duplicate, hung)

    page = sign_in(Client(), thu).get(f"/duplicates/{pair.pk}/").content.decode()

    assert '<td data-label="Hồ sơ thứ nhất"' in page
    assert '<td data-label="Hồ sơ thứ hai"' in page
    assert "Bản ghi nhập:" not in page


def test_the_page_leads_to_the_answer_while_one_is_awaited(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    pair = candidate_pair(staged_row(), hung, unit=hung.area_commune)
    client = sign_in(Client(), thu)

    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    assert '<a href="#h-decide" id="to-decision">' in page
    assert 'id="h-decide"' in page

    decisions.candidate_pair_decide(actor=Actor(thu), pair=pair, same=False, reason=REASON)
    decided = client.get(f"/duplicates/{pair.pk}/").content.decode()
    assert 'id="to-decision"' not in decided
