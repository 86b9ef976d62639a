"""Officers and police units in the Django admin, for the ministry's system administrators.

The sign-in's own records that packages put in the admin are here too, each registered again with the
fix of a page that failed: django-axes' failed sign-ins and django-otp's TOTP devices.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin as OtpTOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.models import ApiToken, PoliceUnit, User


@admin.register(PoliceUnit)
class PoliceUnitAdmin(admin.ModelAdmin[PoliceUnit]):
    list_display = ("code", "name", "level", "admin_unit")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("admin_unit", "parent")


class OfficerChangeForm(UserChangeForm[User]):
    """The account's page: a role and a police unit go together, as the database's constraint
    `officer_has_police_unit` requires. Said here next to the field, in the page's language: the
    constraint's own refusal named only the constraint, in English."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        role, unit = cleaned.get("role"), cleaned.get("police_unit")
        if role == User.Role.CITIZEN and unit is not None:
            self.add_error("police_unit", _("Tài khoản công dân không thuộc đơn vị công an nào"))
        elif role and role != User.Role.CITIZEN and unit is None and "police_unit" not in self.errors:
            self.add_error(
                "police_unit",
                _("Tài khoản cán bộ cần có đơn vị công an: địa bàn của tài khoản là địa bàn của đơn vị"),
            )
        return cleaned


@admin.register(User)
class OfficerAdmin(UserAdmin):
    form = OfficerChangeForm
    list_display = ("username", "first_name", "last_name", "role", "police_unit", "is_active")
    list_filter = ("role", "is_active")
    raw_id_fields = ("police_unit",)
    fieldsets = (
        *UserAdmin.fieldsets,  # type: ignore[misc]
        ("dancu", {"fields": ("role", "police_unit")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "prefix", "digest", "created_at", "last_used_at")
    search_fields = ("user__username", "name", "prefix")

    # A token is made by accounts.services.api_token_create, which shows its secret once and keeps only
    # the digest; every field that makes one is read-only here, so the add page could only fail to save.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class AccessAttemptAdmin(AxesAccessAttemptAdmin):
    # axes' clean-up action reads the time of the request's sign-in attempt, which axes sets only on the
    # requests that sign in: from the admin it failed with an AttributeError, whatever was selected.
    @wraps(AxesAccessAttemptAdmin.cleanup_expired_attempts)
    def cleanup_expired_attempts(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        AxesProxyHandler.update_request(request)
        super().cleanup_expired_attempts(request, queryset)


class TOTPDeviceAdmin(OtpTOTPDeviceAdmin):
    # django-otp's set-up and QR code pages of a device fetched it with `get`: a number that names no
    # device in their URL failed with DoesNotExist.
    def config_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        get_object_or_404(TOTPDevice, pk=pk)
        return super().config_view(request, pk)

    def qrcode_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        get_object_or_404(TOTPDevice, pk=pk)
        return super().qrcode_view(request, pk)


# The packages registered theirs as their apps were read (before dancu's, by INSTALLED_APPS); axes not
# at all with AXES_ENABLE_ADMIN off.
for model, model_admin in ((AccessAttempt, AccessAttemptAdmin), (TOTPDevice, TOTPDeviceAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
        admin.site.register(model, model_admin)
