"""An import that no worker takes says so on its page after a few minutes, instead of "waiting" forever:
the officer learns that the file is kept and whom to tell (session 25, the reviewers' round: under a server
run without its worker the page stayed on "Chờ máy chủ xử lý" with no hint)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dancu.collection.models import ImportRun
from dancu.collection.selectors import UNCLAIMED_AFTER_SECONDS, import_progress
from tests.collection.test_import_pages import uploaded_waiting
from tests.conftest import Personas

pytestmark = pytest.mark.django_db


def _progress(client: Client, run: ImportRun) -> str:
    return client.get(reverse("collection:import_progress", args=[run.pk])).content.decode()


def test_a_run_no_worker_takes_says_so_after_a_few_minutes(
    personas: Personas, sign_in: Any, settings: Any
) -> None:
    client = sign_in(Client(), personas.cuong)
    run = uploaded_waiting(client, settings)
    assert import_progress(run).unclaimed_minutes is None
    assert 'id="run-unclaimed"' not in _progress(client, run)

    # Started seven minutes ago, and still no worker on it.
    ImportRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(minutes=7))
    run.refresh_from_db()
    progress = import_progress(run)
    assert (progress.step, progress.unclaimed_minutes) == ("queued", 7)
    page = _progress(client, run)
    assert 'data-step="queued"' in page
    assert 'id="run-unclaimed"' in page
    assert "Sau 7 phút vẫn chưa máy chủ nào nhận xử lý lần nhập này" in page
    assert "dancu qcluster" in page
    client.cookies["django_language"] = "en"
    assert "After 7 minutes no server has taken this import yet" in _progress(client, run)


def test_the_hint_waits_for_its_threshold_and_leaves_a_run_a_worker_took(
    personas: Personas, sign_in: Any, settings: Any
) -> None:
    client = sign_in(Client(), personas.cuong)
    run = uploaded_waiting(client, settings)
    now = timezone.now()
    just_under = run.started_at + timedelta(seconds=UNCLAIMED_AFTER_SECONDS - 1)
    assert import_progress(run, now=just_under).unclaimed_minutes is None
    assert (
        import_progress(
            run, now=run.started_at + timedelta(seconds=UNCLAIMED_AFTER_SECONDS)
        ).unclaimed_minutes
        == 5
    )
    # A worker took it: whatever the time since it was started, the hint is gone.
    ImportRun.objects.filter(pk=run.pk).update(
        started_at=now - timedelta(hours=1), session_started_at=now, session_start_count=0
    )
    run.refresh_from_db()
    assert import_progress(run).step == "reading"
    assert import_progress(run).unclaimed_minutes is None
    assert 'id="run-unclaimed"' not in _progress(client, run)
