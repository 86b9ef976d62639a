"""What an auditor met using the access log (review of session 23): the page says when the sealing of
the log has stopped, instead of promising that rows "are sealed after an hour"; the API's times are UTC
and its days Vietnam's, as docs/api.md now says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog
from dancu.audit.seals import access_log_seal
from dancu.audit.selectors import SEAL_LATE
from tests.conftest import Personas

pytestmark = pytest.mark.django_db


def _page(client: Client, language: str = "vi") -> str:
    response = client.get("/audit/access/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_says_when_rows_wait_past_their_time_for_a_seal(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas, reads: None
) -> None:
    sign_in(client, personas.an)
    # Rows just written wait for the hourly seal: nothing is wrong.
    assert 'id="seal-late"' not in _page(client)

    # No worker has run for hours: the oldest rows are still not sealed.
    first = AccessLog.objects.order_by("pk").first()
    assert first is not None
    hours_ago = timezone.now() - SEAL_LATE - timedelta(minutes=5)
    AccessLog.objects.filter(pk=first.pk).update(accessed_at=hours_ago)
    html = _page(client)
    assert "Chưa có dấu niêm phong" in html
    assert 'id="seal-late"' in html
    assert f"Niêm phong đang chậm: dòng #{first.pk} (lúc " in html
    assert "tác vụ niêm phong nhật ký không chạy" in html
    english = _page(client, "en")
    assert f"Sealing is behind: row #{first.pk} (at " in english
    assert "Niêm phong đang chậm" not in english

    # Once the task has run, the late rows are sealed and the warning goes; the rows written since
    # (the auditor's own reads of the pages above) are young and wait for the next run.
    seal = access_log_seal(now=hours_ago + SEAL_LATE)
    assert seal is not None
    assert seal.last_id >= first.pk
    html = _page(client)
    assert 'id="seal-late"' not in html
    assert f"Niêm phong đến dòng #{seal.last_id}" in html

    # Rows after the newest seal that wait past their time are named, from the first of them.
    after = AccessLog.objects.filter(pk__gt=seal.last_id).order_by("pk").first()
    assert after is not None
    AccessLog.objects.filter(pk=after.pk).update(accessed_at=hours_ago)
    assert f"dòng #{after.pk} (lúc " in _page(client)


def test_the_api_writes_times_in_utc_and_filters_by_vietnams_days(personas: Personas, reads: None) -> None:
    # docs/api.md: a read at 06:30 on 10 June in Hà Nội is 23:30 UTC on the 9th, on the 10th for the filter.
    row = AccessLog.objects.order_by("pk").first()
    assert row is not None
    AccessLog.objects.filter(pk=row.pk).update(accessed_at=datetime(2025, 6, 9, 23, 30, tzinfo=UTC))
    _token, secret = api_token_create(user=personas.an, name="kiểm toán")
    auditor = Client(headers={"Authorization": f"Bearer {secret}"})

    found = auditor.get("/api/v1/audit/access", {"since": "2025-06-10", "until": "2025-06-10"}).json()["rows"]
    assert [(r["id"], r["accessed_at"]) for r in found] == [(row.pk, "2025-06-09T23:30:00Z")]
    assert (
        auditor.get("/api/v1/audit/access", {"since": "2025-06-09", "until": "2025-06-09"}).json()["rows"]
        == []
    )


def test_the_api_reads_a_reader_s_name_as_the_page_does(personas: Personas, reads: None) -> None:
    # The page's field drops the spaces around a name pasted into it; the API found nothing with them.
    _token, secret = api_token_create(user=personas.an, name="kiểm toán")
    auditor = Client(headers={"Authorization": f"Bearer {secret}"})
    name = personas.lan.username

    rows = auditor.get("/api/v1/audit/access", {"reader": f" {name} "}).json()["rows"]

    assert rows
    assert {row["reader"] for row in rows} == {name}


def test_the_api_documents_every_action_it_filters_by() -> None:
    from dancu.audit.schemas import AccessLogParams

    description = AccessLogParams.model_fields["action"].description or ""
    assert all(value in description for value in AccessLog.Action.values)


def test_an_older_page_leads_back_to_the_newest(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas, reads: None
) -> None:
    sign_in(client, personas.an)
    first = client.get("/audit/access/", {"action": "view"})
    assert 'id="newest"' not in first.content.decode()
    before = AccessLog.objects.order_by("-pk").values_list("pk", flat=True).first()

    older = client.get("/audit/access/", {"action": "view", "before": before}).content.decode()

    # Back to the first page of the same filter, without the position in the log.
    assert 'id="newest" href="?action=view"' in older


def test_every_broken_filter_is_named_at_once_on_the_page(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas
) -> None:
    sign_in(client, personas.an)
    response = client.get("/audit/access/", {"since": "abc", "pin": "12a", "action": "steal"})

    errors = response.context["form"].errors
    assert "[date.format]" in str(errors["since"])
    assert "pin" in errors
    assert "action" in errors
