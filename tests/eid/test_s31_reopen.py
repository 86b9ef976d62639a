"""A locked e-ID account is opened again at the desk (session 31): the portal told a citizen who locked it
("Để mở lại, hãy đến công an xã, phường nơi cư trú") to come in, and no officer could do anything for them.
It is opened as a new registration is made: the card, the face, a new activation code; the password and the
authenticator of before (on the lost phone) stop working."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent
from dancu.audit.services import Actor
from dancu.eid import services
from dancu.eid.models import EidAccount
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry import services as registry
from tests.conftest import SYSTEM, Personas
from tests.eid.conftest import CITIZEN_PASSWORD, Holder

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]
NEW_PASSWORD = "Hùng-mật-khẩu-mới-sau-khi-mất-máy"


def _locked_on_request(holder: Holder) -> EidAccount:
    return services.eid_account_lock(actor=Actor(holder.user), account=holder.account, reason="request")


def _events(holder: Holder, event_type: str) -> int:
    return AuditEvent.objects.filter(
        event_type=event_type, subject_type="eid_account", subject_id=str(holder.account.pk)
    ).count()


def test_a_locked_account_opens_again_with_a_new_code_and_nothing_of_before(
    personas: Personas, hung_account: Holder
) -> None:
    _locked_on_request(hung_account)
    registered_before = _events(hung_account, "eid.account.registered")

    account, code = services.eid_account_register(
        actor=Actor(personas.lan), citizen=hung_account.card.citizen, identity_checked=True
    )

    assert account.pk == hung_account.account.pk
    assert (account.status, account.lock_reason, account.locked_at) == (EidAccount.Status.PENDING, "", None)
    user = User.objects.get(pk=hung_account.user.pk)
    # The lost phone's authenticator and the old password open nothing.
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not user.has_usable_password()
    assert not user.check_password(CITIZEN_PASSWORD)
    event = AuditEvent.objects.get(event_type="eid.account.reopened", subject_id=str(account.pk))
    assert event.data == {"citizen": hung_account.card.citizen.pk, "lock_reason": "request"}
    assert event.actor == personas.lan
    # Opened again is no second registration for the campaigns.
    assert _events(hung_account, "eid.account.registered") == registered_before

    activated = services.eid_account_activate(
        pin=hung_account.card.citizen.pin, code=code, password=NEW_PASSWORD
    )
    assert activated.status == EidAccount.Status.ACTIVE
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)


def test_an_active_account_is_still_refused_as_existing(personas: Personas, hung_account: Holder) -> None:
    with pytest.raises(DomainError) as exc:
        services.eid_account_register(
            actor=Actor(personas.lan), citizen=hung_account.card.citizen, identity_checked=True
        )
    assert [e.code for e in exc.value.errors] == ["eid.account_exists"]


def test_the_face_is_checked_before_an_account_opens_again(personas: Personas, hung_account: Holder) -> None:
    _locked_on_request(hung_account)
    with pytest.raises(DomainError) as exc:
        services.eid_account_register(
            actor=Actor(personas.lan), citizen=hung_account.card.citizen, identity_checked=False
        )
    assert [e.code for e in exc.value.errors] == ["eid.identity_not_checked"]
    hung_account.account.refresh_from_db()
    assert hung_account.account.status == EidAccount.Status.LOCKED
    assert TOTPDevice.objects.filter(user=hung_account.user).exists()


def test_the_account_of_a_citizen_who_died_stays_locked(personas: Personas, hung_account: Holder) -> None:
    _locked_on_request(hung_account)
    hung = hung_account.card.citizen
    registry.citizen_update(
        actor=SYSTEM,
        citizen=hung,
        changes={"date_of_death": "2026-01-02"},
        reason="Khai tử",
        source_document="Trích lục khai tử 1/2026",
    )
    hung_account.account.refresh_from_db()
    assert hung_account.account.status == EidAccount.Status.LOCKED
    hung.refresh_from_db()
    with pytest.raises(DomainError) as exc:
        services.eid_account_register(actor=Actor(personas.lan), citizen=hung, identity_checked=True)
    assert [e.code for e in exc.value.errors] == ["citizen.deceased"]


def test_another_communes_officer_cannot_open_it_again(
    personas: Personas, hung_account: Holder, sign_in: SignIn
) -> None:
    _locked_on_request(hung_account)
    hung = hung_account.card.citizen
    with pytest.raises(NotFoundError):
        services.eid_account_register(actor=Actor(personas.binh), citizen=hung, identity_checked=True)
    client = sign_in(Client(), personas.binh)
    response = client.post(f"/eid/citizens/{hung.pk}/register/", {"identity_checked": "on"})
    assert response.status_code == 404
    hung_account.account.refresh_from_db()
    assert hung_account.account.status == EidAccount.Status.LOCKED


def test_the_page_offers_to_open_it_again_and_hands_over_the_slip(
    personas: Personas, hung_account: Holder, sign_in: SignIn
) -> None:
    _locked_on_request(hung_account)
    hung = hung_account.card.citizen
    client = sign_in(Client(), personas.lan)

    page = client.get(f"/eid/citizens/{hung.pk}/register/").content.decode()
    assert 'data-status="locked"' in page
    assert "Mở lại tài khoản và cấp mã kích hoạt" in page

    done = client.post(f"/eid/citizens/{hung.pk}/register/", {"identity_checked": "on"}).content.decode()
    assert 'id="activation-code"' in done
    assert 'id="account-reopened"' in done
    assert "mật khẩu và ứng dụng xác thực trước đây không còn dùng được" in done
    hung_account.account.refresh_from_db()
    assert hung_account.account.status == EidAccount.Status.PENDING
