"""Merging duplicate records that the cards workflow knows: a card in the making, or in use, on the
record to be absorbed would carry a PIN the merge cancels, so the merge waits for the cards workflow."""

from __future__ import annotations

import pytest

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.cards import services
from dancu.cards.models import Card, IntakeDevice, IntakePoint
from dancu.lib.errors import DomainError
from dancu.registry import services as registry
from dancu.registry.models import Citizen
from tests.cards.conftest import centre_answers, take
from tests.conftest import SYSTEM, People, Personas, make_citizen
from tests.registry.merge_support import card, reviewer

pytestmark = pytest.mark.django_db
REASON = "Hai hồ sơ cùng một người"


def merge(keep: Citizen, absorb: Citizen) -> None:
    registry.citizen_merge(
        actor=Actor(reviewer()), keep=keep, absorb=absorb, reason=REASON, source_document="Biên bản 1"
    )


def test_the_record_with_the_delivered_card_is_kept(delivered: Card, people: People) -> None:
    duplicate = make_citizen(full_name="Nguyen Van Hung")
    assert registry.merge_pin_rule(duplicate, people.hung) == (people.hung, duplicate, "pin.on_card")
    merge(people.hung, duplicate)
    assert Citizen.objects.get(pk=duplicate.pk).merged_into_id == people.hung.pk


def test_an_application_in_progress_on_the_absorbed_record_is_settled_first(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    duplicate = make_citizen(full_name="Nguyen Van Hung")
    take(personas.lan, duplicate, station, device)
    with pytest.raises(DomainError) as exc:
        merge(people.hung, duplicate)
    assert {e.code for e in exc.value.errors} == {"merge.card_application_open"}
    assert Citizen.objects.get(pk=duplicate.pk).merged_into_id is None


def test_a_card_in_use_on_the_absorbed_record_is_revoked_or_replaced_first(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    card(people.hung)  # an older chip card on the register, with the PIN issued first
    duplicate = make_citizen(full_name="Nguyen Van Hung")
    application = take(personas.lan, duplicate, station, device)
    services.application_approve(actor=Actor(personas.cuong), application=application)
    batch = services.batch_create(actor=Actor(personas.cuong))
    centre_answers(personas, batch, application, "VN00000009")
    services.application_deliver(
        actor=Actor(personas.lan), application=application, received_by="Nguyễn Văn Hùng"
    )
    assert registry.merge_pin_rule(duplicate, people.hung)[0] == people.hung
    with pytest.raises(DomainError) as exc:
        merge(people.hung, duplicate)
    assert {e.code for e in exc.value.errors} == {"merge.active_card"}


def test_no_application_is_taken_for_a_record_merged_away(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    duplicate = make_citizen(full_name="Nguyen Van Hung")
    loaded = Citizen.objects.get(pk=duplicate.pk)  # the intake screen opened before the merge
    merge(people.hung, duplicate)
    with pytest.raises(DomainError) as exc:
        take(personas.lan, loaded, station, device)
    [problem] = exc.value.errors
    assert problem.code == "citizen.merged"
    assert people.hung.pin in problem.message_vi
    assert not duplicate.card_applications.exists()


def test_a_death_the_merge_brings_to_the_kept_record_ends_its_card(delivered: Card, people: People) -> None:
    # The register's Hùng carries his card; a second record of him was marked dead by another office.
    duplicate = make_citizen(full_name="Nguyen Van Hung")
    registry.citizen_update(
        actor=SYSTEM,
        citizen=duplicate,
        changes={"date_of_death": "2025-06-20"},
        reason="Trích lục khai tử",
        source_document="KT 12/2025",
    )
    merge(people.hung, Citizen.objects.get(pk=duplicate.pk))

    hung = Citizen.objects.get(pk=people.hung.pk)
    assert hung.is_deceased
    delivered.refresh_from_db()
    assert delivered.state == Card.State.REVOKED
    deaths = AuditEvent.objects.filter(event_type=EventType.CITIZEN_DECEASED, subject_id=str(hung.pk))
    assert deaths.count() == 1
    assert AuditEvent.objects.filter(
        event_type=EventType.CARD_STATE_CHANGED, subject_id=str(delivered.pk), data__grounds="deceased"
    ).exists()
