"""Fixtures of the review queue: Thu, a commune reviewer of Phường Hoàn Kiếm, and Hùng recorded twice."""

from __future__ import annotations

import pytest

from dancu.accounts.models import User
from dancu.registry.models import Citizen
from tests.conftest import household_of, make_citizen
from tests.registry.merge_support import card, reviewer


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
