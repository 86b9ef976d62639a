"""An officer's or the policy's verdict on a candidate pair, and what it leads to.

"Same person" on two citizens merges them (registry.services.citizen_merge, which keeps the record whose
PIN must stay); on a citizen and a staged legacy row it links the row to the citizen, records what the
row says differently and takes the row out of the import review as a duplicate; on two staged rows it
marks them as one person. "Not the same person" is kept under the pair's key, so the matcher never
proposes the pair again. A staged row that carries a date of death flags the citizen deceased through
the registry's own update service ("sống": deaths reach the record).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.collection import workflow
from dancu.collection.models import CollectionForm, StagingRecord
from dancu.collection.quality.services import quality_pair_refresh_on_commit
from dancu.lib.errors import DomainError, FieldError, NotFoundError
from dancu.lib.partial_date import PartialDate
from dancu.lib.vntext import fold, nfc, text_errors
from dancu.matching.models import CandidatePair, MatchRun
from dancu.matching.scope import visible_pairs
from dancu.registry import services as registry
from dancu.registry.models import Citizen, CitizenMerge
from dancu.registry.validation import error

# Deciding is a reviewer's work: the commune reviewer and the supervisors above; collectors find the
# records and auditors read the trail, neither settles who is who. The same roles as a merge, since
# "same person" on two citizens is a merge.
DECIDER_ROLES = registry.MERGE_ROLES

Side = Citizen | StagingRecord


def pair_sides(pair: CandidatePair) -> tuple[Side, Side]:
    left = pair.left_citizen or pair.left_staging
    right = pair.right_citizen or pair.right_staging
    # The pair's check constraints set exactly one reference on each side.
    assert left is not None
    assert right is not None
    return left, right


def side_record(side: Side) -> Side:
    """What a side stands for now: a staged row already written to the registry (auto-approved, or its
    form applied) is that citizen, and is read, scoped, logged and decided as the citizen."""
    if isinstance(side, StagingRecord) and side.citizen_id is not None:
        assert side.citizen is not None
        return side.citizen
    return side


def pair_records(pair: CandidatePair) -> tuple[Side, Side]:
    left, right = pair_sides(pair)
    return side_record(left), side_record(right)


def pair_seen(pair: CandidatePair) -> str:
    """The records of a pair as an officer sees them, as a token the page and the API hand back with the
    decision ("c:12@3|s:40@5f0c2a9e1b7d"): each citizen by its version, each staged row by what it says.

    A decision is made on what the page showed. A record corrected since (another officer's edit, a
    residence moved, a staged row written to the registry, which turns a link into a merge) makes the
    officer's comparison stale, and the decision is refused (`pair.changed_since`) rather than taken on
    records the officer never saw."""
    parts = []
    for side in pair_records(pair):
        if isinstance(side, Citizen):
            parts.append(f"c:{side.pk}@{side.version}")
        else:
            said = json.dumps([side.status, side.normalized, side.raw], sort_keys=True, default=str)
            parts.append(f"s:{side.pk}@{hashlib.sha256(said.encode()).hexdigest()[:12]}")
    return "|".join(parts)


def pair_citizen_ids(pair: CandidatePair) -> list[int]:
    """The citizens a pair shows: its citizen sides, and the citizens its staged rows became."""
    ids = [
        pk
        for pk in (
            pair.left_citizen_id,
            pair.right_citizen_id,
            pair.left_staging.citizen_id if pair.left_staging is not None else None,
            pair.right_staging.citizen_id if pair.right_staging is not None else None,
        )
        if pk is not None
    ]
    return list(dict.fromkeys(ids))


def pair_origin(pair: CandidatePair) -> str:
    """How a merge names the pair that asked for it (registry.CitizenMerge.origin)."""
    return f"matching.pair:{pair.pk}"


def staging_death_date(row: StagingRecord) -> str:
    """The date of death a staged row carries (normalized first, else as read), or ""."""
    for source in (row.normalized, row.raw):
        value = source.get("death_date") if isinstance(source, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def staging_value(row: StagingRecord, name: str) -> str:
    value = row.normalized.get(name) if isinstance(row.normalized, dict) else None
    if value in (None, "") and isinstance(row.raw, dict):
        value = row.raw.get(name)
    return "" if value is None else str(value)


# What a staged row says, next to the registry field it corresponds to.
_ROW_FIELDS = (
    ("full_name", "full_name"),
    ("birth_date", "birth_date"),
    ("sex", "sex"),
    ("pin", "pin"),
    ("old_id_number", "old_id_number"),
    ("address", None),
    ("father_name", None),
    ("mother_name", None),
    ("death_date", "date_of_death"),
)


def _registry_elsewhere(citizen: Citizen) -> dict[str, str]:
    """What the registry holds outside the citizen's row for the row's address and parents: the current
    permanent residence as an address reads ("Số 14, ngõ 276, phố Láng, Phường Hoàn Kiếm, Thành phố Hà
    Nội"), the father's and mother's names of the family links."""
    values = {"address": "", "father_name": "", "mother_name": ""}
    residence = (
        citizen.residences.filter(ended_on__isnull=True, kind="permanent").select_related("commune").first()
    )
    if residence is not None:
        values["address"] = ", ".join(
            part for part in (residence.address_detail, residence.commune.full_name()) if part
        )
    for link in citizen.family_links.filter(kind__in=["father", "mother"]):
        values[f"{link.kind}_name"] = link.relative_name
    return values


def _row_differences(row: StagingRecord, citizen: Citizen) -> dict[str, dict[str, str]]:
    """What the staged row says that the registry does not: recorded with the link, never written over
    the registry (the registry's values come from checked documents; the row is a legacy copy)."""
    differences = {}
    elsewhere = _registry_elsewhere(citizen)
    for row_name, citizen_name in _ROW_FIELDS:
        ours = staging_value(row, row_name)
        if row_name == "death_date":
            ours = staging_death_date(row)
        if not ours:
            continue
        theirs_value = getattr(citizen, citizen_name) if citizen_name else elsewhere[row_name]
        if isinstance(theirs_value, PartialDate):
            theirs_value = theirs_value.to_storage()
        theirs = "" if theirs_value is None else str(theirs_value)
        if fold(ours) != fold(theirs):
            differences[row_name] = {"row": ours, "registry": theirs}
    return differences


# The longest reason a decision or its undo keeps, and the fields' names as the pair page shows them, for
# the refusals of lib.vntext.text_errors ("Trường «Lý do»", not the form's "reason").
REASON_MAX_LENGTH = 1000
REASON_LABEL = ("Lý do", "Reason")
SOURCE_DOCUMENT_LABEL = ("Giấy tờ làm căn cứ", "Supporting document")


def _one_line(text: str) -> str:
    """A reason written on several lines (the page's box is a text area, where Enter starts a new line) as
    one line, its lines joined by a space: the registry's texts are single lines (lib.vntext.text_errors),
    and a decision is not refused for a line break. Tabs and other invisible characters are still refused.
    """
    if "\n" not in text and "\r" not in text:
        return text
    return " ".join(line.strip() for line in re.split(r"[\r\n]+", text) if line.strip())


def _check_reason(reason: str) -> list[FieldError]:
    errors = []
    if not reason.strip():
        errors.append(
            error(
                "reason",
                "reason.required",
                "Cần ghi lý do quyết định",
                "A reason for the decision is required",
            )
        )
    return errors + text_errors(
        reason, field="reason", max_length=REASON_MAX_LENGTH, prose=True, label=REASON_LABEL
    )


def choices_without_merge() -> FieldError:
    """The refusal of merge choices sent with "not the same person", which merges nothing: a client that
    sends them mixed up its answer or its body. (The pair's page asks the choices beside the answer, and
    leaves out a choice picked before the officer answered "not the same person" after all.)"""
    return error(
        "choices",
        "merge.choices_not_applicable",
        "Lựa chọn hợp nhất chỉ dùng khi quyết định là cùng một người; quyết định «không phải cùng một người» "
        "không hợp nhất gì: bỏ trường choices",
        "Merge choices apply only to a “same person” decision; “not the same person” merges nothing: "
        "leave out choices",
    )


def _check_actor(actor: Actor, pair: CandidatePair) -> None:
    user = actor.user
    if user is None:
        return
    # Officers of another area never see the pair: the same answer as a pair that does not exist. The
    # rule is the reads' own (matching.scope): every record of the pair in the officer's area.
    if not visible_pairs(user).filter(pk=pair.pk).exists():
        raise NotFoundError("pair")
    if user.role not in DECIDER_ROLES:
        raise DomainError(
            error(
                "actor",
                "role.not_allowed",
                "Chỉ cán bộ kiểm tra cấp xã hoặc cán bộ phúc tra được quyết định về hồ sơ trùng",
                "Only commune reviewers and supervisors may decide on duplicate records",
            )
        )


def _flag_deceased(
    *, actor: Actor, citizen: Citizen, rows: list[StagingRecord], reason: str
) -> dict[str, Any] | None:
    """Record the date of death a confirmed staged row carries on a citizen not yet marked deceased.

    A legacy book's date the registry cannot take (not a date, before the birth, in the future) is not
    written: the registry never takes a value it cannot read. The decision stands, the citizen stays
    alive, and the decision's event says which date was left out and why (`not_recorded`)."""
    if citizen.date_of_death is not None:
        return None
    for row in rows:
        death = staging_death_date(row)
        if not death:
            continue
        source = f"{row.run.source}, dòng {row.file_row} ({row.run.file_name})"[:200]
        try:
            registry.citizen_update(
                actor=actor,
                citizen=citizen,
                changes={"date_of_death": death},
                reason=f"Nguồn dữ liệu cũ ghi ngày mất (date of death in a legacy source): {reason}"[:1000],
                source_document=source,
            )
        except DomainError as exc:
            return {"date_of_death": death, "source": source, "not_recorded": [e.code for e in exc.errors]}
        return {"date_of_death": death, "source": source}
    return None


def _lock_rows(pair: CandidatePair) -> None:
    """Lock the pair's staged rows, each after its form, in the order form_apply takes them (the form,
    then the row it writes back to): a form applied at this moment either wrote its citizen first, and
    the row is read as that citizen, or waits and finds the row settled."""
    ids = [pk for pk in (pair.left_staging_id, pair.right_staging_id) if pk is not None]
    if not ids:
        return
    list(CollectionForm.objects.select_for_update().filter(staging_record_id__in=ids).order_by("pk"))
    list(StagingRecord.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    for row in (pair.left_staging, pair.right_staging):
        if row is not None:
            row.refresh_from_db()
            row.citizen = None if row.citizen_id is None else Citizen.objects.get(pk=row.citizen_id)


_FORM_PROGRESS: dict[str, int] = {
    CollectionForm.Status.RECHECKED: 3,
    CollectionForm.Status.CHECKED: 2,
    CollectionForm.Status.SUBMITTED: 1,
}


def _row_that_stays(first: StagingRecord, second: StagingRecord) -> tuple[StagingRecord, StagingRecord]:
    """Of two rows of one person, (the row that stays, the duplicate): the one further along its review,
    else the one staged first. A rejected row has already left the review and never stays."""

    def progress(row: StagingRecord) -> tuple[int, int, int]:
        form = CollectionForm.objects.filter(staging_record=row).values_list("status", flat=True).first()
        alive = row.status != StagingRecord.Status.REJECTED
        return (int(alive), _FORM_PROGRESS.get(form or "", 0), -row.pk)

    ordered = sorted((first, second), key=progress, reverse=True)
    return ordered[0], ordered[1]


# A decided pair's answer, as the refusal of a second decision says it.
_DECIDED_AS: dict[str, tuple[str, str]] = {
    CandidatePair.Status.SAME: ("«Cùng một người»", "“same person”"),
    CandidatePair.Status.DIFFERENT: ("«Không phải cùng một người»", "“not the same person”"),
    CandidatePair.Status.MERGED: ("«Cùng một người» (đã hợp nhất)", "“same person” (merged)"),
}


def already_decided(pair: CandidatePair) -> FieldError:
    """The refusal of a decision on a pair decided first by someone else: what was decided, by whom and
    when, so that the second officer can ask the first one or read the pair's history. The pair is one the
    officer may see (the caller checked), so its decider, a colleague of the area, may be named; nothing of
    the citizens is said. The time is the officer's own clock (Vietnam's, the project's TIME_ZONE), day
    first, as the pair's history writes it."""
    answer_vi, answer_en = _DECIDED_AS.get(pair.status, ("", ""))
    when = timezone.localtime(pair.decided_at).strftime("%d/%m/%Y %H:%M") if pair.decided_at else ""
    decider = pair.decided_by
    if decider is None:
        who_vi, who_en = "tự động (hợp nhất tự động)", "automatically (auto-merge)"
    else:
        who_vi = who_en = f"{decider.display_name()} ({decider.username})"
    by_vi = f"bởi {who_vi}" if decider is not None else who_vi
    by_en = f"by {who_en}" if decider is not None else who_en
    return error(
        "pair",
        "pair.already_decided",
        f"Cặp hồ sơ này đã được quyết định {answer_vi} {by_vi} lúc {when}: xem lịch sử quyết định của cặp, "
        "hoặc trao đổi với người đã quyết định; muốn đổi thì huỷ quyết định đó trước",
        f"This pair was already decided as {answer_en} {by_en} at {when}: see the pair's decision history, "
        "or talk to whoever decided it; to change it, undo that decision first",
    )


def _repeated(actor: Actor, pair: CandidatePair, *, same: bool, reason: str) -> bool:
    """Whether the pair's decision is this officer's, with this answer and this reason."""
    return (
        actor.user is not None
        and pair.decided_by_id == actor.user.pk
        and (pair.status != CandidatePair.Status.DIFFERENT) == same
        and pair.decision_reason == reason
    )


def _decide(
    *,
    actor: Actor,
    pair: CandidatePair,
    same: bool,
    reason: str,
    choices: dict[str, str],
    source_document: str,
    automatic: bool,
    seen: str | None = None,
) -> CandidatePair:
    with transaction.atomic():
        pair = CandidatePair.objects.select_for_update().select_related("run", "unit").get(pk=pair.pk)
        _check_actor(actor, pair)
        if pair.status == CandidatePair.Status.WITHDRAWN:
            raise DomainError(
                error(
                    "pair",
                    "pair.withdrawn",
                    "Cặp hồ sơ này không còn được đề xuất: lần chạy sau không còn thấy hai hồ sơ nghi trùng",
                    "This pair is no longer proposed: a later run no longer found the two records alike",
                )
            )
        if pair.status != CandidatePair.Status.PENDING and _repeated(actor, pair, same=same, reason=reason):
            # The officer's own decision sent twice (a double click, a resend after a slow answer): the
            # second is answered as the first was, and nothing is written again.
            return pair
        if pair.status != CandidatePair.Status.PENDING:
            raise DomainError(already_decided(pair))
        _lock_rows(pair)
        if seen is not None and seen != pair_seen(pair):
            raise DomainError(
                error(
                    "seen",
                    "pair.changed_since",
                    "Hồ sơ trong cặp đã thay đổi từ khi trang được mở: xem lại hai hồ sơ rồi quyết định lại",
                    "A record of the pair changed since the page was opened: review the two records again, "
                    "then decide",
                )
            )
        left, right = pair_records(pair)
        merging = same and isinstance(left, Citizen) and isinstance(right, Citizen) and left.pk != right.pk
        if not merging:
            # A merge reassesses its two records itself once it commits (registry.citizen_merge); doing
            # it here as well would reassess them twice.
            quality_pair_refresh_on_commit(pair=pair)
        if same and choices and (isinstance(left, StagingRecord) or isinstance(right, StagingRecord)):
            # A staged row is settled as a duplicate, never merged: nothing of it is written over the
            # registry, so there is nothing to choose. A choice sent anyway is the client's mistake (or a
            # merge it thinks it asked for), and is refused rather than silently dropped.
            raise DomainError(
                error(
                    "choices",
                    "merge.choices_not_applicable",
                    "Lựa chọn hợp nhất chỉ dùng cho cặp hai hồ sơ trong CSDL; cặp có bản ghi nhập chưa duyệt "
                    "không hợp nhất gì (bản ghi được đánh dấu trùng, không ghi đè CSDL): bỏ trường choices",
                    "Merge choices apply only to a pair of two registry records; a pair with a staged row "
                    "merges nothing (the row is marked a duplicate and never written over the registry): "
                    "leave out choices",
                )
            )
        data: dict[str, Any] = {"same": same, "automatic": automatic, "pair_key": pair.pair_key}
        if not same:
            pair.status = CandidatePair.Status.DIFFERENT
        elif isinstance(left, Citizen) and isinstance(right, Citizen) and left.pk == right.pk:
            # Both sides are one record already (two rows, one of them written as the other's citizen).
            pair.status = CandidatePair.Status.SAME
            data |= {"citizen_id": left.pk}
        elif isinstance(left, Citizen) and isinstance(right, Citizen):
            keep, absorb, rule = registry.merge_pin_rule(left, right)
            merge = registry.citizen_merge(
                actor=actor,
                keep=keep,
                absorb=absorb,
                reason=reason,
                source_document=source_document,
                choices=choices,
                origin=pair_origin(pair),
            )
            pair.status = CandidatePair.Status.MERGED
            data |= {"merge_id": merge.pk, "kept_id": keep.pk, "absorbed_id": absorb.pk, "pin_rule": rule}
        elif isinstance(left, Citizen) or isinstance(right, Citizen):
            citizen = left if isinstance(left, Citizen) else right
            row = right if isinstance(left, Citizen) else left
            assert isinstance(citizen, Citizen)
            assert isinstance(row, StagingRecord)
            # The row is settled as this citizen's: like any write about a citizen, it takes the record's
            # lock, and a record merged away meanwhile is refused with the record it went into.
            registry.citizen_lock(citizen, reader=actor.user)
            pair.status = CandidatePair.Status.SAME
            data |= {
                "citizen_id": citizen.pk,
                "staging_id": row.pk,
                "row_says": _row_differences(row, citizen),
            }
            # The person is in the registry: the row leaves the import review, and its form (if any) is
            # closed, so that applying it never writes the person a second record.
            settled = workflow.staging_settle_as_duplicate(
                actor=actor, record=row, pair_id=pair.pk, reason=reason
            )
            if settled:
                data["settled"] = settled
            deceased = _flag_deceased(actor=actor, citizen=citizen, rows=[row], reason=reason)
            if deceased:
                data["deceased"] = deceased
        else:
            assert isinstance(left, StagingRecord)
            assert isinstance(right, StagingRecord)
            pair.status = CandidatePair.Status.SAME
            stays, duplicate = _row_that_stays(left, right)
            data |= {"staging_ids": sorted(side.pk for side in (left, right)), "stays": stays.pk}
            # One person, one record: the row further along stays in the review, the other leaves it.
            settled = workflow.staging_settle_as_duplicate(
                actor=actor, record=duplicate, pair_id=pair.pk, reason=reason
            )
            if settled:
                data["settled"] = settled
        pair.decided_by = actor.user
        pair.decided_at = timezone.now()
        pair.decision_reason = reason
        pair.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        audit_event_record(
            actor=actor,
            event_type=EventType.PAIR_DECIDED,
            subject_type="candidate_pair",
            subject_id=pair.pk,
            data=data,
            reason=reason,
            source_document=source_document,
            unit=pair.unit,
        )
    return pair


def candidate_pair_decide(
    *,
    actor: Actor,
    pair: CandidatePair,
    same: bool | None,
    reason: str,
    choices: dict[str, str] | None = None,
    source_document: str = "",
    seen: str | None = None,
) -> CandidatePair:
    """Settle a pending pair: "same person" (`same=True`) or "not the same person". `same=None` (a form
    sent without an answer) is refused, with every other broken rule at once. `choices` settle the
    conflicts a merge of two citizens cannot settle alone (registry.services.MERGE_CHOICES); sent with "not
    the same person" they are refused (choices_without_merge). `seen` is the pair's records as the
    officer read them (`pair_seen`); a decision sent on records changed since is refused. Without it (an
    API client that does not send it) the records are taken as they are."""
    reason = _one_line(reason)
    errors = []
    if same is None:
        errors.append(
            FieldError(
                "decision",
                "decision.required",
                "Chọn “cùng một người” hoặc “không phải cùng một người”",
                "Choose “same person” or “not the same person”",
            )
        )
    if same is False and choices:
        errors.append(choices_without_merge())
    errors += _check_reason(reason)
    errors += text_errors(
        source_document, field="source_document", max_length=200, label=SOURCE_DOCUMENT_LABEL
    )
    if actor.user is None:
        errors.append(
            error(
                "actor",
                "role.not_allowed",
                "Quyết định tự động chỉ qua hợp nhất tự động",
                "Automatic decisions go through the auto-merge",
            )
        )
    if errors or same is None:
        _check_actor(actor, pair)  # a pair outside the area answers "not found" before any other error
        raise DomainError(errors)
    return _decide(
        actor=actor,
        pair=pair,
        same=same,
        # Stored in the composed form, as every text of the registry: a reason typed in decomposed
        # Unicode reads the same and must compare and search the same.
        reason=nfc(reason.strip()),
        choices=dict(choices or {}),
        source_document=source_document.strip(),
        automatic=False,
        seen=seen,
    )


def _undo_repeated(actor: Actor, pair: CandidatePair, *, reason: str) -> bool:
    """Whether the pair's last event is this officer's undo, with this reason."""
    last = (
        AuditEvent.objects.filter(subject_type="candidate_pair", subject_id=str(pair.pk))
        .order_by("-occurred_at", "-pk")
        .first()
    )
    return (
        actor.user is not None
        and last is not None
        and last.event_type == EventType.PAIR_DECISION_UNDONE
        and last.actor_id == actor.user.pk
        and last.reason == reason
    )


def candidate_pair_undo(*, actor: Actor, pair: CandidatePair, reason: str) -> CandidatePair:
    """Take a decision back: the pair waits again. A merge it led to is undone (which is refused when the
    kept record changed since in a way the undo would overwrite); a date of death recorded from a staged
    row stays, being a fact of its source, and is corrected like any other field."""
    reason = _one_line(reason)
    errors = _check_reason(reason)
    if errors:
        _check_actor(actor, pair)
        raise DomainError(errors)
    # Stored composed and trimmed, as the decision's reason is: the same words compare and search the same.
    reason = nfc(reason.strip())
    with transaction.atomic():
        pair = CandidatePair.objects.select_for_update().select_related("unit").get(pk=pair.pk)
        _check_actor(actor, pair)
        if pair.status == CandidatePair.Status.PENDING and _undo_repeated(actor, pair, reason=reason):
            # The officer's own undo sent twice (a double click, a resend after a slow answer): the second
            # is answered as the first was, and nothing is written again.
            return pair
        # A withdrawn pair was taken out of the queue by a run, not decided by anyone: there is no
        # decision to take back.
        if pair.status in (CandidatePair.Status.PENDING, CandidatePair.Status.WITHDRAWN):
            raise DomainError(
                error(
                    "pair", "pair.not_decided", "Cặp hồ sơ chưa được quyết định", "This pair is not decided"
                )
            )
        previous = pair.status
        data: dict[str, Any] = {"previous_status": previous, "pair_key": pair.pair_key}
        merge = None
        if previous == CandidatePair.Status.MERGED:
            merge = CitizenMerge.objects.filter(origin=pair_origin(pair), undone_at__isnull=True).first()
        if merge is not None:
            # The undo reassesses the two records itself once it commits (registry.citizen_merge_undo).
            registry.citizen_merge_undo(actor=actor, merge=merge, reason=reason)
            data["merge_id"] = merge.pk
        else:
            quality_pair_refresh_on_commit(pair=pair)
        decided = (
            AuditEvent.objects.filter(
                event_type=EventType.PAIR_DECIDED, subject_type="candidate_pair", subject_id=str(pair.pk)
            )
            .order_by("-occurred_at", "-pk")
            .first()
        )
        settled = decided.data.get("settled") if decided is not None else None
        if previous == CandidatePair.Status.SAME and settled:
            # The row the decision took out of the import review goes back to it, its form with it.
            workflow.staging_settle_undo(actor=actor, settled=settled, reason=reason)
            data["restored_staging_id"] = settled["staging_id"]
        pair.status = CandidatePair.Status.PENDING
        pair.decided_by = None
        pair.decided_at = None
        pair.decision_reason = ""
        pair.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        audit_event_record(
            actor=actor,
            event_type=EventType.PAIR_DECISION_UNDONE,
            subject_type="candidate_pair",
            subject_id=pair.pk,
            data=data,
            reason=reason,
            unit=pair.unit,
        )
    return pair


@dataclass
class AutoMergeResult:
    threshold: float | None
    decided: list[int] = field(default_factory=list)
    # Pairs above the threshold that still wait for an officer, with the rules that stopped them.
    waiting: dict[int, list[str]] = field(default_factory=dict)


def candidate_pairs_auto_merge(*, actor: Actor, run: MatchRun) -> AutoMergeResult:
    """Merge the run's pending pairs at or above its auto-merge threshold, most certain first.

    Off when the run has no threshold (settings.DANCU_MATCH_AUTO_MERGE unset, the default). A pair whose
    merge needs an officer's choice, or is refused, waits in the queue like the others; each pair is
    decided in its own transaction, so one refusal does not undo the others.
    """
    result = AutoMergeResult(threshold=run.auto_merge_threshold)
    if run.auto_merge_threshold is None:
        return result
    pending = CandidatePair.objects.filter(
        run=run, status=CandidatePair.Status.PENDING, match_probability__gte=run.auto_merge_threshold
    ).order_by("-match_probability", "pk")
    threshold = run.auto_merge_threshold
    reason = (
        f"Tự động: xác suất trùng từ {threshold} trở lên (automatic: match probability {threshold} or more)"
    )
    for pair in pending:
        try:
            _decide(
                actor=actor,
                pair=pair,
                same=True,
                reason=reason,
                choices={},
                source_document=f"match run {run.pk}",
                automatic=True,
            )
        except DomainError as exc:
            result.waiting[pair.pk] = [e.code for e in exc.errors]
        except NotFoundError:
            result.waiting[pair.pk] = ["not_found"]
        else:
            result.decided.append(pair.pk)
    return result
