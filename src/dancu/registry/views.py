"""Registry pages: search, citizen record, history, household, and the writes an officer makes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.geo.models import AdminUnit
from dancu.geo.selectors import unit_get
from dancu.lib import downloads
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry import exports, selectors, services
from dancu.registry.forms import (
    AbsenceCorrectForm,
    AbsenceForm,
    AbsenceReturnForm,
    AbsenceWithdrawForm,
    ArrivalForm,
    CitizenForm,
    HeadChangeForm,
    HouseholdNewForm,
    HouseholdSplitForm,
    MemberForm,
    ResidenceEndForm,
    ResidenceForm,
    ResidenceRenewForm,
    SearchForm,
    StateOnForm,
    StayForm,
    StaySearchForm,
)
from dancu.registry.models import AbsenceDeclaration, Citizen, Relation, Residence
from dancu.web.access import current_user, officer_required, purpose_of
from dancu.web.converters import page_param
from dancu.web.forms import add_domain_errors


@officer_required
def search_view(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    page = None
    if form.is_valid():
        query = selectors.CitizenQuery(
            text=form.cleaned_data["q"],
            birth=form.cleaned_data["birth"],
            commune_code=form.cleaned_data["commune"],
            legacy_commune_code=form.cleaned_data["legacy_commune"],
            address=form.cleaned_data["address"],
        )
        try:
            page = selectors.citizen_search(
                actor=current_user(request),
                query=query,
                page=page_param(request.GET.get("page")),
                purpose=purpose_of(request),
            )
        except DomainError as exc:
            add_domain_errors(
                form,
                exc,
                language=request.LANGUAGE_CODE,
                field_map={"commune_code": "commune", "legacy_commune_code": "legacy_commune"},
            )
    if page is not None and page.exact is not None:
        # A full PIN or CMND of one record in the officer's area opens that record, the search logged as
        # every search is. The search box sends its request by HTMX, which is told to load the record as
        # a page rather than put it in place of the results.
        record = reverse("registry:citizen", kwargs={"pk": page.exact.pk})
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(record)
        return redirect(record)
    # An HTMX request from the search box replaces only the results, keeping what the officer typed.
    template = "registry/_results.html" if getattr(request, "htmx", False) else "registry/search.html"
    # The pager's links carry the search without its page, to which each adds its own.
    criteria = request.GET.copy()
    criteria.pop("page", None)
    return render(request, template, {"form": form, "page": page, "querystring": criteria.urlencode()})


def _citizen_or_404(request: HttpRequest, pk: int) -> Citizen:
    try:
        return selectors.citizen_get(actor=current_user(request), pk=pk, purpose=purpose_of(request))
    except NotFoundError:
        raise Http404 from None


@officer_required
def citizen_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        # Nothing is read here, so nothing is logged: the page's own read logs, once.
        current = selectors.citizen_current_id(actor=current_user(request), pk=pk)
    except NotFoundError:
        raise Http404 from None
    if current != pk:
        # The record asked for was merged into another: its page is the kept record's, under the kept
        # record's address, with a word why, rather than another person's PIN under the old address.
        messages.info(request, _("Hồ sơ bạn mở đã được hợp nhất vào hồ sơ này, hồ sơ được giữ lại"))
        return redirect("registry:citizen", pk=current)
    citizen = _citizen_or_404(request, pk)
    # Read from the memberships loaded with the record: a person in no household now may open one.
    current_household = any(m.left_on is None for m in citizen.household_memberships.all())
    return render(
        request,
        "registry/citizen.html",
        {"citizen": citizen, "state_form": StateOnForm(), "current_household": current_household},
    )


@officer_required
def citizen_history_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = current_user(request)
    try:
        # The id of a record merged away leads to the history of the record kept, as its page does.
        pk = selectors.citizen_current_id(actor=actor, pk=pk)
        versions = selectors.citizen_history(actor=actor, citizen_id=pk, purpose=purpose_of(request))
    except NotFoundError:
        raise Http404 from None
    state_form = StateOnForm(request.GET or None)
    state = None
    asked = False
    if state_form.is_valid():
        asked = True
        state = selectors.citizen_state_on(
            actor=actor, citizen_id=pk, when=state_form.cleaned_data["on"], purpose=purpose_of(request)
        )
    # The records merged into this one keep their own history, readable here.
    merged = selectors.citizen_merged_history(actor=actor, citizen_id=pk, purpose=purpose_of(request))
    unit_ids: set[int] = set()
    for version in versions:
        unit_ids |= selectors.snapshot_unit_ids(version.snapshot)
    return render(
        request,
        "registry/history.html",
        {
            "citizen_id": pk,
            "merged": merged,
            "current": versions[0].snapshot if versions else {},
            "versions": versions,
            "state_form": state_form,
            "state": state,
            "asked": asked,
            "units": selectors.units_by_id(unit_ids),
        },
    )


def _commune_or_error(form: forms.Form, field: str, code: str) -> AdminUnit | None:
    try:
        return unit_get(structure="2025", level="commune", code=code.strip())
    except ObjectDoesNotExist:
        form.add_error(field, _("Không có xã/phường/đặc khu với mã này [unit.unknown]"))
        return None


def _own_commune_initial(request: HttpRequest) -> dict[str, str]:
    """The officer's own commune (of today's units) as a form's default commune code, as on the DC01: a
    commune police officer registers people of their commune, and types its code at every form otherwise."""
    user = current_user(request)
    area = user.police_unit.admin_unit if user.police_unit else None
    if area is None or area.level != "commune" or area.is_legacy:
        return {}
    return {"commune_code": area.code}


@officer_required
@require_http_methods(["GET", "POST"])
def citizen_new_view(request: HttpRequest) -> HttpResponse:
    form = CitizenForm(
        request.POST or None,
        initial={**_own_commune_initial(request), "registered_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        commune = _commune_or_error(form, "commune_code", data["commune_code"])
        if commune is not None:
            personal = {k: v for k, v in data.items() if k in services.NewCitizen.__dataclass_fields__}
            try:
                citizen = services.citizen_create(
                    actor=Actor(current_user(request)),
                    data=services.NewCitizen(**personal),
                    residence=services.NewResidence(
                        kind=data["residence_kind"],
                        commune=commune,
                        address_detail=data["address_detail"],
                        registered_on=data["registered_on"],
                        expires_on=data["expires_on"],
                    ),
                    reason=data["reason"],
                    source_document=data["source_document"],
                    not_a_duplicate=data["not_a_duplicate"],
                )
            except DomainError as exc:
                add_domain_errors(
                    form,
                    exc,
                    language=request.LANGUAGE_CODE,
                    field_map={"commune": "commune_code", "kind": "residence_kind"},
                )
            else:
                messages.success(request, _("Đã tạo hồ sơ công dân %(pin)s") % {"pin": citizen.pin})
                return redirect("registry:citizen", pk=citizen.pk)
    if "not_a_duplicate" not in form.errors and not form.data.get("not_a_duplicate"):
        # The confirmation is asked for once the registry has named a possible duplicate, not before: a box
        # on every blank form would be ticked by habit.
        del form.fields["not_a_duplicate"]
    return render(request, "registry/citizen_form.html", {"form": form})


@officer_required
@require_http_methods(["GET", "POST"])
def residence_new_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = current_user(request)
    try:
        citizen = selectors.citizen_get(actor=actor, pk=pk, purpose=purpose_of(request))
    except NotFoundError:
        raise Http404 from None
    form = ResidenceForm(
        request.POST or None,
        initial={**_own_commune_initial(request), "registered_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        commune = _commune_or_error(form, "commune_code", data["commune_code"])
        if commune is not None:
            try:
                services.residence_register(
                    actor=Actor(actor),
                    citizen=citizen,
                    kind=data["kind"],
                    commune=commune,
                    address_detail=data["address_detail"],
                    registered_on=data["registered_on"],
                    expires_on=data["expires_on"],
                    reason=data["reason"],
                    source_document=data["source_document"],
                )
            except DomainError as exc:
                add_domain_errors(
                    form, exc, language=request.LANGUAGE_CODE, field_map={"commune": "commune_code"}
                )
            else:
                messages.success(request, _("Đã đăng ký cư trú"))
                return redirect("registry:citizen", pk=citizen.pk)
    return render(request, "registry/residence_form.html", {"form": form, "citizen": citizen})


def _card_refused(request: HttpRequest, form: forms.Form, exc: DomainError) -> int | None:
    """A refused arrival or stay (both typed from a card): its errors on the form, a refusal of the officer
    shown on the PIN; and the record of someone of the commune already, which the page links to."""
    add_domain_errors(form, exc, language=request.LANGUAGE_CODE, field_map={"actor": "pin"})
    return next((e.params["citizen_id"] for e in exc.errors if e.code == "arrival.in_area"), None)


@officer_required
@require_http_methods(["GET", "POST"])
def arrival_new_view(request: HttpRequest) -> HttpResponse:
    """Đăng ký thường trú cho người chuyển đến: a person of another commune moves into the officer's."""
    actor = current_user(request)
    if not actor.registers_arrivals:
        raise PermissionDenied
    # A household's page sends a person it could not add here (household_member_new_view), with the
    # household and the relation to fill in; the form checks them as it checks what is typed.
    prefilled = {k: request.GET[k] for k in ("household_number", "relation_to_head") if k in request.GET}
    form = ArrivalForm(request.POST or None, initial={"registered_on": timezone.localdate(), **prefilled})
    in_area = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            citizen = services.residence_arrival_register(
                actor=Actor(actor),
                pin=data["pin"],
                full_name=data["full_name"],
                birth_date=data["birth_date"],
                registered_on=data["registered_on"],
                household_number=data["household_number"],
                relation_to_head=data["relation_to_head"],
                address_detail=data["address_detail"],
                reason=data["reason"],
                source_document=data["source_document"],
            )
        except DomainError as exc:
            in_area = _card_refused(request, form, exc)
        else:
            messages.success(
                request, _("Đã đăng ký thường trú cho người chuyển đến %(pin)s") % {"pin": citizen.pin}
            )
            return redirect("registry:citizen", pk=citizen.pk)
    return render(
        request,
        "registry/arrival_form.html",
        {
            "form": form,
            "commune": actor.police_unit.admin_unit if actor.police_unit else None,
            "in_area": in_area,
        },
    )


