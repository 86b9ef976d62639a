"""A deactivated account that gives its right password is told so, and whom to ask; a wrong password is
still only "wrong user name or password", and only wrong passwords count towards the lockout.

Lan's account was deactivated (Kích hoạt unticked in the admin) while she was on leave.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import translation

from dancu.accounts.models import User
from dancu.accounts.selectors import account_sign_in_refusal
from dancu.audit.models import AuditEvent, EventType
from tests.conftest import PASSWORD, Personas, otp_now

pytestmark = pytest.mark.django_db

DEACTIVATED_VI = "Tài khoản đã bị vô hiệu hoá. Liên hệ quản trị viên của đơn vị bạn để được kích hoạt lại."
DEACTIVATED_EN = "This account has been deactivated. Ask your unit&#x27;s administrator to reactivate it."
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng"


@pytest.fixture(autouse=True)
def _language_restored() -> Iterator[None]:
    """A page read in English leaves English active in the thread (LocaleMiddleware activates it and
    nothing deactivates it); put back the language the next test expects."""
    language = translation.get_language()
    yield
    translation.activate(language)


def deactivate(user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)


def password_step(client: Client, user: User, password: str = PASSWORD) -> Any:
    return client.post("/login/", {"username": user.username, "password": password})


def failures(user: User) -> int:
    return sum(
        AccessAttempt.objects.filter(username=user.username).values_list("failures_since_start", flat=True)
    )


def sign_in_events(user: User, event_type: str) -> list[dict[str, Any]]:
    rows = AuditEvent.objects.filter(subject_type="user", subject_id=str(user.pk), event_type=event_type)
    return [event.data for event in rows.order_by("pk")]


def is_signed_in(client: Client) -> bool:
    return client.get("/search/").status_code == 200


def test_the_right_password_of_a_deactivated_officer_is_told_why_and_whom_to_ask(personas: Personas) -> None:
    deactivate(personas.lan)
    client = Client()

    response = password_step(client, personas.lan)

    page = response.content.decode()
    assert response.status_code == 200
    assert f"{DEACTIVATED_VI} [account.deactivated]" in page
    assert WRONG not in page
    # The password step is not passed: no code is asked for, no session is opened.
    assert client.get("/login/otp/")["Location"] == "/login/"
    assert not is_signed_in(client)
    # The trail holds the refused attempt and its rule.
    assert sign_in_events(personas.lan, EventType.OFFICER_SIGN_IN_FAILED) == [
        {"channel": "web", "refusal": "account.deactivated"}
    ]


def test_the_refusal_is_in_the_pages_language(personas: Personas) -> None:
    deactivate(personas.lan)

    response = password_step(Client(HTTP_ACCEPT_LANGUAGE="en"), personas.lan)

    assert f"{DEACTIVATED_EN} [account.deactivated]" in response.content.decode()


def test_a_wrong_password_of_a_deactivated_account_says_nothing_of_its_state(personas: Personas) -> None:
    deactivate(personas.lan)

    response = password_step(Client(), personas.lan, "sai mật khẩu")

    page = response.content.decode()
    assert response.status_code == 200
    assert WRONG in page
    assert "vô hiệu" not in page
    assert "account.deactivated" not in page
    # Refused as any wrong password is: recorded without a rule, and counted.
    assert sign_in_events(personas.lan, EventType.OFFICER_SIGN_IN_FAILED) == [{"channel": "web"}]
    assert failures(personas.lan) == 1


def test_wrong_passwords_of_a_deactivated_account_still_lock_it(personas: Personas) -> None:
    deactivate(personas.lan)
    client = Client()

    answers = [password_step(client, personas.lan, "sai") for _ in range(settings.AXES_FAILURE_LIMIT)]

    assert answers[-1].status_code == 429
    # Locked, even the right password hears only the lockout, not the account's state.
    locked = password_step(Client(), personas.lan)
    assert locked.status_code == 429
    assert "vô hiệu" not in locked.content.decode()


def test_right_passwords_of_a_deactivated_account_never_lock_it(personas: Personas) -> None:
    deactivate(personas.lan)
    client = Client()

    answers = [password_step(client, personas.lan) for _ in range(settings.AXES_FAILURE_LIMIT + 2)]

    assert [r.status_code for r in answers] == [200] * (settings.AXES_FAILURE_LIMIT + 2)
    assert all("[account.deactivated]" in r.content.decode() for r in answers)
    assert failures(personas.lan) == 0
    assert sign_in_events(personas.lan, EventType.OFFICER_LOCKED_OUT) == []
    # Reactivated by the administrator, Lan signs in at once: nothing was held against her.
    User.objects.filter(pk=personas.lan.pk).update(is_active=True)
    assert password_step(client, personas.lan).status_code == 302
    assert client.post("/login/otp/", {"token": otp_now(personas.lan)}).status_code == 302
    assert is_signed_in(client)


def test_an_active_officer_signs_in_as_before(personas: Personas) -> None:
    """The deactivated accounts' backend leaves every other account to Django's own."""
    client = Client()

    assert password_step(client, personas.binh).status_code == 302
    assert client.post("/login/otp/", {"token": otp_now(personas.binh)}).status_code == 302
    assert is_signed_in(client)
    assert client.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"


def test_a_session_of_a_deactivated_account_is_no_session(personas: Personas) -> None:
    client = Client()
    client.force_login(personas.lan)
    deactivate(personas.lan)

    assert client.get("/search/")["Location"].startswith("/login/")


def test_the_refusal_names_the_commune_police_to_a_citizen() -> None:
    citizen = User(username="001090000001", role=User.Role.CITIZEN, is_active=False)

    refusal = account_sign_in_refusal(citizen)

    assert refusal is not None
    assert (refusal.field, refusal.code) == ("account", "account.deactivated")
    assert "công an xã, phường" in refusal.message_vi
    assert "commune police" in refusal.message_en
    assert account_sign_in_refusal(User(username="x", role=User.Role.CITIZEN, is_active=True)) is None


def test_the_citizens_portal_tells_a_deactivated_account_too(personas: Personas) -> None:
    user = User.objects.create_user(
        username="001090000001", password=PASSWORD, role=User.Role.CITIZEN, is_active=False
    )
    client = Client()

    response = client.post("/me/login/", {"pin": user.username, "password": PASSWORD})
    wrong = client.post("/me/login/", {"pin": user.username, "password": "sai mật khẩu"})

    assert response.status_code == 200
    assert "Tài khoản đã bị vô hiệu hoá. Liên hệ công an xã, phường nơi cư trú." in response.content.decode()
    assert client.get("/me/login/otp/")["Location"] == "/me/login/"
    assert "Số định danh hoặc mật khẩu không đúng" in wrong.content.decode()
    assert "vô hiệu" not in wrong.content.decode()
    assert sign_in_events(user, EventType.EID_SIGN_IN_FAILED) == [
        {"channel": "portal", "refusal": "account.deactivated"},
        {"channel": "portal"},
    ]


# The admin's sign-in -------------------------------------------------------------------------------


@pytest.fixture
def staff(personas: Personas) -> User:
    personas.minh.is_staff = personas.minh.is_superuser = True
    personas.minh.save(update_fields=["is_staff", "is_superuser"])
    deactivate(personas.minh)
    return personas.minh


def test_the_admin_refuses_a_deactivated_account_with_the_same_reason(staff: User) -> None:
    client = Client()

    right = client.post("/admin/login/", {"username": staff.username, "password": PASSWORD, "otp_token": "1"})
    wrong = client.post("/admin/login/", {"username": staff.username, "password": "sai", "otp_token": "1"})

    assert f"{DEACTIVATED_VI} [account.deactivated]" in right.content.decode()
    assert "vô hiệu" not in wrong.content.decode()
    assert client.get("/admin/").status_code == 302


def test_the_admin_without_the_second_factor_refuses_it_too(staff: User, settings: Any) -> None:
    settings.DANCU_REQUIRE_OTP = False
    client = Client(HTTP_ACCEPT_LANGUAGE="en")

    right = client.post("/admin/login/", {"username": staff.username, "password": PASSWORD})

    assert f"{DEACTIVATED_EN} [account.deactivated]" in right.content.decode()
    assert client.get("/admin/").status_code == 302
