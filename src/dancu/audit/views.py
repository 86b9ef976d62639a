"""The auditor's page: who read which citizen's data, when, how and why."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from dancu.audit.exports import access_log_file
from dancu.audit.forms import AccessLogForm
from dancu.audit.selectors import (
    READERS_DAYS,
    AccessLogQuery,
    access_log_export,
    access_log_newest_seal,
    access_log_query_check,
    access_log_readers,
    access_log_search,
    access_log_unsealed_late,
)
from dancu.lib import downloads
from dancu.lib.errors import DomainError
from dancu.web.access import auditor_required, current_user
from dancu.web.converters import id_param, page_param
from dancu.web.forms import add_domain_errors


def _before(request: HttpRequest) -> int | None:
    """The page's starting point (an id from the "older" link); a value that is not one starts over."""
    return id_param(request.GET.get("before", ""))


def _query(data: dict[str, Any]) -> AccessLogQuery:
    return AccessLogQuery(
        reader=data.get("reader", ""),
        reader_id=data.get("reader_id"),
        job=data.get("job", ""),
        pin=data.get("pin", ""),
        since=data.get("since"),
        until=data.get("until"),
        action=data.get("action", ""),
        channel=data.get("channel", ""),
        without_audit=bool(data.get("without_audit")),
        at_night=bool(data.get("at_night")),
        outside_area=bool(data.get("outside_area")),
    )


def _checked(form: AccessLogForm, *, language: str) -> AccessLogQuery | None:
    """The query of the filter form, the empty filter when the form was not sent; None when the form
    refuses a field, the errors then on the form."""
    if not form.is_bound:
        return _query({})
    if form.is_valid():
        return _query(form.cleaned_data)
    # The fields the form took are judged by the log's rules too, so that every broken rule is named
    # at once: a date the form could not read hid a PIN with letters until the next try.
    taken = {name: value for name, value in form.cleaned_data.items() if name not in form.errors}
    try:
        access_log_query_check(_query(taken))
    except DomainError as exc:
        others = [problem for problem in exc.errors if problem.field not in form.errors]
        if others:
            add_domain_errors(form, DomainError(others), language=language)
    return None


@auditor_required
def access_log_view(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    params.pop("before", None)
    form = AccessLogForm(params or None)
    page = None
    query = _checked(form, language=request.LANGUAGE_CODE)
    if query is not None:
        try:
            page = access_log_search(actor=current_user(request), query=query, before=_before(request))
        except DomainError as exc:
            add_domain_errors(form, exc, language=request.LANGUAGE_CODE)
    seal = access_log_newest_seal()
    # The same filter for every reader, for the way back from one reader's rows.
    everyone = params.copy()
    for name in ("reader_id", "job"):
        everyone.pop(name, None)
    context = {
        "form": form,
        "page": page,
        "querystring": params.urlencode(),
        "without_exact_reader": everyone.urlencode(),
        "seal": seal,
        "unsealed_late": access_log_unsealed_late(seal=seal),
    }
    return render(request, "audit/access_log.html", context)


@auditor_required
def access_log_readers_view(request: HttpRequest) -> HttpResponse:
    """Who read how many citizens, under the log's own filter; each row links to that reader's rows."""
    params = request.GET.copy()
    params.pop("page", None)
    form = AccessLogForm(params or None)
    summary = None
    query = _checked(form, language=request.LANGUAGE_CODE)
    if query is not None:
        try:
            summary = access_log_readers(
                actor=current_user(request), query=query, page=page_param(request.GET.get("page"))
            )
        except DomainError as exc:
            add_domain_errors(form, exc, language=request.LANGUAGE_CODE)
    # The link of each reader to the log: the same filter and the days counted, for that reader exactly
    # (an account by its id, a job by its whole label). The name typed is dropped: as a part of names it
    # found "lan2" with "lan", and the reader chosen is narrower than any text that found them.
    links = []
    if summary is not None:
        for tally in summary.rows:
            filtered = params.copy()
            for name in ("reader", "reader_id", "job"):
                filtered.pop(name, None)
            filtered["since"] = summary.since.isoformat()
            if tally.account_id is not None:
                filtered["reader_id"] = str(tally.account_id)
            else:
                filtered["job"] = tally.reader
            links.append((tally, filtered.urlencode()))
    context = {
        "form": form,
        "summary": summary,
        "links": links,
        "querystring": params.urlencode(),
        "default_days": READERS_DAYS,
    }
    return render(request, "audit/access_readers.html", context)


@auditor_required
def access_log_export_view(request: HttpRequest, file_format: str) -> HttpResponse:
    """Every row the page's filter finds, as a file; each citizen in it is written to the log as an
    export. A filter that breaks a rule is answered by the page, with the rule named beside its field."""
    if file_format not in downloads.FORMATS:
        raise Http404
    form = AccessLogForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return access_log_view(request)
    data = form.cleaned_data if form.is_bound else {}
    try:
        rows = access_log_export(actor=current_user(request), query=_query(data))
    except DomainError:
        return access_log_view(request)
    return access_log_file(rows, file_format=file_format)
