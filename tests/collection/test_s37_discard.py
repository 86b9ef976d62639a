"""An import that cannot be read to its end is discarded (session 37).

A run that failed on its file (a damaged file fails at the same row each time it is given again) or was
interrupted while reading it kept its staged rows waiting for good: no officer could decide them, since
rows reach the review queues only once the whole file is read, and every later import of a person among
them was told that the person "waits on row 2 of import #7". An importing role now discards such a run,
with a reason: its rows are kept with its report, but wait for no one, and its file may come again as a
new run. Since session 38 the server's operator does the same with `dancu import --discard RUN --reason`.
"""

from __future__ import annotations

import importlib
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.readers import open_source
from dancu.collection.selectors import import_progress, numbers_waiting_elsewhere
from dancu.collection.services import (
    ImportDiscardedError,
    ImportPolicy,
    import_discard,
    import_rows,
    import_start,
    imports_mark_interrupted,
)
from dancu.lib.errors import DomainError
from tests.collection.crash_support import staged_until_killed
from tests.collection.test_form_api import api, call, ok
from tests.collection.test_import import HEADER, HOAN_KIEM
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

COMMAND = Actor(system="import")
SOURCE = "Sổ hộ khẩu Hoàn Kiếm"
PIN = "001090123456"
HUNG = f"R1,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,{PIN},,{HOAN_KIEM}"
OTHERS = [f"R{i},Người Thứ {chr(65 + i % 26)},Nam,19{50 + i % 50},,,,{HOAN_KIEM}" for i in range(2, 31)]


def _file(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _stage(path: Path, source_name: str) -> ImportRun:
    # Books of one person alike under several source names: the officer went on past the refusal.
    run, source = import_start(path=path, source_name=source_name, actor=COMMAND, same_file_again=True)
    return import_rows(run=run, source=source, actor=COMMAND, policy=ImportPolicy(auto_approve_clean=False))


def _killed(tmp_path: Path, settings: Any) -> tuple[ImportRun, Path]:
    """`dancu import` of a 30-row book, Hùng on its first row waiting for review, killed after 10 rows and
    marked interrupted by the workers' check."""
    path = _file(tmp_path, "so_hoan_kiem.csv", [HUNG, *OTHERS])
    run, source = import_start(path=path, source_name=SOURCE, actor=COMMAND)
    staged_until_killed(
        rows=10,
        run=run,
        source=source,
        actor=COMMAND,
        batch_size=10,
        policy=ImportPolicy(auto_approve_clean=False),
    )
    later = timezone.now() + timedelta(minutes=settings.DANCU_IMPORT_STALL_MINUTES + 1)
    assert [r.pk for r in imports_mark_interrupted(actor=COMMAND, now=later)] == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.rows_read, run.finished_at) == (ImportRun.Status.INTERRUPTED, 10, None)
    return run, path


def _waiting_in(run: ImportRun) -> list[tuple[str, int]]:
    """The rule and the run of each "waits in another import" warning of the run's first row."""
    record = StagingRecord.objects.get(run=run, row_number=1)
    return [(issue["code"], issue["waiting"]["run"]) for issue in record.issues if "waiting" in issue]


def test_a_discarded_runs_rows_wait_for_no_one_and_its_file_comes_again_as_a_new_run(
    personas: Personas, settings: Any, tmp_path: Path
) -> None:
    first, path = _killed(tmp_path, settings)
    # Before: another book with Hùng is told that he waits in the first run.
    before = _stage(_file(tmp_path, "so_2.csv", [HUNG]), "Sổ tạm trú")
    assert _waiting_in(before) == [("pin.waiting_in_import", first.pk)]

    import_discard(actor=Actor(personas.minh), run=first, reason="  Nhầm tệp:\n sổ của phường khác ")

    first.refresh_from_db()
    assert first.status == ImportRun.Status.DISCARDED
    assert first.error == "import.discarded: Nhầm tệp: sổ của phường khác"
    assert import_progress(first).step == "discarded"
    # The rows read are kept, with the run's counts, for its report.
    assert StagingRecord.objects.filter(run=first).count() == first.rows_read == 10
    assert StagingRecord.objects.get(run=first, row_number=1).status == StagingRecord.Status.REVIEW
    event = AuditEvent.objects.get(event_type=EventType.IMPORT_DISCARDED, subject_id=str(first.pk))
    assert event.data == {
        "reason": "Nhầm tệp: sổ của phường khác",
        "rows_read": 10,
        "review": 10,
        "was": "interrupted",
    }
    # The row that was told so now reads that the other row waits no more...
    [elsewhere] = numbers_waiting_elsewhere(
        actor=personas.minh, record=StagingRecord.objects.get(run=before, row_number=1)
    )
    assert (elsewhere.run, elsewhere.row, elsewhere.waiting) == (first.pk, 2, False)
    # ...and a later book with Hùng is told of the row that still waits (the second book's), not of his row
    # in the discarded run, the oldest.
    after = _stage(_file(tmp_path, "so_3.csv", [HUNG]), "Sổ đăng ký khai sinh")
    assert _waiting_in(after) == [("pin.waiting_in_import", before.pk)]

    # The same file under the same source: a new run, from its first row, not the discarded one resumed.
    again = _stage(path, SOURCE)
    assert again.pk != first.pk
    assert (again.status, again.rows_read) == (ImportRun.Status.DONE, 30)
    assert _waiting_in(again) == [("pin.waiting_in_import", before.pk)]
    first.refresh_from_db()
    assert first.status == ImportRun.Status.DISCARDED


