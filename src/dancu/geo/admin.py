"""Admin pages for looking up units and their succession.

Everything here comes from `dancu load_units`; an edit by hand would be silently undone by the next load
and could break the one-default-successor rule, so the pages are for reading only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from dancu.geo.models import AdminUnit, UnitSuccession


class _ReadOnlyAdminMixin:
    """Viewing stays allowed (for users with the view permission); adding, changing and deleting do not."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SuccessionInline(_ReadOnlyAdminMixin, admin.TabularInline):
    model = UnitSuccession
    fk_name = "legacy"
    fields = ("successor", "is_default")
    readonly_fields = fields
    verbose_name_plural = "đơn vị mới (kế thừa)"
    extra = 0


class PredecessionInline(_ReadOnlyAdminMixin, admin.TabularInline):
    model = UnitSuccession
    fk_name = "successor"
    fields = ("legacy", "is_default")
    readonly_fields = fields
    verbose_name_plural = "đơn vị cũ (tiền thân)"
    extra = 0


@admin.register(AdminUnit)
class AdminUnitAdmin(_ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "level", "structure", "kind", "parent", "province_code")
    list_filter = ("structure", "level", "kind")
    # The folded key lets "hong ha" find "Hồng Hà" here too; the code finds a unit exactly.
    search_fields = ("=code", "name", "search_key")
    list_select_related = ("parent__parent",)
    ordering = ("structure", "path")
    readonly_fields = (
        "structure",
        "level",
        "code",
        "name",
        "short_name",
        "kind",
        "parent",
        "province_code",
        "search_key",
        "path",
    )
    inlines = (SuccessionInline, PredecessionInline)


@admin.register(UnitSuccession)
class UnitSuccessionAdmin(_ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("legacy", "successor", "is_default")
    list_filter = ("is_default", "legacy__level")
    search_fields = ("=legacy__code", "legacy__search_key", "=successor__code", "successor__search_key")
    list_select_related = ("legacy__parent__parent", "successor__parent")
    readonly_fields = ("legacy", "successor", "is_default")
