"""DC01/DC02 form and import endpoints: thin handlers over the same selectors, services and workflow as the
pages."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop
from ninja import File, Form, HeaderEx, P, Query, Router
from ninja.files import UploadedFile
from ninja.responses import Status

from dancu.accounts.models import User
from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.collection import reports, selectors, services, workflow
from dancu.collection.forms import seen_of, seen_parse
from dancu.collection.models import CollectionForm, ImportRun, StagingRecord
from dancu.collection.readers import FileRejectedError
from dancu.collection.schemas import (
    ActionIn,
    DiscardIn,
    FormIn,
    FormOut,
    FormUpdateIn,
    ImportRunOut,
    ImportRunPageOut,
    ImportRunsParams,
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


# Imports ------------------------------------------------------------------------------------------------
#
# A province's own tools upload the legacy books of its communes and follow them, as a supervisor does on
# the import page: the same service starts the run in the background worker, the same selectors scope the
# runs to the caller's area (a run of another area is a 404, as one that does not exist), and the same
# report and workbook are answered.


def _import_field(code: str) -> str:
    """The part of the upload request a refusal of `services.import_upload` is about: the page shows the
    refusal above its form, an API client needs the field to put right."""
    if code == "role.not_allowed":
        return "actor"
    if code.startswith("source."):
        return "source_name"
    if code == "file.already_imported":
        # Sending the file again with same_file_again=true is what imports it again.
        return "same_file_again"
    return "file"


def _upload_refusal(exc: FileRejectedError) -> DomainError:
    return DomainError(FieldError(_import_field(exc.code), exc.code, exc.message_vi, exc.message_en))


def _run_get(request: HttpRequest, import_id: int) -> ImportRun:
    return selectors.import_run_get(actor=_actor(request), pk=import_id)


def _run_summary(run: ImportRun, user: User) -> dict[str, Any]:
    progress = selectors.import_progress(run)
    return {
        "id": run.pk,
        "source": run.source,
        "file_name": run.file_name,
        "file_format": run.file_format,
        "file_size": run.file_size,
        "status": run.status,
        "started_by": run.started_label,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "promoted_at": run.promoted_at,
        "rows_total": run.rows_total,
        "rows_read": run.rows_read,
        "rows_accepted": run.rows_accepted,
        "rows_review": run.rows_review,
        "rows_rejected": run.rows_rejected,
        "rows_with_warnings": run.rows_with_warnings,
        "rows_repaired": run.rows_repaired,
        "rows_applied": run.rows_applied,
        "rows_queued": run.rows_queued,
        "progress": {
            "step": progress.step,
            "done": progress.done,
            "total": progress.total,
            "percent": progress.percent,
            "remaining_seconds": progress.remaining_seconds,
            "waiting_seconds": progress.waiting_seconds,
        },
        "links": {
            "self": reverse("api:import_get", args=[run.pk]),
            "page": reverse("collection:import_run", args=[run.pk]),
            "rejected": reverse("api:import_rejected", args=[run.pk]) if run.rows_rejected else None,
            "resume": reverse("api:import_resume", args=[run.pk])
            if selectors.import_can_resume(actor=user, run=run, step=progress.step)
            else None,
            "discard": reverse("api:import_discard", args=[run.pk])
            if selectors.import_can_discard(actor=user, run=run)
            else None,
        },
    }


def _rule_counts(counts: dict[str, int], fields: dict[str, dict[str, int]] | None) -> list[dict[str, Any]]:
    """The report by rule, as the page shows it, with the message in both languages: `reports.by_rule`
    orders the lines by the counts alone, so the two languages' lines pair up one for one."""
    vi = reports.by_rule(counts, fields=fields, language="vi")
    en = reports.by_rule(counts, fields=fields, language="en")
    return [
        {
            "code": line.code,
            "field": line.field,
            "count": line.count,
            "message_vi": line.message,
            "message_en": english.message,
        }
        for line, english in zip(vi, en, strict=True)
    ]


