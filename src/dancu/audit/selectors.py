"""The auditor's reading of the access log: scoped to the auditor's area, and itself logged.

Who read a citizen's data is personal data of that citizen: the rows shown are those of citizens in the
area of the auditor's police unit (`accounts.selectors.access_log_scope`), and every page shown writes an
access-log row per citizen on it, so that the auditors' own reading is in the trail they audit.
"""

from __future__ import annotations

import heapq
import math
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from django.db.models import BooleanField, Case, Count, F, Max, Min, Q, QuerySet, Value, When, Window
from django.utils import timezone
from django.utils.translation import gettext_noop

from dancu.accounts.models import User
from dancu.accounts.selectors import access_log_reader_scope, access_log_scope
from dancu.audit.models import AT_NIGHT, AccessLog, AccessLogSeal
from dancu.audit.seals import SETTLE
from dancu.audit.services import access_log_record
from dancu.geo.models import AdminUnit
from dancu.lib import pin as pin_codec
from dancu.lib.chunks import in_chunks
from dancu.lib.errors import DomainError, FieldError
from dancu.lib.partial_date import PartialDate, PartialDateError
from dancu.registry.models import Citizen, CitizenMerge

PAGE_SIZE = 50
# Readers on a page of the summary by reader.
READERS_PAGE = 50
# The days the summary by reader counts when the filter gives no first day: the last week to the last day
# (today when none). Every row of the period is read to count it, and the country's whole log is billions
# of rows: the summary the log's unfiltered page links to must not be a count of all of them.
READERS_DAYS = 7
# Rows read from the database at a time for a file, and logged together.
EXPORT_CHUNK = 2_000
MAX_READER_LENGTH = 150
# The largest id a database key holds (a bigint): a larger one would fail in the database, not be named.
MAX_ID = 2**63 - 1
# Up to this many readers named by a search, a page is read from the end of each reader's own index and
# the pages merged; past it, in one query where the database chooses its way.
MERGED_READERS = 20
# The system jobs that have read are listed one index probe each; past this many labels the list stops.
MAX_JOB_LABELS = 1_000
# The purpose written with the auditor's own reads (in Vietnamese, the language of the record).
AUDIT_PURPOSE = gettext_noop("Kiểm toán nhật ký truy cập")
# The note of those rows: what was read was the access log (shown as written, in Vietnamese).
AUDIT_DETAIL = "nhật ký truy cập"
# Rows are sealed once they are SETTLE old, by a task run every hour (audit/tasks.py): a row waits SETTLE
# and an hour at most. A row older than this and not sealed means the sealing has stopped (no worker
# runs), and the auditor is told, rather than read that the rows "are sealed after an hour".
SEAL_LATE = SETTLE + timedelta(hours=2)


@dataclass(frozen=True)
class AccessLogQuery:
    reader: str = ""  # a part of the account name or of the system job's label
    # One reader exactly, as the summary by reader links to them: an account by its id, or a system job
    # by its whole label. The free text above finds "lan2" and "lan.hk" for "lan"; a link from a row of
    # the summary must open that row's reads and no one else's.
    reader_id: int | None = None
    job: str = ""
    pin: str = ""  # the citizen read
    since: date | None = None  # first day, inclusive, in Vietnam's time
    until: date | None = None  # last day, inclusive
    action: str = ""
    channel: str = ""
    # Leave out the auditors' own reads of the log (purpose AUDIT_PURPOSE), which every page and file
    # of an auditor adds and which would otherwise fill the newest pages.
    without_audit: bool = False
    # Only the reads made at night (audit.models.AT_NIGHT: 22:00 to 06:00, Vietnam's time).
    at_night: bool = False
    # Only the reads outside the reader's area (`outside_reader_area`): what the scoped selectors
    # normally forbid, so each is a system job, a ministry reader, a cross-area read the law allows, or a
    # defect.
    outside_area: bool = False


@dataclass
class AccessLogPage:
    rows: list[AccessLog]
    # The id to read on from for the next (older) page; None on the last page.
    next_before: int | None
    # Whom the reader's name stood for, account names then job labels, at most MERGED_READERS of them
    # (`more_readers` when it stood for more); None without a reader's name.
    readers: list[str] | None = None
    more_readers: bool = False
    # The one reader the page is kept to (AccessLogQuery.reader_id or job), by name; None without one.
    exact_reader: str | None = None


