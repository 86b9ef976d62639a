"""An administrator gives an officer's account its role and police unit in the admin: the two go together,
and the page says so next to the field, in its language."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dancu.accounts.models import User
from tests.conftest import Personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(personas: Personas, sign_in: Any) -> Client:
    personas.minh.is_staff = personas.minh.is_superuser = True
    personas.minh.save(update_fields=["is_staff", "is_superuser"])
    return sign_in(Client(), personas.minh)


def _form(user: User, **changes: Any) -> dict[str, Any]:
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "role": user.role,
        "police_unit": user.police_unit_id or "",
        "date_joined_0": "05/12/2026",
        "date_joined_1": "08:00:00",
        "initial-date_joined_0": "05/12/2026",
        "initial-date_joined_1": "08:00:00",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("role", "unit", "message"),
    [
        ("collector", "", "Tài khoản cán bộ cần có đơn vị công an"),
        ("citizen", "unit", "Tài khoản công dân không thuộc đơn vị công an nào"),
    ],
)
def test_a_role_without_its_police_unit_is_refused_next_to_the_field(
    role: str, unit: str, message: str, admin_client: Client, personas: Personas
) -> None:
    new = User.objects.create_user(username="canbo.moi", password="Can-bo-moi-2026!")
    data = _form(new, role=role, police_unit=personas.lan.police_unit_id if unit else "")
    response = admin_client.post(f"/admin/accounts/user/{new.pk}/change/", data)
    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert "officer_has_police_unit" not in page  # the constraint's name, in English, said nothing
    new.refresh_from_db()
    assert (new.role, new.police_unit_id) == ("", None)


def test_a_role_with_its_police_unit_is_saved(admin_client: Client, personas: Personas) -> None:
    new = User.objects.create_user(username="canbo.moi", password="Can-bo-moi-2026!")
    data = _form(new, role="auditor", police_unit=personas.lan.police_unit_id)
    response = admin_client.post(f"/admin/accounts/user/{new.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    new.refresh_from_db()
    assert (new.role, new.police_unit_id) == ("auditor", personas.lan.police_unit_id)
