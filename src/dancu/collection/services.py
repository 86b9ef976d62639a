"""Bulk import of legacy person-records files into staging records.

`import_file` is idempotent and resumable: a run is identified by (source, file digest); rows are
committed in batches together with the run's counters, so after a crash or Ctrl-C the same command
continues after the last committed row. No row is lost and the unique (run, row_number) constraint makes
doubling impossible even if two processes raced on the same file.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from dancu.audit.models import EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.readers import FileRejectedError, Row, Source, open_source, read_rows

DEFAULT_BATCH_SIZE = 2_000
UNREADABLE = frozenset({"row.too_long", "row.malformed"})


@dataclass
class CheckedRow:
    """What the rules made of one row: the normalized values, the issues and the repairs."""

    normalized: dict[str, Any]
    issues: list[dict[str, str]] = field(
        default_factory=list
    )  # field, code, severity, message_vi, message_en
    repairs: list[dict[str, str]] = field(default_factory=list)  # field, code, before, after

    @property
    def has_errors(self) -> bool:
        return any(issue["severity"] == "error" for issue in self.issues)

    @property
    def has_warnings(self) -> bool:
        return any(issue["severity"] == "warning" for issue in self.issues)


# Checks a batch of rows at once, so that duplicates within the batch and in the database are found with
# one query per batch, not one per row.
RowChecker = Callable[[Sequence[dict[str, str]]], list[CheckedRow]]
Progress = Callable[[ImportRun], None]


@dataclass(frozen=True)
class ImportPolicy:
    # Rows with no issue at all may skip the officers' queue; everything else always waits for one.
    auto_approve_clean: bool = True


def _status(checked: CheckedRow, policy: ImportPolicy) -> str:
    if checked.has_errors:
        return StagingRecord.Status.REJECTED
    if checked.has_warnings or not policy.auto_approve_clean:
        return StagingRecord.Status.REVIEW
    return StagingRecord.Status.APPROVED


def _row_issues(row: Row) -> list[dict[str, str]]:
    return [
        {
            "field": problem.field,
            "code": problem.code,
            "severity": "error",
            "message_vi": problem.message_vi,
            "message_en": problem.message_en,
        }
        for problem in row.problems
    ]


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def import_start(*, path: Path, source_name: str, actor: Actor) -> tuple[ImportRun, Source]:
    """The run for this file and source: a new one, or the unfinished one to resume."""
    source_name = source_name.strip()
    if not source_name or len(source_name) > 100:
        raise FileRejectedError(
            "source.name", "Tên nguồn 1–100 ký tự", "The source name must be 1–100 characters"
        )
    source = open_source(path)
    with transaction.atomic():
        run, created = ImportRun.objects.get_or_create(
            source=source_name,
            file_sha256=source.sha256,
            defaults={
                "file_name": path.name[:500],
                "file_size": source.size,
                "file_format": source.file_format,
                "started_by": actor.user,
                "started_label": actor.label,
                "columns": source.columns,
            },
        )
        if created:
            audit_event_record(
                actor=actor,
                event_type=EventType.IMPORT_STARTED,
                subject_type="import_run",
                subject_id=run.pk,
                data={"source": source_name, "file": run.file_name, "sha256": source.sha256},
            )
    return run, source


def import_rows(
    *,
    run: ImportRun,
    source: Source,
    checker: RowChecker,
    actor: Actor,
    policy: ImportPolicy = ImportPolicy(),
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Progress | None = None,
) -> ImportRun:
    """Read the rows not yet committed, check them and commit them batch by batch."""
    if run.status == ImportRun.Status.DONE:
        return run
    started = time.perf_counter()
    for batch in _batches(read_rows(source, skip=run.rows_read), batch_size):
        _commit_batch(run=run, batch=batch, checker=checker, policy=policy)
        if on_batch is not None:
            on_batch(run)
    with transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.DONE, finished_at=timezone.now(), updated_at=timezone.now()
        )
        run.refresh_from_db()
        audit_event_record(
            actor=actor,
            event_type=EventType.IMPORT_FINISHED,
            subject_type="import_run",
            subject_id=run.pk,
            data={
                "rows_read": run.rows_read,
                "accepted": run.rows_accepted,
                "review": run.rows_review,
                "rejected": run.rows_rejected,
                "seconds_this_session": round(time.perf_counter() - started, 1),
            },
        )
    return run


def _commit_batch(*, run: ImportRun, batch: list[Row], checker: RowChecker, policy: ImportPolicy) -> None:
    # A line that could not be split into cells has nothing for the rules to look at.
    readable = [row for row in batch if not any(p.code in UNREADABLE for p in row.problems)]
    checked = checker([row.values for row in readable])
    checked_by_number = dict(zip((row.number for row in readable), checked, strict=True))
    records = []
    statuses: Counter[str] = Counter()
    issue_counts: Counter[str] = Counter()
    repair_counts: Counter[str] = Counter()
    warned = repaired = 0
    for row in batch:
        result = checked_by_number.get(row.number, CheckedRow(normalized={}))
        issues = _row_issues(row) + result.issues
        result = CheckedRow(normalized=result.normalized, issues=issues, repairs=result.repairs)
        status = _status(result, policy)
        statuses[status] += 1
        issue_counts.update(issue["code"] for issue in issues)
        repair_counts.update(repair["code"] for repair in result.repairs)
        warned += result.has_warnings
        repaired += bool(result.repairs)
        records.append(
            StagingRecord(
                run=run,
                row_number=row.number,
                status=status,
                raw=row.values,
                normalized=result.normalized,
                issues=issues,
                repairs=result.repairs,
            )
        )
    with transaction.atomic():
        locked = ImportRun.objects.select_for_update().get(pk=run.pk)
        if locked.rows_read != batch[0].number - 1:
            # Another process committed these rows meanwhile: stop rather than write them twice.
            raise ImportConflictError(run.pk)
        StagingRecord.objects.bulk_create(records)
        locked.rows_read = batch[-1].number
        locked.rows_accepted += statuses[StagingRecord.Status.APPROVED]
        locked.rows_review += statuses[StagingRecord.Status.REVIEW]
        locked.rows_rejected += statuses[StagingRecord.Status.REJECTED]
        locked.rows_with_warnings += warned
        locked.rows_repaired += repaired
        locked.issue_counts = dict(Counter(locked.issue_counts) + issue_counts)
        locked.repair_counts = dict(Counter(locked.repair_counts) + repair_counts)
        locked.save()
    run.refresh_from_db()


class ImportConflictError(Exception):
    """Two imports of the same file ran at once; the other one owns the rows."""


def import_fail(*, run: ImportRun, error: FileRejectedError, actor: Actor) -> None:
    with transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.FAILED, error=str(error)[:2000])
        audit_event_record(
            actor=actor,
            event_type=EventType.IMPORT_FAILED,
            subject_type="import_run",
            subject_id=run.pk,
            data={"code": error.code},
        )