def access_log_query_check(query: AccessLogQuery) -> None:
    """Raise DomainError naming every field of `query` that breaks a rule; the searches ask it first."""
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
    # The exact reader comes from a link, but a link can be edited: its rules are named as the text's.
    if query.reader_id is not None and not 1 <= query.reader_id <= MAX_ID:
        errors.append(
            FieldError(
                "reader_id",
                "number.range",
                "Mã tài khoản người đọc không hợp lệ.",
                "The reader's account id is not valid.",
            )
        )
    if len(query.job) > MAX_READER_LENGTH or any(unicodedata.category(char) == "Cc" for char in query.job):
        errors.append(
            FieldError(
                "job",
                "text.invalid",
                f"Tác vụ: tối đa {MAX_READER_LENGTH} ký tự, không có ký tự điều khiển.",
                f"Job: at most {MAX_READER_LENGTH} characters, without control characters.",
            )
        )
    if query.pin:
        try:
            pin_codec.decode(query.pin)
        except pin_codec.PinError as exc:
            errors.append(exc.error)
    for name, day in (("since", query.since), ("until", query.until)):
        if day is not None:
            try:
                # The years a date in dancu may take: the log's times are compared with the start of the
                # day after `until`, and year 9999 has none.
                PartialDate.from_date(day)
            except PartialDateError as exc:
                errors.append(exc.field_error(name))
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


def records_of_person(citizen_ids: Iterable[int]) -> set[int]:
    """These records and every record merged into them, through merges of merges (undone merges left
    out): the reads of an absorbed record are reads of the person whose record was kept."""
    found = set(citizen_ids)
    frontier = set(found)
    while frontier:
        absorbed = set(
            CitizenMerge.objects.filter(kept_id__in=frontier, undone_at__isnull=True).values_list(
                "absorbed_id", flat=True
            )
        )
        frontier = absorbed - found
        found |= frontier
    return found


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _filters(actor: User, query: AccessLogQuery) -> tuple[Q, _Readers | None]:
    """The rows of the auditor's area that `query` asks for but for its reader, and the readers its
    reader's name stands for (None when it names none); raises DomainError naming each broken rule."""
    access_log_query_check(query)
    filters = access_log_scope(actor)
    if query.pin:
        # The records merged into the one holding the PIN are the same person's: their reads with it.
        held = Citizen.objects.filter(pin=query.pin).values_list("pk", flat=True)
        filters &= Q(citizen_id__in=sorted(records_of_person(held)))
    if query.since:
        filters &= Q(accessed_at__gte=_day_start(query.since))
    if query.until:
        filters &= Q(accessed_at__lt=_day_start(query.until + timedelta(days=1)))
    if query.action:
        filters &= Q(action=query.action)
    if query.channel:
        filters &= Q(channel=query.channel)
    if query.without_audit:
        filters &= ~Q(purpose=AUDIT_PURPOSE)
    if query.at_night:
        filters &= AT_NIGHT
    if query.outside_area:
        filters &= Q(outside_reader_area())
    # Each read on the index of its own reader (accesslog_actor_id, accesslog_job_id), as an equality.
    if query.reader_id is not None:
        filters &= Q(actor_id=query.reader_id)
    if query.job:
        filters &= Q(actor__isnull=True, actor_label=query.job)
    return filters, _Readers.named(
        query.reader, in_sight=access_log_reader_scope(actor)
    ) if query.reader else None


