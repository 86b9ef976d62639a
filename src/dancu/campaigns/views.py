"""Leaders' pages: the campaigns, a unit's dashboard with its drill-down, targets, exports and reports."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.campaigns import exports, selectors, services
from dancu.campaigns.figures import Figures
from dancu.campaigns.forms import CampaignForm, DayForm, TargetForm
from dancu.campaigns.models import Campaign
from dancu.geo.models import AdminUnit
from dancu.lib.errors import DomainError, NotFoundError
from dancu.web.access import current_user, officer_required

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _campaign_or_404(user: User, pk: int) -> Campaign:
    try:
        return selectors.campaign_get(actor=user, pk=pk)
    except NotFoundError:
        raise Http404 from None


def _default_day(campaign: Campaign) -> date:
    # Today, or the last day once the campaign is over. Not the first day before it starts: the figures
    # up to the end of the first day ask for that day's target, and the page showed units as behind on
    # work nobody was due to have done yet, where the API (reading today) said nothing was due.
    return min(timezone.localdate(), campaign.ends_on)


def _figures(request: HttpRequest, pk: int, scope: str) -> tuple[Figures, DayForm]:
    user = current_user(request)
    campaign = _campaign_or_404(user, pk)
    form = DayForm(request.GET or None)
    default = _default_day(campaign)
    day, since = default, None
    if form.is_bound and form.is_valid():
        day = form.cleaned_data["day"] or day
        since = form.cleaned_data["since"]
    try:
        try:
            figures = selectors.figures_get(
                actor=user, campaign=campaign, scope=scope, as_of=day, since=since
            )
        except DomainError as exc:
            # A start after the default day (the form only compares two days typed): the page names
            # the field and shows the default figures, as it does for any other bad day.
            for problem in exc.errors:
                form.add_error(problem.field, problem.message(request.LANGUAGE_CODE))
            figures = selectors.figures_get(actor=user, campaign=campaign, scope=scope, as_of=default)
    except NotFoundError:
        raise Http404 from None
    return figures, form


def _scope_of(unit: AdminUnit | None) -> str:
    return selectors.COUNTRY if unit is None else unit.code


def _breadcrumbs(user: User, figures: Figures) -> list[tuple[str, str]]:
    """The units above this one that the reader may open, country first: (scope, name)."""
    chain: list[AdminUnit | None] = [None]
    if figures.unit is not None:
        chain += list(reversed(figures.unit.ancestors()))
    crumbs = []
    for unit in chain:
        try:
            selectors.unit_get(actor=user, scope=_scope_of(unit))
        except NotFoundError:
            continue
        crumbs.append((_scope_of(unit), unit.name if unit else _("Toàn quốc")))
    return crumbs


@officer_required
def campaign_list_view(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    return render(
        request,
        "campaigns/list.html",
        {
            "campaigns": selectors.campaign_list(actor=user),
            "home": selectors.home_scope(user),
            "can_create": services.may_set_target(user, None),
        },
    )


@officer_required
@require_http_methods(["GET", "POST"])
def campaign_new_view(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    if not services.may_set_target(user, None):
        raise PermissionDenied
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = services.campaign_create(
                actor=Actor(user),
                name=data["name"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                metrics=[services.MetricChoice(m, data["denominator"]) for m in data["metrics"]],
            )
        except DomainError as exc:
            for problem in exc.errors:
                # With the rule's code, as every other page's refusal: the code is what a helpdesk asks for.
                form.add_error(
                    problem.field if problem.field in form.fields else None,
                    f"{problem.message(request.LANGUAGE_CODE)} [{problem.code}]",
                )
        else:
            messages.success(request, _("Đã tạo chiến dịch."))
            return redirect("campaigns:dashboard", pk=campaign.pk, scope=selectors.COUNTRY)
    return render(request, "campaigns/new.html", {"form": form}, status=400 if form.errors else 200)


@officer_required
def dashboard_view(request: HttpRequest, pk: int, scope: str) -> HttpResponse:
    user = current_user(request)
    figures, form = _figures(request, pk, scope)
    language = request.LANGUAGE_CODE
    chart = {
        "labels": [d.day.strftime("%d/%m") for d in figures.metrics[0].days] if figures.metrics else [],
        "metrics": [
            {
                "code": m.metric.code,
                "daily": [d.count for d in m.days],
                "cumulative": [d.cumulative for d in m.days],
                "expected": [d.expected for d in m.days] if m.target is not None else [],
            }
            for m in figures.metrics
        ],
        "locale": "en-US" if language.startswith("en") else "vi-VN",
        "names": {
            "daily": _("Trong ngày"),
            "cumulative": _("Luỹ kế"),
            "expected": _("Cần đạt theo kế hoạch"),
        },
    }
    return render(
        request,
        "campaigns/dashboard.html",
        {
            "figures": figures,
            "campaign": figures.campaign,
            "scope": scope,
            "form": form,
            "crumbs": _breadcrumbs(user, figures),
            "chart": chart,
            "language": language,
            "unit_name": exports.unit_name(figures),
            "can_set_targets": services.may_set_targets_below(user, figures.unit),
            "reports": selectors.report_list(actor=user, campaign=figures.campaign, scope=scope)[:7],
            "query": request.GET.urlencode(),
        },
    )


@officer_required
def export_view(request: HttpRequest, pk: str, scope: str, fmt: str) -> HttpResponse:
    figures, _form = _figures(request, int(pk), scope)
    language = request.LANGUAGE_CODE
    name = f"chien-dich-{figures.campaign.pk}-{scope}-{figures.as_of.isoformat()}"
    if fmt == "xlsx":
        response = HttpResponse(exports.figures_xlsx(figures, language=language), content_type=XLSX)
    else:
        response = HttpResponse(
            exports.figures_pdf(figures, language=language), content_type="application/pdf"
        )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@officer_required
def report_view(request: HttpRequest, pk: str, scope: str, day: str, fmt: str) -> HttpResponse:
    user = current_user(request)
    campaign = _campaign_or_404(user, int(pk))
    try:
        report = selectors.report_get(actor=user, campaign=campaign, scope=scope, day=date.fromisoformat(day))
    except (NotFoundError, ValueError):
        raise Http404 from None
    body, content_type = (
        (bytes(report.pdf), "application/pdf") if fmt == "pdf" else (bytes(report.xlsx), XLSX)
    )
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="bao-cao-{campaign.pk}-{scope}-{day}.{fmt}"'
    return response


@officer_required
@require_http_methods(["GET", "POST"])
def targets_view(request: HttpRequest, pk: int, scope: str) -> HttpResponse:
    """The targets of the units directly below this one (and, for the ministry, the country's own)."""
    user = current_user(request)
    campaign = _campaign_or_404(user, pk)
    try:
        unit = selectors.unit_get(actor=user, scope=scope)
        history = selectors.target_history(actor=user, campaign=campaign, scope=scope)
    except NotFoundError:
        raise Http404 from None
    children = (
        AdminUnit.objects.filter(structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.PROVINCE)
        if unit is None
        else AdminUnit.objects.filter(parent=unit, level=AdminUnit.Level.COMMUNE)
    ).order_by("code")
    settable = [u for u in children if services.may_set_target(user, u)]
    units = [(u.code, f"{u.name} ({u.code})") for u in settable]
    if unit is None and services.may_set_target(user, None):
        units.insert(0, (selectors.COUNTRY, _("Toàn quốc")))
    campaign_metrics = {str(cm.pk): cm for cm in campaign.campaign_metrics.select_related("metric")}
    metric_choices = [(key, cm.metric.label(request.LANGUAGE_CODE)) for key, cm in campaign_metrics.items()]
    form = TargetForm(request.POST or None, metrics=metric_choices, units=units)
    if request.method == "POST":
        if not units:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            target_unit = (
                None
                if data["unit"] == selectors.COUNTRY
                else next(u for u in settable if u.code == data["unit"])
            )
            try:
                services.target_set(
                    actor=Actor(user),
                    campaign_metric=campaign_metrics[data["metric"]],
                    unit=target_unit,
                    total=data["total"],
                    per_day=data["per_day"],
                    reason=data["reason"],
                )
            except DomainError as exc:
                for problem in exc.errors:
                    field = problem.field if problem.field in form.fields else None
                    form.add_error(field, problem.message(request.LANGUAGE_CODE))
            except NotFoundError:
                raise Http404 from None
            else:
                messages.success(request, _("Đã lưu chỉ tiêu."))
                return redirect("campaigns:targets", pk=campaign.pk, scope=scope)
    context: dict[str, Any] = {
        "campaign": campaign,
        "scope": scope,
        "unit_name": unit.name if unit else _("Toàn quốc"),
        "form": form if units else None,
        "history": history,
    }
    return render(request, "campaigns/targets.html", context, status=400 if form.errors else 200)
