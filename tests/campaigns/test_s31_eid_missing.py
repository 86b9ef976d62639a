"""A citizen declared missing is neither registered for an e-ID at the desk nor counted as due for one:
the population the campaigns measure e-ID registrations against is the one the desk can bring in."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from dancu.audit.services import Actor
from dancu.campaigns import population
from dancu.cards.models import Card
from dancu.eid import services as eid
from dancu.lib.errors import DomainError
from dancu.registry.models import Citizen
from tests.cards import conftest as cards
from tests.conftest import Personas

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_issuer_keys", "_fee_table")]

# The cards tests' own set-up: a station of Phường Hoàn Kiếm with its device, and Hùng's delivered card.
_issuer_keys = cards._issuer_keys
_fee_table = cards._fee_table
station = cards.station
device = cards.device
delivered = cards.delivered


def test_a_citizen_declared_missing_is_not_due_for_an_e_id(personas: Personas, delivered: Card) -> None:
    today = timezone.localdate()
    hung = delivered.citizen
    assert list(population.due_for_eid(today)) == [hung]

    Citizen.objects.filter(pk=hung.pk).update(missing_declared_on=date(2025, 3, 1))
    hung.refresh_from_db()

    # Left out of the count by the rule that refuses him at the desk.
    assert not population.due_for_eid(today).exists()
    with pytest.raises(DomainError) as refused:
        eid.eid_account_register(actor=Actor(personas.lan), citizen=hung, identity_checked=True)
    assert [e.code for e in refused.value.errors] == ["citizen.missing"]

    # The court's cancellation recorded, he is due again and registered.
    Citizen.objects.filter(pk=hung.pk).update(missing_declared_on=None)
    assert list(population.due_for_eid(today)) == [hung]
