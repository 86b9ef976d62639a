"""Bulk import of legacy person-records files into staging records.

`import_file` is idempotent and resumable: a run is identified by (source, file digest); rows are
committed in batches together with the run's counters, so after a crash or Ctrl-C the same command
continues after the last committed row. No row is lost and the unique (run, row_number) constraint makes
doubling impossible even if two processes raced on the same file.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dancu.audit.models import EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.readers import FileRejectedError, Row, Source, open_source, read_rows
from dancu.geo.address import parse_address
from dancu.registry.normalize import AddressParser, NormalizedRow, check_row, normalize_row
from dancu.registry.rules import (
    RULES,
    IdentifierIndex,
    Issue,
    RuleContext,
    Severity,
    UnitIndex,
    registered_identifiers,
)

DEFAULT_BATCH_SIZE = 2_000
UNREADABLE = frozenset({"row.too_long", "row.malformed"})


@dataclass
class CheckedRow:
    """What the rules made of one row: the normalized values, the issues and the repairs, as stored."""

    normalized: dict[str, Any]
    issues: list[dict[str, str]] = field(
        default_factory=list
    )  # field, code, severity, message_vi, message_en
    repairs: list[dict[str, str]] = field(default_factory=list)  # field, code, before, after

    @property
    def has_errors(self) -> bool:
        return any(issue["severity"] == Severity.ERROR for issue in self.issues)

    @property
    def has_warnings(self) -> bool:
        return any(issue["severity"] == Severity.WARNING for issue in self.issues)


Progress = Callable[[ImportRun], None]


@dataclass(frozen=True)
class ImportPolicy:
    """What happens to a row that broke no rule. By default (`settings.DANCU_IMPORT_AUTO_APPROVE`) it is
    approved without an officer; a row with a warning always waits for one, a row with an error is
    rejected."""

    auto_approve_clean: bool = True

    @classmethod
    def from_settings(cls) -> ImportPolicy:
        return cls(auto_approve_clean=settings.DANCU_IMPORT_AUTO_APPROVE)


def _status(checked: CheckedRow, policy: ImportPolicy) -> str:
    if checked.has_errors:
        return StagingRecord.Status.REJECTED
    if checked.has_warnings or not policy.auto_approve_clean:
        return StagingRecord.Status.REVIEW
    return StagingRecord.Status.APPROVED


def _issue_json(issue: Issue) -> dict[str, str]:
    return {
        "field": issue.field,
        "code": issue.rule_code,
        "severity": str(issue.severity),
        "message_vi": issue.message("vi"),
        "message_en": issue.message("en"),
    }


def _row_issues(row: Row) -> list[dict[str, str]]:
    # The reader's messages say more than the catalogue's (how many cells, which bytes); the severity is
    # the catalogue's, like every other rule's.
    return [
        {
            "field": problem.field,
            "code": problem.code,
            "severity": str(RULES[problem.code].severity),
            "message_vi": problem.message_vi,
            "message_en": problem.message_en,
        }
        for problem in row.problems
    ]


def _normalized_json(row: NormalizedRow) -> dict[str, Any]:
    parsed = row.address_parsed
    return {
        "record_id": row.record_id,
        "full_name": row.full_name,
        "sex": row.sex or "",
        "birth_date": row.birth_date.to_storage() if row.birth_date is not None else "",
        "birth_place": row.birth_place or "",
        "birth_place_text": row.birth_place_text,
        "id_number": row.id_number or "",
        "old_id_number": row.old_id_number or "",
        "father_name": row.father_name,
        "mother_name": row.mother_name,
        "address": row.address,
        "address_detail": parsed.detail if parsed is not None else "",
        "commune_code": row.commune_code or "",
        "legacy_commune_code": row.legacy_commune_code or "",
    }


def _label(row: NormalizedRow, number: int) -> str:
    """How a duplicate names the record that carried the number first: its id, else its row."""
    return row.record_id or f"#{number}"


class RowChecker:
    """The registry's rules (`registry.normalize`, `registry.rules`) applied to the rows of one import.

    Rows are normalized first, then the identifiers of the whole batch are looked up at once: in the
    registry (one query for PINs, one for CMNDs) and among the rows this run staged earlier (one query
    each, on the staging record's indexed columns), so that a number repeated anywhere in the file is a
    duplicate whether or not a crash split the file between two sessions.
    """

    def __init__(
        self,
        *,
        run: ImportRun,
        today: date | None = None,
        address_parser: AddressParser | None = parse_address,
    ) -> None:
        self.run = run
        self.today = today or timezone.localdate()
        self.address_parser = address_parser
        self.units = _unit_index()

    def _staged(self, field_name: str, values: set[str]) -> dict[str, str]:
        if not values:
            return {}
        found = (
            StagingRecord.objects.filter(run=self.run, **{f"{field_name}__in": values})
            .order_by("row_number")
            .values_list(field_name, "normalized__record_id", "row_number")
        )
        first: dict[str, str] = {}
        for value, record_id, number in found:
            first.setdefault(value, record_id or f"#{number}")
        return first

    def check(self, rows: Sequence[Row]) -> list[CheckedRow]:
        normalized = [
            normalize_row(row.values, today=self.today, address_parser=self.address_parser) for row in rows
        ]
        pins = {row.id_number for row in normalized if row.id_number}
        cmnds = {row.old_id_number for row in normalized if row.old_id_number}
        taken_pins, taken_cmnds = registered_identifiers(pins=pins, cmnds=cmnds)
        context = RuleContext(
            today=self.today,
            pins=IdentifierIndex(taken_pins),
            cmnds=IdentifierIndex(taken_cmnds),
            units=self.units,
        )
        for value, label in self._staged("id_number", pins).items():
            context.pins.remember(value, record_id=label)  # type: ignore[union-attr]
        for value, label in self._staged("old_id_number", cmnds).items():
            context.cmnds.remember(value, record_id=label)  # type: ignore[union-attr]
        checked = []
        for row, result in zip(rows, normalized, strict=True):
            if not result.record_id:
                # Rows without an id are told apart by their row number in duplicate messages.
                result.record_id = _label(result, row.number)
                check_row(result, context=context)
                result.record_id = ""
            else:
                check_row(result, context=context)
            checked.append(
                CheckedRow(
                    normalized=_normalized_json(result),
                    issues=[_issue_json(issue) for issue in result.issues],
                    repairs=[
                        {"field": r.field, "code": r.code, "before": r.before, "after": r.after}
                        for r in result.repairs
                    ],
                )
            )
        return checked


@functools.cache
def _unit_index() -> UnitIndex:
    # 25,000 unit codes that change only when the units are reloaded (a deployment), read once per process.
    return UnitIndex.load()


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
    actor: Actor,
    policy: ImportPolicy | None = None,
    checker: RowChecker | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Progress | None = None,
) -> ImportRun:
    """Read the rows not yet committed, check them and commit them batch by batch."""
    if run.status == ImportRun.Status.DONE:
        return run
    policy = policy or ImportPolicy.from_settings()
    checker = checker or RowChecker(run=run)
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
    checked = checker.check(readable)
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
                id_number=result.normalized.get("id_number", ""),
                old_id_number=result.normalized.get("old_id_number", ""),
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
