"""Fixtures of the accounts' tests: the operator in the admin, and the language put back after a test
that switched it (the admin's and the services' messages are read in the active language)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from tests.conftest import Personas


@pytest.fixture
def language_restored() -> Iterator[None]:
    language = translation.get_language()
    yield
    translation.activate(language)


@pytest.fixture
def operator(personas: Personas, sign_in: Any) -> Client:
    """Minh, the only ministry administrator among the personas, made the only superuser too, signed in
    with his code (the admin asks for it)."""
    personas.minh.is_staff = personas.minh.is_superuser = True
    personas.minh.save(update_fields=["is_staff", "is_superuser"])
    return sign_in(Client(), personas.minh)


@pytest.fixture
def admin_client(client: Client, personas: Personas, sign_in: Any) -> Client:
    """Minh, the ministry's administrator, signed in to the officers' pages."""
    return sign_in(client, personas.minh)
