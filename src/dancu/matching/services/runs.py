"""A run of the matcher over the registry and the staged legacy rows, and the pairs it proposes.

`match_run_registry` reads every citizen and every staged row that an import did not reject, runs the
matcher (`matching.engine`) over them as one population, and writes each pair at or above the threshold
to the review queue as a `CandidatePair`:

- a side is "c:<citizen id>" or "s:<staging id>"; the pair's key is the two sides in string order, the
  first being the pair's left side, so the same two records always make the same key;
- a pair whose key already has a decision (same, different, merged) is never proposed again, nor is the
  pair of a staged row written to the registry since, as the citizen it became; a pending
  one is refreshed with this run's scores and evidence, also when it was proposed under the key of a
  staged row written to the registry since (it keeps its number, its key and its history); a withdrawn
  one (an earlier run no longer proposed it, no officer decided it) waits in the queue again; a new one
  is created;
- a citizen merged into another is not read (the kept record is): pending pairs naming it are withdrawn
  at the end of the run like any pair it no longer proposes;
- the pair waits in the queue of the 2025 commune of its left side (the right side's when the left
  one has none; a pair where neither side has a commune cannot be routed and is counted in the summary).

Pairs are written in chunks, one transaction each, so a run over a large registry never holds one huge
transaction; the run's row says how far it got, and the run's audit event is written with its final
status. When `DANCU_MATCH_AUTO_MERGE` is set, the pairs at or above it are then merged by the review's
`candidate_pairs_auto_merge` before the run is closed. Citizens are read by this system job as a whole
population, not shown to anyone: what reaches an officer is a pair in the queue of their own area, read
through the review's scoped selectors. The job's own read is still a read of personal data: each
citizen read gets an access-log row naming the job (action "process"), so the citizen sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from dancu.audit.models import AccessLog, EventType
from dancu.audit.services import Actor, access_log_record, audit_event_record
from dancu.collection.models import StagingRecord
from dancu.geo.models import AdminUnit
from dancu.lib.chunks import batched
from dancu.lib.errors import DomainError, FieldError
from dancu.lib.forked import can_fork_workers
from dancu.lib.vntext import fold
from dancu.matching.engine import DEFAULT_BLOCK_CAP, DEFAULT_THRESHOLD, MatchResult, run_matcher
from dancu.matching.models import CandidatePair, MatchRun
from dancu.matching.prepare import (
    PARALLEL_ABOVE,
    AddressUnits,
    PreparedRecords,
    prepare_records,
)
from dancu.matching.services.decisions import candidate_pairs_auto_merge
from dancu.registry.models import Citizen, FamilyLink, Residence

# Pairs written per transaction.
CHUNK_SIZE = 1_000

# The person-records column each comparison shows the values of.
# The columns of a person-records row each field of the evidence shows side by side.
_SHOWN_COLUMNS = {
    "full_name": ("full_name",),
    "birth_date": ("birth_date",),
    "sex": ("gender",),
    "pin": ("id_number",),
    "cmnd": ("old_id_number",),
    "parents": ("father_name", "mother_name"),
    "birth_place": ("birth_place",),
    "address": ("address",),
}


def _shown(row: dict[str, str], field: str) -> str:
    return " / ".join(row.get(column) or "—" for column in _SHOWN_COLUMNS[field])


def pair_key(first: str, second: str) -> str:
    """The key of the pair of two sides ("c:12", "s:40"), whichever order they come in."""
    return "|".join(sorted((first, second)))


@dataclass
class _Population:
    """The records of a run as person-records rows, keyed by side, with what the registry already knows
    better than an address parser: each citizen's 2025 commune and province."""

    rows: dict[str, dict[str, str]]
    communes: dict[str, str | None]
    provinces: dict[str, str | None]
    details: dict[str, str]


