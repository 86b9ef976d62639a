"""An import started from the web page, in a real headless Chromium.

Cường, supervisor of Hà Nội, uploads a legacy household book exported to CSV: the worker imports it, the
page follows its progress (HTMX polling) and shows the report by rule, and he downloads the rejected rows.
Then Hằng, commune reviewer of Phường Hoàn Kiếm, finds the row that needs her in her queue, with the text
as read beside the normalized values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from dancu.audit.services import Actor
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.readers import open_source
from dancu.collection.services import import_rows, imports_mark_interrupted
from tests.collection.forms_support import make_reviewers
from tests.conftest import Personas
from tests.web.conftest import open_menu

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

    # The form is sent by HTMX (for the upload's bar): the click returns before the server has answered.
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))
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
    assert [row[0] for row in rows[1:]] == [4]  # the file's line 4: the header is line 1

    # Hằng, on her phone: the row that needs an officer waits in her queue.
    page = signed_in_page(staff.hang, page=phone)
    open_menu(page)
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


def test_a_large_import_shows_determinate_progress_and_the_time_left_on_a_phone(
    personas: Personas, signed_in_page: SignIn, phone: Page, tmp_path: Path, settings: Any
) -> None:
    """Cường uploads a 120-row book from his phone; no worker has taken it yet, then one works through it
    (the test plays the worker, batch by batch): the bar has its end from the start and moves with every
    batch, with the time left, then the second step, then the report."""
    settings.DANCU_TASKS_INLINE = False
    rows = [f"R{i},Người Thứ {chr(65 + i % 26)},Nam,19{50 + i % 50},,,,{HANOI}" for i in range(1, 121)]
    source = tmp_path / "so_ho_khau_lon.csv"
    source.write_text(CSV.splitlines()[0] + "\n" + "\n".join(rows) + "\n", encoding="utf-8")

    page = signed_in_page(personas.cuong, page=phone)
    page.goto("/imports/")
    # The upload is the first step on a phone: its bar follows the bytes sent (HTMX's progress events).
    uploaded: list[str] = []
    page.on(
        "console",
        lambda message: uploaded.append(message.text) if message.text.startswith("upload") else None,
    )
    page.evaluate(
        "document.body.addEventListener('htmx:xhr:progress', () => { const bar ="
        " document.getElementById('upload-progress'); console.log('upload ' + bar.value + ' ' + bar.max); })"
    )
    # A file of the wrong kind first: the refusal replaces the form, naming the file and the rule.
    wrong = tmp_path / "so_ho_khau.txt"
    wrong.write_text("không phải CSV", encoding="utf-8")
    page.get_by_label("Tên nguồn dữ liệu").fill("Sổ hộ khẩu lớn")
    page.get_by_label("Tệp", exact=True).set_input_files(wrong)
    page.get_by_role("button", name="Nhập tệp").tap()
    expect(page.locator("#upload-refusal")).to_contain_text("so_ho_khau.txt")
    expect(page.locator("#upload-refusal")).to_contain_text("[file.type]")
    uploaded.clear()

    page.get_by_label("Tên nguồn dữ liệu").fill("Sổ hộ khẩu lớn")
    page.get_by_label("Tệp", exact=True).set_input_files(source)
    page.get_by_role("button", name="Nhập tệp").tap()

    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))
    run = ImportRun.objects.get()
    expect(page).to_have_url(re.compile(rf"/imports/{run.pk}/$"))
    assert uploaded, "the upload's bar never moved"
    value, maximum = (float(n) for n in uploaded[-1].split()[1:])
    assert value == maximum > source.stat().st_size

    progress = page.locator("#import-progress")
    bar = page.locator("#step-progress")
    # Waiting for a worker, the bar already knows its end: 120 rows.
    expect(progress).to_have_attribute("data-step", "queued")
    expect(bar).to_have_attribute("max", "120")
    expect(bar).to_have_attribute("value", "0")
    expect(page.locator("#import-steps [data-step=reading]")).to_have_attribute("aria-current", "step")
    box = bar.bounding_box()
    assert box is not None
    assert box["width"] <= 390, "the bar must fit a phone's screen"

    class WorkerStoppedError(Exception):
        pass

    def stop_after(count: int) -> Callable[[ImportRun], None]:
        def check(current: ImportRun) -> None:
            if current.rows_read >= count:
                raise WorkerStoppedError

        return check

    stored = Path(settings.VAR_DIR) / "imports" / run.stored_file
    actor = Actor(personas.cuong)
    with pytest.raises(WorkerStoppedError):
        import_rows(run=run, source=open_source(stored), actor=actor, batch_size=30, on_batch=stop_after(30))
    # The page, polling, follows: a quarter read, the time left estimated from this session's rate.
    expect(progress).to_have_attribute("data-step", "reading")
    expect(bar).to_have_attribute("value", "30")
    expect(page.locator("#step-percent")).to_have_text("25%")
    expect(page.locator("#time-left")).to_contain_text(re.compile(r"Còn|Đang ước tính"))
    with pytest.raises(WorkerStoppedError):
        import_rows(run=run, source=open_source(stored), actor=actor, batch_size=30, on_batch=stop_after(90))
    expect(bar).to_have_attribute("value", "90")
    expect(page.locator("#step-percent")).to_have_text("75%")

    # The worker dies there; minutes later the workers' check marks the run interrupted, and Cường
    # continues it from his phone. The worker (inline now) finishes it.
    imports_mark_interrupted(
        actor=Actor(system="import"),
        now=timezone.now() + timedelta(minutes=settings.DANCU_IMPORT_STALL_MINUTES + 1),
    )
    expect(progress).to_have_attribute("data-step", "interrupted")
    expect(page.locator("#run-interrupted")).to_contain_text("90 dòng đã lưu được giữ nguyên")
    settings.DANCU_TASKS_INLINE = True
    page.locator("#resume").tap()
    expect(progress).to_have_attribute("data-finished", "true")
    expect(progress.locator("[data-stat=read]")).to_have_text("120")
    expect(page.locator("#step-progress")).to_have_count(0)
    assert StagingRecord.objects.filter(run=run).count() == 120


def test_the_imports_page_fits_a_phone_with_a_long_file_name_and_shows_no_template_comment(
    personas: Personas, signed_in_page: SignIn, phone: Page, live_server: Any
) -> None:
    police_unit = personas.cuong.police_unit
    assert police_unit is not None
    ImportRun.objects.create(
        source="Sổ hộ khẩu xã Kim Thành",
        file_name="so_ho_khau_xa_kim_thanh_huyen_kim_thanh_tinh_hai_duong_2019_ban_cap_nhat.csv",
        file_sha256="0" * 64,
        file_size=1,
        file_format="csv",
        started_by=personas.cuong,
        started_label="Cường",
        unit=police_unit.admin_unit,
    )
    page = signed_in_page(personas.cuong, page=phone)
    page.goto(f"{live_server.url}/imports/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nhập tệp dữ liệu cũ")
    expect(page.locator("#runs")).to_contain_text("ban_cap_nhat.csv")
    # Django's {# #} is one line only: a longer comment was shown to every officer as text.
    assert "{#" not in page.locator("main").inner_text()
    # A phone widens its layout to what overflows, so the page is measured against the screen's width.
    assert page.viewport_size is not None
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def test_an_interrupted_import_is_discarded_from_a_phone_with_a_reason(
    personas: Personas, signed_in_page: SignIn, phone: Page, tmp_path: Path, settings: Any
) -> None:
    """Cường's upload was the wrong book: its worker stopped after 30 rows, and rather than continue it he
    discards it from his phone, saying why. The form asks for the reason first; the run then reads "Đã huỷ"
    with it, is polled no more, and offers neither to continue nor to discard."""
    settings.DANCU_TASKS_INLINE = False
    rows = [f"R{i},Người Thứ {chr(65 + i % 26)},Nam,19{50 + i % 50},,,,{HANOI}" for i in range(1, 61)]
    source = tmp_path / "so_nham.csv"
    source.write_text(CSV.splitlines()[0] + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    page = signed_in_page(personas.cuong, page=phone)
    page.goto("/imports/")
    page.get_by_label("Tên nguồn dữ liệu").fill("Sổ nhầm")
    page.get_by_label("Tệp", exact=True).set_input_files(source)
    page.get_by_role("button", name="Nhập tệp").tap()
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))
    run = ImportRun.objects.get()

    def stop(current: ImportRun) -> None:
        raise RuntimeError("the worker stopped")

    stored = Path(settings.VAR_DIR) / "imports" / run.stored_file
    with pytest.raises(RuntimeError):
        import_rows(
            run=run, source=open_source(stored), actor=Actor(personas.cuong), batch_size=30, on_batch=stop
        )
    imports_mark_interrupted(
        actor=Actor(system="import"),
        now=timezone.now() + timedelta(minutes=settings.DANCU_IMPORT_STALL_MINUTES + 1),
    )
    page.reload()
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-step", "interrupted")
    discard = page.locator("#discard")
    discard.locator("summary").tap()
    box = discard.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390, "the form must fit a phone's screen"
    # The reason is required: the browser asks for it before anything is sent.
    page.locator("#discard-submit").tap()
    expect(page.locator("#discard-reason:invalid")).to_have_count(1)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.INTERRUPTED

    page.get_by_label("Lý do huỷ lần nhập").fill("Nhầm tệp: sổ của phường khác")
    page.locator("#discard-submit").tap()
    expect(progress).to_have_attribute("data-status", "discarded")
    expect(progress).to_have_attribute("data-finished", "true")
    expect(page.locator("#run-status")).to_have_text("Đã huỷ")
    expect(page.locator("#run-error")).to_contain_text("Nhầm tệp: sổ của phường khác")
    expect(page.locator("#discard")).to_have_count(0)
    expect(page.locator("#resume")).to_have_count(0)
    run.refresh_from_db()
    assert (run.status, run.rows_read, run.stored_file) == (ImportRun.Status.DISCARDED, 30, "")
