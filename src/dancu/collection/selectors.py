"""Reads of the DC01/DC02 forms: the queues of each role and one form, scoped to the reader's area.

A form belongs to the commune where it was collected (and, for a record declared in the old units, to
that legacy commune as well); an officer sees the forms of the communes in their police unit's area, by
the same rule `accounts.selectors.unit_in_area` applies to writes. A form outside the area and a form
that does not exist give the same NotFoundError. Reading a form that names a citizen of the registry (a
DC02, or a DC01 once applied) shows that citizen's data, so it is written to the access log.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.selectors import officer_can_read_records
from dancu.audit.models import AccessLog, AuditEvent
from dancu.audit.services import access_log_record
from dancu.collection.models import CollectionForm, ImportRun, StagingRecord
from dancu.geo.models import AdminUnit
from dancu.geo.selectors import within
from dancu.lib.chunks import batched
from dancu.lib.errors import NotFoundError
from dancu.matching.models import CandidatePair
from dancu.registry.rules import Issue

Status = CollectionForm.Status
_NOTHING = Q(pk__in=[])
QUEUE_LIMIT = 100

# Who waits for what. A collector's queue is their own work (drafts, forms returned to them); a commune
# reviewer's is what was submitted in the commune; a supervisor's is what was checked in the area, then
# what they re-checked and still have to apply.
AUTHOR_STATUSES = (Status.DRAFT, Status.RETURNED)
REVIEWER_STATUSES = (Status.SUBMITTED,)
SUPERVISOR_STATUSES = (Status.CHECKED, Status.RECHECKED)


def _scope(user: User, in_area: Callable[[AdminUnit], Q]) -> Q:
    """Nothing for someone who may not read records, everything for the ministry, else what `in_area`
    says of the area of the user's police unit."""
    if not officer_can_read_records(user):
        return _NOTHING
    unit = user.police_unit
    assert unit is not None
    if unit.level == PoliceUnit.Level.MINISTRY:
        return Q()
    area = unit.admin_unit
    assert area is not None  # a database constraint: only the ministry has no area
    return in_area(area)


def form_scope(user: User) -> Q:
    """The forms `user` may see, as a filter on CollectionForm."""
    return _scope(
        user,
        lambda area: within("commune", area) | within("legacy_commune", area),
    )


def _forms() -> QuerySet[CollectionForm]:
    return CollectionForm.objects.select_related(
        "commune__parent",
        "legacy_commune__parent__parent",
        "citizen",
        "created_by",
        "checked_by",
        "rechecked_by",
        "applied_by",
        "returned_by",
        "rejected_by",
        "staging_record__run",
    )


def _log_citizens(
    *,
    actor: User,
    forms: list[CollectionForm],
    action: AccessLog.Action,
    purpose: str,
    channel: AccessLog.Channel,
    detail: str,
) -> None:
    citizen_ids = sorted({f.citizen_id for f in forms if f.citizen_id is not None})
    access_log_record(
        actor=actor,
        citizen_ids=citizen_ids,
        action=action,
        channel=channel,
        purpose=purpose,
        detail=detail,
    )


def form_get(
    *, actor: User, pk: int, purpose: str, channel: AccessLog.Channel = AccessLog.Channel.WEB
) -> CollectionForm:
    """One form the actor may see; when it names a citizen, the read is logged against that citizen."""
    form = _forms().filter(form_scope(actor)).filter(pk=pk).first()
    if form is None:
        raise NotFoundError("form")
    _log_citizens(
        actor=actor,
        forms=[form],
        action=AccessLog.Action.VIEW,
        purpose=purpose,
        channel=channel,
        detail=f"phiếu {form.label}",
    )
    return form


def form_events(*, actor: User, form: CollectionForm) -> list[AuditEvent]:
    """The steps the form went through, oldest first (the caller has already read the form itself)."""
    if not CollectionForm.objects.filter(form_scope(actor)).filter(pk=form.pk).exists():
        raise NotFoundError("form")
    return list(
        AuditEvent.objects.filter(subject_type="collection_form", subject_id=str(form.pk))
        .select_related("actor")
        .order_by("occurred_at", "pk")
    )


