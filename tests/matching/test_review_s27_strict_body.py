"""A decision on whether two records are one person is a JSON true or false, nothing pydantic reads as one.
Until session 27 `"same": "yes"` (and "1", 1, "true") was taken as true and merged two citizens."""

from __future__ import annotations

from typing import Any

import pytest

from dancu.accounts.models import User
from dancu.matching.models import CandidatePair
from dancu.registry.models import Citizen, CitizenMerge
from tests.matching.factories import candidate_pair
from tests.matching.test_api import REASON, api, post, refusal

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("same", ["yes", "1", 1, "true", "on", 0, "false", "no", 1.0])
def test_a_decision_that_is_not_a_json_boolean_is_refused_naming_the_field(
    thu: User, hung: Citizen, duplicate: Citizen, same: Any
) -> None:
    pair = candidate_pair(hung, duplicate)

    response = post(api(thu), f"/api/v1/matching/pairs/{pair.pk}/decision", {"same": same, "reason": REASON})

    assert refusal(response, 422) == [("same", "schema.bool_type")]
    [error] = response.json()["errors"]
    assert error["message_vi"] == "Giá trị không hợp lệ: Phải là true hoặc false"
    assert "boolean" in error["message_en"]
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING
    assert not CitizenMerge.objects.exists()


@pytest.mark.parametrize(("same", "status"), [(True, "merged"), (False, "different")])
def test_json_true_and_false_are_still_decisions(
    thu: User, hung: Citizen, duplicate: Citizen, same: bool, status: str
) -> None:
    pair = candidate_pair(hung, duplicate)
    response = post(api(thu), f"/api/v1/matching/pairs/{pair.pk}/decision", {"same": same, "reason": REASON})
    assert response.status_code == 200, response.content[:500]
    assert response.json()["status"] == status
