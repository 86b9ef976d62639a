"""Officer sign-in: a password, then a TOTP code; repeated failures at either step lock the account.

Lan signs in as every morning; Bình mistypes; someone who knows Lan's password guesses her six digits.
"""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.models import User
from dancu.accounts.services import (
    api_token_create,
    officer_create,
    otp_device_confirm,
    police_unit_for_area,
)
from dancu.audit.models import AuditEvent, EventType
from dancu.lib.errors import DomainError
from tests.conftest import HOAN_KIEM, PASSWORD, SYSTEM, People, Personas, commune, otp_now

pytestmark = pytest.mark.django_db


def totp_of(device: TOTPDevice, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset * device.step
    return f"{totp.token():06d}"


def wrong_otp(user: User) -> str:
    """Six digits that are not the current code, nor one of the neighbouring codes the device tolerates."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    valid = {totp_of(device, offset) for offset in range(-2, 3)}
    return next(
        code for code in ("000000", "111111", "222222", "333333", "444444", "555555") if code not in valid
    )


def wait_out_the_throttle(user: User) -> None:
    """As if the officer waited a minute: django-otp refuses any code for 2^(n-1) s after n failures."""
    TOTPDevice.objects.filter(user=user).update(
        throttling_failure_timestamp=timezone.now() - timedelta(minutes=1)
    )


def password_step(client: Client, user: User, password: str = PASSWORD) -> Any:
    return client.post("/login/", {"username": user.username, "password": password})


def bearer(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


def events(user: User, event_type: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(subject_type="user", subject_id=str(user.pk), event_type=event_type)
    )


def is_signed_in(client: Client) -> bool:
    response = client.get("/search/")
    return response.status_code == 200


# The happy path -------------------------------------------------------------------------------------


def test_password_then_totp_signs_the_officer_in(personas: Personas) -> None:
    client = Client()
    assert client.get("/login/").status_code == 200

    after_password = password_step(client, personas.lan)
    otp_page = client.get("/login/otp/")
    after_code = client.post("/login/otp/", {"token": f" {otp_now(personas.lan)} "})

    assert (after_password.status_code, after_password["Location"]) == (302, "/login/otp/")
    assert "lan" in otp_page.content.decode()
    assert (after_code.status_code, after_code["Location"]) == (302, "/")
    home = client.get("/")
    assert home.status_code == 200
    assert "Công an Phường Hoàn Kiếm" in home.content.decode()
    [signed_in] = events(personas.lan, EventType.OFFICER_SIGNED_IN)
    assert (signed_in.actor, signed_in.data) == (personas.lan, {"channel": "web"})


def test_the_page_asked_for_is_opened_after_sign_in(personas: Personas) -> None:
    client = Client()
    redirected = client.get("/search/?q=hung")
    assert (redirected.status_code, redirected["Location"]) == (302, "/login/?next=/search/%3Fq%3Dhung")

    client.post(redirected["Location"], {"username": "lan", "password": PASSWORD})
    response = client.post("/login/otp/", {"token": otp_now(personas.lan)})

    assert response["Location"] == "/search/?q=hung"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_a_foreign_next_address_is_ignored(personas: Personas, next_url: str) -> None:
    client = Client()
    client.post(f"/login/?next={next_url}", {"username": "lan", "password": PASSWORD})

    response = client.post("/login/otp/", {"token": otp_now(personas.lan)})

    assert response["Location"] == "/"


# Failures -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password"), [("lan", "wrong password"), ("nobody", PASSWORD), ("LAN", PASSWORD)]
)
def test_a_wrong_username_or_password_is_refused_without_saying_which(
    personas: Personas, username: str, password: str
) -> None:
    client = Client()

    response = client.post("/login/", {"username": username, "password": password})

    assert response.status_code == 200
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in response.content.decode()
    assert client.get("/login/otp/")["Location"] == "/login/"  # no half-signed-in session
    assert not is_signed_in(client)


def test_a_wrong_totp_code_is_refused_and_recorded(personas: Personas) -> None:
    client = Client()
    password_step(client, personas.lan)

    response = client.post("/login/otp/", {"token": wrong_otp(personas.lan)})
    malformed = client.post("/login/otp/", {"token": "12ab56"})

    assert response.status_code == 200
    assert "Mã xác thực không đúng hoặc đã hết hạn" in response.content.decode()
    assert malformed.status_code == 200
    assert "Mã xác thực gồm 6 chữ số" in malformed.content.decode()
    assert not is_signed_in(client)
    [failed] = events(personas.lan, EventType.OFFICER_SIGN_IN_FAILED)
    assert failed.data == {"channel": "web-otp"}
    # Right after a failure even the right code is refused (django-otp's throttle)...
    assert client.post("/login/otp/", {"token": otp_now(personas.lan)}).status_code == 200
    assert not is_signed_in(client)
    # ...but the password step still holds: once the throttle has passed, the right code signs in.
    wait_out_the_throttle(personas.lan)
    assert client.post("/login/otp/", {"token": otp_now(personas.lan)}).status_code == 302
    assert is_signed_in(client)


def test_an_inactive_officer_cannot_sign_in(personas: Personas) -> None:
    User.objects.filter(pk=personas.lan.pk).update(is_active=False)

    client = Client()
    response = password_step(client, personas.lan)

    # The right password of a deactivated account is told why it is refused (tests/accounts/
    # test_review_s22.py); a wrong one still hears only "wrong user name or password".
    assert response.status_code == 200
    assert "Tài khoản đã bị vô hiệu hoá" in response.content.decode()
    assert client.get("/login/otp/")["Location"] == "/login/"
    assert not is_signed_in(client)


# Lockout --------------------------------------------------------------------------------------------


def locked(response: Any) -> bool:
    return response.status_code == 429 and "Tài khoản tạm khoá" in response.content.decode()


def test_the_failure_limit_is_five_by_default() -> None:
    assert settings.AXES_FAILURE_LIMIT == 5


def test_the_account_locks_after_the_limit_of_wrong_passwords(personas: Personas) -> None:
    client = Client()
    answers = [
        password_step(client, personas.lan, "sai mật khẩu") for _ in range(settings.AXES_FAILURE_LIMIT)
    ]

    assert [r.status_code for r in answers[:-1]] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert locked(answers[-1])
    # Locked: even the right password, from a fresh browser, is refused.
    fresh = Client()
    assert locked(password_step(fresh, personas.lan))
    assert fresh.get("/login/otp/")["Location"] == "/login/"
    assert not is_signed_in(fresh)
    # The trail holds each refused password and each attempt refused by the lockout.
    assert len(events(personas.lan, EventType.OFFICER_SIGN_IN_FAILED)) == settings.AXES_FAILURE_LIMIT - 1
    assert len(events(personas.lan, EventType.OFFICER_LOCKED_OUT)) == 2


def test_an_officers_lockout_holds_from_every_address(personas: Personas) -> None:
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(attacker, personas.lan, "sai mật khẩu")

    # Officers are counted per account (accounts/lockout.py): another address does not reset the count.
    assert locked(password_step(Client(REMOTE_ADDR="198.51.100.7"), personas.lan))


def test_wrong_totp_codes_count_towards_the_lockout(personas: Personas) -> None:
    client = Client()
    assert password_step(client, personas.lan).status_code == 302

    answers = [
        client.post("/login/otp/", {"token": wrong_otp(personas.lan)})
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]

    assert [r.status_code for r in answers[:-1]] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert locked(answers[-1])
    # The pending sign-in is dropped: the right code is no longer accepted...
    assert client.post("/login/otp/", {"token": otp_now(personas.lan)})["Location"] == "/login/"
    # ...and the right password is refused.
    assert locked(password_step(Client(), personas.lan))
    assert len(events(personas.lan, EventType.OFFICER_SIGN_IN_FAILED)) == settings.AXES_FAILURE_LIMIT


def test_failures_at_both_steps_add_up(personas: Personas) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 2):
        password_step(client, personas.lan, "sai mật khẩu")
    assert password_step(client, personas.lan).status_code == 302
    assert client.post("/login/otp/", {"token": wrong_otp(personas.lan)}).status_code == 200

    response = client.post("/login/otp/", {"token": wrong_otp(personas.lan)})

    assert locked(response)
    assert not is_signed_in(client)


def test_the_lockout_is_per_account(personas: Personas, sign_in: Any) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(Client(), personas.lan, "sai mật khẩu")

    binh = sign_in(Client(), personas.binh)  # same address, another officer

    assert is_signed_in(binh)
    assert locked(password_step(Client(), personas.lan))


def test_a_successful_sign_in_clears_earlier_failures(personas: Personas, sign_in: Any) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        password_step(Client(), personas.lan, "sai mật khẩu")
    sign_in(Client(), personas.lan)

    answers = [
        password_step(Client(), personas.lan, "sai mật khẩu") for _ in range(settings.AXES_FAILURE_LIMIT - 1)
    ]

    assert all(r.status_code == 200 for r in answers)
    assert password_step(Client(), personas.lan).status_code == 302


# First sign-in: setting up the second factor --------------------------------------------------------


@pytest.fixture
def newcomer(personas: Personas) -> User:
    unit = police_unit_for_area(area=commune(HOAN_KIEM))
    user, device = officer_create(
        actor=SYSTEM,
        username="tam",
        password=PASSWORD,
        role="collector",
        police_unit=unit,
        full_name="Đỗ Văn Tâm",
    )
    assert not device.confirmed
    return user


def test_a_first_sign_in_sets_up_the_authenticator_with_a_qr_code(newcomer: User) -> None:
    client = Client()

    response = password_step(client, newcomer)
    setup = client.get("/login/otp/setup/")
    # The device made for this session, whose secret the page shows (officer_create's own is never shown).
    [device] = [
        d
        for d in TOTPDevice.objects.filter(user=newcomer)
        if base64.b32encode(d.bin_key).decode() == setup.context["secret"]
    ]
    wrong = client.post("/login/otp/setup/", {"token": "000000" if totp_of(device) != "000000" else "111111"})
    wait_out_the_throttle(newcomer)
    confirmed = client.post("/login/otp/setup/", {"token": totp_of(device)})

    assert (response.status_code, response["Location"]) == (302, "/login/otp/setup/")
    page = setup.content.decode()
    assert 'src="data:image/svg+xml;base64,' in page
    secret = base64.b32encode(device.bin_key).decode()
    # In groups of four, as a person types it from the screen.
    assert f'<code class="secret">{" ".join(secret[i : i + 4] for i in range(0, 32, 4))}</code>' in page
    assert len(secret) == 32
    # On the phone that holds the app, the link opens it with the key filled in.
    assert 'href="otpauth://totp/' in page
    assert f"secret={secret}" in page
    assert "Mã xác thực không đúng" in wrong.content.decode()
    assert (confirmed.status_code, confirmed["Location"]) == (302, "/")
    device.refresh_from_db()
    assert device.confirmed
    assert TOTPDevice.objects.filter(user=newcomer).count() == 1
    assert len(events(newcomer, EventType.OTP_DEVICE_CONFIRMED)) == 1
    assert is_signed_in(client)


def test_a_confirmed_officer_never_sees_the_setup_page(personas: Personas) -> None:
    client = Client()

    assert password_step(client, personas.lan)["Location"] == "/login/otp/"


def test_the_password_alone_cannot_set_up_a_second_authenticator(personas: Personas) -> None:
    # Someone who has Lan's password, not her phone, goes to the set-up page instead of the code.
    client = Client()
    assert password_step(client, personas.lan)["Location"] == "/login/otp/"

    setup = client.get("/login/otp/setup/")
    posted = client.post("/login/otp/setup/", {"token": "123456"})

    assert (setup.status_code, setup["Location"]) == (302, "/login/otp/")
    assert (posted.status_code, posted["Location"]) == (302, "/login/otp/")
    assert list(TOTPDevice.objects.filter(user=personas.lan).values_list("confirmed", flat=True)) == [True]
    assert not is_signed_in(client)
    # Her own code still signs her in from there.
    device = TOTPDevice.objects.get(user=personas.lan)
    assert client.post("/login/otp/", {"token": totp_of(device)})["Location"] == "/"
    assert is_signed_in(client)


def test_two_sessions_setting_up_are_shown_secrets_of_their_own(newcomer: User) -> None:
    # Someone who learnt the password reaches the set-up page beside the holder: they must not be shown the
    # secret the holder's phone will hold, or its codes would sign them in once the holder confirms it.
    holder, other = Client(), Client()
    for client in (holder, other):
        assert password_step(client, newcomer)["Location"] == "/login/otp/setup/"
        assert client.get("/login/otp/setup/").status_code == 200
    secrets = [client.get("/login/otp/setup/").context["secret"] for client in (holder, other)]
    assert secrets[0] != secrets[1]
    # A page shown again shows the same secret: the phone scanned it once.
    assert holder.get("/login/otp/setup/").context["secret"] == secrets[0]

    devices = {base64.b32encode(d.bin_key).decode(): d for d in TOTPDevice.objects.filter(user=newcomer)}
    holders, others = devices[secrets[0]], devices[secrets[1]]
    assert holder.post("/login/otp/setup/", {"token": totp_of(holders)})["Location"] == "/"
    # The other session's device is gone with its secret; its code opens nothing.
    assert list(TOTPDevice.objects.filter(user=newcomer).values_list("pk", "confirmed")) == [
        (holders.pk, True)
    ]
    refused = other.post("/login/otp/setup/", {"token": totp_of(others)})
    assert refused["Location"] == "/login/otp/"
    assert other.post("/login/otp/", {"token": totp_of(others)}).status_code == 200  # the form again
    assert not is_signed_in(other)
    assert is_signed_in(holder)


def test_set_up_pages_abandoned_long_ago_do_not_pile_up(newcomer: User) -> None:
    for _visit in range(3):
        client = Client()
        password_step(client, newcomer)
        client.get("/login/otp/setup/")
    assert TOTPDevice.objects.filter(user=newcomer, confirmed=False).count() == 4  # officer_create's too
    TOTPDevice.objects.filter(user=newcomer).update(created_at=timezone.now() - timedelta(hours=2))
    client = Client()
    password_step(client, newcomer)
    client.get("/login/otp/setup/")
    assert TOTPDevice.objects.filter(user=newcomer, confirmed=False).count() == 1


def test_the_service_confirms_no_second_authenticator(personas: Personas) -> None:
    second = TOTPDevice.objects.create(user=personas.lan, name="default", confirmed=False)

    with pytest.raises(DomainError) as refused:
        otp_device_confirm(user=personas.lan, device=second)

    assert [e.code for e in refused.value.errors] == ["otp.already_set_up"]
    second.refresh_from_db()
    assert not second.confirmed
    assert not events(personas.lan, EventType.OTP_DEVICE_CONFIRMED)


def test_an_operator_resets_a_lost_authenticator_and_the_next_sign_in_sets_up_a_new_one(
    personas: Personas,
) -> None:
    out = io.StringIO()
    call_command("otp_reset", "lan", reason="Mất điện thoại, đơn số 12", stdout=out)

    assert "Removed 1 authenticator(s) and revoked 0 API token(s) of lan" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=personas.lan).exists()
    [event] = events(personas.lan, EventType.OTP_DEVICES_RESET)
    assert (event.actor_label, event.reason, event.data) == (
        "system:otp-reset",
        "Mất điện thoại, đơn số 12",
        {"devices": 1, "api_tokens_revoked": []},
    )
    client = Client()
    assert password_step(client, personas.lan)["Location"] == "/login/otp/setup/"
    assert client.get("/login/otp/setup/").status_code == 200  # the QR code of a new one
    device = TOTPDevice.objects.get(user=personas.lan, confirmed=False)
    assert client.post("/login/otp/setup/", {"token": totp_of(device)})["Location"] == "/"
    assert is_signed_in(client)


def test_the_reset_ends_the_sessions_the_lost_phone_opened(personas: Personas, sign_in: Any) -> None:
    """Whoever holds the lost phone and is signed in on it is signed out by the reset: the session was
    verified by the device removed, so no page takes it any more, and it cannot set up a new device
    without the password."""
    finder = sign_in(Client(), personas.lan)
    assert is_signed_in(finder)

    call_command("otp_reset", "lan", reason="Mất điện thoại, đơn số 12", stdout=io.StringIO())

    response = finder.get("/search/")
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/search/")
    assert finder.get("/login/otp/setup/")["Location"] == "/login/"
    assert not TOTPDevice.objects.filter(user=personas.lan).exists()


def test_the_reset_revokes_the_api_tokens_issued_before_it(personas: Personas, people: People) -> None:
    """A reset follows a lost or stolen phone, and a token copied onto it opens the API without the
    second factor: every token of the account issued before the reset is refused after it, while a
    colleague's token goes on working and a token the officer creates afterwards works."""
    first, first_secret = api_token_create(user=personas.lan, name="máy tính bảng")
    second, second_secret = api_token_create(user=personas.lan, name="điện thoại")
    _binh_token, binh_secret = api_token_create(user=personas.binh, name="máy tính của Bình")
    for secret in (first_secret, second_secret, binh_secret):
        assert bearer(secret).get("/api/v1/citizens", {"q": "hung"}).status_code == 200

    out = io.StringIO()
    call_command("otp_reset", "lan", reason="Mất điện thoại, đơn số 12", stdout=out)

    assert "revoked 2 API token(s) of lan" in out.getvalue()
    for secret in (first_secret, second_secret):
        refused = bearer(secret).get(f"/api/v1/citizens/{people.hung.pin}")
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["code"] == "auth.required"
    assert bearer(binh_secret).get("/api/v1/citizens", {"q": "hung"}).status_code == 200
    [event] = events(personas.lan, EventType.OTP_DEVICES_RESET)
    assert event.data == {"devices": 1, "api_tokens_revoked": [first.pk, second.pk]}
    _new, new_secret = api_token_create(user=personas.lan, name="máy tính bảng mới")
    assert bearer(new_secret).get("/api/v1/citizens", {"q": "hung"}).status_code == 200


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nobody", "--reason", "x"], "No account 'nobody'"),
        (["lan", "--reason", "  "], "A reason is required"),
        (["lan", "--reason", "x" * 201], "at most 200 characters"),
    ],
)
def test_the_reset_is_refused_without_an_account_or_a_reason(
    personas: Personas, arguments: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("otp_reset", *arguments)
    assert TOTPDevice.objects.filter(user=personas.lan, confirmed=True).exists()
    assert not events(personas.lan, EventType.OTP_DEVICES_RESET)


def test_the_second_factor_pages_need_the_password_step_first(newcomer: User) -> None:
    client = Client()

    assert client.get("/login/otp/")["Location"] == "/login/"
    assert client.get("/login/otp/setup/")["Location"] == "/login/"
    assert client.post("/login/otp/", {"token": "123456"})["Location"] == "/login/"
    assert not TOTPDevice.objects.filter(user=newcomer, confirmed=True).exists()


# Pages behind the sign-in ---------------------------------------------------------------------------


PROTECTED = [
    "/",
    "/search/?q=hung",
    "/citizens/new/",
    "/citizens/1/",
    "/citizens/1/history/",
    "/households/1/",
]


@pytest.mark.parametrize("path", PROTECTED)
def test_pages_redirect_to_sign_in_when_not_signed_in(path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("path", [*PROTECTED, "/account/tokens/"])
def test_pages_redirect_to_sign_in_until_the_second_factor_is_verified(personas: Personas, path: str) -> None:
    half = Client()
    password_step(half, personas.lan)  # the password alone
    session_only = Client()
    session_only.force_login(personas.lan)  # a session that never passed the TOTP step

    for client in (half, session_only):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/login/")


def test_logout_is_post_only(personas: Personas, sign_in: Any) -> None:
    client = sign_in(Client(), personas.lan)

    assert client.get("/logout/").status_code == 405
    assert is_signed_in(client)
    response = client.post("/logout/")

    assert (response.status_code, response["Location"]) == (302, "/login/")
    assert not is_signed_in(client)


def test_the_code_step_tells_an_officer_who_lost_the_phone_whom_to_ask(personas: Personas) -> None:
    client = Client()
    password_step(client, personas.lan)

    page = client.get("/login/otp/").content.decode()

    assert "Nhờ quản trị viên của đơn vị gỡ ứng dụng xác thực" in page
    assert "/me/lock/lost-phone/" not in page  # the citizens' page locks an e-ID account, not an officer's