@dataclass
class FormQueue:
    """What waits for one officer, returned forms first, then oldest first, with how many of each status
    and the oldest's age."""

    statuses: tuple[str, ...]
    forms: list[CollectionForm]
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    now: datetime = field(default_factory=timezone.now)

    @property
    def oldest_age(self) -> timedelta | None:
        return self.now - min(form.status_since for form in self.forms) if self.forms else None

    @property
    def returned(self) -> list[CollectionForm]:
        """The forms sent back to the reader with a reason, which lead the queue."""
        return [form for form in self.forms if form.status == Status.RETURNED]

    @property
    def others(self) -> list[CollectionForm]:
        return [form for form in self.forms if form.status != Status.RETURNED]

    def age_of(self, form: CollectionForm) -> timedelta:
        return self.now - form.status_since


def queue_statuses(user: User) -> tuple[str, ...]:
    role = user.role
    if role == User.Role.COLLECTOR:
        return AUTHOR_STATUSES
    if role == User.Role.COMMUNE_REVIEWER:
        # Commune police review and also collect: their own drafts come back to them like a collector's.
        return REVIEWER_STATUSES + AUTHOR_STATUSES
    if role == User.Role.SUPERVISOR:
        return SUPERVISOR_STATUSES
    return ()


def _queue_filter(user: User) -> Q:
    role = user.role
    mine = Q(created_by=user, status__in=AUTHOR_STATUSES)
    if role == User.Role.COLLECTOR:
        return mine
    if role == User.Role.COMMUNE_REVIEWER:
        # Nobody checks their own form: a reviewer's own submitted forms wait for a colleague.
        return (Q(status__in=REVIEWER_STATUSES) & ~Q(created_by=user)) | mine
    if role == User.Role.SUPERVISOR:
        return Q(status__in=SUPERVISOR_STATUSES) & ~Q(created_by=user)
    return _NOTHING


def _queue_rows(actor: User) -> QuerySet[CollectionForm]:
    return CollectionForm.objects.filter(form_scope(actor)).filter(_queue_filter(actor))


