"""A decision sent on a pair a colleague decided first is refused saying who decided it and when (local time,
day first), on the page and on the API: the second officer needs a name to talk to, not only a "no".
Until session 30 the refusal said only that the pair was already decided."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.lib.errors import DomainError
from dancu.matching.models import CandidatePair
from dancu.matching.services import decisions
from dancu.registry.models import Citizen
from tests.matching.factories import candidate_pair, staged_row
from tests.matching.test_api import REASON, api, post, refusal
from tests.matching.test_pages import SignIn
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db


def _decided_by_thu(thu: User, pair: CandidatePair) -> CandidatePair:
    pair = decisions.candidate_pair_decide(actor=Actor(thu), pair=pair, same=False, reason=REASON)
    # 06:05 UTC is 13:05 in Hà Nội: the refusal says the officer's own clock, not the server's.
    CandidatePair.objects.filter(pk=pair.pk).update(decided_at=datetime(2026, 3, 4, 6, 5, tzinfo=UTC))
    return pair


def test_the_service_refusal_names_the_officer_and_the_local_time(thu: User, hung: Citizen) -> None:
    pair = _decided_by_thu(thu, candidate_pair(hung, staged_row()))
    lan = reviewer(username="lan")

    with pytest.raises(DomainError) as exc:
        decisions.candidate_pair_decide(actor=Actor(lan), pair=pair, same=True, reason=REASON)

    [refused] = exc.value.errors
    assert refused.code == "pair.already_decided"
    for message in (refused.message_vi, refused.message_en):
        assert "Đinh Thị Thu (thu)" in message
        assert "04/03/2026 13:05" in message
    assert "Không phải cùng một người" in refused.message_vi
    assert "not the same person" in refused.message_en
    # Nothing of the citizens is said: a colleague's name and a time, no more.
    assert hung.full_name not in refused.message_vi
    assert hung.pin not in refused.message_vi


def test_an_automatic_decision_is_said_to_be_automatic(thu: User, hung: Citizen, duplicate: Citizen) -> None:
    pair = candidate_pair(hung, duplicate)
    CandidatePair.objects.filter(pk=pair.pk).update(
        status=CandidatePair.Status.DIFFERENT,
        decided_by=None,
        decided_at=datetime(2026, 3, 4, 6, 5, tzinfo=UTC),
    )

    with pytest.raises(DomainError) as exc:
        decisions.candidate_pair_decide(actor=Actor(thu), pair=pair, same=False, reason=REASON)

    [refused] = exc.value.errors
    assert "tự động" in refused.message_vi
    assert "automatically" in refused.message_en
    assert "04/03/2026 13:05" in refused.message_vi


def test_the_page_says_who_decided_first(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    pair = _decided_by_thu(thu, candidate_pair(hung, staged_row()))
    lan = sign_in(Client(), reviewer(username="lan"))

    response = lan.post(f"/duplicates/{pair.pk}/decide/", {"decision": "same", "reason": REASON})

    assert response.status_code == 422
    page = response.content.decode()
    assert "pair.already_decided" in page
    assert "Đinh Thị Thu (thu)" in page
    assert "04/03/2026 13:05" in page


def test_the_api_says_who_decided_first(thu: User, hung: Citizen) -> None:
    pair = _decided_by_thu(thu, candidate_pair(hung, staged_row()))

    response = post(
        api(reviewer(username="lan")),
        f"/api/v1/matching/pairs/{pair.pk}/decision",
        {"same": True, "reason": REASON},
    )

    assert refusal(response, 422) == [("pair", "pair.already_decided")]
    [error] = response.json()["errors"]
    assert "Đinh Thị Thu (thu)" in error["message_vi"]
    assert "04/03/2026 13:05" in error["message_en"]
