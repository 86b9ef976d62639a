"""Writing the scorecard: assess records, keep the stored assessments and the daily snapshots current.

`quality_records_assess` judges the given citizens (see `checks`) and stores one assessment each, in
chunks of one transaction. A record whose stored assessment failed an indicator and that now passes all
four gets the audit event `collection.record.cleaned`, counted toward its 2025 commune, in the same
transaction as its new assessment and exactly once per such transition: the assessment is flipped by a
conditional UPDATE, and only the pass whose UPDATE changed the row writes the event, so two passes
running at once cannot both count it.

Each chunk also moves the day's snapshots of the units it touched by what it changed (`_snapshot_apply`),
so the snapshots are current after every pass without counting the whole registry again; a pass over
every record instead recounts them once at its end (`quality_snapshot_take`).

`quality_pass_run` is what the command and the scheduled tasks start: it picks the records (all of them,
one unit's, or those changed since the last pass), assesses them and records the pass with one audit
event. "Changed since the last pass" is read from the trail the registry already writes in every
transaction (events on citizens and households since the last pass), plus the candidate pairs created or
decided since, the parents and children of changed records, and, after a bulk load, the records never
assessed; rules that depend on the date alone (an expired temporary residence, an age over 120) are caught
by the nightly pass over every record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import Actor, access_log_record, audit_event_record
from dancu.collection.models import StagingRecord
from dancu.collection.quality.checks import Indicator, Verdict, assess, load_facts
from dancu.collection.quality.models import QualityAssessment, QualityPass, QualitySnapshot
from dancu.geo.models import AdminUnit
from dancu.lib.chunks import batched
from dancu.registry.models import Citizen, FamilyLink, HouseholdMember
from dancu.registry.rules import UnitIndex

if TYPE_CHECKING:
    from dancu.matching.models import CandidatePair

CHUNK_SIZE = 1000
# What an assessment row holds besides the citizen; written by the upsert of each chunk.
_VERDICT_FIELDS = (
    "dung",
    "du",
    "sach",
    "song",
    "passed_all",
    "score",
    "failure_count",
    "failures",
    "citizen_version",
    "assessed_at",
    "commune",
    "province",
)


@dataclass
class AssessOutcome:
    assessed: int = 0
    cleaned: int = 0


def _values(verdict: Verdict, *, version: int, now: datetime) -> dict[str, object]:
    return {
        "dung": verdict.passes(Indicator.DUNG),
        "du": verdict.passes(Indicator.DU),
        "sach": verdict.passes(Indicator.SACH),
        "song": verdict.passes(Indicator.SONG),
        "passed_all": verdict.passed_all,
        "score": verdict.score,
        "failure_count": len(verdict.failures),
        "failures": [failure.as_json() for failure in verdict.failures],
        "citizen_version": version,
        "assessed_at": now,
    }


# The counts a snapshot keeps, in this order, and the assessment flags that make them.
_COUNTS = ("records", "dung", "du", "sach", "song", "passed_all")
_FLAGS = ("dung", "du", "sach", "song", "passed_all")
Deltas = dict[int | None, list[int]]


def _add(
    deltas: Deltas, *, commune: int | None, province: int | None, flags: Sequence[bool], sign: int
) -> None:
    """Count (sign 1) or uncount (sign -1) one record in its commune, its province and the country."""
    for unit_id in {commune, province, None}:
        totals = deltas.setdefault(unit_id, [0] * len(_COUNTS))
        totals[0] += sign
        for index, flag in enumerate(flags, start=1):
            totals[index] += sign * flag


# What a citizen sees in the access log of their record for a quality pass's read.
QUALITY_READ_PURPOSE = gettext_noop("Đánh giá chất lượng hồ sơ (đúng, đủ, sạch, sống)")


def _assess_chunk(
    *, actor: Actor, ids: Sequence[int], today: date, units: UnitIndex, track_snapshots: bool
) -> AssessOutcome:
    now = timezone.now()
    outcome = AssessOutcome()
    with transaction.atomic():
        facts = load_facts(ids)
        # The assessment reads each record's personal data: a read the citizen sees in the access log,
        # under the pass's name, even though no one is shown the data.
        access_log_record(
            actor=actor,
            citizen_ids=[record.citizen.pk for record in facts],
            action=AccessLog.Action.PROCESS,
            channel=AccessLog.Channel.JOB,
            purpose=QUALITY_READ_PURPOSE,
        )
        # The stored verdicts, locked (on PostgreSQL) so that two passes over the same records take turns:
        # what they subtract from the snapshots is then what is really stored.
        previous = {
            row[0]: row[1:]
            for row in QualityAssessment.objects.select_for_update()
            .filter(citizen_id__in=ids)
            .order_by("citizen_id")
            .values_list("citizen_id", "commune_id", "province_id", *_FLAGS)
        }
        deltas: Deltas = {}
        rows = []
        cleaned = []
        for record in facts:
            citizen = record.citizen
            verdict = assess(record, today=today, units=units)
            values = _values(verdict, version=citizen.version, now=now)
            values["commune_id"] = citizen.area_commune_id
            values["province_id"] = citizen.area_province_id
            before = previous.get(citizen.pk)
            if track_snapshots:
                if before is not None:
                    _add(deltas, commune=before[0], province=before[1], flags=before[2:], sign=-1)
                _add(
                    deltas,
                    commune=citizen.area_commune_id,
                    province=citizen.area_province_id,
                    flags=[bool(values[flag]) for flag in _FLAGS],
                    sign=1,
                )
            if verdict.passed_all and before is not None and not before[-1]:
                cleaned.append((citizen, values))
            else:
                rows.append(QualityAssessment(citizen_id=citizen.pk, **values))
        # Records merged into another since their last assessment no longer count anywhere.
        assessed = {record.citizen.pk for record in facts}
        gone = [citizen_id for citizen_id in previous if citizen_id not in assessed]
        if gone:
            if track_snapshots:
                for citizen_id in gone:
                    before = previous[citizen_id]
                    _add(deltas, commune=before[0], province=before[1], flags=before[2:], sign=-1)
            QualityAssessment.objects.filter(citizen_id__in=gone).delete()
        QualityAssessment.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["citizen"], update_fields=list(_VERDICT_FIELDS)
        )
        for citizen, values in cleaned:
            # Only the pass whose UPDATE turns the row from failing to clean counts the transition.
            if QualityAssessment.objects.filter(citizen_id=citizen.pk, passed_all=False).update(**values):
                audit_event_record(
                    actor=actor,
                    event_type=EventType.RECORD_CLEANED,
                    subject_type="citizen",
                    subject_id=citizen.pk,
                    data={"version": citizen.version},
                    unit=citizen.area_commune,
                )
                outcome.cleaned += 1
        _snapshot_apply(day=today, deltas=deltas)
        outcome.assessed = len(facts)
    return outcome


def _units_q(unit_ids: Iterable[int | None]) -> Q:
    """Snapshots of these units, None being the country."""
    ids = set(unit_ids)
    where = Q(unit_id__in=[unit_id for unit_id in ids if unit_id is not None])
    return where | Q(unit__isnull=True) if None in ids else where


def _snapshots_locked(units: Q, day: date) -> list[QualitySnapshot]:
    return list(QualitySnapshot.objects.select_for_update().filter(units, day=day).order_by("pk"))


def _snapshot_apply(*, day: date, deltas: Deltas) -> None:
    """Move the day's snapshots by the change in the stored verdicts, in a few queries whatever the number
    of units. A unit without a snapshot for the day starts from its latest earlier one (its figures did
    not change in between, or a pass would have written them), or from nothing."""
    changed = {unit_id: totals for unit_id, totals in deltas.items() if any(totals)}
    if not changed:
        return
    # Locked in one order (PostgreSQL locks the rows as they come out sorted), so that two writers moving
    # the same country and province rows, a pass and a decision's reassessment (quality_records_refresh),
    # wait for each other instead of deadlocking.
    rows = {row.unit_id: row for row in _snapshots_locked(_units_q(changed), day)}
    # The country first, then by id: two writers making the same rows insert them in one order.
    missing = sorted(
        (unit_id for unit_id in changed if unit_id not in rows),
        key=lambda unit_id: (unit_id is not None, unit_id or 0),
    )
    if missing:
        latest: dict[int | None, date] = dict(
            QualitySnapshot.objects.filter(_units_q(missing), day__lt=day)
            .values("unit_id")
            .annotate(last=Max("day"))
            .values_list("unit_id", "last")
        )
        bases = {
            row.unit_id: row
            for row in QualitySnapshot.objects.filter(_units_q(latest), day__in=set(latest.values()))
            if row.day == latest[row.unit_id]
        }
        # The day's first row of a unit is made as its last earlier figures, before any change is added,
        # and a row another writer made meanwhile is kept (ON CONFLICT DO NOTHING; on PostgreSQL it waits
        # for that writer's commit). Each writer then adds its change to the one row under the row's lock.
        # Made with the change already added, as before, the second of two reassessments of one commune
        # at the same moment broke the day's unique constraint, and its change was left out of the
        # figures until the next pass.
        QualitySnapshot.objects.bulk_create(
            [
                QualitySnapshot(
                    unit_id=unit_id,
                    day=day,
                    **{name: getattr(bases[unit_id], name) if unit_id in bases else 0 for name in _COUNTS},
                )
                for unit_id in missing
            ],
            ignore_conflicts=True,
        )
        rows |= {row.unit_id: row for row in _snapshots_locked(_units_q(missing), day)}
    for unit_id, totals in changed.items():
        row = rows[unit_id]
        for name, delta in zip(_COUNTS, totals, strict=True):
            setattr(row, name, getattr(row, name) + delta)
    QualitySnapshot.objects.bulk_update([rows[unit_id] for unit_id in changed], _COUNTS)


def quality_records_assess(
    *,
    actor: Actor,
    citizen_ids: Iterable[int],
    today: date | None = None,
    units: UnitIndex | None = None,
    chunk_size: int = CHUNK_SIZE,
    track_snapshots: bool = True,
) -> AssessOutcome:
    """Assess these citizens and store the verdicts, one transaction per chunk; ids of citizens that do
    not exist are skipped. Each chunk moves the day's snapshots by what it changed, unless the caller
    recounts them afterwards (`track_snapshots=False`, the pass over every record)."""
    today = today or timezone.localdate()
    total = AssessOutcome()
    for chunk in batched(citizen_ids, chunk_size):
        # Loaded with the first chunk: a pass with nothing to assess reads no units.
        units = units or UnitIndex.current()
        outcome = _assess_chunk(
            actor=actor, ids=chunk, today=today, units=units, track_snapshots=track_snapshots
        )
        total.assessed += outcome.assessed
        total.cleaned += outcome.cleaned
    return total


# Records an officer just changed ----------------------------------------------------------------------------

# The actor of the scorecard's own reassessments: the scheduled passes' (tasks.ACTOR), since the records
# are read for the same purpose and shown to no one.
REFRESH_ACTOR = Actor(system="quality")


def quality_records_refresh(*, citizen_ids: Iterable[int | None]) -> AssessOutcome:
    """Reassess these records now, with their parents and children (whose parent-age check reads them),
    rather than at the next pass: the scorecard of a commune that just cleared its duplicates queue must
    show the queue cleared. A few records, one transaction, the day's snapshots moved by what changed, as
    a pass's chunk does; an id of no record is skipped."""
    ids = {citizen_id for citizen_id in citizen_ids if citizen_id is not None}
    if not ids:
        return AssessOutcome()
    ids.update(FamilyLink.objects.filter(relative_id__in=ids).values_list("citizen_id", flat=True))
    return quality_records_assess(actor=REFRESH_ACTOR, citizen_ids=sorted(ids))


