"""The officer's home page and the settings every page shares (purpose of access, language)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dancu.accounts.models import User
from dancu.cards.selectors import open_application_counts
from dancu.collection.models import CollectionForm
from dancu.collection.selectors import form_queue_counts, queue_statuses
from dancu.matching.selectors import pending_pair_count
from dancu.registry.selectors import area_summary
from dancu.web.access import PURPOSE_LABELS, PURPOSES, View, current_user, officer_required


def _auditors_to_the_log(view: View) -> View:
    """An auditor's home is the access log: the auditor reads no records, so the officers' home (a
    summary of the area's records) would only refuse them. For the same reason an administrator's account
    without an officer's role (made with `dancu createsuperuser`) lands on the admin site, which is all it
    is for, rather than on a page that refuses it after its first sign-in."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if isinstance(user, User) and user.is_authenticated and user.role == User.Role.AUDITOR:
            return redirect("audit:access_log")
        if isinstance(user, User) and user.is_authenticated and user.is_staff and not user.role:
            return redirect("admin:index")
        return view(request, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class WaitingWork:
    """What waits for the officer, in counts: the first thing to see on a day of work."""

    forms: list[tuple[str, str, int]]  # (status, its name, how many) of the officer's own queue
    pairs: int | None  # None for an officer who does not decide pairs (a collector): not their work
    applications: int
    overdue: int

    @property
    def forms_total(self) -> int:
        return sum(count for _status, _name, count in self.forms)


def _waiting_work(user: User) -> WaitingWork:
    counts = form_queue_counts(user)
    applications, overdue = open_application_counts(user)
    return WaitingWork(
        forms=[
            (status, str(CollectionForm.Status(status).label), counts.get(status, 0))
            for status in queue_statuses(user)
        ],
        pairs=pending_pair_count(user),
        applications=applications,
        overdue=overdue,
    )


@_auditors_to_the_log
@officer_required
def home_view(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    return render(
        request,
        "web/home.html",
        {
            "work": _waiting_work(user),
            "summary": area_summary(actor=user),
            "purposes": PURPOSES,
            "purpose": request.session.get("purpose", "collection"),
        },
    )


@require_POST
@officer_required
def purpose_view(request: HttpRequest) -> HttpResponse:
    purpose = request.POST.get("purpose", "")
    if purpose in PURPOSE_LABELS:
        request.session["purpose"] = purpose
    next_url = request.POST.get("next", "/")
    # A path of this site only; not `redirect()`, which would take "abc" for the name of a view.
    if not next_url.startswith("/") or not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}
    ):
        next_url = "/"
    return HttpResponseRedirect(next_url)
