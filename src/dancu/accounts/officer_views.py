"""The officers' accounts in the pages, for the ministry's administrators (/officers/): the list, a new
account, and on an account's page the changes an administrator makes (a name corrected, role and unit,
deactivation, a new password, a lost authenticator), each through its service, with a reason, in the trail."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import password_validation
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts import selectors, services
from dancu.accounts.models import PoliceUnit, User
from dancu.audit.services import Actor
from dancu.lib.errors import DomainError, NotFoundError
from dancu.web.access import current_user, manager_required
from dancu.web.converters import page_param
from dancu.web.forms import add_domain_errors

OFFICER_ROLES = [(value, label) for value, label in User.Role.choices if value != User.Role.CITIZEN]


def _unit_field() -> forms.CharField:
    return forms.CharField(
        label=gettext_lazy("Mã đơn vị công an"),
        max_length=32,
        help_text=gettext_lazy(
            "Mã (ví dụ CA-commune-00070, CA-province-01, C06) hoặc tên đơn vị (ví dụ Phường Hoàn Kiếm)"
        ),
    )


def _reason_field() -> forms.CharField:
    return forms.CharField(
        label=gettext_lazy("Lý do"), max_length=services.OFFICER_REASON_MAX_LENGTH, widget=forms.TextInput
    )


class _Passwords(forms.Form):
    password1 = forms.CharField(
        label=gettext_lazy("Mật khẩu"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        max_length=200,
        help_text=gettext_lazy("Giao tận tay cán bộ"),
    )
    password2 = forms.CharField(
        label=gettext_lazy("Nhập lại mật khẩu"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        max_length=200,
    )

    def clean_password2(self) -> str:
        first, second = self.cleaned_data.get("password1"), self.cleaned_data.get("password2", "")
        if first is not None and first != second:
            raise forms.ValidationError(_("Hai mật khẩu không khớp [password.mismatch]"))
        return second


class OfficerNewForm(_Passwords):
    username = forms.CharField(label=gettext_lazy("Tên đăng nhập"), max_length=150)
    full_name = forms.CharField(label=gettext_lazy("Họ và tên"), max_length=300)
    role = forms.ChoiceField(label=gettext_lazy("Vai trò"), choices=OFFICER_ROLES)
    police_unit = _unit_field()
    field_order = ["username", "full_name", "role", "police_unit", "password1", "password2"]


class OfficerChangeForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Vai trò"), choices=OFFICER_ROLES)
    police_unit = _unit_field()
    reason = _reason_field()


class OfficerNameForm(forms.Form):
    full_name = forms.CharField(label=gettext_lazy("Họ và tên"), max_length=services.OFFICER_NAME_MAX_LENGTH)
    reason = _reason_field()


class ReasonForm(forms.Form):
    reason = _reason_field()


class ConfirmedForm(ReasonForm):
    """An action that an officer cannot undo alone (a deactivation, an authenticator removed): ticked
    before it is done, on a phone as on a desktop, without a script."""

    confirm = forms.BooleanField(
        label=gettext_lazy("Tôi xác nhận làm việc này với tài khoản trên"),
        error_messages={"required": gettext_lazy("Hãy đánh dấu ô xác nhận [confirm.required]")},
    )


class PasswordForm(_Passwords):
    reason = _reason_field()


class OfficerFilter(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Tên đăng nhập, họ tên hoặc đơn vị"), max_length=100, required=False
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Vai trò"), choices=[("", "—"), *OFFICER_ROLES], required=False
    )
    active = forms.ChoiceField(
        label=gettext_lazy("Trạng thái"),
        choices=[("", "—"), ("1", gettext_lazy("Đang hoạt động")), ("0", gettext_lazy("Đã vô hiệu hoá"))],
        required=False,
    )


def _unit(code: str) -> PoliceUnit | None:
    return selectors.police_unit_find(code)


@manager_required
def officers_view(request: HttpRequest) -> HttpResponse:
    form = OfficerFilter(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    active = {"1": True, "0": False}.get(data.get("active", ""))
    page = selectors.officer_list(
        actor=current_user(request),
        text=data.get("q", ""),
        role=data.get("role", ""),
        active=active,
        page=page_param(request.GET.get("page")),
    )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "accounts/officers/list.html",
        {"form": form, "page": page, "querystring": params.urlencode()},
    )


@manager_required
@require_http_methods(["GET", "POST"])
def officer_new_view(request: HttpRequest) -> HttpResponse:
    form = OfficerNewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            officer = services.officer_add(
                actor=Actor(current_user(request)), **_new_account(form.cleaned_data)
            )
        except DomainError as exc:
            add_domain_errors(form, exc, language=request.LANGUAGE_CODE, field_map=_SERVICE_FIELDS)
        else:
            messages.success(request, _("Đã tạo tài khoản %(username)s.") % {"username": officer.username})
            return redirect("accounts:officer", pk=officer.pk)
    elif request.method == "POST":
        # A half-filled form is told what is wrong with what it has too, not only what it lacks.
        _refusals_of_what_is_filled(request, form)
    return render(request, "accounts/officers/new.html", {"form": form}, status=400 if form.errors else 200)


# The services name the password "password"; the forms type it twice, as password1 and password2.
_SERVICE_FIELDS = {"password": "password1"}


def _new_account(data: Mapping[str, Any]) -> dict[str, Any]:
    """officer_add's values from a new-account form's data, cleaned or as typed."""
    return {
        "username": str(data.get("username") or "").strip(),
        "password": str(data.get("password1") or ""),
        "role": str(data.get("role") or ""),
        "police_unit": _unit(str(data.get("police_unit") or "")),
        "police_unit_typed": str(data.get("police_unit") or ""),
        "full_name": str(data.get("full_name") or ""),
    }


def _refusals_of_what_is_filled(request: HttpRequest, form: OfficerNewForm) -> None:
    refusals = services.officer_add_refusals(actor=Actor(current_user(request)), **_new_account(form.data))
    found = [
        refusal
        for refusal in refusals
        if (name := _SERVICE_FIELDS.get(refusal.field, refusal.field)) in form.fields
        and name not in form.errors
        and str(form.data.get(name, "")).strip()
    ]
    if found:
        add_domain_errors(form, DomainError(found), language=request.LANGUAGE_CODE, field_map=_SERVICE_FIELDS)


def _active_form(officer: User, data: QueryDict | None = None) -> ReasonForm:
    # Deactivating is confirmed; reactivating gives back what the officer had and needs only its reason.
    form_class = ConfirmedForm if officer.is_active else ReasonForm
    return form_class(data, prefix="active")


def _officer(request: HttpRequest, pk: int) -> User:
    try:
        return selectors.officer_get(actor=current_user(request), pk=pk)
    except NotFoundError as exc:
        raise Http404 from exc


def _detail(request: HttpRequest, officer: User, **forms_given: forms.Form) -> HttpResponse:
    assert officer.police_unit is not None  # officers of a unit only
    context = {
        "officer": officer,
        "authenticator": TOTPDevice.objects.filter(user=officer, confirmed=True).exists(),
        "name_form": forms_given.get("name")
        or OfficerNameForm(initial={"full_name": officer.get_full_name()}, prefix="name"),
        "change_form": forms_given.get("change")
        or OfficerChangeForm(initial={"role": officer.role, "police_unit": officer.police_unit.code}),
        "active_form": forms_given.get("active") or _active_form(officer),
        "password_form": forms_given.get("password") or PasswordForm(prefix="password"),
        "otp_form": forms_given.get("otp") or ConfirmedForm(prefix="otp"),
        "password_rules": password_validation.password_validators_help_texts(),
        "history": selectors.officer_history(actor=current_user(request), officer=officer),
    }
    status = 400 if any(form.errors for form in forms_given.values()) else 200
    return render(request, "accounts/officers/detail.html", context, status=status)


@manager_required
def officer_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _officer(request, pk))


Action = Callable[[Actor, User, dict[str, Any]], str]


def _act(request: HttpRequest, pk: int, form: forms.Form, name: str, action: Action) -> HttpResponse:
    """One of the account page's forms sent: the action done through its service and said, or the form
    shown again on the page with each refusal beside its field."""
    officer = _officer(request, pk)
    if form.is_valid():
        try:
            done = action(Actor(current_user(request)), officer, form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc, language=request.LANGUAGE_CODE, field_map=_SERVICE_FIELDS)
        else:
            messages.success(request, done)
            return redirect("accounts:officer", pk=pk)
    return _detail(request, officer, **{name: form})


@manager_required
@require_POST
def officer_change_view(request: HttpRequest, pk: int) -> HttpResponse:
    def change(actor: Actor, officer: User, data: dict[str, Any]) -> str:
        unit = _unit(data["police_unit"])
        services.officer_change(
            actor=actor,
            officer=officer,
            role=data["role"],
            police_unit=unit,
            reason=data["reason"],
            police_unit_typed=data["police_unit"],
        )
        return _("Đã lưu vai trò và đơn vị.")

    return _act(request, pk, OfficerChangeForm(request.POST), "change", change)


@manager_required
@require_POST
def officer_name_view(request: HttpRequest, pk: int) -> HttpResponse:
    def rename(actor: Actor, officer: User, data: dict[str, Any]) -> str:
        services.officer_rename(
            actor=actor, officer=officer, full_name=data["full_name"], reason=data["reason"]
        )
        return _("Đã sửa họ và tên.")

    return _act(request, pk, OfficerNameForm(request.POST, prefix="name"), "name", rename)


@manager_required
@require_POST
def officer_active_view(request: HttpRequest, pk: int) -> HttpResponse:
    def toggle(actor: Actor, officer: User, data: dict[str, Any]) -> str:
        services.officer_set_active(
            actor=actor, officer=officer, active=not officer.is_active, reason=data["reason"]
        )
        return _("Đã kích hoạt lại tài khoản.") if not officer.is_active else _("Đã vô hiệu hoá tài khoản.")

    return _act(request, pk, _active_form(_officer(request, pk), request.POST), "active", toggle)


@manager_required
@require_POST
def officer_password_view(request: HttpRequest, pk: int) -> HttpResponse:
    def set_password(actor: Actor, officer: User, data: dict[str, Any]) -> str:
        services.officer_password_set(
            actor=actor, officer=officer, password=data["password1"], reason=data["reason"]
        )
        return _("Đã đặt mật khẩu mới.")

    return _act(request, pk, PasswordForm(request.POST, prefix="password"), "password", set_password)


@manager_required
@require_POST
def officer_otp_reset_view(request: HttpRequest, pk: int) -> HttpResponse:
    def reset(actor: Actor, officer: User, data: dict[str, Any]) -> str:
        _devices, tokens = services.officer_authenticator_reset(
            actor=actor, officer=officer, reason=data["reason"]
        )
        return ngettext(
            "Đã gỡ ứng dụng xác thực; %(tokens)d mã API bị thu hồi. "
            "Lần đăng nhập tới, cán bộ quét mã QR mới.",
            "Đã gỡ ứng dụng xác thực; %(tokens)d mã API bị thu hồi. "
            "Lần đăng nhập tới, cán bộ quét mã QR mới.",
            tokens,
        ) % {"tokens": tokens}

    return _act(request, pk, ConfirmedForm(request.POST, prefix="otp"), "otp", reset)