def quality_records_refresh_on_commit(*, citizen_ids: Iterable[int | None]) -> None:
    """Reassess these records once the transaction changing them commits: a merge of two records and its
    undo (registry.services.citizen_merge, citizen_merge_undo), a decision on a candidate pair. Called
    inside that transaction; the scorecard moves with the change, not up to 15 minutes after it.

    After the commit, not inside it: the reassessment moves the day's snapshots of the commune, the
    province and the country, rows every such change in the country would otherwise hold locked until its
    own commit. It is `robust`: a reassessment that fails leaves the change made (it is logged), and the
    next pass over what changed, which picks the records changed and the pairs decided since, sets the
    scorecard right.
    """
    # Read now: the ids may come from a query that must see the rows as they are inside the transaction.
    ids = list(citizen_ids)
    transaction.on_commit(partial(quality_records_refresh, citizen_ids=ids), robust=True)


def quality_pair_refresh_on_commit(*, pair: CandidatePair) -> None:
    """Reassess the records a candidate pair names once the transaction deciding it (or taking the
    decision back) commits: "duplicate pending" leaves the scorecard with the decision. Called inside that
    transaction, before the decision changes the staged rows. A decision that merges two citizens, or
    undoes their merge, leaves it to the merge (see matching.services.decisions)."""
    ids = [pair.left_citizen_id, pair.right_citizen_id]
    staged = [side for side in (pair.left_staging_id, pair.right_staging_id) if side is not None]
    if staged:
        # A staged row written to the registry since the pair was made stands for that citizen.
        ids += StagingRecord.objects.filter(pk__in=staged).values_list("citizen_id", flat=True)
    quality_records_refresh_on_commit(citizen_ids=ids)


