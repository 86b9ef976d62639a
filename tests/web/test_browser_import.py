"""An import started from the web page, in a real headless Chromium.

Cường, supervisor of Hà Nội, uploads a legacy household book exported to CSV: the worker imports it, the
page follows its progress (HTMX polling) and shows the report by rule, and he downloads the rejected rows.
Then Hằng, commune reviewer of Phường Hoàn Kiếm, finds the row that needs her in her queue, with the text
as read beside the normalized values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from dancu.collection.models import ImportRun
from tests.collection.forms_support import make_reviewers
from tests.conftest import Personas

# The live server answers from another thread: what a test writes must be committed to be seen there.
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SignIn = Callable[..., Page]

HANOI = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'
CSV = "\n".join(
    [
        "record_id,full_name,gender,birth_date,birth_place,id_number,old_id_number,address",
        f"R1,nguyễn văn hùng,Nam,17/05/1990,Hà Nội,,,{HANOI}",
        f"R2,ĐỖ THỊ HOA,Nữ,02/03/1970,Sao Hỏa,,,{HANOI}",
        f"R3,Trần Văn 3,Nam,1990,,,,{HANOI}",
    ]
)


def test_an_import_from_the_page_shows_its_progress_report_and_rejected_rows(
    personas: Personas, signed_in_page: SignIn, phone: Page, tmp_path: Path
) -> None:
    staff = make_reviewers(personas)
    source = tmp_path / "so_ho_khau_hoan_kiem.csv"
    source.write_text(CSV, encoding="utf-8")

    page = signed_in_page(personas.cuong)
    page.get_by_role("navigation").get_by_role("link", name="Nhập tệp").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nhập tệp dữ liệu cũ")
    page.get_by_label("Tên nguồn dữ liệu").fill("Sổ hộ khẩu phường Hoàn Kiếm")
    page.get_by_label("Tệp", exact=True).set_input_files(source)
    page.get_by_role("button", name="Nhập tệp").click()

    run = ImportRun.objects.get()
    expect(page).to_have_url(re.compile(rf"/imports/{run.pk}/$"))
    # The counters arrive from the progress endpoint, swapped in by HTMX, and stop once the run is done.
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-finished", "true")
    expect(progress.locator("[data-stat=read]")).to_have_text("3")
    expect(progress.locator("[data-stat=applied]")).to_have_text("1")
    expect(progress.locator("[data-stat=queued]")).to_have_text("1")
    expect(progress.locator("[data-stat=rejected]")).to_have_text("1")
    expect(page.locator("#by-rule [data-rule='name.digits']")).to_be_visible()

    with page.expect_download() as download_info:
        page.locator("#rejected-download").click()
    saved = tmp_path / "rejected.xlsx"
    download_info.value.save_as(saved)
    rows = list(load_workbook(saved, read_only=True).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == [3]

    # Hằng, on her phone: the row that needs an officer waits in her queue.
    page = signed_in_page(staff.hang, page=phone)
    page.get_by_role("navigation").get_by_role("link", name="Phiếu chờ xử lý").tap()
    page.locator("#queue").get_by_role("link").first.tap()
    staging = page.locator("#staging")
    expect(staging.locator("[data-column=full_name] .original")).to_have_text("ĐỖ THỊ HOA")
    expect(staging.locator("[data-column=full_name] .normalized")).to_have_text("Đỗ Thị Hoa")
    expect(staging).to_contain_text("[birth_place.unknown]")
    page.get_by_label("Lý do từ chối").fill("Không có người này ở địa chỉ")
    page.get_by_role("button", name="Từ chối bản ghi").tap()
    expect(page.locator("#form-status")).to_have_text("Bị từ chối")
    run.refresh_from_db()
    assert run.rows_rejected == 2