def _citizen_rows(population: _Population) -> None:
    parents: dict[int, dict[str, str]] = {}
    links = FamilyLink.objects.filter(
        kind__in=(FamilyLink.Kind.FATHER, FamilyLink.Kind.MOTHER), until__isnull=True
    ).values_list("citizen_id", "kind", "relative_name")
    for citizen_id, kind, name in links.iterator(chunk_size=5_000):
        parents.setdefault(citizen_id, {})[kind] = name
    details: dict[int, tuple[str, str]] = {}
    residences = Residence.objects.filter(kind=Residence.Kind.PERMANENT, ended_on__isnull=True).values_list(
        "citizen_id", "address_detail", "address_original"
    )
    for citizen_id, detail, original in residences.iterator(chunk_size=5_000):
        details[citizen_id] = (detail, original)
    # A record merged into another is no longer anyone's record: its data live in the kept record, which
    # the run reads. Read as well, it was proposed again beside the kept record in a pair no decision
    # could settle (a merge refuses it, and "not the same person" would be false).
    citizens = Citizen.objects.filter(merged_into__isnull=True).values_list(
        "pk",
        "full_name",
        "sex",
        "birth_date",
        "pin",
        "old_id_number",
        "birth_place",
        "date_of_death",
        "area_commune__code",
        "area_province__code",
    )
    for pk, name, sex, birth, pin, cmnd, place, death, commune, province in citizens.iterator(
        chunk_size=5_000
    ):
        side = f"c:{pk}"
        detail, original = details.get(pk, ("", ""))
        family = parents.get(pk, {})
        population.rows[side] = {
            "record_id": side,
            "full_name": name,
            "gender": sex,
            "birth_date": birth.to_storage() if birth else "",
            "id_number": pin,
            "old_id_number": cmnd or "",
            "birth_place": place,
            "father_name": family.get(FamilyLink.Kind.FATHER, ""),
            "mother_name": family.get(FamilyLink.Kind.MOTHER, ""),
            "address": original or detail,
            "death_date": death.to_storage() if death else "",
        }
        population.communes[side] = commune
        population.provinces[side] = province
        population.details[side] = fold(detail)


# What a citizen sees in the access log of their record for a run's read.
MATCH_READ_PURPOSE = gettext_noop("Đối chiếu tìm hồ sơ trùng (tìm bản ghi của cùng một người)")


def _log_citizens_read(run: MatchRun, actor: Actor, population: _Population) -> int:
    """One access-log row per citizen the run read (NĐ 13/2023: every read of personal data is logged,
    a system job's too), written in batches as the run goes on; returns the number of rows."""
    return access_log_record(
        actor=actor,
        citizen_ids=(int(side[2:]) for side in population.rows if side.startswith("c:")),
        action=AccessLog.Action.PROCESS,
        channel=AccessLog.Channel.JOB,
        purpose=MATCH_READ_PURPOSE,
        detail=f"lượt đối chiếu #{run.pk}",
    )


def _staged_value(row: StagingRecord, *names: str) -> str:
    for source in (row.normalized, row.raw):
        if isinstance(source, dict):
            for name in names:
                value = source.get(name)
                if isinstance(value, str) and value.strip():
                    return value
    return ""


def _staged_rows(population: _Population) -> None:
    # A row already written to the registry (directly, or through the form it was filed as) is that
    # citizen now: matching it would only propose the citizen as a duplicate of itself.
    staged = (
        StagingRecord.objects.exclude(status=StagingRecord.Status.REJECTED)
        .filter(citizen__isnull=True)
        .only("pk", "raw", "normalized")
    )
    for row in staged.iterator(chunk_size=2_000):
        side = f"s:{row.pk}"
        population.rows[side] = {
            "record_id": side,
            "full_name": _staged_value(row, "full_name"),
            "gender": _staged_value(row, "sex", "gender"),
            "birth_date": _staged_value(row, "birth_date"),
            "id_number": _staged_value(row, "pin", "id_number"),
            "old_id_number": _staged_value(row, "old_id_number"),
            # As the row wrote it ("Hà Nội"), not the province code the import found for it ("001"): the
            # matcher finds the code again, and the evidence shows both sides as people wrote them, where
            # the name against the code read as a difference.
            "birth_place": _staged_value(row, "birth_place_text", "birth_place"),
            "father_name": _staged_value(row, "father_name"),
            "mother_name": _staged_value(row, "mother_name"),
            "address": _staged_value(row, "address"),
            "death_date": _staged_value(row, "death_date"),
        }


def _prepare(
    population: _Population, today: date, *, parallel_above: int = PARALLEL_ABOVE
) -> PreparedRecords:
    # In forked worker processes when this process may start them (the command, not a queue's task
    # worker, which is daemonic): a national registry's preparation is the longest step of the run.
    workers = settings.DANCU_MATCH_WORKERS if can_fork_workers() else 1
    prepared = prepare_records(
        list(population.rows.values()),
        today=today,
        units=AddressUnits.from_database(),
        workers=workers,
        parallel_above=parallel_above,
    )
    # A citizen's area is kept in sync by the residence services: better than reading it back from text.
    for index, side in enumerate(prepared.columns["unique_id"]):
        if side in population.communes:
            prepared.set_address(
                index,
                commune=population.communes[side],
                province=population.provinces[side],
                detail=population.details[side] or "",
            )
    return prepared


