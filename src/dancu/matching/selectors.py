"""Reads of the review queue: every pair, and every citizen in it, scoped to the officer's area and logged.

A pair is visible to an officer when its commune lies in the officer's area and every citizen in it is
one the officer may see: a pair across two provinces goes to the ministry, not to either commune. A pair
outside that answers exactly like a pair that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from dancu.accounts.models import User
from dancu.accounts.selectors import citizen_scope
from dancu.audit.models import AccessLog, AuditEvent
from dancu.audit.services import access_log_record
from dancu.collection.models import StagingRecord
from dancu.geo.address import parse_address
from dancu.lib import pin as pin_codec
from dancu.lib.errors import FieldError, NotFoundError
from dancu.matching.models import CandidatePair
from dancu.matching.prepare import canonical_detail
from dancu.matching.scope import visible_pairs
from dancu.matching.services.decisions import (
    DECIDER_ROLES,
    Side,
    pair_citizen_ids,
    pair_origin,
    pair_records,
    pair_seen,
    staging_death_date,
    staging_value,
)
from dancu.registry.models import Citizen, CitizenMerge, Sex
from dancu.registry.rules import check_death_after_birth, check_not_in_future
from dancu.registry.services import MERGE_PREFETCH, citizen_final_record, merge_conflicts, merge_pin_rule
from dancu.registry.validation import parse_partial_date

MAX_PAGE_SIZE = 100
_NOTHING = Q(pk__in=[])


def _with_sides(pairs: QuerySet[CandidatePair]) -> QuerySet[CandidatePair]:
    return pairs.select_related(
        "unit",
        "left_citizen",
        "right_citizen",
        "left_staging__run",
        "right_staging__run",
        "left_staging__citizen",
        "right_staging__citizen",
        "decided_by",
    )


def _citizen_ids(pairs: list[CandidatePair]) -> list[int]:
    ids = []
    for pair in pairs:
        ids += pair_citizen_ids(pair)
    return list(dict.fromkeys(ids))


def pair_shown(pair: CandidatePair) -> tuple[Side, Side]:
    """The pair's two records in the order every page and the API show them: a registry record and a staged
    import row always as (the registry record, the row), however the pair was stored. The reviewer reads the
    registered person in one place and the newcomer in the other, pair after pair. Only the showing turns:
    the stored pair keeps its sides (its key and its decisions name them), and so does `pair_seen`.

    A pair is stored row first when an earlier run paired two staged rows and the right one has been written
    to the registry since (matching.services.runs keeps the pair under its first key), or when a client
    wrote it so."""
    left, right = pair_records(pair)
    return (right, left) if _turned(pair) else (left, right)


def _turned(pair: CandidatePair) -> bool:
    """Whether `pair_shown` shows the pair's sides the other way round from how they are stored."""
    left, right = pair_records(pair)
    return isinstance(left, StagingRecord) and isinstance(right, Citizen)


def death_not_recordable(pair: CandidatePair) -> FieldError | None:
    """Why the date of death a staged side carries would not be written to the citizen on the other side
    when the pair is confirmed (matching.services.decisions._flag_deceased leaves it out): not a date, in
    the future, or before the citizen's birth; None when it would be, or there is none to write."""
    sides = pair_records(pair)
    citizens = [side for side in sides if isinstance(side, Citizen)]
    rows = [side for side in sides if isinstance(side, StagingRecord)]
    if len(citizens) != 1 or citizens[0].is_deceased:
        return None
    for row in rows:
        text = staging_death_date(row)
        if not text:
            continue
        death, problems = parse_partial_date(text, field="date_of_death")
        if problems:
            return problems[0]
        issues = check_not_in_future(death, field="date_of_death", today=timezone.localdate())
        issues += check_death_after_birth(citizens[0].birth_date, death)
        return issues[0].as_field_error() if issues else None
    return None


