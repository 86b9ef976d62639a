"""The auditor's access log over the API: thin handlers over the page's selectors, for an auditor's token.

The rest of the API is for officers who read records, and refuses an auditor's token; these endpoints
take an auditor's token and no other. The auditor's own reading is logged with the channel "api".
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router

from dancu.accounts.api import AuditorToken
from dancu.accounts.models import User
from dancu.audit.exports import access_log_file
from dancu.audit.models import AccessLog
from dancu.audit.schemas import (
    AccessLogOut,
    AccessLogPageParams,
    AccessLogParams,
    AccessReadersOut,
    AccessReadersParams,
)
from dancu.audit.selectors import AccessLogQuery, access_log_export, access_log_readers, access_log_search
from dancu.lib.downloads import ExportFormat

API = AccessLog.Channel.API


router = Router(tags=["audit"], auth=AuditorToken())


def _actor(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _query(params: AccessLogParams) -> AccessLogQuery:
    return AccessLogQuery(
        # Stripped as the page's fields are: a name pasted with a space found nothing over the API.
        reader=params.reader.strip(),
        reader_id=params.reader_id,
        job=params.job,
        pin=params.pin.strip(),
        since=params.since,
        until=params.until,
        action=params.action,
        channel=params.channel,
        without_audit=params.without_audit,
        at_night=params.at_night,
        outside_area=params.outside_area,
    )


def _row(row: AccessLog) -> dict[str, Any]:
    unit = row.reader_unit  # as stored with the read, not the account's unit now
    return {
        "id": row.pk,
        "accessed_at": row.accessed_at,
        "reader": row.actor_label,
        "reader_unit": str(unit) if unit is not None else None,
        "citizen_pin": row.citizen.pin,
        "citizen_name": row.citizen.full_name,
        "action": row.action,
        "channel": row.channel,
        "purpose": row.purpose,
        "detail": row.detail,
    }


@router.get(
    "/audit/access",
    response=AccessLogOut,
    summary="Who read the data of your area's citizens, newest first (auditors only)",
)
def access_log(request: HttpRequest, params: Query[AccessLogPageParams]) -> dict[str, Any]:
    page = access_log_search(actor=_actor(request), query=_query(params), before=params.before, channel=API)
    return {"rows": [_row(row) for row in page.rows], "next_before": page.next_before}


@router.get(
    "/audit/access/readers",
    response=AccessReadersOut,
    summary="How many of your area's citizens each reader read, the most first (auditors only)",
)
def access_readers(request: HttpRequest, params: Query[AccessReadersParams]) -> dict[str, Any]:
    summary = access_log_readers(actor=_actor(request), query=_query(params), page=params.page, channel=API)
    return {
        "rows": [asdict(tally) for tally in summary.rows],
        "readers": summary.readers,
        "page": summary.page,
        "pages": summary.pages,
    }


@router.get(
    "/audit/access/export.{file_format}",
    summary="Every row of the access log that the filter finds, as CSV or XLSX (auditors only)",
    response={200: None, 422: None},
)
def access_log_export_file(
    request: HttpRequest, file_format: Path[ExportFormat], params: Query[AccessLogParams]
) -> HttpResponse:
    rows = access_log_export(actor=_actor(request), query=_query(params), channel=API)
    return access_log_file(rows, file_format=file_format)
