"""The platform commands of the quick start: `dancu setup`, `dancu demo`, `dancu otp_code`."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from dancu.accounts.models import PoliceUnit, User
from dancu.geo.models import AdminUnit
from dancu.registry.models import Citizen

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(*args: str, **options: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def test_setup_creates_a_police_unit_for_every_unit_and_is_idempotent() -> None:
    first = run("setup")
    assert "Database ready." in first
    provinces = AdminUnit.objects.filter(structure="2025", level="province").count()
    communes = AdminUnit.objects.filter(structure="2025", level="commune").count()
    districts = AdminUnit.objects.filter(structure="legacy", level="district").count()
    assert PoliceUnit.objects.count() == 1 + provinces + communes + districts
    hoan_kiem = PoliceUnit.objects.get(code="CA-commune-00070")
    assert hoan_kiem.level == PoliceUnit.Level.COMMUNE
    assert hoan_kiem.parent.code == "CA-province-01"

    second = run("setup")
    assert "Police units: 0 created" in second
    assert PoliceUnit.objects.count() == 1 + provinces + communes + districts


def test_demo_prepares_people_and_one_account_per_role_then_reuses_them() -> None:
    out = run("demo", people=600, seed=7, no_serve=True)

    assert Citizen.objects.count() == 600
    # Both kinds of placement: 2025 addresses in Hà Nội, legacy-only addresses in old Hải Dương.
    assert Citizen.objects.filter(area_province__code="01", area_legacy_commune__isnull=True).exists()
    assert Citizen.objects.filter(area_legacy_commune__province_code="30").exists()
    # Most people live in the four Hà Nội wards, so each demo officer there has a real commune to work.
    hanoi = Citizen.objects.filter(area_province__code="01").count()
    assert 0.5 * 600 < hanoi < 0.8 * 600
    roles = set(User.objects.filter(username__contains=".").values_list("role", flat=True))
    assert roles == set(User.Role.values)
    for username in ("canbo.hoankiem", "phuctra.hanoi", "quantri.c06", "kiemtoan.c06"):
        assert username in out
    assert "dancu-demo-2025" in out

    again = run("demo", people=600, seed=7, no_serve=True)
    assert "reused" in again
    assert Citizen.objects.count() == 600


def test_a_demo_account_signs_in_with_the_printed_password_and_its_code() -> None:
    run("demo", people=300, seed=3, no_serve=True)
    client = Client()
    response = client.post("/login/", {"username": "canbo.hoankiem", "password": "dancu-demo-2025"})
    assert response["Location"] == "/login/otp/"
    code = run("otp_code", "canbo.hoankiem").strip()
    assert len(code) == 6
    assert code.isdigit()
    assert client.post("/login/otp/", {"token": code}).status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "Phường Hoàn Kiếm" in home.content.decode()


def test_otp_code_answers_only_for_demo_accounts(personas: Any) -> None:
    with pytest.raises(CommandError, match="not a demo account"):
        run("otp_code", personas.lan.username)
