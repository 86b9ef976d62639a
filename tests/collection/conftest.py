"""Fixtures the DC01/DC02 form tests share (the helpers themselves are in forms_support.py)."""

from __future__ import annotations

import pytest

from tests.collection.forms_support import Reviewers, make_reviewers
from tests.conftest import Personas


@pytest.fixture
def staff(personas: Personas) -> Reviewers:
    """Hằng and Khoa, the commune reviewers of Phường Hoàn Kiếm and Phường Hồng Hà."""
    return make_reviewers(personas)
