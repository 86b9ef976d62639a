"""The access log made tamper-evident: a chain of seals over its rows.

A seal covers the rows written after the previous seal, up to a row id, and holds the SHA-256 of the
previous seal's digest followed by those rows in a fixed form (`_line`). `access_log_verify` recomputes
every seal from the rows: a row changed, removed or slipped into a sealed range changes a digest, and a
seal changed or removed breaks the link to the next. What the chain cannot show by itself is the last
seals removed together with their rows; the digest of the newest seal, printed by `dancu audit_seal`
and written in its audit event, is what to keep outside the database for that (docs/operations.md).

Version 2 seals (since the reader's police unit was added to the fixed form) also keep a fingerprint
of each row, so that a changed range names its rows. The citizen's area that each row carries cannot be
in a digest, since it follows the citizen when they move; the verification checks instead that it is the
citizen's area now, so a row moved out of its auditor's sight is named too.

Rows are sealed only once they are older than `SETTLE`: a row's id is drawn when it is inserted, and a
transaction that has not committed yet may hold a lower id than rows already visible. Sealing past it
would leave it outside the digest, and its commit would then look like a row slipped in. Reads write
their rows in short transactions (a page, an API call, a batch of 5,000 for a system job), so an hour
is far more than any of them takes.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone

from dancu.audit.models import AccessLog, AccessLogSeal, EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.lib.pgcopy import copy_text

SETTLE = timedelta(hours=1)
# Rows per seal: a seal is one pass of this many rows, recomputed whole by the verification.
MAX_ROWS = 200_000
# Rows read from the database at a time while hashing.
_CHUNK = 10_000
_FIELDS_V1 = (
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
# The fixed form of a row for each version of the seals: what the digest covers. Version 2 adds the
# reader's police unit, which the citizen is shown as who read (it is written once, with the row).
FORMS: dict[int, tuple[str, ...]] = {1: _FIELDS_V1, 2: (*_FIELDS_V1, "reader_unit_id")}
VERSION = 2
# The row's area beside its citizen's, read with the rows by the verification (not hashed).
_AREAS = (
    "area_commune_id",
    "area_province_id",
    "area_legacy_commune_id",
    "citizen__area_commune_id",
    "citizen__area_province_id",
    "citizen__area_legacy_commune_id",
)
# Rows named in a problem's message, at most.
NAMED_ROWS = 10
_FINGERPRINT = struct.Struct(">I4s")
ACTOR = Actor(system="audit seal")


def _line(row: tuple[Any, ...]) -> bytes:
    """One row in the fixed form that is hashed: a line of COPY text (lib/pgcopy), the time in UTC.
    Its escaping keeps a tab or a line break inside a value from letting two rows write the same line."""
    pk, accessed_at, *rest = row
    return copy_text([(pk, accessed_at.astimezone(UTC).isoformat(), *rest)]).encode()


def _rows(after: int, last: int | None, fields: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
    """The rows after id `after`, up to `last` (inclusive; every row when None), by id, in chunks."""
    while True:
        rows = AccessLog.objects.filter(pk__gt=after).order_by("pk")
        if last is not None:
            rows = rows.filter(pk__lte=last)
        chunk = list(rows.values_list(*fields)[:_CHUNK])
        yield from chunk
        if len(chunk) < _CHUNK:
            return
        after = chunk[-1][0]


@dataclass
class _Hashed:
    digest: str
    rows: int
    # Row id -> the first 4 bytes of its line's SHA-256.
    lines: dict[int, bytes]


def _digest(previous: str, rows: Iterable[tuple[Any, ...]], *, keep_lines: bool = False) -> _Hashed:
    """The digest of `rows` chained to the digest `previous`, and (when asked) each row's fingerprint."""
    digest = hashlib.sha256(previous.encode())
    count = 0
    lines: dict[int, bytes] = {}
    for row in rows:
        line = _line(row)
        digest.update(line)
        count += 1
        if keep_lines:
            lines[row[0]] = hashlib.sha256(line).digest()[:4]
    return _Hashed(digest.hexdigest(), count, lines)


def _fingerprints(lines: dict[int, bytes], after: int) -> bytes:
    packed = bytearray()
    previous = after
    for pk in sorted(lines):
        packed += _FINGERPRINT.pack(pk - previous, lines[pk])
        previous = pk
    return bytes(packed)


def _read_fingerprints(data: bytes, after: int) -> dict[int, bytes]:
    lines: dict[int, bytes] = {}
    pk = after
    for step, fingerprint in _FINGERPRINT.iter_unpack(data[: len(data) - len(data) % _FINGERPRINT.size]):
        pk += step
        lines[pk] = fingerprint
    return lines


