"""The admin pages of the geo app are for reading: the loader owns every row."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from dancu.geo.models import AdminUnit, UnitSuccession


@pytest.mark.parametrize("model", [AdminUnit, UnitSuccession])
def test_units_and_successions_are_registered_read_only(model: type[AdminUnit | UnitSuccession]) -> None:
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    for inline_class in model_admin.inlines:
        inline = inline_class(model, admin.site)
        assert not inline.has_add_permission(request, None)
