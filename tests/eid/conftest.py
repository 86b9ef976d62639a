"""Fixtures of the e-ID tests: Hùng holds the card delivered to him at the Hoàn Kiếm station (the card
tests' fixtures), and a helper that registers and activates his account as he would at the station."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.cards.models import Card
from dancu.eid import services
from dancu.eid.models import EidAccount

# The card tests' fixtures (fee table, issuer keys, the station and Hùng's delivered card).
from tests.cards.conftest import (  # noqa: F401 (fixtures are found by name)
    _fee_table,
    _issuer_keys,
    delivered,
    device,
    station,
)
from tests.conftest import Personas, otp_now

CITIZEN_PASSWORD = "Hùng-tự-đặt-mật-khẩu-2026"
# The secret of the citizen's authenticator app in these tests (20 bytes, hex).
OTP_SECRET = "3132333435363738393031323334353637383930"


@dataclass
class Holder:
    """A citizen with an activated e-ID account and a confirmed TOTP device."""

    account: EidAccount
    user: User
    card: Card


@pytest.fixture
def hung_account(personas: Personas, delivered: Card) -> Holder:  # noqa: F811 (the fixture above)
    account, code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=delivered.citizen, identity_checked=True
    )
    services.eid_account_activate(
        pin=delivered.citizen.pin, code=code, password=CITIZEN_PASSWORD, otp_secret_hex=OTP_SECRET
    )
    account.refresh_from_db()
    return Holder(account=account, user=account.user, card=delivered)


def citizen_sign_in(client: Client, user: User, *, password: str = CITIZEN_PASSWORD) -> Client:
    """Sign a citizen in through the portal's pages: PIN and password, then the TOTP code."""
    response = client.post("/me/login/", {"pin": user.username, "password": password})
    assert response.status_code == 302, response.content[:800]
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    response = client.post("/me/login/otp/", {"token": otp_now(user)})
    assert response.status_code == 302, response.content[:800]
    return client
