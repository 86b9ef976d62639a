"""The auditor's page: who read which citizen's data, when, how and why."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dancu.audit.forms import AccessLogForm
from dancu.audit.selectors import AccessLogQuery, access_log_newest_seal, access_log_search
from dancu.lib.errors import DomainError
from dancu.web.access import auditor_required, current_user
from dancu.web.forms import add_domain_errors


def _before(request: HttpRequest) -> int | None:
    """The page's starting point (an id from the "older" link); a value that is not one starts over."""
    text = request.GET.get("before", "")
    return int(text) if text.isdigit() and len(text) < 19 else None


@auditor_required
def access_log_view(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    params.pop("before", None)
    form = AccessLogForm(params or None)
    page = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        query = AccessLogQuery(
            reader=data.get("reader", ""),
            pin=data.get("pin", ""),
            since=data.get("since"),
            until=data.get("until"),
            action=data.get("action", ""),
            channel=data.get("channel", ""),
        )
        try:
            page = access_log_search(actor=current_user(request), query=query, before=_before(request))
        except DomainError as exc:
            add_domain_errors(form, exc, language=request.LANGUAGE_CODE)
    context = {
        "form": form,
        "page": page,
        "querystring": params.urlencode(),
        "seal": access_log_newest_seal(),
    }
    return render(request, "audit/access_log.html", context)
