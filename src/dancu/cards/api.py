"""API endpoints of the cards app, mounted under /api/v1/ by dancu.config.api: thin handlers over the same
services and selectors as the pages."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any, Literal

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_noop
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from dancu.accounts.models import User
from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.cards import selectors, services
from dancu.cards.models import Application, Card, IntakeDevice, IntakePoint
from dancu.cards.printing import mrz_lines, qr_payload
from dancu.cards.schemas import (
    ApplicationIn,
    ApplicationOut,
    BatchOut,
    CardOut,
    DeliverIn,
    HistoryOut,
    QueueOut,
    ReasonIn,
    ReportRowOut,
    ResultIn,
    StateIn,
    VerifyIn,
    VerifyOut,
)
from dancu.cards.scope import point_scope
from dancu.cards.verify import verify_text
from dancu.cards.workdays import working_days_between
from dancu.collection.selectors import form_get
from dancu.lib.errors import DomainError, FieldError, NotFoundError
from dancu.registry import selectors as registry_selectors

router = Router(tags=["cards"])
API = AccessLog.Channel.API
PURPOSE = gettext_noop("API: cấp thẻ căn cước")


def _actor(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _application_out(application: Application) -> dict[str, Any]:
    """An application as the API gives it; its card and its biometrics read through the relations, which a
    list prefetches for the whole page (`_with_cards_and_biometrics`)."""
    try:
        card: int | None = application.card.pk
    except Card.DoesNotExist:
        card = None
    point = application.point
    return {
        "id": application.pk,
        "number": application.number,
        "citizen_pin": application.citizen.pin,
        "full_name": application.citizen.full_name,
        "kind": application.kind,
        "status": application.status,
        "status_since": application.status_since,
        "intake_point": point.name,
        "intake_point_id": point.pk,
        "team": point.team,
        "shift": application.shift,
        "officer": application.officer.username,
        "taken_at": application.taken_at,
        "due_on": application.due_on,
        "days_left": working_days_between(timezone.localdate(), application.due_on),
        "fee_amount": application.fee_amount,
        "fee_category": application.fee_category,
        "delivery": application.delivery,
        "correction_form_id": application.correction_form_id,
        "rejection_reason": application.rejection_reason,
        "production_error": application.production_error,
        "cancellation_reason": application.cancellation_reason,
        "card_id": card,
        "biometrics": sorted(biometric.kind for biometric in application.biometrics.all()),
    }


def _with_cards_and_biometrics(applications: list[Application]) -> list[Application]:
    # Two queries for the page, not two for each of its up to 200 rows.
    prefetch_related_objects(applications, "card", "biometrics")
    return applications


def _card_out(card: Card) -> dict[str, Any]:
    return {
        "id": card.pk,
        "number": card.number,
        "serial": card.serial,
        "state": card.state,
        "state_reason": card.state_reason,
        "issued_on": card.issued_on,
        "expires_on": card.expires_on,
        "printed": card.printed,
        "qr_payload": qr_payload(card.printed, card.issued_on),
        "mrz": mrz_lines(card.printed, card.expires_on),
        "chip_document": card.chip_document,
    }


def _get(request: HttpRequest, application_id: int) -> Application:
    return selectors.application_get(actor=_actor(request), pk=application_id, purpose=PURPOSE, channel=API)


# Application.Status's values; "" for the queue's own view (every open application, or every one when
# searching) and "all" for every status: a status the queue does not know is refused (a typo listed every
# application as if no filter had been given), as are limits outside 1-MAX_PAGE.
QueueStatus = Literal[
    "",
    "all",
    "waiting_correction",
    "taken",
    "approved",
    "rejected",
    "in_production",
    "production_failed",
    "produced",
    "delivered",
    "cancelled",
]


class QueueParams(Schema):
    q: str = Field(
        "",
        max_length=selectors.QUEUE_QUERY_LENGTH,
        description=(
            "PIN (groups allowed), old CMND (9 digits), application number (HS…) or name with or without "
            "tone marks"
        ),
    )
    status: QueueStatus = ""
    overdue: bool = False
    page: int = Field(1, ge=1, le=10_000)  # the pages' bound (web.converters.LAST_PAGE)
    limit: int = Field(selectors.QUEUE_PAGE, ge=1, le=selectors.MAX_PAGE)


@router.get(
    "/cards/applications", response=QueueOut, summary="Card applications of your area, most urgent first"
)
def list_applications(request: HttpRequest, params: Query[QueueParams]) -> dict[str, Any]:
    queue = selectors.application_queue(
        actor=_actor(request),
        purpose=PURPOSE,
        status=params.status,
        overdue_only=params.overdue,
        text=params.q,
        page=params.page,
        limit=params.limit,
        channel=API,
    )
    return {
        "counts": queue.counts,
        "overdue": queue.overdue,
        "total": queue.total,
        "page": queue.page,
        "pages": queue.pages,
        "has_next": queue.has_next,
        "results": [
            _application_out(application)
            for application in _with_cards_and_biometrics([row.application for row in queue.rows])
        ],
    }


@router.get("/cards/applications/{application_id}", response=ApplicationOut, summary="One card application")
def get_application(request: HttpRequest, application_id: int) -> dict[str, Any]:
    return _application_out(_get(request, application_id))


def _images(raw: dict[str, str]) -> dict[str, bytes]:
    images: dict[str, bytes] = {}
    errors: list[FieldError] = []
    for kind, text in raw.items():
        try:
            images[kind[:32]] = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            errors.append(
                FieldError(
                    f"images.{kind[:32]}",
                    "image.base64",
                    "Ảnh phải được mã hoá base64",
                    "The image must be base64-encoded",
                )
            )
    if errors:
        raise DomainError(errors)
    return images


# Which field of the intake body gave the id of each record the intake looks up (the selectors' and the
# service's names for them).
_TAKE_FIELDS = {
    "citizen": "citizen_pin",
    "intake_point": "intake_point_id",
    "device": "device_id",
    "form": "correction_form_id",
}


@router.post("/cards/applications", response={201: ApplicationOut}, summary="Take a card application")
def take_application(request: HttpRequest, body: ApplicationIn) -> Status[dict[str, Any]]:
    try:
        application = _take(_actor(request), body)
    except NotFoundError as exc:
        # The body names up to four records by id: the 404 says which one was not found, though still not
        # whether it is missing or outside the officer's area.
        what = str(exc.args[0]) if exc.args else ""
        raise NotFoundError(what, field=_TAKE_FIELDS.get(what, "")) from None
    return Status(201, _application_out(application))


def _take(user: User, body: ApplicationIn) -> Application:
    citizen = registry_selectors.citizen_get(
        actor=user, pin=body.citizen_pin.strip(), purpose=PURPOSE, channel=API
    )
    point = IntakePoint.objects.filter(point_scope(user)).filter(pk=body.intake_point_id).first()
    if point is None:
        raise NotFoundError("intake_point")
    device = None
    if body.device_id is not None:
        device = IntakeDevice.objects.filter(point=point, pk=body.device_id).first()
        if device is None:
            raise NotFoundError("device")
    correction = None
    if body.correction_form_id is not None:
        correction = form_get(actor=user, pk=body.correction_form_id, purpose=PURPOSE, channel=API)
    return services.application_take(
        actor=Actor(user),
        citizen=citizen,
        intake=services.Intake(
            kind=body.kind,
            point=point,
            shift=body.shift,
            device=device,
            fee_category=body.fee_category,
            representative=body.representative,
            reason=body.reason,
            delivery=body.delivery,
            postal_address=body.postal_address,
            correction_form=correction,
        ),
        images=_images(body.images),
    )


@router.post(
    "/cards/applications/{application_id}/approve", response=ApplicationOut, summary="Approve (province)"
)
def approve(request: HttpRequest, application_id: int) -> dict[str, Any]:
    application = services.application_approve(
        actor=Actor(_actor(request)), application=_get(request, application_id)
    )
    return _application_out(application)


@router.post(
    "/cards/applications/{application_id}/reject", response=ApplicationOut, summary="Reject with a reason"
)
def reject(request: HttpRequest, application_id: int, body: ReasonIn) -> dict[str, Any]:
    application = services.application_reject(
        actor=Actor(_actor(request)), application=_get(request, application_id), reason=body.reason
    )
    return _application_out(application)


@router.post(
    "/cards/applications/{application_id}/resume", response=ApplicationOut, summary="Go on after the DC02"
)
def resume(request: HttpRequest, application_id: int) -> dict[str, Any]:
    application = services.application_resume(
        actor=Actor(_actor(request)), application=_get(request, application_id)
    )
    return _application_out(application)


@router.post("/cards/applications/{application_id}/deliver", response=CardOut, summary="Hand the card over")
def deliver(request: HttpRequest, application_id: int, body: DeliverIn) -> dict[str, Any]:
    card = services.application_deliver(
        actor=Actor(_actor(request)), application=_get(request, application_id), received_by=body.received_by
    )
    return _card_out(card)


def _batch_out(batch: Any) -> dict[str, Any]:
    return {
        "id": batch.pk,
        "number": batch.number,
        "province_code": batch.province.code,
        "status": batch.status,
        "size": batch.size,
        "created_at": batch.created_at,
        "export_sha256": batch.export_sha256,
        "manifest": batch.manifest,
    }


@router.get("/cards/batches", response=list[BatchOut], summary="Production batches of your province")
def list_batches(request: HttpRequest) -> list[dict[str, Any]]:
    return [_batch_out(b) for b in selectors.batch_list(actor=_actor(request))]


@router.post(
    "/cards/batches", response={201: BatchOut}, summary="Batch the approved applications of your province"
)
def create_batch(request: HttpRequest) -> Status[dict[str, Any]]:
    return Status(201, _batch_out(services.batch_create(actor=Actor(_actor(request)))))


@router.get("/cards/batches/{batch_id}/export", summary="The batch's export file (JSON lines)")
def export_batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = _actor(request)
    batch = selectors.batch_get(actor=user, pk=batch_id)
    selectors.batch_applications(actor=user, batch=batch, purpose=PURPOSE, channel=API, export=True)
    return HttpResponse(services.batch_export_file(batch), content_type="application/x-ndjson")


@router.post("/cards/batches/{batch_id}/result", response=BatchOut, summary="Import the production result")
def import_result(request: HttpRequest, batch_id: int, body: ResultIn) -> dict[str, Any]:
    user = _actor(request)
    batch = selectors.batch_get(actor=user, pk=batch_id)
    return _batch_out(services.batch_import_result(actor=Actor(user), batch=batch, text=body.csv))


@router.get("/cards/cards/{card_id}", response=CardOut, summary="One card")
def get_card(request: HttpRequest, card_id: int) -> dict[str, Any]:
    return _card_out(selectors.card_get(actor=_actor(request), pk=card_id, purpose=PURPOSE, channel=API))


@router.post("/cards/cards/{card_id}/state", response=CardOut, summary="Report lost, revoke, hold, release")
def change_state(request: HttpRequest, card_id: int, body: StateIn) -> dict[str, Any]:
    user = _actor(request)
    card = selectors.card_get(actor=user, pk=card_id, purpose=PURPOSE, channel=API)
    card = services.card_change_state(
        actor=Actor(user), card=card, state=body.state, grounds=body.grounds, note=body.note
    )
    return _card_out(card)


@router.get("/cards/citizens/{pin}/history", response=HistoryOut, summary="A citizen's cards, newest first")
def history(request: HttpRequest, pin: str) -> dict[str, Any]:
    user = _actor(request)
    citizen = registry_selectors.citizen_get(actor=user, pin=pin, purpose=PURPOSE, channel=API)
    found = selectors.card_history(actor=user, citizen_pk=citizen.pk, purpose=PURPOSE, channel=API)
    return {
        "citizen_pin": citizen.pin,
        "cards": [_card_out(card) for card in found.cards],
        "records": [
            {"kind": r.kind, "number": r.number, "issued_on": r.issued_on, "expires_on": r.expires_on}
            for r in found.records
        ],
    }


@router.post("/cards/verify", response=VerifyOut, summary="Verify a QR payload, an MRZ or a chip document")
def verify(request: HttpRequest, body: VerifyIn) -> dict[str, Any]:
    verdict = verify_text(body.text, public_keys=services.public_key_set(), today=timezone.localdate())
    # Online, the registry is asked too: a revoked, lost or replaced card, or a dead holder's, is not valid.
    verdict.errors += selectors.registered_state_errors(
        actor=_actor(request), verdict=verdict, purpose=PURPOSE, channel=API
    )
    return {
        "kind": verdict.kind,
        "valid": verdict.valid,
        "errors": [e.as_dict() for e in verdict.errors],
        "summary": {k: str(v) if v is not None else None for k, v in verdict.summary.items()},
    }


@router.get(
    "/cards/report", response=list[ReportRowOut], summary="Milestones per day, point, team, shift, officer"
)
def report(request: HttpRequest, start: date | None = None, end: date | None = None) -> list[dict[str, Any]]:
    start, end = selectors.report_period(start=start, end=end, today=timezone.localdate())
    rows = selectors.milestone_report(actor=_actor(request), start=start, end=end)
    return [
        {
            "day": r.day,
            "intake_point": r.intake_point,
            "team": r.team,
            "shift": r.shift,
            "officer": r.officer,
            **r.counts,
        }
        for r in rows
    ]