def _current_residence_or_404(citizen: Citizen, rid: int) -> Residence:
    residence = next((r for r in citizen.residences.all() if r.pk == rid and r.ended_on is None), None)
    if residence is None:
        raise Http404
    return residence


def _back(reached: selectors.Reached) -> str:
    """The page a write on a citizen came from, where it goes back to: the stay's, for a person reached
    through their stay in the area, or the record's."""
    if reached.stay is not None:
        return reverse("registry:stay", args=[reached.stay.pk])
    return reverse("registry:citizen", args=[reached.citizen.pk])


def _record_or_stay(request: HttpRequest, pk: int, *, rid: int | None = None) -> selectors.Reached:
    """The citizen `pk` through their record or their stay in the officer's area (selectors
    .citizen_or_stay_get); 404 when neither is the officer's."""
    try:
        return selectors.citizen_or_stay_get(
            actor=current_user(request), pk=pk, stay_id=rid, purpose=purpose_of(request)
        )
    except NotFoundError:
        raise Http404 from None


def _residence_for_change(request: HttpRequest, pk: int, rid: int) -> tuple[selectors.Reached, Residence]:
    """The citizen and the current residence an end or a renewal is for: a residence of the record, or
    the stay the citizen was reached through."""
    reached = _record_or_stay(request, pk, rid=rid)
    return reached, reached.stay or _current_residence_or_404(reached.citizen, rid)


