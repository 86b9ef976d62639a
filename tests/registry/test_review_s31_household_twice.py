"""Session 31 review: "Lập hộ mới" sent twice, or for a person already in a household.

Hạnh's phone loses the answer to "Lập hộ", and she taps the button again. The first tap opened the
household; the second was refused with "head: Người này đang là thành viên của một hộ khác": a field
name in English she has never seen, "another household" for the very one she had just opened, and no way
to it. The page now names the household the person is in, links to it, and keeps the refusal, with its
rule, at the top of the form in words; nothing is written twice.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from dancu.registry import services
from dancu.registry.models import Household, HouseholdMember
from tests.conftest import SYSTEM, People, counts, household_of
from tests.pages import html

pytestmark = pytest.mark.django_db


def _sent() -> dict[str, str]:
    return {
        "commune_code": "00070",
        "address_detail": "Số 3 phố Hàng Bè",
        "registered_on": "2025-09-01",
        "reason": "Tách ra ở riêng",
        "source_document": "CT01 số 15",
    }


def test_a_form_sent_twice_opens_one_household_and_leads_to_it(people: People, lan: Client) -> None:
    url = f"/citizens/{people.hung.pk}/household/new/"
    first = lan.post(url, _sent())
    assert first.status_code == 302
    after_first = counts()

    page = html(lan.post(url, _sent()))

    household = Household.objects.get(memberships__citizen=people.hung)
    assert counts() == after_first
    assert HouseholdMember.objects.filter(citizen=people.hung).count() == 1
    notice = re.search(r'<p[^>]*id="in-household"[^>]*>(.*?)</p>', page, re.S)
    assert notice is not None, page
    assert household.number in notice.group(1)
    assert f'href="/households/{household.pk}/"' in notice.group(1)
    assert "[household.already_member]" in page
    assert "head:" not in page


def test_the_page_of_a_person_in_a_household_says_which_one(people: People, lan: Client) -> None:
    household = household_of(people.hung)

    page = html(lan.get(f"/citizens/{people.hung.pk}/household/new/"))

    notice = re.search(r'<p[^>]*id="in-household"[^>]*>(.*?)</p>', page, re.S)
    assert notice is not None, page
    assert f'href="/households/{household.pk}/"' in notice.group(1)


def test_a_person_in_no_household_sees_no_such_notice(people: People, lan: Client) -> None:
    page = html(lan.get(f"/citizens/{people.hung.pk}/household/new/"))

    assert 'id="in-household"' not in page


def test_the_refusal_of_a_dead_person_shows_no_field_name(people: People, lan: Client) -> None:
    services.citizen_update(
        actor=SYSTEM,
        citizen=people.hung,
        changes={"date_of_death": "2025-01-02"},
        reason="Trích lục khai tử",
        source_document="KT 1/2025",
    )

    page = html(lan.post(f"/citizens/{people.hung.pk}/household/new/", _sent()))

    assert "[citizen.deceased]" in page
    assert "head:" not in page
