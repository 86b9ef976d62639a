"""e-ID accounts in the Django admin, read-only: every change goes through the services."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from dancu.eid.models import EidAccount


@admin.register(EidAccount)
class EidAccountAdmin(admin.ModelAdmin[EidAccount]):
    list_display = ("user", "level", "status", "lock_reason", "created_at", "activated_at")
    list_filter = ("status", "level")
    search_fields = ("user__username",)
    readonly_fields = tuple(f.name for f in EidAccount._meta.fields)

    # An account is registered, locked and unlocked by the eid services, each with its audit event, for a
    # citizen at the station or in the portal: the admin only shows accounts. With every field read-only,
    # its add page could only fail to save an account of no one, and a deletion would leave no trace.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EidAccount | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: EidAccount | None = None) -> bool:
        return False
