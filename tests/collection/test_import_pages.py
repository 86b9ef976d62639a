"""The import page: a legacy file uploaded, imported by the background worker, its progress and report."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.collection.models import CollectionForm, ImportRun
from dancu.collection.readers import open_source
from dancu.collection.services import import_rows, upload_folder
from dancu.registry.models import Citizen
from tests.collection.workbook_support import workbook_rows
from tests.conftest import Personas, _officer

pytestmark = pytest.mark.django_db

HEADER = "record_id,full_name,gender,birth_date,birth_place,id_number,old_id_number,address"
HANOI = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'
CSV = "\n".join(
    [
        HEADER,
        f"R1,nguyễn văn hùng,Nam,17/05/1990,Hà Nội,,,{HANOI}",
        f"R2,Đỗ Thị Hoa,Nữ,02/03/1970,Sao Hỏa,,,{HANOI}",
        f"R3,Trần Văn 3,Nam,1990,,,,{HANOI}",
    ]
)


def upload(client: Client, content: bytes, name: str = "so_ho_khau.csv", source: str = "Sổ hộ khẩu") -> Any:
    return client.post(
        reverse("collection:imports"),
        {"source": source, "file": SimpleUploadedFile(name, content)},
    )


def uploaded_waiting(client: Client, settings: Any) -> ImportRun:
    """A file uploaded with no worker to take it: the run waits, as it does between two polls."""
    settings.DANCU_TASKS_INLINE = False
    upload(client, CSV.encode())
    return ImportRun.objects.get()


def test_a_supervisor_uploads_a_file_and_reads_its_report(personas: Personas, sign_in: Any) -> None:
    client = sign_in(Client(), personas.cuong)
    response = upload(client, CSV.encode())
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("collection:import_run", args=[run.pk])
    # The worker ran (inline in tests): staged, then promoted.
    assert (run.status, run.rows_read, run.file_name) == ("done", 3, "so_ho_khau.csv")
    assert run.started_by == personas.cuong
    assert (run.rows_applied, run.rows_queued, run.rows_rejected) == (1, 1, 1)
    assert Citizen.objects.count() == 1
    assert CollectionForm.objects.count() == 1

    page = client.get(response.url).content.decode()
    assert reverse("collection:import_progress", args=[run.pk]) in page
    progress = client.get(reverse("collection:import_progress", args=[run.pk])).content.decode()
    assert 'data-finished="true"' in progress
    assert 'hx-trigger="every' not in progress  # finished: the page stops polling
    assert 'data-rule="name.digits"' in progress
    assert 'data-rule="birth_place.unknown"' in progress

    download = client.get(reverse("collection:import_rejected", args=[run.pk]))
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    rows = workbook_rows(download)
    assert [row[0] for row in rows[1:]] == [4]  # the file's line 4: the header is line 1
    assert rows[1][2] == "name.digits"


def test_a_running_import_asks_to_be_polled(personas: Personas, sign_in: Any, settings: Any) -> None:
    client = sign_in(Client(), personas.cuong)
    run = uploaded_waiting(client, settings)
    progress = client.get(reverse("collection:import_progress", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in progress
    assert 'data-finished="false"' in progress


def test_a_run_staged_for_its_operator_says_its_rows_wait(
    personas: Personas, sign_in: Any, settings: Any
) -> None:
    client = sign_in(Client(), personas.cuong)
    run = uploaded_waiting(client, settings)
    # What `dancu import --stage-only` does on the server: every row staged, none written.
    source = open_source(settings.VAR_DIR / "imports" / run.stored_file)
    import_rows(run=run, source=source, actor=Actor(system="test"))
    progress = client.get(reverse("collection:import_progress", args=[run.pk])).content.decode()
    assert 'data-step="staged"' in progress
    assert 'id="run-staged"' in progress
    assert "--stage-only" in progress
    assert 'id="time-left"' not in progress  # nothing is moving: no time to estimate
    assert 'hx-trigger="every 1s"' in progress  # the writing may begin at any time


def test_an_xlsx_workbook_is_imported_too(personas: Personas, sign_in: Any) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append(["R1", "Lê Thị Mai", "Nữ", "1985-04-03", "Hà Nội", "", "", HANOI.strip('"')])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = upload(sign_in(Client(), personas.cuong), buffer.getvalue(), name="so.xlsx")
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert (run.file_format, run.rows_read, run.rows_applied) == ("xlsx", 1, 1)


def _damaged_workbook() -> bytes:
    """A workbook of the import's columns whose sheet's XML breaks off."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    whole, damaged = io.BytesIO(), io.BytesIO()
    workbook.save(whole)
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            broken = item.filename == "xl/worksheets/sheet1.xml"
            target.writestr(item, b"<worksheet><sheetData><row" if broken else source.read(item))
    return damaged.getvalue()