def pair_deceased(pair: CandidatePair) -> bool:
    """Whether a side carries a date of death: confirming the pair marks the person deceased."""
    return any(
        (isinstance(side, Citizen) and side.is_deceased)
        or (isinstance(side, StagingRecord) and bool(staging_death_date(side)))
        for side in pair_records(pair)
    )


@dataclass
class QueuePage:
    pairs: list[CandidatePair]
    page: int
    page_size: int
    has_next: bool
    total: int
    deceased: set[int] = field(default_factory=set)
    # What the merge would say of each pending pair of two citizens, before any choice (merge_conflicts):
    # by pair id, the refusals and the choices it needs; a pair missing here needs nothing.
    conflicts: dict[int, list[FieldError]] = field(default_factory=dict)

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _merge_verdicts(pairs: list[CandidatePair], *, reader: User) -> dict[int, list[FieldError]]:
    """What the merge would say of each pending pair of two citizens, as its page says it (pair_get): the
    merge's own checks (registry.services.merge_conflicts), which write nothing, with the rows they read
    prefetched for the whole list at once (MERGE_PREFETCH), so that a page of pairs costs the same few
    queries whatever its length. A side merged away since costs its pair the lookup of the record it went
    into (the refusal names it when `reader` may read it)."""
    sides = []
    for pair in pairs:
        left, right = pair_records(pair)
        if (
            pair.status == CandidatePair.Status.PENDING
            and isinstance(left, Citizen)
            and isinstance(right, Citizen)
        ):
            sides.append((pair, left, right))
    prefetch_related_objects([c for _, left, right in sides for c in (left, right)], *MERGE_PREFETCH)
    verdicts = {}
    for pair, left, right in sides:
        kept, absorbed, _rule = merge_pin_rule(left, right)
        conflicts = merge_conflicts(keep=kept, absorb=absorbed, reader=reader)
        if conflicts:
            verdicts[pair.pk] = conflicts
    return verdicts


def pending_pair_count(actor: User) -> int | None:
    """How many pairs of the actor's area wait for a decision, for an officer who decides them; None for
    one who does not (a collector sees the pairs, it is not their work). A count, no record is read."""
    if actor.role not in DECIDER_ROLES:
        return None
    return _pending_pairs(actor).count()


# What a list shows: the pairs waiting (the queue, most certain first), or those decided (same, not the
# same, merged: most recently decided first, to find a decision and undo it).
QUEUE_VIEWS = ("pending", "decided")
_DECIDED = (CandidatePair.Status.SAME, CandidatePair.Status.DIFFERENT, CandidatePair.Status.MERGED)


# The pending pairs' order in the queue: most certain first.
PENDING_ORDER = ("-match_probability", "pk")


def _pending_pairs(actor: User) -> QuerySet[CandidatePair]:
    """The pairs of the actor's area that wait for a decision: the queue, its count and its next pair."""
    return visible_pairs(actor).filter(status=CandidatePair.Status.PENDING)


def pair_queue(
    *,
    actor: User,
    page: int = 1,
    page_size: int = 20,
    purpose: str,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
    view: str = "pending",
) -> QueuePage:
    """The pending pairs of the actor's area, most certain first, or (`view="decided"`) the decided ones,
    most recent first; the citizens shown are logged."""
    page = max(1, page)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    offset = (page - 1) * page_size
    if view == "decided":
        pending = visible_pairs(actor).filter(status__in=_DECIDED)
        order: tuple[str, ...] = ("-decided_at", "-pk")
    else:
        pending = _pending_pairs(actor)
        order = PENDING_ORDER
    rows = list(_with_sides(pending).order_by(*order)[offset : offset + page_size + 1])
    has_next = len(rows) > page_size
    rows = rows[:page_size]
    access_log_record(
        actor=actor,
        citizen_ids=_citizen_ids(rows),
        action=AccessLog.Action.SEARCH,
        channel=channel,
        purpose=purpose,
        detail="hàng đợi hồ sơ nghi trùng",
    )
    return QueuePage(
        pairs=rows,
        page=page,
        page_size=page_size,
        has_next=has_next,
        total=pending.count(),
        deceased={p.pk for p in rows if pair_deceased(p)},
        conflicts=_merge_verdicts(rows, reader=actor) if view == "pending" else {},
    )


