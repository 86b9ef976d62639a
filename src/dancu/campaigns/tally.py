"""The tallies campaign figures are read from, kept incrementally from the audit trail.

The trail is append-only, so a tally never needs recounting: each catch-up reads the events past the
high-water mark (`TallyMark`), adds them to the three grains (province/day, commune/day, and
commune/day/officer/point/team/shift) and moves the mark. Every read of figures catches up first, and the
background worker does so every minute, so a dashboard rarely has more than a minute of events to add.

Two things make an incremental count go wrong, and both are handled here:

- On PostgreSQL an event's id is drawn when its row is inserted, not when its transaction commits, so a
  long transaction can commit an event with a lower id than events already counted. The catch-up notes
  every id missing below the new mark as a gap (`TallyGap`) and looks for it again at each catch-up,
  forgetting it after GAP_PATIENCE (a rolled-back transaction leaves a gap that never fills).
- Two catch-ups at once would count the same events twice. Each one first updates the mark row, which
  takes its write lock (a row lock on PostgreSQL, the database lock on SQLite), and re-reads the mark
  under it.

Legacy units count into their default 2025 successor, the unit their territory went to, so a commune
merged in 2025 brings its earlier history along. An event whose unit has no 2025 successor, or that names
no unit, counts toward no area and is left out.

Refreshing a tally is not an act of an officer on anyone's data, so it writes no audit event (an event
per catch-up would also be counted by the next one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Max, Min
from django.utils import timezone

from dancu.audit.models import AuditEvent, EventType
from dancu.campaigns.models import (
    CommuneTally,
    DetailTally,
    Metric,
    ProvinceTally,
    TallyGap,
    TallyMark,
)
from dancu.geo.models import AdminUnit, UnitSuccession

GAP_PATIENCE = timedelta(minutes=10)
# Event types that count once per subject, the first time they are recorded against a unit. An e-ID
# account that was locked (a lost phone) and opened again at the desk is activated a second time by its
# citizen: still one account activated. Counted twice, a commune's activated accounts outnumbered those it
# had registered, and an activation rate read above 100%.
ONCE_PER_SUBJECT = frozenset({EventType.EID_ACCOUNT_ACTIVATED.value})
BATCH = 20_000
# Drill-down keys are cut to the width of their columns; anything longer is a hostile or broken event.
KEY_WIDTHS = {"point": 120, "team": 120, "shift": 60}


@dataclass(frozen=True)
class Placement:
    commune_id: int
    province_id: int


def _placements(unit_ids: Iterable[int], cache: dict[int, Placement | None]) -> None:
    """Fill `cache` with the 2025 commune (and its province) each unit's work counts toward."""
    missing = {pk for pk in unit_ids if pk not in cache}
    if not missing:
        return
    units = AdminUnit.objects.filter(pk__in=missing).values_list("pk", "structure", "level", "parent_id")
    legacy = []
    for pk, structure, level, parent_id in units:
        if structure == AdminUnit.Structure.CURRENT and level == AdminUnit.Level.COMMUNE and parent_id:
            cache[pk] = Placement(pk, parent_id)
        elif structure == AdminUnit.Structure.LEGACY:
            legacy.append(pk)
        else:
            cache[pk] = None
    successions = UnitSuccession.objects.filter(
        legacy_id__in=legacy,
        is_default=True,
        successor__level=AdminUnit.Level.COMMUNE,
    ).values_list("legacy_id", "successor_id", "successor__parent_id")
    for legacy_id, successor_id, province_id in successions:
        if province_id is not None:
            cache[legacy_id] = Placement(successor_id, province_id)
    for pk in missing:
        cache.setdefault(pk, None)


def _matches(metric: Metric, data: dict[str, Any]) -> bool:
    return all(str(data.get(key, "")) in values for key, values in metric.data_filter.items())


def _repeats(rows: Sequence[dict[str, Any]]) -> set[int]:
    """The ids of the `rows` of a type counted once per subject whose subject had such an event, recorded
    against a unit, before: looked up in the whole trail, so that a catch-up, a backfill and a count from
    scratch leave out the same events."""
    once = [row for row in rows if row["event_type"] in ONCE_PER_SUBJECT and row["unit_id"] is not None]
    if not once:
        return set()
    first = {
        (event["event_type"], event["subject_type"], event["subject_id"]): event["first"]
        for event in AuditEvent.objects.filter(
            event_type__in={row["event_type"] for row in once},
            subject_type__in={row["subject_type"] for row in once},
            subject_id__in={row["subject_id"] for row in once},
            unit__isnull=False,
        )
        .values("event_type", "subject_type", "subject_id")
        .annotate(first=Min("pk"))
        .order_by()
    }
    return {
        row["pk"]
        for row in once
        if first.get((row["event_type"], row["subject_type"], row["subject_id"]), row["pk"]) < row["pk"]
    }