@pytest.fixture
def own_var_folder(settings: Any, tmp_path: Path) -> None:
    """A var folder (and so an upload folder) of the test's own: the test workers share one, and another
    worker's upload would change what a test counts there."""
    settings.VAR_DIR = tmp_path


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("so.txt", CSV.encode(), "file.type"),
        ("so.csv", b"", "file.empty"),
        ("so.csv", b"\x00\x01\x02binary", "file.binary"),
        ("so.csv", b"a,b,c\n1,2,3\n", "file.no_header"),
        ("so.csv", b"record_id,full_name\nR1,Mai\n", "file.missing_columns"),
        ("so.xlsx", b"PK\x03\x04 not really a workbook", "file.xlsx_damaged"),
        ("so.csv", "full_name,birth_date\n".encode("utf-16"), "file.utf16"),
        ("so.csv", CSV.replace("\n", "\r").encode(), "file.line_ends"),
        ("so.xlsx", _damaged_workbook(), "file.xlsx_damaged"),
    ],
)
@pytest.mark.usefixtures("own_var_folder")
def test_a_file_that_cannot_be_read_is_refused_naming_the_file_and_the_rule(
    personas: Personas, sign_in: Any, name: str, content: bytes, code: str
) -> None:
    kept_before = set(upload_folder().glob("*"))
    response = upload(sign_in(Client(), personas.cuong), content, name=name)
    assert response.status_code == 422
    refusal = response.content.decode()
    assert f"[{code}]" in refusal
    assert name in refusal
    assert not ImportRun.objects.exists()
    # The uploaded copy went with the refusal: no run holds it.
    assert set(upload_folder().glob("*")) == kept_before


def test_a_file_over_the_limit_and_a_missing_file_are_refused(
    personas: Personas, sign_in: Any, settings: Any
) -> None:
    settings.DANCU_IMPORT_UPLOAD_MAX_MB = 1
    client = sign_in(Client(), personas.cuong)
    big = (CSV + "\n" + "\n".join(f"R{i},Lê Văn Tư,Nam,1960,,,,{HANOI}" for i in range(20_000))).encode()
    assert len(big) > 1024 * 1024
    response = upload(client, big)
    assert response.status_code == 422
    assert "[file.too_large]" in response.content.decode()
    response = client.post(reverse("collection:imports"), {"source": "Sổ"})
    assert response.status_code == 422
    assert "[file.missing]" in response.content.decode()
    response = upload(client, CSV.encode(), source="  ")
    assert "[source.name]" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_commune_police_may_not_import(personas: Personas, sign_in: Any) -> None:
    client = sign_in(Client(), personas.lan)
    page = client.get(reverse("collection:imports")).content.decode()
    assert 'id="cannot-import"' in page
    assert 'id="upload-form"' not in page
    response = upload(client, CSV.encode())
    assert response.status_code == 403
    assert "[role.not_allowed]" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_an_officer_of_another_area_finds_no_such_import(personas: Personas, sign_in: Any) -> None:
    importer = sign_in(Client(), personas.cuong)
    upload(importer, CSV.encode())
    run = ImportRun.objects.get()
    outsider = sign_in(Client(), personas.dung)
    for name in ("collection:import_run", "collection:import_progress", "collection:import_rejected"):
        assert outsider.get(reverse(name, args=[run.pk])).status_code == 404
    assert f'data-run="{run.pk}"' not in outsider.get(reverse("collection:imports")).content.decode()
    # The ministry sees every run; the officer who started it sees it in the list.
    ministry = sign_in(Client(), personas.minh)
    assert ministry.get(reverse("collection:import_run", args=[run.pk])).status_code == 200
    mine = importer.get(reverse("collection:imports")).content.decode()
    assert f'data-run="{run.pk}"' in mine


