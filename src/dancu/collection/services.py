"""Bulk import of legacy person-records files into staging records.

`import_file` is idempotent and resumable: a run is identified by (source, file digest); rows are
committed in batches together with the run's counters, so after a crash or Ctrl-C the same command
continues after the last committed row. No row is lost and the unique (run, row_number) constraint makes
doubling impossible even if two processes raced on the same file.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from rbloom import Bloom

from dancu.accounts.areas import OUTSIDE_AREA, outside_area_params, user_area
from dancu.accounts.selectors import officer_can_read_records, unit_in_area
from dancu.audit.models import EventType
from dancu.audit.services import Actor, NewEvent, audit_event_record, audit_events_record
from dancu.collection import workflow
from dancu.collection.models import CollectionForm, ImportRun, StagingRecord
from dancu.collection.readers import FileRejectedError, Row, Source, open_source, read_rows
from dancu.collection.selectors import (
    IMPORT_ROLES,
    StagedPairDecisions,
    import_discardable,
    import_server_resume,
    staged_pair_decisions_cached,
)
from dancu.collection.workers import (
    CLAIMED_QUIETLY,
    NOT_CLAIMED,
    WORKERS_FROM_ROWS,
    CachedParser,
    PreparedRow,
    issue_json,
    prepare_batch,
    prepared_batches,
)
from dancu.geo.address import parse_address
from dancu.geo.models import AdminUnit
from dancu.geo.selectors import subtree
from dancu.lib import pin as pin_codec
from dancu.lib.errors import DomainError, FieldError
from dancu.lib.forked import can_fork_workers
from dancu.lib.gcpause import gc_paused
from dancu.lib.jsontext import json_text
from dancu.lib.lookups import text_array
from dancu.lib.partial_date import PartialDate, PartialDateError
from dancu.lib.pgcopy import COPY_NULL, copy_in
from dancu.lib.pgjit import jit_off
from dancu.lib.tasks import enqueue
from dancu.lib.vntext import fold_name, forbidden_characters, normalize_name
from dancu.registry.models import Citizen, Residence
from dancu.registry.normalize import AddressParser
from dancu.registry.rules import (
    RULES,
    IdentifierIndex,
    Issue,
    Severity,
    UnitIndex,
    duplicate_issues,
    registered_identifiers,
)
from dancu.registry.selectors import RecordLookups
from dancu.registry.services import NewCitizenEntry

DEFAULT_BATCH_SIZE = 2_000
# A batch is read, normalized and held in memory whole, then committed in one transaction. Past a few
# thousand rows the cost of a commit is spread thin, while a larger batch holds more memory (a row may be
# 64 KB), loses more work to a crash and moves the progress bar less often: 50,000 leaves room to experiment
# and refuses a typo (a zero too many) before it fills the memory.
MAX_BATCH_SIZE = 50_000


@dataclass
class CheckedRow:
    """What the rules made of one row, as it is staged: the normalized values and the repairs as JSON
    text (`collection.workers.PreparedRow`), the issues, and the identifiers for the look-up columns
    (empty when not of the shape the rules accept, `_identifier`)."""

    normalized_json: str = "{}"
    issues: list[dict[str, Any]] = field(
        default_factory=list
    )  # field, code, severity, message_vi, message_en
    repairs_json: str = "[]"  # [{field, code, before, after}]
    repair_codes: tuple[str, ...] = ()
    id_number: str = ""
    old_id_number: str = ""

    @property
    def normalized(self) -> dict[str, Any]:
        return json.loads(self.normalized_json)


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


def _status(severities: Collection[str], policy: ImportPolicy) -> str:
    """A staged row's status from the severities of its issues."""
    if Severity.ERROR in severities:
        return StagingRecord.Status.REJECTED
    if Severity.WARNING in severities or not policy.auto_approve_clean:
        return StagingRecord.Status.REVIEW
    return StagingRecord.Status.APPROVED


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


# The numbers a run's Bloom filter of staged PINs (or CMNDs) is made for: a file's rows, at least this many
# (a run's first batches may not know its size) and at most that many (7 MB for each filter).
STAGED_FILTER_MIN = 100_000
STAGED_FILTER_MAX = 4_000_000


