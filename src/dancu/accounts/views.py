"""Sign-in: a password, then a TOTP second factor; repeated failures lock the account.

Officers sign in here; citizens' e-ID accounts take the same steps on the portal's pages (dancu.eid),
which call `password_step_passed`, `otp_step` and `otp_setup_step` with their own `SignInFlow`.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, user_login_failed
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UsernameField
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.lockout import on_portal, sign_in_channel
from dancu.accounts.models import ApiToken, User
from dancu.accounts.selectors import account_sign_in_refusal
from dancu.accounts.services import (
    api_token_create,
    api_token_revoke,
    otp_device_confirm,
    otp_setup_device,
    sign_in_failed_record,
    sign_in_record,
)
from dancu.lib.errors import DomainError
from dancu.web.converters import id_param

_PENDING = "dancu_pending_user"
_NEXT = "dancu_next"
_SETUP_DEVICE = "dancu_setup_device"


class LoginForm(forms.Form):
    # Django's UsernameField, as on its own sign-in form: the name typed is read in the NFKC form the
    # account keeps it in (a keyboard that sends "ộ" as "o" and two combining marks reaches the account),
    # and a phone does not capitalize its first letter, which made "Canbo.hoankiem" a wrong name.
    username = UsernameField(label=gettext_lazy("Tên đăng nhập"), max_length=150)
    password = forms.CharField(
        label=gettext_lazy("Mật khẩu"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        max_length=200,
    )


class OtpForm(forms.Form):
    token = forms.RegexField(
        label=gettext_lazy("Mã xác thực 6 số"),
        regex=r"^\s*[0-9]{6}\s*$",
        max_length=12,
        error_messages={"invalid": gettext_lazy("Mã xác thực gồm 6 chữ số")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


def lockout_page(request: HttpRequest) -> HttpResponse:
    # A citizen has no unit administrator to ask, and the portal's lockout is per PIN and address.
    return render(
        request,
        "accounts/locked_out.html",
        {"minutes": int(settings.AXES_COOLOFF_TIME * 60), "portal": on_portal(request)},
        status=429,
    )


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """What django-axes answers once an account has failed too often (its AXES_LOCKOUT_CALLABLE).

    Axes' middleware calls it for every request it finds locked out, whatever our views returned, so the
    lockout is recorded here, once per refused attempt.
    """
    username = credentials.get("username") if isinstance(credentials, dict) else None
    if username:
        sign_in_failed_record(username=str(username), channel=sign_in_channel(request), locked_out=True)
    return lockout_page(request)


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if getattr(request, "axes_locked_out", False):
            return lockout_page(request)
        if user is None or not isinstance(user, User):
            sign_in_failed_record(username=form.cleaned_data["username"], channel="web", locked_out=False)
            form.add_error(None, _("Tên đăng nhập hoặc mật khẩu không đúng"))
        elif (refusal := account_sign_in_refusal(user)) is not None:
            # The password was right (a wrong one is refused above, whatever the account's state): the
            # holder is told why, and the attempt counts towards no lockout (accounts/backends.py).
            sign_in_record(user=user, succeeded=False, channel="web", refusal=refusal.code)
            form.add_error(None, f"{refusal.message(request.LANGUAGE_CODE)} [{refusal.code}]")
        elif user.role == User.Role.CITIZEN:
            # A citizen's e-ID account signs in to the citizen's portal, never to the officers' pages.
            sign_in_record(user=user, succeeded=False, channel="web-officer-page")
            form.add_error(None, _("Tài khoản công dân đăng nhập tại Cổng công dân (/me/login/)"))
        else:
            return password_step_passed(
                request, user, next_url=_safe_next(request, request.GET.get("next")), flow=OFFICER_FLOW
            )
    return render(request, "accounts/login.html", {"form": form})


@dataclass(frozen=True)
class SignInFlow:
    """The pages of one kind of sign-in: officers at /login/, citizens at /me/login/ (dancu.eid). Both
    take the same steps (password, then TOTP) under the same lockout; each accepts only its own accounts."""

    restart: str  # URL name of the password step
    otp: str
    otp_setup: str
    accepts: Callable[[User], bool]
    home: str = settings.LOGIN_REDIRECT_URL  # URL name of the first page once signed in
    # URL name of the page that locks the account without the second factor, for a lost phone; None where
    # an administrator removes the lost authenticator instead (officers).
    lost_phone: str | None = None


OFFICER_FLOW = SignInFlow(
    restart="accounts:login",
    otp="accounts:otp",
    otp_setup="accounts:otp_setup",
    accepts=lambda user: user.role != User.Role.CITIZEN,
)


def password_step_passed(
    request: HttpRequest, user: User, *, next_url: str, flow: SignInFlow
) -> HttpResponse:
    """The password (or the activation code) was right: on to the second factor, or set one up."""
    request.session[_NEXT] = next_url
    if not settings.DANCU_REQUIRE_OTP:
        return _complete_login(request, user, device=None)
    request.session[_PENDING] = user.pk
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return redirect(flow.otp)
    return redirect(flow.otp_setup)


def _pending_user(request: HttpRequest, flow: SignInFlow) -> User | None:
    pk = request.session.get(_PENDING)
    user = User.objects.filter(pk=pk, is_active=True).first() if pk else None
    return user if user is not None and flow.accepts(user) else None


def _complete_login(request: HttpRequest, user: User, device: TOTPDevice | None) -> HttpResponse:
    next_url = request.session.pop(_NEXT, reverse(settings.LOGIN_REDIRECT_URL))
    request.session.pop(_PENDING, None)
    request.session.pop(_SETUP_DEVICE, None)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if device is not None:
        otp_login(request, device)
    sign_in_record(user=user, succeeded=True, channel=sign_in_channel(request))
    return HttpResponseRedirect(next_url)


def _otp_failed(request: HttpRequest, user: User) -> None:
    # A wrong second factor counts towards the same lockout as a wrong password, so the six digits
    # cannot be guessed once the password is known.
    user_login_failed.send(sender=__name__, credentials={"username": user.username}, request=request)
    sign_in_record(user=user, succeeded=False, channel=f"{sign_in_channel(request)}-otp")


def _otp_wait_seconds(devices: list[TOTPDevice]) -> int:
    """How long django-otp still refuses to check a code after wrong ones (1, 2, 4, 8... seconds), or 0.

    During that delay `verify_token` answers False without looking at the code, so the right code typed
    quickly after a typo was told it is wrong, and the person went looking for a fault in their app: they
    are told to wait instead. The attempt still counts towards the lockout, as every refused code does
    (nothing tells a typed code from a guess without checking it)."""
    waits = []
    for device in devices:
        allowed, data = device.verify_is_allowed()
        if not allowed and data and data.get("locked_until"):
            waits.append((data["locked_until"] - timezone.now()).total_seconds())
    return max(1, math.ceil(max(waits))) if waits else 0


def otp_wait_error(seconds: int) -> str:
    return ngettext(
        "Mã chưa được kiểm tra vì vừa nhập sai mã. "
        "Hãy chờ %(seconds)d giây rồi nhập mã đang hiện trên ứng dụng xác thực.",
        "Mã chưa được kiểm tra vì vừa nhập sai mã. "
        "Hãy chờ %(seconds)d giây rồi nhập mã đang hiện trên ứng dụng xác thực.",
        seconds,
    ) % {"seconds": seconds}


def signed_in(request: HttpRequest, flow: SignInFlow) -> bool:
    """Whether this browser has already signed in through the flow, second factor included."""
    user = request.user
    if not (user.is_authenticated and isinstance(user, User) and flow.accepts(user)):
        return False
    # django-otp's middleware adds is_verified() to the user of every request.
    return not settings.DANCU_REQUIRE_OTP or bool(user.is_verified())  # type: ignore[attr-defined]


def otp_step(request: HttpRequest, flow: SignInFlow) -> HttpResponse:
    user = _pending_user(request, flow)
    if user is None:
        if signed_in(request, flow):
            # The code sent twice (a double tap on a slow phone, or Back and send again): the first one
            # signed in. The sign-in form would say otherwise, and the code, used, would then be refused.
            return redirect(flow.home)
        return redirect(flow.restart)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"].strip()
        devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
        wait = _otp_wait_seconds(devices)
        device = None if wait else next((d for d in devices if d.verify_token(token)), None)
        if device is not None:
            return _complete_login(request, user, device)
        _otp_failed(request, user)
        if getattr(request, "axes_locked_out", False):
            request.session.pop(_PENDING, None)
            return lockout_page(request)
        form.add_error("token", otp_wait_error(wait) if wait else _("Mã xác thực không đúng hoặc đã hết hạn"))
    # Whoever stands at this step without the phone learns what to do here, where the code is asked.
    lost_phone = reverse(flow.lost_phone) if flow.lost_phone else None
    return render(request, "accounts/otp.html", {"form": form, "officer": user, "lost_phone": lost_phone})


@require_http_methods(["GET", "POST"])
def otp_view(request: HttpRequest) -> HttpResponse:
    return otp_step(request, OFFICER_FLOW)


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _setup_device(request: HttpRequest, user: User) -> TOTPDevice:
    """The authenticator this browser is setting up (`otp_setup_device`), remembered by its session."""
    device = otp_setup_device(user=user, device_id=request.session.get(_SETUP_DEVICE))
    request.session[_SETUP_DEVICE] = device.pk
    return device


def otp_setup_step(request: HttpRequest, flow: SignInFlow) -> HttpResponse:
    """First sign-in: show the TOTP secret as a QR code and confirm it with a first code."""
    user = _pending_user(request, flow)
    if user is None:
        return redirect(flow.restart)
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        # The password alone must never lead past the second factor: an account that has its
        # authenticator is asked for its code, and a lost phone is re-enrolled by an administrator.
        return redirect(flow.otp)
    device = _setup_device(request, user)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = _otp_wait_seconds([device])
        if not wait and device.verify_token(form.cleaned_data["token"].strip()):
            try:
                otp_device_confirm(user=user, device=device)
            except DomainError:
                # Another device was confirmed meanwhile (two set-up pages racing): its code is asked.
                return redirect(flow.otp)
            return _complete_login(request, user, device)
        _otp_failed(request, user)
        if getattr(request, "axes_locked_out", False):
            request.session.pop(_PENDING, None)
            return lockout_page(request)
        form.add_error("token", otp_wait_error(wait) if wait else _("Mã xác thực không đúng hoặc đã hết hạn"))
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/otp_setup.html",
        {
            "form": form,
            "officer": user,
            "secret": secret,
            # Typed by hand from a screen, 32 letters in one block is where a letter gets lost; the apps
            # ignore the spaces.
            "secret_shown": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "qr": _qr_svg(device.config_url),
            # A phone cannot scan the QR code it shows: on the phone that holds the app (a citizen's
            # usual case), the otpauth link opens the app with the key filled in.
            "config_url": device.config_url,
        },
    )


@require_http_methods(["GET", "POST"])
def otp_setup_view(request: HttpRequest) -> HttpResponse:
    return otp_setup_step(request, OFFICER_FLOW)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Tên mã (ví dụ: máy tính bảng tổ công tác)"), max_length=100)


@login_required
@require_http_methods(["GET", "POST"])
def tokens_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    # django-otp's middleware adds is_verified() to the user of every request.
    if settings.DANCU_REQUIRE_OTP and not user.is_verified():  # type: ignore[attr-defined]
        return redirect("accounts:login")
    if not user.is_officer:
        # API tokens are for officers; a citizen's account (or one without a unit) gets none.
        raise PermissionDenied
    form = TokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and "revoke" in request.POST:
        revoke_id = id_param(request.POST.get("revoke"))
        token = (
            ApiToken.objects.filter(user=user, pk=revoke_id, revoked_at__isnull=True).first()
            if revoke_id is not None
            else None
        )
        if token is not None:
            api_token_revoke(user=user, token=token)
            messages.success(request, _("Đã thu hồi mã truy cập"))
        return redirect("accounts:tokens")
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_secret = api_token_create(user=user, name=form.cleaned_data["name"])
        except DomainError as exc:
            form.add_error("name", exc.errors[0].message(request.LANGUAGE_CODE))
    tokens = ApiToken.objects.filter(user=user).order_by("-created_at")
    return render(request, "accounts/tokens.html", {"form": form, "tokens": tokens, "new_secret": new_secret})
