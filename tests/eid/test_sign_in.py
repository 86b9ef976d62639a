"""Hùng activates his account at home with the code from the station, sets a password and his
authenticator app, and signs in to the portal from then on; the lockout that guards officers guards him."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.cards import services as cards
from dancu.cards.models import Card
from dancu.eid import services
from dancu.registry import services as registry
from tests.conftest import PASSWORD, SYSTEM, Personas, otp_now
from tests.eid.conftest import CITIZEN_PASSWORD, Holder, citizen_sign_in

pytestmark = pytest.mark.django_db


def events(user: Any, event_type: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(subject_type="user", subject_id=str(user.pk), event_type=event_type)
    )


def in_portal(client: Client) -> bool:
    return client.get("/me/").status_code == 200


def test_hung_activates_sets_up_totp_and_reaches_his_cards(personas: Personas, delivered: Card) -> None:
    hung = delivered.citizen
    _account, code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=hung, identity_checked=True
    )
    client = Client()

    activated = client.post(
        "/me/activate/",
        {"pin": hung.pin, "code": code, "password": CITIZEN_PASSWORD, "password_again": CITIZEN_PASSWORD},
    )
    assert (activated.status_code, activated["Location"]) == (302, "/me/login/otp/setup/")
    setup = client.get("/me/login/otp/setup/")
    assert setup.status_code == 200
    assert "Khoá bí mật" in setup.content.decode()
    # The authenticator app computes the code from the secret shown on the page.
    device = TOTPDevice.objects.get(user__username=hung.pin, confirmed=False)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    signed_in = client.post("/me/login/otp/setup/", {"token": f"{totp.token():06d}"})

    assert (signed_in.status_code, signed_in["Location"]) == (302, "/me/")
    page = client.get("/me/")
    assert page.status_code == 200
    assert delivered.serial in page.content.decode()
    [event] = events(device.user, EventType.EID_SIGNED_IN)
    assert event.data == {"channel": "portal"}
    # Signed out, he comes back with PIN and password, then the code of the app (a code is used once,
    # so the next sign-in waits for the next one: test_pin_password_and_totp_sign_hung_in).
    client.post("/me/logout/")
    assert not in_portal(client)
    again = client.post("/me/login/", {"pin": hung.pin, "password": CITIZEN_PASSWORD})
    assert (again.status_code, again["Location"]) == (302, "/me/login/otp/")


def test_the_activation_page_refuses_mismatched_and_weak_passwords(
    personas: Personas, delivered: Card
) -> None:
    _account, code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=delivered.citizen, identity_checked=True
    )
    client = Client()
    pin = delivered.citizen.pin

    mismatch = client.post(
        "/me/activate/", {"pin": pin, "code": code, "password": CITIZEN_PASSWORD, "password_again": "khác"}
    )
    weak = client.post(
        "/me/activate/", {"pin": pin, "code": code, "password": "12345", "password_again": "12345"}
    )
    bad_pin = client.post(
        "/me/activate/",
        {"pin": "12ab", "code": code, "password": CITIZEN_PASSWORD, "password_again": CITIZEN_PASSWORD},
    )

    assert "Hai mật khẩu không khớp" in mismatch.content.decode()
    assert "Mật khẩu chưa đủ mạnh" in weak.content.decode()
    assert "Số định danh cá nhân gồm 12 chữ số" in bad_pin.content.decode()
    assert client.get("/me/login/otp/setup/")["Location"] == "/me/login/"
    assert not in_portal(client)


def test_activation_after_a_death_is_refused_before_a_password_or_a_secret(
    personas: Personas, delivered: Card
) -> None:
    hung = delivered.citizen
    _account, code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=hung, identity_checked=True
    )
    registry.citizen_update(
        actor=SYSTEM,
        citizen=hung,
        changes={"date_of_death": "2026-01-02"},
        reason="Khai tử",
        source_document="Trích lục khai tử 1/2026",
    )
    client = Client()

    answer = client.post(
        "/me/activate/",
        {"pin": hung.pin, "code": code, "password": CITIZEN_PASSWORD, "password_again": CITIZEN_PASSWORD},
    )

    assert answer.status_code == 200
    assert "hồ sơ ghi nhận công dân đã mất" in answer.content.decode()
    assert client.get("/me/login/otp/setup/")["Location"] == "/me/login/"
    assert not TOTPDevice.objects.filter(user__username=hung.pin).exists()


def test_pin_password_and_totp_sign_hung_in(hung_account: Holder) -> None:
    client = Client()
    assert client.get("/me/")["Location"] == "/me/login/?next=/me/"

    citizen_sign_in(client, hung_account.user)

    assert in_portal(client)


def test_the_password_alone_cannot_set_up_a_second_authenticator(hung_account: Holder) -> None:
    client = Client()
    password = client.post("/me/login/", {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD})
    assert password["Location"] == "/me/login/otp/"

    setup = client.get("/me/login/otp/setup/")
    posted = client.post("/me/login/otp/setup/", {"token": "123456"})

    assert (setup.status_code, setup["Location"]) == (302, "/me/login/otp/")
    assert (posted.status_code, posted["Location"]) == (302, "/me/login/otp/")
    devices = TOTPDevice.objects.filter(user=hung_account.user)
    assert list(devices.values_list("confirmed", flat=True)) == [True]
    assert not in_portal(client)


def test_a_wrong_password_is_refused_without_saying_why(hung_account: Holder) -> None:
    client = Client()

    response = client.post("/me/login/", {"pin": hung_account.user.username, "password": "sai mật khẩu"})

    assert "Số định danh hoặc mật khẩu không đúng" in response.content.decode()
    assert client.get("/me/login/otp/")["Location"] == "/me/login/"
    [event] = events(hung_account.user, EventType.EID_SIGN_IN_FAILED)
    assert event.data == {"channel": "portal"}


def test_a_locked_account_cannot_sign_in_and_is_told_why(hung_account: Holder) -> None:
    services.eid_account_lock(actor=Actor(hung_account.user), account=hung_account.account, reason="request")

    response = Client().post("/me/login/", {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD})

    assert response.status_code == 200
    assert "Tài khoản định danh điện tử đã bị khoá (Theo yêu cầu của công dân)" in response.content.decode()
    # The trail says which rule refused the right password.
    assert [event.data for event in events(hung_account.user, EventType.EID_SIGN_IN_FAILED)] == [
        {"channel": "portal", "refusal": "eid.locked"}
    ]


def test_a_citizen_user_without_an_e_id_account_cannot_sign_in_and_is_told_so(personas: Personas) -> None:
    """A user with the citizen's role and a password but no e-ID account (made by hand in the admin): the
    portal names what is missing rather than letting it in with no record behind it."""
    user = User.objects.create_user(
        username="001090000001", password=CITIZEN_PASSWORD, role=User.Role.CITIZEN
    )
    client = Client()

    response = client.post("/me/login/", {"pin": user.username, "password": CITIZEN_PASSWORD})

    assert response.status_code == 200
    assert "Không có tài khoản công dân" in response.content.decode()
    assert client.get("/me/login/otp/")["Location"] == "/me/login/"
    [event] = events(user, EventType.EID_SIGN_IN_FAILED)
    assert event.data == {"channel": "portal", "refusal": "eid.no_account"}


def test_a_revoked_card_ends_the_session_at_the_next_page(personas: Personas, hung_account: Holder) -> None:
    client = citizen_sign_in(Client(), hung_account.user)
    cards.card_change_state(
        actor=Actor(personas.cuong), card=hung_account.card, state="revoked", grounds="issued_wrongly"
    )

    response = client.get("/me/", follow=True)

    assert response.redirect_chain[-1][0] == "/me/login/"
    assert "thẻ căn cước không còn giá trị" in response.content.decode()
    assert not in_portal(client)


def test_wrong_codes_lock_the_account_like_an_officers(hung_account: Holder) -> None:
    client = Client()
    pin = hung_account.user.username
    answers = [
        client.post("/me/login/", {"pin": pin, "password": "sai"}) for _ in range(settings.AXES_FAILURE_LIMIT)
    ]

    assert answers[-1].status_code == 429
    # Locked: even the right password is refused, and so is the second factor.
    assert Client().post("/me/login/", {"pin": pin, "password": CITIZEN_PASSWORD}).status_code == 429
    locked_out = events(hung_account.user, EventType.EID_LOCKED_OUT)
    assert len(locked_out) == 2
    # Every sign-in event of the portal names the same channel.
    failed = events(hung_account.user, EventType.EID_SIGN_IN_FAILED)
    assert {e.data["channel"] for e in locked_out + failed} == {"portal"}


def test_a_stranger_who_knows_the_pin_locks_only_themselves_out(hung_account: Holder) -> None:
    stranger = Client(REMOTE_ADDR="203.0.113.9")
    pin = hung_account.user.username
    answers = [
        stranger.post("/me/login/", {"pin": pin, "password": "sai"})
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers[-1].status_code == 429

    # Hùng, elsewhere, signs in: the portal counts failures per PIN and address (accounts/lockout.py).
    client = citizen_sign_in(Client(REMOTE_ADDR="198.51.100.7"), hung_account.user)
    assert in_portal(client)
    assert stranger.post("/me/login/", {"pin": pin, "password": CITIZEN_PASSWORD}).status_code == 429


def test_a_stranger_guessing_activation_codes_does_not_stop_the_holder(
    personas: Personas, delivered: Card
) -> None:
    _account, code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=delivered.citizen, identity_checked=True
    )
    form = {"pin": delivered.citizen.pin, "password": CITIZEN_PASSWORD, "password_again": CITIZEN_PASSWORD}
    stranger = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        stranger.post("/me/activate/", {**form, "code": "AAAA-BBBB-CCCC"})

    answer = Client(REMOTE_ADDR="198.51.100.7").post("/me/activate/", {**form, "code": code})

    assert (answer.status_code, answer["Location"]) == (302, "/me/login/otp/setup/")


def test_guessing_activation_codes_locks_the_pin(personas: Personas, delivered: Card) -> None:
    _account, code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=delivered.citizen, identity_checked=True
    )
    pin = delivered.citizen.pin
    client = Client()
    form = {"pin": pin, "password": CITIZEN_PASSWORD, "password_again": CITIZEN_PASSWORD}
    answers = [
        client.post("/me/activate/", {**form, "code": "AAAA-BBBB-CCCC"})
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]

    assert [a.status_code for a in answers[:-1]] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert "Số định danh hoặc mã kích hoạt không đúng" in answers[0].content.decode()
    assert answers[-1].status_code == 429
    # Even the right code waits out the lockout.
    assert Client().post("/me/activate/", {**form, "code": code}).status_code == 429


def test_after_a_pin_reissue_the_new_pin_signs_in_and_the_old_card_does_not(hung_account: Holder) -> None:
    citizen = hung_account.card.citizen
    old_pin = citizen.pin
    registry.pin_reissue(
        actor=SYSTEM,
        citizen=citizen,
        new_sex="F",
        reason="Xác định lại giới tính",
        source_document="Quyết định 45/QĐ-UBND",
    )
    citizen.refresh_from_db()
    hung_account.user.refresh_from_db()
    assert hung_account.user.username == citizen.pin != old_pin

    cancelled = Client().post("/me/login/", {"pin": old_pin, "password": CITIZEN_PASSWORD})
    old_card = Client().post("/me/login/", {"pin": citizen.pin, "password": CITIZEN_PASSWORD})

    assert "Số định danh hoặc mật khẩu không đúng" in cancelled.content.decode()
    # The password is right for the new PIN, but the card still carries the cancelled number.
    assert "thẻ căn cước mang số định danh cũ đã bị huỷ" in old_card.content.decode()
    # A new card with the new number opens the portal again.
    Card.objects.filter(pk=hung_account.card.pk).update(number=citizen.pin)
    client = citizen_sign_in(Client(), hung_account.user)
    assert in_portal(client)


def test_a_citizen_cannot_use_the_officers_sign_in(hung_account: Holder) -> None:
    client = Client()

    response = client.post("/login/", {"username": hung_account.user.username, "password": CITIZEN_PASSWORD})

    assert response.status_code == 200
    assert "Tài khoản công dân đăng nhập tại Cổng công dân" in response.content.decode()
    assert client.get("/login/otp/")["Location"] == "/login/"


def test_an_officer_cannot_use_the_portals_sign_in(personas: Personas) -> None:
    client = Client()
    # Officers' user names are not PINs; even an officer named with twelve digits is refused.
    personas.lan.username = "001090000001"
    personas.lan.save(update_fields=["username"])

    response = client.post("/me/login/", {"pin": "001090000001", "password": PASSWORD})

    assert "Số định danh hoặc mật khẩu không đúng" in response.content.decode()
    assert client.get("/me/login/otp/")["Location"] == "/me/login/"


def test_an_officer_session_gets_403_on_the_portal(personas: Personas, sign_in: Any) -> None:
    client = sign_in(Client(), personas.lan)

    assert client.get("/me/").status_code == 403
    assert client.get("/me/record/").status_code == 403
    assert client.get("/me/reads/").status_code == 403


def test_the_portal_is_vietnamese_by_default_and_english_on_request(hung_account: Holder) -> None:
    client = citizen_sign_in(Client(), hung_account.user)

    vietnamese = client.get("/me/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/me/"})
    english = client.get("/me/").content.decode()

    assert "Thẻ căn cước của tôi" in vietnamese
    assert "My identity cards" in english
    assert otp_now(hung_account.user)


HOSTILE = ["\x00", "x" * 10_000, "' OR 1=1 --", "<script>alert(1)</script>", "١٢٣٤٥٦٧٨٩٠١٢", "𝟎𝟎𝟏𝟎𝟗𝟎𝟎𝟎𝟎𝟎𝟎𝟏"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_input_is_refused_with_a_form_error(personas: Personas, delivered: Card, value: str) -> None:
    _account, _code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=delivered.citizen, identity_checked=True
    )
    pin = delivered.citizen.pin
    client = Client()
    answers = [
        client.post("/me/login/", {"pin": value, "password": value}),
        client.post("/me/login/", {"pin": pin, "password": value}),
        client.post(
            "/me/activate/", {"pin": value, "code": value, "password": value, "password_again": value}
        ),
        client.post(
            "/me/activate/",
            {"pin": pin, "code": value, "password": CITIZEN_PASSWORD, "password_again": CITIZEN_PASSWORD},
        ),
    ]

    assert [a.status_code for a in answers] == [200] * 4
    for answer in answers:
        assert 'class="errorlist"' in answer.content.decode()
    assert not in_portal(client)


@pytest.mark.parametrize(
    ("asked", "sent"),
    [
        ("/me/cards/", "/me/cards/"),
        # Each starts with /me/ and is another page once the browser resolves its dots.
        ("/me/../admin/", "/me/"),
        ("/me/%2e%2e/admin/", "/me/"),
        ("/me/..%2Fadmin/", "/me/"),
        ("/me/./../login/", "/me/"),
        ("/me/\\..\\admin/", "/me/"),
    ],
)
def test_after_sign_in_a_citizen_is_sent_only_to_a_page_of_the_portal(
    hung_account: Holder, asked: str, sent: str
) -> None:
    client = Client()
    citizen_sign_in(client, hung_account.user)

    assert client.get("/me/login/", {"next": asked})["Location"] == sent


def test_the_code_step_leads_a_citizen_who_lost_the_phone_to_the_lock(hung_account: Holder) -> None:
    client = Client()
    client.post("/me/login/", {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD})

    page = client.get("/me/login/otp/").content.decode()

    assert '<a href="/me/lock/lost-phone/">Mất điện thoại? Khoá tài khoản ngay</a>' in page
