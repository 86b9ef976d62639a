"""API shapes of the DC01/DC02 forms. Inputs are loose: the workflow applies the rules and names them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Field, Schema
from pydantic import AwareDatetime

from dancu.lib.schemas import BodySchema

# Generous limits that only stop abuse; the real rules are the workflow's.
_SHORT = 1000


class Problem(Schema):
    field: str
    code: str
    message_vi: str
    message_en: str


class StagingOut(Schema):
    run: int
    row_number: int = Field(
        description="the data row's number, 1 the first after the header, blank rows left out"
    )
    file_row: int = Field(
        description="the row's own number in the file: the spreadsheet's row, or a CSV record's first line"
    )
    raw: dict[str, Any]
    normalized: dict[str, Any]
    issues: list[dict[str, Any]]
    repairs: list[dict[str, Any]]


class FormOut(Schema):
    id: int
    label: str = Field(description='how the registry\'s history cites the form, e.g. "DC01 #123"')
    kind: str = Field(description="DC01 (new person) or DC02 (update or correction)")
    status: str = Field(description="draft, submitted, checked, rechecked, applied or returned")
    status_since: datetime
    commune_code: str
    commune_name: str
    legacy_commune_code: str | None
    citizen_pin: str | None = Field(description="the DC02's record, or the DC01's once applied")
    data: dict[str, Any]
    document: str
    reason: str
    errors: list[Problem] = Field(description="what still blocks submitting, as of the last save")
    warnings: list[Problem] = Field(description="what a reviewer must acknowledge when checking")
    acknowledged_warnings: list[str]
    apply_errors: list[Problem] = Field(description="why the registry refused the last attempt to apply")
    created_by: str
    created_at: datetime
    submitted_at: datetime | None
    checked_by: str | None
    checked_at: datetime | None
    rechecked_by: str | None
    rechecked_at: datetime | None
    applied_by: str | None
    applied_at: datetime | None
    returned_by: str | None
    returned_at: datetime | None
    returned_from: str
    return_reason: str
    rejected_by: str | None
    rejected_at: datetime | None
    reject_reason: str
    staging: StagingOut | None = Field(
        description="for a form made by an import: the row as read beside what the rules made of it"
    )
    allowed_actions: list[str] = Field(description="what the caller may do with the form now")
    seen: str = Field(
        description="when the form last changed, to send back as `seen` with a write: a write over a form "
        "changed since is refused (409, form.changed)"
    )


class FormSummary(Schema):
    id: int
    label: str
    kind: str
    status: str
    status_since: datetime
    waiting_seconds: int
    commune_code: str
    full_name: str
    created_by: str
    return_reason: str = Field(description="why the form was returned to you; blank unless it was")


class QueueOut(Schema):
    statuses: list[str] = Field(description="the statuses that wait for the caller's role")
    counts: dict[str, int]
    total: int
    results: list[FormSummary] = Field(description="the forms returned to you first, then oldest first")


class Refusal(Schema):
    errors: list[Problem]


class QueueParams(Schema):
    limit: int = Field(100, ge=1, le=500)


class FormIn(BodySchema):
    kind: str = Field(max_length=4, description="DC01 or DC02")
    citizen_pin: str = Field("", max_length=20, description="the record a DC02 changes")
    data: dict[str, Any] = Field(
        description='DC01: {"full_name": ..., "commune_code": ..., "father_name": ..., "father_pin": ..., '
        '...}; DC02: {"changes": {field: new value}}'
    )
    document: str = Field("", max_length=_SHORT, description="the supporting document (mandatory for DC02)")
    reason: str = Field("", max_length=_SHORT)
    submission_key: UUID | None = Field(
        None,
        description="a key the client makes for this form (a UUID): the same key sent again makes no second "
        "form, and the answer is the form the first request made, with status 200",
    )


# The form's `seen` as the client last read it (FormOut.seen). Optional, so that a client written before
# it keeps working; without it the write is made over whatever the form holds now.
_SEEN_DESCRIPTION = (
    "the `seen` of the form as you last read it: when the form changed since (someone edited it or acted on "
    "it), nothing is done and the answer is 409 with form.changed. Optional; leave it out and the write "
    "goes over the form as it is now"
)


def _seen() -> Any:
    return Field(None, description=_SEEN_DESCRIPTION)


class ActionIn(BodySchema):
    """The body of a step that needs nothing else (/submit, /apply); the body itself may be left out."""

    seen: AwareDatetime | None = _seen()


class FormUpdateIn(BodySchema):
    data: dict[str, Any]
    document: str = Field("", max_length=_SHORT)
    reason: str = Field("", max_length=_SHORT)
    seen: AwareDatetime | None = _seen()


class ReviewIn(BodySchema):
    acknowledged_warnings: list[str] = Field(
        default_factory=list, max_length=50, description="codes of the warnings looked at and accepted"
    )
    seen: AwareDatetime | None = _seen()


class ReturnIn(BodySchema):
    reason: str = Field(max_length=_SHORT, description="what the author has to correct")
    seen: AwareDatetime | None = _seen()


# Imports ----------------------------------------------------------------------------------------------


class DiscardIn(BodySchema):
    reason: str = Field(max_length=_SHORT, description="why the run is given up (1–500 characters)")


class ImportRunsParams(Schema):
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=100)


class ImportProgressOut(Schema):
    step: str = Field(
        description="queued (waiting for a worker), reading (each row read and checked), staged (every row "
        "checked, nothing writing them: a server run of --stage-only), writing (into the registry and the "
        "review queues), then done, failed, interrupted or discarded"
    )
    done: int = Field(description="the rows of the current step done")
    total: int | None = Field(description="out of how many; null while a workbook's row count is unknown")
    percent: int | None
    remaining_seconds: int | None = Field(
        description="the estimated time the step still needs, while reading or writing; null until the "
        "step has run long enough to have a rate"
    )
    waiting_seconds: int | None = Field(description="for a queued run: how long it has waited for a worker")


class ImportLinksOut(Schema):
    self: str
    page: str = Field(description="the run's page on the web, for a person")
    rejected: str | None = Field(description="the rejected rows as XLSX; null while no row was rejected")
    resume: str | None = Field(description="POST here to resume the run; null unless you may resume it now")
    discard: str | None = Field(
        description="POST here, with a reason, to give the run up; null unless you may discard it now"
    )


class ImportRunSummary(Schema):
    id: int
    source: str = Field(description="the source name the file was imported under")
    file_name: str
    file_format: str = Field(description="csv or xlsx")
    file_size: int
    status: str = Field(description="running, done, failed or interrupted (`progress.step` says more)")
    started_by: str
    started_at: datetime
    finished_at: datetime | None = Field(description="when every row was read and checked")
    promoted_at: datetime | None = Field(description="when every checked row was written or filed")
    rows_total: int | None = Field(description="the rows the file holds, as estimated when it was uploaded")
    rows_read: int
    rows_accepted: int = Field(description="rows that passed every rule: written into the registry")
    rows_review: int = Field(description="rows filed as DC01 forms for the reviewers")
    rows_rejected: int
    rows_with_warnings: int
    rows_repaired: int
    rows_applied: int
    rows_queued: int
    progress: ImportProgressOut
    links: ImportLinksOut


class ImportRunPageOut(Schema):
    results: list[ImportRunSummary] = Field(description="newest first")
    page: int
    page_size: int
    has_next: bool


class RuleCountOut(Schema):
    code: str
    field: str = Field(description="the column, for a rule counted column by column; empty otherwise")
    count: int
    message_vi: str
    message_en: str


class ImportRunOut(ImportRunSummary):
    error: str = Field(description="why a failed run failed, with its rule code; empty otherwise")
    resume_on_server: Problem | None = Field(
        description="for an interrupted run that only the server can continue: how (the same dancu import "
        "command, run there again)"
    )
    issues: list[RuleCountOut] = Field(description="the rows by broken rule, the most frequent first")
    repairs: list[RuleCountOut] = Field(description="the rows by automatic repair, the most frequent first")
    review_forms: dict[str, int] | None = Field(
        description="once the run is done: the forms made from its rows for review, counted by status, in "
        "your area"
    )
    waiting_forms: int | None = Field(
        description="once the run is done: how many of those forms still wait for someone (neither applied "
        "nor rejected); GET /forms lists those waiting for you"
    )
