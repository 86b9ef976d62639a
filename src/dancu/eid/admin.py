"""e-ID accounts in the Django admin, read-only: every change goes through the services."""

from __future__ import annotations

from django.contrib import admin

from dancu.eid.models import EidAccount


@admin.register(EidAccount)
class EidAccountAdmin(admin.ModelAdmin[EidAccount]):
    list_display = ("user", "level", "status", "lock_reason", "created_at", "activated_at")
    list_filter = ("status", "level")
    search_fields = ("user__username",)
    readonly_fields = tuple(f.name for f in EidAccount._meta.fields)