def pair_queue_next(*, actor: User, after: CandidatePair) -> tuple[int | None, int]:
    """The id of the first pending pair of the actor's area other than `after`, in the queue's order (most
    certain first), and how many are pending besides it: the next pair to open without going back to the
    queue, as a form's page offers the next form. Ids and a count only, no record is read."""
    waiting = _pending_pairs(actor).exclude(pk=after.pk)
    following = waiting.order_by(*PENDING_ORDER).values_list("pk", flat=True).first()
    return following, waiting.count() if following is not None else 0


@dataclass(frozen=True)
class FieldRow:
    """One line of the side-by-side view."""

    name: str
    left: str
    right: str
    # The two addresses name one house, however each is written: the registry's residence ("Số 97, phố
    # Nguyễn Trãi, Phường Hoàn Kiếm") and a legacy book's line in the old units ("Số 97, phố Nguyễn Trãi,
    # Phường Cửa Đông, Quận Hoàn Kiếm, Thành phố Hà Nội").
    same_place: bool = False

    @property
    def differs(self) -> bool:
        if not (self.left and self.right) or self.same_place:
            return False
        if self.name in _PLACE_FIELDS:
            # A place of birth is named by a province's code on one side and by its name on the other
            # (the person-records CSV allows either): one province is one place, however it is written.
            left, right = (
                pin_codec.province_code_for_name(self.left),
                pin_codec.province_code_for_name(self.right),
            )
            if left and right:
                return left != right
        return self.left.casefold() != self.right.casefold()


@dataclass(frozen=True)
class Evidence:
    """One comparison the matcher made, with the share of the bar its weight fills."""

    field: str
    level: str
    weight: float
    left: str
    right: str
    share: int  # 0-100: |weight| relative to the largest |weight| of the pair

    @property
    def agreed(self) -> bool:
        """Whether the comparison counts for the same person. That is not always whether the two values
        agree: a level of agreement that strangers share as often as one person's records (one household,
        whose u is fixed high) may weigh a little against.

        Judged on the weight as the page shows it, to two decimals: a trained "different PIN" weighs
        +0.00001 (its m is 1.0, its u 0.99999), which read "0.00, leans to the same person"."""
        return round(self.weight, 2) > 0

    @property
    def against(self) -> bool:
        """Whether the comparison counts for two people, on the weight as shown (see `agreed`)."""
        return round(self.weight, 2) < 0


@dataclass
class PairDetail:
    pair: CandidatePair
    rows: list[FieldRow]
    evidence: list[Evidence]
    history: list[AuditEvent]
    merge: CitizenMerge | None
    deceased: bool
    # The two records in the order the page shows them (pair_shown): `rows` and `evidence` follow it.
    left: Side
    right: Side
    # For two citizens: which one stays (the PIN rule), and what needs the officer's choice.
    kept: Citizen | None = None
    absorbed: Citizen | None = None
    pin_rule: str = ""
    conflicts: list[FieldError] = field(default_factory=list)
    can_decide: bool = False
    # Why a date of death on the staged side would not be recorded on confirming (death_not_recordable).
    death_refused: FieldError | None = None
    # The records as this read shows them (decisions.pair_seen), handed back with the decision so that a
    # decision on records changed since is refused.
    seen: str = ""

    @property
    def prior_weight(self) -> float | None:
        """Where the matcher starts before any field is compared (the log2 odds that two records taken at
        random are one person): the pair's weight is this plus every field's weight."""
        if not self.evidence:
            return None
        return self.pair.match_weight - sum(e.weight for e in self.evidence)


