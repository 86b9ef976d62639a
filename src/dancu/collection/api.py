"""DC01/DC02 form endpoints: thin handlers over the same selectors and workflow as the pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_noop
from ninja import Query, Router
from ninja.responses import Status

from dancu.accounts.models import User
from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.collection import selectors, workflow
from dancu.collection.forms import seen_of
from dancu.collection.models import CollectionForm, StagingRecord
from dancu.collection.schemas import (
    ActionIn,
    FormIn,
    FormOut,
    FormUpdateIn,
    QueueOut,
    QueueParams,
    Refusal,
    ReturnIn,
    ReviewIn,
)
from dancu.lib.errors import DomainError
from dancu.registry import selectors as registry_selectors
from dancu.registry.rules import check_pin, field_errors

router = Router(tags=["collection"])
API = AccessLog.Channel.API
PURPOSE = gettext_noop("API: thu thập, kiểm tra phiếu dân cư")


def _actor(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _name(user: User | None) -> str | None:
    return user.username if user is not None else None


def _out(form: CollectionForm, user: User) -> dict[str, Any]:
    return {
        "id": form.pk,
        "label": form.label,
        "kind": form.kind,
        "status": form.status,
        "status_since": form.status_since,
        "commune_code": form.commune.code,
        "commune_name": str(form.commune),
        "legacy_commune_code": form.legacy_commune.code if form.legacy_commune else None,
        "citizen_pin": form.citizen.pin if form.citizen else None,
        "data": form.data,
        "document": form.document,
        "reason": form.reason,
        "errors": form.errors,
        "warnings": form.warnings,
        "acknowledged_warnings": form.acknowledged_warnings,
        "apply_errors": form.apply_errors,
        "created_by": form.author_label,
        "created_at": form.created_at,
        "submitted_at": form.submitted_at,
        "checked_by": _name(form.checked_by),
        "checked_at": form.checked_at,
        "rechecked_by": _name(form.rechecked_by),
        "rechecked_at": form.rechecked_at,
        "applied_by": _name(form.applied_by),
        "applied_at": form.applied_at,
        "returned_by": _name(form.returned_by),
        "returned_at": form.returned_at,
        "returned_from": form.returned_from,
        "return_reason": form.return_reason,
        "rejected_by": _name(form.rejected_by),
        "rejected_at": form.rejected_at,
        "reject_reason": form.reject_reason,
        "staging": _staging_out(form.staging_record),
        "allowed_actions": sorted(workflow.form_allowed_actions(user=user, form=form)),
        # The same value a form's page sends back with an action (workflow._locked).
        "seen": seen_of(form),
    }


def _staging_out(record: StagingRecord | None) -> dict[str, Any] | None:
    """For a form made by an import: the row as read beside what the rules made of it."""
    if record is None:
        return None
    return {
        "run": record.run_id,
        "row_number": record.row_number,
        "file_row": record.file_row,
        "raw": record.raw,
        "normalized": record.normalized,
        "issues": record.issues,
        "repairs": record.repairs,
    }


def _get(request: HttpRequest, form_id: int) -> CollectionForm:
    return selectors.form_get(actor=_actor(request), pk=form_id, purpose=PURPOSE, channel=API)


@router.get(
    "/forms",
    response=QueueOut,
    summary="The forms waiting for you: those returned to you first, then oldest first",
)
def list_queue(request: HttpRequest, params: Query[QueueParams]) -> dict[str, Any]:
    queue = selectors.form_queue(actor=_actor(request), purpose=PURPOSE, channel=API, limit=params.limit)
    return {
        "statuses": list(queue.statuses),
        "counts": queue.counts,
        "total": queue.total,
        "results": [
            {
                "id": form.pk,
                "label": form.label,
                "kind": form.kind,
                "status": form.status,
                "status_since": form.status_since,
                "waiting_seconds": int(queue.age_of(form).total_seconds()),
                "commune_code": form.commune.code,
                "full_name": form.citizen.full_name if form.citizen else form.data.get("full_name", ""),
                "created_by": form.author_label,
                "return_reason": form.return_reason if form.status == CollectionForm.Status.RETURNED else "",
            }
            for form in queue.forms
        ],
    }


@router.get("/forms/{form_id}", response=FormOut, summary="One form in your jurisdiction")
def get_form(request: HttpRequest, form_id: int) -> dict[str, Any]:
    return _out(_get(request, form_id), _actor(request))


@router.post(
    "/forms", response={200: FormOut, 201: FormOut}, summary="Save a new DC01 or DC02 form as a draft"
)
def create_form(request: HttpRequest, body: FormIn) -> Status[dict[str, Any]]:
    user = _actor(request)
    citizen = None
    if body.kind == CollectionForm.Kind.DC02:
        pin = body.citizen_pin.strip()
        # A number missing or of the wrong shape is the body's mistake, said by field; a number of the
        # right shape is looked up, and one outside the officer's area is as missing as one of nobody.
        if not pin:
            raise DomainError(workflow.citizen_required("citizen_pin"))
        if problems := field_errors(check_pin(pin, sex=None, birth=None, field="citizen_pin")):
            raise DomainError(problems)
        citizen = registry_selectors.citizen_get(actor=user, pin=pin, purpose=PURPOSE, channel=API)
    try:
        form = workflow.form_create_draft(
            actor=Actor(user),
            kind=body.kind,
            data=body.data,
            citizen=citizen,
            document=body.document,
            reason=body.reason,
            channel=API,
            submission_key=body.submission_key,
        )
    except workflow.AlreadySavedError as exc:
        # The same request sent again (a retry after a lost answer): the answer is the form the first one
        # made, read as any form is, and 200 says that nothing new was made.
        return Status(200, _out(_get(request, exc.form.pk), user))
    return Status(201, _out(form, user))


# A write over a form changed since the client read it (its `seen` sent back) is refused with 409.
STALE = {409: Refusal}


@router.put(
    "/forms/{form_id}",
    response={200: FormOut, **STALE},
    summary="Replace the data of your draft or returned form",
)
def update_form(request: HttpRequest, form_id: int, body: FormUpdateIn) -> dict[str, Any]:
    user = _actor(request)
    form = workflow.form_update_draft(
        actor=Actor(user),
        form=_get(request, form_id),
        data=body.data,
        document=body.document,
        reason=body.reason,
        channel=API,
        seen=body.seen,
    )
    return _out(form, user)


@router.post(
    "/forms/{form_id}/submit",
    response={200: FormOut, **STALE},
    summary="Send your form to the commune reviewer",
)
def submit_form(request: HttpRequest, form_id: int, body: ActionIn | None = None) -> dict[str, Any]:
    user = _actor(request)
    seen = body.seen if body is not None else None
    return _out(workflow.form_submit(actor=Actor(user), form=_get(request, form_id), seen=seen), user)


@router.post(
    "/forms/{form_id}/check", response={200: FormOut, **STALE}, summary="Kiểm tra: confirm a submitted form"
)
def check_form(request: HttpRequest, form_id: int, body: ReviewIn) -> dict[str, Any]:
    user = _actor(request)
    form = workflow.form_check(
        actor=Actor(user),
        form=_get(request, form_id),
        acknowledged=body.acknowledged_warnings,
        seen=body.seen,
    )
    return _out(form, user)


@router.post(
    "/forms/{form_id}/recheck", response={200: FormOut, **STALE}, summary="Phúc tra: confirm a checked form"
)
def recheck_form(request: HttpRequest, form_id: int, body: ReviewIn) -> dict[str, Any]:
    user = _actor(request)
    form = workflow.form_recheck(
        actor=Actor(user),
        form=_get(request, form_id),
        acknowledged=body.acknowledged_warnings,
        seen=body.seen,
    )
    return _out(form, user)


@router.post(
    "/forms/{form_id}/return",
    response={200: FormOut, **STALE},
    summary="Return a form to its author with a reason",
)
def return_form(request: HttpRequest, form_id: int, body: ReturnIn) -> dict[str, Any]:
    user = _actor(request)
    form = workflow.form_return(
        actor=Actor(user), form=_get(request, form_id), reason=body.reason, seen=body.seen
    )
    return _out(form, user)


@router.post(
    "/forms/{form_id}/apply",
    response={200: FormOut, **STALE},
    summary="Write a re-checked form into the registry",
)
def apply_form(request: HttpRequest, form_id: int, body: ActionIn | None = None) -> dict[str, Any]:
    user = _actor(request)
    seen = body.seen if body is not None else None
    return _out(workflow.form_apply(actor=Actor(user), form=_get(request, form_id), seen=seen), user)


@router.post(
    "/forms/{form_id}/reject",
    response={200: FormOut, **STALE},
    summary="Reject a form made by an import, with a reason",
)
def reject_form(request: HttpRequest, form_id: int, body: ReturnIn) -> dict[str, Any]:
    user = _actor(request)
    form = workflow.form_reject(
        actor=Actor(user), form=_get(request, form_id), reason=body.reason, seen=body.seen
    )
    return _out(form, user)