def test_a_run_stays_with_the_area_it_was_made_for_when_its_importer_moves(
    personas: Personas, sign_in: Any
) -> None:
    importer = sign_in(Client(), personas.cuong)
    upload(importer, CSV.encode())
    run = ImportRun.objects.get()
    hanoi = personas.cuong.police_unit
    assert hanoi is not None
    assert run.unit == hanoi.admin_unit
    # Cường is transferred to TP Hồ Chí Minh: its supervisor must not read Hà Nội's rejected rows, and Hà
    # Nội's supervisors keep the run.
    personas.cuong.police_unit = personas.dung.police_unit
    personas.cuong.save(update_fields=["police_unit"])
    stay = _officer("hanoi.stays", User.Role.SUPERVISOR, hanoi, "Phạm Văn Ở Lại")
    for client, status in (
        (sign_in(Client(), personas.dung), 404),
        (importer, 404),
        (sign_in(Client(), stay), 200),
    ):
        for name in ("collection:import_run", "collection:import_rejected"):
            assert client.get(reverse(name, args=[run.pk])).status_code == status, (client, name)


def test_an_upload_sent_by_htmx_is_told_where_to_go(personas: Personas, sign_in: Any) -> None:
    client = sign_in(Client(), personas.cuong)
    response = client.post(
        reverse("collection:imports"),
        {"source": "Sổ", "file": SimpleUploadedFile("so.csv", CSV.encode())},
        headers={"HX-Request": "true"},
    )
    run = ImportRun.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("collection:import_run", args=[run.pk])


def test_the_progress_has_its_end_before_a_worker_takes_the_run(
    personas: Personas, sign_in: Any, settings: Any
) -> None:
    client = sign_in(Client(), personas.cuong)
    run = uploaded_waiting(client, settings)
    progress = client.get(reverse("collection:import_progress", args=[run.pk])).content.decode()
    assert 'data-step="queued"' in progress
    assert '<progress id="step-progress" max="3" value="0">' in progress
    assert 'aria-current="step"' in progress


def test_only_an_officer_who_sees_an_interrupted_run_may_continue_it(
    personas: Personas, sign_in: Any, settings: Any
) -> None:
    importer = sign_in(Client(), personas.cuong)
    run = uploaded_waiting(importer, settings)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.INTERRUPTED)
    resume = reverse("collection:import_resume", args=[run.pk])

    # Another province's supervisor: no such import, whether it exists or not.
    outsider = sign_in(Client(), personas.dung)
    assert outsider.post(resume).status_code == 404
    assert outsider.post(reverse("collection:import_resume", args=[run.pk + 1000])).status_code == 404
    # The auditor reads the access log; the officers' pages are closed to the role.
    assert sign_in(Client(), personas.an).post(resume).status_code == 403
    run.refresh_from_db()
    assert run.status == ImportRun.Status.INTERRUPTED

    page = importer.get(reverse("collection:import_progress", args=[run.pk])).content.decode()
    assert 'id="run-interrupted"' in page
    assert 'id="resume"' in page
    settings.DANCU_TASKS_INLINE = True
    response = importer.post(resume)
    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.status, run.rows_read) == (ImportRun.Status.DONE, 3)
    assert run.promoted_at is not None
    assert importer.get(resume).status_code == 405