def _comparisons(pair: dict[str, Any], result: MatchResult, rows: dict[str, dict[str, str]]) -> list[Any]:
    left, right = rows[pair["unique_id_l"]], rows[pair["unique_id_r"]]
    evidence = []
    for name in result.fields:
        evidence.append(
            {
                "field": name,
                "level": result.level_labels[name].get(int(pair[f"gamma_{name}"]), ""),
                "weight": round(float(pair[f"w_{name}"]), 3),
                "left": _shown(left, name),
                "right": _shown(right, name),
            }
        )
    return evidence


@dataclass
class _Proposed:
    key: str
    left: str
    right: str
    unit_code: str
    weight: float
    probability: float
    comparisons: list[Any]


def _proposals(
    result: MatchResult, population: _Population, prepared: PreparedRecords, threshold: float
) -> tuple[list[_Proposed], int]:
    communes = dict(zip(prepared.columns["unique_id"], prepared.columns["commune"], strict=True))
    proposed: list[_Proposed] = []
    unrouted = 0
    accepted = result.pairs[result.pairs["match_probability"] >= threshold]
    for scored in accepted.to_dict("records"):
        left, right = sorted((str(scored["unique_id_l"]), str(scored["unique_id_r"])))
        unit_code = communes.get(left) or communes.get(right)
        if not unit_code:
            unrouted += 1
            continue
        pair = scored if scored["unique_id_l"] == left else _swapped(scored)
        proposed.append(
            _Proposed(
                key=pair_key(left, right),
                left=left,
                right=right,
                unit_code=unit_code,
                weight=float(pair["match_weight"]),
                probability=float(pair["match_probability"]),
                comparisons=_comparisons(pair, result, population.rows),
            )
        )
    return proposed, unrouted


def _swapped(pair: dict[str, Any]) -> dict[str, Any]:
    return {**pair, "unique_id_l": pair["unique_id_r"], "unique_id_r": pair["unique_id_l"]}


def _side_fields(prefix: str, side: str) -> dict[str, int | None]:
    kind, pk = side.split(":")
    return {
        f"{prefix}_citizen_id": int(pk) if kind == "c" else None,
        f"{prefix}_staging_id": int(pk) if kind == "s" else None,
    }


_OPEN = (CandidatePair.Status.PENDING, CandidatePair.Status.WITHDRAWN)


@dataclass
class _Aliases:
    """The keys under which the chunk's pairs may already be known: a staged row written to the registry
    since is that citizen now ("c:12" where an earlier pair named "s:40"). `keys` maps every such key (the
    pair's own among them) to the pair's key of this run; `citizen_of` maps a staged side to its citizen."""

    keys: dict[str, str]
    citizen_of: dict[str, str]


def _aliases(chunk: list[_Proposed]) -> _Aliases:
    sides = {side for item in chunk for side in (item.left, item.right)}
    citizen_ids = {int(side[2:]) for side in sides if side.startswith("c:")}
    rows: dict[str, list[str]] = {}
    citizen_of: dict[str, str] = {}
    for row_id, citizen_id in StagingRecord.objects.filter(citizen_id__in=citizen_ids).values_list(
        "pk", "citizen_id"
    ):
        rows.setdefault(f"c:{citizen_id}", []).append(f"s:{row_id}")
        citizen_of[f"s:{row_id}"] = f"c:{citizen_id}"
    keys: dict[str, str] = {}
    for item in chunk:
        for left in [item.left, *rows.get(item.left, [])]:
            for right in [item.right, *rows.get(item.right, [])]:
                if left != right:
                    keys.setdefault(pair_key(left, right), item.key)
    return _Aliases(keys=keys, citizen_of=citizen_of)


def _left_side(pair: CandidatePair) -> str:
    return f"c:{pair.left_citizen_id}" if pair.left_citizen_id is not None else f"s:{pair.left_staging_id}"


def _oriented(comparisons: list[Any], *, swap: bool) -> list[Any]:
    """The evidence as seen from the pair's own sides: a pair kept under its earlier key may name as its
    right side the record this run reads on the left."""
    if not swap:
        return comparisons
    return [
        {**c, "left": c.get("right"), "right": c.get("left")} if isinstance(c, dict) else c
        for c in comparisons
    ]


