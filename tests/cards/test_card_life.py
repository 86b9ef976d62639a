"""The life of a card past its delivery: a new card supersedes a held one, a card revoked before delivery
is never handed over and frees the citizen to apply again, a recorded death ends the cards, and a card
revoked on legal grounds is not re-issued as lost. A cancelled application says why, on its page and in
the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from dancu.accounts.services import api_token_create
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.cards import services
from dancu.cards.models import Application, Card, IntakeDevice, IntakePoint
from dancu.lib.errors import DomainError
from dancu.registry.models import Citizen
from dancu.registry.services import citizen_update
from tests.cards.conftest import centre_answers, produce, take
from tests.conftest import SYSTEM, People, Personas, make_citizen

REVOKED = "Thẻ đã sản xuất bị thu hồi trước khi trả cho công dân: "


def codes(exc: pytest.ExceptionInfo[DomainError]) -> list[str]:
    return [e.code for e in exc.value.errors]


def deliver(personas: Personas, card: Card) -> Card:
    services.application_deliver(actor=Actor(personas.lan), application=card.application, received_by="Hùng")
    card.refresh_from_db()
    return card


def record_death(citizen: Citizen) -> None:
    citizen_update(
        actor=SYSTEM,
        citizen=citizen,
        changes={"date_of_death": "2026-03-20"},
        reason="Giấy chứng tử",
        source_document="GCT 1",
    )


def test_a_new_card_supersedes_a_held_card_which_is_then_not_released(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice, delivered: Card
) -> None:
    services.card_change_state(actor=Actor(personas.cuong), card=delivered, state="held", grounds="detained")
    reissue = take(personas.lan, people.hung, station, device, kind="lost_or_damaged", reason="Hỏng")
    new = deliver(personas, produce(personas, reissue, serial="VN00000002"))
    delivered.refresh_from_db()
    assert (delivered.state, delivered.replaced_by_id) == (Card.State.REPLACED, new.pk)
    event = AuditEvent.objects.get(event_type=EventType.CARD_DELIVERED, subject_id=str(reissue.pk))
    assert event.data["superseded"] == [delivered.serial]
    with pytest.raises(DomainError) as exc:
        services.card_change_state(actor=Actor(personas.cuong), card=delivered, state="active")
    assert codes(exc) == ["card.transition"]


def test_a_held_card_is_not_released_while_another_card_is_in_use(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice, delivered: Card
) -> None:
    # A held card kept beside a card in use, as records from before the rule above may hold.
    reissue = take(personas.lan, people.hung, station, device, kind="lost_or_damaged", reason="Hỏng")
    new = deliver(personas, produce(personas, reissue, serial="VN00000002"))
    Card.objects.filter(pk=delivered.pk).update(state=Card.State.HELD)
    with pytest.raises(DomainError) as exc:
        services.card_change_state(actor=Actor(personas.cuong), card=delivered, state="active")
    assert [(e.field, e.code) for e in exc.value.errors] == [("state", "card.other_active")]
    new.refresh_from_db()
    assert new.state == Card.State.ACTIVE


def test_a_card_revoked_before_delivery_is_not_handed_over_and_its_application_closes(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    card = produce(personas, take(personas.lan, people.hung, station, device))
    services.card_change_state(
        actor=Actor(personas.cuong), card=card, state="revoked", grounds="issued_wrongly"
    )
    application = Application.objects.get(pk=card.application_id)
    assert application.status == Application.Status.CANCELLED
    # The application's trail ends with its own cancellation, under the officer who revoked the card.
    cancelled = AuditEvent.objects.get(
        event_type=EventType.CARD_APPLICATION_CANCELLED, subject_id=str(application.pk)
    )
    assert (cancelled.actor, cancelled.reason) == (personas.cuong, application.cancellation_reason)
    assert cancelled.data["intake_point_id"] == station.pk
    with pytest.raises(DomainError) as exc:
        services.application_deliver(actor=Actor(personas.lan), application=application, received_by="Hùng")
    assert codes(exc) == ["application.status"]
    card.refresh_from_db()
    assert card.state == Card.State.REVOKED
    # Records from before the rule: the application still says produced, the card is revoked.
    Application.objects.filter(pk=application.pk).update(status=Application.Status.PRODUCED)
    with pytest.raises(DomainError) as exc:
        services.application_deliver(actor=Actor(personas.lan), application=application, received_by="Hùng")
    assert codes(exc) == ["card.not_deliverable"]
    Application.objects.filter(pk=application.pk).update(status=Application.Status.CANCELLED)
    # The citizen, who never had the card, may apply again.
    assert take(personas.lan, people.hung, station, device, shift="2").status == Application.Status.TAKEN


def test_a_recorded_death_revokes_the_card_in_use_and_closes_the_application(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice, delivered: Card
) -> None:
    reissue = take(personas.lan, people.hung, station, device, kind="lost_or_damaged", reason="Hỏng")
    record_death(people.hung)
    delivered.refresh_from_db()
    assert (delivered.state, delivered.state_reason) == (Card.State.REVOKED, "Công dân đã chết")
    reissue.refresh_from_db()
    assert reissue.status == Application.Status.CANCELLED
    assert AuditEvent.objects.filter(
        event_type=EventType.CARD_APPLICATION_CANCELLED, subject_id=str(reissue.pk)
    ).exists()


def test_no_card_is_delivered_batched_or_left_live_for_a_citizen_who_died_in_production(
    application: Application, personas: Personas, people: People
) -> None:
    services.application_approve(actor=Actor(personas.cuong), application=application)
    batch = services.batch_create(actor=Actor(personas.cuong))
    record_death(people.hung)  # while the batch is at the production centre
    centre_answers(personas, batch, application)
    card = Card.objects.get(application=application)
    assert card.state == Card.State.REVOKED
    application.refresh_from_db()
    assert application.status == Application.Status.CANCELLED
    with pytest.raises(DomainError):
        services.application_deliver(actor=Actor(personas.lan), application=application, received_by="Hùng")


def test_a_citizen_declared_missing_is_not_approved_batched_or_handed_a_card(
    application: Application, personas: Personas, people: People
) -> None:
    Citizen.objects.filter(pk=people.hung.pk).update(missing_declared_on="2026-03-11")
    with pytest.raises(DomainError) as exc:
        services.application_approve(actor=Actor(personas.cuong), application=application)
    assert codes(exc) == ["citizen.missing"]
    Citizen.objects.filter(pk=people.hung.pk).update(missing_declared_on=None)
    services.application_approve(actor=Actor(personas.cuong), application=application)
    Citizen.objects.filter(pk=people.hung.pk).update(missing_declared_on="2026-03-11")
    with pytest.raises(DomainError) as exc:
        services.batch_create(actor=Actor(personas.cuong))
    assert codes(exc) == ["batch.empty"]  # the application waits, approved
    Citizen.objects.filter(pk=people.hung.pk).update(missing_declared_on=None)
    card = produce_approved(personas, application)
    Citizen.objects.filter(pk=people.hung.pk).update(missing_declared_on="2026-03-11")
    with pytest.raises(DomainError) as exc:
        services.application_deliver(actor=Actor(personas.lan), application=application, received_by="Hùng")
    assert codes(exc) == ["citizen.missing"]
    card.refresh_from_db()
    assert card.state == Card.State.PRODUCED


def produce_approved(personas: Personas, application: Application) -> Card:
    batch = services.batch_create(actor=Actor(personas.cuong))
    centre_answers(personas, batch, application)
    return Card.objects.get(application=application)


def test_a_card_revoked_on_legal_grounds_is_not_reissued_as_lost(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice, delivered: Card
) -> None:
    services.card_change_state(
        actor=Actor(personas.cuong), card=delivered, state="revoked", grounds="nationality_lost"
    )
    with pytest.raises(DomainError) as exc:
        take(personas.lan, people.hung, station, device, kind="lost_or_damaged", reason="Mất")
    assert [(e.field, e.code) for e in exc.value.errors] == [("kind", "application.card_revoked")]


# Why an application was cancelled -------------------------------------------------------------------------


def test_a_cancelled_application_says_why_on_its_page_and_in_the_api(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice, sign_in: Any
) -> None:
    card = produce(personas, take(personas.lan, people.hung, station, device))
    services.card_change_state(
        actor=Actor(personas.cuong),
        card=card,
        state="revoked",
        grounds="issued_wrongly",
        note="Sai ngày sinh trên thẻ",
    )
    application = Application.objects.get(pk=card.application_id)
    reason = f"{REVOKED}Cấp sai quy định; Sai ngày sinh trên thẻ"
    assert (application.status, application.cancellation_reason) == (Application.Status.CANCELLED, reason)

    lan = sign_in(Client(), personas.lan)
    page = lan.get(f"/cards/applications/{application.pk}/").content.decode()
    _token, secret = api_token_create(user=personas.lan, name="máy tính bảng")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    body = api.get(f"/api/v1/cards/applications/{application.pk}").json()

    assert f'<dd id="cancellation-reason">{reason}</dd>' in page
    assert "Lý do huỷ hồ sơ" in page
    assert (body["status"], body["cancellation_reason"]) == ("cancelled", reason)
    # An application that was not cancelled has no reason to show.
    again = take(personas.lan, people.hung, station, device, shift="2")
    assert api.get(f"/api/v1/cards/applications/{again.pk}").json()["cancellation_reason"] == ""
    assert 'id="cancellation-reason"' not in lan.get(f"/cards/applications/{again.pk}/").content.decode()


def test_a_death_cancels_the_applications_with_the_reason_of_each(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    """No card made yet: the citizen died. A card made and not handed over: it is revoked for the death
    before delivery, as a revocation says."""
    waiting = take(personas.lan, people.hung, station, device)
    long = make_citizen(full_name="Đỗ Văn Long", birth_date="1988-02-03", address="Số 9 phố Hàng Gai")
    made = produce(personas, take(personas.lan, long, station, device, shift="2"))

    record_death(people.hung)
    record_death(long)

    waiting.refresh_from_db()
    made_application = Application.objects.get(pk=made.application_id)
    assert (waiting.status, waiting.cancellation_reason) == (Application.Status.CANCELLED, "Công dân đã chết")
    assert (made_application.status, made_application.cancellation_reason) == (
        Application.Status.CANCELLED,
        f"{REVOKED}Công dân đã chết",
    )
    events = AuditEvent.objects.filter(event_type=EventType.CARD_APPLICATION_CANCELLED)
    assert dict(events.values_list("subject_id", "reason")) == {
        str(waiting.pk): "Công dân đã chết",
        str(made_application.pk): f"{REVOKED}Công dân đã chết",
    }


def test_a_death_during_production_cancels_the_application_with_the_revocation(
    application: Application, personas: Personas, people: People, station: IntakePoint
) -> None:
    services.application_approve(actor=Actor(personas.cuong), application=application)
    batch = services.batch_create(actor=Actor(personas.cuong))
    record_death(people.hung)

    centre_answers(personas, batch, application)

    application.refresh_from_db()
    assert (application.status, application.cancellation_reason) == (
        Application.Status.CANCELLED,
        f"{REVOKED}Công dân đã chết",
    )
    cancelled = AuditEvent.objects.get(
        event_type=EventType.CARD_APPLICATION_CANCELLED, subject_id=str(application.pk)
    )
    assert (cancelled.actor, cancelled.reason) == (personas.cuong, f"{REVOKED}Công dân đã chết")
    assert cancelled.unit == station.commune


def test_the_database_refuses_a_cancelled_application_without_a_reason(application: Application) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=application.pk).update(status=Application.Status.CANCELLED)
