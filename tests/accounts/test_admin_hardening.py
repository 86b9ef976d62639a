"""The ministry's administrator at work in the Django admin (/admin/), as a superuser.

Minh, the ministry administrator made a superuser by the operators, cannot lock the platform out of its
own pages: the last active ministry administrator or superuser is neither deactivated, nor demoted, nor
deleted. Lan's lost phone is reset from the list of authenticators as `dancu otp_reset` resets it, her API
tokens with it. And the trail says from which police unit to which Minh moved her, not only "Police unit".
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.models import ApiToken, PoliceUnit, User
from dancu.accounts.services import api_token_create
from dancu.audit.models import AuditEvent, EventType
from tests.accounts.conftest import admin_post
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db

LAST_ADMIN_VI = (
    "Đây là tài khoản quản trị cấp Bộ cuối cùng còn hoạt động: hãy tạo hoặc kích hoạt một tài khoản quản "
    "trị khác trước [account.last_administrator]"
)
LAST_ADMIN_EN = (
    "This is the last active ministry administrator: create or reactivate another first "
    "[account.last_administrator]"
)
LAST_SUPERUSER_VI = (
    "Đây là tài khoản quản trị hệ thống cuối cùng còn hoạt động: hãy tạo một tài khoản khác trước "
    "(dancu createsuperuser) [account.last_superuser]"
)


@pytest.fixture(autouse=True)
def _language_restored(language_restored: None) -> None:
    """Each test here may switch the language."""


def _administrator(username: str, personas: Personas, **extra: Any) -> User:
    """Another ministry administrator (of Minh's unit), made without the services: no trail protects it."""
    return User.objects.create_user(
        username=username,
        password="Quan-tri-vien-2026!",
        role=User.Role.MINISTRY_ADMIN,
        police_unit=personas.minh.police_unit,
        **extra,
    )


def _change_url(user: User) -> str:
    return f"/admin/accounts/user/{user.pk}/change/"


def _post(client: Client, user: User, language: str = "vi", **changes: Any) -> Any:
    return admin_post(client, _change_url(user), language, **changes)


def _changed_events() -> list[dict[str, Any]]:
    return [
        event.data
        for event in AuditEvent.objects.filter(event_type=EventType.ADMIN_OBJECT_CHANGED).order_by("pk")
    ]


def _messages(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# -- 1. The last administrator ----------------------------------------------------------------------------


def test_the_last_ministry_administrator_cannot_deactivate_himself(
    operator: Client, personas: Personas
) -> None:
    response = _post(operator, personas.minh, is_active=None)

    assert response.status_code == 200  # the page again, nothing saved
    assert response.context["adminform"].form.errors == {"is_active": [LAST_ADMIN_VI]}
    personas.minh.refresh_from_db()
    assert personas.minh.is_active
    assert _changed_events() == []


def test_the_last_ministry_administrator_cannot_be_given_another_role(
    operator: Client, personas: Personas
) -> None:
    # An auditor, the role that works in the ministry too: a supervisor there is refused for its unit's
    # level besides (`role.unit_level`).
    response = _post(operator, personas.minh, role=User.Role.AUDITOR)

    assert response.context["adminform"].form.errors == {"role": [LAST_ADMIN_VI]}
    personas.minh.refresh_from_db()
    assert personas.minh.role == User.Role.MINISTRY_ADMIN
    assert _changed_events() == []


def test_the_refusal_is_in_the_pages_language(operator: Client, personas: Personas) -> None:
    response = _post(operator, personas.minh, language="en", role=User.Role.AUDITOR)

    assert response.context["adminform"].form.errors == {"role": [LAST_ADMIN_EN]}


def test_the_last_superuser_cannot_give_up_the_status(operator: Client, personas: Personas) -> None:
    _administrator("khanh", personas)  # another ministry administrator, but no superuser

    response = _post(operator, personas.minh, is_superuser=None)

    assert response.context["adminform"].form.errors == {"is_superuser": [LAST_SUPERUSER_VI]}
    personas.minh.refresh_from_db()
    assert personas.minh.is_superuser


def test_an_administrator_who_is_not_the_last_is_changed_freely(operator: Client, personas: Personas) -> None:
    khanh = _administrator("khanh", personas)
    User.objects.create_superuser(username="root", password="Quan-tri-he-thong-2026!")

    demoted = _post(operator, khanh, role=User.Role.AUDITOR)  # Minh is still a ministry administrator
    no_superuser = _post(operator, personas.minh, is_superuser=None)  # root is still a superuser

    assert (demoted.status_code, no_superuser.status_code) == (302, 302)
    khanh.refresh_from_db()
    personas.minh.refresh_from_db()
    assert khanh.role == User.Role.AUDITOR
    assert not personas.minh.is_superuser


@pytest.fixture
def khanh(operator: Client, personas: Personas) -> User:
    """Khánh, made the only active ministry administrator: Minh, signed in, is an auditor now."""
    User.objects.filter(pk=personas.minh.pk).update(role=User.Role.AUDITOR)
    return _administrator("khanh", personas)


def test_deleting_the_last_ministry_administrator_is_refused_with_the_reason(
    operator: Client, khanh: User
) -> None:
    operator.cookies["django_language"] = "vi"
    response = operator.post(f"/admin/accounts/user/{khanh.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert response["Location"] == _change_url(khanh)
    assert _messages(response) == [LAST_ADMIN_VI]
    assert User.objects.filter(pk=khanh.pk).exists()
    assert not AuditEvent.objects.filter(event_type=EventType.ADMIN_OBJECT_DELETED).exists()


def test_deleting_every_remaining_administrator_at_once_is_refused(
    operator: Client, khanh: User, personas: Personas
) -> None:
    # Neither is the last alone; together they are, and the selection is refused whole.
    long = _administrator("long", personas)
    operator.cookies["django_language"] = "vi"

    response = operator.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [khanh.pk, long.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert _messages(response) == [LAST_ADMIN_VI]
    assert User.objects.filter(pk__in=[khanh.pk, long.pk]).count() == 2
    assert not AuditEvent.objects.filter(event_type=EventType.ADMIN_OBJECT_DELETED).exists()


def test_an_administrator_who_is_not_the_last_is_deleted(
    operator: Client, khanh: User, personas: Personas
) -> None:
    long = _administrator("long", personas)

    response = operator.post(
        "/admin/accounts/user/", {"action": "delete_selected", "_selected_action": [long.pk], "post": "yes"}
    )

    assert response.status_code == 302
    assert not User.objects.filter(pk=long.pk).exists()
    assert AuditEvent.objects.get(event_type=EventType.ADMIN_OBJECT_DELETED).data["object"] == "long"


# -- 2. A lost authenticator ------------------------------------------------------------------------------


def _devices_list(client: Client, action: str, device: TOTPDevice, language: str = "vi", **extra: str) -> Any:
    client.cookies["django_language"] = language
    return client.post(
        "/admin/otp_totp/totpdevice/",
        {"action": action, "_selected_action": [device.pk], "index": "0", **extra},
    )


def test_resetting_a_lost_authenticator_in_the_admin_revokes_the_api_tokens(
    operator: Client, personas: Personas, people: People
) -> None:
    token, secret = api_token_create(user=personas.lan, name="Máy tính bảng tổ 3")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    assert api.get(f"/api/v1/citizens/{people.hung.pin}").status_code == 200
    device = TOTPDevice.objects.get(user=personas.lan)

    response = _devices_list(operator, "otp_reset", device, reason="Mất điện thoại, đơn ngày 5/12")

    assert response.status_code == 302
    assert _messages(response) == ["Đã gỡ 1 thiết bị xác thực của 1 tài khoản; 1 mã API bị thu hồi."]
    assert not TOTPDevice.objects.filter(user=personas.lan).exists()
    assert api.get(f"/api/v1/citizens/{people.hung.pin}").status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(event_type=EventType.OTP_DEVICES_RESET)
    assert (event.actor_label, event.subject_id, event.reason) == (
        "minh",
        str(personas.lan.pk),
        "Mất điện thoại, đơn ngày 5/12",
    )
    assert event.data == {"devices": 1, "api_tokens_revoked": [token.pk]}


@pytest.mark.parametrize(
    ("language", "message"),
    [("vi", "Cần ghi lý do [reason.required]"), ("en", "A reason is required [reason.required]")],
)
def test_a_reset_without_a_reason_is_refused_and_changes_nothing(
    operator: Client, personas: Personas, language: str, message: str
) -> None:
    token, _secret = api_token_create(user=personas.lan, name="tablet")
    device = TOTPDevice.objects.get(user=personas.lan)

    response = _devices_list(operator, "otp_reset", device, language=language, reason="  ")

    assert _messages(response) == [message]
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    token.refresh_from_db()
    assert token.revoked_at is None
    assert not AuditEvent.objects.filter(event_type=EventType.OTP_DEVICES_RESET).exists()


def test_the_admin_no_longer_deletes_a_device_and_leaves_the_tokens(
    operator: Client, personas: Personas
) -> None:
    token, _secret = api_token_create(user=personas.lan, name="tablet")
    device = TOTPDevice.objects.get(user=personas.lan)

    listed = operator.get("/admin/otp_totp/totpdevice/")
    bulk = _devices_list(operator, "delete_selected", device, post="yes")
    page = operator.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})

    actions = [name for name, _label in listed.context["action_form"].fields["action"].choices]
    assert actions == ["", "otp_reset"]
    assert (bulk.status_code, bulk["Location"]) == (302, "/admin/otp_totp/totpdevice/")  # nothing done
    assert page.status_code == 302
    assert page["Location"] == "/admin/otp_totp/totpdevice/"
    assert _messages(page) == [
        "Không có hoạt động nào được lựa chọn.",  # Django's, for the bulk deletion the list no longer has
        "Thiết bị xác thực không xoá ở đây: chọn nó trong danh sách, ghi lý do và dùng thao tác «Đặt lại ứng "
        "dụng xác thực», để mã API của tài khoản cũng bị thu hồi (như dancu otp_reset).",
    ]
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    token.refresh_from_db()
    assert token.revoked_at is None
    assert ApiToken.objects.filter(user=personas.lan, revoked_at__isnull=True).count() == 1


# -- 3. What the trail says of an account's change ---------------------------------------------------------


def test_the_change_event_records_the_accounts_old_and_new_values(
    operator: Client, personas: Personas
) -> None:
    group = Group.objects.create(name="Tổ rà soát")
    lan, hong_ha = personas.lan, PoliceUnit.objects.get(pk=personas.binh.police_unit_id)
    hoan_kiem = PoliceUnit.objects.get(pk=lan.police_unit_id)

    response = _post(
        operator,
        lan,
        police_unit=str(hong_ha.pk),
        # A role that works in a commune's police, as Hồng Hà's is (`role.unit_level`).
        role=User.Role.COMMUNE_REVIEWER,
        is_active=None,
        is_staff="on",
        groups=[str(group.pk)],
        first_name="Thị Lan",
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    [data] = _changed_events()
    assert data["model"] == "accounts.User"
    assert data["object"] == "lan"
    [changed] = data["change"]
    # The fields' labels untranslated, as Django records them (its LogEntry translates them when shown):
    # Django's own in English, dancu's in Vietnamese, its source language. The role and the police unit
    # were "Role" and "Police unit" while they had no label of their own, only their names.
    assert set(changed["changed"]["fields"]) == {
        "First name",
        "Active",
        "Staff status",
        "Groups",
        "Vai trò",
        "Đơn vị công an",
    }
    # The name is no permission: only its field's name is recorded, as for every other model.
    assert changed["changed"]["values"] == {
        "role": {"old": "collector", "new": "commune_reviewer"},
        "police_unit": {"old": hoan_kiem.code, "new": hong_ha.code},
        "is_active": {"old": True, "new": False},
        "is_staff": {"old": False, "new": True},
        "groups": {"old": [], "new": ["Tổ rà soát"]},
    }


def test_a_password_set_in_the_admin_is_still_recorded_by_name_only(
    operator: Client, personas: Personas
) -> None:
    new_password = "Mật-khẩu-mới-2026"
    response = operator.post(
        f"/admin/accounts/user/{personas.lan.pk}/password/",
        {"password1": new_password, "password2": new_password, "usable_password": "true"},
    )

    assert response.status_code == 302
    assert _changed_events() == [
        {"model": "accounts.User", "object": "lan", "change": [{"changed": {"fields": ["password"]}}]}
    ]
    assert new_password not in str(AuditEvent.objects.values())
