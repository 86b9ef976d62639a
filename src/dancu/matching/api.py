"""Review queue endpoints: thin handlers over the same selectors and decision services as the pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_noop
from ninja import Query, Router

from dancu.accounts.models import User
from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.collection.models import StagingRecord
from dancu.lib.errors import FieldError
from dancu.matching import selectors
from dancu.matching.models import CandidatePair
from dancu.matching.schemas import DecisionIn, PairOut, QueueOut, QueueParams, UndoIn
from dancu.matching.services import decisions
from dancu.registry.models import Citizen

router = Router(tags=["matching"])
API = AccessLog.Channel.API
PURPOSE = gettext_noop("API: kiểm tra hồ sơ nghi trùng")


def _actor(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _side(side: Citizen | StagingRecord) -> dict[str, Any]:
    if isinstance(side, Citizen):
        return {
            "kind": "citizen",
            "id": side.pk,
            "full_name": side.full_name,
            "pin": side.pin,
            "source": None,
        }
    name = side.normalized.get("full_name") or side.raw.get("full_name") or ""
    return {
        "kind": "staging",
        "id": side.pk,
        "full_name": str(name),
        "pin": None,
        # The row as whoever opens the file finds it, as the review page and the rejected rows cite it.
        "source": f"{side.run.source}, dòng {side.file_row}",
    }


def _summary(pair: CandidatePair, *, deceased: bool, conflicts: list[FieldError]) -> dict[str, Any]:
    left, right = selectors.pair_shown(pair)
    return {
        "id": pair.pk,
        "match_probability": pair.match_probability,
        "match_weight": pair.match_weight,
        "status": pair.status,
        "commune_code": pair.unit.code,
        "left": _side(left),
        "right": _side(right),
        "deceased": deceased,
        "conflicts": [c.as_dict() for c in conflicts],
    }


def _detail(request: HttpRequest, pair_id: int) -> dict[str, Any]:
    detail = selectors.pair_get(actor=_actor(request), pk=pair_id, purpose=PURPOSE, channel=API)
    pair = detail.pair
    return _summary(pair, deceased=detail.deceased, conflicts=detail.conflicts) | {
        "rows": [
            {"field": r.name, "left": r.left, "right": r.right, "differs": r.differs} for r in detail.rows
        ],
        "evidence": [
            {"field": e.field, "level": e.level, "weight": e.weight, "left": e.left, "right": e.right}
            for e in detail.evidence
        ],
        "kept_pin": detail.kept.pin if detail.kept else None,
        "pin_rule": detail.pin_rule,
        "decided_by": pair.decided_by.username if pair.decided_by else None,
        "decided_at": pair.decided_at,
        "decision_reason": pair.decision_reason,
        "merge_id": detail.merge.pk if detail.merge else None,
        "seen": detail.seen,
        "history": [
            {
                "at": e.occurred_at,
                "actor": e.actor_label,
                "event_type": e.event_type,
                "reason": e.reason,
                "data": e.data,
            }
            for e in detail.history
        ],
    }


@router.get(
    "/matching/pairs",
    response=QueueOut,
    summary="Pending duplicate pairs of your area, most certain first (or the decided ones, ?status=decided)",
)
def list_pairs(request: HttpRequest, params: Query[QueueParams]) -> dict[str, Any]:
    queue = selectors.pair_queue(
        actor=_actor(request),
        page=params.page,
        page_size=params.page_size,
        purpose=PURPOSE,
        channel=API,
        view=params.status,
    )
    return {
        "page": queue.page,
        "page_size": queue.page_size,
        "has_next": queue.has_next,
        "total": queue.total,
        # What the merge would say of each pending pair, as the queue's page marks it: read for the whole
        # page at once by the selector, so that a longer page costs no more queries.
        "results": [
            _summary(pair, deceased=pair.pk in queue.deceased, conflicts=queue.conflicts.get(pair.pk, []))
            for pair in queue.pairs
        ],
    }


@router.get("/matching/pairs/{pair_id}", response=PairOut, summary="One pair side by side, with the evidence")
def get_pair(request: HttpRequest, pair_id: int) -> dict[str, Any]:
    return _detail(request, pair_id)


def _pair(request: HttpRequest, pair_id: int) -> CandidatePair:
    return selectors.pair_get(actor=_actor(request), pk=pair_id, purpose=PURPOSE, channel=API).pair


@router.post(
    "/matching/pairs/{pair_id}/decision",
    response=PairOut,
    summary="Decide: the same person (merge or link) or not the same person (remembered)",
)
def decide_pair(request: HttpRequest, pair_id: int, body: DecisionIn) -> dict[str, Any]:
    decisions.candidate_pair_decide(
        actor=Actor(_actor(request)),
        pair=_pair(request, pair_id),
        same=body.same,
        reason=body.reason,
        choices=body.choices,
        source_document=body.source_document,
        seen=body.seen,
    )
    return _detail(request, pair_id)


@router.post(
    "/matching/pairs/{pair_id}/undo", response=PairOut, summary="Take a decision back (undoes its merge)"
)
def undo_pair(request: HttpRequest, pair_id: int, body: UndoIn) -> dict[str, Any]:
    decisions.candidate_pair_undo(
        actor=Actor(_actor(request)), pair=_pair(request, pair_id), reason=body.reason
    )
    return _detail(request, pair_id)
