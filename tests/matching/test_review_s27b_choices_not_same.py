"""Merge choices sent through the API with "not the same person" are refused naming the field and the rule
(review session 27, follow-up): a "not the same person" merges nothing, so a client that sends choices
with it has mixed up its answer or its body. Until then they were dropped without a word, on every pair,
and the pair was settled "not the same person" whatever the client meant."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent, EventType
from dancu.matching.models import CandidatePair
from dancu.registry.models import Citizen
from tests.conftest import HONG_HA
from tests.matching.factories import candidate_pair, staged_row
from tests.matching.test_api import REASON, api, post, refusal
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("choices", [{"permanent": "keep"}, {"permenant": "whatever"}])
@pytest.mark.parametrize("kind", ["two citizens", "citizen and row"])
def test_choices_with_not_the_same_person_are_refused_and_nothing_is_decided(
    thu: User, hung: Citizen, duplicate: Citizen, choices: dict[str, str], kind: str
) -> None:
    pair = candidate_pair(duplicate if kind == "two citizens" else staged_row(), hung)

    response = post(
        api(thu),
        f"/api/v1/matching/pairs/{pair.pk}/decision",
        {"same": False, "reason": REASON, "choices": choices},
    )

    assert refusal(response, 422) == [("choices", "merge.choices_not_applicable")]
    [error] = response.json()["errors"]
    assert "choices" in error["message_en"]
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING
    assert not AuditEvent.objects.filter(event_type=EventType.PAIR_DECIDED).exists()


def test_not_the_same_person_without_choices_is_decided(thu: User, hung: Citizen, duplicate: Citizen) -> None:
    pair = candidate_pair(duplicate, hung)
    body: dict[str, Any] = {"same": False, "reason": REASON, "choices": {}}
    response = post(api(thu), f"/api/v1/matching/pairs/{pair.pk}/decision", body)
    assert response.status_code == 200, response.content[:500]
    assert response.json()["status"] == "different"


def test_a_pair_outside_the_area_is_not_found_before_its_choices_are_judged(
    hung: Citizen, duplicate: Citizen
) -> None:
    stranger = reviewer(username="nga", commune_code=HONG_HA)
    pair = candidate_pair(duplicate, hung)
    response = post(
        api(stranger),
        f"/api/v1/matching/pairs/{pair.pk}/decision",
        {"same": False, "reason": REASON, "choices": {"permanent": "keep"}},
    )
    assert refusal(response, 404) == [("", "not_found")]


def test_the_page_decides_not_the_same_person_with_a_residence_picked_before(
    sign_in: Any, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    """The pair's page asks the merge's choices beside the answer, and an officer may pick one, then answer
    "not the same person" after all: the picked choice is a field of the page's form left as it was, not a
    choice sent on purpose, and the answer is taken."""
    pair = candidate_pair(duplicate, hung)
    client = sign_in(Client(), thu)

    response = client.post(
        f"/duplicates/{pair.pk}/decide/",
        {"decision": "different", "reason": REASON, "choice_permanent": "keep"},
    )

    assert (response.status_code, response["Location"]) == (302, f"/duplicates/{pair.pk}/")
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.DIFFERENT
