"""The quality scorecard in a real headless Chromium.

Cường, supervisor of Hà Nội, opens the scorecard of his city at his desk, sees its figures and trend,
drills down to Phường Hoàn Kiếm and opens the worst record. Lan, collector of Hoàn Kiếm, reads the same
commune's scorecard on her phone: the page fits the screen, the list becomes cards, and a unit outside
her commune is simply not found.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from dancu.audit.models import AccessLog
from dancu.collection.quality.models import QualityPass
from dancu.collection.quality.services import quality_pass_run
from dancu.registry.models import Citizen
from tests.collection.quality_support import QUALITY, complete_citizen, force
from tests.conftest import HOAN_KIEM, HONG_HA, Personas
from tests.web.test_browser import _check_phone_page

# The live server answers from another thread: what a test writes must be committed to be seen there.
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SignIn = Callable[..., Page]


@pytest.fixture
def assessed(transactional_db: None) -> dict[str, Citizen]:
    people = {
        "hung": complete_citizen("Nguyễn Văn Hùng"),
        "du": complete_citizen("Trần Văn Đủ", household=False, address="Số 3 phố Hàng Trống"),
        "mai": complete_citizen("Lê Thị Mai", sex="F", household=False, commune_code=HONG_HA),
    }
    force(people["du"], full_name="trần văn đủ")
    today = timezone.localdate()
    for days_ago in (2, 1, 0):
        quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL, today=today - timedelta(days=days_ago))
    return people


def test_a_supervisor_drills_down_from_his_city_to_the_worst_record(
    personas: Personas, assessed: dict[str, Citizen], signed_in_page: SignIn
) -> None:
    page = signed_in_page(personas.cuong)
    page.get_by_role("navigation").get_by_role("link", name="Chất lượng dữ liệu").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Chất lượng dữ liệu: Thành phố Hà Nội")
    expect(page.locator("[data-count=records]")).to_have_text("3")
    expect(page.locator("[data-stat=passed_all]")).to_have_text("33,3%")
    # The trend: three days, five lines.
    expect(page.locator("#trend svg polyline")).to_have_count(5)
    points = page.locator("#trend polyline[data-line=passed_all]").get_attribute("points")
    assert points is not None
    assert len(points.split()) == 3

    page.locator("#sub-units").get_by_role("link", name="Phường Hoàn Kiếm").click()
    expect(page).to_have_url(re.compile(rf"/quality/\?unit={HOAN_KIEM}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Chất lượng dữ liệu: Phường Hoàn Kiếm")
    expect(page.locator("[data-stat=du]")).to_have_text("50,0%")
    rows = page.locator("#records-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("[household.none]")
    expect(rows.first).to_contain_text("[name.not_canonical]")

    rows.first.get_by_role("link", name="trần văn đủ").click()
    expect(page).to_have_url(re.compile(rf"/citizens/{assessed['du'].pk}/$"))


def test_a_collector_reads_her_communes_scorecard_on_her_phone(
    personas: Personas, assessed: dict[str, Citizen], signed_in_page: SignIn, phone: Page, tmp_path: Path
) -> None:
    page = signed_in_page(personas.lan, page=phone)
    page.goto("/quality/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Chất lượng dữ liệu: Phường Hoàn Kiếm")
    expect(page.locator("#records-table tbody tr")).to_have_count(1)
    _check_phone_page(page, tmp_path / "quality-phone.png")

    # The filter chips are big enough to tap.
    page.get_by_role("link", name="Chưa Sạch").tap()
    expect(page).to_have_url(re.compile(r"indicator=sach"))
    expect(page.locator("#records-table tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Chưa Sống").tap()
    expect(page.locator("#records-empty")).to_be_visible()

    response = page.goto(f"/quality/?unit={HONG_HA}")
    assert response is not None
    assert response.status == 404
    response = page.goto("/quality/?unit=%3Cb%3Ex")
    assert response is not None
    assert response.status == 400
    expect(page.locator("#bad-request")).to_contain_text("[unit.unknown]")


def test_an_officer_downloads_her_communes_records_that_need_work_on_her_phone(
    personas: Personas, assessed: dict[str, Citizen], signed_in_page: SignIn, phone: Page, tmp_path: Path
) -> None:
    page = signed_in_page(personas.lan, page=phone)
    page.goto("/quality/")
    with page.expect_download() as download_info:
        page.locator("#export-records").get_by_role("link", name="XLSX").tap()
    saved = tmp_path / "records.xlsx"
    download_info.value.save_as(saved)
    rows = list(load_workbook(saved, read_only=True).active.iter_rows(values_only=True))
    assert rows[0][:2] == ("Số định danh", "Họ và tên")
    # Đủ of Hoàn Kiếm only: Mai of Hồng Hà needs work too, outside Lan's commune.
    assert [row[0] for row in rows[1:]] == [assessed["du"].pin]
    assert AccessLog.objects.filter(
        actor=personas.lan, action=AccessLog.Action.EXPORT, citizen=assessed["du"]
    ).exists()
    assert not AccessLog.objects.filter(actor=personas.lan, citizen=assessed["mai"]).exists()

    with page.expect_download() as download_info:
        page.locator("#export-scorecard").get_by_role("link", name="CSV").tap()
    text = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Mã đơn vị,Tên đơn vị,Số hồ sơ")
    assert text.splitlines()[1].startswith(f"{HOAN_KIEM},")
