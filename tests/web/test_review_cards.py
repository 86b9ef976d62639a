"""An administrator's account made with `dancu createsuperuser` has no officer's role: after its first
sign-in at /login/ (where it sets up the authenticator) it lands on the admin site, not on a refusal."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_an_administrator_without_a_role_lands_on_the_admin_site(personas: Any, sign_in: Any) -> None:
    root = User.objects.create_superuser(username="quantri.he.thong", password=PASSWORD, email="")
    client = Client()
    response = client.post("/login/", {"username": root.username, "password": PASSWORD})
    assert response.status_code == 302
    # The set-up page shows a new authenticator; its first code confirms it and signs the account in.
    assert response["Location"] == "/login/otp/setup/"
    client.get("/login/otp/setup/")
    device = TOTPDevice.objects.get(user=root)
    token = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    response = client.post("/login/otp/setup/", {"token": f"{token:06d}"})
    assert response.status_code == 302
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/admin/"
    assert response.status_code == 200


def test_an_officer_still_lands_on_the_home_page(personas: Any, sign_in: Any) -> None:
    client = sign_in(Client(), personas.lan)
    response = client.get("/")
    assert response.status_code == 200