def _rows_named(ids: Iterable[int]) -> str:
    ordered = sorted(ids)
    named = ", ".join(f"#{pk}" for pk in ordered[:NAMED_ROWS])
    return named + (f" (+{len(ordered) - NAMED_ROWS})" if len(ordered) > NAMED_ROWS else "")


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
        hashed = _digest(previous_digest, _rows(after, last, FORMS[VERSION]), keep_lines=True)
        digest, count = hashed.digest, hashed.rows
        seal = AccessLogSeal.objects.create(
            first_id=after + 1,
            last_id=last,
            rows=count,
            previous_digest=previous_digest,
            digest=digest,
            version=VERSION,
            fingerprints=_fingerprints(hashed.lines, after),
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


def access_log_waiting() -> tuple[int, datetime | None]:
    """The rows after the newest seal, and when the oldest of them may be sealed (an hour after it was
    written): what `dancu audit_seal` says when it has nothing old enough to seal."""
    newest = AccessLogSeal.objects.order_by("-last_id").values_list("last_id", flat=True).first() or 0
    waiting = AccessLog.objects.filter(pk__gt=newest).aggregate(rows=Count("pk"), oldest=Min("accessed_at"))
    oldest = waiting["oldest"]
    return waiting["rows"], oldest + SETTLE if oldest is not None else None


@dataclass(frozen=True)
class SealProblem:
    seal: AccessLogSeal
    code: str  # "seal.rows_changed", "seal.chain_broken", "seal.unknown_version" or "seal.area_changed"
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
        fields = FORMS.get(seal.version)
        if fields is None:
            problems.append(
                SealProblem(
                    seal,
                    "seal.unknown_version",
                    f"Dấu niêm phong {span} có phiên bản {seal.version} không biết: đã bị sửa.",
                    f"The seal of {span} has an unknown version {seal.version}: it was changed.",
                )
            )
            previous = seal
            continue
        moved: list[int] = []
        rows = _rows_checking_areas(after, seal.last_id, fields, moved)
        hashed = _digest(seal.previous_digest, rows, keep_lines=bool(seal.fingerprints))
        if hashed.digest != seal.digest or hashed.rows != seal.rows:
            problems.append(_rows_changed(seal, span, hashed, after))
        if moved:
            problems.append(
                SealProblem(
                    seal,
                    "seal.area_changed",
                    f"Địa bàn ghi trên các dòng {_rows_named(moved)} của nhật ký truy cập khác địa bàn hiện "
                    "nay của công dân được đọc: dòng đã bị chuyển khỏi tầm xem của kiểm toán viên địa bàn.",
                    f"The area on rows {_rows_named(moved)} of the access log is not the area of the citizen "
                    "read: the rows were moved out of the sight of their area's auditors.",
                )
            )
        previous = seal
    return problems


def _rows_checking_areas(
    after: int, last: int, fields: tuple[str, ...], moved: list[int]
) -> Iterator[tuple[Any, ...]]:
    """The rows of a seal in its fixed form; the id of each whose area is not its citizen's now goes to
    `moved` on the way (read in the same pass, a join to the citizen per chunk)."""
    width = len(fields)
    for row in _rows(after, last, (*fields, *_AREAS)):
        if row[width : width + 3] != row[width + 3 :]:
            moved.append(row[0])
        yield row[:width]


def _rows_changed(seal: AccessLogSeal, span: str, hashed: _Hashed, after: int) -> SealProblem:
    """The rows of a seal whose digest no longer matches: by their fingerprints when the seal has them
    (version 2), else the range alone."""
    vi = (
        f"Các dòng {span} của nhật ký truy cập đã bị sửa, xoá hoặc chèn thêm ({hashed.rows} dòng, niêm "
        f"phong ghi {seal.rows})"
    )
    en = (
        f"Rows {span} of the access log were changed, removed or added ({hashed.rows} rows, the seal says "
        f"{seal.rows})"
    )
    sealed = _read_fingerprints(bytes(seal.fingerprints), after) if seal.fingerprints else None
    if sealed is not None:
        changed = [pk for pk, line in hashed.lines.items() if pk in sealed and sealed[pk] != line]
        removed = sorted(set(sealed) - set(hashed.lines))
        added = sorted(set(hashed.lines) - set(sealed))
        for ids, said_vi, said_en in (
            (changed, "sửa", "changed"),
            (removed, "xoá", "removed"),
            (added, "chèn thêm", "slipped in"),
        ):
            if ids:
                vi += f"; dòng bị {said_vi}: {_rows_named(ids)}"
                en += f"; rows {said_en}: {_rows_named(ids)}"
    return SealProblem(seal, "seal.rows_changed", vi + ".", en + ".")
