"""Review s30: a commune with nothing recorded says so.

A commune dashboard breaks its figures down by officer, intake point, team and shift. Where nothing was
recorded in the range, the breakdowns were simply missing, and a commune chief could not tell "nothing
done" from "the page did not load": the page now says that nothing was recorded.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from tests.campaigns.conftest import Country
from tests.conftest import HONG_HA, Personas

pytestmark = pytest.mark.django_db

SignIn = Callable[[Client, User], Client]


def test_a_metric_with_nothing_recorded_in_the_commune_says_so(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    html = (
        sign_in(Client(), personas.binh)
        .get(f"/campaigns/{country.campaign.pk}/{HONG_HA}/?day=2025-07-03")
        .content.decode()
    )
    # Hồng Hà took cards on 2-7 and collected no form.
    forms = html.split('id="metric-forms_collected"', 1)[1].split("</section>", 1)[0]
    cards = html.split('id="metric-cards_taken"', 1)[1].split("</section>", 1)[0]
    assert 'data-empty="breakdowns"' in forms
    assert "Chưa ghi nhận kết quả nào" in forms
    assert 'data-empty="breakdowns"' not in cards
