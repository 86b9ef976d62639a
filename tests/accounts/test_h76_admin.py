"""Officers' accounts in the Django admin and `dancu createsuperuser`, three holes a review found.

A police unit's level changed on its admin page left its collectors in a province's police, which every
other path refuses (`role.unit_level`). The admin's "add TOTP device" gave an account a second confirmed
authenticator beside its holder's. And two `dancu createsuperuser` runs with one name at the same
instant ended the second in the database's raw error rather than the command's own words.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models.signals import pre_save
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.services import officer_create
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.geo.selectors import unit_get
from tests.accounts.conftest import admin_post
from tests.conftest import DUONG_LIEU_LEGACY, PASSWORD, Personas, legacy_commune


@pytest.fixture(autouse=True)
def _language_restored(language_restored: None) -> None:
    """Each test here may switch the language."""


def _changed_events() -> list[dict[str, Any]]:
    return [
        event.data
        for event in AuditEvent.objects.filter(event_type=EventType.ADMIN_OBJECT_CHANGED).order_by("pk")
    ]


# -- 1. A police unit's level -----------------------------------------------------------------------------

LEVEL_REFUSED = {
    "vi": (
        "Đơn vị có cán bộ mà vai trò không làm việc tại cấp Công an tỉnh/thành phố: 1 Cán bộ thu thập "
        "(công an xã), 2 Cán bộ kiểm tra cấp xã. Hãy chuyển họ sang đơn vị khác hoặc đổi vai trò của họ "
        "trước [role.unit_level]"
    ),
    "en": (
        "The unit has officers whose role does not work at the level Provincial/municipal police: 1 Data "
        "collection officer (commune police), 2 Commune-level review officer. Move them to another unit or "
        "give them another role first [role.unit_level]"
    ),
}


def _unit_url(unit: PoliceUnit) -> str:
    return f"/admin/accounts/policeunit/{unit.pk}/change/"


@pytest.fixture
def hoan_kiem(personas: Personas) -> PoliceUnit:
    """Lan's commune police, with two commune reviewers besides her (one deactivated: reactivated, she
    would be misplaced too) and an auditor, whose role works at every level."""
    unit = personas.lan.police_unit
    assert unit is not None
    for username, role in (
        ("kiemtra.hk1", User.Role.COMMUNE_REVIEWER),
        ("kiemtra.hk2", User.Role.COMMUNE_REVIEWER),
        ("kiemtoan.hk", User.Role.AUDITOR),
    ):
        officer_create(
            actor=Actor(system="test"), username=username, password=PASSWORD, role=role, police_unit=unit
        )
    User.objects.filter(username="kiemtra.hk2").update(is_active=False)
    return unit


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_units_level_is_refused_while_its_officers_roles_do_not_work_there(
    operator: Client, hoan_kiem: PoliceUnit, language: str
) -> None:
    # Made a province's police (its area, its level and the ministry above it, as a province's police
    # has: test_police_unit_shape), the unit would keep its collectors and commune reviewers.
    province = unit_get(structure="2025", level="province", code="01")
    ministry = PoliceUnit.objects.get(level=PoliceUnit.Level.MINISTRY)
    response = admin_post(
        operator,
        _unit_url(hoan_kiem),
        language=language,
        level=PoliceUnit.Level.PROVINCE,
        admin_unit=province.pk,
        parent=ministry.pk,
    )

    assert response.status_code == 200  # the page again, nothing saved
    assert response.context["adminform"].form.errors == {"level": [LEVEL_REFUSED[language]]}
    hoan_kiem.refresh_from_db()
    assert hoan_kiem.level == PoliceUnit.Level.COMMUNE
    assert _changed_events() == []


def test_a_units_level_that_suits_its_officers_is_saved(operator: Client, personas: Personas) -> None:
    # Dũng, a supervisor, works in a district's police as in a province's. The unit is given a legacy
    # district's area with the level: a level is its area's (test_police_unit_shape).
    hcm = personas.dung.police_unit
    assert hcm is not None
    district = legacy_commune(DUONG_LIEU_LEGACY).parent
    assert district is not None

    response = admin_post(operator, _unit_url(hcm), level=PoliceUnit.Level.DISTRICT, admin_unit=district.pk)

    assert response.status_code == 302, response.context["adminform"].form.errors
    hcm.refresh_from_db()
    assert hcm.level == PoliceUnit.Level.DISTRICT


def test_a_unit_whose_level_is_kept_is_saved_with_officers_placed_before_the_rule(
    operator: Client, personas: Personas
) -> None:
    # Hoa, a collector in a legacy district's police, was placed there before the rule: the unit's name
    # is still corrected, since its level is not changed.
    hoai_duc = personas.hoa.police_unit
    assert hoai_duc is not None
    assert hoai_duc.level == PoliceUnit.Level.DISTRICT

    response = admin_post(operator, _unit_url(hoai_duc), name="Công an huyện Hoài Đức (cũ)")

    assert response.status_code == 302, response.context["adminform"].form.errors
    hoai_duc.refresh_from_db()
    assert (hoai_duc.name, hoai_duc.level) == ("Công an huyện Hoài Đức (cũ)", PoliceUnit.Level.DISTRICT)


# -- 2. One authenticator per account ---------------------------------------------------------------------

SECOND_DEVICE = {
    "vi": (
        "Tài khoản đã có ứng dụng xác thực đã xác nhận; mỗi tài khoản chỉ có một. Để thay nó, dùng thao tác "
        "«Đặt lại ứng dụng xác thực» (như dancu otp_reset) [otp.already_set_up]"
    ),
    "en": (
        "The account already has a confirmed authenticator, and an account has only one. To replace it, use "
        "the action «Reset the account's authenticator» (as dancu otp_reset) [otp.already_set_up]"
    ),
}
ADD_DEVICE = "/admin/otp_totp/totpdevice/add/"


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_admin_cannot_add_a_second_confirmed_authenticator(
    operator: Client, personas: Personas, language: str
) -> None:
    own = TOTPDevice.objects.get(user=personas.lan)

    response = admin_post(
        operator, ADD_DEVICE, language=language, user=str(personas.lan.pk), name="thứ hai", confirmed="on"
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"user": [SECOND_DEVICE[language]]}
    assert list(TOTPDevice.objects.filter(user=personas.lan)) == [own]
    assert not AuditEvent.objects.filter(event_type=EventType.ADMIN_OBJECT_ADDED).exists()


def test_the_admin_cannot_move_a_confirmed_authenticator_to_an_account_that_has_one(
    operator: Client, personas: Personas
) -> None:
    binhs = TOTPDevice.objects.get(user=personas.binh)
    url = f"/admin/otp_totp/totpdevice/{binhs.pk}/change/"

    response = admin_post(operator, url, user=str(personas.lan.pk))

    assert response.context["adminform"].form.errors == {"user": [SECOND_DEVICE["vi"]]}
    binhs.refresh_from_db()
    assert binhs.user == personas.binh
    assert TOTPDevice.objects.filter(user=personas.lan, confirmed=True).count() == 1


def test_the_admin_still_adds_an_unconfirmed_authenticator(operator: Client, personas: Personas) -> None:
    TOTPDevice.objects.filter(user=personas.binh).delete()

    # Not confirmed: the account's only authenticator is confirmed by its holder's code at sign-in, never
    # ticked here (tests/accounts/test_h82_admin.py).
    first = admin_post(operator, ADD_DEVICE, user=str(personas.binh.pk), name="điện thoại", confirmed=None)
    waiting = admin_post(operator, ADD_DEVICE, user=str(personas.lan.pk), name="chờ", confirmed=None)
    added = TOTPDevice.objects.get(user=personas.binh)
    kept = admin_post(operator, f"/admin/otp_totp/totpdevice/{added.pk}/change/", name="mới")

    assert (first.status_code, waiting.status_code, kept.status_code) == (302, 302, 302)
    assert list(TOTPDevice.objects.filter(user=personas.binh).values_list("name", "confirmed")) == [
        ("mới", False)
    ]
    assert TOTPDevice.objects.filter(user=personas.lan, confirmed=False, name="chờ").exists()


# -- 3. Two `dancu createsuperuser` at the same instant ------------------------------------------------------

TAKEN = "Tên đăng nhập đã tồn tại / Username already taken"


@pytest.fixture
def made_meanwhile() -> Iterator[None]:
    """The other run's account, "root.c06", written to the database between this run's check of the name
    and its own write: as this run's account is about to be saved."""

    started: list[bool] = []

    def other_run(sender: type[User], instance: User, **kwargs: Any) -> None:
        if instance.pk is None and not started:  # the command's account, not the other run's own save
            started.append(True)
            User.objects.create_superuser("root.c06", password=PASSWORD)

    pre_save.connect(other_run, sender=User, dispatch_uid="h76_made_meanwhile")
    yield
    pre_save.disconnect(sender=User, dispatch_uid="h76_made_meanwhile")


# Without a transaction around the test, as the command runs on a server: the database's refusal of the
# write then leaves the connection usable, and what was written is read back.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("username", ["root.c06", "ROOT.c06"])
def test_createsuperuser_refused_by_the_database_says_the_name_is_taken(
    made_meanwhile: None, username: str
) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command(
            "createsuperuser", "--noinput", username=username, email="root@c06.gov.vn", stdout=out, stderr=out
        )

    assert str(refused.value) == TAKEN
    assert list(User.objects.values_list("username", flat=True)) == ["root.c06"]
    assert "Superuser created successfully." not in out.getvalue()
