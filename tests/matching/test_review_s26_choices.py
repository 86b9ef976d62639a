"""A merge choice the merge does not know (a client's typing error, "permenant") is refused naming the choices
there are, where until session 26 it read "Lựa chọn không hợp lệ; chỉ được: " with nothing after it."""

from __future__ import annotations

import pytest

from dancu.accounts.models import User
from dancu.matching.models import CandidatePair
from dancu.registry.models import Citizen
from tests.matching.factories import candidate_pair
from tests.matching.test_api import api, post

pytestmark = pytest.mark.django_db


def test_an_unknown_choice_is_refused_naming_the_choices_there_are(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    pair = candidate_pair(hung, duplicate)

    answer = post(
        api(thu),
        f"/api/v1/matching/pairs/{pair.pk}/decision",
        {"same": True, "reason": "Cùng cha mẹ", "choices": {"permenant": "keep"}},
    )

    assert answer.status_code == 422
    [refusal] = answer.json()["errors"]
    assert (refusal["field"], refusal["code"]) == ("choices.permenant", "merge.choice_invalid")
    for message in (refusal["message_vi"], refusal["message_en"]):
        assert "permenant" in message
        assert "permanent, temporary, current, old_id_number, father, mother" in message
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING


def test_a_known_choice_with_an_unknown_value_names_its_values(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    pair = candidate_pair(hung, duplicate)

    answer = post(
        api(thu),
        f"/api/v1/matching/pairs/{pair.pk}/decision",
        {"same": True, "reason": "Cùng cha mẹ", "choices": {"father": "absorb"}},
    )

    assert answer.status_code == 422
    [refusal] = answer.json()["errors"]
    assert (refusal["field"], refusal["code"]) == ("choices.father", "merge.choice_invalid")
    assert refusal["message_vi"].endswith("chỉ được: keep")
    assert refusal["message_en"].endswith("allowed: keep")
