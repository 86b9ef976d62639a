"""Review s26: the ministry's administrator typing a police unit several units share the name of, and the
refusals of a hostile string naming the field as the page shows it."""

from __future__ import annotations

import pytest
from django.test import Client

from dancu.accounts.models import PoliceUnit, User
from dancu.audit.models import AuditEvent, EventType
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Mật-khẩu-mới-của-cán-bộ-2026"


def _twin_in_saigon(personas: Personas) -> PoliceUnit:
    """A second "Công an Phường Hoàn Kiếm", under the police of TP Hồ Chí Minh: 253 names of the 2025
    communes are shared so ("Xã Tân Phú" by five provinces)."""
    hoan_kiem, saigon = personas.lan.police_unit, personas.dung.police_unit
    assert hoan_kiem is not None
    assert saigon is not None
    return PoliceUnit.objects.create(
        code="CA-commune-twin",
        name=hoan_kiem.name,
        level=PoliceUnit.Level.COMMUNE,
        admin_unit=hoan_kiem.admin_unit,
        parent=saigon,
    )


def test_a_new_officer_s_unit_named_by_several_is_refused_listing_each_with_its_code(
    admin_client: Client, personas: Personas
) -> None:
    """The refusal said "type the code", and the codes are shown nowhere in the pages: it lists the units
    of that name, each with the police above it and its code, for the administrator to pick one."""
    twin = _twin_in_saigon(personas)
    hoan_kiem = personas.lan.police_unit
    assert hoan_kiem is not None
    assert hoan_kiem.parent is not None
    accounts = User.objects.count()

    response = admin_client.post(
        "/officers/new/",
        {
            "username": "canbo.moi",
            "full_name": "Phạm Thị Mới",
            "role": User.Role.COLLECTOR,
            "police_unit": "Phường Hoàn Kiếm",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 400
    [error] = response.context["form"].errors["police_unit"]
    assert "2 đơn vị công an mang tên này" in error, error
    assert f"({hoan_kiem.code})" in error, error
    assert f"{hoan_kiem.parent.name}" in error, error
    assert f"({twin.code})" in error, error
    assert "Thành phố Hồ Chí Minh" in error, error
    assert User.objects.count() == accounts


def test_an_officer_moved_to_a_unit_named_by_several_is_refused_listing_them(
    admin_client: Client, personas: Personas
) -> None:
    twin = _twin_in_saigon(personas)

    response = admin_client.post(
        f"/officers/{personas.binh.pk}/change/",
        {"role": User.Role.COLLECTOR, "police_unit": "Công an Phường Hoàn Kiếm", "reason": "Điều chuyển"},
    )

    assert response.status_code == 400
    [error] = response.context["change_form"].errors["police_unit"]
    assert f"({twin.code})" in error, error
    assert User.objects.get(pk=personas.binh.pk).police_unit == personas.binh.police_unit
    assert not AuditEvent.objects.filter(event_type=EventType.OFFICER_CHANGED).exists()

    # The code the refusal listed is taken as typed.
    response = admin_client.post(
        f"/officers/{personas.binh.pk}/change/",
        {"role": User.Role.COLLECTOR, "police_unit": twin.code, "reason": "Điều chuyển"},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=personas.binh.pk).police_unit == twin


def test_a_hostile_full_name_is_refused_naming_the_field_as_the_page_shows_it(
    admin_client: Client, personas: Personas
) -> None:
    """The refusal named the form's code ("Trường «full_name»"); the administrator sees "Họ và tên"."""
    response = admin_client.post(
        "/officers/new/",
        {
            "username": "canbo.moi",
            "full_name": "Nguyễn Văn <b>Mới</b>",
            "role": User.Role.COLLECTOR,
            "police_unit": "Phường Hoàn Kiếm",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 400
    [error] = response.context["form"].errors["full_name"]
    assert "«Họ và tên»" in error, error
    assert "«full_name»" not in error, error
    assert not User.objects.filter(username="canbo.moi").exists()


def test_a_hostile_reason_is_refused_naming_the_field_as_the_page_shows_it(
    admin_client: Client, personas: Personas
) -> None:
    response = admin_client.post(
        f"/officers/{personas.lan.pk}/name/",
        {"name-full_name": "Trần Thị Lan Anh", "name-reason": "Sửa tên <script>"},
    )

    assert response.status_code == 400
    [error] = response.context["name_form"].errors["reason"]
    assert "«Lý do»" in error, error
    assert "«reason»" not in error, error


def test_the_account_s_history_says_from_which_unit_and_role_to_which(
    admin_client: Client, personas: Personas
) -> None:
    """An officer moved between provinces: the history said "role or unit changed" and no more, so an
    administrator following the officer could not tell where they had worked before."""
    lan_unit, saigon = personas.lan.police_unit, personas.dung.police_unit
    assert lan_unit is not None
    assert saigon is not None
    moved = admin_client.post(
        f"/officers/{personas.lan.pk}/change/",
        {"role": User.Role.SUPERVISOR, "police_unit": saigon.code, "reason": "Điều chuyển vào TP HCM"},
    )
    assert moved.status_code == 302

    html = admin_client.get(f"/officers/{personas.lan.pk}/").content.decode()

    assert f'<span class="changed-unit">{lan_unit.code} → {saigon.code}</span>' in html
    assert (
        '<span class="changed-role">Cán bộ thu thập (công an xã) → Cán bộ phúc tra cấp huyện/tỉnh</span>'
        in html
    )