class RowChecker:
    """The registry's rules (`registry.normalize`, `registry.rules`) applied to the rows of one import.

    Rows are prepared first (normalized and checked against every rule about the record alone,
    `collection.workers.prepare_row`), then the identifiers of the whole batch are looked up at once: in
    the registry (one query for PINs, one for CMNDs) and among the rows this run staged earlier (one query
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
        self.address_parser = CachedParser(address_parser) if address_parser is not None else None
        self.units = UnitIndex.current()
        # An officer's import reaches only the communes of their area. Found while reading, a row outside
        # it is counted rejected from the start: found only when the rows were written, a book of another
        # province showed its rows approved for the whole reading, then rejected at the end. Writing checks
        # again, against the officer's unit of that day.
        self.area_communes = _area_communes(run.unit) if run.started_by_id and run.unit else None
        self.area_name = run.unit.name if self.area_communes is not None and run.unit else ""
        # The names of the communes found outside the area, read as rows name them: a book of another
        # province names a few hundred, each read once.
        self._commune_names: dict[str, str] = {}
        # The numbers this run may have staged, by field (`_maybe_staged`); read at the first batch.
        self._numbers: dict[str, Bloom] | None = None
        # The numbers of the batch checked last, by field, each with the first of its rows that carries it:
        # that batch may still be being written (`_BatchWriter`) when the next one is checked, and then
        # the database does not show them yet.
        self._unwritten: dict[str, dict[str, str]] = {"id_number": {}, "old_id_number": {}}

    def _maybe_staged(self, field_name: str, values: set[str]) -> set[str]:
        """Those of `values` that this run may have staged before, and then remembers `values` too.

        A number is rarely repeated in a file, and the (run, number) index probe that says so cost the
        database more a row than any other look-up, growing with the run (bench/RESULTS.md, session 33).
        The numbers the run has staged are kept in a Bloom filter: a number it has not seen was never
        staged and needs no probe; one it has seen is probed, and the filter's rare false positive costs
        the probe only. It holds the numbers staged before this process began (read once) and those this
        process checked since; a row checked and not written leaves a false positive, nothing worse.
        A number of the batch checked last is in the filter before the database shows it (its batch may
        still be in the writer's hands, `_BatchWriter`): the probe then finds nothing, and `_staged` answers
        for it from `_unwritten`. Another process writing the same run meanwhile is stopped by
        `_write_batch`'s check of the rows read."""
        if self._numbers is None:
            # 14 bits a number for a 0.1 % false positive rate; a file beyond the size stays correct, its
            # filter only answers "maybe" more often.
            size = min(max(self.run.rows_total or 0, STAGED_FILTER_MIN), STAGED_FILTER_MAX)
            self._numbers = {name: Bloom(size, 0.001) for name in ("id_number", "old_id_number")}
            staged = (
                StagingRecord.objects.filter(run=self.run)
                .order_by()
                .values_list("id_number", "old_id_number")
                .iterator(chunk_size=10_000)
            )
            for pin, cmnd in staged:
                if pin:
                    self._numbers["id_number"].add(pin)
                if cmnd:
                    self._numbers["old_id_number"].add(cmnd)
        numbers = self._numbers[field_name]
        maybe = {value for value in values if value in numbers}
        numbers.update(values)
        return maybe

    def _staged(self, field_name: str, values: set[str]) -> dict[str, str]:
        """For each of `values` this run staged before, the record that carried it first."""
        values = self._maybe_staged(field_name, values)
        if not values:
            return {}
        found = (
            _first_staged_postgresql(self.run.pk, field_name, values)
            if connection.vendor == "postgresql"
            else self._staged_rows(field_name, values)
        )
        first: dict[str, str] = {}
        # The file's rows come in the order of the data rows: the smallest is the first that carried it.
        for value, record_id, number in sorted(found, key=lambda item: item[2]):
            first.setdefault(value, record_id or f"#{number}")
        # The batch before comes after every row the database shows, whether or not it is written yet.
        unwritten = self._unwritten[field_name]
        for value in values - first.keys():
            if value in unwritten:
                first[value] = unwritten[value]
        return first

    def _staged_rows(self, field_name: str, values: set[str]) -> list[tuple[str, str | None, int]]:
        # The blank exclusion repeats the partial index's condition and there is no ORDER BY: only then does
        # SQLite use the (run, number) partial index. Otherwise it walks all of the run's staged rows for
        # every batch, a cost that grows with the file (quadratic over an import).
        return list(
            StagingRecord.objects.filter(run=self.run, **{f"{field_name}__one_of": values})
            .exclude(**{field_name: ""})
            .order_by()
            .values_list(field_name, "normalized__record_id", Coalesce("source_row", "row_number"))
        )

    def _waiting_elsewhere(self, field_name: str, values: set[str]) -> dict[str, dict[str, Any]]:
        """For each of `values` that a row of another run carries while it waits for an officer (staged for
        review, not written to the registry), that row: its run, the run's source and its row in the file.
        One query on the waiting rows' partial index, for the whole batch."""
        if not values:
            return {}
        found = (
            StagingRecord.objects.waiting_for_an_officer()
            .filter(**{f"{field_name}__one_of": values})
            # The exclusion repeats the partial index's condition, so that the database uses it.
            .exclude(**{field_name: ""})
            .exclude(run=self.run)
            .order_by()
            .values_list(field_name, "run_id", "run__source", Coalesce("source_row", "row_number"))
        )
        waiting: dict[str, dict[str, Any]] = {}
        # The oldest run's first row is the one cited.
        for value, run_id, source, row in sorted(found, key=lambda item: (item[1], item[3])):
            waiting.setdefault(value, {"run": run_id, "source": source, "row": row})
        return waiting

    def _names_of(self, codes: set[str]) -> dict[str, str]:
        """The names of these 2025 communes: one query for the batch's codes not read before."""
        if missing := codes - self._commune_names.keys():
            self._commune_names |= dict.fromkeys(missing, "")
            self._commune_names |= dict(
                AdminUnit.objects.filter(
                    structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.COMMUNE, code__in=missing
                ).values_list("code", "name")
            )
        return self._commune_names

    def _outside_issue(self, row: PreparedRow, names: dict[str, str]) -> Issue:
        code = row.commune_code
        return Issue(
            "address", OUTSIDE_AREA, {"name": names.get(code) or code, "code": code, "area": self.area_name}
        )

    def check(self, rows: Sequence[Row], prepared: Sequence[PreparedRow] | None = None) -> list[CheckedRow]:
        """The rules applied to `rows`, prepared here unless they come `prepared` (by the import's workers,
        in the same order)."""
        if prepared is None:
            prepared = prepare_batch(
                (row.values for row in rows),
                today=self.today,
                address_parser=self.address_parser,
                units=self.units,
            )
        pins = {row.id_number for row in prepared if row.id_number}
        cmnds = {row.old_id_number for row in prepared if row.old_id_number}
        # Index look-ups whose estimated cost grows with the tables they probe: compiled, they cost up to
        # eight times their running (`lib.pgjit`).
        with jit_off():
            taken_pins, taken_cmnds = registered_identifiers(pins=pins, cmnds=cmnds)
            staged_pins = self._staged("id_number", pins)
            staged_cmnds = self._staged("old_id_number", cmnds)
            # The same book imported again under another source name: a person whose row still waits for
            # an officer in the other run is not filed a second time without a word.
            waiting_pins = self._waiting_elsewhere("id_number", pins)
            waiting_cmnds = self._waiting_elsewhere("old_id_number", cmnds)
        pin_index, cmnd_index = IdentifierIndex(taken_pins), IdentifierIndex(taken_cmnds)
        for value, label in staged_pins.items():
            pin_index.remember(value, record_id=label)
        for value, label in staged_cmnds.items():
            cmnd_index.remember(value, record_id=label)
        area = self.area_communes
        outside = [area is not None and _outside(row, area) for row in prepared]
        names = self._names_of({row.commune_code for row, out in zip(prepared, outside, strict=True) if out})
        checked = []
        unwritten_pins: dict[str, str] = {}
        unwritten_cmnds: dict[str, str] = {}
        for row, result, out in zip(rows, prepared, outside, strict=True):
            issues = result.issues
            # Rows without an id are told apart by their row in the file (`Row.line`), the number the
            # rejected rows workbook gives them too, and the label `_staged` reads back.
            label = result.record_id or f"#{row.line or row.number}"
            # What the staged row's look-up columns will hold.
            if pin := _identifier(result.id_number, 12):
                unwritten_pins.setdefault(pin, label)
            if cmnd := _identifier(result.old_id_number, 9):
                unwritten_cmnds.setdefault(cmnd, label)
            if result.pin_at != NOT_CLAIMED or result.cmnd_at != NOT_CLAIMED:
                issues = list(issues)
                # The CMND's place comes after the PIN's: inserted first, it leaves the PIN's where it is.
                for at, value, index, field_name, kind in (
                    (result.cmnd_at, result.old_id_number, cmnd_index, "old_id_number", "cmnd"),
                    (result.pin_at, result.id_number, pin_index, "id_number", "pin"),
                ):
                    if at == NOT_CLAIMED:
                        continue
                    found = duplicate_issues(value, index, field=field_name, kind=kind, record_id=label)
                    if at != CLAIMED_QUIETLY:
                        issues[at:at] = [issue_json(issue) for issue in found]
            if waiting_pins or waiting_cmnds:
                issues = issues + _waiting_issues(result, issues, pins=waiting_pins, cmnds=waiting_cmnds)
            if out:
                issues = [*issues, issue_json(self._outside_issue(result, names))]
            checked.append(
                CheckedRow(
                    normalized_json=result.normalized,
                    issues=issues,
                    repairs_json=result.repairs,
                    repair_codes=result.repair_codes,
                    id_number=pin,
                    old_id_number=cmnd,
                )
            )
        self._unwritten = {"id_number": unwritten_pins, "old_id_number": unwritten_cmnds}
        return checked


def _area_communes(area: AdminUnit) -> frozenset[str]:
    """The communes of an importer's area, 2025 and legacy ones ("2025:00070", "legacy:09841"): a
    province's is a few hundred codes, read once per run."""
    return frozenset(
        f"{structure}:{code}"
        for structure, code in subtree(area)
        .filter(level=AdminUnit.Level.COMMUNE)
        .values_list("structure", "code")
    )


def _outside(row: PreparedRow, area: frozenset[str]) -> bool:
    """Whether a row's address lies outside the importer's area: its 2025 commune is not in it, nor its
    legacy commune, the same two ways `_promote` places a row. A row with no commune is another rule's."""
    if not row.commune_code:
        return False
    in_area = f"{AdminUnit.Structure.CURRENT}:{row.commune_code}" in area or (
        bool(row.legacy_commune_code) and f"{AdminUnit.Structure.LEGACY}:{row.legacy_commune_code}" in area
    )
    return not in_area


def _waiting_issues(
    row: PreparedRow,
    issues: list[dict[str, Any]],
    *,
    pins: dict[str, dict[str, Any]],
    cmnds: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The warnings of a row whose PIN or CMND waits for an officer in another import run, naming that
    run and row. A number the rules refused already (malformed, or taken in the registry or earlier in
    the file) says enough: the row is rejected."""
    refused = {issue["field"] for issue in issues if issue["severity"] == Severity.ERROR}
    waiting = []
    if row.id_number in pins and "id_number" not in refused:
        waiting.append(Issue("id_number", "pin.waiting_in_import", pins[row.id_number]))
    if row.old_id_number in cmnds and "old_id_number" not in refused:
        waiting.append(Issue("old_id_number", "cmnd.waiting_in_import", cmnds[row.old_id_number]))
    return [issue_json(issue) for issue in waiting]


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _run_unit(run: ImportRun) -> AdminUnit | None:
    """The unit an import's work counts toward: the area it was made for (None for the ministry and for an
    import run on the server). Each row's own events count toward the row's commune."""
    return run.unit


def _actor_area(actor: Actor) -> AdminUnit | None:
    """The area of the actor's police unit now, which a new run keeps as its own (`ImportRun.unit`)."""
    police_unit = actor.user.police_unit if actor.user is not None else None
    return police_unit.admin_unit if police_unit is not None else None


def _earlier_run_of_file(sha256: str, *, source_name: str) -> ImportRun | None:
    """The first run that imported this file's content under another source name, if any. A run that
    failed before it staged a row made nothing of the file, and does not count."""
    return (
        ImportRun.objects.filter(file_sha256=sha256)
        .exclude(source=source_name)
        .exclude(status=ImportRun.Status.FAILED, rows_read=0)
        # A discarded run was given up: its rows go nowhere, and the file may come again.
        .exclude(status=ImportRun.Status.DISCARDED)
        .order_by("started_at", "pk")
        .first()
    )


def _lock_file_content(sha256: str) -> None:
    """Hold, until the transaction ends, the lock of a file's content (its SHA-256), so that two imports of
    the same file at the same moment take their turns at the same-file check and at making their run.

    Without it two officers uploading the same book under two source names both read that no run has it
    (neither sees the other's uncommitted run) and both stage every row, which `file.already_imported` is
    there to stop; no constraint can say it, since the same file under the same source resumes its run and
    `same_file_again` lets a second source have it. On PostgreSQL the second waits here until the first
    commits, then sees its run. The lock is keyed by the first 64 bits of the hash, as a signed integer as
    `pg_advisory_xact_lock` takes it: two different files sharing them would only wait for each other.
    SQLite lets one writer in at a time, and its transactions take the write lock as they begin
    (`transaction_mode` IMMEDIATE in the settings): there the second start waits at its BEGIN and needs no
    lock of its own."""
    if connection.vendor != "postgresql":
        return
    key = int.from_bytes(bytes.fromhex(sha256[:16]), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _already_imported_error(earlier: ImportRun) -> FileRejectedError:
    when = timezone.localtime(earlier.started_at).strftime("%d/%m/%Y %H:%M")
    return FileRejectedError(
        "file.already_imported",
        f"Tệp này (cùng nội dung) đã được nhập với nguồn “{earlier.source}” (lần nhập #{earlier.pk}, "
        f"{when}). Nhập lại dưới tên nguồn khác sẽ lập phiếu thứ hai cho những người không có số định danh "
        "hay CMND. Nếu thật sự cần nhập lại, đánh dấu ô “Vẫn nhập tệp đã nhập” trên trang tải lên, thêm "
        "--same-file-again vào lệnh dancu import, hoặc gửi same_file_again=true qua API",
        f"This file (the same content) was already imported under the source “{earlier.source}” (import "
        f"run #{earlier.pk}, {when}). Importing it again under another source name makes second forms for "
        "the people without a PIN or CMND. If it really must be imported again, tick “Import the file "
        "again” on the upload page, add --same-file-again to the dancu import command, or send "
        "same_file_again=true through the API",
    )


def import_start(
    *,
    path: Path,
    source_name: str,
    actor: Actor,
    file_name: str = "",
    stored_file: str = "",
    same_file_again: bool = False,
) -> tuple[ImportRun, Source]:
    """The run for this file and source: a new one, or the unfinished one to resume. `file_name` is the
    name the file was uploaded under, when it is kept under another (`stored_file`, its name in
    VAR_DIR/imports).

    A file whose content was imported before under another source name is refused
    (`file.already_imported`, naming the earlier run) unless `same_file_again` says the officer means it:
    the run of the same source is what a repeated import resumes, and a second source name would stage
    every row again, filing a second form for each person the rules cannot recognise by a number."""
    source_name = source_name.strip()
    if not source_name or len(source_name) > 100:
        raise FileRejectedError(
            "source.name", "Tên nguồn 1–100 ký tự", "The source name must be 1–100 characters"
        )
    # The name is shown on pages, in the trail and in exports, and identifies the run when the file comes
    # again: a control character would hide in all of them, and a line break would split log lines.
    if forbidden := forbidden_characters(source_name):
        raise FileRejectedError(
            "source.control_chars",
            f"Tên nguồn chứa ký tự điều khiển, xuống dòng hoặc ký tự ẩn ({forbidden})",
            f"The source name contains control, line-break or invisible characters ({forbidden})",
        )
    source = open_source(path)
    with transaction.atomic():
        _lock_file_content(source.sha256)
        earlier = None
        # A run discarded is not resumed: the file starts a new run (`import_discard`).
        runs = ImportRun.objects.exclude(status=ImportRun.Status.DISCARDED)
        if not runs.filter(source=source_name, file_sha256=source.sha256).exists():
            earlier = _earlier_run_of_file(source.sha256, source_name=source_name)
            if earlier is not None and not same_file_again:
                raise _already_imported_error(earlier)
        run, created = runs.get_or_create(
            source=source_name,
            file_sha256=source.sha256,
            defaults={
                "file_name": (file_name or path.name)[:500],
                "file_size": source.size,
                "file_format": source.file_format,
                "started_by": actor.user,
                "started_label": actor.label,
                "unit": _actor_area(actor),
                "columns": source.columns,
                "header": source.header,
                "rows_total": source.rows_estimate,
                "stored_file": stored_file,
            },
        )
        # The same file uploaded again for a run whose own copy is gone: the new copy takes its place (a run
        # that still has its copy keeps it, and the caller deletes the new one).
        replace_copy = bool(stored_file) and not (
            run.stored_file and (upload_folder() / run.stored_file).is_file()
        )
        if not created and run.finished_at is None and (run.rows_total is None or replace_copy):
            # A run made before its file's rows were counted, or a copy replaced.
            run.rows_total = source.rows_estimate
            run.stored_file = stored_file if replace_copy else run.stored_file
            run.save(update_fields=["rows_total", "stored_file", "updated_at"])
        if not created and not run.header and run.columns == source.columns:
            # A run made before the header's cells were kept, its file given again: the same columns read
            # from the same file, so these are its cells, and its rejected rows get the file's titles.
            run.header = source.header
            run.save(update_fields=["header"])
        if created:
            audit_event_record(
                actor=actor,
                event_type=EventType.IMPORT_STARTED,
                subject_type="import_run",
                subject_id=run.pk,
                unit=_run_unit(run),
                data={"source": source_name, "file": run.file_name, "sha256": source.sha256}
                # The officer was told of the earlier run and went on: the trail says which run it was.
                | ({"same_file_as_run": earlier.pk} if earlier is not None else {}),
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
    workers: int | None = None,
) -> ImportRun:
    """Read the rows not yet committed, check them and commit them batch by batch.

    `workers` processes prepare the rows ahead of the look-ups of their numbers (see `collection.workers`);
    by default `settings.DANCU_IMPORT_WORKERS` for a file with many rows left, none for a small one. A
    process that may not fork (a task worker of the queue) works alone."""
    if run.finished_at is not None:
        # Every row is staged: a run interrupted while writing them goes on with that, not with its file.
        return run
    policy = policy or ImportPolicy.from_settings()
    checker = checker or RowChecker(run=run)
    _session_begin(run, done=run.rows_read)
    if workers is None:
        rows_left = (run.rows_total or 0) - run.rows_read
        workers = settings.DANCU_IMPORT_WORKERS if rows_left >= WORKERS_FROM_ROWS else 0
    if not can_fork_workers():
        workers = 0
    started = time.perf_counter()
    reading = _UntilDamaged(read_rows(source, skip=run.rows_read))
    batches = prepared_batches(
        _batches(reading, batch_size),
        today=checker.today,
        address_parser=checker.address_parser,
        units=checker.units,
        workers=workers,
    )
    # Closed on the way out, whatever the way: an error or Ctrl-C stops the workers at once. A batch makes
    # a few hundred thousand small objects (cells, rows, issues, the staged rows' text) and no reference
    # cycle; the cyclic collector, left on, walked them again and again while they lived, a sixth of this
    # process's CPU (`lib.gcpause`, bench/RESULTS.md, session 32). It is held off for the import and
    # collects the youngest objects once a batch instead, so that the few cycles a batch does make (in
    # Django's queries) are freed with it.
    with contextlib.closing(batches), gc_paused(), _BatchWriter(run, on_batch=on_batch) as writer:
        for batch, readable_rows, prepared in batches:
            writer.write(
                _staged_batch(
                    run=run,
                    batch=batch,
                    readable=readable_rows,
                    prepared=prepared,
                    checker=checker,
                    policy=policy,
                )
            )
            gc.collect(0)
        writer.finish()
    if reading.damage is not None:
        # Every row before the damage is committed: the caller marks the run failed with it (`import_fail`),
        # and the same file given again resumes after them, to stop at the same place.
        raise reading.damage
    with transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.DONE,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
            # The estimate counted lines; now the rows are known exactly.
            rows_total=F("rows_read"),
        )
        run.refresh_from_db()
        audit_event_record(
            actor=actor,
            event_type=EventType.IMPORT_FINISHED,
            subject_type="import_run",
            subject_id=run.pk,
            unit=_run_unit(run),
            data={
                "rows_read": run.rows_read,
                "accepted": run.rows_accepted,
                "review": run.rows_review,
                "rejected": run.rows_rejected,
                "seconds_this_session": round(time.perf_counter() - started, 1),
            },
        )
    return run


class _UntilDamaged:
    """The rows of a file up to a damage found after its header (a workbook's sheet cut or corrupted
    part-way), which ends the rows instead of escaping through the batches and is kept in `damage`.

    Raised where it is found, it would drop the rows of the batch it cuts short and those the workers
    prepare ahead (`collection.workers`): rows read whole, which an import commits before it fails, so
    that its counts say how far the file could be read and a resumed run reads none of them twice."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.rows = rows
        self.damage: FileRejectedError | None = None

    def __iter__(self) -> Iterator[Row]:
        try:
            yield from self.rows
        except FileRejectedError as exc:
            self.damage = exc


def _session_begin(run: ImportRun, *, done: int) -> None:
    """A process starts working on the run: the rate of the session, and so the estimate of the time
    left, counts from here. A run marked interrupted is under way again (staging, or promoting when its
    staging had finished)."""
    now = timezone.now()
    changes: dict[str, Any] = {"session_started_at": now, "session_start_count": done, "updated_at": now}
    if run.status in (ImportRun.Status.INTERRUPTED, ImportRun.Status.FAILED):
        # Started again (the same file uploaded again, or the same command run again): under way again.
        changes["status"] = ImportRun.Status.DONE if run.finished_at else ImportRun.Status.RUNNING
        changes["error"] = ""
    ImportRun.objects.filter(pk=run.pk).update(**changes)
    run.refresh_from_db()


@dataclass
class _StagedBatch:
    """A batch checked and ready to be written: its staged rows (`_STAGING_COLUMNS`) and what the run's
    counters gain with them."""

    first_number: int
    last_number: int
    records: list[tuple[Any, ...]]
    statuses: Counter[str]
    warned: int
    repaired: int
    issue_keys: list[workflow.IssueKey]
    repair_codes: list[str]


def _staged_batch(
    *,
    run: ImportRun,
    batch: list[Row],
    readable: list[Row],
    prepared: list[PreparedRow],
    checker: RowChecker,
    policy: ImportPolicy,
) -> _StagedBatch:
    # A line that could not be split into cells has nothing for the rules to look at: only the readable
    # rows were prepared.
    checked = checker.check(readable, prepared)
    checked_by_number = dict(zip((row.number for row in readable), checked, strict=True))
    records = []
    statuses: Counter[str] = Counter()
    issue_keys: list[workflow.IssueKey] = []
    repair_codes: list[str] = []
    warned = repaired = 0
    for row in batch:
        result = checked_by_number.get(row.number) or CheckedRow()
        if row.problems:
            result.issues = _row_issues(row) + result.issues
        issues = result.issues
        severities = {issue["severity"] for issue in issues}
        status = _status(severities, policy)
        has_warnings = Severity.WARNING in severities
        if status == StagingRecord.Status.REVIEW and not has_warnings:
            # No rule sends the row to an officer, the policy does: the row says so to its reviewer, and
            # the report by rule counts it, so that every row waiting is explained there.
            issues.append(issue_json(Issue("", "import.auto_approval_off")))
        statuses[status] += 1
        issue_keys += [(issue["field"], issue["code"]) for issue in issues]
        repair_codes += result.repair_codes
        warned += has_warnings
        repaired += bool(result.repair_codes)
        records.append(
            (
                run.pk,
                row.number,
                row.line or None,
                status,
                json_text(row.values),
                result.normalized_json,
                json_text(issues),
                result.repairs_json,
                result.id_number,
                result.old_id_number,
            )
        )
    return _StagedBatch(
        first_number=batch[0].number,
        last_number=batch[-1].number,
        records=records,
        statuses=statuses,
        warned=warned,
        repaired=repaired,
        issue_keys=issue_keys,
        repair_codes=repair_codes,
    )


def _write_batch(run_pk: int, staged: _StagedBatch) -> None:
    """Stage a checked batch and count it in its run, in one transaction."""
    with transaction.atomic():
        locked = ImportRun.objects.select_for_update().get(pk=run_pk)
        if locked.status == ImportRun.Status.DISCARDED:
            # Given up while this process was silent but alive (`import_discard`): it writes no more.
            raise ImportDiscardedError(run_pk)
        if locked.rows_read != staged.first_number - 1:
            # Another process committed these rows meanwhile: stop rather than write them twice.
            raise ImportConflictError(run_pk)
        if locked.status == ImportRun.Status.INTERRUPTED:
            # Marked interrupted while this process was only slow: it is alive, the run goes on.
            locked.status = ImportRun.Status.RUNNING
            locked.error = ""
        _insert_staging(staged.records)
        locked.rows_read = staged.last_number
        locked.rows_accepted += staged.statuses[StagingRecord.Status.APPROVED]
        locked.rows_review += staged.statuses[StagingRecord.Status.REVIEW]
        locked.rows_rejected += staged.statuses[StagingRecord.Status.REJECTED]
        locked.rows_with_warnings += staged.warned
        locked.rows_repaired += staged.repaired
        counts = workflow.issue_counts_changed(
            locked.issue_counts, locked.issue_fields, added=staged.issue_keys
        )
        locked.issue_counts, locked.issue_fields = counts["issue_counts"], counts["issue_fields"]
        locked.repair_counts = dict(Counter(locked.repair_counts) + Counter(staged.repair_codes))
        locked.save()


class _BatchWriter:
    """Writes an import's checked batches one at a time, in file order; on PostgreSQL in a thread of its
    own, on a connection of its own, while the importing process checks the next batch.

    Written in the importing process's own thread, a batch's COPY and commit held it idle while the
    database server stored the rows (their JSON cells read, the table's indexes updated): a third of its
    time on 100,000 rows (bench/RESULTS.md, session 39). In the writer's thread the server works while
    this process reads, looks up and formats the next batch, and the two cores stay busy.

    At most one batch is in the writer's hands: `write` first waits for the one before, gives its error if
    it failed, and tells `on_batch` of it once it is committed, as the import always did. The rules still
    see every number the run staged before: the batch being written is not yet visible to the next one's
    look-ups, and the checker answers for its numbers itself (`RowChecker.check`).

    On SQLite, or inside a transaction already open (a test, an API call), the batches are written in the
    importing thread: another connection would not see what that transaction holds, and SQLite locks its
    file against a second writer. On the way out, an error or Ctrl-C included, the batch in hand is left to
    finish before the writer's connection is closed: it is committed whole or not at all, and the run's
    counts say which.
    """

    def __init__(self, run: ImportRun, *, on_batch: Progress | None) -> None:
        self.run = run
        self.on_batch = on_batch
        threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
        self._executor = (
            concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="dancu-import-writer")
            if threaded
            else None
        )
        self._pending: concurrent.futures.Future[None] | None = None

    def __enter__(self) -> _BatchWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._executor is None:
            return
        try:
            if self._pending is not None:
                # Already on the way out with an error: the batch's own outcome is in the run's counts.
                concurrent.futures.wait([self._pending])
        finally:
            self._executor.submit(connections.close_all).result()
            self._executor.shutdown()

    def write(self, staged: _StagedBatch) -> None:
        """Hand `staged` to the writer, once the batch before it is committed."""
        self.finish()
        if self._executor is None:
            _write_batch(self.run.pk, staged)
            self._committed()
        else:
            self._pending = self._executor.submit(_write_batch, self.run.pk, staged)

    def finish(self) -> None:
        """Wait until the batch in hand is committed (raising its error if it failed)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()
            self._committed()

    def _committed(self) -> None:
        self.run.refresh_from_db()
        if self.on_batch is not None:
            self.on_batch(self.run)


# The columns of a staged row as `_write_batch` writes them, in this order.
_STAGING_COLUMNS = (
    "run_id",
    "row_number",
    "source_row",
    "status",
    "raw",
    "normalized",
    "issues",
    "repairs",
    "id_number",
    "old_id_number",
)


def _first_staged_postgresql(
    run_id: int, field_name: str, values: set[str]
) -> list[tuple[str, str | None, int]]:
    """The first staged row of the run that carries each of `values` in `field_name`, on PostgreSQL.

    One probe of the (run, number) index per value, by a LATERAL subquery with LIMIT 1: asked for the
    few thousand numbers of a batch at once (IN, = ANY or a join), the planner reads every row the run
    has staged instead, at every batch, which made an import slow down as it went (quadratic in the file).
    """
    table = connection.ops.quote_name(StagingRecord._meta.db_table)
    column = connection.ops.quote_name(field_name)
    sql = (
        "SELECT v.number, s.record_id, s.file_row FROM unnest(%s::text[]) AS v(number) "  # noqa: S608 - our own table and column
        "CROSS JOIN LATERAL (SELECT normalized ->> 'record_id' AS record_id, "
        f"COALESCE(source_row, row_number) AS file_row FROM {table} "
        f"WHERE run_id = %s AND {column} = v.number AND {column} <> '' ORDER BY row_number LIMIT 1) AS s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [text_array(sorted(values)), run_id])
        return list(cursor.fetchall())


def _insert_staging(records: list[tuple[Any, ...]]) -> None:
    """Write a batch of staged rows in one statement: COPY on PostgreSQL, one prepared INSERT run over the
    rows elsewhere. A batch is the hottest write of an import; bulk_create spent more time compiling the
    2,000 rows' SQL through the ORM (one expression per cell) than the database spent storing them. The
    unique (run, row_number) constraint still refuses a row written twice."""
    table = connection.ops.quote_name(StagingRecord._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in _STAGING_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            copy_in(cursor.cursor, table, columns, _staging_copy_text(records))
        else:
            placeholders = ", ".join(["%s"] * len(_STAGING_COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", records)  # noqa: S608 - our own table and columns


def _staging_copy_text(records: list[tuple[Any, ...]]) -> str:
    """Staged rows in COPY's text format, written for the cells they are known to hold: the run and row
    numbers (the file's line, or None), a status word, four cells of JSON text, and the two identifiers
    (digits, or empty: `_identifier`). JSON text never holds a tab, a line break or a carriage return (it
    writes them as escapes), so only its backslashes need escaping. A few f-strings a row, where
    `lib.pgcopy.copy_text` calls a function for each of the ten cells: 0.45 µs a row instead of 2
    (bench/RESULTS.md, session 39)."""
    lines = []
    for run_id, number, line, status, raw, normalized, issues, repairs, pin, cmnd in records:
        cells = f"{raw}\t{normalized}\t{issues}\t{repairs}"
        if "\\" in cells:
            cells = cells.replace("\\", "\\\\")
        source_row = COPY_NULL if line is None else line
        lines.append(f"{run_id}\t{number}\t{source_row}\t{status}\t{cells}\t{pin}\t{cmnd}\n")
    return "".join(lines)


def _identifier(value: str, length: int) -> str:
    """The identifier for the duplicate look-up columns, when it has the shape the rules accept; anything
    else is already refused by pin.format or cmnd.format, and would not fit the column."""
    return value if len(value) == length and value.isascii() and value.isdigit() else ""


class ImportConflictError(Exception):
    """Two imports of the same file ran at once; the other one owns the rows."""


class ImportDiscardedError(ImportConflictError):
    """The run was discarded while this process was still reading its file: nothing more is written."""


def import_rejected_exported(*, actor: Actor, run: ImportRun, rows: int, channel: str) -> None:
    """Record that `actor` took the rejected rows' workbook of `run` (`rows` rows), on the page ("web") or
    over the API ("api"): the rows are people's data, read by whoever may see the run."""
    with transaction.atomic():
        audit_event_record(
            actor=actor,
            event_type=EventType.IMPORT_REJECTED_EXPORTED,
            subject_type="import_run",
            subject_id=run.pk,
            unit=_run_unit(run),
            data={"rows": rows, "channel": channel},
        )


def import_fail(*, run: ImportRun, error: FileRejectedError, actor: Actor) -> None:
    with transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.FAILED,
            error=f"{error.code}: {error.message_vi} / {error.message_en}"[:2000],
            updated_at=timezone.now(),
        )
        audit_event_record(
            actor=actor,
            event_type=EventType.IMPORT_FAILED,
            subject_type="import_run",
            subject_id=run.pk,
            unit=_run_unit(run),
            data={"code": error.code},
        )


# Promotion: staged rows into the registry and the review queues -------------------------------------------

PROMOTE_BATCH_SIZE = 200


def _run_actor(run: ImportRun) -> Actor:
    # The officer who started an import from the web page writes its rows; an import run on the server
    # (`dancu import`) is a system job.
    return Actor(run.started_by) if run.started_by is not None else Actor(system="import")


class _Units:
    """The communes the rows name, looked up once per code for the whole promotion."""

    def __init__(self) -> None:
        self.legacy: dict[str, AdminUnit | None] = {}

    def commune(self, code: str) -> AdminUnit | None:
        # The forms' checks look the same codes up: one cache serves both (workflow.communes_cached).
        return workflow.commune_by_code(code)

    def legacy_commune(self, code: str) -> AdminUnit | None:
        if code not in self.legacy:
            # An island district that had no communes stands for its commune in a legacy address.
            self.legacy[code] = (
                AdminUnit.objects.filter(
                    structure=AdminUnit.Structure.LEGACY,
                    level__in=(AdminUnit.Level.COMMUNE, AdminUnit.Level.DISTRICT),
                    code=code,
                )
                .order_by("level")
                .first()
                if code
                else None
            )
        return self.legacy[code]


def _dc01_data(normalized: dict[str, Any], *, commune: AdminUnit, today: date) -> dict[str, str]:
    """The DC01 fields of a normalized row. A legacy book gives the permanent residence (thường trú) but
    rarely the day it was registered: the day of the import is recorded, and the original address text
    is kept on the residence."""
    pin = normalized.get("id_number", "")
    # The PIN names the province where the birth was registered; without one, the province of birth is
    # the best evidence of it (births are registered where they happen, as a rule).
    place = pin[:3] if pin and pin_codec.is_valid(pin) else normalized.get("birth_place", "")
    data = {
        "full_name": normalized.get("full_name", ""),
        "birth_date": normalized.get("birth_date", ""),
        "sex": normalized.get("sex", ""),
        "birth_registration_place": place,
        "pin": pin,
        "old_id_number": normalized.get("old_id_number", ""),
        "birth_place": normalized.get("birth_place_text", ""),
        # The books name parents without their numbers: the links are to the names.
        "father_name": normalized.get("father_name", ""),
        "mother_name": normalized.get("mother_name", ""),
        "residence_kind": Residence.Kind.PERMANENT,
        "commune_code": commune.code,
        "address_detail": (normalized.get("address_detail") or normalized.get("address", ""))[:300],
        "registered_on": today.isoformat(),
    }
    return {name: value for name, value in data.items() if value}


def _reject_on_the_way(*, actor: Actor, record: StagingRecord, issue: Issue, unit: AdminUnit | None) -> None:
    stored = issue_json(issue)
    workflow.staging_reject(
        record=record,
        issue=FieldError(issue.field, issue.rule_code, stored["message_vi"], stored["message_en"]),
    )
    audit_event_record(
        actor=actor,
        event_type=EventType.STAGING_REJECTED,
        subject_type="staging_record",
        subject_id=record.pk,
        data={"run": record.run_id, "row": record.row_number, "code": issue.rule_code},
        unit=unit,
    )


def _promote(*, record: StagingRecord, actor: Actor, units: _Units, today: date) -> None:
    with transaction.atomic():
        locked = (
            StagingRecord.objects.select_for_update()
            .select_related("run")
            .filter(pk=record.pk, promoted_at__isnull=True)
            .first()
        )
        if locked is None:
            return  # another process promoted it meanwhile
        normalized = locked.normalized
        commune = units.commune(normalized.get("commune_code", ""))
        if commune is None:
            _reject_on_the_way(
                actor=actor, record=locked, issue=Issue("address", "import.no_commune"), unit=None
            )
            return
        legacy = units.legacy_commune(normalized.get("legacy_commune_code", ""))
        starter = locked.run.started_by
        # A record belongs to its 2025 commune and, written in the old units, to its legacy commune too:
        # the same two ways a form is in an officer's area.
        if starter is not None and not (
            unit_in_area(starter, commune) or (legacy is not None and unit_in_area(starter, legacy))
        ):
            # An officer's import reaches only the communes of their own area (that of today).
            params = outside_area_params(unit=commune, area=user_area(starter))
            _reject_on_the_way(
                actor=actor, record=locked, issue=Issue("address", OUTSIDE_AREA, params), unit=commune
            )
            return
        data = _dc01_data(normalized, commune=commune, today=today)
        refused: list[FieldError] = []
        # The row is judged again as the DC01 it becomes (a PIN needs a place of birth registration, a year
        # alone for a birth date is a warning, the same name and birth in the registry too): only a row that
        # passes that as well reaches the registry without an officer. Judged as the row it is, so that a
        # record of the same name and birth whose pair with it the duplicates queue settled "not the same
        # person" holds it no longer, and one settled "same person" holds it with that said.
        check = workflow.form_validate(
            user=None, kind=CollectionForm.Kind.DC01, data=data, today=today, staging_record_id=locked.pk
        )
        if locked.status == StagingRecord.Status.APPROVED and not check.errors and not check.warnings:
            try:
                with transaction.atomic():
                    _apply_approved(actor=actor, record=locked, data=data, commune=commune, legacy=legacy)
                return
            except DomainError as exc:
                # The registry refused what the rules let through (no province of birth registration to
                # allocate a PIN from): an officer looks at the row instead, with the refusal beside it.
                refused = exc.errors
            except IntegrityError:
                refused = [Issue("id_number", "pin.duplicate").as_field_error()]
        try:
            with transaction.atomic():
                form = workflow.form_from_staging(
                    actor=actor,
                    record=locked,
                    data=data,
                    commune=commune,
                    legacy_commune=legacy,
                    apply_errors=refused,
                )
                counters: dict[str, Any] = {"rows_queued": F("rows_queued") + 1}
                counters |= _filed_issue_counters(record=locked, form=form)
                if locked.status == StagingRecord.Status.APPROVED:
                    # A row that passed the row rules but not the DC01's (a possible duplicate found in the
                    # registry, a refusal on writing) waits for an officer after all: the report counts it
                    # there, not among the rows approved without one.
                    locked.status = StagingRecord.Status.REVIEW
                    counters |= {"rows_accepted": F("rows_accepted") - 1, "rows_review": F("rows_review") + 1}
                locked.promoted_at = timezone.now()
                locked.save(update_fields=["status", "promoted_at", "issues"])
                ImportRun.objects.filter(pk=locked.run_id).update(**counters, updated_at=timezone.now())
        except DomainError as exc:
            _reject_on_the_way(
                actor=actor,
                record=locked,
                issue=Issue(exc.errors[0].field, exc.errors[0].code, exc.errors[0].params),
                unit=commune,
            )


def _filed_issue_counters(*, record: StagingRecord, form: CollectionForm) -> dict[str, Any]:
    """The run's counters for what the DC01 a row was filed as found that the row's own rules had not (a
    birth date known only to its year, a possible duplicate in the registry, the registry's refusal to
    write it): the report by rule counts them, and a row they warned about among the rows with warnings,
    so that every row waiting for an officer is explained there by a rule. The codes the row's rules gave
    already are its own (the form repeats its warnings, `workflow._check_stored`), counted when it was
    staged. A row staged as waiting only because automatic approval was off (`import.auto_approval_off`)
    no longer waits only for that: the notice leaves the row (the caller saves its issues) and the count."""
    own = {issue["code"] for issue in record.issues}
    found: dict[tuple[str, str], bool] = {}
    for problems, warning in ((form.errors, False), (form.apply_errors, False), (form.warnings, True)):
        for problem in problems:
            if problem["code"] not in own:
                key = (problem["field"], problem["code"])
                found[key] = found.get(key, False) or warning
    if not found:
        return {}
    notices = [issue for issue in record.issues if issue["code"] == _AUTO_APPROVAL_OFF]
    record.issues = [issue for issue in record.issues if issue["code"] != _AUTO_APPROVAL_OFF]
    changes = workflow.run_issue_changes(
        record.run_id,
        added=list(found),
        removed=[(notice["field"], notice["code"]) for notice in notices],
    )
    warned_before = any(issue["severity"] == Severity.WARNING for issue in record.issues)
    if any(found.values()) and not warned_before:
        changes["rows_with_warnings"] = F("rows_with_warnings") + 1
    return changes


_AUTO_APPROVAL_OFF = "import.auto_approval_off"


def _applied_source(record: StagingRecord) -> str:
    # The source's name is the importer's free text; the run's number leads to it (and to the file).
    return f"Tệp {record.label}"


def _applied_reason(record: StagingRecord) -> str:
    return f"Nhập dữ liệu dân cư cũ, tự động duyệt ({record.label})"


def _applied_event(record: StagingRecord, citizen: Citizen, commune: AdminUnit) -> NewEvent:
    return NewEvent(
        EventType.STAGING_APPLIED,
        "staging_record",
        record.pk,
        {"run": record.run_id, "row": record.row_number, "citizen_id": citizen.pk, "pin": citizen.pin},
        source_document=_applied_source(record),
        unit=commune,
    )


def _apply_approved(
    *, actor: Actor, record: StagingRecord, data: dict[str, str], commune: AdminUnit, legacy: AdminUnit | None
) -> None:
    source = _applied_source(record)
    citizen = workflow.dc01_write(
        actor=actor,
        data=data,
        commune=commune,
        legacy_commune=legacy,
        address_original=record.normalized.get("address", ""),
        reason=_applied_reason(record),
        source_document=source,
    )
    record.citizen = citizen
    record.promoted_at = timezone.now()
    record.save(update_fields=["citizen", "promoted_at"])
    ImportRun.objects.filter(pk=record.run_id).update(
        rows_applied=F("rows_applied") + 1, updated_at=timezone.now()
    )
    audit_events_record(actor=actor, events=[_applied_event(record, citizen, commune)])


# Approved rows in batches: the same rows as _promote writes one by one, a few statements per batch -------


# A number or a name whose holders in the registry a row's DC01 check reads: ("pin", PIN), ("cmnd", CMND)
# or ("name", folded full name).
_RegistryKey = tuple[Literal["pin", "cmnd", "name"], str]


@dataclass(frozen=True)
class _Approved:
    """A staged row that _promote would write to the registry, made an entry of the bulk write."""

    record: StagingRecord
    commune: AdminUnit
    entry: NewCitizenEntry
    # What the checks of the row read in the registry that an earlier row of the batch may write there.
    keys: frozenset[_RegistryKey]


def _registry_keys(data: dict[str, str]) -> frozenset[_RegistryKey]:
    """The PIN, the CMND and the folded name of a row's DC01: its check looks for records holding the
    first two, and for records of the same name and birth (keyed by the name alone, which is stricter)."""
    name = data.get("full_name", "")
    keys: set[_RegistryKey] = {
        ("pin", data.get("pin", "")),
        ("cmnd", data.get("old_id_number", "")),
        ("name", fold_name(name)),
        ("name", fold_name(normalize_name(name))),
    }
    return frozenset(key for key in keys if key[1])


@dataclass(frozen=True)
class _RowByRow:
    """A staged row that _promote moves on by itself, and whether it may write to the registry there."""

    record: StagingRecord
    writes: bool
    keys: frozenset[_RegistryKey]


def _approved_for_bulk(
    *, record: StagingRecord, actor: Actor, units: _Units, today: date, lookups: RecordLookups
) -> _Approved | _RowByRow:
    """The row as an entry of the bulk write when _promote would write it to the registry and the bulk
    write writes all of it: an approved row in a commune of the importer's area that passes its DC01's
    check and that dc01_bulk_entry takes. Any other row goes through _promote, which decides as always;
    it writes nothing to the registry when it is for review or rejected (it files a form, or a reason).
    Reads the registry as the rows before it in the file have left it: the caller writes those first."""
    normalized = record.normalized
    commune = units.commune(normalized.get("commune_code", ""))
    if commune is None:
        return _RowByRow(record=record, writes=False, keys=frozenset())
    legacy = units.legacy_commune(normalized.get("legacy_commune_code", ""))
    starter = record.run.started_by
    if starter is not None and not (
        unit_in_area(starter, commune) or (legacy is not None and unit_in_area(starter, legacy))
    ):
        return _RowByRow(record=record, writes=False, keys=frozenset())
    data = _dc01_data(normalized, commune=commune, today=today)
    keys = _registry_keys(data)
    if record.status != StagingRecord.Status.APPROVED:
        return _RowByRow(record=record, writes=False, keys=keys)
    # Judged as the row it is, as _promote judges it: the duplicates queue's decisions on its pairs count.
    check = workflow.form_validate(
        user=None,
        kind=CollectionForm.Kind.DC01,
        data=data,
        today=today,
        lookups=lookups,
        staging_record_id=record.pk,
    )
    if check.errors or check.warnings:
        return _RowByRow(record=record, writes=False, keys=keys)
    entry = workflow.dc01_bulk_entry(
        actor=actor,
        data=data,
        commune=commune,
        legacy_commune=legacy,
        address_original=normalized.get("address", ""),
        reason=_applied_reason(record),
        source_document=_applied_source(record),
    )
    if entry is None:
        return _RowByRow(record=record, writes=True, keys=keys)
    return _Approved(record=record, commune=commune, entry=entry, keys=keys)


def _mark_promoted(records: Sequence[StagingRecord], now: datetime) -> None:
    """Save each row's citizen and promotion time: one prepared statement run over the rows, where
    bulk_update would compile a CASE over every id (a tenth of the promotion's time)."""
    table = connection.ops.quote_name(StagingRecord._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET citizen_id = %s, promoted_at = %s WHERE id = %s",  # noqa: S608 - from the model
            [(record.citizen_id, at, record.pk) for record in records],
        )


def _apply_approved_bulk(*, approved: list[_Approved], actor: Actor, units: _Units, today: date) -> None:
    """Write the rows to the registry in one go, each marked promoted with its citizen, counted and
    recorded (`staging.applied`) as _apply_approved does. Should the registry refuse the batch (a PIN
    another transaction took a moment ago), the rows go through _promote one by one, which writes each
    as it always has, or sends it to review with the refusal."""
    if not approved:
        return
    try:
        with transaction.atomic():
            citizens = workflow.dc01_write_bulk(actor=actor, entries=[row.entry for row in approved])
            now = timezone.now()
            records = [row.record for row in approved]
            for record, citizen in zip(records, citizens, strict=True):
                record.citizen = citizen
                record.promoted_at = now
            _mark_promoted(records, now)
            ImportRun.objects.filter(pk=records[0].run_id).update(
                rows_applied=F("rows_applied") + len(records), updated_at=now
            )
            audit_events_record(
                actor=actor,
                events=[
                    _applied_event(row.record, citizen, row.commune)
                    for row, citizen in zip(approved, citizens, strict=True)
                ],
            )
    except (DomainError, IntegrityError):
        for row in approved:
            row.record.citizen = None
            row.record.promoted_at = None
            _promote(record=row.record, actor=actor, units=units, today=today)


def _lookups_for(records: Sequence[StagingRecord]) -> RecordLookups:
    """What the DC01 checks of these rows will ask the registry (the holders of their PINs and CMNDs, the
    records of their name and birth), read for all of them at once. A row whose check asks otherwise
    (a name the check normalizes further) only costs its own query."""
    pins, old_ids, names = set(), set(), set()
    for record in records:
        normalized = record.normalized
        if pin := normalized.get("id_number", ""):
            pins.add(pin)
        elif (name := normalized.get("full_name", "")) and (birth := normalized.get("birth_date", "")):
            # The check looks for the same name and birth only where the row has no PIN; an unreadable
            # date is refused by the check before it looks.
            with contextlib.suppress(PartialDateError):
                names.add((fold_name(name), PartialDate.parse(birth)))
        if old_id := normalized.get("old_id_number", ""):
            old_ids.add(old_id)
    return RecordLookups(pins=pins, old_ids=old_ids, names=names)


def _reread_written(
    lookups: RecordLookups,
    keys: Collection[_RegistryKey],
    *,
    pairs: StagedPairDecisions,
    records: Collection[StagingRecord],
) -> None:
    """The rows just written hold these numbers and names now: what the next checks ask of them is read
    again, and so is the citizen each row became, which a decided pair of a later row with it is about."""
    lookups.reread(
        pins={value for kind, value in keys if kind == "pin"},
        old_ids={value for kind, value in keys if kind == "cmnd"},
        name_keys={value for kind, value in keys if kind == "name"},
    )
    pairs.reread([record.pk for record in records])


def _promote_chunk(*, records: list[StagingRecord], actor: Actor, units: _Units, today: date) -> None:
    """Promote the rows in one transaction, with the same outcome row by row as _promote alone in file
    order. The rows it would write to the registry are gathered and written in bulk. The others go
    through _promote: at once when they only file a form or a reason, since what their checks read (the
    holders of their PIN and CMND, the records of their name) is none of what the gathered rows write;
    after the gathered rows are written when they may write to the registry themselves, or when their
    checks read what a gathered row writes (the same PIN, CMND or name), so that each row is judged on
    the registry as the rows before it left it. A row is marked promoted in the transaction that writes
    it: a killed import resumes after the last chunk committed.

    The checks' questions to the registry (who holds a PIN, a CMND, a name and birth) are read for the
    whole chunk at once, and asked again for the numbers and names of each row written. So are their
    questions to the duplicates queue (how it settled a row's pairs with the records of its name and
    birth), which every row with such a record asks, in bulk and in _promote alike."""
    with transaction.atomic():
        locked = list(
            StagingRecord.objects.select_for_update(of=("self", "run"))
            .select_related("run", "run__started_by")
            .filter(pk__in=[record.pk for record in records], promoted_at__isnull=True)
            .order_by("row_number")
        )
        workflow.communes_prefetch([record.normalized.get("commune_code", "") for record in locked])
        lookups = _lookups_for(locked)
        with staged_pair_decisions_cached([record.pk for record in locked]) as pairs:
            _promote_locked(
                records=locked, actor=actor, units=units, today=today, lookups=lookups, pairs=pairs
            )


def _promote_locked(
    *,
    records: list[StagingRecord],
    actor: Actor,
    units: _Units,
    today: date,
    lookups: RecordLookups,
    pairs: StagedPairDecisions,
) -> None:
    """_promote_chunk's walk over its locked rows in file order, in its transaction."""
    gathered: list[_Approved] = []
    keys: set[_RegistryKey] = set()

    def write_gathered() -> None:
        nonlocal gathered, keys
        _apply_approved_bulk(approved=gathered, actor=actor, units=units, today=today)
        _reread_written(lookups, keys, pairs=pairs, records=[row.record for row in gathered])
        gathered, keys = [], set()

    for record in records:
        row = _approved_for_bulk(record=record, actor=actor, units=units, today=today, lookups=lookups)
        if not keys.isdisjoint(row.keys):
            write_gathered()
            # Judged again on the registry that now holds the rows before it.
            row = _approved_for_bulk(record=record, actor=actor, units=units, today=today, lookups=lookups)
        if isinstance(row, _Approved):
            gathered.append(row)
            keys |= row.keys
            continue
        if row.writes:
            write_gathered()
        _promote(record=record, actor=actor, units=units, today=today)
        if row.writes:
            _reread_written(lookups, row.keys, pairs=pairs, records=[record])
    write_gathered()


def import_promote(
    *,
    run: ImportRun,
    actor: Actor | None = None,
    batch_size: int = PROMOTE_BATCH_SIZE,
    on_batch: Progress | None = None,
    today: date | None = None,
) -> ImportRun:
    """Move the staged rows of a finished run on, one transaction per chunk of `batch_size` rows: approved
    rows into the registry (as an applied DC01 would be written, in bulk: _promote_chunk), rows for an
    officer into their commune's review queue as DC01 forms. Rows whose address maps to no commune, or
    (for an officer's import) to a commune outside the officer's area, are rejected on the way.
    Resumable: a row is promoted once, in the transaction that marks it."""
    actor = actor or _run_actor(run)
    today = today or timezone.localdate()
    _session_begin(run, done=run.rows_applied + run.rows_queued)
    units = _Units()
    pending = (
        StagingRecord.objects.filter(run=run, promoted_at__isnull=True)
        .exclude(status=StagingRecord.Status.REJECTED)
        .order_by("row_number")
    )
    after = 0
    with workflow.communes_cached():
        while chunk := list(pending.filter(row_number__gt=after)[:batch_size]):
            _promote_chunk(records=chunk, actor=actor, units=units, today=today)
            after = chunk[-1].row_number
            if on_batch is not None:
                run.refresh_from_db()
                on_batch(run)
    with transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(promoted_at=timezone.now(), updated_at=timezone.now())
        run.refresh_from_db()
        _forget_stored_file(run)
        audit_event_record(
            actor=actor,
            event_type=EventType.IMPORT_PROMOTED,
            subject_type="import_run",
            subject_id=run.pk,
            unit=_run_unit(run),
            data={"applied": run.rows_applied, "queued": run.rows_queued, "rejected": run.rows_rejected},
        )
    return run


# Imports started from the web page --------------------------------------------------------------------------

UPLOAD_SUFFIXES = (".csv", ".xlsx")
_ROLE_NOT_ALLOWED = (
    "role.not_allowed",
    "Chỉ cán bộ phúc tra cấp huyện/tỉnh và quản trị cấp Bộ được nhập tệp",
    "Only district or province supervisors and ministry administrators may import files",
)


def _upload_refusal(code: str, vi: str, en: str) -> FileRejectedError:
    return FileRejectedError(code, vi, en)


def import_upload(
    *, actor: Actor, upload: UploadedFile, source_name: str, same_file_again: bool = False
) -> ImportRun:
    """Keep an uploaded person-records file and start importing it in the background worker.

    Refused before anything is kept: an officer whose role may not import, a file that is not .csv or
    .xlsx, one over the size limit (`DANCU_IMPORT_UPLOAD_MAX_MB`), and every fault that makes the file
    unreadable as a whole (empty, binary, no header...), each with its rule code. The same file uploaded
    again under the same source resumes (or shows) its earlier run instead of importing it twice; under
    another source it is refused naming the earlier run, unless `same_file_again` (`import_start`).
    """
    user = actor.user
    if user is None or user.role not in IMPORT_ROLES or not officer_can_read_records(user):
        raise _upload_refusal(*_ROLE_NOT_ALLOWED)
    name = Path(upload.name or "").name
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        raise _upload_refusal(
            "file.type",
            # Offices still keep books as Excel 97-2003 workbooks (.xls): say how to make one readable.
            "Chỉ nhận tệp .csv hoặc .xlsx; bảng tính Excel cũ (.xls) hãy mở bằng Excel hoặc LibreOffice và "
            "lưu lại dạng .xlsx hoặc CSV UTF-8",
            "Only .csv and .xlsx files are accepted; open an old Excel workbook (.xls) in Excel or "
            "LibreOffice and save it as .xlsx or CSV UTF-8",
        )
    limit = settings.DANCU_IMPORT_UPLOAD_MAX_MB * 1024 * 1024
    if upload.size is not None and upload.size > limit:
        raise _upload_refusal(
            "file.too_large",
            f"Tệp lớn hơn giới hạn {settings.DANCU_IMPORT_UPLOAD_MAX_MB} MB; tệp lớn hơn được nhập bằng lệnh "
            "dancu import trên máy chủ",
            f"The file is over the {settings.DANCU_IMPORT_UPLOAD_MAX_MB} MB limit; larger files are imported "
            "with dancu import on the server",
        )
    folder = upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    # The stored name is ours (the uploaded one is kept on the run): nothing of it reaches the file system.
    path = folder / f"{uuid.uuid4().hex}{Path(name).suffix.lower()}"
    with path.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    try:
        run, _source = import_start(
            path=path,
            source_name=source_name,
            actor=actor,
            file_name=name,
            stored_file=path.name,
            same_file_again=same_file_again,
        )
    except BaseException:
        # Refused, or anything else that stopped the start: no run holds the copy, so nothing would ever
        # read or remove it.
        path.unlink(missing_ok=True)
        raise
    if run.stored_file != path.name:
        # The same file again, for a run that is finished or still has its copy: this one is not needed.
        path.unlink(missing_ok=True)
    queued = run.status == ImportRun.Status.RUNNING and run.session_started_at is None
    if queued or run.status in (ImportRun.Status.INTERRUPTED, ImportRun.Status.FAILED):
        # A new run, or one that stopped: a worker takes it (again) from its last committed row. A run a
        # worker is on already is only shown.
        enqueue("dancu.collection.services.import_in_background", run.pk, name=f"import #{run.pk}")
    run.refresh_from_db()
    return run


def upload_folder() -> Path:
    return Path(settings.VAR_DIR) / "imports"


def _forget_stored_file(run: ImportRun) -> None:
    """The uploaded copy of a finished run is personal data kept for nothing: delete it."""
    if run.stored_file:
        (upload_folder() / run.stored_file).unlink(missing_ok=True)
        ImportRun.objects.filter(pk=run.pk).update(stored_file="")
        run.stored_file = ""


def import_in_background(run_id: int) -> dict[str, int]:
    """The worker's task: stage the rows, then promote them, as `dancu import` does on the terminal."""
    run = ImportRun.objects.select_related("started_by__police_unit__admin_unit", "unit").get(pk=run_id)
    actor = _run_actor(run)
    if run.promoted_at is not None:
        return {"run": run.pk, "rows_read": run.rows_read}  # a task queued twice: the first did it all
    try:
        if run.finished_at is None:
            # Still staging: the file is read from the row after the last committed one. A run whose
            # staging is done only has its staged rows to promote, and needs the file no more.
            # Gone from the disk too (as `import_resume` asks): the officer is told to upload it again,
            # not shown the server's path of the copy.
            if not run.stored_file or not (upload_folder() / run.stored_file).is_file():
                raise _missing_file_error(run)
            source = open_source(upload_folder() / run.stored_file)
            # Alone: forking workers from a task worker (or from the web server, when tasks run inline)
            # would copy a process whose other threads may hold locks.
            run = import_rows(run=run, source=source, actor=actor, workers=0)
        run = import_promote(run=run, actor=actor)
    except FileRejectedError as exc:
        import_fail(run=run, error=exc, actor=actor)
    except ImportConflictError:
        pass  # another worker is on the run and will finish it
    run.refresh_from_db()
    return {"run": run.pk, "rows_read": run.rows_read}


def _missing_file_error(run: ImportRun) -> FileRejectedError:
    return FileRejectedError(
        "file.missing",
        f"Không còn tệp đã tải lên của lần nhập #{run.pk}: hãy tải lên lại cùng tệp để nhập tiếp "
        f"sau dòng {run.rows_read:,}",
        f"The uploaded file of import #{run.pk} is gone: upload the same file again to continue after row "
        f"{run.rows_read:,}",
    )


# Runs whose worker went silent ------------------------------------------------------------------------------


def _stalled_runs(now: datetime) -> QuerySet[ImportRun]:
    """Runs a process started on and that have not moved for DANCU_IMPORT_STALL_MINUTES. A run still
    waiting for a worker (no session yet) is not one; nor is a run staged on the server with --stage-only,
    which waits for its operator, not for a worker. Once its operator has begun writing it (a session that
    began after its staging ended, as `import_progress` tells "writing" from "staged"), a server run that
    goes silent is as stalled as an uploaded one."""
    silent_since = now - timedelta(minutes=settings.DANCU_IMPORT_STALL_MINUTES)
    writing = Q(started_by__isnull=False) | Q(session_started_at__gt=F("finished_at"))
    return ImportRun.objects.filter(session_started_at__isnull=False, updated_at__lt=silent_since).filter(
        Q(status=ImportRun.Status.RUNNING)
        | (Q(status=ImportRun.Status.DONE, promoted_at__isnull=True) & writing)
    )


def imports_mark_interrupted(*, actor: Actor, now: datetime | None = None) -> list[ImportRun]:
    """Mark interrupted, with the reason, every run whose worker died without a word (killed, out of
    memory, machine restarted): the page then says so and offers to continue, instead of showing a run
    "in progress" forever. Nothing committed is touched. Run by the workers every few minutes."""
    now = now or timezone.now()
    marked = []
    for candidate in _stalled_runs(now).order_by("pk"):
        with transaction.atomic():
            run = _stalled_runs(now).select_for_update().filter(pk=candidate.pk).first()
            if run is None:
                continue  # its worker spoke meanwhile
            done, step, step_en = _where_it_stopped(run)
            silent = f"{timezone.localtime(run.updated_at):%H:%M %d/%m/%Y}"
            _mark_interrupted(
                run,
                actor=actor,
                cause=f"import.interrupted: Tiến trình nhập dừng đột ngột khi {step} ({done:,} dòng đã lưu, "
                f"không có tin từ {silent})",
                cause_en=f"The import process stopped without a word while {step_en} ({done:,} rows "
                f"committed, silent since {silent})",
            )
        marked.append(run)
    return marked


def import_stop(*, run: ImportRun, actor: Actor, terminated: bool) -> ImportRun:
    """`dancu import` stopped by its operator's Ctrl-C, or by SIGTERM (`terminated`: a service manager,
    a shutdown that asks first): the run is marked interrupted at once, saying how it goes on, where its
    page would otherwise show it in progress until the workers' check found it silent. Nothing committed
    is touched; a run that finished meanwhile is left as it is."""
    if terminated:
        how, how_en = "bị dừng bởi tín hiệu SIGTERM", "was stopped by SIGTERM"
    else:
        how, how_en = "bị người vận hành dừng (Ctrl-C)", "was stopped by its operator (Ctrl-C)"
    with transaction.atomic():
        locked = (
            ImportRun.objects.select_for_update()
            .filter(pk=run.pk, promoted_at__isnull=True)
            .filter(status__in=(ImportRun.Status.RUNNING, ImportRun.Status.DONE))
            .first()
        )
        if locked is not None:
            done, step, step_en = _where_it_stopped(locked)
            _mark_interrupted(
                locked,
                actor=actor,
                cause=f"import.stopped: Lệnh dancu import {how} khi {step} ({done:,} dòng đã lưu)",
                cause_en=f"dancu import {how_en} while {step_en} ({done:,} rows committed)",
            )
    run.refresh_from_db()
    return run


def _where_it_stopped(run: ImportRun) -> tuple[int, str, str]:
    """The rows a stopped run had committed, and its step, in both languages."""
    if run.finished_at is None:
        return run.rows_read, "đọc và kiểm tra", "reading and checking"
    return run.rows_applied + run.rows_queued, "ghi vào CSDL", "writing to the registry"


def _mark_interrupted(run: ImportRun, *, actor: Actor, cause: str, cause_en: str) -> None:
    """Mark a run locked by the caller interrupted, its error the cause and how it goes on."""
    # How it goes on: from its page, or (a file read on the server) by the same command there.
    if (on_server := import_server_resume(run)) is not None:
        then, then_en = f"; {on_server.message('vi')}", f"; {on_server.message('en')}"
    else:
        then = ", tiếp tục sẽ nhập từ dòng kế tiếp."
        then_en = " and continuing starts at the next row."
    run.status = ImportRun.Status.INTERRUPTED
    run.error = f"{cause}; các dòng đã lưu được giữ{then} / {cause_en}; committed rows are kept{then_en}"
    # Not `save()`: the heartbeat keeps the time the run was last heard of.
    ImportRun.objects.filter(pk=run.pk).update(status=run.status, error=run.error)
    audit_event_record(
        actor=actor,
        event_type=EventType.IMPORT_INTERRUPTED,
        subject_type="import_run",
        subject_id=run.pk,
        unit=_run_unit(run),
        data={"rows_read": run.rows_read, "promoted": run.rows_applied + run.rows_queued},
    )


def _require_import_role(actor: Actor) -> None:
    """Refuse a step on a run to an actor whose role may not import (`role.not_allowed`)."""
    if actor.user is None or actor.user.role not in IMPORT_ROLES:
        code, vi, en = _ROLE_NOT_ALLOWED
        raise DomainError(FieldError(field="", code=code, message_vi=vi, message_en=en))


DISCARD_REASON_MAX = 500


def import_discard(*, actor: Actor, run: ImportRun, reason: str) -> ImportRun:
    """Give up a run whose rows were never all read: one that failed on its file (a damaged file fails at
    the same row each time it is given again) or was interrupted while reading it.

    Its staged rows are kept, with its report and its rejected rows, but no longer wait for anyone: the
    rows of later imports with the same PIN or CMND are not told that they wait in it, and the same file
    may be imported again as a new run. A run that finished reading is refused: its rows are on their way
    into the registry and the review queues, where officers decide them. Only the roles that may import
    discard a run, with a reason, which the audit event keeps; an uploaded run's copy of its file is
    deleted. The server's own command (`dancu import --discard`, a system actor) discards as its operator,
    who holds the server."""
    if actor.user is not None:
        _require_import_role(actor)
    reason = " ".join(reason.split())
    if not reason or len(reason) > DISCARD_REASON_MAX or forbidden_characters(reason):
        raise DomainError(Issue("reason", "import.discard_reason").as_field_error())
    with transaction.atomic():
        locked = ImportRun.objects.select_for_update().get(pk=run.pk)
        if not import_discardable(locked):
            raise DomainError(Issue("", "import.not_discardable").as_field_error())
        was = locked.status
        locked.status = ImportRun.Status.DISCARDED
        locked.error = f"import.discarded: {reason}"[:2000]
        # Not `save()`: the heartbeat keeps the time the run was last heard of.
        ImportRun.objects.filter(pk=run.pk).update(status=locked.status, error=locked.error)
        audit_event_record(
            actor=actor,
            event_type=EventType.IMPORT_DISCARDED,
            subject_type="import_run",
            subject_id=run.pk,
            unit=_run_unit(locked),
            data={
                "reason": reason,
                "rows_read": locked.rows_read,
                "review": locked.rows_review,
                "was": was,
            },
        )
    # The copy was kept to resume the run, which will not be.
    _forget_stored_file(locked)
    run.refresh_from_db()
    return run


def import_resume(*, actor: Actor, run: ImportRun) -> ImportRun:
    """Hand an interrupted run to a worker again; it continues after its last committed row. Only the
    roles that may import resume a run; a run whose uploaded file is gone is marked failed instead,
    saying so. A run `dancu import` started on the server, still reading a file that was never uploaded,
    is refused (`import.resume_on_server`) and left as it was: the same command, run there again,
    resumes it."""
    _require_import_role(actor)
    if run.status != ImportRun.Status.INTERRUPTED:
        raise DomainError(Issue("", "import.not_interrupted").as_field_error())
    if (on_server := import_server_resume(run)) is not None:
        raise DomainError(on_server.as_field_error())
    file_gone = not run.stored_file or not (upload_folder() / run.stored_file).is_file()
    if run.finished_at is None and file_gone:
        import_fail(run=run, error=_missing_file_error(run), actor=actor)
        run.refresh_from_db()
        return run
    with transaction.atomic():
        # Waiting for a worker again: no session until one starts, so the run is not "silent" meanwhile.
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.DONE if run.finished_at else ImportRun.Status.RUNNING,
            error="",
            session_started_at=None,
            updated_at=timezone.now(),
        )
        audit_event_record(
            actor=actor,
            event_type=EventType.IMPORT_RESUMED,
            subject_type="import_run",
            subject_id=run.pk,
            unit=_run_unit(run),
            data={"rows_read": run.rows_read, "promoted": run.rows_applied + run.rows_queued},
        )
    enqueue("dancu.collection.services.import_in_background", run.pk, name=f"import #{run.pk}")
    run.refresh_from_db()
    return run
