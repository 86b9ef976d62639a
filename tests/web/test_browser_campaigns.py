"""A leader's path through the campaign pages in a real headless Chromium, on a desktop and a phone.

Cường, of the Hà Nội police, opens the campaign on his province, sees the chart drawn by Chart.js (served
from our static files), sorts the ranking of his communes, drills down to Phường Hoàn Kiếm and its shifts;
Minh, of the ministry, does the same from the country on his phone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.campaigns import conftest as campaigns
from tests.campaigns.conftest import Country
from tests.conftest import Personas
from tests.web.test_browser import _check_phone_page

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SignIn = Callable[..., Page]
# The small country of the campaign tests, with its known figures.
country = campaigns.country


def _chart_drawn(page: Page, code: str) -> bool:
    return bool(page.evaluate(f"() => !!Chart.getChart(document.querySelector('#chart-{code}'))"))


def test_a_province_leader_sorts_the_ranking_and_drills_down_to_the_shifts(
    personas: Personas, country: Country, signed_in_page: SignIn
) -> None:
    page = signed_in_page(personas.cuong)
    page.get_by_role("link", name="Chiến dịch").first.click()
    page.get_by_role("link", name=country.campaign.name).click()
    page.wait_for_url(f"**/campaigns/{country.campaign.pk}/01/")
    page.get_by_label("Số liệu đến ngày").fill("2025-07-03")
    page.get_by_role("button", name="Xem").click()
    page.wait_for_url("**day=2025-07-03**")

    cards = page.locator("#metric-cards_taken")
    expect(cards.locator('[data-stat="achieved"]')).to_have_text("8")
    expect(cards.locator('[data-stat="pct"]')).to_have_text("80,0%")
    expect(cards.locator('[data-stat="met"]')).to_have_text("2/3")
    assert _chart_drawn(page, "cards_taken")

    ranking = cards.locator("table.ranking")
    first_unit = ranking.locator("tbody tr").first
    expect(first_unit).to_have_attribute("data-unit", country.duong_lieu.code)
    achieved = ranking.get_by_role("button", name="Đạt được")
    achieved.click()  # fewest first
    expect(first_unit.locator("td").nth(2)).to_have_text("0")
    achieved.click()  # most first
    expect(first_unit).to_have_attribute("data-unit", country.hoan_kiem.code)

    first_unit.get_by_role("link", name="Phường Hoàn Kiếm").click()
    page.wait_for_url(f"**/campaigns/{country.campaign.pk}/{country.hoan_kiem.code}/?day=2025-07-03*")
    expect(page.locator("#unit-name")).to_have_text("Phường Hoàn Kiếm")
    shifts = page.locator('#metric-cards_taken table[data-breakdown="shift"] tbody tr')
    expect(shifts).to_have_count(2)
    expect(shifts.first).to_contain_text("sáng")
    expect(shifts.first).to_contain_text("3")
    # The breadcrumb leads back up to the province, never to the country he may not read.
    crumbs = page.locator("nav.crumbs")
    expect(crumbs).not_to_contain_text("Toàn quốc")
    crumbs.get_by_role("link", name="Thành phố Hà Nội").click()
    expect(page.locator("#unit-name")).to_have_text("Thành phố Hà Nội")


def test_the_national_dashboard_fits_a_phone(
    personas: Personas,
    country: Country,
    signed_in_page: SignIn,
    phone: Page,
    tmp_path: Path,
) -> None:
    page = signed_in_page(personas.minh, page=phone)
    page.goto(f"/campaigns/{country.campaign.pk}/vn/?day=2025-07-03")
    expect(page.locator("#metric-cards_taken [data-stat='achieved']")).to_have_text("13")
    assert _chart_drawn(page, "cards_taken")
    _check_phone_page(page, tmp_path / "national.png")
    page.locator("#metric-cards_taken table.ranking").get_by_role("link", name="Thành phố Hồ Chí Minh").tap()
    expect(page.locator("#metric-cards_taken [data-stat='pct']")).to_have_text("25,0%")
    _check_phone_page(page, tmp_path / "province.png")
