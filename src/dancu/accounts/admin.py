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
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db import router, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin as OtpTOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.models import ApiToken, PoliceUnit, User
from dancu.accounts.selectors import last_administrator_refusal
from dancu.accounts.services import (
    otp_admin_confirmed_refusal,
    otp_devices_reset,
    otp_second_device_refusal,
    police_unit_level_refusal,
    police_unit_lock,
    police_unit_shape_refusals,
    role_unit_level_refusal,
)
from dancu.audit.services import Actor
from dancu.config.admin import AuditedAdmin
from dancu.lib.errors import DomainError, FieldError


class PoliceUnitForm(forms.ModelForm[PoliceUnit]):
    """A unit's page: a level that is not its area's, or a unit above or below it of a level that does not
    fit, is refused (`accounts.services.police_unit_shape_refusals`); so is a new level while the unit has
    officers whose role does not work at it (`police_unit_level_refusal`, the rule `role.unit_level` of
    the officers' own pages). Each next to its field and in the page's language."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        level = cleaned.get("level")
        if not level:
            return cleaned
        shape = police_unit_shape_refusals(
            unit=self.instance, level=level, area=cleaned.get("admin_unit"), parent=cleaned.get("parent")
        )
        for refusal in shape:
            self.add_error(refusal.field, refusal_text(refusal))
        if not shape and (officers := police_unit_level_refusal(unit=self.instance, level=level)) is not None:
            self.add_error("level", refusal_text(officers))
        return cleaned


@admin.register(PoliceUnit)
class PoliceUnitAdmin(admin.ModelAdmin[PoliceUnit]):
    form = PoliceUnitForm
    list_display = ("code", "name", "level", "admin_unit")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("admin_unit", "parent")


def refusal_text(refusal: FieldError) -> str:
    """A rule's refusal as the admin shows it: in the page's language, with its code."""
    return f"{refusal.message(translation.get_language() or 'vi')} [{refusal.code}]"


class OfficerChangeForm(UserChangeForm[User]):
    """The account's page: a role and a police unit go together, as the database's constraint
    `officer_has_police_unit` requires. Said here next to the field, in the page's language: the
    constraint's own refusal named only the constraint, in English.

    Nor may the page leave the platform without an active ministry administrator or an active superuser
    (`accounts.selectors.last_administrator_refusal`): the last of them deactivated, given another role or
    made no superuser was refused by nothing, and only `dancu createsuperuser` on the server got back in."""

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
        elif role and unit is not None and self._role_or_unit_changed(role, unit):
            self._role_level_check(role, unit)
        self._last_administrator_check(cleaned)
        return cleaned

    def _role_or_unit_changed(self, role: str, unit: PoliceUnit) -> bool:
        # An account kept as it was (its name or e-mail corrected) is not refused for a role and unit
        # given before the rule: only a new role or unit must be one the role works at.
        stored = self.instance
        return stored.pk is None or (stored.role, stored.police_unit_id) != (role, unit.pk)

    def _role_level_check(self, role: str, unit: PoliceUnit) -> None:
        """The role works in units of the level the officers' pages and `officer_create` require
        (`accounts.services.ROLE_LEVELS`): a collector in a province's police, say, was saved here."""
        # The unit's level as its locked row has it (police_unit_lock): the page saves in the transaction of
        # this check, so a new level given to the unit meanwhile waits for this account, or is seen here.
        refusal = role_unit_level_refusal(role, police_unit_lock(unit))
        if refusal is not None:
            self.add_error("police_unit", refusal_text(refusal))

    def _last_administrator_check(self, cleaned: dict[str, Any]) -> None:
        # Until the form is saved (`_post_clean`, after this), the instance holds the account as stored.
        stored = self.instance

        def new(name: str) -> Any:
            # A field not on the form, or whose value it refused, keeps the stored value.
            return cleaned[name] if name in self.fields and name in cleaned else getattr(stored, name)

        active, role, superuser = new("is_active"), new("role"), new("is_superuser")
        refusal = last_administrator_refusal(stored, active=active, role=role, is_superuser=superuser)
        if refusal is None:
            return
        # Next to the change that loses the account: deactivating it, else its role or its superuser status.
        if not active:
            field = "is_active"
        elif refusal.code == "account.last_administrator":
            field = "role"
        else:
            field = "is_superuser"
        self.add_error(field if field in self.fields else None, refusal_text(refusal))


