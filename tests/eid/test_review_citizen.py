"""A citizen's eye on the portal (review stop 22): Hùng types his PIN as it is often written, mistypes his
code and types the right one at once, is locked out after too many tries, gets his activation code
wrong, and reads his own record. Each answer must say what to do next, in his language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.views import otp_wait_error
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.cards.models import Card
from dancu.eid import services
from dancu.eid.selectors import sign_in_refusal
from tests.conftest import PASSWORD, Personas, otp_now
from tests.eid.conftest import CITIZEN_PASSWORD, Holder, citizen_sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    """The English pages asked here leave English active in the test's thread: back to the default."""
    yield
    translation.deactivate()


def wrong_code(holder: Holder) -> str:
    right = otp_now(holder.user)
    return "000000" if right != "000000" else "111111"


def otp_failures(holder: Holder) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            subject_type="user",
            subject_id=str(holder.user.pk),
            event_type=EventType.EID_SIGN_IN_FAILED,
            data__channel="portal-otp",
        )
    )


def failures_counted(holder: Holder) -> int:
    return sum(a.failures_since_start for a in AccessAttempt.objects.filter(username=holder.user.username))


# The second factor ----------------------------------------------------------------------------------------


def test_the_right_code_typed_just_after_a_wrong_one_is_asked_again_not_called_wrong(
    hung_account: Holder,
) -> None:
    client = Client()
    client.post("/me/login/", {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD})
    client.post("/me/login/otp/", {"token": wrong_code(hung_account)})
    _hold_the_throttle(hung_account)

    # django-otp checks no code for a while after a wrong one: the right code typed then is not checked,
    # and Hùng is told to wait, not that his code is wrong (he would look for a fault in his app).
    answer = client.post("/me/login/otp/", {"token": otp_now(hung_account.user)})

    page = answer.content.decode()
    assert answer.status_code == 200
    assert re.search(r"Hãy chờ (30|31) giây rồi nhập mã đang hiện trên ứng dụng xác thực", page)
    assert "Mã xác thực không đúng" not in page
    assert client.get("/me/").status_code == 302
    # Refused all the same, and counted as every refused code is (the lockout bounds guessing).
    assert len(otp_failures(hung_account)) == 2
    assert failures_counted(hung_account) == 2

    # Once the delay has passed, the right code signs him in.
    TOTPDevice.objects.filter(user=hung_account.user).update(
        throttling_failure_timestamp=timezone.now() - timedelta(minutes=1)
    )
    assert client.post("/me/login/otp/", {"token": otp_now(hung_account.user)}).status_code == 302
    assert client.get("/me/").status_code == 200


def test_the_wait_is_said_in_english_on_the_english_page(hung_account: Holder) -> None:
    client = Client(headers={"accept-language": "en"})
    client.post("/me/login/", {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD})
    client.post("/me/login/otp/", {"token": wrong_code(hung_account)})
    _hold_the_throttle(hung_account)

    answer = client.post("/me/login/otp/", {"token": otp_now(hung_account.user)})

    assert re.search(
        r"wait (30|31) seconds, then type the code your authenticator app shows now", answer.content.decode()
    )
    # One second is one second.
    with translation.override("en"):
        assert "Please wait 1 second, then" in otp_wait_error(1)


def _hold_the_throttle(holder: Holder) -> None:
    """Keep django-otp's delay after the wrong code running for half a minute more (it is one second):
    the test then does not depend on how fast a loaded machine sends the next request."""
    TOTPDevice.objects.filter(user=holder.user).update(
        throttling_failure_timestamp=timezone.now() + timedelta(seconds=30)
    )


# The lockout ---------------------------------------------------------------------------------------------


def test_a_locked_out_citizen_is_told_when_to_try_again_and_whom_to_tell(hung_account: Holder) -> None:
    client = Client()
    pin = hung_account.user.username
    for _ in range(settings.AXES_FAILURE_LIMIT):
        answer = client.post("/me/login/", {"pin": pin, "password": "sai"})
    english = Client(headers={"accept-language": "en"}).post("/me/login/", {"pin": pin, "password": "sai"})

    page = answer.content.decode()
    assert answer.status_code == 429
    minutes = int(settings.AXES_COOLOFF_TIME * 60)
    # A citizen has no unit administrator: she is told to wait and where to report a stranger.
    assert f"Hãy thử lại sau {minutes} phút" in page
    assert "công an xã, phường nơi cư trú" in page
    assert "quản trị đơn vị" not in page
    assert 'href="/me/login/"' in page
    assert english.status_code == 429
    assert f"Try again in {minutes} minutes" in english.content.decode()


def test_an_officer_locked_out_is_still_told_to_ask_the_unit_administrator(personas: Personas) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        answer = client.post("/login/", {"username": personas.lan.username, "password": "sai"})

    assert answer.status_code == 429
    assert "liên hệ quản trị đơn vị" in answer.content.decode()


# The PIN as people write it ----------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["{} {} {} {}", "{}.{}.{}.{}", "{}-{}-{}-{}", " {}{} {}{} "])
def test_a_pin_written_in_groups_signs_in(hung_account: Holder, spelling: str) -> None:
    pin = hung_account.user.username
    typed = spelling.format(pin[:3], pin[3:6], pin[6:9], pin[9:])

    answer = Client().post("/me/login/", {"pin": typed, "password": CITIZEN_PASSWORD})

    assert (answer.status_code, answer["Location"]) == (302, "/me/login/otp/")


