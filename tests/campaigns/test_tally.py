"""The tallies stay equal to a count from scratch as events arrive, late ones included."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import transaction
from django.utils import timezone

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.campaigns import services
from dancu.campaigns.figures import figures_compute
from dancu.campaigns.models import CommuneTally, DetailTally, Metric, ProvinceTally, TallyGap, TallyMark
from dancu.campaigns.tally import count_from_scratch, tally_catch_up
from tests.campaigns.conftest import DAY3, TAKEN, Country, at, record
from tests.conftest import Personas

pytestmark = pytest.mark.django_db


def _stored(metric: Metric) -> tuple[Counter[tuple[object, ...]], ...]:
    province = Counter(
        {
            (metric.pk, p, d): n
            for p, d, n in ProvinceTally.objects.filter(metric=metric).values_list(
                "province_id", "day", "count"
            )
            if n
        }
    )
    commune = Counter(
        {
            (metric.pk, p, c, d): n
            for p, c, d, n in CommuneTally.objects.filter(metric=metric).values_list(
                "province_id", "commune_id", "day", "count"
            )
            if n
        }
    )
    detail = Counter(
        {
            (metric.pk, c, d, o, pt, t, s): n
            for c, d, o, pt, t, s, n in DetailTally.objects.filter(metric=metric).values_list(
                "commune_id", "day", "officer_id", "point", "team", "shift", "count"
            )
            if n
        }
    )
    return province, commune, detail


def assert_tallies_match_the_trail(metric: Metric) -> None:
    tally_catch_up()
    scratch = count_from_scratch(metric)
    assert _stored(metric) == (scratch.province, scratch.commune, scratch.detail)


def test_new_events_are_added_to_what_was_counted(country: Country, personas: Personas) -> None:
    cards = Metric.objects.get(code="cards_taken")
    assert_tallies_match_the_trail(cards)
    before = figures_compute(campaign=country.campaign, unit=None, as_of=DAY3).metrics[0].achieved

    record(TAKEN, country.hong_ha, personas.binh, at(DAY3), shift="tối")
    record(TAKEN, country.duong_lieu_legacy, personas.hoa, at(DAY3))
    record(EventType.CARD_DELIVERED, country.hong_ha, personas.binh, at(DAY3))

    after = figures_compute(campaign=country.campaign, unit=None, as_of=DAY3).metrics[0]
    assert after.achieved == before + 2
    assert_tallies_match_the_trail(cards)
    assert_tallies_match_the_trail(Metric.objects.get(code="cards_delivered"))


def test_a_read_with_nothing_new_changes_nothing(country: Country) -> None:
    tally_catch_up()
    mark = TallyMark.objects.get()
    assert tally_catch_up() == 0
    assert TallyMark.objects.get().caught_up_at == mark.caught_up_at


def test_an_event_committed_late_under_the_mark_is_still_counted(
    country: Country, personas: Personas
) -> None:
    """A transaction that drew its id before others committed theirs: the id is a gap until it lands."""
    cards = Metric.objects.get(code="cards_taken")
    tally_catch_up()
    late = record(TAKEN, country.sai_gon, personas.dung, at(DAY3))
    kept = AuditEvent.objects.filter(pk=late.pk).values()[0]
    AuditEvent.objects.filter(pk=late.pk).delete()  # not yet committed when the tally passes its id
    record(TAKEN, country.sai_gon, personas.dung, at(DAY3))
    tally_catch_up()
    assert list(TallyGap.objects.values_list("event_id", flat=True)) == [late.pk]
    # While the gap waits, a read with nothing new takes no lock and writes nothing.
    waited = TallyMark.objects.get().caught_up_at
    assert tally_catch_up() == 0
    assert TallyMark.objects.get().caught_up_at == waited

    AuditEvent.objects.create(**kept)  # the open transaction commits
    AuditEvent.objects.filter(pk=late.pk).update(occurred_at=kept["occurred_at"])  # not "now"
    assert_tallies_match_the_trail(cards)
    assert not TallyGap.objects.exists()
    sai_gon = figures_compute(campaign=country.campaign, unit=country.sai_gon, as_of=DAY3).metrics[0]
    assert sai_gon.achieved == 7


def test_a_gap_that_never_fills_is_forgotten(country: Country, personas: Personas) -> None:
    from dancu.campaigns.tally import GAP_PATIENCE

    tally_catch_up()
    rolled_back = record(TAKEN, country.sai_gon, personas.dung, at(DAY3))
    AuditEvent.objects.filter(pk=rolled_back.pk).delete()
    record(TAKEN, country.sai_gon, personas.dung, at(DAY3))
    tally_catch_up()
    assert TallyGap.objects.count() == 1
    tally_catch_up(now=timezone.now() + GAP_PATIENCE * 2)
    assert not TallyGap.objects.exists()


def test_a_new_metric_counts_the_trail_so_far_with_its_data_filter(
    country: Country, personas: Personas
) -> None:
    tally_catch_up()
    evening = services.metric_create(
        actor=Actor(personas.minh),
        code="cards_evening",
        name="Hồ sơ cấp thẻ ca tối",
        name_en="Card applications, evening shift",
        event_types=["cards.application.taken"],
        data_filter={"shift": ["tối"]},
    )
    assert_tallies_match_the_trail(evening)
    assert sum(ProvinceTally.objects.filter(metric=evening).values_list("count", flat=True)) == 2

    record(TAKEN, country.hong_ha, personas.binh, at(DAY3), shift="tối")
    record(TAKEN, country.hong_ha, personas.binh, at(DAY3), shift="sáng")
    assert_tallies_match_the_trail(evening)
    assert sum(ProvinceTally.objects.filter(metric=evening).values_list("count", flat=True)) == 3


def test_an_event_type_no_app_has_yet_is_a_metric_without_new_code(
    country: Country, personas: Personas
) -> None:
    """A later domain (e-ID registrations) adds a metric by naming its event type."""
    metric = services.metric_create(
        actor=Actor(personas.minh),
        code="eid_level2",
        name="Tài khoản định danh mức 2",
        name_en="Level-2 e-ID accounts",
        event_types=["eid.account.activated"],
    )
    with transaction.atomic():
        audit_event_record(
            actor=Actor(personas.lan),
            event_type="eid.account.activated",  # type: ignore[arg-type]
            subject_type="eid_account",
            subject_id=1,
            unit=country.hoan_kiem,
        )
    tally_catch_up()
    assert CommuneTally.objects.get(metric=metric, commune=country.hoan_kiem).count == 1
    # Counted on the local day it happened: today in Hà Nội.
    assert CommuneTally.objects.get(metric=metric).day == timezone.localdate()