def _run_out(run: ImportRun, user: User) -> dict[str, Any]:
    out = _run_summary(run, user)
    finished = out["progress"]["step"] in selectors.FINISHED_STEPS
    on_server = selectors.import_server_resume(run) if out["progress"]["step"] == "interrupted" else None
    # Where the forms made for review stand, once they are all filed: counts only, as on the page, so no
    # personal data is read (the page's list of the waiting forms names people; the API leaves it to
    # GET /forms, which logs what it shows).
    forms = selectors.import_run_form_counts(actor=user, run=run) if finished else None
    return out | {
        "error": run.error,
        "resume_on_server": on_server.as_field_error().as_dict() if on_server is not None else None,
        "issues": _rule_counts(run.issue_counts, run.issue_fields),
        "repairs": _rule_counts(run.repair_counts, None),
        "review_forms": {status: n for status, _label, n in forms} if forms is not None else None,
        "waiting_forms": sum(n for status, _label, n in forms if status not in selectors.SETTLED_STATUSES)
        if forms is not None
        else None,
    }


@router.get(
    "/imports",
    response=ImportRunPageOut,
    summary="The import runs of your area, newest first",
    description="Counts only, no personal data. A collector's area holds no runs (only supervisors and "
    "the ministry import): the list is empty.",
)
def list_imports(request: HttpRequest, params: Query[ImportRunsParams]) -> dict[str, Any]:
    user = _actor(request)
    result = selectors.import_runs_page(actor=user, page=params.page, page_size=params.page_size)
    return {
        "results": [_run_summary(run, user) for run in result.runs],
        "page": result.page,
        "page_size": result.page_size,
        "has_next": result.has_next,
    }


MULTIPART = "multipart/form-data"
# What the upload's form must hold, for the OpenAPI document (the handler takes both as optional), and its
# refusal of a body that is no such form, in the API's error shape.
_UPLOAD_REQUIRED = {
    "responses": {
        "415": {
            "description": f"The body was not sent as Content-Type: {MULTIPART}: request.content_type, on "
            "the Content-Type field",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}},
        }
    },
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "required": ["file", "source_name"],
                    "properties": {
                        "file": {"description": "the person-records file, .csv (UTF-8) or .xlsx"},
                        "source_name": {
                            "description": "the book's name, 1-100 characters: the same file under the same "
                            "name is the same run"
                        },
                        "same_file_again": {
                            "description": "true to import a file already imported under another source name"
                        },
                    },
                }
            }
        },
    },
}


@router.post(
    "/imports",
    response={200: ImportRunOut, 201: ImportRunOut, 415: Refusal},
    summary="Upload a person-records file (CSV or XLSX) and import it in the background",
    description="multipart/form-data: `file`, `source_name` (1-100 characters) and, to import again a file "
    "already imported under another source name, `same_file_again=true`. Answers 201 with the new run, "
    "which a worker imports after the answer: follow it with GET /imports/{id}. The same file under the "
    "same source name is not imported twice: the answer is its earlier run, with 200 (an interrupted one "
    "is resumed). Refused with 422, naming the field: role.not_allowed (actor), file.type, file.too_large, "
    "file.empty and the other faults of an unreadable file (file), source.name and "
    "source.control_chars (source_name), file.already_imported (same_file_again).",
    url_name="import_upload",
    openapi_extra=_UPLOAD_REQUIRED,
)
def upload_import(
    request: HttpRequest,
    # Both are required (the document says so, `_UPLOAD_REQUIRED`), but taken as optional here: ninja's
    # own refusal of a missing part names it "file.file" or "form.source_name", the service's names the
    # field as the client sent it.
    file: File[UploadedFile | None] = None,
    source_name: Form[str] = "",
    same_file_again: Form[bool] = False,
) -> Status[dict[str, Any]]:
    user = _actor(request)
    if request.content_type != MULTIPART:
        # A file travels in a multipart form, never in the JSON every other write takes: a client that sent
        # JSON (or a urlencoded form, which holds no file) is told so, as the other writes tell a client
        # that did not send JSON (config.api.unsupported_media_type).
        sent = request.META.get("CONTENT_TYPE", "").strip()[:100]
        refusal = FieldError(
            "Content-Type",
            "request.content_type",
            f"Tệp phải được gửi trong biểu mẫu Content-Type: {MULTIPART}, không phải {sent or '(không có)'}",
            f"The file must be sent as a form, Content-Type: {MULTIPART}, not {sent or '(none)'}",
        )
        return Status(415, {"errors": [refusal.as_dict()]})
    if file is None:
        raise DomainError(
            FieldError(
                "file",
                "file.missing",
                "Chưa gửi tệp: gửi tệp CSV hoặc XLSX trong phần file của biểu mẫu (multipart/form-data)",
                "No file was sent: send the CSV or XLSX file as the form's file part (multipart/form-data)",
            )
        )
    uploaded_at = timezone.now()
    try:
        run = services.import_upload(
            actor=Actor(user), upload=file, source_name=source_name, same_file_again=same_file_again
        )
    except FileRejectedError as exc:
        raise _upload_refusal(exc) from exc
    # A run started before this request is the earlier run of the same file and source, shown again.
    return Status(200 if run.started_at < uploaded_at else 201, _run_out(run, user))


