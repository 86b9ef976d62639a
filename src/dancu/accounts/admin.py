"""Officers and police units in the Django admin, for the ministry's system administrators."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from dancu.accounts.models import ApiToken, PoliceUnit, User


@admin.register(PoliceUnit)
class PoliceUnitAdmin(admin.ModelAdmin[PoliceUnit]):
    list_display = ("code", "name", "level", "admin_unit")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("admin_unit", "parent")


@admin.register(User)
class OfficerAdmin(UserAdmin):
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
