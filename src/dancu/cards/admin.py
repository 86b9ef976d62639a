"""Intake points, devices, the fee table and issuer keys in the Django admin: read-only.

Writes go through the services, which check the area and leave the audit trail; applications and cards
hold personal data and are reached only through the officer pages and the API (see registry/admin.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from dancu.cards.models import FeeRate, IntakeDevice, IntakePoint, IssuerKey


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IntakePoint)
class IntakePointAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "kind", "team", "commune", "shifts", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name", "team")


@admin.register(IntakeDevice)
class IntakeDeviceAdmin(ReadOnlyAdmin):
    list_display = ("serial", "point", "has_iris", "active")


@admin.register(FeeRate)
class FeeRateAdmin(ReadOnlyAdmin):
    list_display = ("kind", "valid_from", "amount", "legal_basis")
    list_filter = ("kind",)


@admin.register(IssuerKey)
class IssuerKeyAdmin(ReadOnlyAdmin):
    list_display = ("key_id", "authority", "created_at", "retired_at")
