"""A citizen's eye on the portal (review s30): Hùng loses his phone, the one that holds his authenticator
app and remembers his password, and must be able to close his account before the finder uses it; and he
loses his card, and must learn from the sign-in page what opens his account again."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.cards.services import card_change_state
from dancu.eid.models import EidAccount
from tests.conftest import Personas
from tests.eid.conftest import CITIZEN_PASSWORD, Holder, citizen_sign_in

pytestmark = pytest.mark.django_db

LOST_PHONE = "/me/lock/lost-phone/"


# Losing the phone ----------------------------------------------------------------------------------------


def test_the_sign_in_page_shows_the_way_to_lock_without_the_phone() -> None:
    page = Client().get("/me/login/").content.decode()

    assert f'href="{LOST_PHONE}"' in page
    assert "Mất điện thoại? Khoá tài khoản ngay" in page


def test_hung_locks_his_account_with_pin_and_password_without_his_phone(hung_account: Holder) -> None:
    # The finder of the phone is signed in on it: the lock closes that session too.
    finder = citizen_sign_in(Client(), hung_account.user)
    assert finder.get("/me/").status_code == 200

    answer = Client().post(
        LOST_PHONE,
        {"pin": "001 " + hung_account.user.username[3:], "password": CITIZEN_PASSWORD, "confirm": "on"},
        follow=True,
    )

    assert answer.redirect_chain[-1][0] == "/me/login/"
    assert "Đã khoá tài khoản" in answer.content.decode()
    account = EidAccount.objects.get()
    assert (account.status, account.lock_reason) == ("locked", "request")
    event = AuditEvent.objects.get(event_type=EventType.EID_ACCOUNT_LOCKED)
    assert event.actor == hung_account.user
    assert "mất điện thoại" in event.reason
    assert finder.get("/me/").status_code == 302
    refused = Client().post("/me/login/", {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD})
    assert "Theo yêu cầu của công dân" in refused.content.decode()


def test_a_wrong_password_locks_nothing_and_says_nothing_about_the_account(hung_account: Holder) -> None:
    wrong = Client().post(
        LOST_PHONE, {"pin": hung_account.user.username, "password": "sai-mật-khẩu", "confirm": "on"}
    )
    unknown = Client().post(LOST_PHONE, {"pin": "001099000001", "password": "sai", "confirm": "on"})

    for answer in (wrong, unknown):
        assert answer.status_code == 200
        assert "Số định danh hoặc mật khẩu không đúng" in answer.content.decode()
    assert EidAccount.objects.get().status == "active"
    assert not AuditEvent.objects.filter(event_type=EventType.EID_ACCOUNT_LOCKED).exists()


def test_the_lock_asks_for_the_confirmation_box_and_a_well_formed_pin(hung_account: Holder) -> None:
    unconfirmed = Client().post(LOST_PHONE, {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD})
    malformed = Client().post(LOST_PHONE, {"pin": "00117352", "password": CITIZEN_PASSWORD, "confirm": "on"})

    assert "Hãy đánh dấu xác nhận trước khi khoá tài khoản" in unconfirmed.content.decode()
    assert "Số định danh cá nhân gồm 12 chữ số" in malformed.content.decode()
    assert EidAccount.objects.get().status == "active"


def test_guessing_passwords_on_the_lock_form_counts_towards_the_lockout(hung_account: Holder) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        answer = client.post(
            LOST_PHONE, {"pin": hung_account.user.username, "password": "sai", "confirm": "on"}
        )

    assert answer.status_code == 429
    locked_out = client.post(
        LOST_PHONE, {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD, "confirm": "on"}
    )
    assert locked_out.status_code == 429
    assert EidAccount.objects.get().status == "active"


def test_an_account_already_locked_or_closed_by_the_card_is_answered_as_locked(
    personas: Personas, hung_account: Holder
) -> None:
    # A card reported lost closes the account for now; a new card would open it again to whoever holds
    # the phone, so the lock is still written.
    card_change_state(actor=Actor(personas.lan), card=hung_account.card, state="lost", note="mất ví")
    fields = {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD, "confirm": "on"}

    first = Client().post(LOST_PHONE, fields, follow=True)
    second = Client().post(LOST_PHONE, fields, follow=True)

    for answer in (first, second):
        assert answer.redirect_chain[-1][0] == "/me/login/"
        assert "Đã khoá tài khoản" in answer.content.decode()
    assert EidAccount.objects.get().status == "locked"
    assert AuditEvent.objects.filter(event_type=EventType.EID_ACCOUNT_LOCKED).count() == 1


# Losing the card -----------------------------------------------------------------------------------------


def test_a_lost_card_tells_hung_that_a_new_card_opens_his_account_again(
    personas: Personas, hung_account: Holder
) -> None:
    card_change_state(actor=Actor(personas.lan), card=hung_account.card, state="lost", note="mất ví")

    page = (
        Client()
        .post("/me/login/", {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD})
        .content.decode()
    )
    english = (
        Client(headers={"accept-language": "en"})
        .post("/me/login/", {"pin": hung_account.user.username, "password": CITIZEN_PASSWORD})
        .content.decode()
    )

    assert "thẻ căn cước không còn giá trị" in page
    assert "làm thủ tục cấp lại" in page
    assert "tự mở lại khi bạn nhận thẻ mới" in page
    assert "opens again by itself once you receive the new card" in english
