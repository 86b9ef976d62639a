"""The admin's "add TOTP device" gives no account a confirmed authenticator: one is confirmed by its
holder's first code at sign-in, from a secret only the holder was shown. A confirmed device added for an
account with none opened it to the administrator who read its secret on the add page."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.forms.models import model_to_dict, modelform_factory
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.admin import PoliceUnitForm
from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.services import (
    officer_change,
    officer_create,
    police_unit_for_area,
    police_unit_level_refusal,
    police_unit_lock,
)
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.geo.selectors import unit_get
from dancu.lib.errors import DomainError
from tests.accounts.conftest import admin_page_data
from tests.conftest import PASSWORD, SAI_GON, SYSTEM, Personas, commune
from tests.races import race

ADD_DEVICE = "/admin/otp_totp/totpdevice/add/"
REFUSED = {
    "vi": (
        "Ứng dụng xác thực chỉ được xác nhận bằng mã đầu tiên của người giữ tài khoản khi đăng nhập, để "
        "quản trị viên không bao giờ biết khoá bí mật của nó: bỏ chọn ô này, người giữ tài khoản tự cài "
        "ứng dụng ở lần đăng nhập tới [otp.confirmed_by_holder]"
    ),
    "en": (
        "An authenticator is confirmed only by its holder's first code at sign-in, so that an administrator "
        "never knows its secret: untick this box, and the holder sets up the app at their next sign-in "
        "[otp.confirmed_by_holder]"
    ),
}


@pytest.fixture(autouse=True)
def _language_restored(language_restored: None) -> None:
    """Each test here may switch the language."""


def _add(client: Client, language: str = "vi", **changes: Any) -> Any:
    data = admin_page_data(client, ADD_DEVICE) | changes
    client.cookies["django_language"] = language
    return client.post(ADD_DEVICE, data)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_device_added_confirmed_for_an_account_without_one_is_refused(
    operator: Client, personas: Personas, language: str
) -> None:
    TOTPDevice.objects.filter(user=personas.binh).delete()

    response = _add(operator, language, user=str(personas.binh.pk), name="điện thoại", confirmed="on")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"confirmed": [REFUSED[language]]}
    assert not TOTPDevice.objects.filter(user=personas.binh).exists()
    assert not AuditEvent.objects.filter(event_type=EventType.ADMIN_OBJECT_ADDED).exists()


def test_the_add_page_offers_the_box_unticked_and_adds_a_device_that_opens_nothing(
    operator: Client, personas: Personas
) -> None:
    TOTPDevice.objects.filter(user=personas.binh).delete()
    form = operator.get(ADD_DEVICE).context["adminform"].form
    assert form["confirmed"].value() is False

    # The page posted as it is offered, the account's name filled in.
    response = _add(operator, user=str(personas.binh.pk), name="điện thoại")

    assert response.status_code == 302
    assert list(TOTPDevice.objects.filter(user=personas.binh).values_list("name", "confirmed")) == [
        ("điện thoại", False)
    ]
    assert AuditEvent.objects.filter(event_type=EventType.ADMIN_OBJECT_ADDED).count() == 1


def test_an_account_that_has_one_is_refused_for_that_first(operator: Client, personas: Personas) -> None:
    """The account's own authenticator is the refusal it hears, as before: a reset comes first."""
    own = TOTPDevice.objects.get(user=personas.lan)
    response = _add(operator, user=str(personas.lan.pk), name="thứ hai", confirmed="on")
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["user"]
    assert errors["user"][0].endswith("[otp.already_set_up]")
    assert list(TOTPDevice.objects.filter(user=personas.lan)) == [own]


# A unit's new level and an officer placed in it at the same instant ----------------------------------------
#
# Each checks the rule `role.unit_level` from its own end: the admin's unit page counts the officers whose
# role does not work at the new level, the officers' pages check the unit's level. Both take the unit's row
# lock before their check (accounts.services.police_unit_lock), so the second waits for the first and sees
# what it wrote. On PostgreSQL the two run on two connections (tests.races); SQLite plays them in turn.


