"""Passwords are stored with the platform's own hasher, PBKDF2, Django's default: the fast hasher that
tests/conftest.py gives every test (`TEST_PASSWORD_HASHERS`) is the tests' alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import global_settings

import dancu.config.settings as platform_settings
from dancu.accounts.models import User
from dancu.accounts.services import officer_create, police_unit_for_area
from tests.conftest import PASSWORD, SYSTEM, TEST_PASSWORD_HASHERS


def _platform_hashers() -> list[str]:
    return list(getattr(platform_settings, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS))


def test_the_platform_hashes_with_pbkdf2_and_the_tests_fast_hasher_is_not_among_its_own() -> None:
    hashers = _platform_hashers()
    assert hashers[0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    assert not set(TEST_PASSWORD_HASHERS) & set(hashers)


@pytest.mark.django_db
def test_an_officers_password_is_stored_with_pbkdf2_and_checked_against_it(settings: Any) -> None:
    settings.PASSWORD_HASHERS = _platform_hashers()
    user, _device = officer_create(
        actor=SYSTEM,
        username="quantri.bo",
        password=PASSWORD,
        role=User.Role.MINISTRY_ADMIN,
        police_unit=police_unit_for_area(area=None),
        full_name="Quản trị Bộ",
    )
    stored = User.objects.get(pk=user.pk)
    assert stored.password.startswith("pbkdf2_sha256$")
    assert stored.check_password(PASSWORD)
    assert not stored.check_password(PASSWORD + "x")
