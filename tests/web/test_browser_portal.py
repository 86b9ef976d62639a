"""The citizen's portal in a real headless Chromium on a phone: Hùng, home from the station with the
activation code on his slip, activates his e-ID account, sets up his authenticator app from the secret
on the page, and sees his card, front and back, with its history."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import Page, expect

from dancu.audit.services import Actor
from dancu.cards.models import Card
from dancu.eid import services

# The card tests' fixtures: the fee table, the issuer keys, the Hoàn Kiếm station and Hùng's card.
from tests.cards.conftest import (  # noqa: F401 (fixtures are found by name)
    _fee_table,
    _issuer_keys,
    delivered,
    device,
    station,
)
from tests.conftest import Personas, otp_now
from tests.eid.conftest import CITIZEN_PASSWORD, OTP_SECRET

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def test_hung_activates_his_account_and_sees_his_card_on_his_phone(
    personas: Personas,
    delivered: Card,  # noqa: F811 (the fixture imported above)
    phone: Page,
) -> None:
    hung = delivered.citizen
    _account, code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=hung, identity_checked=True
    )
    page = phone

    page.goto("/me/")
    expect(page).to_have_url(re.compile(r"/me/login/"))
    page.get_by_role("link", name="Lần đầu sử dụng? Kích hoạt tài khoản bằng mã kích hoạt").click()
    page.get_by_label("Số định danh cá nhân").fill(hung.pin)
    page.get_by_label("Mã kích hoạt").fill(code.lower())
    page.get_by_label("Mật khẩu mới", exact=True).fill(CITIZEN_PASSWORD)
    page.get_by_label("Nhập lại mật khẩu mới").fill(CITIZEN_PASSWORD)
    page.get_by_role("button", name="Kích hoạt").click()

    page.wait_for_url("**/me/login/otp/setup/")
    # What the authenticator app does with the secret shown under the QR code.
    # Shown in groups of four; an app drops the spaces.
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    totp = TOTP(base64.b32decode(secret))
    page.get_by_label("Mã xác thực 6 số").fill(f"{totp.token():06d}")
    page.get_by_role("button", name="Xác nhận và đăng nhập").click()

    page.wait_for_url("**/me/")
    card = page.locator(f"#card-{delivered.pk}")
    expect(card).to_have_attribute("data-state", "active")
    expect(card).to_contain_text(delivered.serial)
    expect(card).to_contain_text("Trả thẻ cho công dân")
    for side in ("Mặt trước thẻ", "Mặt sau thẻ"):
        image = card.get_by_role("img", name=side)
        image.scroll_into_view_if_needed()
        expect(image).to_be_visible()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    # The phone shows the page without sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    page.get_by_role("link", name="Thông tin của tôi").click()
    expect(page.locator("#pin")).to_have_text(hung.pin)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_lan_registers_hungs_account_on_her_phone(
    personas: Personas,
    delivered: Card,  # noqa: F811 (the fixture imported above)
    signed_in_page: Callable[..., Page],
    phone: Page,
) -> None:
    hung = delivered.citizen
    page = signed_in_page(personas.lan, page=phone)

    page.goto(f"/cards/citizens/{hung.pk}/")
    page.get_by_role("link", name="Định danh điện tử mức độ 2").click()
    page.get_by_role("button", name="Đăng ký và cấp mã kích hoạt").click()
    expect(page.get_by_role("alert")).to_contain_text("đối chiếu khuôn mặt")
    page.get_by_label("Tôi đã đối chiếu khuôn mặt công dân với ảnh trên thẻ căn cước đang sử dụng").check()
    page.get_by_role("button", name="Đăng ký và cấp mã kích hoạt").click()

    code = page.locator("#activation-code").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # The code on Lan's screen is the one that activates Hùng's account.
    account = services.eid_account_activate(pin=hung.pin, code=code, password=CITIZEN_PASSWORD)
    assert account.status == "active"
    page.goto(page.url)
    expect(page.locator("#account-status")).to_have_attribute("data-status", "active")
    expect(page.locator("#activation-code")).to_have_count(0)


def test_hungs_lock_confirmation_sits_beside_its_words_on_his_phone(
    personas: Personas,
    delivered: Card,  # noqa: F811 (the fixture imported above)
    phone: Page,
) -> None:
    """The box was drawn alone, centred above its sentence: the site's check box sits at the start of
    the line of its words, and a tap on the words ticks it."""
    hung = delivered.citizen
    account, code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=hung, identity_checked=True
    )
    services.eid_account_activate(
        pin=hung.pin, code=code, password=CITIZEN_PASSWORD, otp_secret_hex=OTP_SECRET
    )
    page = phone
    page.goto("/me/login/")
    page.get_by_label("Số định danh cá nhân").fill(hung.pin)
    page.get_by_label("Mật khẩu").fill(CITIZEN_PASSWORD)
    page.get_by_role("button", name="Tiếp tục").click()
    page.wait_for_url("**/me/login/otp/")
    page.get_by_label("Mã xác thực 6 số").fill(otp_now(account.user))
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/me/")

    box = page.get_by_role("checkbox", name="Tôi muốn khoá tài khoản định danh điện tử của mình")
    words = page.get_by_text("Tôi muốn khoá tài khoản định danh điện tử của mình", exact=True)
    box.scroll_into_view_if_needed()
    box_at, words_at = box.bounding_box(), words.bounding_box()
    assert box_at is not None
    assert words_at is not None
    # Beside, not above: the box ends before the words begin, and the two share a line.
    assert box_at["x"] + box_at["width"] <= words_at["x"]
    assert box_at["y"] < words_at["y"] + words_at["height"]
    assert words_at["y"] < box_at["y"] + box_at["height"]
    words.click()
    expect(box).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
