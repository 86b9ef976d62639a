"""A small country with known records: the campaign figures of every test are worked out by hand from it.

Hà Nội has Phường Hoàn Kiếm, Phường Hồng Hà and the 2025 successor of Xã Dương Liễu (a legacy commune of
Huyện Hoài Đức, whose events are recorded against the legacy unit); TP Hồ Chí Minh has Phường Sài Gòn.
The campaign runs for ten days, 1-7-2025 to 10-7-2025; the figures are read on its third day.

Card applications taken (cards_taken), by local day (Asia/Ho_Chi_Minh):
    30-6  Hoàn Kiếm 1 (before the campaign: never counted)
    1-7   Hoàn Kiếm 4 by Lan at "Điểm UBND phường", team "Tổ 1": 3 morning, 1 at 23:30 evening
    2-7   Hồng Hà 2 by Bình, shift "tối" (one at 00:30, still 2-7 in Hà Nội though 1-7 in UTC);
          Dương Liễu (legacy unit) 2 by Hoa
    3-7   Sài Gòn 5 by Dũng
plus one event with no unit (counted nowhere) and 2 forms submitted in Hoàn Kiếm on 1-7.

Targets for cards_taken: country 20 (ministry), Hà Nội 10, TP HCM 2 per day (20 for the period);
Hoàn Kiếm 4, Hồng Hà 5 revised to 3; Dương Liễu's successor has none, so its eligible population (Nga,
14+ with no card) of 1 is its target.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.db import transaction
from django.utils import translation

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.campaigns import services
from dancu.campaigns.models import Campaign, CampaignMetric, Metric
from dancu.geo.models import AdminUnit
from dancu.geo.selectors import province_get, successor_of
from tests.conftest import (
    DUONG_LIEU_LEGACY,
    HOAN_KIEM,
    HONG_HA,
    SAI_GON,
    People,
    Personas,
    commune,
    legacy_commune,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
START, END, DAY3 = date(2025, 7, 1), date(2025, 7, 10), date(2025, 7, 3)
POINT = "Điểm UBND phường"


def record(
    event_type: str,
    unit: AdminUnit | None,
    user: User | None,
    when: datetime,
    **data: Any,
) -> AuditEvent:
    """An event as the cards or collection app would write it, at the local time it happened."""
    with transaction.atomic():
        event = audit_event_record(
            actor=Actor(user) if user else Actor(system="test"),
            event_type=EventType(event_type),
            subject_type="card_application",
            subject_id=AuditEvent.objects.count() + 1,
            unit=unit,
            data=data,
        )
    AuditEvent.objects.filter(pk=event.pk).update(occurred_at=when)
    return event


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN)


@dataclass
class Country:
    campaign: Campaign
    cards: CampaignMetric
    forms: CampaignMetric
    hanoi: AdminUnit
    hcm: AdminUnit
    hoan_kiem: AdminUnit
    hong_ha: AdminUnit
    duong_lieu: AdminUnit  # the 2025 successor
    duong_lieu_legacy: AdminUnit
    sai_gon: AdminUnit


TAKEN = EventType.CARD_APPLICATION_TAKEN


@pytest.fixture(autouse=True)
def _language_restored() -> Iterator[None]:
    """A page read in English leaves English active in the thread (LocaleMiddleware activates it and
    nothing deactivates it); put back the language the next test expects."""
    language = translation.get_language()
    yield
    translation.activate(language)


def ensure_builtin_metrics() -> None:
    """The metrics migration 0002 creates, again: a transactional test (the browser's) empties every
    table when it ends, and the tests after it still need them."""
    seed = importlib.import_module("dancu.campaigns.migrations.0002_builtin_metrics")
    seed.create(django_apps, None)


@pytest.fixture
def country(personas: Personas, people: People) -> Country:
    ensure_builtin_metrics()
    p = personas
    hoan_kiem, hong_ha, sai_gon = commune(HOAN_KIEM), commune(HONG_HA), commune(SAI_GON)
    legacy = legacy_commune(DUONG_LIEU_LEGACY)
    duong_lieu = successor_of(legacy)
    morning = {"intake_point": POINT, "team": "Tổ 1", "shift": "sáng"}
    record(TAKEN, hoan_kiem, p.lan, at(date(2025, 6, 30)), **morning)
    for minute in range(3):
        record(TAKEN, hoan_kiem, p.lan, at(START, 8, minute), **morning)
    record(TAKEN, hoan_kiem, p.lan, at(START, 23, 30), intake_point=POINT, team="Tổ 1", shift="chiều")
    record(TAKEN, hong_ha, p.binh, at(date(2025, 7, 2), 0, 30), shift="tối")
    record(TAKEN, hong_ha, p.binh, at(date(2025, 7, 2), 20), shift="tối")
    record(TAKEN, legacy, p.hoa, at(date(2025, 7, 2)))
    record(TAKEN, legacy, p.hoa, at(date(2025, 7, 2)))
    for _ in range(5):
        record(TAKEN, sai_gon, p.dung, at(DAY3))
    record(TAKEN, None, p.minh, at(DAY3))
    record(EventType.FORM_SUBMITTED, hoan_kiem, p.lan, at(START))
    record(EventType.FORM_SUBMITTED, hoan_kiem, p.lan, at(START))

    ministry = Actor(p.minh)
    due = Metric.objects.get(code="due_for_card")
    services.population_count(actor=ministry, metric=due, as_of=START)
    campaign = services.campaign_create(
        actor=ministry,
        name="Cao điểm cấp thẻ căn cước tháng 7",
        starts_on=START,
        ends_on=END,
        metrics=[
            services.MetricChoice(Metric.objects.get(code="cards_taken"), due),
            services.MetricChoice(Metric.objects.get(code="forms_collected")),
        ],
    )
    cards, forms = campaign.campaign_metrics.order_by("position")
    hanoi, hcm = province_get("01"), province_get("79")
    services.target_set(
        actor=ministry, campaign_metric=cards, unit=None, total=20, per_day=None, reason="Kế hoạch Bộ"
    )
    services.target_set(
        actor=ministry, campaign_metric=cards, unit=hanoi, total=10, per_day=None, reason="Giao tỉnh"
    )
    services.target_set(
        actor=ministry, campaign_metric=cards, unit=hcm, total=None, per_day=2, reason="Giao tỉnh"
    )
    province = Actor(p.cuong)
    services.target_set(
        actor=province, campaign_metric=cards, unit=hoan_kiem, total=4, per_day=None, reason="Giao xã"
    )
    services.target_set(
        actor=province, campaign_metric=cards, unit=hong_ha, total=5, per_day=None, reason="Giao xã"
    )
    services.target_set(
        actor=province,
        campaign_metric=cards,
        unit=hong_ha,
        total=3,
        per_day=None,
        reason="Phường ít dân hơn dự kiến",
    )
    return Country(
        campaign=campaign,
        cards=cards,
        forms=forms,
        hanoi=hanoi,
        hcm=hcm,
        hoan_kiem=hoan_kiem,
        hong_ha=hong_ha,
        duong_lieu=duong_lieu,
        duong_lieu_legacy=legacy,
        sai_gon=sai_gon,
    )