def outside_reader_area() -> Case:
    """Whether a row's read was made outside the reader's area, as a condition on AccessLog.

    The reader's area is that of `reader_unit`, the unit the reader belonged to when they read, compared
    with the row's area columns by the rule of `accounts.selectors.citizen_scope`: a 2025 commune or
    province, or a legacy commune, district or province. A read is outside when that area does not hold
    the citizen, and when there is no such area: a system job (no account), the ministry (the country is
    its area, but its reads of a commune's citizens are the ones a commune's auditor asks about), an
    account without a unit. A citizen's account reads only its holder's own record, never outside.

    What the row does not store: the citizen's area when read. Its area columns follow the citizen
    (`services.access_log_area_follow`), so a read made while the citizen lived in the reader's area
    counts as outside once the citizen has moved away. Such rows are few (reads of people who later
    moved, by the police of the place they left), and an auditor opening one sees the citizen's move in
    the record's history; storing the verdict on each row when it is written would need every past row
    recomputed.

    No index can serve a comparison with the reader's unit: the condition is checked on the rows the
    other filters read (the auditor's area newest first, a day, a reader), one join to the small table
    of police units per row.
    """
    area = F("reader_unit__admin_unit")
    inside = (
        Q(area_commune=area)
        | Q(area_province=area)
        | Q(area_legacy_commune=area)
        | Q(area_legacy_commune__parent=area)
        | Q(
            reader_unit__admin_unit__structure=AdminUnit.Structure.LEGACY,
            reader_unit__admin_unit__level=AdminUnit.Level.PROVINCE,
            area_legacy_commune__province_code=F("reader_unit__admin_unit__code"),
        )
    )
    # The unit's and the citizen's columns are joined outer: a row without a unit or an area is outside,
    # where a comparison with NULL in a plain filter would have dropped it.
    return Case(
        When(Q(actor__role=User.Role.CITIZEN) | inside, then=Value(False)),
        default=Value(True),
        output_field=BooleanField(),
    )


@dataclass(frozen=True)
class _Readers:
    """Whom a reader's name stands for: the accounts whose name holds it, and the system jobs whose label
    holds it ("match" for "system:dancu match --registry"), whatever the case.

    They are found where readers are few (the accounts; the jobs' own index of the log, one probe per
    job), not by reading the label of every row: the national log holds billions of rows, and a name
    that matched nothing read all of them (bench/RESULTS.md, session 11). An account is found by its
    name now: the rows it wrote under a name it had before are found by the new one.
    """

    text: str
    # The first MERGED_READERS + 1 of each only: enough to tell whether they are few.
    accounts: tuple[int, ...]
    # The accounts' names that the page lists, but for citizens' (see `listed`): those the auditor may be
    # shown (`in_sight`, accounts.selectors.access_log_reader_scope). A province's auditor was shown the
    # officers of every province whose name held the text. The rows are found by every account named, the
    # log's own scope keeping them to the auditor's area.
    officers: tuple[str, ...]
    jobs: tuple[str, ...]

    @classmethod
    def named(cls, text: str, *, in_sight: Q) -> _Readers:
        accounts = _accounts_named(text)
        officers = accounts.exclude(role=User.Role.CITIZEN).filter(in_sight).order_by("username")
        folded = text.casefold()
        return cls(
            text,
            tuple(accounts.order_by("pk").values_list("pk", flat=True)[: MERGED_READERS + 1]),
            tuple(officers.values_list("username", flat=True)[: MERGED_READERS + 1]),
            tuple(label for label in _job_labels() if folded in label.casefold()),
        )

    @property
    def few(self) -> bool:
        return len(self.accounts) + len(self.jobs) <= MERGED_READERS

    def listed(self) -> tuple[list[str], bool]:
        """The officers and jobs, by name, for the page to say whom the text stood for (MERGED_READERS
        at most), and whether it stood for more. A citizen's account (one reads their own record in the
        portal) is named by its PIN: its rows are found like any reader's, within the auditor's area,
        but the PINs that hold the text across the country are not listed."""
        names = [*self.officers, *self.jobs]
        return names[:MERGED_READERS], len(names) > MERGED_READERS

    def each(self) -> list[Q]:
        """One filter per reader (only when they are `few`)."""
        return [Q(actor_id=pk) for pk in self.accounts] + [
            Q(actor__isnull=True, actor_label=label) for label in self.jobs
        ]

    def all(self) -> Q:
        """One filter for them all."""
        accounts = _accounts_named(self.text).values("pk")
        return Q(actor__in=accounts) | Q(actor__isnull=True, actor_label__in=self.jobs)


def _accounts_named(text: str) -> QuerySet[User]:
    return User.objects.filter(username__icontains=text)


