"""The admin site, behind the second factor that every officer's page is behind.

Django's own admin signs a staff account in with a password alone: with `DANCU_REQUIRE_OTP` on (the
default), that was a way past the TOTP code that /login/ asks for. django-otp's `OTPAdminSite` treats a
staff account whose session is not verified by one of its devices as no staff at all, and its sign-in
page asks for the code. It is installed as the default site (`config.apps.DancuAdminConfig`), so every
app's `admin.site.register` lands on it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

OTP_LOGIN_TEMPLATE = OTPAdminSite.login_template


class DancuAdminSite(OTPAdminSite):
    site_header = "dancu"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    # With DANCU_REQUIRE_OTP off (a development machine), the admin signs in as the officers' pages do:
    # with the password alone, on Django's own form.
    @property
    def login_form(self) -> type[AuthenticationForm] | None:
        return OTPAdminAuthenticationForm if settings.DANCU_REQUIRE_OTP else None

    @property
    def login_template(self) -> str | None:
        return OTP_LOGIN_TEMPLATE if settings.DANCU_REQUIRE_OTP else None

    def has_permission(self, request: HttpRequest) -> bool:
        if settings.DANCU_REQUIRE_OTP:
            return bool(super().has_permission(request))
        return AdminSite.has_permission(self, request)