# The places a province names; the rows compare them by province (FieldRow.differs).
_PLACE_FIELDS = frozenset({"birth_place", "native_place"})

_FIELDS = (
    "full_name",
    "birth_date",
    "sex",
    "pin",
    "old_id_number",
    "birth_place",
    "native_place",
    "address",
    "father_name",
    "mother_name",
    "phone",
    "death_date",
)


def _citizen_values(citizen: Citizen) -> dict[str, str]:
    def text(value: Any) -> str:
        if value is None:
            return ""
        return str(value.to_storage() if hasattr(value, "to_storage") else value)

    values = {name: text(getattr(citizen, name, "")) for name in _FIELDS if hasattr(citizen, name)}
    # The sex as a person reads it, as the registry's own pages show it ("Nam", "Nữ"), not its code.
    values["sex"] = _sex_label(citizen.sex)
    values["death_date"] = text(citizen.date_of_death)
    permanent = (
        citizen.residences.filter(ended_on__isnull=True)
        .select_related("commune")
        .order_by("kind")  # "current" < "permanent" < "temporary": the permanent one wins below
    )
    by_kind = {r.kind: r for r in permanent}
    chosen = by_kind.get("permanent") or by_kind.get("temporary") or by_kind.get("current")
    values["address"] = f"{chosen.address_detail}, {chosen.commune.name}" if chosen else ""
    for link in citizen.family_links.filter(kind__in=["father", "mother"]):
        values[f"{link.kind}_name"] = link.relative_name
    return values


def _sex_label(code: str) -> str:
    return str(dict(Sex.choices).get(code, code)) if code else ""


def _staged_place(row: StagingRecord) -> str:
    """The place of birth as the row wrote it, where the import kept its province's code beside the text
    (normalized birth_place "001", birth_place_text "Hà Nội"); a code written as the text is named."""
    text = staging_value(row, "birth_place_text") or staging_value(row, "birth_place")
    code = pin_codec.province_code_for_name(text) if text.strip().isdigit() else None
    return (pin_codec.place_name(code) or text) if code else text


def _staging_values(row: StagingRecord) -> dict[str, str]:
    values = {name: staging_value(row, name) for name in _FIELDS}
    values["sex"] = _sex_label(values["sex"])
    values["birth_place"] = _staged_place(row)
    values["pin"] = staging_value(row, "pin") or staging_value(row, "id_number")
    values["death_date"] = staging_death_date(row)
    return values


def _place(side: Citizen | StagingRecord) -> tuple[int, str] | None:
    """The 2025 commune and the folded detail of the address a side shows (the citizen's residence as in
    `_citizen_values`, the row's address read by the address parser), as the matcher compares places."""
    if isinstance(side, Citizen):
        residences = {r.kind: r for r in side.residences.filter(ended_on__isnull=True).order_by("kind")}
        chosen = residences.get("permanent") or residences.get("temporary") or residences.get("current")
        return (chosen.commune_id, canonical_detail(chosen.address_detail)) if chosen else None
    parsed = parse_address(staging_value(side, "address"))
    if parsed is None or parsed.commune is None:
        return None
    return parsed.commune.pk, canonical_detail(parsed.detail)


def _same_place(left: Citizen | StagingRecord, right: Citizen | StagingRecord) -> bool:
    first, second = _place(left), _place(right)
    return first is not None and first == second and bool(first[1])


def _values(side: Citizen | StagingRecord) -> dict[str, str]:
    return _citizen_values(side) if isinstance(side, Citizen) else _staging_values(side)


