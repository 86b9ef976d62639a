"""The review of duplicate records in a real headless Chromium, on a phone.

Thu, a commune reviewer of Phường Hoàn Kiếm, opens the queue from the navigation, reads the pair side by
side, chooses which address stays, says "same person" with a reason and sees the merge; then takes it
back.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from dancu.matching.models import CandidatePair
from dancu.registry.models import Citizen
from tests.conftest import household_of, make_citizen
from tests.matching.factories import candidate_pair
from tests.registry.merge_support import card, reviewer
from tests.web.conftest import open_menu

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SignIn = Callable[..., Page]


def test_a_reviewer_decides_a_pair_on_her_phone(signed_in_page: SignIn, phone: Page) -> None:
    thu = reviewer()
    hung = make_citizen(full_name="Nguyễn Văn Hùng", old_id_number="012345678")
    household_of(hung)
    card(hung)
    elsewhere = make_citizen(full_name="Nguyen Van Hung", address="Số 9 phố Hàng Bông", phone="0912345678")
    pair = candidate_pair(elsewhere, hung, probability=0.973)

    page = signed_in_page(thu, page=phone)
    page.goto("/")
    open_menu(page)
    page.get_by_role("navigation").get_by_role("link", name="Hồ sơ nghi trùng").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hồ sơ nghi trùng")
    row = page.locator(f"tr[data-pair='{pair.pk}']")
    expect(row).to_contain_text("Nguyen Van Hung")
    row.get_by_role("link", name="97%").click()

    expect(page).to_have_url(re.compile(rf"/duplicates/{pair.pk}/$"))
    expect(page.locator("#sides tr[data-field=address] td.differs")).to_have_count(2)
    expect(page.locator("#evidence tr[data-agreed=yes]")).to_have_count(3)
    expect(page.locator("#kept")).to_contain_text(hung.pin)
    # Nothing of the page is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.get_by_label("Cùng một người", exact=True).check()
    page.get_by_label("Lý do (bắt buộc)").fill("Cùng họ tên, ngày sinh; công dân xác nhận")
    page.get_by_role("button", name="Ghi quyết định").click()
    # The address conflict needs a choice: the page says so and keeps what was typed.
    expect(page.locator("#decision-errors")).to_contain_text("merge.choice_required")
    expect(page.get_by_label("Lý do (bắt buộc)")).to_have_value("Cùng họ tên, ngày sinh; công dân xác nhận")

    page.get_by_label("Cùng một người", exact=True).check()
    page.get_by_label("Nơi thường trú giữ lại").select_option("keep")
    page.get_by_role("button", name="Ghi quyết định").click()
    expect(page.locator("#pair-status")).to_have_text("Đã hợp nhất")
    expect(page.locator("#merge")).to_contain_text(elsewhere.pin)
    expect(page.locator("#history li")).to_have_count(1)
    assert Citizen.objects.get(pk=hung.pk).phone == "0912345678"

    page.get_by_label("Lý do (bắt buộc)").fill("Xác minh lại: hai người khác nhau")
    page.get_by_role("button", name="Huỷ hợp nhất").click()
    expect(page.locator("#pair-status")).to_have_text("Chờ xem xét")
    expect(page.locator("#history li")).to_have_count(2)
    assert CandidatePair.objects.get(pk=pair.pk).status == CandidatePair.Status.PENDING
    assert Citizen.objects.get(pk=elsewhere.pk).merged_into_id is None
