"""Browser fixtures: one headless Chromium per session, a fresh context per test, desktop and phone.

The pages are driven through Debian's Chromium (never a browser downloaded by Playwright, which cannot
be fetched here; `scripts/ensure-chromium` installs it) against pytest-django's live server.

The live server answers from its own thread, so a browser test must use `transactional_db`: the data
the test creates has to be committed for the server to see it. Django empties every table when such a
test ends, including the administrative units that tests/conftest.py loads once per session; the
`pytest_runtest_teardown` wrapper of tests/conftest.py loads them again, with the rows the data
migrations wrote (the fee table, the built-in metrics, the schedules), so the tests that follow still
find them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

from dancu.accounts.models import User
from tests.conftest import PASSWORD, otp_now

CHROMIUM = Path(os.environ.get("DANCU_CHROMIUM", "/usr/bin/chromium"))
# Headless, and nothing that reaches the network: no updates, no sync, no background fetches.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
# An ordinary mid-range phone held upright, as officers use it door to door.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
# Generous for a loaded machine (a screenshot of a chart page took over 10 s with both cores busy), short
# enough that a missing element still fails the test within a minute.
TIMEOUT_MS = 30_000


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """The Playwright driver, shared by the browser tests of this package.

    Its sync API keeps an asyncio loop marked as running in the test's thread between calls, so Django
    would take every ORM call of a test (fixtures, `otp_now`, checks on the database, the flush after
    the test) for a call from async code and refuse it. They are plain synchronous calls, and the live
    server has its own thread: Django's check is switched off while the driver lives. Package scope
    rather than session scope keeps the check on for every test outside tests/web."""
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as driver:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One Chromium for all browser tests; each test gets its own context (cookies, storage)."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run scripts/ensure-chromium", pytrace=False)
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    expect.set_options(timeout=TIMEOUT_MS)
    yield chromium
    chromium.close()


def _context(browser: Browser, live_server: LiveServer, options: dict) -> BrowserContext:
    context = browser.new_context(base_url=live_server.url, locale="vi-VN", **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def desktop(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page in a fresh desktop browser: no cookies, no session, no history from other tests."""
    context = _context(browser, live_server, DESKTOP)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page in a fresh phone browser (390×844, touch)."""
    context = _context(browser, live_server, PHONE)
    yield context.new_page()
    context.close()


def sign_in_through_pages(page: Page, user: User, *, password: str = PASSWORD) -> Page:
    """Sign in as an officer does: user name and password, then the 6-digit code of the app."""
    page.goto("/login/")
    page.get_by_label("Tên đăng nhập").fill(user.username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Tiếp tục").click()
    page.wait_for_url("**/login/otp/")
    page.get_by_label("Mã xác thực 6 số").fill(otp_now(user))
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


@pytest.fixture
def signed_in_page(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer
) -> Callable[..., Page]:
    """`signed_in_page(user)` signs in on the desktop page; `signed_in_page(user, page=phone)` elsewhere."""

    def _sign_in(user: User, *, page: Page | None = None) -> Page:
        return sign_in_through_pages(page if page is not None else request.getfixturevalue("desktop"), user)

    return _sign_in


def open_menu(page: Page) -> None:
    """Unfold the officer's menu where it is folded (a phone); on a wider screen it is always open."""
    if page.locator("#menu").get_attribute("open") is None:
        page.locator("#menu > summary").click()
    expect(page.locator("#menu .menu-links")).to_be_visible()