# The admin's unit page's form, made as the admin makes it from PoliceUnitAdmin.form.
UnitPage = modelform_factory(PoliceUnit, form=PoliceUnitForm, fields="__all__")


def _spare_unit() -> PoliceUnit:
    """Phường Sài Gòn's police, where none of the personas works."""
    hcm = User.objects.get(username="dung").police_unit
    return police_unit_for_area(area=commune(SAI_GON), parent=hcm)


def _made_a_provinces(unit: PoliceUnit) -> Any:
    """The admin's unit page saving the unit as a province's police (a province's area with the level,
    the ministry above it: test_police_unit_shape): its form's check and its save in one transaction, as
    the admin's page runs them; the form's errors, or None once saved."""
    data = model_to_dict(PoliceUnit.objects.get(pk=unit.pk)) | {
        "level": PoliceUnit.Level.PROVINCE,
        "admin_unit": unit_get(structure="2025", level="province", code="79").pk,
        "parent": PoliceUnit.objects.get(level=PoliceUnit.Level.MINISTRY).pk,
    }
    data = {name: "" if value is None else value for name, value in data.items()}
    with transaction.atomic():
        form = UnitPage(data, instance=PoliceUnit.objects.get(pk=unit.pk))
        if not form.is_valid():
            return form.errors
        form.save()
    return None


def _moved(officer: User, unit: PoliceUnit) -> Any:
    minh = User.objects.get(username="minh")
    return officer_change(
        actor=Actor(minh), officer=officer, role=User.Role.COLLECTOR, police_unit=unit, reason="Điều động"
    )


def test_an_officer_placed_while_the_unit_becomes_a_provinces_is_refused(
    transactional_db: None, personas: Personas
) -> None:
    unit = _spare_unit()
    result = race(lambda: _made_a_provinces(unit), lambda: _moved(personas.binh, unit))
    assert isinstance(result, DomainError), result
    assert [(e.field, e.code) for e in result.errors] == [("police_unit", "role.unit_level")]
    assert User.objects.get(pk=personas.binh.pk).police_unit == personas.binh.police_unit
    assert PoliceUnit.objects.get(pk=unit.pk).level == PoliceUnit.Level.PROVINCE
    assert not AuditEvent.objects.filter(event_type=EventType.OFFICER_CHANGED).exists()


def test_an_officer_created_while_the_unit_becomes_a_provinces_is_refused(
    transactional_db: None, personas: Personas
) -> None:
    unit = _spare_unit()
    result = race(
        lambda: _made_a_provinces(unit),
        lambda: officer_create(
            actor=SYSTEM, username="moi", password=PASSWORD, role=User.Role.COLLECTOR, police_unit=unit
        ),
    )
    assert isinstance(result, DomainError), result
    assert [(e.field, e.code) for e in result.errors] == [("police_unit", "role.unit_level")]
    assert not User.objects.filter(username="moi").exists()


def test_a_new_level_while_an_officer_is_placed_in_the_unit_is_refused(
    transactional_db: None, personas: Personas
) -> None:
    unit = _spare_unit()
    errors = race(lambda: _moved(personas.binh, unit), lambda: _made_a_provinces(unit))
    assert list(errors) == ["level"], errors
    assert errors["level"][0].endswith("[role.unit_level]")
    assert "1 Cán bộ thu thập (công an xã)" in errors["level"][0]
    assert PoliceUnit.objects.get(pk=unit.pk).level == PoliceUnit.Level.COMMUNE
    assert User.objects.get(pk=personas.binh.pk).police_unit == unit


def test_the_units_lock_is_taken_inside_a_transaction_only() -> None:
    """A row lock outside a transaction would end with the statement that took it: the helper refuses
    before any query (this test has no database at all)."""
    with pytest.raises(RuntimeError, match="inside the transaction of the write"):
        police_unit_lock(PoliceUnit(pk=1))
    with pytest.raises(RuntimeError, match="inside the transaction of the write"):
        police_unit_level_refusal(unit=PoliceUnit(pk=1), level=PoliceUnit.Level.PROVINCE)