@officer_required
@require_http_methods(["GET", "POST"])
def residence_end_view(request: HttpRequest, pk: int, rid: int) -> HttpResponse:
    """Chấm dứt a residence: xoá đăng ký tạm trú, or a permanent residence or place of living left."""
    actor = current_user(request)
    reached, residence = _residence_for_change(request, pk, rid)
    form = ResidenceEndForm(request.POST or None, initial={"ended_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.residence_end(
                actor=Actor(actor),
                residence=residence,
                ended_on=data["ended_on"],
                reason=data["reason"],
                source_document=data["source_document"],
            )
        except DomainError as exc:
            add_domain_errors(form, exc, language=request.LANGUAGE_CODE)
        else:
            messages.success(request, _("Đã chấm dứt nơi cư trú"))
            # An ended stay has no page of its own any more: back to the area's list of stays.
            return redirect(reverse("registry:stays") if reached.stay is not None else _back(reached))
    return render(
        request,
        "registry/residence_change_form.html",
        {
            "form": form,
            "citizen": reached.citizen,
            "residence": residence,
            "back": _back(reached),
            "title": _("Chấm dứt nơi cư trú"),
        },
    )


@officer_required
@require_http_methods(["GET", "POST"])
def residence_renew_view(request: HttpRequest, pk: int, rid: int) -> HttpResponse:
    """Gia hạn tạm trú: a later end date for a current temporary residence."""
    actor = current_user(request)
    reached, residence = _residence_for_change(request, pk, rid)
    form = ResidenceRenewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.residence_renew(
                actor=Actor(actor),
                residence=residence,
                expires_on=data["expires_on"],
                reason=data["reason"],
                source_document=data["source_document"],
            )
        except DomainError as exc:
            add_domain_errors(form, exc, language=request.LANGUAGE_CODE)
        else:
            messages.success(request, _("Đã gia hạn tạm trú"))
            return redirect(_back(reached))
    return render(
        request,
        "registry/residence_change_form.html",
        {
            "form": form,
            "citizen": reached.citizen,
            "residence": residence,
            "back": _back(reached),
            "title": _("Gia hạn tạm trú"),
        },
    )


@officer_required
def stays_view(request: HttpRequest) -> HttpResponse:
    """Người tạm trú trong địa bàn: who stays in the officer's area, the stays past their end date first."""
    # Bound even without a filter: the page opens on the whole list.
    form = StaySearchForm(request.GET)
    page = None
    if form.is_valid():
        try:
            page = selectors.stays_list(
                actor=current_user(request),
                text=form.cleaned_data["q"],
                expired_only=form.cleaned_data["expired"],
                page=page_param(request.GET.get("page")),
                purpose=purpose_of(request),
            )
        except DomainError as exc:
            add_domain_errors(form, exc, language=request.LANGUAGE_CODE)
    criteria = request.GET.copy()
    criteria.pop("page", None)
    return render(
        request, "registry/stays.html", {"form": form, "page": page, "querystring": criteria.urlencode()}
    )


@officer_required
def stays_export_view(request: HttpRequest, file_format: str) -> HttpResponse:
    """The list's stays, every one of them, as CSV or XLSX; each person written to the file is written to
    the access log first."""
    if file_format not in downloads.FORMATS:
        raise Http404
    form = StaySearchForm(request.GET)
    actor = current_user(request)
    today = timezone.localdate()
    stays = None
    if form.is_valid():
        try:
            stays = selectors.stays_export(
                actor=actor,
                text=form.cleaned_data["q"],
                expired_only=form.cleaned_data["expired"],
                purpose=purpose_of(request),
                today=today,
            )
        except DomainError:
            stays = None
    if stays is None:
        # The list with the same filter names what is wrong with it, beside the field.
        refused = stays_view(request)
        refused.status_code = 400
        return refused
    area = actor.police_unit.admin_unit if actor.police_unit else None
    return exports.stays_file(stays, area=area, file_format=file_format, today=today)


@officer_required
def stay_view(request: HttpRequest, rid: int) -> HttpResponse:
    """A stay in the officer's area: who stays, where they come from, the stay, and its renewal and end."""
    actor = current_user(request)
    try:
        stay = selectors.stay_get(actor=actor, pk=rid, purpose=purpose_of(request))
    except NotFoundError:
        raise Http404 from None
    try:
        # An officer who answers for the record too (the same commune, or a province over both) is given
        # the link to it; nothing is read here, the record's page logs its own read.
        record_id: int | None = selectors.citizen_current_id(actor=actor, pk=stay.citizen_id)
    except NotFoundError:
        record_id = None
    return render(request, "registry/stay.html", {"stay": stay, "record_id": record_id})


@officer_required
@require_http_methods(["GET", "POST"])
def stay_new_view(request: HttpRequest) -> HttpResponse:
    """Đăng ký tạm trú for a person whose record lies in another commune, from their card."""
    actor = current_user(request)
    if not actor.registers_arrivals:
        raise PermissionDenied
    today = timezone.localdate()
    form = StayForm(request.POST or None, initial={"registered_on": today})
    in_area = stay_here = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            stay = services.residence_stay_register(
                actor=Actor(actor),
                pin=data["pin"],
                full_name=data["full_name"],
                birth_date=data["birth_date"],
                address_detail=data["address_detail"],
                registered_on=data["registered_on"],
                expires_on=data["expires_on"],
                reason=data["reason"],
                source_document=data["source_document"],
            )
        except DomainError as exc:
            in_area = _card_refused(request, form, exc)
            if any(e.code == "residence.unchanged" for e in exc.errors):
                # The card matched and the person stays at this very address of the commune already: the
                # form sent twice, or a stay registered before. Its page, which the officer may read, is
                # where to go on.
                try:
                    stay_here = selectors.stay_get(
                        actor=actor, pin=data["pin"].strip(), purpose=purpose_of(request)
                    ).pk
                except NotFoundError:
                    stay_here = None
        else:
            messages.success(request, _("Đã đăng ký tạm trú"))
            return redirect("registry:stay", rid=stay.pk)
    return render(
        request,
        "registry/stay_form.html",
        {
            "form": form,
            "commune": actor.police_unit.admin_unit if actor.police_unit else None,
            "in_area": in_area,
            "stay_here": stay_here,
        },
    )


@officer_required
@require_http_methods(["GET", "POST"])
def absence_new_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Khai báo tạm vắng, from the record page or from the page of a stay in the officer's area."""
    actor = current_user(request)
    reached = _record_or_stay(request, pk)
    citizen = reached.citizen
    form = AbsenceForm(request.POST or None, initial={"starts_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.absence_declare(
                actor=Actor(actor),
                citizen=citizen,
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                destination=data["destination"],
                reason=data["reason"],
                source_document=data["source_document"],
            )
        except DomainError as exc:
            add_domain_errors(form, exc, language=request.LANGUAGE_CODE)
        else:
            messages.success(request, _("Đã khai báo tạm vắng"))
            return redirect(_back(reached))
    return render(
        request,
        "registry/absence_form.html",
        {
            "form": form,
            "citizen": citizen,
            "absence": None,
            "back": _back(reached),
            "title": _("Khai báo tạm vắng"),
        },
    )


def _open_absence_or_404(citizen: Citizen, aid: int) -> AbsenceDeclaration:
    # Another citizen's declaration, or one already closed or withdrawn, is not found here, as an unknown
    # id is.
    absence = next(
        (
            a
            for a in citizen.absences.all()
            if a.pk == aid and a.returned_on is None and a.withdrawn_on is None
        ),
        None,
    )
    if absence is None:
        raise Http404
    return absence


@officer_required
@require_http_methods(["GET", "POST"])
def absence_return_view(request: HttpRequest, pk: int, aid: int) -> HttpResponse:
    """Đã trở về: the person came back before the end of the declared absence."""
    actor = current_user(request)
    reached = _record_or_stay(request, pk)
    citizen = reached.citizen
    absence = _open_absence_or_404(citizen, aid)
    form = AbsenceReturnForm(request.POST or None, initial={"returned_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.absence_return(
                actor=Actor(actor),
                absence=absence,
                returned_on=data["returned_on"],
                reason=data["reason"],
                source_document=data["source_document"],
            )
        except DomainError as exc:
            add_domain_errors(form, exc, language=request.LANGUAGE_CODE)
        else:
            messages.success(request, _("Đã ghi nhận công dân trở về"))
            return redirect(_back(reached))
    return render(
        request,
        "registry/absence_form.html",
        {
            "form": form,
            "citizen": citizen,
            "absence": absence,
            "back": _back(reached),
            "title": _("Trở về trước thời hạn tạm vắng"),
        },
    )


@officer_required
@require_http_methods(["GET", "POST"])
def absence_edit_view(request: HttpRequest, pk: int, aid: int) -> HttpResponse:
    """Sửa khai báo tạm vắng: a wrong date, destination or reason, or a stay longer than declared."""
    actor = current_user(request)
    reached = _record_or_stay(request, pk)
    citizen = reached.citizen
    absence = _open_absence_or_404(citizen, aid)
    initial = {
        "starts_on": absence.starts_on,
        "ends_on": absence.ends_on,
        "destination": absence.destination,
        "absence_reason": absence.reason,
    }
    form = AbsenceCorrectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.absence_correct(
                actor=Actor(actor),
                absence=absence,
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                destination=data["destination"],
                absence_reason=data["absence_reason"],
                reason=data["reason"],
                source_document=data["source_document"],
            )
        except DomainError as exc:
            add_domain_errors(form, exc, language=request.LANGUAGE_CODE)
        else:
            messages.success(request, _("Đã sửa khai báo tạm vắng"))
            return redirect(_back(reached))
    return render(
        request,
        "registry/absence_form.html",
        {
            "form": form,
            "citizen": citizen,
            "absence": absence,
            "back": _back(reached),
            "title": _("Sửa khai báo tạm vắng"),
        },
    )


@officer_required
@require_http_methods(["GET", "POST"])
def absence_withdraw_view(request: HttpRequest, pk: int, aid: int) -> HttpResponse:
    """Huỷ khai báo tạm vắng: the person does not leave after all, before the declared period begins."""
    actor = current_user(request)
    reached = _record_or_stay(request, pk)
    citizen = reached.citizen
    absence = _open_absence_or_404(citizen, aid)
    form = AbsenceWithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.absence_withdraw(
                actor=Actor(actor),
                absence=absence,
                reason=data["reason"],
                source_document=data["source_document"],
            )
        except DomainError as exc:
            add_domain_errors(form, exc, language=request.LANGUAGE_CODE)
        else:
            messages.success(request, _("Đã huỷ khai báo tạm vắng"))
            return redirect(_back(reached))
    return render(
        request,
        "registry/absence_form.html",
        {
            "form": form,
            "citizen": citizen,
            "absence": absence,
            "back": _back(reached),
            "title": _("Huỷ khai báo tạm vắng"),
        },
    )


@officer_required
def household_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = current_user(request)
    try:
        household, members = selectors.household_get(actor=actor, pk=pk, purpose=purpose_of(request))
        versions = selectors.household_history(actor=actor, pk=pk)
    except NotFoundError:
        raise Http404 from None
    return render(
        request,
        "registry/household.html",
        {
            "household": household,
            "members": members,
            "has_head": any(m.relation_to_head == Relation.HEAD for m in members),
            "versions": versions,
        },
    )


def _household_initial(request: HttpRequest, citizen: Citizen) -> dict[str, Any]:
    """Where a new household starts: at the person's permanent residence when they have one in a 2025
    commune (a newborn registered with their mother, a person who left their parents' household), else
    in the officer's own commune; opened today."""
    initial: dict[str, Any] = {**_own_commune_initial(request), "registered_on": timezone.localdate()}
    home = next(
        (
            r
            for r in citizen.residences.all()
            if r.kind == Residence.Kind.PERMANENT and r.ended_on is None and r.commune is not None
        ),
        None,
    )
    if home is not None:
        initial.update(commune_code=home.commune.code, address_detail=home.address_detail)
    return initial


@officer_required
@require_http_methods(["GET", "POST"])
def household_new_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Lập hộ mới, from the record of a person of the commune who is in no household: they are its head."""
    actor = current_user(request)
    try:
        citizen = selectors.citizen_get(actor=actor, pk=pk, purpose=purpose_of(request))
    except NotFoundError:
        raise Http404 from None
    form = HouseholdNewForm(request.POST or None, initial=_household_initial(request, citizen))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        commune = _commune_or_error(form, "commune_code", data["commune_code"])
        if commune is not None:
            try:
                household = services.household_create(
                    actor=Actor(actor),
                    head=citizen,
                    commune=commune,
                    address_detail=data["address_detail"],
                    registered_on=data["registered_on"],
                    reason=data["reason"],
                    source_document=data["source_document"],
                )
            except DomainError as exc:
                # The head is the person whose page this is: a refusal about them (dead, in a household
                # already) is about the whole form, shown on top in words, not led by the name "head".
                add_domain_errors(
                    form,
                    exc,
                    language=request.LANGUAGE_CODE,
                    field_map={"commune": "commune_code", "head": ""},
                )
            else:
                messages.success(request, _("Đã lập hộ số %(number)s") % {"number": household.number})
                return redirect("registry:household", pk=household.pk)
    # A person in a household already (the form sent twice, the first time opening it) is shown the
    # household they are in, read with the record, and the way to it.
    in_household = next((m.household for m in citizen.household_memberships.all() if m.left_on is None), None)
    return render(
        request,
        "registry/household_form.html",
        {"form": form, "citizen": citizen, "in_household": in_household},
    )


@officer_required
@require_http_methods(["GET", "POST"])
def household_member_new_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = current_user(request)
    try:
        household, _members = selectors.household_get(actor=actor, pk=pk, purpose=purpose_of(request))
    except NotFoundError:
        raise Http404 from None
    form = MemberForm(request.POST or None, initial={"joined_on": timezone.localdate()})
    arrival = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # The form has refused a PIN of the wrong shape (`MemberForm.clean_pin`).
            citizen = selectors.citizen_get(
                actor=actor, pin=data["pin"], purpose=purpose_of(request), channel=AccessLog.Channel.WEB
            )
        except NotFoundError:
            form.add_error("pin", _("Không tìm thấy công dân trong địa bàn [citizen.not_found]"))
            if actor.registers_arrivals:
                # A person whose record lies in another commune joins the household by moving in, which
                # finds the record from the card: the refusal leads there with the household and the
                # relation filled in. Not the PIN: an address ends up in logs and browser history. The
                # link is offered for any PIN not found here, so it says nothing of whether one exists.
                arrival = (
                    reverse("registry:arrival_new")
                    + "?"
                    + urlencode(
                        {"household_number": household.number, "relation_to_head": data["relation_to_head"]}
                    )
                )
        else:
            try:
                services.household_add_member(
                    actor=Actor(actor),
                    household=household,
                    citizen=citizen,
                    relation_to_head=data["relation_to_head"],
                    joined_on=data["joined_on"],
                    reason=data["reason"],
                    source_document=data["source_document"],
                )
            except DomainError as exc:
                add_domain_errors(
                    form,
                    exc,
                    language=request.LANGUAGE_CODE,
                    field_map={"citizen": "pin", "registered_on": "joined_on"},
                )
            else:
                messages.success(request, _("Đã thêm thành viên vào hộ"))
                return redirect("registry:household", pk=household.pk)
    return render(
        request, "registry/member_form.html", {"form": form, "household": household, "arrival": arrival}
    )


@officer_required
@require_http_methods(["GET", "POST"])
def household_head_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Thay đổi chủ hộ, from the household's page: the step a head must take before moving away."""
    actor = current_user(request)
    try:
        household, members = selectors.household_get(actor=actor, pk=pk, purpose=purpose_of(request))
    except NotFoundError:
        raise Http404 from None
    form = HeadChangeForm(request.POST or None, members=members, initial={"changed_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # One of the members read with the household, the head among them (the form sent twice names the
        # head it made); or else a record of the area, gone from the household since the page was shown,
        # which the change refuses as no member.
        new_head = next((m.citizen for m in members if m.citizen.pin == data["new_head"]), None)
        if new_head is None:
            try:
                new_head = selectors.citizen_get(
                    actor=actor,
                    pin=data["new_head"].strip(),
                    purpose=purpose_of(request),
                    channel=AccessLog.Channel.WEB,
                )
            except NotFoundError:
                form.add_error("new_head", _("Không tìm thấy công dân trong địa bàn [citizen.not_found]"))
        if new_head is not None:
            try:
                services.household_change_head(
                    actor=Actor(actor),
                    household=household,
                    new_head=new_head,
                    previous_head_relation=data.get("previous_head_relation", ""),
                    changed_on=data["changed_on"],
                    reason=data["reason"],
                    source_document=data["source_document"],
                )
            except DomainError as exc:
                add_domain_errors(form, exc, language=request.LANGUAGE_CODE)
            else:
                messages.success(request, _("Đã thay đổi chủ hộ"))
                return redirect("registry:household", pk=household.pk)
    return render(
        request, "registry/head_form.html", {"form": form, "household": household, "members": members}
    )


@officer_required
@require_http_methods(["GET", "POST"])
def household_split_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Tách hộ, from the household's page: members ticked out of it form a household at the same address,
    whose page the officer lands on."""
    actor = current_user(request)
    try:
        household, members = selectors.household_get(actor=actor, pk=pk, purpose=purpose_of(request))
    except NotFoundError:
        raise Http404 from None
    form = HouseholdSplitForm(
        request.POST or None, members=members, initial={"split_on": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        shown = {m.citizen.pin: m.citizen for m in members}
        chosen: list[services.SplitMember] = []
        # The split names a member by their place in the list it is given ("members.1"); the page shows
        # the refusal under the members, or beside the member's relation.
        field_map: dict[str, str] = {}
        for index, pin in enumerate(data["members"]):
            citizen = shown.get(pin)
            if citizen is None:
                # Ticked on a page that listed them, and gone from the household since: the split says so,
                # if the record is one the officer may read at all.
                try:
                    citizen = selectors.citizen_get(
                        actor=actor,
                        pin=pin.strip(),
                        purpose=purpose_of(request),
                        channel=AccessLog.Channel.WEB,
                    )
                except NotFoundError:
                    form.add_error("members", _("Không tìm thấy công dân trong địa bàn [citizen.not_found]"))
                    continue
            relation_field = HouseholdSplitForm.relation_field(pin)
            relation = data.get(relation_field, request.POST.get(relation_field, ""))
            field_map[f"members.{index}"] = "members"
            field_map[f"members.{index}.relation_to_head"] = (
                relation_field if relation_field in form.fields else "members"
            )
            chosen.append(services.SplitMember(citizen=citizen, relation_to_head=relation))
        new_head = next((m.citizen for m in chosen if m.citizen.pin == data["new_head"]), None)
        if not form.errors:
            try:
                formed = services.household_split(
                    actor=Actor(actor),
                    household=household,
                    members=chosen,
                    # A member not ticked is no new head: the split says the head must be among them.
                    new_head=new_head or shown.get(data["new_head"]),
                    split_on=data["split_on"],
                    reason=data["reason"],
                    source_document=data["source_document"],
                )
            except DomainError as exc:
                add_domain_errors(form, exc, language=request.LANGUAGE_CODE, field_map=field_map)
            else:
                messages.success(request, _("Đã tách hộ: hộ mới số %(number)s") % {"number": formed.number})
                return redirect("registry:household", pk=formed.pk)
    return render(request, "registry/split_form.html", {"form": form, "household": household})
