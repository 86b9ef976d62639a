"""The access log made tamper-evident: a chain of seals over its rows.

A seal covers the rows written after the previous seal, up to a row id, and holds the SHA-256 of the
previous seal's digest followed by those rows in a fixed form (`_line`). `access_log_verify` recomputes
every seal from the rows: a row changed, removed or slipped into a sealed range changes a digest, and a
seal changed or removed breaks the link to the next. What the chain cannot show by itself is the last
seals removed together with their rows; the digest of the newest seal, printed by `dancu audit_seal`
and written in its audit event, is what to keep outside the database for that (docs/operations.md).

Rows are sealed only once they are older than `SETTLE`: a row's id is drawn when it is inserted, and a
transaction that has not committed yet may hold a lower id than rows already visible. Sealing past it
would leave it outside the digest, and its commit would then look like a row slipped in. Reads write
their rows in short transactions (a page, an API call, a batch of 5,000 for a system job), so an hour
is far more than any of them takes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from dancu.audit.models import AccessLog, AccessLogSeal, EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.lib.pgcopy import copy_text

SETTLE = timedelta(hours=1)
# Rows per seal: a seal is one pass of this many rows, recomputed whole by the verification.
MAX_ROWS = 200_000
# Rows read from the database at a time while hashing.
_CHUNK = 10_000
_FIELDS = (
    "pk",
    "accessed_at",
    "actor_id",
    "actor_label",
    "citizen_id",
    "action",
    "channel",
    "purpose",
    "detail",
)
ACTOR = Actor(system="audit seal")


def _line(row: tuple[Any, ...]) -> bytes:
    """One row in the fixed form that is hashed: a line of COPY text (lib/pgcopy), the time in UTC.
    Its escaping keeps a tab or a line break inside a value from letting two rows write the same line."""
    pk, accessed_at, *rest = row
    return copy_text([(pk, accessed_at.astimezone(UTC).isoformat(), *rest)]).encode()


def _rows(after: int, last: int | None) -> Iterable[tuple[Any, ...]]:
    """The rows after id `after`, up to `last` (inclusive; every row when None), by id, in chunks."""
    while True:
        rows = AccessLog.objects.filter(pk__gt=after).order_by("pk")
        if last is not None:
            rows = rows.filter(pk__lte=last)
        chunk = list(rows.values_list(*_FIELDS)[:_CHUNK])
        yield from chunk
        if len(chunk) < _CHUNK:
            return
        after = chunk[-1][0]


def _digest(previous: str, rows: Iterable[tuple[Any, ...]]) -> tuple[str, int]:
    """(digest, number of rows) of `rows` chained to the digest `previous`."""
    digest = hashlib.sha256(previous.encode())
    count = 0
    for row in rows:
        digest.update(_line(row))
        count += 1
    return digest.hexdigest(), count


def access_log_seal(*, now: datetime | None = None, max_rows: int | None = None) -> AccessLogSeal | None:
    """Seal the next rows older than `SETTLE` (at most `max_rows`, by default `MAX_ROWS`); returns the
    seal, or None when there is nothing to seal yet. One transaction with its audit event."""
    max_rows = max_rows or MAX_ROWS
    cutoff = (now or timezone.now()) - SETTLE
    with transaction.atomic():
        # The newest seal is locked, so that two sealers running at once cannot both extend the chain
        # from it (with no seal yet, the unique first_id stops the second).
        previous = AccessLogSeal.objects.select_for_update().order_by("-last_id").first()
        after = previous.last_id if previous is not None else 0
        # Only a run of consecutive ids all older than the cutoff: rows are sealed by id range.
        too_new = AccessLog.objects.filter(pk__gt=after, accessed_at__gte=cutoff).aggregate(first=Min("pk"))[
            "first"
        ]
        candidates = AccessLog.objects.filter(pk__gt=after).order_by("pk")
        if too_new is not None:
            candidates = candidates.filter(pk__lt=too_new)
        last = candidates.values_list("pk", flat=True)[max_rows - 1 : max_rows].first()
        if last is None:
            last = candidates.order_by("-pk").values_list("pk", flat=True).first()
        if last is None:
            return None
        previous_digest = previous.digest if previous is not None else ""
        digest, count = _digest(previous_digest, _rows(after, last))
        seal = AccessLogSeal.objects.create(
            first_id=after + 1,
            last_id=last,
            rows=count,
            previous_digest=previous_digest,
            digest=digest,
        )
        audit_event_record(
            actor=ACTOR,
            event_type=EventType.ACCESS_LOG_SEALED,
            subject_type="access_log_seal",
            subject_id=seal.pk,
            data={"first_id": seal.first_id, "last_id": last, "rows": count, "digest": digest},
        )
    return seal


def access_log_seal_all(*, now: datetime | None = None) -> list[AccessLogSeal]:
    """Seal everything old enough, a seal per `MAX_ROWS` rows (the scheduled task)."""
    seals = []
    while (seal := access_log_seal(now=now)) is not None:
        seals.append(seal)
    return seals


@dataclass(frozen=True)
class SealProblem:
    seal: AccessLogSeal
    code: str  # "seal.rows_changed" or "seal.chain_broken"
    message_vi: str
    message_en: str


def access_log_verify() -> list[SealProblem]:
    """Recompute every seal from the rows; returns what does not match (empty when the log is intact)."""
    problems = []
    previous: AccessLogSeal | None = None
    for seal in AccessLogSeal.objects.order_by("last_id").iterator():
        after = previous.last_id if previous is not None else 0
        expected_previous = previous.digest if previous is not None else ""
        span = f"#{after + 1}–#{seal.last_id}"
        if seal.previous_digest != expected_previous or seal.first_id != after + 1:
            problems.append(
                SealProblem(
                    seal,
                    "seal.chain_broken",
                    f"Dấu niêm phong {span} không nối tiếp dấu trước: dấu niêm phong đã bị sửa hoặc xoá.",
                    f"The seal of {span} does not follow the one before: a seal was changed or removed.",
                )
            )
        digest, count = _digest(seal.previous_digest, _rows(after, seal.last_id))
        if digest != seal.digest or count != seal.rows:
            problems.append(
                SealProblem(
                    seal,
                    "seal.rows_changed",
                    f"Các dòng {span} của nhật ký truy cập đã bị sửa, xoá hoặc chèn thêm ({count} dòng, "
                    f"niêm phong ghi {seal.rows}).",
                    f"Rows {span} of the access log were changed, removed or added ({count} rows, the seal "
                    f"says {seal.rows}).",
                )
            )
        previous = seal
    return problems
