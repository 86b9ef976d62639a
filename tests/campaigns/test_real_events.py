"""The campaigns count what the cards app really records: a card taken and delivered at a station."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dancu.audit.services import Actor
from dancu.campaigns import services
from dancu.campaigns.figures import figures_compute
from dancu.campaigns.models import Metric
from dancu.cards.models import Card
from tests.campaigns.conftest import ensure_builtin_metrics
from tests.cards import conftest as cards
from tests.conftest import HOAN_KIEM, Personas, commune

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_issuer_keys")]

# The cards tests' own set-up: a station of Phường Hoàn Kiếm with its device, and Hùng's delivered card.
_issuer_keys = cards._issuer_keys
station = cards.station
device = cards.device
delivered = cards.delivered


def test_a_card_taken_and_delivered_counts_toward_its_commune_point_and_shift(
    personas: Personas, delivered: Card
) -> None:
    ensure_builtin_metrics()
    today = timezone.localdate()
    campaign = services.campaign_create(
        actor=Actor(personas.minh),
        name="Cấp thẻ tuần này",
        starts_on=today - timedelta(days=3),
        ends_on=today + timedelta(days=3),
        metrics=[
            services.MetricChoice(Metric.objects.get(code="cards_taken")),
            services.MetricChoice(Metric.objects.get(code="cards_delivered")),
        ],
    )

    hoan_kiem = figures_compute(campaign=campaign, unit=commune(HOAN_KIEM), as_of=today)
    taken, handed = hoan_kiem.metrics
    assert (taken.achieved, handed.achieved) == (1, 1)
    assert {key: [(b.label, b.achieved) for b in rows] for key, rows in taken.breakdowns.items()} == {
        "officer": [("Trần Thị Lan", 1)],
        "point": [("Công an phường Hoàn Kiếm", 1)],
        "team": [("", 1)],
        # The cards app records the shift's number; the commander reads its name and hours.
        "shift": [("Ca 1 (7:00–12:00)", 1)],
    }
    country = figures_compute(campaign=campaign, unit=None, as_of=today)
    assert [m.achieved for m in country.metrics] == [1, 1]
    assert next(row for row in country.metrics[1].rows if row.unit.code == "01").achieved == 1