def _job_labels() -> list[str]:
    """The labels of the system jobs that have read, in order: each the first label of the jobs' index
    after the one before, so that a log of billions of rows costs as many probes as there are jobs."""
    jobs = AccessLog.objects.filter(actor__isnull=True).order_by("actor_label")
    labels: list[str] = []
    label = jobs.values_list("actor_label", flat=True).first()
    while label is not None and len(labels) < MAX_JOB_LABELS:
        labels.append(label)
        label = jobs.filter(actor_label__gt=label).values_list("actor_label", flat=True).first()
    return labels


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
    filters, readers = _filters(actor, query)
    if before is not None:
        filters &= Q(pk__lt=before)
    rows = _newest(filters, readers, PAGE_SIZE + 1)
    next_before = rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None
    rows = rows[:PAGE_SIZE]
    _log_own_reading(
        _not_seen_today((row.citizen_id for row in rows), actor=actor),
        actor=actor,
        action=AccessLog.Action.SEARCH,
        channel=channel,
    )
    listed, more = readers.listed() if readers else (None, False)
    return AccessLogPage(
        rows=rows,
        next_before=next_before,
        readers=listed,
        more_readers=more,
        exact_reader=_exact_reader(actor, query),
    )


def _exact_reader(actor: User, query: AccessLogQuery) -> str | None:
    """The name of the one reader the query is kept to, for the page to say whose reads it shows: a job's
    label, or an account's name when the auditor may be shown it (accounts.selectors.
    access_log_reader_scope), its id otherwise, so that an id typed into a link names no officer of
    another province."""
    if query.job:
        return query.job
    if query.reader_id is None:
        return None
    name = (
        User.objects.filter(access_log_reader_scope(actor), pk=query.reader_id)
        .values_list("username", flat=True)
        .first()
    )
    return name or f"#{query.reader_id}"


def access_log_export(
    *,
    actor: User,
    query: AccessLogQuery,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
    chunk_size: int = EXPORT_CHUNK,
) -> Iterator[AccessLog]:
    """Every access-log row in the auditor's area matching `query`, newest first, for a file.

    The query is checked before the first row is read (DomainError, as for a page), so that a bad filter
    is answered on the page rather than in a broken download. The rows are read in chunks
    (`lib.chunks.in_chunks`) and stop at the newest row that existed when the export began: the export's
    own reads, logged as it goes, are not exported with it. Each citizen is written to the log once per
    export, with the action "export", before the first chunk that holds them is handed on.
    """
    filters, readers = _filters(actor, query)
    if readers is not None:
        filters &= readers.all()
    newest = AccessLog.objects.aggregate(newest=Max("pk"))["newest"] or 0
    rows = (
        AccessLog.objects.filter(filters, pk__lte=newest)
        .select_related("citizen", "reader_unit")
        .order_by("-pk")
    )
    return _export_chunks(rows, actor=actor, channel=channel, chunk_size=chunk_size)


@dataclass(frozen=True)
class ReaderTally:
    """One reader's reads among the rows a filter finds: an account (`account_id`) or a system job."""

    reader: str  # the account's name now, or the system job's label
    account_id: int | None
    reads: int
    citizens: int  # distinct citizen records read
    first_read: datetime
    last_read: datetime
    night_reads: int  # made at night (audit.models.AT_NIGHT), as the log's filter counts them


@dataclass
class ReaderSummary:
    rows: list[ReaderTally]
    readers: int  # the readers the filter finds, on every page
    since: date  # the first day counted (the filter's, or READERS_DAYS before the last)
    until: date | None  # the last day counted; None: up to now
    page: int = 1
    pages: int = 1

    @property
    def has_previous(self) -> bool:
        return 1 < self.page <= self.pages

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def past_the_end(self) -> bool:
        return self.page > self.pages