def _queue_order(rows: QuerySet[CollectionForm]) -> QuerySet[CollectionForm]:
    """The order a queue is worked in: the forms returned to their author (trả lại, always the reader's
    own) first, since a reviewer waits on the correction, then the rest; oldest first within each."""
    return rows.annotate(
        returned_last=Case(
            When(status=Status.RETURNED, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("returned_last", "status_since", "pk")


def form_queue_counts(actor: User) -> dict[str, int]:
    """How many forms wait for the actor, by status: counts only, no record is read."""
    rows = _queue_rows(actor).order_by().values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in rows}


@dataclass(frozen=True)
class WaitingElsewhere:
    """Another imported row that a form's PIN or CMND was found waiting on when the form's row was staged
    (`pin.waiting_in_import`, `cmnd.waiting_in_import`)."""

    field: str  # id_number or old_id_number
    run: int
    row: int
    # The other row's form, when it was filed as one and the reader may see it: the page links to it.
    form_id: int | None
    # Whether it still waits for an officer: the warning was true when the row was staged, and the two are
    # compared only while both wait. Written to the registry, rejected, or its form decided: it does not.
    waiting: bool


def numbers_waiting_elsewhere(*, actor: User, record: StagingRecord | None) -> list[WaitingElsewhere]:
    """For a form made from an imported row, the other rows its numbers were found waiting on, each with
    its form and whether it still waits. Ids and states only: the other form's page logs its own read."""
    if record is None:
        return []
    found = []
    for issue in record.issues:
        where = issue.get("waiting")
        if not where:
            continue
        # The warning names the row as the file counts it (its line), or its number where lines were not kept.
        other = (
            StagingRecord.objects.filter(run_id=where["run"])
            .filter(Q(source_row=where["row"]) | Q(source_row__isnull=True, row_number=where["row"]))
            .only("pk")
            .first()
        )
        form = (
            CollectionForm.objects.filter(staging_record=other)
            .filter(form_scope(actor))
            .only("status")
            .first()
            if other is not None
            else None
        )
        waiting = (
            other is not None
            and StagingRecord.objects.waiting_for_an_officer().filter(pk=other.pk).exists()
            and (
                form is None
                or form.status not in (CollectionForm.Status.APPLIED, CollectionForm.Status.REJECTED)
            )
        )
        found.append(
            WaitingElsewhere(issue["field"], where["run"], where["row"], form.pk if form else None, waiting)
        )
    return found


def form_queue_next(*, actor: User, after: CollectionForm) -> tuple[int | None, int]:
    """The id of the first form waiting for the actor other than `after`, in the queue's order (returned
    forms first, then oldest first), and how many wait: the next form to open without going back to the
    queue. Ids and a count only, no record is read."""
    waiting = _queue_rows(actor).exclude(pk=after.pk)
    following = _queue_order(waiting).values_list("pk", flat=True).first()
    return following, waiting.count() if following is not None else 0


def _listed_in_queue_order(
    *,
    actor: User,
    rows: QuerySet[CollectionForm],
    limit: int,
    purpose: str,
    channel: AccessLog.Channel,
    detail: str,
) -> list[CollectionForm]:
    """The first `limit` of `rows` (already in the actor's area) in the queues' order, with what the pages
    show of them, the citizens they name written to the access log as a search."""
    forms = list(_queue_order(_forms().filter(pk__in=rows.values("pk")))[:limit])
    _log_citizens(
        actor=actor,
        forms=forms,
        action=AccessLog.Action.SEARCH,
        purpose=purpose,
        channel=channel,
        detail=detail,
    )
    return forms


def form_queue(
    *,
    actor: User,
    purpose: str,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
    limit: int = QUEUE_LIMIT,
) -> FormQueue:
    """The forms waiting for the actor's role in the actor's area: those returned to the actor first, then
    the others, oldest first within each."""
    statuses = queue_statuses(actor)
    rows = _queue_rows(actor)
    counts = form_queue_counts(actor)
    forms = _listed_in_queue_order(
        actor=actor, rows=rows, limit=limit, purpose=purpose, channel=channel, detail="hàng chờ phiếu"
    )
    return FormQueue(statuses=statuses, forms=forms, total=sum(counts.values()), counts=counts)


# Imports ----------------------------------------------------------------------------------------------------


def import_scope(user: User) -> Q:
    """The import runs `user` may see: those made for a unit in the user's area (`ImportRun.unit`, the
    area of the starter's police unit when the run began, so that a transfer moves no run); the ministry
    sees every run, including those run on the server."""
    return _scope(
        user,
        lambda area: within("unit", area),
    )


def import_runs(*, actor: User, limit: int = 50) -> list[ImportRun]:
    """The runs the actor may see, newest first. Counts only: no personal data is shown."""
    return list(
        ImportRun.objects.filter(import_scope(actor))
        .select_related("started_by")
        .order_by("-started_at")[:limit]
    )


# The bounds of a page of runs over the API, as the other lists of the API have them.
IMPORT_RUNS_PAGE_SIZE = 20
MAX_IMPORT_RUNS_PAGE_SIZE = 100


@dataclass(frozen=True)
class ImportRunPage:
    runs: list[ImportRun]
    page: int
    page_size: int
    has_next: bool


def import_runs_page(*, actor: User, page: int = 1, page_size: int = IMPORT_RUNS_PAGE_SIZE) -> ImportRunPage:
    """One page of the runs the actor may see, newest first, for a client that follows them all (the
    page lists the latest fifty, `import_runs`). Ordered by the run's id after its start, so that two
    runs started in the same instant keep their places from one page to the next. Counts only: no
    personal data is shown."""
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_IMPORT_RUNS_PAGE_SIZE))
    offset = (page - 1) * page_size
    rows = list(
        ImportRun.objects.filter(import_scope(actor))
        .select_related("started_by")
        .order_by("-started_at", "-pk")[offset : offset + page_size + 1]
    )
    return ImportRunPage(
        runs=rows[:page_size], page=page, page_size=page_size, has_next=len(rows) > page_size
    )


