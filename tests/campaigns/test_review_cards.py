"""A leader reads the daily pace on the dashboard and in its PDF as the spreadsheet gives it: with one
decimal. Three cards delivered in a week is 0,4 a day, which the page rounded to 0 while it still forecast
a date from it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from tests.campaigns.conftest import Country
from tests.campaigns.test_pages import cards_section, page
from tests.cards.test_review_cards import _pdf_text
from tests.conftest import Personas

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def test_the_dashboard_gives_the_daily_pace_with_one_decimal(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    client = sign_in(Client(), personas.minh)
    # 13 applications over the last three days of the range: 4,3 a day, not 4.
    assert 'data-stat="pace">4,3<' in cards_section(page(client, country, "vn"))
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert 'data-stat="pace">4.3<' in cards_section(page(client, country, "vn"))


def test_the_pdf_gives_the_daily_pace_with_one_decimal(
    country: Country, personas: Personas, sign_in: SignIn
) -> None:
    client = sign_in(Client(), personas.minh)
    response = client.get(f"/campaigns/{country.campaign.pk}/vn/export.pdf?day=2025-07-03")
    assert response.status_code == 200
    text = _pdf_text(response.content)
    assert "4,3" in text.split("Hồ sơ cấp thẻ căn cước đã thu nhận", 1)[1].split("\n")[:8]
