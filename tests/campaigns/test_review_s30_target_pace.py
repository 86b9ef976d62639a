"""Review s30: a daily target that cannot reach the period target is refused.

A target may be given for the period and per day, the period target capping the daily pace. A province
officer who typed 1.000 for the period and 2 a day on a campaign of 10 days planned 20 where 1.000 was
asked: what is due never reaches the target, so a commune that keeps the pace ends the campaign "not met"
and yet never "behind". The plan contradicts itself; it is refused, naming the daily field.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.services import Actor
from dancu.campaigns import services
from dancu.campaigns.models import Target
from dancu.lib.errors import DomainError
from tests.campaigns.conftest import Country
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

SignIn = Callable[[Client, User], Client]


def test_a_daily_target_short_of_the_period_target_is_refused(country: Country, personas: Personas) -> None:
    with pytest.raises(DomainError) as refused:
        services.target_set(
            actor=Actor(personas.cuong),
            campaign_metric=country.cards,
            unit=country.hoan_kiem,
            total=1000,
            per_day=2,
            reason="Giao xã",
        )
    [problem] = refused.value.errors
    assert (problem.field, problem.code) == ("per_day", "target.per_day_short")
    assert "10 ngày" in problem.message("vi")
    assert "1.000" in problem.message("vi")
    # The target set before is unchanged, nothing half-written.
    assert Target.objects.get(campaign_metric=country.cards, unit=country.hoan_kiem).total == 4

    # A pace that reaches the total (and more: the total caps it) is a plan.
    target = services.target_set(
        actor=Actor(personas.cuong),
        campaign_metric=country.cards,
        unit=country.hoan_kiem,
        total=20,
        per_day=2,
        reason="Giao xã",
    )
    assert (target.total, target.per_day) == (20, 2)


def test_the_page_and_the_api_name_the_daily_field(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    client = sign_in(Client(), personas.cuong)
    url = f"/campaigns/{country.campaign.pk}/01/targets/"
    response = client.post(
        url,
        {
            "metric": country.cards.pk,
            "unit": country.hoan_kiem.code,
            "total": "1.000",
            "per_day": "2",
            "reason": "Giao xã",
        },
    )
    assert response.status_code == 400
    errors = response.content.decode().split('data-field="per_day">', 1)[1].split("</ul>", 1)[0]
    assert "không đạt chỉ tiêu cả đợt" in errors

    _token, secret = api_token_create(user=personas.cuong, name="máy tính bảng")
    answer = Client().post(
        f"/api/v1/campaigns/{country.campaign.pk}/targets",
        {"metric": "cards_taken", "unit": country.hoan_kiem.code, "total": 1000, "per_day": 2, "reason": "x"},
        content_type="application/json",
        headers={"authorization": f"Bearer {secret}"},
    )
    assert answer.status_code == 422
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [("per_day", "target.per_day_short")]
