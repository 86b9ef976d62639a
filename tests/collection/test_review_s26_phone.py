"""Review of session 26: the officer's queue of forms on a phone, whatever a draft holds.

A draft keeps what was typed, errors and all: a name or a return reason typed as one long word (a finger
held on a key, a pasted string) widened every form page past the phone's screen, so that the whole queue
scrolled sideways and each of its other rows shrank to a sliver. Such a word now wraps inside its cell.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright
from pytest_django.live_server_helper import LiveServer

from dancu.audit.services import Actor
from dancu.collection import workflow
from tests.collection.forms_support import Reviewers, dc01
from tests.conftest import Personas
from tests.web import conftest as browser_fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_WORD = "Hoàng" * 18


@pytest.fixture
def phone(live_server: LiveServer) -> Iterator[Page]:
    """A phone's page (390×844, touch), as tests/web/conftest.py opens it: Debian's Chromium, and
    Django's check against ORM calls from async code switched off while the Playwright driver runs."""
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as driver:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = driver.chromium.launch(
            executable_path=str(browser_fixtures.CHROMIUM), args=browser_fixtures.CHROMIUM_ARGS
        )
        context = chromium.new_context(base_url=live_server.url, locale="vi-VN", **browser_fixtures.PHONE)
        context.set_default_timeout(browser_fixtures.TIMEOUT_MS)
        yield context.new_page()
        context.close()
        chromium.close()


def fits(page: Page) -> bool:
    # Measured against the phone's screen, not window.innerWidth: a mobile browser widens its layout
    # viewport to a page too wide for it (zooming out), and the page would then seem to fit.
    width = browser_fixtures.PHONE["viewport"]["width"]  # type: ignore[index]
    return bool(page.evaluate("document.documentElement.scrollWidth") <= width)


def test_a_long_word_in_a_draft_or_a_return_reason_wraps_on_a_phone(
    personas: Personas, staff: Reviewers, phone: Page
) -> None:
    dc01(personas.lan, full_name=f"Nguyễn Thị {LONG_WORD}")
    returned = workflow.form_submit(actor=Actor(personas.lan), form=dc01(personas.lan))
    workflow.form_return(actor=Actor(staff.hang), form=returned, reason=f"Sai {LONG_WORD}")
    browser_fixtures.sign_in_through_pages(phone, personas.lan)

    phone.goto("/forms/")
    assert fits(phone)
    phone.goto(f"/forms/{returned.pk}/")
    assert fits(phone)