def _text(value: Any, width: int) -> str:
    return "" if value is None else str(value)[:width]


class Counts:
    """Events added up at the three grains, before they are written."""

    def __init__(self) -> None:
        self.province: Counter[tuple[int, int, date]] = Counter()
        self.commune: Counter[tuple[int, int, int, date]] = Counter()
        self.detail: Counter[tuple[int, int, date, int, str, str, str]] = Counter()
        self.events = 0
        self._places: dict[int, Placement | None] = {}

    def add(self, rows: Sequence[dict[str, Any]], metrics: Sequence[Metric]) -> None:
        by_type: dict[str, list[Metric]] = {}
        for metric in metrics:
            for event_type in metric.event_types:
                by_type.setdefault(event_type, []).append(metric)
        _placements({row["unit_id"] for row in rows if row["unit_id"] is not None}, self._places)
        repeats = _repeats([row for row in rows if row["event_type"] in by_type])
        for row in rows:
            wanted = by_type.get(row["event_type"])
            if not wanted or row["unit_id"] is None or row["pk"] in repeats:
                continue
            place = self._places[row["unit_id"]]
            if place is None:
                continue
            day = timezone.localtime(row["occurred_at"]).date()
            data = row["data"] if isinstance(row["data"], dict) else {}
            keys = (
                row["actor_id"] or 0,
                _text(data.get("intake_point"), KEY_WIDTHS["point"]),
                _text(data.get("team"), KEY_WIDTHS["team"]),
                _text(data.get("shift"), KEY_WIDTHS["shift"]),
            )
            for metric in wanted:
                if not _matches(metric, data):
                    continue
                self.events += 1
                self.province[(metric.pk, place.province_id, day)] += 1
                self.commune[(metric.pk, place.province_id, place.commune_id, day)] += 1
                self.detail[(metric.pk, place.commune_id, day, *keys)] += 1

    def write(self) -> None:
        _upsert(ProvinceTally, ("metric_id", "province_id", "day"), self.province)
        # The commune tally's key is (metric, commune, day): the province follows from the commune.
        _upsert(
            CommuneTally,
            ("metric_id", "province_id", "commune_id", "day"),
            self.commune,
            key=("metric_id", "commune_id", "day"),
        )
        _upsert(
            DetailTally,
            ("metric_id", "commune_id", "day", "officer_id", "point", "team", "shift"),
            self.detail,
        )


