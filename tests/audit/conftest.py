"""The reads an auditor finds in the log, and an auditor of a commune, for the access-log tests."""

from __future__ import annotations

import pytest

from dancu.accounts.models import User
from dancu.accounts.services import officer_create
from dancu.audit.models import AccessLog
from dancu.registry.selectors import citizen_get
from tests.conftest import PASSWORD, SYSTEM, People, Personas

PURPOSE = "Kiểm tra, phúc tra dữ liệu"


@pytest.fixture
def reads(personas: Personas, people: People) -> None:
    """Lan (Hoàn Kiếm) reads Hùng, her commune's citizen; Minh (ministry) reads Mai and Tuấn."""
    AccessLog.objects.all().delete()
    citizen_get(actor=personas.lan, pk=people.hung.pk, purpose=PURPOSE)
    citizen_get(actor=personas.minh, pk=people.mai.pk, purpose=PURPOSE)
    citizen_get(actor=personas.minh, pk=people.tuan.pk, purpose=PURPOSE)


def auditor_of(officer: User, *, username: str, full_name: str) -> User:
    """An auditor of the officer's police unit."""
    assert officer.police_unit is not None
    user, _device = officer_create(
        actor=SYSTEM,
        username=username,
        password=PASSWORD,
        role=User.Role.AUDITOR,
        police_unit=officer.police_unit,
        full_name=full_name,
        otp_secret_hex="3132333435363738393031323334353637383930",
    )
    return user


@pytest.fixture
def commune_auditor(personas: Personas) -> User:
    """An auditor of Lan's unit (Công an phường Hoàn Kiếm)."""
    return auditor_of(personas.lan, username="kiem.toan.hk", full_name="Đinh Văn Khoa")
