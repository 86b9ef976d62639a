"""DC01/DC02 form endpoints: thin handlers over the same selectors and workflow as the pages."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_noop
from ninja import HeaderEx, P, Query, Router
from ninja.responses import Status

from dancu.accounts.models import User
from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.collection import selectors, workflow
from dancu.collection.forms import seen_of, seen_parse
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
from dancu.lib.errors import ConflictError, DomainError, FieldError, PreconditionFailedError
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


def _answer(response: HttpResponse, form: CollectionForm, user: User) -> dict[str, Any]:
    """The form as every answer carries it, with its `seen` as the ETag too (RFC 9110, 8.8.3): the value
    an HTTP client or library sends back as If-Match without reading the body."""
    response["ETag"] = f'"{seen_of(form)}"'
    return _out(form, user)


# If-Match (RFC 9110, 13.1.1): "*", or a list of entity tags, each `"..."` or weak `W/"..."`.
_ENTITY_TAG = re.compile(r'[ \t]*(W/)?"([^"]*)"[ \t]*(?:,|$)')
_IF_MATCH_ANY: Literal["*"] = "*"


def _if_match_times(value: str | None) -> frozenset[datetime] | Literal["*"] | None:
    """The versions of the form an If-Match header names: None without the header (or a blank one),
    "*" for any, else the times of its strong tags. A weak tag never matches for a write (strong
    comparison), and a tag that is no time, or a header that is no list of tags, names no version of any
    form: an empty set, which `_locked` finds stale like a `seen` of another time."""
    if value is None or not value.strip():
        return None
    if value.strip() == _IF_MATCH_ANY:
        return _IF_MATCH_ANY
    times: set[datetime] = set()
    position = 0
    while position < len(value):
        tag = _ENTITY_TAG.match(value, position)
        if tag is None:
            return frozenset()
        if tag.group(1) is None:
            parsed = seen_parse(tag.group(2))
            if parsed is not None:
                times.add(parsed)
        position = tag.end()
    return frozenset(times)


# A time no form was ever changed at: what an If-Match that names no version of the form is checked as.
_NO_VERSION = datetime.min.replace(tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class _Precondition:
    """Which version of the form a write is meant for, from the body's `seen` and the If-Match header,
    as the one value `workflow._locked(seen=)` checks under the row's lock, and whether its refusal is
    the header's (412 Precondition Failed) or the body's (409 Conflict)."""

    seen: datetime | None
    from_header: bool

    @contextmanager
    def refusal(self) -> Iterator[None]:
        try:
            yield
        except ConflictError as exc:
            if not self.from_header:
                raise
            raise PreconditionFailedError(
                [dataclasses.replace(error, field="If-Match") for error in exc.errors]
            ) from exc


def _precondition(form: CollectionForm, *, seen: datetime | None, if_match: str | None) -> _Precondition:
    tags = _if_match_times(if_match)
    if tags is None or tags == _IF_MATCH_ANY:
        # No header, or "*": the form exists (else 404), so only the body's `seen` is left to check.
        return _Precondition(seen=seen, from_header=False)
    if seen is not None and seen not in tags:
        # Two versions named for one write: at most one is the form as it is, and the request cannot say
        # which it meant, so neither wins and nothing is done.
        raise DomainError(
            FieldError(
                "If-Match",
                "form.seen_mismatch",
                "Tiêu đề If-Match và giá trị seen trong nội dung chỉ hai phiên bản khác nhau của phiếu: "
                "chưa làm gì; hãy gửi một trong hai, hoặc cùng một giá trị ở cả hai",
                "The If-Match header and the body's seen name two different versions of the form: "
                "nothing was done; send one of them, or the same value in both",
            )
        )
    # Of the versions the header names (one, from a client that sends back the ETag it read), the one the
    # form is at as read just now, if any: `_locked` checks it again under the row's lock.
    chosen = form.updated_at if form.updated_at in tags else min(tags, default=_NO_VERSION)
    return _Precondition(seen=chosen, from_header=True)


# The If-Match header of a write: the ETag of the form as the client read it (docs/api.md).
IfMatch = HeaderEx[
    str | None,
    P(
        alias="If-Match",
        description="the ETag of the form as you last read it (the same value as its `seen`): when the "
        "form changed since, nothing is done and the answer is 412 with form.changed. Optional, like "
        "`seen`; when both are sent they must name the same version (422 form.seen_mismatch otherwise)",
    ),
]


def _write(
    request: HttpRequest,
    response: HttpResponse,
    form_id: int,
    *,
    seen: datetime | None,
    if_match: str | None,
    step: Callable[[CollectionForm, datetime | None], CollectionForm],
) -> dict[str, Any]:
    """A write on one form, refused when the form changed since the version the client names."""
    user = _actor(request)
    form = _get(request, form_id)
    precondition = _precondition(form, seen=seen, if_match=if_match)
    with precondition.refusal():
        form = step(form, precondition.seen)
    return _answer(response, form, user)


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
def get_form(request: HttpRequest, response: HttpResponse, form_id: int) -> dict[str, Any]:
    return _answer(response, _get(request, form_id), _actor(request))


@router.post(
    "/forms", response={200: FormOut, 201: FormOut}, summary="Save a new DC01 or DC02 form as a draft"
)
def create_form(request: HttpRequest, response: HttpResponse, body: FormIn) -> Status[dict[str, Any]]:
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
        return Status(200, _answer(response, _get(request, exc.form.pk), user))
    return Status(201, _answer(response, form, user))


# A write over a form changed since the client read it is refused: 409 when the body's `seen` named the
# version read, 412 when the If-Match header did (_Precondition).
STALE = {409: Refusal, 412: Refusal}


@router.put(
    "/forms/{form_id}",
    response={200: FormOut, **STALE},
    summary="Replace the data of your draft or returned form",
)
def update_form(
    request: HttpRequest, response: HttpResponse, form_id: int, body: FormUpdateIn, if_match: IfMatch = None
) -> dict[str, Any]:
    actor = Actor(_actor(request))
    return _write(
        request,
        response,
        form_id,
        seen=body.seen,
        if_match=if_match,
        step=lambda form, seen: workflow.form_update_draft(
            actor=actor,
            form=form,
            data=body.data,
            document=body.document,
            reason=body.reason,
            channel=API,
            seen=seen,
        ),
    )


@router.post(
    "/forms/{form_id}/submit",
    response={200: FormOut, **STALE},
    summary="Send your form to the commune reviewer",
)
def submit_form(
    request: HttpRequest,
    response: HttpResponse,
    form_id: int,
    body: ActionIn | None = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    actor = Actor(_actor(request))
    return _write(
        request,
        response,
        form_id,
        seen=body.seen if body is not None else None,
        if_match=if_match,
        step=lambda form, seen: workflow.form_submit(actor=actor, form=form, seen=seen),
    )


@router.post(
    "/forms/{form_id}/check", response={200: FormOut, **STALE}, summary="Kiểm tra: confirm a submitted form"
)
def check_form(
    request: HttpRequest, response: HttpResponse, form_id: int, body: ReviewIn, if_match: IfMatch = None
) -> dict[str, Any]:
    actor = Actor(_actor(request))
    return _write(
        request,
        response,
        form_id,
        seen=body.seen,
        if_match=if_match,
        step=lambda form, seen: workflow.form_check(
            actor=actor, form=form, acknowledged=body.acknowledged_warnings, seen=seen
        ),
    )


@router.post(
    "/forms/{form_id}/recheck", response={200: FormOut, **STALE}, summary="Phúc tra: confirm a checked form"
)
def recheck_form(
    request: HttpRequest, response: HttpResponse, form_id: int, body: ReviewIn, if_match: IfMatch = None
) -> dict[str, Any]:
    actor = Actor(_actor(request))
    return _write(
        request,
        response,
        form_id,
        seen=body.seen,
        if_match=if_match,
        step=lambda form, seen: workflow.form_recheck(
            actor=actor, form=form, acknowledged=body.acknowledged_warnings, seen=seen
        ),
    )


@router.post(
    "/forms/{form_id}/return",
    response={200: FormOut, **STALE},
    summary="Return a form to its author with a reason",
)
def return_form(
    request: HttpRequest, response: HttpResponse, form_id: int, body: ReturnIn, if_match: IfMatch = None
) -> dict[str, Any]:
    actor = Actor(_actor(request))
    return _write(
        request,
        response,
        form_id,
        seen=body.seen,
        if_match=if_match,
        step=lambda form, seen: workflow.form_return(actor=actor, form=form, reason=body.reason, seen=seen),
    )


@router.post(
    "/forms/{form_id}/apply",
    response={200: FormOut, **STALE},
    summary="Write a re-checked form into the registry",
)
def apply_form(
    request: HttpRequest,
    response: HttpResponse,
    form_id: int,
    body: ActionIn | None = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    actor = Actor(_actor(request))
    return _write(
        request,
        response,
        form_id,
        seen=body.seen if body is not None else None,
        if_match=if_match,
        step=lambda form, seen: workflow.form_apply(actor=actor, form=form, seen=seen),
    )


@router.post(
    "/forms/{form_id}/reject",
    response={200: FormOut, **STALE},
    summary="Reject a form made by an import, with a reason",
)
def reject_form(
    request: HttpRequest, response: HttpResponse, form_id: int, body: ReturnIn, if_match: IfMatch = None
) -> dict[str, Any]:
    actor = Actor(_actor(request))
    return _write(
        request,
        response,
        form_id,
        seen=body.seen,
        if_match=if_match,
        step=lambda form, seen: workflow.form_reject(actor=actor, form=form, reason=body.reason, seen=seen),
    )