@pytest.mark.parametrize("typed", ["0011735234", "001 173 523 47x", "001/173/523/477", "00117352347 7 7"])
def test_a_pin_that_is_not_twelve_digits_is_still_refused_by_name(hung_account: Holder, typed: str) -> None:
    answer = Client().post("/me/login/", {"pin": typed, "password": CITIZEN_PASSWORD})

    assert answer.status_code == 200
    assert "Số định danh cá nhân gồm 12 chữ số" in answer.content.decode()


def test_a_pin_with_spaces_activates_the_account(personas: Personas, delivered: Card) -> None:
    _account, code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=delivered.citizen, identity_checked=True
    )
    pin = delivered.citizen.pin
    answer = Client().post(
        "/me/activate/",
        {
            "pin": f"{pin[:3]} {pin[3:6]} {pin[6:9]} {pin[9:]}",
            "code": code,
            "password": CITIZEN_PASSWORD,
            "password_again": CITIZEN_PASSWORD,
        },
    )

    assert (answer.status_code, answer["Location"]) == (302, "/me/login/otp/setup/")


# Activation ------------------------------------------------------------------------------------------------


def test_a_wrong_activation_code_says_what_to_do_next(personas: Personas, delivered: Card) -> None:
    services.eid_account_register(actor=Actor(personas.lan), citizen=delivered.citizen, identity_checked=True)
    form = {
        "pin": delivered.citizen.pin,
        "code": "AAAA-BBBB-CCCC",
        "password": CITIZEN_PASSWORD,
        "password_again": CITIZEN_PASSWORD,
    }

    vietnamese = Client().post("/me/activate/", form).content.decode()
    english = Client(headers={"accept-language": "en"}).post("/me/activate/", form).content.decode()

    assert "Hãy kiểm tra lại mã trên giấy cán bộ đã trao" in vietnamese
    assert "đến công an xã, phường nơi đăng ký để nhận mã mới" in vietnamese
    assert "Check the code on the slip the officer gave you" in english
    assert "go to the commune police where you registered for a new one" in english


# The record ------------------------------------------------------------------------------------------------


def test_the_record_names_the_nationality_in_words(hung_account: Holder) -> None:
    client = citizen_sign_in(Client(), hung_account.user)

    vietnamese = client.get("/me/record/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/me/record/"})
    english = client.get("/me/record/").content.decode()

    assert "<dd>Việt Nam</dd>" in vietnamese
    assert "<dd>Vietnam</dd>" in english
    assert "<dd>VN</dd>" not in vietnamese + english


def test_a_code_sent_twice_from_a_slow_phone_lands_on_her_cards(hung_account: Holder) -> None:
    client = Client()
    client.post("/me/login/", {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD})
    code = otp_now(hung_account.user)

    first = client.post("/me/login/otp/", {"token": code})
    second = client.post("/me/login/otp/", {"token": code})

    # The first request signed her in: the second shows her cards, not the sign-in form, and counts as
    # no failure (the code, used, would be refused if it were checked again).
    assert (first.status_code, first["Location"]) == (302, "/me/")
    assert (second.status_code, second["Location"]) == (302, "/me/")
    assert client.get("/me/").status_code == 200
    assert otp_failures(hung_account) == []


def test_an_officer_who_sends_the_code_twice_lands_on_the_officers_home(personas: Personas) -> None:
    client = Client()
    client.post("/login/", {"username": personas.lan.username, "password": PASSWORD})
    code = otp_now(personas.lan)

    client.post("/login/otp/", {"token": code})
    second = client.post("/login/otp/", {"token": code})

    assert (second.status_code, second["Location"]) == (302, "/")


def test_a_signed_in_citizen_is_not_taken_for_an_officer_on_the_officers_code_page(
    hung_account: Holder,
) -> None:
    client = citizen_sign_in(Client(), hung_account.user)

    answer = client.get("/login/otp/")

    assert (answer.status_code, answer["Location"]) == (302, "/login/")


def test_the_vietnamese_lock_message_stays_vietnamese_on_an_english_request(hung_account: Holder) -> None:
    services.eid_account_lock(actor=Actor(hung_account.user), account=hung_account.account, reason="request")
    hung_account.account.refresh_from_db()

    with translation.override("en"):
        refused = sign_in_refusal(hung_account.account)

    assert refused is not None
    assert "(Theo yêu cầu của công dân)" in refused.message_vi
    assert "(on the citizen's request)" in refused.message_en


def test_a_signed_in_citizen_opening_the_sign_in_or_activation_page_lands_on_her_portal(
    hung_account: Holder,
) -> None:
    client = citizen_sign_in(Client(), hung_account.user)

    assert (client.get("/me/login/")["Location"], client.get("/me/activate/")["Location"]) == ("/me/", "/me/")
    # Her own page she was on her way to, as after a sign-in; never a page outside the portal.
    assert client.get("/me/login/", {"next": "/me/reads/"})["Location"] == "/me/reads/"
    assert client.get("/me/login/", {"next": "/login/"})["Location"] == "/me/"
    # Halfway (password given, code not yet), the form is still what she needs.
    halfway = Client()
    halfway.post("/me/login/", {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD})
    assert halfway.get("/me/login/").status_code == 200
