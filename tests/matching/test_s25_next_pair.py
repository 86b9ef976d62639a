"""The pair page offers the next pending pair of the officer's area, most certain first, as a form's page
offers the next form: at 200 pairs a day the officer goes on without going back to the queue (session 25,
the reviewers' round)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.matching.selectors import pair_queue_next
from dancu.registry.models import Citizen
from tests.conftest import SAI_GON, make_citizen
from tests.matching.factories import candidate_pair

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def _next_link(page: str) -> str:
    start = page.index('id="next-pair"')
    return page[start : page.index("</p>", start)]


def test_after_a_decision_the_page_leads_to_the_next_pair_of_the_area(
    sign_in: SignIn, thu: User, hung: Citizen
) -> None:
    first = candidate_pair(make_citizen(full_name="Nguyen Van Hung", address="Số 9 phố Hàng Bông"), hung)
    likelier = candidate_pair(
        make_citizen(full_name="Trần Thị Lan", address="Số 2 phố Hàng Gai"),
        make_citizen(full_name="Tran Thi Lan", address="Số 2 phố Hàng Gai"),
        probability=0.99,
    )
    candidate_pair(
        make_citizen(full_name="Lê Văn Nam", address="Số 3 phố Hàng Đào"),
        make_citizen(full_name="Le Van Nam", address="Số 3 phố Hàng Đào"),
        probability=0.9,
    )
    # A pair of another province's commune is not Thu's to see, and the page never leads to it.
    outside = candidate_pair(
        make_citizen(full_name="Phạm Văn Bình", commune_code=SAI_GON, place="079", address="1 Lê Lợi"),
        make_citizen(full_name="Pham Van Binh", commune_code=SAI_GON, place="079", address="1 Lê Lợi"),
        probability=0.999,
    )
    assert pair_queue_next(actor=thu, after=first) == (likelier.pk, 2)

    client = sign_in(Client(), thu)
    page = client.post(
        f"/duplicates/{first.pk}/decide/", {"decision": "different", "reason": "Khác cha mẹ"}, follow=True
    ).content.decode()
    link = _next_link(page)
    assert f'href="/duplicates/{likelier.pk}/"' in link
    assert f"/duplicates/{outside.pk}/" not in page
    assert "Cặp tiếp theo trong hàng đợi (2 cặp)" in link

    client.cookies["django_language"] = "en"
    english = client.get(f"/duplicates/{first.pk}/").content.decode()
    assert "Next pair in the queue (2 pairs)" in _next_link(english)


def test_the_last_pending_pair_offers_no_next_one(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    only = candidate_pair(make_citizen(full_name="Nguyen Van Hung", address="Số 9 phố Hàng Bông"), hung)
    assert pair_queue_next(actor=thu, after=only) == (None, 0)
    page = sign_in(Client(), thu).get(f"/duplicates/{only.pk}/").content.decode()
    assert 'id="next-pair"' not in page
