"""The administrator signs in on the admin's own page, as docs/operations.md says: user name, password and
the authenticator's code, in one go."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD, Personas, otp_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(personas: Personas) -> Any:
    personas.minh.is_staff = personas.minh.is_superuser = True
    personas.minh.save(update_fields=["is_staff", "is_superuser"])
    return personas.minh


def test_the_password_and_the_code_open_the_admin_without_choosing_a_device(staff: Any) -> None:
    # The page shows no list of devices before the password is known: the first sign-in failed with
    # "Please select a device.", in English, whatever the code.
    client = Client()
    response = client.post(
        "/admin/login/", {"username": staff.username, "password": PASSWORD, "otp_token": otp_now(staff)}
    )
    assert response.status_code == 302, response.content.decode()[-1500:]
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_still_keeps_the_admin_closed(staff: Any) -> None:
    client = Client()
    response = client.post(
        "/admin/login/", {"username": staff.username, "password": PASSWORD, "otp_token": "000000"}
    )
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_with_two_authenticators_the_administrator_still_chooses_one(staff: Any) -> None:
    code = otp_now(staff)
    TOTPDevice.objects.create(user=staff, name="second", confirmed=True)
    client = Client()
    response = client.post(
        "/admin/login/", {"username": staff.username, "password": PASSWORD, "otp_token": code}
    )
    assert response.status_code == 200
    assert 'name="otp_device"' in response.content.decode()
    assert client.get("/admin/").status_code == 302