# Which records a pass looks at ------------------------------------------------------------------------------


def _keyset(where: Q, size: int) -> Iterator[int]:
    """Citizen ids matching `where`, in pages by id: constant memory on a registry of any size."""
    last = 0
    while True:
        page = list(
            Citizen.objects.filter(where, pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size]
        )
        if not page:
            return
        yield from page
        last = page[-1]


def unit_citizens_q(unit: AdminUnit) -> Q:
    """The citizens of a 2025 province or commune, by the area the registry keeps on each record."""
    if unit.level == AdminUnit.Level.PROVINCE:
        return Q(area_province_id=unit.pk)
    return Q(area_commune_id=unit.pk)


def _last_pass_start() -> datetime | None:
    last = (
        QualityPass.objects.filter(
            finished_at__isnull=False, scope__in=(QualityPass.Scope.ALL, QualityPass.Scope.CHANGED)
        )
        .order_by("-started_at")
        .first()
    )
    return last.started_at if last is not None else None


def changed_citizen_ids(*, since: datetime) -> list[int]:
    """The citizens whose assessment may be out of date because something changed since `since`."""
    from dancu.matching.models import CandidatePair

    events = AuditEvent.objects.filter(occurred_at__gte=since).exclude(event_type=EventType.RECORD_CLEANED)
    ids = {
        int(subject)
        for subject in events.filter(subject_type="citizen").values_list("subject_id", flat=True)
        if subject.isdigit()
    }
    households = {
        int(subject)
        for subject in events.filter(subject_type="household").values_list("subject_id", flat=True)
        if subject.isdigit()
    }
    # A move is an event about the person who moves, and it changes the household they leave too: a head
    # registered elsewhere by the commune moved to leaves it without a head (residence_arrival_register),
    # which its remaining members' assessment must show.
    households.update(
        left
        for left in events.filter(
            subject_type="citizen", event_type=EventType.RESIDENCE_REGISTERED
        ).values_list("data__left_household_id", flat=True)
        if isinstance(left, int)
    )
    if households:
        ids.update(
            HouseholdMember.objects.filter(household_id__in=households, left_on__isnull=True).values_list(
                "citizen_id", flat=True
            )
        )
    # A staged side written to the registry is its citizen (as `checks.load_facts` reads the pairs).
    for sides in CandidatePair.objects.filter(
        Q(created_at__gte=since) | Q(decided_at__gte=since)
    ).values_list(
        "left_citizen_id", "right_citizen_id", "left_staging__citizen_id", "right_staging__citizen_id"
    ):
        ids.update(side for side in sides if side is not None)
    if ids:
        # A parent's date of birth decides whether the child's record is consistent, and the other way.
        ids.update(FamilyLink.objects.filter(relative_id__in=ids).values_list("citizen_id", flat=True))
    # A bulk load (`dancu generate`) writes one event for all the citizens it creates: then, and only then,
    # look for the records never assessed, which costs a scan of the registry.
    if events.filter(event_type=EventType.POPULATION_GENERATED).exists():
        ids.update(Citizen.objects.filter(quality_assessment__isnull=True).values_list("pk", flat=True))
    return sorted(ids)


