"""Which card is valid on a day: the one rule the e-ID accounts and the campaign figures both read."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from dancu.cards.models import Card, unexpired_on
from dancu.registry.models import IdentityCardRecord
from tests.conftest import Personas

DAY = date(2031, 5, 20)


def _set(card: Card, *, state: str = Card.State.ACTIVE, expires_on: date | None) -> None:
    # Hùng's card is moved straight to the state under test: the rule reads the row, not how it got there.
    Card.objects.filter(pk=card.pk).update(state=state, issued_on=date(2021, 5, 20), expires_on=expires_on)


@pytest.mark.parametrize(
    ("expires_on", "valid"),
    [
        (DAY + timedelta(days=365), True),
        (DAY, True),
        (DAY - timedelta(days=1), False),
        (None, True),
    ],
    ids=["next-year", "expires-that-day", "expired-the-day-before", "never-expires"],
)
def test_an_active_card_is_valid_through_its_expiry_date(
    delivered: Card, expires_on: date | None, valid: bool
) -> None:
    _set(delivered, expires_on=expires_on)

    assert Card.objects.valid_on(DAY).filter(pk=delivered.pk).exists() is valid
    assert delivered.citizen.cards.valid_on(DAY).exists() is valid


@pytest.mark.parametrize("state", [state for state in Card.State.values if state != Card.State.ACTIVE])
def test_a_card_that_is_not_active_is_never_valid(delivered: Card, state: str) -> None:
    _set(delivered, state=state, expires_on=DAY + timedelta(days=365))

    assert not Card.objects.valid_on(DAY).filter(pk=delivered.pk).exists()


def test_the_registry_card_records_follow_the_same_expiry_rule(delivered: Card) -> None:
    records = IdentityCardRecord.objects.filter(citizen=delivered.citizen)
    record = records.get(number=delivered.number, kind=IdentityCardRecord.Kind.CAN_CUOC)

    for expires_on, valid in [(DAY, True), (DAY - timedelta(days=1), False), (None, True)]:
        records.filter(pk=record.pk).update(issued_on=date(2021, 5, 20), expires_on=expires_on)
        assert records.filter(unexpired_on(DAY), pk=record.pk).exists() is valid


def test_the_daily_job_expires_a_card_the_day_after_its_expiry_date(delivered: Card) -> None:
    """The job once expired cards on the date printed on them, while the e-ID sign-in and the campaign
    figures counted them valid that day: a citizen's portal opened or not by the hour the job ran."""
    from dancu.audit.services import Actor
    from dancu.cards import services

    _set(delivered, expires_on=DAY)
    assert services.cards_expire_due(actor=Actor(system="test"), today=DAY) == 0
    delivered.refresh_from_db()
    assert delivered.state == Card.State.ACTIVE
    assert services.cards_expire_due(actor=Actor(system="test"), today=DAY + timedelta(days=1)) == 1
    delivered.refresh_from_db()
    assert delivered.state == Card.State.EXPIRED


def test_an_officer_cannot_expire_a_card_on_its_expiry_date(personas: Personas, delivered: Card) -> None:
    from django.utils import timezone

    from dancu.audit.services import Actor
    from dancu.cards import services
    from dancu.lib.errors import DomainError

    today = timezone.localdate()
    _set(delivered, expires_on=today)
    with pytest.raises(DomainError) as refused:
        services.card_change_state(actor=Actor(personas.cuong), card=delivered, state="expired")
    assert refused.value.errors[0].code == "card.not_expired"
    _set(delivered, expires_on=today - timedelta(days=1))
    card = services.card_change_state(actor=Actor(personas.cuong), card=delivered, state="expired")
    assert card.state == Card.State.EXPIRED