@router.get(
    "/imports/{import_id}",
    response=ImportRunOut,
    summary="One import run: its step, counts, estimated time left and report by rule",
    description="What the run's page shows: the step and the rows read, accepted, sent for review and "
    "rejected; while reading or writing, the estimated seconds left; once done, the counts by rule and by "
    "repair, the forms made for review by status and how many still wait.",
    url_name="import_get",
)
def get_import(request: HttpRequest, import_id: int) -> dict[str, Any]:
    return _run_out(_run_get(request, import_id), _actor(request))


_FILE_RESPONSES = {200: None, 404: None}


@router.get(
    "/imports/{import_id}/rejected.xlsx",
    response=_FILE_RESPONSES,
    summary="The rejected rows of an import run, each with its reasons, as XLSX",
    description="The workbook the run's page offers: the row's number in the file, the reasons and their "
    "rule codes, then the file's own columns under its own headers, to correct and import again. The "
    "reasons are in Vietnamese, or in English with Accept-Language: en.",
    url_name="import_rejected",
)
def rejected_import_rows(request: HttpRequest, import_id: int) -> HttpResponse:
    run = _run_get(request, import_id)
    return reports.rejected_rows_download(
        run, language=request.LANGUAGE_CODE, actor=Actor(_actor(request)), channel=API
    )


@router.post(
    "/imports/{import_id}/resume",
    response=ImportRunOut,
    summary="Resume an interrupted import run after its last committed row",
    description="As the run's page's Resume button: for the roles that import, on an interrupted run "
    "(links.resume is set then). Refused with 422: role.not_allowed (actor), import.not_interrupted and "
    "import.resume_on_server (import_id; a run started on the server is resumed there, by the same "
    "dancu import command). A run whose uploaded file is gone is marked failed instead (file.missing in "
    "its error).",
    url_name="import_resume",
)
def resume_import(request: HttpRequest, import_id: int) -> dict[str, Any]:
    user = _actor(request)
    run = _run_get(request, import_id)
    with _run_refusals():
        run = services.import_resume(actor=Actor(user), run=run)
    return _run_out(run, user)


@router.post(
    "/imports/{import_id}/discard",
    response=ImportRunOut,
    summary="Discard an import run that cannot be read to its end",
    description="As the run's page's Discard form: for the roles that import, on a run that failed or was "
    "interrupted while reading its file (links.discard is set then), with a reason. Its staged rows are "
    "kept with its report but wait for no one, and the same file may be imported again as a new run. "
    "Refused with 422: role.not_allowed (actor), import.discard_reason (reason), import.not_discardable "
    "(import_id).",
    url_name="import_discard",
)
def discard_import(request: HttpRequest, import_id: int, body: DiscardIn) -> dict[str, Any]:
    user = _actor(request)
    run = _run_get(request, import_id)
    with _run_refusals():
        run = services.import_discard(actor=Actor(user), run=run, reason=body.reason)
    return _run_out(run, user)


@contextmanager
def _run_refusals() -> Iterator[None]:
    """The service's refusals of a step on a run name no field (the page shows them above the run): here
    they name the acting account, or the run the path names."""
    try:
        yield
    except DomainError as exc:
        raise DomainError(
            [
                dataclasses.replace(
                    error, field=error.field or ("actor" if error.code == "role.not_allowed" else "import_id")
                )
                for error in exc.errors
            ]
        ) from exc
