"""The citizen's portal (/me/): sign-in, activation, their cards and their record; and the officer's page
that registers a level-2 account at the station. Thin: rules live in services, reads in selectors."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import unquote, urlsplit

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, logout, user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from dancu.accounts.models import User
from dancu.accounts.selectors import account_sign_in_refusal
from dancu.accounts.services import sign_in_failed_record, sign_in_record
from dancu.accounts.views import (
    SignInFlow,
    locked_out,
    lockout_page,
    otp_setup_step,
    otp_step,
    password_step_passed,
    signed_in,
)
from dancu.audit.services import Actor
from dancu.cards import render as drawing
from dancu.eid import selectors, services
from dancu.eid.forms import ActivationForm, CitizenLoginForm, DeskLookupForm, LostPhoneLockForm, RegisterForm
from dancu.eid.models import EidAccount
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry import selectors as registry_selectors
from dancu.registry.models import Citizen
from dancu.web.access import current_user, officer_required, purpose_of

CITIZEN_FLOW = SignInFlow(
    restart="eid:login",
    otp="eid:otp",
    otp_setup="eid:otp_setup",
    accepts=lambda user: user.role == User.Role.CITIZEN,
    home="eid:home",
    lost_phone="eid:lock_lost_phone",
)

PortalView = Callable[..., HttpResponse]


def citizen_required(view: PortalView) -> PortalView:
    """The gate of every portal page: a signed-in citizen (second factor verified) whose account may be
    used now; the view receives the account. Officers get 403, as citizens do on officers' pages."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        login_url = reverse("eid:login")
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url)
        # django-otp's middleware adds is_verified() to the user of every request.
        if settings.DANCU_REQUIRE_OTP and not user.is_verified():  # type: ignore[attr-defined]
            return redirect_to_login(request.get_full_path(), login_url)
        if not isinstance(user, User) or user.role != User.Role.CITIZEN:
            raise PermissionDenied
        account = selectors.account_of(user)
        refusal = selectors.sign_in_refusal(account)
        if refusal is not None or account is None:
            # The card was revoked or a death recorded while signed in: the session ends here.
            logout(request)
            if refusal is not None:
                messages.error(request, refusal.message(request.LANGUAGE_CODE))
            return redirect("eid:login")
        return view(request, account, *args, **kwargs)

    return wrapper


def _portal_next(request: HttpRequest) -> str:
    candidate = request.GET.get("next")
    if (
        candidate
        and candidate.startswith("/me/")
        and _stays_in_portal(candidate)
        and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()})
    ):
        return candidate
    return reverse("eid:home")


