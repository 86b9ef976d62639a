"""API shapes of the cards app. Inputs are loose where the services name the rules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from dancu.lib.schemas import BodySchema


class ApplicationOut(Schema):
    id: int
    number: str = Field(description="số biên nhận, as on the receipt")
    citizen_pin: str
    full_name: str
    kind: str
    status: str
    status_since: datetime
    intake_point: str
    intake_point_id: int
    team: str
    shift: str
    officer: str
    taken_at: datetime
    due_on: date
    days_left: int = Field(description="working days to the due date; negative when overdue")
    fee_amount: int
    fee_category: str
    delivery: str
    correction_form_id: int | None
    rejection_reason: str
    production_error: str
    cancellation_reason: str = Field(
        description="why a cancelled application was cancelled (the citizen died, or the card made for it "
        "was revoked before delivery, with the grounds); empty for any other status"
    )
    card_id: int | None
    biometrics: list[str]


class QueueOut(Schema):
    counts: dict[str, int]
    overdue: int
    total: int  # the applications matched, on every page
    page: int
    pages: int
    has_next: bool
    results: list[ApplicationOut]


class ApplicationIn(BodySchema):
    citizen_pin: str = Field(max_length=20)
    kind: str = Field(max_length=32)
    intake_point_id: int
    shift: str = Field(max_length=1)
    device_id: int | None = None
    fee_category: str = Field("", max_length=32)
    representative: str = Field("", max_length=200)
    reason: str = Field("", max_length=500)
    delivery: str = Field("station", max_length=16)
    postal_address: str = Field("", max_length=500)
    correction_form_id: int | None = None
    images: dict[str, str] = Field(default_factory=dict, description="biometric kind -> base64 PNG or JPEG")


class ReasonIn(BodySchema):
    reason: str = Field(max_length=1000)


class DeliverIn(BodySchema):
    received_by: str = Field(max_length=500)


class StateIn(BodySchema):
    state: str = Field(max_length=16)
    grounds: str = Field("", max_length=32)
    note: str = Field("", max_length=1000)


class BatchOut(Schema):
    id: int
    number: str
    province_code: str
    status: str
    size: int
    created_at: datetime
    export_sha256: str
    manifest: dict[str, Any]


class ResultIn(BodySchema):
    csv: str = Field(max_length=5_000_000, description="application,serial,error")


class CardOut(Schema):
    id: int
    number: str
    serial: str
    state: str
    state_reason: str
    issued_on: date
    expires_on: date | None
    printed: dict[str, Any]
    qr_payload: str
    mrz: list[str]
    chip_document: str


class HistoryOut(Schema):
    citizen_pin: str
    cards: list[CardOut]
    records: list[dict[str, Any]]


class VerifyIn(BodySchema):
    text: str = Field(max_length=20_000)


class VerifyOut(Schema):
    kind: str
    valid: bool
    errors: list[dict[str, Any]]
    summary: dict[str, Any]


class ReportRowOut(Schema):
    day: date
    intake_point: str
    team: str
    shift: str
    officer: str
    taken: int
    approved: int
    produced: int
    delivered: int
