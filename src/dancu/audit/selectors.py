"""The auditor's reading of the access log: scoped to the auditor's area, and itself logged.

Who read a citizen's data is personal data of that citizen: the rows shown are those of citizens in the
area of the auditor's police unit (`accounts.selectors.access_log_scope`), and every page shown writes an
access-log row per citizen on it, so that the auditors' own reading is in the trail they audit.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from dancu.accounts.models import User
from dancu.accounts.selectors import access_log_scope
from dancu.audit.models import AccessLog, AccessLogSeal
from dancu.audit.services import access_log_record
from dancu.lib import pin as pin_codec
from dancu.lib.errors import DomainError, FieldError

PAGE_SIZE = 50
# Rows read from the database at a time for a file, and logged together.
EXPORT_CHUNK = 2_000
MAX_READER_LENGTH = 150
# The purpose written with the auditor's own reads (in Vietnamese, the language of the record).
AUDIT_PURPOSE = gettext_noop("Kiểm toán nhật ký truy cập")


@dataclass(frozen=True)
class AccessLogQuery:
    reader: str = ""  # a part of the account name or of the system job's label
    pin: str = ""  # the citizen read
    since: date | None = None  # first day, inclusive, in Vietnam's time
    until: date | None = None  # last day, inclusive
    action: str = ""
    channel: str = ""


@dataclass
class AccessLogPage:
    rows: list[AccessLog]
    # The id to read on from for the next (older) page; None on the last page.
    next_before: int | None


def _validate(query: AccessLogQuery) -> None:
    errors: list[FieldError] = []
    # Account names and job labels ("system:dancu match --registry") are free text: only their length
    # and control characters are refused.
    if len(query.reader) > MAX_READER_LENGTH:
        errors.append(
            FieldError(
                "reader",
                "text.too_long",
                f"Người đọc: tối đa {MAX_READER_LENGTH} ký tự.",
                f"Reader: at most {MAX_READER_LENGTH} characters.",
            )
        )
    if any(unicodedata.category(char) == "Cc" for char in query.reader):
        errors.append(
            FieldError(
                "reader",
                "text.control_chars",
                "Người đọc: có ký tự điều khiển.",
                "Reader: contains control characters.",
            )
        )
    if query.pin:
        try:
            pin_codec.decode(query.pin)
        except pin_codec.PinError as exc:
            errors.append(exc.error)
    if query.since and query.until and query.since > query.until:
        errors.append(
            FieldError(
                "until",
                "date.range",
                "Ngày cuối phải từ ngày đầu trở đi.",
                "The last day must not be before the first day.",
            )
        )
    if query.action and query.action not in AccessLog.Action.values:
        errors.append(FieldError("action", "choice.unknown", "Việc không hợp lệ.", "Unknown action."))
    if query.channel and query.channel not in AccessLog.Channel.values:
        errors.append(FieldError("channel", "choice.unknown", "Kênh không hợp lệ.", "Unknown channel."))
    if errors:
        raise DomainError(errors)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _filters(actor: User, query: AccessLogQuery) -> Q:
    """The rows of the auditor's area that `query` asks for; raises DomainError naming each broken rule."""
    _validate(query)
    filters = access_log_scope(actor)
    if query.reader:
        filters &= Q(actor_label__icontains=query.reader)
    if query.pin:
        filters &= Q(citizen__pin=query.pin)
    if query.since:
        filters &= Q(accessed_at__gte=_day_start(query.since))
    if query.until:
        filters &= Q(accessed_at__lt=_day_start(query.until + timedelta(days=1)))
    if query.action:
        filters &= Q(action=query.action)
    if query.channel:
        filters &= Q(channel=query.channel)
    return filters


def access_log_search(
    *,
    actor: User,
    query: AccessLogQuery,
    before: int | None = None,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
) -> AccessLogPage:
    """Access-log rows in the auditor's area matching `query`, newest first, a page of PAGE_SIZE read on
    from `before` (an id; the first page when None). Raises DomainError naming each field that breaks a
    rule. A user who is not an auditor sees nothing. `channel` is how the auditor reads (the page or the
    API), written with their own reads."""
    filters = _filters(actor, query)
    if before is not None:
        filters &= Q(pk__lt=before)
    # Newest first by id, which follows the time of writing and has an index of its own (the primary
    # key), so a page is read from the end of the table without sorting it.
    rows = list(
        AccessLog.objects.filter(filters)
        .select_related("citizen", "actor__police_unit")
        .order_by("-pk")[: PAGE_SIZE + 1]
    )
    next_before = rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None
    rows = rows[:PAGE_SIZE]
    _log_own_reading(rows, actor=actor, action=AccessLog.Action.SEARCH, channel=channel)
    return AccessLogPage(rows=rows, next_before=next_before)


def access_log_export(
    *,
    actor: User,
    query: AccessLogQuery,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
    chunk_size: int = EXPORT_CHUNK,
) -> Iterator[AccessLog]:
    """Every access-log row in the auditor's area matching `query`, newest first, for a file.

    The query is checked before the first row is read (DomainError, as for a page), so that a bad filter
    is answered on the page rather than in a broken download. The rows are read in chunks (a server-side
    cursor on PostgreSQL) and stop at the newest row that existed when the export began: the export's own
    reads, logged as it goes, are not exported with it. Each chunk's citizens are written to the log,
    with the action "export", before its rows are handed on.
    """
    filters = _filters(actor, query)
    newest = AccessLog.objects.aggregate(newest=Max("pk"))["newest"] or 0
    rows = (
        AccessLog.objects.filter(filters, pk__lte=newest)
        .select_related("citizen", "actor__police_unit")
        .order_by("-pk")
    )
    return _export_chunks(rows, actor=actor, channel=channel, chunk_size=chunk_size)


def _export_chunks(
    rows: QuerySet[AccessLog], *, actor: User, channel: AccessLog.Channel, chunk_size: int
) -> Iterator[AccessLog]:
    chunk: list[AccessLog] = []
    for row in rows.iterator(chunk_size=chunk_size):
        chunk.append(row)
        if len(chunk) == chunk_size:
            _log_own_reading(chunk, actor=actor, action=AccessLog.Action.EXPORT, channel=channel)
            yield from chunk
            chunk = []
    _log_own_reading(chunk, actor=actor, action=AccessLog.Action.EXPORT, channel=channel)
    yield from chunk


def _log_own_reading(
    rows: list[AccessLog], *, actor: User, action: AccessLog.Action, channel: AccessLog.Channel
) -> None:
    """The auditor's reading of `rows`, in the log it reads: a row per citizen they name."""
    if rows:
        access_log_record(
            actor=actor,
            citizen_ids=sorted({row.citizen_id for row in rows}),
            action=action,
            channel=channel,
            purpose=AUDIT_PURPOSE,
            detail="access log",
        )


def access_log_newest_seal() -> AccessLogSeal | None:
    """How far the chain of seals reaches (audit/seals.py): its newest seal, None before the first."""
    return AccessLogSeal.objects.order_by("-last_id").first()
