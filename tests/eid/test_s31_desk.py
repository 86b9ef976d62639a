"""Anh Tuấn's desk: registering level-2 accounts for the citizens queueing at the commune police, with
the cases a daily target brings to the counter (a citizen declared missing, a child with a card) and the
slip the citizen takes home."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dancu.accounts.models import User
from dancu.audit.models import AccessLog, AuditEvent
from dancu.audit.services import Actor
from dancu.cards import services as cards
from dancu.cards.models import Card
from dancu.eid import services
from dancu.eid.models import EidAccount
from dancu.lib.errors import DomainError
from dancu.registry.models import Citizen
from tests.conftest import Personas

pytestmark = pytest.mark.django_db


def _refusal_codes(officer: User, citizen: Citizen) -> list[str]:
    """The codes refusing the registration, having checked that nothing was written."""
    before = (User.objects.count(), EidAccount.objects.count(), AuditEvent.objects.count())
    with pytest.raises(DomainError) as exc:
        services.eid_account_register(actor=Actor(officer), citizen=citizen, identity_checked=True)
    assert (User.objects.count(), EidAccount.objects.count(), AuditEvent.objects.count()) == before
    return [e.code for e in exc.value.errors]


def _born(citizen: Citizen, birth_date: str) -> None:
    Citizen.objects.filter(pk=citizen.pk).update(birth_date=birth_date)
    citizen.refresh_from_db()


def _years_ago(years: int, *, days: int = 0) -> date:
    today = timezone.localdate()
    try:
        then = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        then = today.replace(year=today.year - years, day=28)
    return then + timedelta(days=days)


def test_a_citizen_declared_missing_is_refused_with_the_way_back(personas: Personas, delivered: Card) -> None:
    """Card intake refuses a citizen a court declared missing; the e-ID desk registered them, an account
    that counts as presenting the card, for whoever stood at the counter under that name."""
    Citizen.objects.filter(pk=delivered.citizen.pk).update(missing_declared_on=date(2025, 3, 1))
    delivered.citizen.refresh_from_db()

    with pytest.raises(DomainError) as exc:
        services.eid_account_register(
            actor=Actor(personas.lan), citizen=delivered.citizen, identity_checked=True
        )

    [error] = exc.value.errors
    assert (error.field, error.code) == ("citizen", "citizen.missing")
    # The officer is told what would let the citizen register: the court's cancellation on the record.
    assert "Toà án" in error.message_vi
    assert "court" in error.message_en
    assert _refusal_codes(personas.lan, delivered.citizen) == ["citizen.missing"]


def test_the_officer_sees_why_on_the_page(personas: Personas, sign_in: Any, delivered: Card) -> None:
    Citizen.objects.filter(pk=delivered.citizen.pk).update(missing_declared_on=date(2025, 3, 1))
    client = sign_in(Client(), personas.lan)

    page = client.post(f"/eid/citizens/{delivered.citizen_id}/register/", {"identity_checked": "on"})

    assert page.status_code == 200
    assert "citizen.missing" in page.content.decode()
    assert not EidAccount.objects.exists()


def test_a_child_under_14_with_a_card_gets_no_account_of_their_own(
    personas: Personas, delivered: Card
) -> None:
    """A card may be issued under 14 on request; the account of a child that age goes through a parent's
    (NĐ 69/2024), and the campaigns count the due population from 14, so a child registered here counted
    toward the target and not in its denominator."""
    _born(delivered.citizen, _years_ago(14, days=1).isoformat())  # turns 14 tomorrow

    assert _refusal_codes(personas.lan, delivered.citizen) == ["eid.under_14"]


def test_a_citizen_14_today_is_registered(personas: Personas, delivered: Card) -> None:
    _born(delivered.citizen, _years_ago(14).isoformat())

    account, _code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=delivered.citizen, identity_checked=True
    )

    assert account.status == EidAccount.Status.PENDING


def test_a_birth_year_alone_counts_as_the_campaigns_count_it(personas: Personas, delivered: Card) -> None:
    """Born "<year>" 14 years back might still be 13 on any day but 31 December: refused as the
    population of the campaigns leaves them out, until the officer records the full birth date."""
    today = timezone.localdate()
    _born(delivered.citizen, str(today.year - 14))
    if (today.month, today.day) != (12, 31):
        assert _refusal_codes(personas.lan, delivered.citizen) == ["eid.under_14"]
    _born(delivered.citizen, str(today.year - 15))
    services.eid_account_register(actor=Actor(personas.lan), citizen=delivered.citizen, identity_checked=True)


def test_the_slip_says_until_when_and_where_and_prints(
    personas: Personas, sign_in: Any, delivered: Card
) -> None:
    """The page said "valid 7 days" and "the citizen portal": the citizen at the counter asks until which
    day and at which address, and the officer had no slip to print."""
    client = sign_in(Client(), personas.lan)

    body = client.post(
        f"/eid/citizens/{delivered.citizen_id}/register/", {"identity_checked": "on"}
    ).content.decode()

    account = EidAccount.objects.get()
    until = timezone.localtime(account.activation_expires_at)
    slip = body[body.index('id="activation"') :]
    assert re.search(r'id="activation-until">[^<]*' + until.strftime("%H:%M %d/%m/%Y"), slip)
    assert "http://testserver/me/activate/" in slip
    assert delivered.citizen.pin in slip
    assert "data-print" in slip
    assert "/static/eid/print.js" in body
    assert "@media print" in body


# The page says why before the face is checked ---------------------------------------------------------------


def test_the_page_says_why_before_the_face_is_checked(
    personas: Personas, sign_in: Any, delivered: Card
) -> None:
    """The page offered the face-check form for a citizen declared missing, and refused only once the
    officer had checked the face and sent it."""
    Citizen.objects.filter(pk=delivered.citizen.pk).update(missing_declared_on=date(2025, 3, 1))
    client = sign_in(Client(), personas.lan)

    page = client.get(f"/eid/citizens/{delivered.citizen_id}/register/").content.decode()

    refusals = page[page.index('id="refusals"') :]
    assert "Toà án" in refusals
    assert "[citizen.missing]" in refusals
    assert 'name="identity_checked"' not in page


def test_a_lost_card_is_said_with_what_to_do(personas: Personas, sign_in: Any, delivered: Card) -> None:
    cards.card_change_state(actor=Actor(personas.lan), card=delivered, state="lost", note="Công dân báo mất")
    client = sign_in(Client(), personas.lan)

    page = client.get(f"/eid/citizens/{delivered.citizen_id}/register/").content.decode()

    refusals = page[page.index('id="refusals"') :]
    assert "[card.none_active]" in refusals
    assert "cấp lại thẻ trước" in refusals
    assert 'name="identity_checked"' not in page


def test_a_pending_account_whose_card_was_lost_gets_no_new_code_form(
    personas: Personas, sign_in: Any, delivered: Card
) -> None:
    services.eid_account_register(actor=Actor(personas.lan), citizen=delivered.citizen, identity_checked=True)
    cards.card_change_state(actor=Actor(personas.lan), card=delivered, state="lost", note="Công dân báo mất")
    client = sign_in(Client(), personas.lan)

    page = client.get(f"/eid/citizens/{delivered.citizen_id}/register/").content.decode()

    assert 'data-status="pending"' in page
    assert "[card.none_active]" in page[page.index('id="refusals"') :]
    assert "Cấp mã kích hoạt mới" not in page
    # The citizen may still ask for the pending account to be locked.
    assert 'value="lock"' in page


def test_a_citizen_who_may_register_gets_the_form_and_no_refusal(
    personas: Personas, sign_in: Any, delivered: Card
) -> None:
    client = sign_in(Client(), personas.lan)

    page = client.get(f"/eid/citizens/{delivered.citizen_id}/register/").content.decode()

    assert 'id="refusals"' not in page
    assert 'name="identity_checked"' in page


# Finding the citizen from the card ------------------------------------------------------------------------


def test_the_pin_typed_or_scanned_opens_the_registration(
    personas: Personas, sign_in: Any, delivered: Card
) -> None:
    """The officer reached the registration only through the card history, by the citizen's record id:
    the desk starts from the card in the citizen's hand."""
    client = sign_in(Client(), personas.lan)
    hung = delivered.citizen
    register = f"/eid/citizens/{hung.pk}/register/"
    grouped = f"{hung.pin[:3]} {hung.pin[3:6]} {hung.pin[6:9]} {hung.pin[9:]}"
    scanned = f"{hung.pin}|012345678|Nguyễn Văn Hùng|17051990|Nam|Số 1 phố Hàng Trống|01022026"

    reads = AccessLog.objects.filter(actor=personas.lan, citizen=hung)
    before = reads.count()

    assert client.get("/eid/register/").status_code == 200
    assert client.post("/eid/register/", {"pin": grouped})["Location"] == register
    assert client.post("/eid/register/", {"pin": scanned})["Location"] == register
    # The look-up is a read of the record, logged as every read is.
    assert reads.count() == before + 2


def test_a_pin_outside_the_area_or_unknown_is_not_found_by_name(
    personas: Personas, sign_in: Any, delivered: Card
) -> None:
    client = sign_in(Client(), personas.binh)

    for pin in (delivered.citizen.pin, "001099000001"):
        page = client.post("/eid/register/", {"pin": pin})
        assert page.status_code == 200
        assert "Không tìm thấy công dân có số định danh này" in page.content.decode()
    wrong = client.post("/eid/register/", {"pin": "12345"}).content.decode()
    assert "Số định danh cá nhân gồm 12 chữ số" in wrong


def test_the_registration_page_leads_to_the_next_citizen(
    personas: Personas, sign_in: Any, delivered: Card
) -> None:
    client = sign_in(Client(), personas.lan)

    done = client.post(f"/eid/citizens/{delivered.citizen_id}/register/", {"identity_checked": "on"})

    assert 'href="/eid/register/" id="next-citizen"' in done.content.decode()