def _upsert(
    model: type[models.Model],
    columns: Sequence[str],
    counts: Counter[Any],
    *,
    key: Sequence[str] = (),
) -> None:
    """Add `counts` to the rows of `model` keyed by `columns`, creating the rows that do not exist.

    `INSERT ... ON CONFLICT DO UPDATE` adds in one statement per batch on both SQLite and PostgreSQL; the
    conflict columns are those of the table's unique key: `key`, or all of `columns`.
    """
    if not counts:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = [connection.ops.quote_name(column) for column in columns]
    conflict = [connection.ops.quote_name(column) for column in key or columns]
    count = connection.ops.quote_name("count")
    rows = [(*key_values, n) for key_values, n in counts.items()]
    # Many rows per statement: one round trip per chunk rather than per row. SQLite caps the number of
    # parameters of a statement (999 in older builds), PostgreSQL does not in practice.
    per_statement = 1000 if connection.vendor == "postgresql" else max(1, 999 // (len(columns) + 1))
    one_row = f"({', '.join(['%s'] * (len(columns) + 1))})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            add = f"{count} = {table}.{count} + EXCLUDED.{count}"
            sql = (
                f"INSERT INTO {table} ({', '.join(quoted)}, {count}) "  # noqa: S608 (names from the model, values bound)
                f"VALUES {', '.join([one_row] * len(chunk))} "
                f"ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {add}"
            )
            cursor.execute(sql, [value for row in chunk for value in row])


def _events(**filters: Any) -> models.QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(**filters).order_by("pk")


_FIELDS = ("pk", "event_type", "occurred_at", "actor_id", "unit_id", "subject_type", "subject_id", "data")


def _lock_mark() -> TallyMark:
    """The mark, re-read after taking its write lock, so that no other catch-up runs meanwhile."""
    mark, _created = TallyMark.objects.get_or_create(pk=1)
    TallyMark.objects.filter(pk=1).update(last_event_id=models.F("last_event_id"))
    mark.refresh_from_db()
    return mark


def _event_metrics() -> list[Metric]:
    return list(Metric.objects.filter(kind=Metric.Kind.EVENTS))


def tally_is_behind(*, now: datetime | None = None) -> bool:
    """Whether a catch-up has anything to do: events past the mark, or a gap that landed or expired.

    A few indexed look-ups and no lock, so that a read with nothing new takes no write lock.
    """
    mark = TallyMark.objects.filter(pk=1).values_list("last_event_id", flat=True).first() or 0
    if AuditEvent.objects.filter(pk__gt=mark).exists():
        return True
    gaps = dict(TallyGap.objects.values_list("event_id", "noticed_at"))
    if not gaps:
        return False
    oldest = min(gaps.values())
    if oldest < (now or timezone.now()) - GAP_PATIENCE:
        return True
    return AuditEvent.objects.filter(pk__in=list(gaps)).exists()


def tally_catch_up(*, now: datetime | None = None) -> int:
    """Add the events past the mark (and the late ones in earlier gaps) to the tallies; the number of
    metric counts added. Cheap when nothing is new: the usual case for a read."""
    now = now or timezone.now()
    if not tally_is_behind(now=now):
        return 0
    metrics = _event_metrics()
    counts = Counts()
    with transaction.atomic():
        mark = _lock_mark()
        gaps = dict(TallyGap.objects.values_list("event_id", "noticed_at"))
        if gaps:
            late = list(_events(pk__in=list(gaps)).values(*_FIELDS))
            counts.add(late, metrics)
            found = {row["pk"] for row in late}
            expired = {pk for pk, noticed in gaps.items() if noticed < now - GAP_PATIENCE}
            TallyGap.objects.filter(event_id__in=found | expired).delete()
        top = AuditEvent.objects.aggregate(top=Max("pk"))["top"] or 0
        previous = mark.last_event_id
        new_gaps: list[int] = []
        while previous < top:
            rows = list(_events(pk__gt=previous, pk__lte=top).values(*_FIELDS)[:BATCH])
            if not rows:
                new_gaps.extend(range(previous + 1, top + 1))
                break
            for row in rows:
                new_gaps.extend(range(previous + 1, row["pk"]))
                previous = row["pk"]
            counts.add(rows, metrics)
        counts.write()
        if mark.last_event_id == 0:
            # The first catch-up ever takes the history as settled: the ids missing from it belong to
            # transactions rolled back long ago, and noting them all would only make work for 10 minutes.
            new_gaps = []
        TallyGap.objects.bulk_create(
            [TallyGap(event_id=pk, noticed_at=now) for pk in new_gaps], ignore_conflicts=True
        )
        TallyMark.objects.filter(pk=1).update(last_event_id=max(top, mark.last_event_id), caught_up_at=now)
    return counts.events


def tally_backfill(metric: Metric) -> int:
    """Count a new metric's events up to the mark, so that the next catch-up carries it on from there.

    Runs inside the transaction that creates the metric. Events in a gap are left for the catch-up that
    finds them, which counts them for every metric, this one included.
    """
    mark = _lock_mark()
    gaps = list(TallyGap.objects.values_list("event_id", flat=True))
    counts = Counts()
    events = _events(pk__lte=mark.last_event_id, event_type__in=metric.event_types).exclude(pk__in=gaps)
    previous = 0
    while True:
        rows = list(events.filter(pk__gt=previous).values(*_FIELDS)[:BATCH])
        if not rows:
            break
        counts.add(rows, [metric])
        previous = rows[-1]["pk"]
    counts.write()
    return counts.events


def count_from_scratch(metric: Metric) -> Counts:
    """The same counts, straight from the whole trail: what the tallies must equal (tests, checks)."""
    return count_events(metric)


def count_events(metric: Metric, **filters: Any) -> Counts:
    """The metric's counts over the events of the trail that match `filters` (all of them by default)."""
    counts = Counts()
    previous = 0
    events = _events(event_type__in=metric.event_types, **filters)
    while True:
        rows = list(events.filter(pk__gt=previous).values(*_FIELDS)[:BATCH])
        if not rows:
            return counts
        counts.add(rows, [metric])
        previous = rows[-1]["pk"]
