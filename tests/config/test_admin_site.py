"""The admin asks for the second factor, as every officer's page does."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.audit.models import AuditEvent
from dancu.config.admin import DancuAdminSite
from tests.conftest import PASSWORD, Personas, otp_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(personas: Personas) -> Any:
    personas.minh.is_staff = personas.minh.is_superuser = True
    personas.minh.save(update_fields=["is_staff", "is_superuser"])
    return personas.minh


def test_every_apps_models_are_on_the_site_that_asks_for_the_code() -> None:
    assert isinstance(admin.site, DancuAdminSite)
    assert admin.site.name == "admin"
    assert len(admin.site._registry) > 5


def _with_code(user: Any, code: str) -> dict[str, str]:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return {
        "username": user.username,
        "password": PASSWORD,
        "otp_device": device.persistent_id,
        "otp_token": code,
    }


def test_a_password_alone_does_not_open_the_admin(staff: Any) -> None:
    client = Client()
    response = client.post("/admin/login/", {"username": staff.username, "password": PASSWORD})
    assert response.status_code == 200  # the sign-in page again, asking for the code
    assert client.get("/admin/").status_code == 302
    response = client.post("/admin/login/", _with_code(staff, "000000"))
    assert client.get("/admin/").status_code == 302


def test_the_password_and_the_code_open_it(staff: Any) -> None:
    client = Client()
    response = client.post("/admin/login/", _with_code(staff, otp_now(staff)))
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_an_officer_signed_in_with_the_code_reaches_it(staff: Any, sign_in: Any) -> None:
    assert sign_in(Client(), staff).get("/admin/").status_code == 200


def test_without_the_second_factor_required_a_password_is_enough(staff: Any, settings: Any) -> None:
    settings.DANCU_REQUIRE_OTP = False
    client = Client()
    client.post("/admin/login/", {"username": staff.username, "password": PASSWORD})
    assert client.get("/admin/").status_code == 200


def _admin_events() -> list[tuple[str, str, str, str, Any]]:
    rows = AuditEvent.objects.filter(event_type__startswith="admin.").order_by("pk")
    return [(e.actor_label, e.event_type, e.subject_type, e.data["object"], e.data["change"]) for e in rows]


def test_what_an_administrator_changes_in_the_admin_is_in_the_audit_trail(
    staff: Any, sign_in: Any, personas: Personas
) -> None:
    client = sign_in(Client(), staff)
    added = client.post("/admin/auth/group/add/", {"name": "Tổ rà soát"})
    assert added.status_code == 302, added.content[:400]
    group = Group.objects.get(name="Tổ rà soát")
    changed = client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "Tổ rà soát dữ liệu"})
    assert changed.status_code == 302
    # An officer's password set by the administrator: the event says which field, never the value.
    password = client.post(
        f"/admin/accounts/user/{personas.lan.pk}/password/",
        {"password1": "Mật-khẩu-mới-2026", "password2": "Mật-khẩu-mới-2026", "usable_password": "true"},
    )
    assert password.status_code == 302, password.content[:400]
    deleted = client.post(
        "/admin/auth/group/",
        {"action": "delete_selected", "_selected_action": [group.pk], "post": "yes"},
    )
    assert deleted.status_code == 302
    assert not Group.objects.exists()
    minh = staff.username
    assert _admin_events() == [
        (minh, "admin.object.added", "admin:auth.group", "Tổ rà soát", [{"added": {}}]),
        (
            minh,
            "admin.object.changed",
            "admin:auth.group",
            "Tổ rà soát dữ liệu",
            [{"changed": {"fields": ["Name"]}}],
        ),
        (minh, "admin.object.changed", "admin:accounts.user", "lan", [{"changed": {"fields": ["password"]}}]),
        (minh, "admin.object.deleted", "admin:auth.group", "Tổ rà soát dữ liệu", ""),
    ]
    assert "Mật-khẩu-mới-2026" not in str(AuditEvent.objects.filter(event_type__startswith="admin.").values())
