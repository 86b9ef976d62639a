"""API shapes of the review queue. Inputs are loose, except the decision itself (a JSON boolean); the decision
service applies the rules and names them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import StrictBool

from dancu.lib.schemas import BodySchema


class QueueParams(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)
    status: Literal["pending", "decided"] = Field(
        "pending",
        description='"pending": the queue, most certain first; "decided": same, not the same or merged, '
        "most recently decided first (to find a decision and undo it)",
    )


class SideOut(Schema):
    kind: str = Field(description='"citizen" (a registry record) or "staging" (a staged legacy row)')
    id: int
    full_name: str
    pin: str | None = Field(description="the citizen's PIN; null for a staged row")
    source: str | None = Field(
        description='the staged row\'s import source and its row in the file ("Sổ hộ khẩu 2019, dòng 57")'
    )


class Problem(Schema):
    field: str
    code: str
    message_vi: str
    message_en: str


class PairSummaryOut(Schema):
    id: int
    match_probability: float
    match_weight: float
    status: str
    commune_code: str
    left: SideOut = Field(
        description="a registry record and a staged row are always given as left the record, right the row"
    )
    right: SideOut
    deceased: bool = Field(description="a side carries a date of death; confirming flags the citizen")
    conflicts: list[Problem] = Field(
        description="for a pending pair of two citizens, what a merge would say before any choice: the "
        "choices it needs (merge.choice_required on choices.*) and its refusals; empty for a pair that "
        "can be merged as it is, a pair with a staged row, and a decided pair"
    )


class QueueOut(Schema):
    page: int
    page_size: int
    has_next: bool
    total: int
    results: list[PairSummaryOut]


class FieldRowOut(Schema):
    field: str
    left: str
    right: str
    differs: bool


class EvidenceOut(Schema):
    field: str
    level: str
    weight: float = Field(description="match weight (log2 Bayes factor); positive counts for a match")
    left: str
    right: str


class HistoryOut(Schema):
    at: datetime
    actor: str
    event_type: str
    reason: str
    data: dict[str, Any]


class PairOut(PairSummaryOut):
    rows: list[FieldRowOut]
    evidence: list[EvidenceOut]
    kept_pin: str | None = Field(
        description="for two citizens: the PIN that stays if they are merged; null once a side is merged away"
    )
    pin_rule: str
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str
    merge_id: int | None
    history: list[HistoryOut]
    seen: str = Field(
        description="the pair's records as this answer shows them; send it back with the decision to have "
        "it refused (422 pair.changed_since) if a record changed since"
    )


class DecisionIn(BodySchema):
    # Strict: pydantic would otherwise read "yes", "1", 1 and "on" as true, and a client's slip would merge
    # two citizens. Anything but a JSON true or false is refused (422 schema.bool_type on "same").
    same: StrictBool = Field(
        description="true: the same person; false: not the same person (remembered); a JSON boolean only"
    )
    # A bound on the request alone: the rule (at most 1,000 characters) is the service's, whose refusal
    # says it in both languages.
    reason: str = Field(max_length=20_000)
    choices: dict[str, str] = Field(
        default_factory=dict,
        description='choices for merging two citizens, e.g. {"permanent": "absorb"} (docs/merging.md)',
    )
    source_document: str = Field("", max_length=400)
    seen: str | None = Field(
        None,
        max_length=200,
        description="the pair's `seen` as read: a decision on records changed since is refused "
        "(pair.changed_since); without it the records are taken as they are",
    )


class UndoIn(BodySchema):
    # A bound on the request alone: the rule (at most 1,000 characters) is the service's, whose refusal
    # says it in both languages.
    reason: str = Field(max_length=20_000)
