"""API shapes of the auditor's access log. The filters are loose; the selector applies the rules and names
them, as for the page."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema

from dancu.web.converters import LAST_PAGE


class AccessLogParams(Schema):
    reader: str = Field("", description="a part of the reading account's name or of the system job's label")
    reader_id: int | None = Field(
        None, description="one reading account exactly, by its id (the readers summary's account_id)"
    )
    job: str = Field("", description="one system job exactly, by its whole label")
    pin: str = Field("", description="the PIN of the citizen read")
    since: date | None = Field(None, description="first day, inclusive, in Vietnam's time")
    until: date | None = Field(None, description="last day, inclusive, in Vietnam's time")
    action: str = Field("", description="view, search, export, history, process or verify")
    channel: str = Field("", description="web, api, cli or job")
    without_audit: bool = Field(False, description="leave out the auditors' own reads of the log")
    at_night: bool = Field(False, description="only the reads made from 22:00 to 06:00, Vietnam's time")
    outside_area: bool = Field(
        False,
        description="only the reads of citizens outside the area of the reader's police unit (system jobs "
        "and the ministry included); the citizen's area is where they live now",
    )


class AccessLogPageParams(AccessLogParams):
    before: int | None = Field(
        None, ge=1, le=2**63 - 1, description="the next_before of the previous page; omit for the newest"
    )


class AccessRowOut(Schema):
    id: int
    accessed_at: datetime
    reader: str = Field(description="the account's name at the time, or the system job's label")
    reader_unit: str | None = Field(
        description="the reading account's police unit when it read (an officer moved since takes no "
        "past read along); null for a system job"
    )
    citizen_pin: str
    citizen_name: str
    action: str
    channel: str
    purpose: str
    detail: str


class AccessLogOut(Schema):
    rows: list[AccessRowOut] = Field(description="newest first, at most 50")
    next_before: int | None = Field(
        description="pass as `before` for the next (older) page; null on the last"
    )


class AccessReadersParams(AccessLogParams):
    page: int = Field(1, ge=1, le=LAST_PAGE, description="the page of readers, from 1")


class ReaderTallyOut(Schema):
    reader: str = Field(description="the account's name now, or the system job's label")
    account_id: int | None = Field(description="the reading account; null for a system job")
    reads: int
    citizens: int = Field(description="distinct citizen records read")
    night_reads: int = Field(description="reads made from 22:00 to 06:00, Vietnam's time")
    first_read: datetime
    last_read: datetime


class AccessReadersOut(Schema):
    rows: list[ReaderTallyOut] = Field(
        description="a row per reader, the most citizens read first, at most 50 a page"
    )
    readers: int = Field(description="the readers the filter finds, on every page")
    page: int
    pages: int