def _write_chunk(run: MatchRun, chunk: list[_Proposed], units: dict[str, int]) -> tuple[int, int, int, int]:
    """Create the new pairs, refresh the pending ones and put the withdrawn ones back in the queue, for one
    chunk; return (created, refreshed, already decided, returned). One transaction: a chunk is written
    whole or not at all.

    A pair is known under its key, or under the key an earlier run gave it before one of its staged rows
    was written to the registry ("s:40|s:41" for "c:12|s:41"). A decision under either key keeps it out
    (the officer said it of the citizen too); an open pair under the earlier key is the one refreshed, so
    that the pair an officer may have open keeps its number and its history, instead of being withdrawn as
    "no longer proposed" beside a new pair of the same two records."""
    created = refreshed = decided = returned = 0
    with transaction.atomic():
        aliases = _aliases(chunk)
        known_pairs = list(
            CandidatePair.objects.select_for_update().filter(pair_key__in=list(aliases.keys)).order_by("pk")
        )
        decided_earlier = {aliases.keys[p.pair_key] for p in known_pairs if p.status not in _OPEN}
        existing: dict[str, CandidatePair] = {}
        # The pair under this run's own key first, then a pending one before a withdrawn one.
        for pair in sorted(
            (p for p in known_pairs if p.status in _OPEN),
            key=lambda p: (p.pair_key != aliases.keys[p.pair_key], p.status != CandidatePair.Status.PENDING),
        ):
            existing.setdefault(aliases.keys[pair.pair_key], pair)
        new_pairs = []
        for item in chunk:
            known = existing.get(item.key)
            # A withdrawn pair was taken out by a run, not decided by anyone: a run that believes it again
            # puts it back in the queue. Only an officer's (or the auto-merge's) decision keeps it out.
            if item.key in decided_earlier:
                decided += 1
                continue
            if known is not None:
                left = _left_side(known)
                known.run = run
                known.unit_id = units[item.unit_code]
                known.match_weight = item.weight
                known.match_probability = item.probability
                known.comparisons = _oriented(
                    item.comparisons, swap=aliases.citizen_of.get(left, left) != item.left
                )
                fields = ["run", "unit", "match_weight", "match_probability", "comparisons"]
                if known.status == CandidatePair.Status.WITHDRAWN:
                    known.status = CandidatePair.Status.PENDING
                    known.decided_at = None
                    fields += ["status", "decided_at"]
                    returned += 1
                else:
                    refreshed += 1
                known.save(update_fields=fields)
                continue
            new_pairs.append(
                CandidatePair(
                    run=run,
                    pair_key=item.key,
                    unit_id=units[item.unit_code],
                    match_weight=item.weight,
                    match_probability=item.probability,
                    comparisons=item.comparisons,
                    **_side_fields("left", item.left),
                    **_side_fields("right", item.right),
                )
            )
        CandidatePair.objects.bulk_create(new_pairs)
        created = len(new_pairs)
    return created, refreshed, decided, returned


def _commune_ids(codes: set[str]) -> dict[str, int]:
    return dict(
        AdminUnit.objects.filter(
            structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.COMMUNE, code__in=codes
        ).values_list("code", "pk")
    )


def _auto_merge_threshold() -> float | None:
    value = settings.DANCU_MATCH_AUTO_MERGE
    return float(value) if value is not None else None


def _withdraw_stale_pairs(run: MatchRun, now: datetime) -> int:
    """Take out of the queue the pending pairs of earlier runs that this finished run did not propose.

    A run reads the whole registry and every staged row, so a pending pair it did not propose again is one
    it no longer believes: its records changed or were merged since, or the matcher learnt better. Left
    pending, such a pair would wait forever beside the current ones with the scores of a model that is
    gone. Decided pairs are never touched: an officer's decision stands.
    """
    stale = CandidatePair.objects.filter(status=CandidatePair.Status.PENDING).exclude(run=run)
    return stale.update(status=CandidatePair.Status.WITHDRAWN, decided_at=now)


