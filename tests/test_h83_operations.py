"""The ministry's engineer runs dancu in production (session 25, h83): the logs of `dancu import` run from
cron name both of its steps in both languages and end where the work ends; `dancu card rotate-key` on a
node whose DANCU_ISSUER_KEY_DIR cannot be written refuses by name instead of a traceback (and the first
key, made by a batch, is refused the same way instead of a 500); `dancu audit_seal` says why a log of
rows younger than an hour has nothing to seal, and when it will."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from dancu.accounts.models import User
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.cards import services as card_services
from dancu.cards.models import IssuerKey, ProductionBatch
from dancu.collection.models import ImportRun, StagingRecord
from dancu.config import health
from dancu.lib.errors import DomainError
from dancu.lib.health_log import FailedCheckWithoutStack
from tests.cards.test_pages_and_api import api_client
from tests.conftest import Personas, make_citizen

pytestmark = pytest.mark.django_db

PROGRESS = re.compile(
    r"^\[\d\d:\d\d:\d\d\] (?P<label>[^:]+): (?P<done>[\d,]+) / (?P<total>[\d,]+) (?P<unit>\D+) "
    r"\((?P<pct>\d+) %\)$"
)
HOAN_KIEM = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'


def _trail() -> tuple[list[tuple[str, Any]], list[str]]:
    keys = list(IssuerKey.objects.order_by("key_id").values_list("key_id", "retired_at"))
    return keys, list(AuditEvent.objects.order_by("pk").values_list("event_type", flat=True))


# `dancu import` from cron: the promotion's lines ---------------------------------------------------------


def test_a_cron_import_names_its_writing_step_in_both_languages_and_ends_at_its_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "so.csv"
    path.write_text(
        "record_id,full_name,gender,birth_date,birth_place,address\n"
        f"R1,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,{HOAN_KIEM}\n"
        f"R2,Lê Thị Mai,Nữ,02/03/1985,Hà Nội,{HOAN_KIEM}\n"
        f"R3,Trần Văn Bình,Nam,04/06/1979,Hà Nội,{HOAN_KIEM}\n"
        # An address that maps to no commune waits for review when staged, and is rejected on the way
        # to the registry (import.no_commune): one row fewer to write than the step began with.
        'R4,Phạm Thị Thu,Nữ,05/07/1981,Hà Nội,"Số 5, Thôn Không Tên"\n',
        encoding="utf-8",
    )

    call_command("import", str(path), source="Sổ h83", stdout=io.StringIO())

    run = ImportRun.objects.get()
    assert StagingRecord.objects.get(row_number=4).status == StagingRecord.Status.REJECTED
    assert (run.rows_applied, run.rows_queued, run.rows_rejected) == (3, 0, 1)
    found = [PROGRESS.match(line) for line in capsys.readouterr().err.splitlines()]
    assert all(found)
    writing = found[-1]
    assert writing is not None
    assert writing.group("label") == "Ghi CSDL, hàng chờ / writing, queuing"
    # Before: "3 / 4 bản ghi (75 %)" for a promotion that had finished.
    assert writing.group("done", "total", "unit", "pct") == ("3", "3", "bản ghi", "100")


# The issuer's key directory cannot be written ------------------------------------------------------------


@pytest.fixture
def key_dir_is_a_file(settings: Any, tmp_path: Path) -> Path:
    """DANCU_ISSUER_KEY_DIR names a file (a mount point mistyped, a path of the wrong node)."""
    path = tmp_path / "issuer_keys"
    path.write_text("not a directory\n", encoding="utf-8")
    settings.DANCU_ISSUER_KEY_DIR = path
    return path


def test_rotate_key_into_a_key_dir_it_cannot_write_is_refused_by_name_and_changes_nothing(
    settings: Any, tmp_path: Path, personas: Personas, caplog: pytest.LogCaptureFixture
) -> None:
    settings.DANCU_ISSUER_KEY_DIR = tmp_path / "shared"
    current = card_services.issuer_key_create(actor=Actor(personas.minh))
    settings.DANCU_ISSUER_KEY_DIR = tmp_path / "a-file"
    settings.DANCU_ISSUER_KEY_DIR.write_text("x", encoding="utf-8")
    before = _trail()

    with pytest.raises(CommandError) as refused:
        call_command("card", "rotate-key", stdout=io.StringIO())

    # Was: FileExistsError's traceback, naming no setting.
    assert str(refused.value) == (
        "Máy chủ này không ghi được khóa ký mới của cơ quan cấp thẻ vào thư mục DANCU_ISSUER_KEY_DIR: "
        "chưa tạo khóa, khóa hiện tại vẫn dùng. Quản trị viên kiểm tra thư mục khóa dùng chung (đã gắn, "
        "là thư mục, cho phép ghi) rồi làm lại / This server cannot write the card issuer's new signing "
        "key into DANCU_ISSUER_KEY_DIR: no key was made and the current key stays in use. The "
        "administrator checks the shared key directory (mounted, a directory, writable) and tries again"
    )
    # The current key is not retired, no key or event was added; the log names the file.
    assert _trail() == before
    assert IssuerKey.objects.get(retired_at__isnull=True) == current
    assert f"cannot write {settings.DANCU_ISSUER_KEY_DIR}/" in caplog.text


def test_the_service_names_the_rule(personas: Personas, key_dir_is_a_file: Path) -> None:
    with pytest.raises(DomainError) as refused:
        card_services.issuer_key_create(actor=Actor(personas.minh))

    [error] = refused.value.errors
    assert (error.field, error.code) == ("issuer_key", "issuer.key_dir_unwritable")
    assert not IssuerKey.objects.exists()


def test_a_first_batch_on_a_node_that_cannot_write_the_first_key_answers_422_not_500(
    personas: Personas, key_dir_is_a_file: Path
) -> None:
    api = api_client(personas.cuong)
    assert personas.cuong.role == User.Role.SUPERVISOR

    response = api.post("/api/v1/cards/batches", headers={"accept-language": "en"})

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("issuer_key", "issuer.key_dir_unwritable")
    assert "DANCU_ISSUER_KEY_DIR" in error["message_en"]
    assert "DANCU_ISSUER_KEY_DIR" in error["message_vi"]
    assert not IssuerKey.objects.exists()
    assert not ProductionBatch.objects.exists()
    assert not AuditEvent.objects.filter(event_type=EventType.CARD_ISSUER_KEY_CREATED).exists()


# `dancu audit_seal` with rows younger than an hour ---------------------------------------------------------


def test_audit_seal_says_why_young_rows_are_not_sealed_and_when_they_will_be(personas: Personas) -> None:
    citizen = make_citizen(full_name="Nguyễn Văn Hùng")
    AccessLog.objects.create(
        citizen=citizen, actor=personas.an, action="view", channel="web", purpose="kiểm tra"
    )
    written = AccessLog.objects.get().accessed_at
    out = io.StringIO()

    call_command("audit_seal", stdout=out)

    at = timezone.localtime(written + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    # Was "nothing to seal yet" alone, about a log that holds rows.
    assert out.getvalue().splitlines() == [
        "Chưa có gì để niêm phong / nothing to seal yet",
        f"1 dòng nhật ký chưa đủ 1 giờ nên chưa niêm phong; dòng cũ nhất niêm phong được từ {at} / "
        f"1 access-log rows are less than an hour old and not sealed yet; the oldest can be sealed from {at}",
    ]


def test_audit_seal_of_an_empty_log_says_only_that(db: None) -> None:
    out = io.StringIO()
    call_command("audit_seal", stdout=out)
    assert out.getvalue() == "Chưa có gì để niêm phong / nothing to seal yet\n"


# `dancu health_check status --no-http` from cron while the workers are down --------------------------------


def test_a_failed_health_check_is_logged_as_a_warning_without_a_traceback(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """What a monitor asking /status/ every few seconds, or `dancu health_check status --no-http` from
    cron (the same checks, the same logger), leaves in the log while the workers are down."""
    Schedule.objects.update(next_run=timezone.now() + timedelta(minutes=5))
    late = Schedule.objects.order_by("pk").first()
    assert late is not None
    late.next_run = timezone.now() - timedelta(minutes=42)
    late.save()
    health._schema_current.clear()

    response = client.get("/status/", HTTP_ACCEPT="application/json")

    assert response.status_code == 500
    assert response.json()["Workers()"].startswith("Unavailable: schedule")
    [failed] = [record for record in caplog.records if record.name == "health_check"]
    assert failed.levelno == logging.WARNING
    assert failed.getMessage() == "Health check Workers() failed"
    # Was the stack of the check's own `raise ServiceUnavailable(...)`, in every log and cron mail.
    assert failed.exc_info is None
    assert "Traceback" not in caplog.text


def test_an_unexpected_error_in_a_check_keeps_its_stack() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.getLogger("health_check").makeRecord(
            "health_check", logging.ERROR, __file__, 1, "Unexpected exception", (), sys.exc_info()
        )
    assert FailedCheckWithoutStack().filter(record)
    assert record.exc_info is not None


# A directory setting set but empty --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["DANCU_ISSUER_KEY_DIR", "DANCU_VAR_DIR"])
def test_a_directory_setting_set_but_empty_is_refused_naming_it(name: str, tmp_path: Path) -> None:
    """`DANCU_ISSUER_KEY_DIR=` left blank in a service's environment file was Path(""): the working
    directory of each process, so a rotated key's private half went wherever the command was run."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DANCU_")}
    env |= {"DANCU_VAR_DIR": str(tmp_path / "var"), name: " "}

    result = subprocess.run(
        [sys.executable, "-m", "dancu.cli", "card", "keys"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert result.returncode == 2
    assert result.stderr.startswith(f"dancu: {name} is set but empty: give it a directory's path, ")
    assert "Traceback" not in result.stderr
    assert list(cwd.iterdir()) == []