def access_log_readers(
    *,
    actor: User,
    query: AccessLogQuery,
    page: int = 1,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
) -> ReaderSummary:
    """Who read how many citizens among the access-log rows in the auditor's area matching `query`: a
    row per reader with their reads, the distinct citizens read, the first and last read and the reads
    at night, the readers who read the most citizens first, READERS_PAGE a page (page `page`, from 1).
    Raises DomainError naming each field that breaks a rule, as the log's search does. Without a first
    day, the READERS_DAYS days to the last day are counted; the summary says which days it counted.

    One aggregate query over the rows the filter finds, whose period is read from the index of the
    time of reading, with the number of readers counted in the same pass (a window over the groups)
    rather than by aggregating the rows a second time for the pager.

    The summary names no citizen, so it writes no access-log row of its own but when the filter names
    one by their PIN: then the readers listed are that citizen's, and the citizen's records counted are
    logged as the log's page logs the citizens on it (once per auditor, citizen and day).
    """
    access_log_query_check(query)
    since = query.since or (query.until or timezone.localdate()) - timedelta(days=READERS_DAYS - 1)
    query = replace(query, since=since)
    filters, readers = _filters(actor, query)
    if readers is not None:
        filters &= readers.all()
    rows = AccessLog.objects.filter(filters)
    # A reader is an account, whatever name it had when it read, or a system job, named by its label.
    job = Case(When(actor__isnull=True, then=F("actor_label")), default=Value(""))
    tallies = (
        rows.annotate(job=job)
        .values("actor_id", "job")
        .annotate(
            reads=Count("pk"),
            citizens=Count("citizen_id", distinct=True),
            first_read=Min("accessed_at"),
            last_read=Max("accessed_at"),
            night_reads=Count("pk", filter=AT_NIGHT),
            readers=Window(Count("*")),
        )
        # Ties broken by the reader, accounts before jobs on every database, so that a reader is on one
        # page only however the pages are read.
        .order_by("-citizens", "-reads", F("actor_id").asc(nulls_last=True), "job")
    )
    page = max(1, page)
    start = (page - 1) * READERS_PAGE
    found = list(tallies[start : start + READERS_PAGE])
    # A page past the last (a link kept from a longer summary) says how many pages there are: the readers
    # are counted again only then.
    total = found[0]["readers"] if found else (tallies.count() if page > 1 else 0)
    names = dict(
        User.objects.filter(pk__in=[t["actor_id"] for t in found if t["actor_id"]]).values_list(
            "pk", "username"
        )
    )
    if query.pin and found:
        _log_own_reading(
            _not_seen_today(rows.values_list("citizen_id", flat=True).distinct(), actor=actor),
            actor=actor,
            action=AccessLog.Action.SEARCH,
            channel=channel,
        )
    return ReaderSummary(
        rows=[
            ReaderTally(
                reader=names.get(t["actor_id"], "") if t["actor_id"] else t["job"],
                account_id=t["actor_id"],
                reads=t["reads"],
                citizens=t["citizens"],
                first_read=t["first_read"],
                last_read=t["last_read"],
                night_reads=t["night_reads"],
            )
            for t in found
        ],
        readers=total,
        since=since,
        until=query.until,
        page=page,
        pages=max(1, math.ceil(total / READERS_PAGE)),
    )


def _newest(filters: Q, readers: _Readers | None, count: int) -> list[AccessLog]:
    """The newest `count` rows that `filters` and `readers` ask for, newest first.

    Newest first by id, which follows the time of writing: the primary key, an area's index (area, id) or
    a reader's (reader, id) gives the rows in that order from its end, without sorting. A few readers are
    read each from the end of their own index and merged, where one query would have to choose one
    index for them all.
    """
    rows = AccessLog.objects.select_related("citizen", "reader_unit").order_by("-pk")
    # The ids first, then their rows: with the joins for the citizen and the unit in the same query, and
    # no area to narrow it (the ministry's auditor), SQLite drove the query from the citizens and sorted
    # every row of the log (4 to 9 s at 800,000 rows), where the ids alone walk the primary key back.
    if readers is None:
        ids = list(AccessLog.objects.filter(filters).order_by("-pk").values_list("pk", flat=True)[:count])
        return list(rows.filter(pk__in=ids)) if ids else []
    if not readers.few:
        ids = list(
            AccessLog.objects.filter(filters, readers.all())
            .order_by("-pk")
            .values_list("pk", flat=True)[:count]
        )
        return list(rows.filter(pk__in=ids)) if ids else []
    ids = heapq.nlargest(
        count,
        (
            pk
            for reader in readers.each()
            for pk in AccessLog.objects.filter(filters, reader)
            .order_by("-pk")
            .values_list("pk", flat=True)[:count]
        ),
    )
    return list(rows.filter(pk__in=ids)) if ids else []


