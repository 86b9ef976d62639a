"""Session 31 review: the stay form sent twice.

Bình registers Tuấn's stay from his card; the answer is slow on the ward's connection and he sends the
form again. The second time the registry rightly writes nothing ("Công dân đang cư trú tại đúng địa chỉ
này"), but left him on the form with no way to the stay he had just registered, while a person moving in
who is already of the ward gets a link to their record. The refusal now leads to the stay's page.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from dancu.registry.models import Residence
from tests.conftest import People, counts
from tests.pages import html
from tests.registry.test_stays import card_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_pinned")]


def test_a_stay_sent_twice_is_registered_once_and_the_page_leads_to_it(people: People, binh: Client) -> None:
    first = binh.post("/stays/new/", card_of(people.tuan))
    assert first.status_code == 302
    stay = Residence.objects.get(citizen=people.tuan, kind="temporary", ended_on__isnull=True)
    after_first = counts()

    page = html(binh.post("/stays/new/", card_of(people.tuan)))

    assert counts() == after_first
    assert "[residence.unchanged]" in page
    link = re.search(r'<p[^>]*id="stay-here"[^>]*>(.*?)</p>', page, re.S)
    assert link is not None, page
    assert f'href="/stays/{stay.pk}/"' in link.group(1)


def test_a_refusal_for_another_reason_offers_no_stay(people: People, binh: Client) -> None:
    page = html(binh.post("/stays/new/", card_of(people.tuan, full_name="Trần Văn Khác")))

    assert "[arrival.not_found]" in page
    assert 'id="stay-here"' not in page