# Snapshots --------------------------------------------------------------------------------------------------


def quality_snapshot_take(*, day: date) -> int:
    """Recount the day's snapshots of every 2025 commune and province with records, and of the country,
    from the stored assessments; returns how many rows were written. The pass over every record ends with
    it, so whatever the day's running snapshots missed (see `_snapshot_apply`) is set right nightly."""
    per_unit: dict[int | None, list[int]] = defaultdict(lambda: [0] * len(_COUNTS))
    rows = QualityAssessment.objects.values("commune", "province").annotate(
        records=Count("pk"),
        n_dung=Count("pk", filter=Q(dung=True)),
        n_du=Count("pk", filter=Q(du=True)),
        n_sach=Count("pk", filter=Q(sach=True)),
        n_song=Count("pk", filter=Q(song=True)),
        n_all=Count("pk", filter=Q(passed_all=True)),
    )
    for row in rows:
        counts = (row["records"], row["n_dung"], row["n_du"], row["n_sach"], row["n_song"], row["n_all"])
        for unit_id in {row["commune"], row["province"], None}:
            totals = per_unit[unit_id]
            for index, value in enumerate(counts):
                totals[index] += value
    QualitySnapshot.objects.filter(day=day).delete()
    QualitySnapshot.objects.bulk_create(
        QualitySnapshot(unit_id=unit_id, day=day, **dict(zip(_COUNTS, totals, strict=True)))
        for unit_id, totals in per_unit.items()
    )
    return len(per_unit)


