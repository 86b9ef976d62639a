"""The gate in front of every officer page: signed in, second factor verified, a records role (or, for
the access log, the auditor's)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_noop

from dancu.accounts.models import User
from dancu.accounts.selectors import auditor_can_read_log, officer_can_read_records, officers_manager

View = Callable[..., HttpResponse]

# Why an officer is reading records (NĐ 13/2023 asks for the purpose of every processing). The choice is
# kept in the session and written with every access-log entry in Vietnamese, the language of the record;
# pages show it translated (gettext_noop marks the labels for extraction without translating them here).
PURPOSES = (
    ("collection", gettext_noop("Thu thập, cập nhật dữ liệu dân cư")),
    ("review", gettext_noop("Kiểm tra, phúc tra dữ liệu")),
    ("procedure", gettext_noop("Giải quyết thủ tục hành chính")),
    ("verification", gettext_noop("Xác minh theo yêu cầu nghiệp vụ")),
)
PURPOSE_LABELS = dict(PURPOSES)


def current_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def purpose_of(request: HttpRequest) -> str:
    return PURPOSE_LABELS.get(request.session.get("purpose", "collection"), PURPOSES[0][1])


def _signed_in_as(allowed: Callable[[User], bool]) -> Callable[[View], View]:
    """Signed in, second factor verified, and an account `allowed` lets in (403 otherwise)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            # django-otp's middleware adds is_verified() to the user of every request.
            if settings.DANCU_REQUIRE_OTP and not user.is_verified():  # type: ignore[attr-defined]
                return redirect_to_login(request.get_full_path())
            if not isinstance(user, User) or not allowed(user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# The pages of officers who work with records, and the auditor's pages (the access log).
officer_required = _signed_in_as(officer_can_read_records)
auditor_required = _signed_in_as(auditor_can_read_log)
# The officers' accounts (/officers/): the ministry's administrators.
manager_required = _signed_in_as(officers_manager)