def _finish(run: MatchRun, *, actor: Actor, status: str, summary: dict[str, Any]) -> MatchRun:
    with transaction.atomic():
        run.status = status
        run.finished_at = timezone.now()
        if status == MatchRun.Status.FINISHED:
            # In the transaction of the run's audit event, which records how many were withdrawn.
            summary = {**summary, "withdrawn": _withdraw_stale_pairs(run, run.finished_at)}
        run.summary = summary
        run.save(
            update_fields=["status", "finished_at", "summary", "records", "candidate_pairs", "proposed_pairs"]
        )
        audit_event_record(
            actor=actor,
            event_type=EventType.MATCH_RUN_FINISHED
            if status == MatchRun.Status.FINISHED
            else EventType.MATCH_RUN_FAILED,
            subject_type="matching.run",
            subject_id=run.pk,
            data={
                "backend": run.backend,
                "threshold": run.threshold,
                "records": run.records,
                "candidate_pairs": run.candidate_pairs,
                "proposed_pairs": run.proposed_pairs,
                **{
                    key: summary[key]
                    for key in (
                        "created",
                        "refreshed",
                        "already_decided",
                        "returned",
                        "auto_merged",
                        "withdrawn",
                        "citizens_logged",
                        "error",
                    )
                    if key in summary
                },
            },
        )
    return run


def match_run_registry(
    *,
    actor: Actor,
    backend: str = "duckdb",
    threshold: float = DEFAULT_THRESHOLD,
    block_cap: int = DEFAULT_BLOCK_CAP,
    today: date,
    progress: Callable[[str], None] | None = None,
) -> MatchRun:
    """Match the registry's citizens and the staged rows and fill the review queue; see the module
    docstring. Returns the finished run; a run that fails is recorded as failed and the error raised."""
    if not 0.0 < threshold < 1.0:
        raise DomainError(
            FieldError(
                "threshold",
                "threshold.range",
                "Ngưỡng phải là xác suất lớn hơn 0 và nhỏ hơn 1",
                "The threshold must be a probability above 0 and below 1",
            )
        )
    with transaction.atomic():
        run = MatchRun.objects.create(
            backend=backend, threshold=threshold, auto_merge_threshold=_auto_merge_threshold()
        )
    try:
        population = _Population(rows={}, communes={}, provinces={}, details={})
        _citizen_rows(population)
        citizens_logged = _log_citizens_read(run, actor, population)
        _staged_rows(population)
        run.records = len(population.rows)
        if progress is not None:
            progress(f"{run.records:,} records (citizens and staged rows)")
        if run.records < 2:
            return _finish(
                run,
                actor=actor,
                status=MatchRun.Status.FINISHED,
                summary={"notes": ["fewer than two records"], "citizens_logged": citizens_logged},
            )
        prepared = _prepare(population, today)
        result = run_matcher(
            prepared,
            backend=backend,
            threshold=threshold,
            block_cap=block_cap,
            duplicate_share=settings.DANCU_MATCH_DUPLICATE_SHARE,
            progress=progress,
        )
        proposed, unrouted = _proposals(result, population, prepared, threshold)
        units = _commune_ids({item.unit_code for item in proposed})
        created = refreshed = decided = returned = 0
        for chunk in batched(proposed, CHUNK_SIZE):
            counts = _write_chunk(run, chunk, units)
            created, refreshed = created + counts[0], refreshed + counts[1]
            decided, returned = decided + counts[2], returned + counts[3]
        run.candidate_pairs = result.summary["candidate_pairs"]
        run.proposed_pairs = created + refreshed + returned
        # Pairs at or above the configured certainty are merged by the review's own policy, one
        # transaction each; the others wait for an officer.
        merged = candidate_pairs_auto_merge(actor=actor, run=run)
        summary = {
            **result.summary,
            "created": created,
            "refreshed": refreshed,
            "already_decided": decided,
            "returned": returned,
            "unrouted": unrouted,
            "auto_merge_threshold": run.auto_merge_threshold,
            "auto_merged": len(merged.decided),
            "auto_merge_waiting": len(merged.waiting),
            "citizens_logged": citizens_logged,
        }
    except BaseException as exc:
        # A stop (Ctrl-C, or SIGTERM, which the commands turn into a KeyboardInterrupt) ends the run as
        # surely as an error: left "running", it would read as under way for good, with no event of its end.
        error = (
            "stopped (Ctrl-C or SIGTERM)"
            if isinstance(exc, KeyboardInterrupt)
            else f"{type(exc).__name__}: {exc}"
        )
        _finish(run, actor=actor, status=MatchRun.Status.FAILED, summary={"error": error})
        raise
    return _finish(run, actor=actor, status=MatchRun.Status.FINISHED, summary=summary)
