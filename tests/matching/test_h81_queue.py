"""The duplicates queue as a commune reviewer works it (session 25, h81): a pair's history names the officer
who decided as the form's steps do, by their full name, not by their account's username."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.registry.models import Citizen
from tests.conftest import make_citizen
from tests.matching.factories import candidate_pair

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def test_a_pairs_history_names_the_officer_who_decided_by_their_full_name(
    sign_in: SignIn, thu: User, hung: Citizen
) -> None:
    elsewhere = make_citizen(full_name="Nguyễn Văn Hưng", address="Số 9 phố Hàng Bông")
    pair = candidate_pair(elsewhere, hung)
    client = sign_in(Client(), thu)
    response = client.post(
        f"/duplicates/{pair.pk}/decide/", {"decision": "different", "reason": "Khác cha mẹ"}, follow=True
    )
    page = response.content.decode()
    assert 'data-event="matching.pair.decided"' in page
    # Before, the line read "… · thu · …": the account, not the officer a colleague knows.
    assert '<span class="actor">Đinh Thị Thu</span>' in page
    assert " · thu · " not in page
