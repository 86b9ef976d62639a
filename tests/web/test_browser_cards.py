"""Taking a card application in a real headless Chromium: Lan, at the Hoàn Kiếm station on her phone,
finds Hùng by his PIN, reads the check sheet with him, picks the procedure, the shift and the capture
set, attaches the twelve captures and gets the application with its due date and receipt."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from dancu.audit.services import Actor
from dancu.cards import services
from dancu.cards.models import Application
from tests.cards.conftest import capture, load_fee_table
from tests.conftest import HOAN_KIEM, People, Personas, commune
from tests.web.conftest import open_menu

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


@pytest.fixture(autouse=True)
def _fee_table() -> None:
    load_fee_table()


def test_lan_takes_a_card_application_on_her_phone(
    personas: Personas, people: People, signed_in_page: Callable[..., Page], phone: Page
) -> None:
    point = services.intake_point_create(
        actor=Actor(personas.cuong),
        code="HK-01",
        name="Công an phường Hoàn Kiếm",
        kind="station",
        commune=commune(HOAN_KIEM),
    )
    services.intake_device_register(
        actor=Actor(personas.cuong), point=point, serial="TN-0001", has_iris=False
    )
    page = signed_in_page(personas.lan, page=phone)

    open_menu(page)
    page.get_by_role("link", name="Hồ sơ cấp thẻ", exact=True).click()
    page.get_by_role("link", name="Thu nhận hồ sơ").click()
    page.get_by_label("Số định danh cá nhân").fill(people.hung.pin)
    page.get_by_role("button", name="Tìm hồ sơ").click()
    expect(page.locator("#check-sheet")).to_contain_text("Nguyễn Văn Hùng")

    page.get_by_label("Thủ tục").select_option("first_issue")
    page.get_by_label("Ca làm việc").select_option("2")
    device = point.devices.get()
    page.get_by_label("Bộ thiết bị thu nhận").select_option(str(device.pk))
    for kind, data in capture().items():
        page.locator(f"#id_image_{kind}").set_input_files(
            {"name": f"{kind}.png", "mimeType": "image/png", "buffer": data}
        )
    page.get_by_role("button", name="Thu nhận hồ sơ").click()

    expect(page.locator("#application-status")).to_have_attribute("data-status", "taken")
    application = Application.objects.get()
    expect(page).to_have_url(re.compile(rf"/cards/applications/{application.pk}/$"))
    expect(page.locator("#due-on")).to_have_text(application.due_on.strftime("%d/%m/%Y"))
    assert application.shift == "2"
    assert application.biometrics.count() == 12
    # The phone shows the page without sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