def import_run_get(*, actor: User, pk: int) -> ImportRun:
    run = ImportRun.objects.filter(import_scope(actor)).select_related("started_by").filter(pk=pk).first()
    if run is None:
        raise NotFoundError("import_run")
    return run


def import_run_form_counts(*, actor: User, run: ImportRun) -> list[tuple[str, str, int]]:
    """Where the forms made from the run's rows for review stand, in the actor's area: (status, its label,
    how many), in the order of the workflow. Counts only: no personal data is read, so none is logged."""
    counts = dict(
        CollectionForm.objects.filter(form_scope(actor), staging_record__run=run)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return [(status, str(label), counts[status]) for status, label in Status.choices if counts.get(status)]


# The steps after which a form made from an imported row waits for no one.
SETTLED_STATUSES = (Status.APPLIED, Status.REJECTED)
# How many of a run's waiting forms its report lists: the oldest first, the counts above say how many more.
RUN_WAITING_LIMIT = 20


@dataclass(frozen=True)
class RunWaiting:
    """The forms made from a run's rows that still wait for someone, oldest first, and how many in all."""

    forms: list[CollectionForm]
    total: int


def import_run_waiting_forms(
    *,
    actor: User,
    run: ImportRun,
    purpose: str,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
    limit: int = RUN_WAITING_LIMIT,
) -> RunWaiting:
    """The forms made from the run's rows for review that are neither written nor rejected yet, in the
    actor's area, the longest waiting first: the supervisor who imported the book follows each row to the
    officer it waits for, where the counts alone say only how many. The names on them are read, so a form
    naming a citizen of the registry is logged as the queues log it."""
    rows = CollectionForm.objects.filter(form_scope(actor), staging_record__run=run).exclude(
        status__in=SETTLED_STATUSES
    )
    forms = _listed_in_queue_order(
        actor=actor,
        rows=rows,
        limit=limit,
        purpose=purpose,
        channel=channel,
        detail=f"phiếu chờ của lần nhập #{run.pk}",
    )
    return RunWaiting(forms=forms, total=rows.count() if len(forms) == limit else len(forms))


# The steps after which a run does nothing more (`ImportProgress.finished`).
FINISHED_STEPS = frozenset({"done", "failed", "discarded"})


@dataclass(frozen=True)
class ImportProgress:
    """Where a run stands, for its page and the terminal: the step it is at, how much of that step is done
    out of how much, and an estimate of the time the step still needs.

    The steps: `queued` (waiting for a worker), `reading` (each row read, normalized, checked and staged),
    `staged` (every row staged, and nothing writing them yet: `dancu import --stage-only` leaves a run
    there for its operator), `writing` (staged rows written to the registry or filed in the review
    queues), then `done`, `failed`, `interrupted` or `discarded`.
    """

    step: str
    done: int
    total: int | None
    remaining_seconds: int | None = None
    # For a queued run: how long it has waited for a worker since it was started.
    waiting_seconds: int | None = None

    @property
    def finished(self) -> bool:
        """Whether the run has nothing more to do: its page shows the report and is polled no more."""
        return self.step in FINISHED_STEPS

    @property
    def unclaimed_minutes(self) -> int | None:
        """The minutes a queued run has waited, once no worker has taken it for longer than a worker that
        runs ever leaves a run waiting (UNCLAIMED_AFTER_SECONDS); None before."""
        if self.waiting_seconds is None or self.waiting_seconds < UNCLAIMED_AFTER_SECONDS:
            return None
        return self.waiting_seconds // 60

    @property
    def percent(self) -> int | None:
        if self.total is None:
            return None
        if self.total == 0:
            return 100
        return min(100, self.done * 100 // self.total)

    @property
    def determinate(self) -> bool:
        return self.total is not None


# A run queued this long with no worker taking it is said to wait for one on its page: a running worker takes
# a run within seconds, or within the time the runs before it take, and an officer who sees only "waiting"
# for longer has no way to know that no worker runs (`dancu serve --no-worker`, a stopped `dancu qcluster`).
UNCLAIMED_AFTER_SECONDS = 5 * 60
# Under this many seconds of work in the session, a rate says little: no estimate yet.
_ESTIMATE_AFTER_SECONDS = 2


def import_progress(run: ImportRun, *, now: datetime | None = None) -> ImportProgress:
    """The progress of a run the caller has already read (counts only, no personal data)."""
    now = now or timezone.now()
    if run.status == ImportRun.Status.FAILED:
        return ImportProgress("failed", run.rows_read, run.rows_total)
    if run.status == ImportRun.Status.DISCARDED:
        return ImportProgress("discarded", run.rows_read, run.rows_total)
    if run.promoted_at is not None:
        return ImportProgress("done", run.rows_read, run.rows_read)
    writing = run.finished_at is not None
    if writing:
        # Rows rejected on the way leave both sides: the total shrinks as the rows do.
        done = run.rows_applied + run.rows_queued
        total: int | None = run.rows_accepted + run.rows_review
    else:
        done, total = run.rows_read, run.rows_total
        if total is not None:
            total = max(total, done)  # the estimate is an upper bound; never show more than all
    if run.status == ImportRun.Status.INTERRUPTED:
        return ImportProgress("interrupted", done, total)
    if run.session_started_at is None:
        waited = max(0, int((now - run.started_at).total_seconds()))
        return ImportProgress("queued", done, total, waiting_seconds=waited)
    if run.finished_at is not None and run.session_started_at <= run.finished_at:
        # The last session was the staging one: no process has begun writing the staged rows.
        return ImportProgress("staged", done, total)
    return ImportProgress(
        "writing" if writing else "reading", done, total, _remaining(run, done=done, total=total, now=now)
    )


def import_server_resume(run: ImportRun) -> Issue | None:
    """Why only the server can continue this run, or None when a worker can.

    A run `dancu import` started (on the server) and that stopped while reading its file has no uploaded
    copy: the file is the operator's, on the server, and no worker of the page can read it again. Running
    the same command there resumes the run after its last committed row. An uploaded run keeps its copy
    (a lost copy is its own case, `file.missing`), and a run whose rows are all staged needs no file."""
    if run.finished_at is not None or run.stored_file:
        return None
    return Issue(
        "",
        "import.resume_on_server",
        {"run": run.pk, "row": f"{run.rows_read:,}", "source": shlex.quote(run.source)},
    )


# Who may start an import from the page: the district and province supervisors (phúc tra), whose area
# covers the communes of a legacy book, and the ministry. An import reaches only the communes of the
# importer's area (rows elsewhere are rejected); commune police work record by record with the forms.
IMPORT_ROLES = frozenset({User.Role.SUPERVISOR, User.Role.MINISTRY_ADMIN})


def import_can_resume(*, actor: User, run: ImportRun, step: str) -> bool:
    """Whether the actor is offered to resume the run (the page's button, the API's link): an interrupted
    run that a worker can continue, for the roles that import (`services.import_resume` checks it all
    again)."""
    return step == "interrupted" and import_server_resume(run) is None and actor.role in IMPORT_ROLES


def import_discardable(run: ImportRun) -> bool:
    """Whether the run may be given up (`services.import_discard`): it failed or was interrupted while
    reading its file, so none of its rows has gone on to the registry or the review queues."""
    return run.status in (ImportRun.Status.FAILED, ImportRun.Status.INTERRUPTED) and run.finished_at is None


def import_can_discard(*, actor: User, run: ImportRun) -> bool:
    """Whether the actor is offered to discard the run (the page's form, the API's link): a discardable
    run, for the roles that import (`services.import_discard` checks it all again)."""
    return import_discardable(run) and actor.role in IMPORT_ROLES


def _remaining(run: ImportRun, *, done: int, total: int | None, now: datetime) -> int | None:
    """Seconds left at the rate of the current session; None until the session has a rate."""
    assert run.session_started_at is not None
    elapsed = (now - run.session_started_at).total_seconds()
    moved = done - run.session_start_count
    if total is None or moved <= 0 or elapsed < _ESTIMATE_AFTER_SECONDS:
        return None
    return math.ceil((total - done) * elapsed / moved)


# The duplicates queue's decisions that a record is the row's person (a merged pair was decided so first).
SAME_PERSON = frozenset({CandidatePair.Status.SAME, CandidatePair.Status.MERGED})


# Settled pairs of staged rows, per statement: both sides of the pair are matched against the rows, so two
# IN lists of this many values each, within SQLite's limit on the parameters of one statement.
_PAIRS_BATCH = 250
_UNSETTLED = (CandidatePair.Status.PENDING, CandidatePair.Status.WITHDRAWN)


class StagedPairDecisions:
    """The answers of staged_pair_decisions for the rows of an import's chunk, judged one after the other:
    every settled pair of any of the rows, and which citizens their other staged sides became, read in two
    queries for all the rows instead of two for each row that has a record of its name and birth in the
    registry. Read on the first question, so that a chunk in which no row asks costs nothing.

    The answers are the queue's and the registry's at the moment they were read. The promotion decides no
    pair, but it writes staged rows to the registry: a caller that does tells `reread` which rows, so that
    a decision about a row just written counts for the citizen it became, as the per-row query would
    find it. Another transaction's decision in between is what the per-row queries could miss as well, a
    moment later."""

    def __init__(self, record_ids: Collection[int]) -> None:
        self._rows = frozenset(record_ids)
        # Per row, the other side of each of its settled pairs ("c:12", "s:40") with the pair's status,
        # the latest decision first; None until the first question.
        self._settled: dict[int, list[tuple[str, str]]] | None = None
        # The citizen each staged side of those pairs became, None for a row not written.
        self._citizen_of: dict[int, int | None] = {}

    def covers(self, record_id: int) -> bool:
        return record_id in self._rows

    def _read(self) -> dict[int, list[tuple[str, str]]]:
        if self._settled is not None:
            return self._settled
        found: dict[int, tuple[datetime | None, int, str, str]] = {}
        for batch in batched(sorted(self._rows), _PAIRS_BATCH):
            pairs = (
                CandidatePair.objects.filter(Q(left_staging_id__in=batch) | Q(right_staging_id__in=batch))
                .exclude(status__in=_UNSETTLED)
                .values_list("pk", "decided_at", "pair_key", "status")
            )
            # A row's pairs found by their references to it, which name the row its side in the key names
            # (matching.services.runs writes both from the same side). A pair of two rows of the chunk
            # comes once per batch that holds one of them.
            found.update((pk, (decided_at, pk, key, status)) for pk, decided_at, key, status in pairs)
        settled: dict[int, list[tuple[str, str]]] = {}
        # The order staged_pair_decisions reads them in: the latest decision first, so that where one
        # citizen has two decisions the last word is the one kept. A settled pair always has its time (the
        # table's constraint); one without would come last, compared with none that has one.
        latest_first = sorted(
            found.values(),
            key=lambda pair: (pair[0] is not None, pair[0] or datetime.min.replace(tzinfo=UTC), pair[1]),
            reverse=True,
        )
        for _decided_at, _pk, key, status in latest_first:
            first, _, second = key.partition("|")
            for side, other in ((first, second), (second, first)):
                kind, _, pk_text = side.partition(":")
                if kind == "s" and pk_text.isdigit() and int(pk_text) in self._rows:
                    settled.setdefault(int(pk_text), []).append((other, status))
        self._settled = settled
        staged = {
            int(pk_text)
            for sides in settled.values()
            for other, _status in sides
            for kind, _, pk_text in [other.partition(":")]
            if kind == "s" and pk_text.isdigit()
        }
        self._read_citizens(staged)
        return settled

    def _read_citizens(self, staged: Collection[int]) -> None:
        for batch in batched(sorted(staged), _PAIRS_BATCH * 2):
            self._citizen_of.update(
                StagingRecord.objects.filter(pk__in=batch).values_list("pk", "citizen_id")
            )

    def reread(self, record_ids: Collection[int]) -> None:
        """These staged rows were just written to the registry: the citizens they became count from now on
        (a row not yet asked about is read as it is when first asked)."""
        if self._settled is not None:
            self._read_citizens(self._citizen_of.keys() & set(record_ids))

    def decisions(self, *, record_id: int, citizen_ids: Collection[int]) -> dict[int, str]:
        wanted = set(citizen_ids)
        decided: dict[int, str] = {}
        for other, status in self._read().get(record_id, []):
            kind, _, pk_text = other.partition(":")
            if not pk_text.isdigit():
                continue
            citizen = int(pk_text) if kind == "c" else self._citizen_of.get(int(pk_text))
            if citizen is not None and citizen in wanted:
                decided.setdefault(citizen, status)
        return decided


_pair_decisions_cached: ContextVar[StagedPairDecisions | None] = ContextVar(
    "_pair_decisions_cached", default=None
)


@contextmanager
def staged_pair_decisions_cached(record_ids: Collection[int]) -> Iterator[StagedPairDecisions]:
    """While the block runs, staged_pair_decisions answers about these staged rows from one read for all
    of them (StagedPairDecisions): the DC01 checks of an import's chunk ask it row by row, deep inside the
    form's rules."""
    cached = StagedPairDecisions(record_ids)
    token = _pair_decisions_cached.set(cached)
    try:
        yield cached
    finally:
        _pair_decisions_cached.reset(token)


def staged_pair_decisions(*, record_id: int, citizen_ids: Collection[int]) -> dict[int, str]:
    """How the duplicates queue (matching) decided the pairs of a staged row with these citizens: each
    citizen whose pair with the row an officer settled, with the pair's status (CandidatePair.Status:
    same, different, merged). Pending and withdrawn pairs are no decision and are left out.

    A pair is kept under its key, the two sides in string order ("c:12|s:40", as matching.services.runs.
    pair_key writes it). A citizen written to the registry from another staged row may have been paired
    with this row before that ("s:40|s:41" for the citizen made of row 41): the decision under that key
    is about the same two people, and counts as the citizen's (as the matcher itself counts it). A
    verdict about records, not a reading of them: the caller logs the records it shows.
    """
    if not citizen_ids:
        return {}
    cached = _pair_decisions_cached.get()
    if cached is not None and cached.covers(record_id):
        return cached.decisions(record_id=record_id, citizen_ids=citizen_ids)
    row = f"s:{record_id}"
    sides: dict[str, int] = {f"c:{pk}": pk for pk in citizen_ids}
    for staged, citizen in StagingRecord.objects.filter(citizen_id__in=list(citizen_ids)).values_list(
        "pk", "citizen_id"
    ):
        if staged != record_id:
            sides[f"s:{staged}"] = citizen
    keys = {"|".join(sorted((row, side))): pk for side, pk in sides.items()}
    decided: dict[int, str] = {}
    # The latest decision first where one citizen has two (under both keys): it is the last word on them.
    for key, status in (
        CandidatePair.objects.filter(pair_key__in=list(keys))
        .exclude(status__in=_UNSETTLED)
        .order_by("-decided_at", "-pk")
        .values_list("pair_key", "status")
    ):
        decided.setdefault(keys[key], status)
    return decided
