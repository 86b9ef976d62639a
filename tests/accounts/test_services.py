"""Creating officers and API tokens: bad input is refused field by field and leaves nothing behind."""

from __future__ import annotations

import pytest
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.models import ApiToken, User
from dancu.accounts.services import api_token_create, officer_create, police_unit_for_area
from dancu.audit.models import AuditEvent
from dancu.lib.errors import DomainError
from tests.conftest import HOAN_KIEM, SYSTEM, Personas, commune

pytestmark = pytest.mark.django_db


def rows() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "devices": TOTPDevice.objects.count(),
        "tokens": ApiToken.objects.count(),
        "events": AuditEvent.objects.count(),
    }


def test_an_officer_with_a_bad_role_a_taken_name_and_a_weak_password_is_refused_on_each(
    personas: Personas,
) -> None:
    """Every problem is named at once, by its field, and no account, device or event is written."""
    before = rows()

    with translation.override("vi"), pytest.raises(DomainError) as refused:
        officer_create(
            actor=SYSTEM,
            username="lan",
            password="12345",
            role="sheriff",
            police_unit=police_unit_for_area(area=commune(HOAN_KIEM)),
        )

    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("role", "role.invalid"),
        ("username", "username.taken"),
        ("password", "password.weak"),
    ]
    # Each message carries the validators' reasons in its own language, whichever is active (they once
    # came in the active language: Vietnamese under the English label, or the other way round; and
    # Django's Vietnamese catalogue has no words for the short password, which dancu's supplies).
    weak = refused.value.errors[2]
    assert weak.message("vi") == (
        "Mật khẩu chưa đủ mạnh: Mật khẩu quá ngắn: phải có ít nhất 10 ký tự. Mật khẩu này quá phổ biến. "
        "Mật khẩu này hoàn toàn là số."
    )
    assert weak.message("en") == (
        "The password is too weak: This password is too short. It must contain at least 10 characters. "
        "This password is too common. This password is entirely numeric."
    )
    assert rows() == before


def test_the_token_service_refuses_a_name_the_page_would_not_send(personas: Personas) -> None:
    """The page's form already asks for 1-100 characters; the service holds the rule for every caller."""
    before = rows()

    for name in ("", "   ", "x" * 101):
        with pytest.raises(DomainError) as refused:
            api_token_create(user=personas.lan, name=name)
        assert [(e.field, e.code) for e in refused.value.errors] == [("name", "token.name")]

    assert rows() == before