def _stays_in_portal(path: str) -> bool:
    """Whether the browser, which resolves "." and ".." segments (percent-encoded ones too) before it asks,
    requests a page of the portal: "/me/../admin/" starts with "/me/" and is "/admin/"."""
    resolved = posixpath.normpath(unquote(urlsplit(path).path))
    return "\\" not in path and f"{resolved}/".startswith("/me/")


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and signed_in(request, CITIZEN_FLOW):
        return redirect(_portal_next(request))
    form = CitizenLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        pin = form.cleaned_data["pin"].strip()
        user = authenticate(request, username=pin, password=form.cleaned_data["password"])
        if getattr(request, "axes_locked_out", False):
            # django-axes' middleware records the refused attempt (see accounts.views.locked_out).
            return lockout_page(request)
        if user is None or not isinstance(user, User) or user.role != User.Role.CITIZEN:
            sign_in_failed_record(username=pin, channel="portal", locked_out=False)
            form.add_error(None, _("Số định danh hoặc mật khẩu không đúng"))
        else:
            # A deactivated account (its password right: a wrong one is refused above) is told so first.
            # The event names the rule that refused it, as on the officers' page: an auditor tells a
            # citizen locked out by a lost card from one who mistyped, and the lock from the death.
            refusal = account_sign_in_refusal(user) or selectors.sign_in_refusal(selectors.account_of(user))
            if refusal is not None:
                sign_in_record(user=user, succeeded=False, channel="portal", refusal=refusal.code)
                form.add_error(None, refusal.message(request.LANGUAGE_CODE))
            else:
                return password_step_passed(request, user, next_url=_portal_next(request), flow=CITIZEN_FLOW)
    return render(request, "eid/login.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def activate_view(request: HttpRequest) -> HttpResponse:
    """The citizen's first visit: PIN, the code from the registration slip, a new password; then the
    authenticator app is set up on the next page."""
    if request.method == "GET" and signed_in(request, CITIZEN_FLOW):
        return redirect("eid:home")
    form = ActivationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        pin = form.cleaned_data["pin"].strip()
        credentials = {"username": pin}
        # Guessing codes counts towards the same lockout as guessing passwords.
        if AxesProxyHandler.is_locked(request, credentials):
            return locked_out(request, credentials=credentials)
        try:
            account = services.eid_account_activate(
                pin=pin, code=form.cleaned_data["code"], password=form.cleaned_data["password"]
            )
        except DomainError as exc:
            problem = exc.errors[0]
            if problem.code == "eid.activation_refused":
                user_login_failed.send(sender=__name__, credentials=credentials, request=request)
                if getattr(request, "axes_locked_out", False):
                    return lockout_page(request)
            form.add_error(
                "password" if problem.field == "password" else None, problem.message(request.LANGUAGE_CODE)
            )
        else:
            messages.success(request, _("Đã kích hoạt tài khoản. Hãy thiết lập ứng dụng xác thực."))
            return password_step_passed(
                request, account.user, next_url=reverse("eid:home"), flow=CITIZEN_FLOW
            )
    return render(request, "eid/activate.html", {"form": form})


@require_http_methods(["GET", "POST"])
def otp_view(request: HttpRequest) -> HttpResponse:
    return otp_step(request, CITIZEN_FLOW)


@never_cache
@require_http_methods(["GET", "POST"])
def otp_setup_view(request: HttpRequest) -> HttpResponse:
    return otp_setup_step(request, CITIZEN_FLOW)


@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """Signing out is a POST, so that a link or an image on another site cannot sign the citizen out. The
    address followed as a link or typed (a GET) shows the button that sends it, rather than a bare 405;
    someone not signed in has nothing to sign out of and goes to the sign-in page."""
    if request.method == "POST":
        logout(request)
        return redirect("eid:login")
    if not request.user.is_authenticated:
        return redirect("eid:login")
    return render(request, "eid/logout.html")


@citizen_required
def home_view(request: HttpRequest, account: EidAccount) -> HttpResponse:
    """The citizen's cards, each with its state, its history and its picture, and the applications."""
    return render(request, "eid/home.html", {"own": selectors.own_cards(account=account), "account": account})


@citizen_required
def record_view(request: HttpRequest, account: EidAccount) -> HttpResponse:
    return render(request, "eid/record.html", {"citizen": selectors.own_record(account=account)})


@citizen_required
def reads_view(request: HttpRequest, account: EidAccount) -> HttpResponse:
    """Who read the citizen's data: every access-log row about them but their own, newest first."""
    page, reads = selectors.reads_of_own_data(account=account, page_number=request.GET.get("page"))
    return render(request, "eid/reads.html", {"page": page, "reads": reads})


@require_POST
@citizen_required
def lock_view(request: HttpRequest, account: EidAccount) -> HttpResponse:
    """The citizen locks their own account (a lost phone, a password others know)."""
    if request.POST.get("confirm") != "on":
        messages.error(request, _("Hãy đánh dấu xác nhận trước khi khoá tài khoản"))
        return redirect("eid:home")
    return _locked_on_request(request, account)


def _locked_on_request(request: HttpRequest, account: EidAccount, *, note: str = "") -> HttpResponse:
    """Lock the account as its holder asks, sign the browser out and say how to open it again."""
    try:
        services.eid_account_lock(
            actor=Actor(account.user), account=account, reason=EidAccount.LockReason.REQUEST, note=note
        )
    except DomainError as exc:
        # Already locked: a double tap sent the form twice (the second request read the account before
        # the first locked it), or an officer or a lost card locked it first. What the citizen asked for
        # is done, so the answer is the same as the first request's.
        if exc.errors[0].code != "eid.already_locked":
            raise
    logout(request)
    messages.success(request, _("Đã khoá tài khoản. Để mở lại, hãy đến công an xã, phường nơi cư trú."))
    return redirect("eid:login")


@never_cache
@require_http_methods(["GET", "POST"])
def lock_lost_phone_view(request: HttpRequest) -> HttpResponse:
    """The citizen locks their account without signing in: the PIN and the password, no second factor.

    The portal's own lock button sits behind the second factor, so a citizen whose phone (and with it the
    authenticator app, often the saved password too) was lost or stolen could not reach it, and had to go
    to the police station while the finder could still sign in. Locking only closes the account, so the
    password alone is enough to ask for it; each wrong password counts towards the same lockout as the
    sign-in page, so this form is no better a way to guess passwords than that one."""
    form = LostPhoneLockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        pin = form.cleaned_data["pin"]
        user = authenticate(request, username=pin, password=form.cleaned_data["password"])
        if getattr(request, "axes_locked_out", False):
            return lockout_page(request)
        account = selectors.account_of(user) if isinstance(user, User) else None
        if account is None:
            sign_in_failed_record(username=pin, channel="portal-lock", locked_out=False)
            form.add_error(None, _("Số định danh hoặc mật khẩu không đúng"))
        else:
            # Locked whatever else closes the account now (a lost card, a death): a card delivered later
            # would otherwise open it again to whoever holds the phone.
            return _locked_on_request(
                request, account, note="Công dân tự khoá khi mất điện thoại (không qua mã xác thực)"
            )
    return render(request, "eid/lock_lost_phone.html", {"form": form})


@citizen_required
def card_image_view(request: HttpRequest, account: EidAccount, pk: int, side: str) -> HttpResponse:
    if side not in ("front", "back"):
        raise Http404
    try:
        card, face = selectors.own_card(account=account, pk=pk)
    except NotFoundError:
        raise Http404 from None
    data = drawing.card_front_png(card, face) if side == "front" else drawing.card_back_png(card)
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


# The officer's side ---------------------------------------------------------------------------------------


def _lock_on_request(request: HttpRequest, citizen: Citizen) -> HttpResponse:
    account = selectors.citizen_account(citizen)
    if account is None:
        raise Http404
    try:
        services.eid_account_lock(
            actor=Actor(current_user(request)),
            account=account,
            reason=EidAccount.LockReason.REQUEST,
            note="Công dân yêu cầu tại trụ sở công an",
        )
    except NotFoundError:
        raise Http404 from None
    except DomainError as exc:
        for problem in exc.errors:
            messages.error(request, f"{problem.message(request.LANGUAGE_CODE)} [{problem.code}]")
    else:
        messages.success(request, _("Đã khoá tài khoản định danh điện tử theo yêu cầu của công dân"))
    return redirect("eid:register", citizen_pk=citizen.pk)


@never_cache
@officer_required
@require_http_methods(["GET", "POST"])
def desk_view(request: HttpRequest) -> HttpResponse:
    """The desk's first step: the PIN typed or scanned from the card opens the citizen's registration
    page. A POST, so that the PIN stays out of addresses, browser history and server logs."""
    user = current_user(request)
    form = DeskLookupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            citizen = registry_selectors.citizen_get(
                actor=user, pin=form.cleaned_data["pin"], purpose=purpose_of(request)
            )
        except NotFoundError:
            # The same answer for a PIN nobody holds and a citizen of another area.
            form.add_error("pin", _("Không tìm thấy công dân có số định danh này trong địa bàn của đồng chí"))
        else:
            return redirect("eid:register", citizen_pk=citizen.pk)
    return render(request, "eid/desk.html", {"form": form})


@never_cache
@officer_required
@require_http_methods(["GET", "POST"])
def register_view(request: HttpRequest, citizen_pk: int) -> HttpResponse:
    """Register a level-2 account for the citizen at the counter; the activation code is shown once."""
    user = current_user(request)
    try:
        citizen = registry_selectors.citizen_get(actor=user, pk=citizen_pk, purpose=purpose_of(request))
    except NotFoundError:
        raise Http404 from None
    if request.method == "POST" and request.POST.get("action") == "lock":
        return _lock_on_request(request, citizen)
    form = RegisterForm(request.POST or None)
    code = None
    # A pending account registered again gets a new code; the page then says the old one is void. A
    # locked one opened again says that the old password and authenticator are void too.
    before = selectors.citizen_account(citizen)
    reissued = before is not None
    reopened = before is not None and before.status == EidAccount.Status.LOCKED
    if request.method == "POST" and form.is_valid():
        try:
            _account, code = services.eid_account_register(
                actor=Actor(user), citizen=citizen, identity_checked=form.cleaned_data["identity_checked"]
            )
        except NotFoundError:
            raise Http404 from None
        except DomainError as exc:
            for problem in exc.errors:
                form.add_error(None, f"{problem.message(request.LANGUAGE_CODE)} [{problem.code}]")
    account = selectors.citizen_account(citizen)
    # Said before the face is checked, while no code is on the page; only for a registration still to do
    # (none yet, pending, or locked to be opened again): an active account has its status line.
    refusals: list[str] = []
    may_register = user.role in services.REGISTERING_ROLES
    if may_register and code is None and (account is None or account.status != EidAccount.Status.ACTIVE):
        try:
            found = services.eid_registration_refusals(user=user, citizen=citizen)
        except NotFoundError:
            raise Http404 from None
        refusals = [
            f"{problem.message(request.LANGUAGE_CODE)} [{problem.code}]"
            for problem in found
            if problem.field != "actor"
        ]
    return render(
        request,
        "eid/register.html",
        {
            "citizen": citizen,
            "account": account,
            "refusals": refusals,
            "form": form,
            "code": code,
            "reissued": reissued,
            "reopened": reopened,
            # The slip names the address in full: the citizen types it at home, on another device.
            "activate_url": request.build_absolute_uri(reverse("eid:activate")),
            "now": timezone.now(),
            "may_register": may_register,
        },
    )
