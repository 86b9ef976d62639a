"""An import run on the server and stopped there is continued there (h85).

`dancu import` reads a file the operator has on the server; nothing was uploaded. Killed (a reboot,
`kill -9`), its run is marked interrupted by the workers' check like any other, but the page's
"Tiếp tục nhập" handed it to a worker that had no file to read and marked it failed, "upload the same
file again". Its page now says to run the same command on the server again, and continuing it from the
page is refused, leaving it interrupted.
"""

from __future__ import annotations

import io
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.selectors import import_progress
from dancu.collection.services import import_resume, import_start, imports_mark_interrupted
from dancu.lib.errors import DomainError
from tests.collection.crash_support import staged_until_killed
from tests.collection.test_import import HEADER, HOAN_KIEM
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

# The actor `dancu import` runs as.
COMMAND = Actor(system="import")
SOURCE = "Sổ hộ khẩu Hoài Đức"
# The source as a shell takes it: quoted, since it has spaces.
ON_SERVER_VI = (
    "Lần nhập #{run} được chạy bằng lệnh dancu import trên máy chủ, không có tệp tải lên: để nhập tiếp sau "
    "dòng 20, người vận hành chạy lại cùng lệnh trên máy chủ (cùng tệp, --source 'Sổ hộ khẩu Hoài Đức')."
)
ON_SERVER_EN = (
    "Import #{run} was started with dancu import on the server and has no uploaded file: to continue after "
    "row 20, the operator runs the same command on the server again (the same file, --source 'Sổ hộ khẩu "
    "Hoài Đức')."
)


def people(count: int) -> list[str]:
    return [
        f"R{i},Người Thứ {chr(65 + i % 26)},Nam,19{50 + i % 50},,,,{HOAN_KIEM}" for i in range(1, count + 1)
    ]