@admin.register(User)
class OfficerAdmin(AuditedAdmin, UserAdmin):
    form = OfficerChangeForm
    list_display = ("username", "first_name", "last_name", "role", "police_unit", "is_active")
    list_filter = ("role", "is_active")
    raw_id_fields = ("police_unit",)
    fieldsets = (
        *UserAdmin.fieldsets,  # type: ignore[misc]
        ("dancu", {"fields": ("role", "police_unit")}),
    )
    # What an account may do and where: its change event records these fields' values, old and new
    # (config.admin.AuditedAdmin, named here so that this class's `audited_value` comes before its own),
    # where other models' events record only the fields' names. Never the password.
    audited_values = (
        "role",
        "police_unit",
        "is_active",
        "is_staff",
        "is_superuser",
        "groups",
        "user_permissions",
    )

    def audited_value(self, name: str, value: Any) -> Any:
        if name == "police_unit" and value is not None and not isinstance(value, PoliceUnit):
            value = PoliceUnit.objects.filter(pk=value).first()
        if isinstance(value, PoliceUnit):
            return value.code  # the unit as the officers' pages and the trail name it
        return super().audited_value(name, value)

    # Deleting an account loses it as deactivating it does: the last active ministry administrator or
    # superuser is refused. Each account is checked as it is deleted, inside the deletion's transaction, so
    # that a selection of every remaining administrator is refused too; the whole deletion is then undone
    # and the page says why, in place of the 500 of an exception.
    def delete_model(self, request: HttpRequest, obj: User) -> None:
        refusal = last_administrator_refusal(obj, active=False, role=obj.role, is_superuser=False)
        if refusal is not None:
            raise DomainError(refusal)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset.order_by("pk"):
            self.delete_model(request, user)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            with transaction.atomic(using=router.db_for_write(User)):
                return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self._deletion_refused(request, exc)
            return redirect("admin:accounts_user_change", object_id)

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        try:
            with transaction.atomic(using=router.db_for_write(User)):
                return super().response_action(request, queryset, *args, **kwargs)
        except DomainError as exc:
            self._deletion_refused(request, exc)
            return HttpResponseRedirect(request.get_full_path())

    def _deletion_refused(self, request: HttpRequest, exc: DomainError) -> None:
        for refusal in exc.errors:
            self.message_user(request, refusal_text(refusal), messages.ERROR)


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


class OtpResetActionForm(ActionForm):
    """The list's action bar with the reason that `otp_devices_reset` records in the trail. The service
    checks it (required, its length, its characters) and its refusal is shown with its rule code: a check
    of the form's own would answer Django's "No action selected."."""

    reason = forms.CharField(label=_("Lý do"), required=False)


class TOTPDeviceForm(forms.ModelForm[TOTPDevice]):
    """A device's page: an account has one confirmed authenticator (`otp_second_device_refusal`). A
    confirmed device added here, or a confirmed device given to another account, beside that account's
    own was a second factor that opened the account as well as the holder's.

    Nor is a device added here confirmed for an account that has none (`otp_admin_confirmed_refusal`):
    its secret is on the add page, and the administrator who saw it could sign in as the holder, where the
    holder's own set-up shows the secret to the holder alone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "confirmed" in self.fields:
            # The model's default is a confirmed device (django-otp's, for devices made in code): the add
            # page's box starts unticked, the only value it takes.
            self.fields["confirmed"].initial = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        user = cleaned.get("user")
        # "confirmed" is on the add page only (read-only on a device's page): a device changed keeps its own.
        confirmed = cleaned["confirmed"] if "confirmed" in self.fields else self.instance.confirmed
        if user is not None and confirmed:
            refusal = otp_second_device_refusal(user=user, device=self.instance)
            if refusal is None and self.instance.pk is None:
                # The account has no authenticator: the one it gets is the holder's (said once, the
                # refusal above comes first: a reset is what that account needs before anything else).
                refusal = otp_admin_confirmed_refusal()
            if refusal is not None:
                self.add_error(refusal.field, refusal_text(refusal))
        return cleaned


class TOTPDeviceAdmin(OtpTOTPDeviceAdmin):
    """A lost phone's authenticator is removed as `dancu otp_reset` removes it: with a reason in the trail,
    and the account's API tokens revoked, since whoever holds the phone may hold them too. Deleting the
    device here did only the first half and left the tokens working, so the list's deletion gives way to
    an action that calls the command's service, and the device's delete page points to it."""

    form = TOTPDeviceForm
    action_form = OtpResetActionForm
    actions = ("otp_reset",)

    def get_readonly_fields(self, request: HttpRequest, obj: TOTPDevice | None = None) -> Any:
        # A device's "confirmed" is set by its holder's first code (`otp_device_confirm`) and undone by the
        # reset action above. Unticked here, it silently turned the account's second factor off (the
        # sign-in then offers to set up a new authenticator to whoever has the password); ticked, it made
        # a device never scanned look set up.
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("confirmed")
        return fields

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(
        permissions=["delete"],
        description=_("Đặt lại ứng dụng xác thực của tài khoản (như dancu otp_reset) và thu hồi mã API"),
    )
    def otp_reset(self, request: HttpRequest, queryset: QuerySet[TOTPDevice]) -> None:
        users = User.objects.filter(pk__in=queryset.values("user")).order_by("pk")
        devices = tokens = 0
        try:
            with transaction.atomic(using=router.db_for_write(TOTPDevice)):
                for user in users:
                    removed, revoked = otp_devices_reset(
                        actor=Actor(request.user),  # type: ignore[arg-type]
                        user=user,
                        reason=request.POST.get("reason", ""),
                    )
                    devices, tokens = devices + removed, tokens + revoked
        except DomainError as exc:
            for refusal in exc.errors:
                self.message_user(request, refusal_text(refusal), messages.ERROR)
            return
        self.message_user(
            request,
            _("Đã gỡ %(devices)d thiết bị xác thực của %(accounts)d tài khoản; %(tokens)d mã API bị thu hồi.")
            % {"devices": devices, "accounts": len(users), "tokens": tokens},
            messages.SUCCESS,
        )

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self.message_user(
            request,
            _(
                "Thiết bị xác thực không xoá ở đây: chọn nó trong danh sách, ghi lý do và dùng thao tác "
                "«Đặt lại ứng dụng xác thực», để mã API của tài khoản cũng bị thu hồi (như dancu otp_reset)."
            ),
            messages.WARNING,
        )
        return redirect("admin:otp_totp_totpdevice_changelist")

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