def test_discarding_is_refused_to_other_roles_without_a_reason_and_for_a_run_read_to_its_end(
    personas: Personas, settings: Any, tmp_path: Path
) -> None:
    run, _path = _killed(tmp_path, settings)

    def refused(actor: Actor, target: ImportRun, reason: str = "Tệp hỏng") -> tuple[str, str]:
        with pytest.raises(DomainError) as caught:
            import_discard(actor=actor, run=target, reason=reason)
        (problem,) = caught.value.errors
        return problem.field, problem.code

    assert refused(Actor(personas.lan), run) == ("", "role.not_allowed")
    for reason in ("", "   ", "x" * 501, "Tệp\u200bhỏng"):
        assert refused(Actor(personas.minh), run, reason) == ("reason", "import.discard_reason")
    done = _stage(_file(tmp_path, "so_4.csv", [HUNG]), "Sổ tạm vắng")
    with pytest.raises(DomainError) as caught:
        import_discard(actor=Actor(personas.minh), run=done, reason="Tệp hỏng")
    (problem,) = caught.value.errors
    assert problem.code == "import.not_discardable"
    assert problem.message_en == (
        "Only an import that failed or was interrupted while reading its file, and not discarded yet, can be "
        "discarded; this one cannot."
    )
    # Nothing was written by the refusals.
    run.refresh_from_db()
    done.refresh_from_db()
    assert (run.status, done.status) == (ImportRun.Status.INTERRUPTED, ImportRun.Status.DONE)
    assert not AuditEvent.objects.filter(event_type=EventType.IMPORT_DISCARDED).exists()
    # Once discarded, not twice.
    import_discard(actor=Actor(personas.minh), run=run, reason="Tệp hỏng")
    assert refused(Actor(personas.minh), run) == ("", "import.not_discardable")
    assert AuditEvent.objects.filter(event_type=EventType.IMPORT_DISCARDED).count() == 1


def _uploaded_and_silent(importer: Client, tmp_path: Path) -> ImportRun:
    """A book uploaded from the page, taken by a worker that went silent a day ago: interrupted."""
    content = (HEADER + "\n" + "\n".join([HUNG, *OTHERS[:4]]) + "\n").encode()
    importer.post(
        reverse("collection:imports"), {"source": SOURCE, "file": SimpleUploadedFile("so.csv", content)}
    )
    run = ImportRun.objects.get()
    a_day_ago = timezone.now() - timedelta(days=1)
    ImportRun.objects.filter(pk=run.pk).update(session_started_at=a_day_ago, updated_at=a_day_ago)
    assert [r.pk for r in imports_mark_interrupted(actor=COMMAND)] == [run.pk]
    run.refresh_from_db()
    assert run.stored_file
    return run