def book(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "so_hoai_duc.csv"
    path.write_text(HEADER + "\n" + "\n".join(people(count)) + "\n", encoding="utf-8")
    return path


def killed_on_the_server(tmp_path: Path, settings: Any) -> tuple[ImportRun, Path]:
    """`dancu import` of a 50-row book killed after 20 rows, then marked interrupted by the workers' check."""
    path = book(tmp_path, 50)
    run, source = import_start(path=path, source_name=SOURCE, actor=COMMAND)

    staged_until_killed(rows=20, run=run, source=source, actor=COMMAND, batch_size=10)
    later = timezone.now() + timedelta(minutes=settings.DANCU_IMPORT_STALL_MINUTES + 1)
    assert [r.pk for r in imports_mark_interrupted(actor=COMMAND, now=later)] == [run.pk]
    run.refresh_from_db()
    return run, path


def test_the_check_says_to_run_the_command_again_and_the_service_refuses_writing_nothing(
    personas: Personas, settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path
    settings.DANCU_TASKS_INLINE = True  # a resume that queued the run would run it here and now
    run, path = killed_on_the_server(tmp_path, settings)
    assert (run.status, run.stored_file, run.started_by) == (ImportRun.Status.INTERRUPTED, "", None)
    # The reason the check wrote says how it goes on: not from the page, but by the command on the server.
    assert run.error.startswith("import.interrupted: ")
    assert "20 rows committed" in run.error
    assert ON_SERVER_VI.format(run=run.pk) in run.error
    assert ON_SERVER_EN.format(run=run.pk) in run.error
    assert "continuing starts at the next row" not in run.error
    error = run.error

    with pytest.raises(DomainError) as refused:
        import_resume(actor=Actor(personas.minh), run=run)
    (problem,) = refused.value.errors
    assert (problem.field, problem.code) == ("", "import.resume_on_server")
    assert problem.message_vi == ON_SERVER_VI.format(run=run.pk)
    assert problem.message_en == ON_SERVER_EN.format(run=run.pk)
    # Nothing written: still interrupted with the check's reason, not failed, not queued, not resumed.
    run.refresh_from_db()
    assert (run.status, run.error, run.rows_read) == (ImportRun.Status.INTERRUPTED, error, 20)
    assert run.session_started_at is not None
    assert not AuditEvent.objects.filter(
        event_type__in=[EventType.IMPORT_RESUMED, EventType.IMPORT_FAILED], subject_id=str(run.pk)
    ).exists()
    # The role comes first: a collector is told that importing is not theirs.
    with pytest.raises(DomainError) as not_theirs:
        import_resume(actor=Actor(personas.lan), run=run)
    assert not_theirs.value.errors[0].code == "role.not_allowed"

    # What the message says works: the same command on the server resumes after row 20.
    err = io.StringIO()
    call_command("import", str(path), source=SOURCE, stdout=io.StringIO(), stderr=err)
    assert "resuming after row 20" in err.getvalue()
    run.refresh_from_db()
    assert (run.status, run.rows_read, run.error) == (ImportRun.Status.DONE, 50, "")
    numbers = (
        StagingRecord.objects.filter(run=run).order_by("row_number").values_list("row_number", flat=True)
    )
    assert list(numbers) == list(range(1, 51))


def test_its_page_says_to_run_the_command_again_instead_of_offering_to_continue(
    personas: Personas, settings: Any, tmp_path: Path, sign_in: Any
) -> None:
    settings.VAR_DIR = tmp_path
    settings.DANCU_TASKS_INLINE = True
    run, _path = killed_on_the_server(tmp_path, settings)
    # A run of the server belongs to no area: the ministry sees it.
    ministry = sign_in(Client(), personas.minh)
    url = reverse("collection:import_progress", args=[run.pk])

    page = ministry.get(url).content.decode()
    assert 'id="run-interrupted"' in page
    assert 'id="resume"' not in page
    assert f'<p id="resume-on-server">{ON_SERVER_VI.format(run=run.pk)}</p>' in unescape(page)
    ministry.cookies["django_language"] = "en"
    page = ministry.get(url).content.decode()
    assert f'<p id="resume-on-server">{ON_SERVER_EN.format(run=run.pk)}</p>' in unescape(page)

    # A form posted anyway (a page left open from before): refused with the rule, and the run left as it was.
    response = ministry.post(reverse("collection:import_resume", args=[run.pk]))
    assert response.status_code == 302
    assert response.url == reverse("collection:import_run", args=[run.pk])
    flashed = [str(message) for message in get_messages(response.wsgi_request)]
    assert flashed == [f"{ON_SERVER_EN.format(run=run.pk)} [import.resume_on_server]"]
    run.refresh_from_db()
    assert (run.status, run.rows_read) == (ImportRun.Status.INTERRUPTED, 20)
    assert import_progress(run).step == "interrupted"


def test_an_uploaded_run_still_offers_to_continue(
    personas: Personas, settings: Any, tmp_path: Path, sign_in: Any
) -> None:
    settings.VAR_DIR = tmp_path
    settings.DANCU_TASKS_INLINE = False
    importer = sign_in(Client(), personas.cuong)
    content = (HEADER + "\n" + "\n".join(people(5)) + "\n").encode()
    upload = SimpleUploadedFile("so.csv", content)
    importer.post(reverse("collection:imports"), {"source": SOURCE, "file": upload})
    run = ImportRun.objects.get()
    # A worker took it, then went silent a day ago.
    a_day_ago = timezone.now() - timedelta(days=1)
    ImportRun.objects.filter(pk=run.pk).update(session_started_at=a_day_ago, updated_at=a_day_ago)
    assert [r.pk for r in imports_mark_interrupted(actor=COMMAND)] == [run.pk]
    run.refresh_from_db()
    assert "continuing starts at the next row" in run.error
    assert "dancu import" not in run.error
    page = importer.get(reverse("collection:import_progress", args=[run.pk])).content.decode()
    assert 'id="resume"' in page
    assert 'id="resume-on-server"' not in page