def _evidence(comparisons: Any, *, turned: bool = False) -> list[Evidence]:
    """The matcher's comparisons, each value on the side of the record it was read from: the matcher stores
    them in the pair's stored order, which `pair_shown` may turn (`turned`)."""
    items = [c for c in comparisons if isinstance(c, dict)] if isinstance(comparisons, list) else []
    largest = max((abs(float(c.get("weight") or 0)) for c in items), default=0.0) or 1.0
    first, second = ("right", "left") if turned else ("left", "right")
    return [
        Evidence(
            field=str(c.get("field", "")),
            level=str(c.get("level", "")),
            weight=float(c.get("weight") or 0),
            left=str(c.get(first) if c.get(first) is not None else ""),
            right=str(c.get(second) if c.get(second) is not None else ""),
            share=round(abs(float(c.get("weight") or 0)) / largest * 100),
        )
        for c in items
    ]


def pair_get(
    *, actor: User, pk: int, purpose: str, channel: AccessLog.Channel = AccessLog.Channel.WEB
) -> PairDetail:
    """A pair side by side with the evidence, its decisions and the merge it led to; both citizens logged."""
    pair = _with_sides(visible_pairs(actor)).filter(pk=pk).first()
    if pair is None:
        raise NotFoundError("pair")
    access_log_record(
        actor=actor,
        citizen_ids=_citizen_ids([pair]),
        action=AccessLog.Action.VIEW,
        channel=channel,
        purpose=purpose,
        detail=f"cặp hồ sơ nghi trùng {pair.pk}",
    )
    left, right = pair_shown(pair)
    left_values, right_values = _values(left), _values(right)
    rows = [
        FieldRow(
            name=name,
            left=left_values.get(name, ""),
            right=right_values.get(name, ""),
            same_place=name == "address" and _same_place(left, right),
        )
        for name in _FIELDS
        if left_values.get(name) or right_values.get(name)
    ]
    history = list(
        AuditEvent.objects.filter(subject_type="candidate_pair", subject_id=str(pair.pk))
        .select_related("actor")
        .order_by("occurred_at", "pk")
    )
    detail = PairDetail(
        pair=pair,
        rows=rows,
        evidence=_evidence(pair.comparisons, turned=_turned(pair)),
        left=left,
        right=right,
        history=history,
        merge=CitizenMerge.objects.filter(origin=pair_origin(pair)).order_by("-merged_at").first(),
        deceased=pair_deceased(pair),
        can_decide=actor.role in DECIDER_ROLES,
        death_refused=death_not_recordable(pair),
        seen=pair_seen(pair),
    )
    if isinstance(left, Citizen) and isinstance(right, Citizen):
        kept, absorbed, pin_rule = merge_pin_rule(left, right)
        if left.merged_into_id is None and right.merged_into_id is None:
            # Which record a merge would keep, said only of two records that can still be merged: a
            # side merged away since is no record to keep (the conflicts below say where it went).
            detail.kept, detail.absorbed, detail.pin_rule = kept, absorbed, pin_rule
        if pair.status == CandidatePair.Status.PENDING:
            detail.conflicts = merge_conflicts(keep=kept, absorb=absorbed, reader=actor)
            # A side merged away since is refused naming the record it went into, when the officer may
            # read that record: the page shows its PIN, so the read is logged.
            named = [
                citizen_final_record(side).pk for side in (left, right) if side.merged_into_id is not None
            ]
            named = list(
                Citizen.objects.filter(citizen_scope(actor), pk__in=named).values_list("pk", flat=True)
            )
            access_log_record(
                actor=actor,
                citizen_ids=named,
                action=AccessLog.Action.VIEW,
                channel=channel,
                purpose=purpose,
                detail=f"cặp hồ sơ nghi trùng {pair.pk}: hồ sơ được hợp nhất vào",
            )
    return detail


def staging_rows_settled_as_duplicates() -> QuerySet[CandidatePair]:
    """Pairs that took a staged row out of the import review: confirmed the same as a registry citizen.
    The import review leaves out the staged rows of these pairs (they are duplicates, not new people)."""
    return CandidatePair.objects.filter(status=CandidatePair.Status.SAME).filter(
        Q(left_citizen__isnull=False, right_staging__isnull=False)
        | Q(left_staging__isnull=False, right_citizen__isnull=False)
    )
