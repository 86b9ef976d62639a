"""Review s23 (h64): the ministry's administrator at work in Tài khoản cán bộ (/officers/)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import PoliceUnit, User
from dancu.audit.models import AuditEvent, EventType
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

SignIn = Callable[[Client, User], Client]
NEW_PASSWORD = "Mật-khẩu-mới-của-cán-bộ-2026"


def _found(client: Client, text: str) -> set[str]:
    response = client.get("/officers/", {"q": text})
    assert response.status_code == 200
    return {officer.username for officer in response.context["page"].results}


@pytest.mark.parametrize(
    ("text", "username"),
    [("Thị Lan", "lan"), ("Trần Thị Lan", "lan"), ("  Văn   Bình ", "binh"), ("Quốc Cường", "cuong")],
)
def test_an_officer_is_found_by_the_name_as_the_list_shows_it(
    admin_client: Client, personas: Personas, text: str, username: str
) -> None:
    """The list shows "Trần Thị Lan" as one name; the administrator types part of it as shown, across the
    family and given names the account keeps apart."""
    assert _found(admin_client, text) == {username}


def _new(client: Client, police_unit: str, **fields: str) -> object:
    data = {
        "username": "canbo.moi",
        "full_name": "Phạm Thị Mới",
        "role": User.Role.COLLECTOR,
        "police_unit": police_unit,
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    } | fields
    return client.post("/officers/new/", data)


@pytest.mark.parametrize("typed", ["Phường Hoàn Kiếm", "Công an Phường Hoàn Kiếm", " phường  Hoàn Kiếm "])
def test_a_new_officer_s_unit_may_be_typed_by_its_name(
    admin_client: Client, personas: Personas, typed: str
) -> None:
    """The unit's code is found nowhere in the pages: an administrator types the commune they know, and
    the one unit of that name is taken, as its code would be."""
    response = _new(admin_client, typed)

    assert response.status_code == 302, response.context["form"].errors  # type: ignore[attr-defined]
    officer = User.objects.get(username="canbo.moi")
    assert officer.police_unit == personas.lan.police_unit
    event = AuditEvent.objects.get(event_type=EventType.OFFICER_CREATED, subject_id=str(officer.pk))
    assert event.data["police_unit"] == personas.lan.police_unit.code  # type: ignore[union-attr]


def test_a_name_several_units_share_is_refused_beside_the_field_asking_for_the_code(
    admin_client: Client, personas: Personas
) -> None:
    """Two units of one name: neither is guessed; the refusal says to type the code, and nothing is
    written."""
    hoan_kiem = personas.lan.police_unit
    assert hoan_kiem is not None
    PoliceUnit.objects.create(
        code="CA-test-twin",
        name=hoan_kiem.name,
        level=PoliceUnit.Level.COMMUNE,
        admin_unit=hoan_kiem.admin_unit,
        parent=hoan_kiem.parent,
    )
    accounts = User.objects.count()

    response = _new(admin_client, "Phường Hoàn Kiếm")

    assert response.status_code == 400
    errors = response.context["form"].errors["police_unit"]  # type: ignore[attr-defined]
    assert any("[unit.unknown]" in error and "nhập mã" in error for error in errors), errors
    assert User.objects.count() == accounts


def test_a_unit_s_name_moves_an_officer_too(admin_client: Client, personas: Personas) -> None:
    response = admin_client.post(
        f"/officers/{personas.lan.pk}/change/",
        {"role": User.Role.COLLECTOR, "police_unit": "Phường Hồng Hà", "reason": "Điều chuyển"},
    )

    assert response.status_code == 302
    assert User.objects.get(pk=personas.lan.pk).police_unit == personas.binh.police_unit
    event = AuditEvent.objects.get(event_type=EventType.OFFICER_CHANGED, subject_id=str(personas.lan.pk))
    assert event.data["after"]["police_unit"] == personas.binh.police_unit.code  # type: ignore[union-attr]