def test_the_run_page_discards_it_for_its_area_only_and_the_uploaded_copy_is_deleted(
    personas: Personas, settings: Any, tmp_path: Path, sign_in: Any
) -> None:
    settings.VAR_DIR = tmp_path
    settings.DANCU_TASKS_INLINE = False
    importer = sign_in(Client(), personas.cuong)
    run = _uploaded_and_silent(importer, tmp_path)
    copy = tmp_path / "imports" / run.stored_file
    assert copy.is_file()
    page = importer.get(reverse("collection:import_run", args=[run.pk])).content.decode()
    assert 'id="discard"' in page
    assert 'name="reason"' in page

    # A supervisor of another province sees no such run, and cannot discard it.
    elsewhere = sign_in(Client(), personas.dung)
    assert (
        elsewhere.post(reverse("collection:import_discard", args=[run.pk]), {"reason": "x"}).status_code
        == 404
    )
    # Nor does a collector of one of its communes: the run is the supervisor's, of the city.
    collector = sign_in(Client(), personas.lan)
    assert (
        collector.post(reverse("collection:import_discard", args=[run.pk]), {"reason": "x"}).status_code
        == 404
    )
    run.refresh_from_db()
    assert run.status == ImportRun.Status.INTERRUPTED

    # Without a reason: refused, naming the rule.
    response = importer.post(reverse("collection:import_discard", args=[run.pk]), {"reason": " "})
    assert response.status_code == 302
    assert "[import.discard_reason]" in [str(m) for m in get_messages(response.wsgi_request)][-1]
    run.refresh_from_db()
    assert run.status == ImportRun.Status.INTERRUPTED

    response = importer.post(reverse("collection:import_discard", args=[run.pk]), {"reason": "Sai tệp"})
    assert response.status_code == 302
    assert response.url == reverse("collection:import_run", args=[run.pk])
    run.refresh_from_db()
    assert (run.status, run.stored_file) == (ImportRun.Status.DISCARDED, "")
    assert not copy.exists()
    # Its page no longer offers it, and its progress says so and is not polled again.
    page = importer.get(reverse("collection:import_run", args=[run.pk])).content.decode()
    assert 'id="discard"' not in page
    progress = importer.get(reverse("collection:import_progress", args=[run.pk])).content.decode()
    assert 'data-status="discarded"' in progress
    assert 'data-finished="true"' in progress
    assert "hx-trigger" not in progress
    assert "import.discarded: Sai tệp" in progress
    assert "Đã huỷ" in progress


def test_the_api_links_the_discard_and_names_the_field_of_each_refusal(
    personas: Personas, settings: Any, tmp_path: Path
) -> None:
    run, _path = _killed(tmp_path, settings)
    ministry = api(personas.minh)
    shown = ok(ministry.get(f"/api/v1/imports/{run.pk}"))
    assert shown["links"]["discard"] == f"/api/v1/imports/{run.pk}/discard"
    # Another area does not see the run at all.
    assert (
        call(api(personas.dung), "post", f"/api/v1/imports/{run.pk}/discard", {"reason": "x"}).status_code
        == 404
    )

    refused = call(ministry, "post", f"/api/v1/imports/{run.pk}/discard", {"reason": " "})
    assert refused.status_code == 422
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("reason", "import.discard_reason")
    ]
    refused = call(ministry, "post", f"/api/v1/imports/{run.pk}/discard", {})
    assert refused.status_code == 422
    assert "reason" in refused.content.decode()

    discarded = ok(call(ministry, "post", f"/api/v1/imports/{run.pk}/discard", {"reason": "Tệp hỏng"}))
    assert (discarded["status"], discarded["progress"]["step"]) == ("discarded", "discarded")
    assert discarded["error"] == "import.discarded: Tệp hỏng"
    assert discarded["links"]["discard"] is None
    again = call(ministry, "post", f"/api/v1/imports/{run.pk}/discard", {"reason": "Tệp hỏng"})
    assert again.status_code == 422
    assert [(e["field"], e["code"]) for e in again.json()["errors"]] == [
        ("import_id", "import.not_discardable")
    ]


def test_a_process_still_reading_a_discarded_run_writes_no_more_rows(
    personas: Personas, settings: Any, tmp_path: Path
) -> None:
    """The workers' check marks a run interrupted when its process has been silent for minutes, but the
    process may only have been slow: one that goes on after its run was discarded stops at its next batch
    and writes nothing more."""
    run, path = _killed(tmp_path, settings)
    import_discard(actor=Actor(personas.minh), run=run, reason="Tệp hỏng")
    with pytest.raises(ImportDiscardedError):
        import_rows(run=run, source=open_source(path), actor=COMMAND, batch_size=10)
    run.refresh_from_db()
    assert (run.status, run.rows_read) == (ImportRun.Status.DISCARDED, 10)
    assert StagingRecord.objects.filter(run=run).count() == 10