class _Seen:
    """The citizens an export has logged so far: a bit per citizen id. A province's year of reads names
    millions of citizens, many of them in every chunk; as a bit each, a registry of 100 million ids costs
    12.5 MB at most, where a set of ints would cost gigabytes."""

    def __init__(self) -> None:
        self._bits = bytearray()

    def first_seen(self, ids: Iterable[int]) -> list[int]:
        """Those of `ids` not seen before, sorted; they are seen from now on."""
        new: list[int] = []
        for pk in sorted(set(ids)):
            byte, bit = divmod(pk, 8)
            if byte >= len(self._bits):
                self._bits.extend(bytes(byte + 1 - len(self._bits)))
            if not self._bits[byte] & (1 << bit):
                self._bits[byte] |= 1 << bit
                new.append(pk)
        return new


def _export_chunks(
    rows: QuerySet[AccessLog], *, actor: User, channel: AccessLog.Channel, chunk_size: int
) -> Iterator[AccessLog]:
    # One "export" row per citizen in the file, written before the first of their rows is handed on: a
    # row per citizen and chunk wrote a citizen read in every chunk hundreds of times for one download.
    seen = _Seen()
    for chunk in in_chunks(rows, chunk_size):
        _log_own_reading(
            seen.first_seen(row.citizen_id for row in chunk),
            actor=actor,
            action=AccessLog.Action.EXPORT,
            channel=channel,
        )
        yield from chunk


def _log_own_reading(
    citizen_ids: list[int], *, actor: User, action: AccessLog.Action, channel: AccessLog.Channel
) -> None:
    """The auditor's reading of these citizens' reads, in the log it reads: a row per citizen."""
    if citizen_ids:
        access_log_record(
            actor=actor,
            citizen_ids=citizen_ids,
            action=action,
            channel=channel,
            purpose=AUDIT_PURPOSE,
            detail=AUDIT_DETAIL,
        )


def _not_seen_today(citizen_ids: Iterable[int], *, actor: User) -> list[int]:
    """The citizens whose reads `actor` has not been shown on a page today. An auditor pages back and
    forth, filters and filters again: a row per citizen and page filled the citizens' "who read my data"
    with the same line, and the newest pages of the log with the auditors' own reads. One row per
    auditor, citizen and day says what the citizen needs to know: who looked at their reads, and when.
    """
    ids = set(citizen_ids)
    if not ids:
        return []
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    shown = AccessLog.objects.filter(
        actor=actor,
        action=AccessLog.Action.SEARCH,
        purpose=AUDIT_PURPOSE,
        accessed_at__gte=midnight,
        citizen_id__in=ids,
    ).values_list("citizen_id", flat=True)
    return sorted(ids.difference(shown))


def _seals() -> QuerySet[AccessLogSeal]:
    # Without the rows' fingerprints: 8 bytes per row sealed, 1.6 MB for a full seal, which only the
    # verification reads.
    return AccessLogSeal.objects.defer("fingerprints")


def access_log_newest_seal() -> AccessLogSeal | None:
    """How far the chain of seals reaches (audit/seals.py): its newest seal, None before the first."""
    return _seals().order_by("-last_id").first()


def access_log_seals_over(first_id: int, last_id: int) -> list[AccessLogSeal]:
    """The seals that cover any row from id `first_id` to `last_id`, oldest first: for an export to name
    the seal of each of its rows (a few thousand rows at a time, so one seal or two)."""
    return list(_seals().filter(first_id__lte=last_id, last_id__gte=first_id).order_by("first_id"))


def access_log_seal_of(row_id: int) -> AccessLogSeal | None:
    """The newest seal that covers rows up to `row_id`: the one that covers that row, or, when the row is
    not sealed yet, the newest seal (which covers older rows only); None when no seal reaches it."""
    return _seals().filter(first_id__lte=row_id).order_by("-last_id").first()


def access_log_unsealed_late(*, seal: AccessLogSeal | None, now: datetime | None = None) -> AccessLog | None:
    """The first row after `seal` (the newest seal) when it is older than SEAL_LATE: the sealing is behind
    from that row on. None while the sealing keeps up. One probe of the primary key."""
    after = seal.last_id if seal is not None else 0
    first = AccessLog.objects.filter(pk__gt=after).order_by("pk").only("pk", "accessed_at").first()
    if first is None or first.accessed_at >= (now or timezone.now()) - SEAL_LATE:
        return None
    return first
