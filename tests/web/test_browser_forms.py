"""A DC01 form's whole way, in a real headless Chromium.

Lan fills in a DC01 on her phone at the door: the page checks what she types as she types it, and she
submits. Hằng, commune reviewer of Phường Hoàn Kiếm, checks it at the station; Cường, supervisor of Hà Nội,
re-checks it and applies it; the citizen is then in the registry, their history pointing to the form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from dancu.collection.models import CollectionForm
from dancu.registry.models import Citizen, RecordVersion
from tests.collection.forms_support import make_reviewers
from tests.conftest import Personas
from tests.web.conftest import open_menu
from tests.web.test_browser import MIN_TAP_PX, _phone_layout_problems

# The live server answers from another thread: what a test writes must be committed to be seen there.
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SignIn = Callable[..., Page]


def _sign_out(page: Page) -> None:
    page.get_by_role("navigation").get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url("**/login/**")


def test_a_dc01_filled_in_on_a_phone_is_checked_rechecked_and_applied(
    personas: Personas, signed_in_page: SignIn, phone: Page, desktop: Page, tmp_path: Path
) -> None:
    staff = make_reviewers(personas)

    # Lan, at the door, on her phone.
    page = signed_in_page(personas.lan, page=phone)
    open_menu(page)
    page.get_by_role("navigation").get_by_role("link", name="Lập phiếu DC01").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Phiếu DC01: thu thập thông tin dân cư")
    expect(page.get_by_label("Mã xã/phường (2025)")).to_have_value("00070")

    page.evaluate("window.dancuSamePage = true")
    name = page.get_by_label("Họ, chữ đệm và tên khai sinh")
    name.tap()
    name.press_sequentially("đỗ minh 3")
    # The check comes back while she is still on the field: no submit, no new page.
    expect(page.locator("#err-full_name")).to_contain_text("[name.digits]")
    expect(page.locator("#form-check")).to_contain_text("Còn 1 lỗi cần sửa trước khi gửi")
    assert page.evaluate("window.dancuSamePage") is True

    name.fill("")
    name.press_sequentially("đỗ minh khang")
    expect(page.locator("#err-full_name ul.errorlist")).to_have_count(0)
    expect(page.locator("#form-check")).to_contain_text("Chưa thấy lỗi")

    birth = page.get_by_label("Ngày sinh", exact=True)
    birth.press_sequentially("31/02/1992")
    expect(page.locator("#err-birth_date")).to_contain_text("[date.day_range]")
    birth.fill("12/03/1992")
    expect(page.locator("#err-birth_date ul.errorlist")).to_have_count(0)
    page.get_by_label("Giới tính").select_option("M")
    page.get_by_label("Nơi đăng ký khai sinh (mã tỉnh, vd. 001)").fill("001")
    page.get_by_label("Số nhà, đường, thôn/tổ").fill("Số 8 phố Hàng Bè")
    page.get_by_label("Ngày đăng ký cư trú").fill("2024-06-01")
    page.get_by_label("Giấy tờ làm căn cứ", exact=True).fill("Giấy khai sinh số 12/1992")
    expect(page.locator("#form-check")).to_contain_text("Chưa thấy lỗi")
    assert page.evaluate("window.dancuSamePage") is True

    problems = _phone_layout_problems(page)
    assert problems["scrollWidth"] <= problems["innerWidth"], problems
    assert problems["smallTargets"] == [], f"controls under {MIN_TAP_PX}px: {problems['smallTargets']}"
    page.screenshot(path=tmp_path / "dc01.png", full_page=True)

    page.get_by_role("button", name="Gửi kiểm tra").tap()
    expect(page).to_have_url(re.compile(r"/forms/\d+/$"))
    expect(page.locator("#form-status")).to_have_text("Chờ kiểm tra")
    form = CollectionForm.objects.get()
    expect(page.locator(".messages")).to_contain_text(f"Đã gửi phiếu DC01 #{form.pk} để kiểm tra")
    assert form.data["full_name"] == "đỗ minh khang"

    # Hằng checks it at the station.
    page = signed_in_page(staff.hang, page=desktop)
    page.get_by_role("navigation").get_by_role("link", name="Phiếu chờ xử lý").click()
    expect(page.locator("[data-stat=submitted]")).to_have_text("1")
    page.locator("#queue").get_by_role("link", name=f"DC01 #{form.pk}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Phiếu DC01 #{form.pk}")
    expect(page.locator("dd[data-field=full_name]")).to_have_text("đỗ minh khang")
    page.get_by_role("button", name="Xác nhận đã kiểm tra").click()
    expect(page.locator("#form-status")).to_have_text("Đã kiểm tra, chờ phúc tra")
    expect(page.locator("#no-actions")).to_be_visible()
    _sign_out(page)

    # Cường re-checks and applies it.
    page = signed_in_page(personas.cuong, page=desktop)
    page.goto("/forms/")
    page.locator("#queue").get_by_role("link", name=f"DC01 #{form.pk}").click()
    page.get_by_role("button", name="Xác nhận đã phúc tra").click()
    expect(page.locator("#form-status")).to_have_text("Đã phúc tra, chờ cập nhật")
    page.get_by_role("button", name="Cập nhật vào CSDL").click()

    expect(page).to_have_url(re.compile(r"/citizens/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Đỗ Minh Khang")
    expect(page.locator(".messages")).to_contain_text(f"Đã cập nhật phiếu DC01 #{form.pk} vào CSDL")
    expect(page.locator("#pin")).to_have_text(re.compile(r"^001092\d{6}$"))
    expect(page.get_by_role("region", name="Cư trú")).to_contain_text("Số 8 phố Hàng Bè")

    citizen = Citizen.objects.get(pin=page.locator("#pin").inner_text())
    form.refresh_from_db()
    assert (form.status, form.citizen) == (CollectionForm.Status.APPLIED, citizen)
    assert RecordVersion.objects.filter(entity_id=citizen.pk, source_document=f"DC01 #{form.pk}").exists()
    page.get_by_role("link", name="Lịch sử thay đổi và hồ sơ tại một ngày").click()
    expect(page.locator(".version").first).to_contain_text(f"DC01 #{form.pk}")