def test_dancu_import_says_so_when_its_run_is_discarded_while_it_reads(
    personas: Personas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dancu import` on the server, silent for long enough to be marked interrupted after its first batch
    and then discarded from the page by the ministry, though it was only slow: the command stops with a
    message, not a traceback, and the rows after that batch are not written."""
    command = importlib.import_module("dancu.collection.management.commands.import")
    path = _file(tmp_path, "so_hoan_kiem.csv", [HUNG, *OTHERS])
    real_bar = command.progress_bar

    def bar_that_discards(**options: Any) -> Any:
        bar = real_bar(**options)
        update = bar.update

        def discard_after_first(count: float) -> Any:
            done = update(count)
            if bar.n >= 10:
                # Silent for longer than the check waits, it is marked interrupted, then discarded.
                imports_mark_interrupted(actor=COMMAND, now=timezone.now() + timedelta(days=1))
                import_discard(actor=Actor(personas.minh), run=ImportRun.objects.get(), reason="Sai tệp")
            return done

        bar.update = discard_after_first
        return bar

    monkeypatch.setattr(command, "progress_bar", bar_that_discards)
    with pytest.raises(CommandError) as stopped:
        call_command(
            "import",
            str(path),
            source=SOURCE,
            batch_size=10,
            workers=0,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    run = ImportRun.objects.get()
    assert str(stopped.value) == (
        f"Lần nhập #{run.pk} đã bị huỷ trong khi lệnh đang chạy; không ghi thêm dòng nào. Chạy lại lệnh "
        f"để nhập tệp thành một lần nhập mới. / Import #{run.pk} was discarded while this command ran; no "
        "more rows were written. Run the command again to import the file as a new run."
    )
    assert (run.status, run.rows_read) == (ImportRun.Status.DISCARDED, 10)
    assert StagingRecord.objects.filter(run=run).count() == 10


def _discard_command(*args: str, **options: Any) -> str:
    out = io.StringIO()
    call_command("import", *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def test_dancu_import_discard_gives_up_a_run_as_the_servers_command(
    personas: Personas, settings: Any, tmp_path: Path
) -> None:
    """The operator who ran a damaged book on the server gives its run up there, with a reason: as the
    page does, as `system:import`, and the same file then comes again as a new run."""
    run, path = _killed(tmp_path, settings)
    out = _discard_command(discard=run.pk, reason="  Tệp hỏng từ dòng 11 ")
    assert out.strip() == (
        f"Đã huỷ lần nhập #{run.pk} ({SOURCE}, so_hoan_kiem.csv): 10 dòng đã đọc giữ lại cùng báo cáo, "
        f"không còn chờ ai; có thể nhập lại tệp thành lần nhập mới. / Import #{run.pk} discarded ({SOURCE}, "
        "so_hoan_kiem.csv): the 10 rows read stay with its report and wait for no one; the file may be "
        "imported again as a new run."
    )
    run.refresh_from_db()
    assert (run.status, run.error) == (ImportRun.Status.DISCARDED, "import.discarded: Tệp hỏng từ dòng 11")
    event = AuditEvent.objects.get(event_type=EventType.IMPORT_DISCARDED, subject_id=str(run.pk))
    assert (event.actor_id, event.actor_label, event.data["reason"]) == (
        None,
        "system:import",
        "Tệp hỏng từ dòng 11",
    )
    _discard_command(str(path), source=SOURCE)
    assert ImportRun.objects.exclude(pk=run.pk).get().status == ImportRun.Status.DONE


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        # The rules of the service, with their codes, the run named.
        ((), {"reason": ""}, "#{run}: [import.discard_reason]"),
        ((), {}, "#{run}: [import.discard_reason]"),
        ((), {"reason": "x" * 501}, "#{run}: [import.discard_reason]"),
        # A run is named by its number: the command reads no file to discard it.
        (("so.csv",), {"reason": "Tệp hỏng"}, "--discard takes no FILE nor --source"),
        ((), {"reason": "Tệp hỏng", "source": SOURCE}, "--discard takes no FILE nor --source"),
    ],
)
def test_dancu_import_discard_refusals_name_the_rule_and_change_nothing(
    settings: Any, tmp_path: Path, args: tuple[str, ...], options: dict[str, Any], message: str
) -> None:
    run, _path = _killed(tmp_path, settings)
    with pytest.raises(CommandError) as refused:
        _discard_command(*args, discard=run.pk, **options)
    assert message.format(run=run.pk) in str(refused.value)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.INTERRUPTED
    assert not AuditEvent.objects.filter(event_type=EventType.IMPORT_DISCARDED).exists()


def test_dancu_import_discard_refuses_a_run_read_to_its_end_and_one_that_does_not_exist(
    tmp_path: Path,
) -> None:
    done = _stage(_file(tmp_path, "so.csv", [HUNG]), SOURCE)
    with pytest.raises(CommandError) as refused:
        _discard_command(discard=done.pk, reason="Tệp hỏng")
    assert str(refused.value).startswith(f"#{done.pk}: [import.not_discardable] ")
    done.refresh_from_db()
    assert done.status == ImportRun.Status.DONE
    with pytest.raises(CommandError, match=f"there is no import run #{done.pk + 1}$"):
        _discard_command(discard=done.pk + 1, reason="Tệp hỏng")


def test_dancu_import_without_a_file_or_with_a_reason_to_import_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, "so.csv", [HUNG])
    with pytest.raises(
        CommandError, match=r"FILE and --source are required \(or --discard RUN --reason TEXT\)"
    ):
        _discard_command(source=SOURCE)
    with pytest.raises(CommandError, match="FILE and --source are required"):
        _discard_command(str(path))
    with pytest.raises(CommandError, match="--reason goes with --discard only"):
        _discard_command(str(path), source=SOURCE, reason="Tệp hỏng")
    assert not ImportRun.objects.exists()
