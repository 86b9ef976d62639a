"""API tokens: created on the account page, shown once, kept only as a digest, revocable.

Lan creates a token for the commune team's tablet, uses it, and revokes it when the tablet is lost.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from django.test import Client

from dancu.accounts.models import ApiToken, User
from dancu.accounts.services import api_token_authenticate, api_token_create
from dancu.audit.models import AuditEvent, EventType
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def lan(personas: Personas, sign_in: Any) -> Client:
    return sign_in(Client(), personas.lan)


def shown_secret(page: str) -> str | None:
    match = re.search(r'<code class="secret" id="new-token">([^<]+)</code>', page)
    return match.group(1) if match else None


def bearer(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_the_token_page_starts_empty(lan: Client) -> None:
    page = lan.get("/account/tokens/").content.decode()

    assert "Chưa có mã nào" in page
    assert shown_secret(page) is None


def test_a_new_token_is_shown_once_and_only_its_digest_is_kept(lan: Client, personas: Personas) -> None:
    created = lan.post("/account/tokens/", {"name": "Máy tính bảng tổ 3"})
    secret = shown_secret(created.content.decode())

    assert created.status_code == 200
    assert secret is not None
    assert secret.startswith("dcu_")
    assert len(secret) > 40
    token = ApiToken.objects.get(user=personas.lan)
    assert token.name == "Máy tính bảng tổ 3"
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[4:12]
    # Nothing stored holds the secret itself: the row only has its digest and an 8-character prefix.
    stored = " ".join(str(value) for value in ApiToken.objects.filter(pk=token.pk).values().get().values())
    assert secret not in stored
    assert secret[4:] not in stored
    event = AuditEvent.objects.get(event_type=EventType.API_TOKEN_CREATED)
    assert secret not in str(event.data)
    # Shown once: the next visit lists the token by name and prefix only.
    later = lan.get("/account/tokens/").content.decode()
    assert shown_secret(later) is None
    assert secret not in later
    assert token.prefix in later
    assert "Máy tính bảng tổ 3" in later


def test_the_token_opens_the_api_and_records_its_use(lan: Client, personas: Personas, people: People) -> None:
    secret = shown_secret(lan.post("/account/tokens/", {"name": "tablet"}).content.decode())

    response = bearer(secret).get(f"/api/v1/citizens/{people.hung.pin}")

    assert response.status_code == 200
    assert ApiToken.objects.get(user=personas.lan).last_used_at is not None


def test_a_revoked_token_is_refused(lan: Client, personas: Personas, people: People) -> None:
    secret = shown_secret(lan.post("/account/tokens/", {"name": "tablet"}).content.decode())
    token = ApiToken.objects.get(user=personas.lan)
    assert bearer(secret).get("/api/v1/citizens", {"q": "hung"}).status_code == 200

    response = lan.post("/account/tokens/", {"revoke": str(token.pk)})

    assert (response.status_code, response["Location"]) == (302, "/account/tokens/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    refused = bearer(secret).get("/api/v1/citizens", {"q": "hung"})
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["code"] == "auth.required"
    assert api_token_authenticate(secret) is None
    page = lan.get("/account/tokens/").content.decode()
    assert "Đã thu hồi" in page
    assert f'name="revoke" value="{token.pk}"' not in page
    assert (
        AuditEvent.objects.filter(event_type=EventType.API_TOKEN_REVOKED, subject_id=str(token.pk)).count()
        == 1
    )


@pytest.mark.parametrize("revoke", ["other", "999999", "abc", "", "1 OR 1=1"])
def test_only_ones_own_active_tokens_can_be_revoked(lan: Client, personas: Personas, revoke: str) -> None:
    _token, binh_secret = api_token_create(user=personas.binh, name="Bình's laptop")
    binh_token = ApiToken.objects.get(user=personas.binh)
    value = str(binh_token.pk) if revoke == "other" else revoke

    response = lan.post("/account/tokens/", {"revoke": value})

    assert response.status_code == 302
    binh_token.refresh_from_db()
    assert binh_token.revoked_at is None
    assert bearer(binh_secret).get("/api/v1/citizens").status_code == 200
    assert not AuditEvent.objects.filter(event_type=EventType.API_TOKEN_REVOKED).exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_token_needs_a_name(lan: Client, personas: Personas, name: str) -> None:
    page = lan.post("/account/tokens/", {"name": name}).content.decode()

    assert 'role="alert"' in page
    assert shown_secret(page) is None
    assert not ApiToken.objects.filter(user=personas.lan).exists()


def test_the_token_page_needs_the_second_factor(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.lan)  # signed in without the TOTP step

    for response in (client.get("/account/tokens/"), client.post("/account/tokens/", {"name": "tablet"})):
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    assert not ApiToken.objects.exists()
    assert Client().get("/account/tokens/")["Location"].startswith("/login/")


def test_a_deactivated_officers_token_is_refused(personas: Personas, people: People) -> None:
    _token, secret = api_token_create(user=personas.lan, name="tablet")
    User.objects.filter(pk=personas.lan.pk).update(is_active=False)

    assert bearer(secret).get("/api/v1/citizens", {"q": "hung"}).status_code == 401


@pytest.mark.parametrize(
    "secret", ["", "dcu_", "dcu_" + "x" * 43, "xyz_abc", "dcu_" + "a" * 200, "dcu_\x00", "dcu_' OR '1'='1"]
)
def test_forged_tokens_authenticate_nobody(personas: Personas, secret: str) -> None:
    api_token_create(user=personas.lan, name="tablet")

    assert api_token_authenticate(secret) is None