# A pass -----------------------------------------------------------------------------------------------------


def quality_pass_run(
    *,
    actor: Actor,
    scope: str = QualityPass.Scope.CHANGED,
    unit: AdminUnit | None = None,
    today: date | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> QualityPass:
    """Assess all records, one 2025 unit's, or those changed since the last pass; then rewrite today's
    snapshots and record the pass (one audit event). Without an earlier pass, "changed" means all."""
    if (scope == QualityPass.Scope.UNIT) != (unit is not None):
        raise ValueError("a unit pass needs a unit, and only a unit pass takes one")
    if unit is not None and (unit.structure != AdminUnit.Structure.CURRENT or unit.level == "district"):
        raise ValueError("a unit pass takes a 2025 province or commune")
    today = today or timezone.localdate()
    started_at = timezone.now()
    since = _last_pass_start() if scope == QualityPass.Scope.CHANGED else None
    if scope == QualityPass.Scope.UNIT:
        assert unit is not None
        ids: Iterable[int] = _keyset(unit_citizens_q(unit), chunk_size)
    elif since is not None:
        ids = changed_citizen_ids(since=since)
    else:
        ids = _keyset(Q(), chunk_size)
    everything = scope == QualityPass.Scope.ALL or (scope == QualityPass.Scope.CHANGED and since is None)
    outcome = quality_records_assess(
        actor=actor, citizen_ids=ids, today=today, chunk_size=chunk_size, track_snapshots=not everything
    )
    with transaction.atomic():
        # The chunks of a pass over every record left the snapshots alone: they are recounted here.
        snapshots = quality_snapshot_take(day=today) if everything else 0
        run = QualityPass.objects.create(
            scope=scope,
            unit=unit,
            started_at=started_at,
            finished_at=timezone.now(),
            actor_label=actor.label,
            assessed=outcome.assessed,
            cleaned=outcome.cleaned,
        )
        audit_event_record(
            actor=actor,
            event_type=EventType.QUALITY_ASSESSED,
            subject_type="quality_pass",
            subject_id=run.pk,
            data={
                "scope": scope,
                "since": since.isoformat() if since else None,
                "assessed": outcome.assessed,
                "cleaned": outcome.cleaned,
                "snapshots": snapshots,
                "day": today.isoformat(),
            },
            unit=unit,
        )
    return run
