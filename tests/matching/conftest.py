"""Fixtures of the review queue: Thu, a commune reviewer of Phường Hoàn Kiếm, and Hùng recorded twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation

from dancu.accounts.models import User
from dancu.registry.models import Citizen
from tests.conftest import household_of, make_citizen
from tests.registry.merge_support import card, reviewer


@pytest.fixture(autouse=True)
def _language_of_each_test_its_own() -> Iterator[None]:
    """Each test starts in the default language. A page requested in English (the language cookie) leaves
    English active on the worker's thread (LocaleMiddleware activates it and nothing takes it back), and a
    later test that reads a label outside a request (the selectors' "Nam", "Nữ") then read it in English,
    depending on which tests the worker happened to run before it."""
    yield
    translation.deactivate()


@pytest.fixture
def thu(db: None) -> User:
    return reviewer()


@pytest.fixture
def hung(db: None) -> Citizen:
    """Hùng from the household register: head of his household, with his chip card."""
    hung = make_citizen(full_name="Nguyễn Văn Hùng", old_id_number="012345678")
    household_of(hung)
    card(hung)
    return Citizen.objects.get(pk=hung.pk)


@pytest.fixture
def duplicate(db: None) -> Citizen:
    """Hùng again, from a legacy file, at the same address, with a phone the register lacks."""
    return make_citizen(full_name="Nguyen Van Hung", phone="0912345678")
