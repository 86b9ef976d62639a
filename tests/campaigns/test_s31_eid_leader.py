"""The e-ID target as a province police leader follows it: registrations against the citizens who could be
registered, activations counted once per account, and each commune leader reading only their commune."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.campaigns import services
from dancu.campaigns.models import Campaign, Metric
from dancu.cards.models import Card, IntakeDevice, IntakePoint
from dancu.eid import services as eid
from dancu.eid.models import EidAccount
from dancu.registry.models import Citizen
from tests.campaigns.conftest import ensure_builtin_metrics
from tests.campaigns.test_api import api
from tests.campaigns.test_s31_eid_metrics import card_for, eid_campaign, ensure_eid_metrics, register
from tests.cards import conftest as cards
from tests.cards.test_review_cards import _pdf_text
from tests.conftest import HOAN_KIEM, HONG_HA, Personas, make_citizen
from tests.eid.conftest import CITIZEN_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_issuer_keys")]
SignIn = Callable[[Client, User], Client]

_issuer_keys = cards._issuer_keys
station = cards.station
device = cards.device
delivered = cards.delivered


def holders(
    personas: Personas, station: IntakePoint, device: IntakeDevice, names: list[str]
) -> dict[str, Citizen]:
    """Adults of Phường Hoàn Kiếm, each with a card of ours handed over: due for an e-ID account."""
    people = {}
    for serial, name in enumerate(names, start=2):
        citizen = make_citizen(full_name=name, birth_date="1988-03-09")
        card_for(personas, citizen, station, device, f"VN{serial:08d}")
        people[name] = citizen
    return people


def count_population(personas: Personas) -> None:
    """The morning's count of the citizens still due (the worker's, or `dancu campaigns_count`)."""
    services.population_count(
        actor=Actor(personas.minh), metric=Metric.objects.get(code="due_for_eid"), as_of=timezone.localdate()
    )


def registered_in(body: dict[str, Any], code: str) -> dict[str, Any]:
    metric = next(m for m in body["metrics"] if m["code"] == "eid_registered")
    return next(unit for unit in metric["units"] if unit["code"] == code)


def test_the_target_stays_the_citizens_due_at_the_start_as_they_are_registered(
    personas: Personas, delivered: Card, station: IntakePoint, device: IntakeDevice
) -> None:
    """A registered citizen leaves `due_for_eid`: measured against what is still due, a commune that
    registered 3 of its 4 citizens read 3 of 1, 300%, "met", while one citizen was still waiting."""
    campaign = eid_campaign(personas)
    people = holders(personas, station, device, ["Trần Văn An", "Trần Thị Bình", "Trần Văn Còn"])
    hung = delivered.citizen
    count_population(personas)  # before any registration: 4 due in Hoàn Kiếm

    register(personas.lan, hung)
    register(personas.lan, people["Trần Văn An"])
    register(personas.lan, people["Trần Thị Bình"])
    # Bình lost her phone and had the account locked; she comes back and it is opened again at the desk:
    # the same account, not a second registration, and not a citizen due again.
    eid.eid_account_lock(
        actor=Actor(personas.lan),
        account=EidAccount.objects.get(citizen=people["Trần Thị Bình"]),
        reason=EidAccount.LockReason.REQUEST,
    )
    register(personas.lan, people["Trần Thị Bình"])

    province = api(personas.cuong)
    before_recount = registered_in(
        province.get(f"/api/v1/campaigns/{campaign.pk}/figures/01").json(), HOAN_KIEM
    )
    count_population(personas)  # the next count: only Còn is still due
    after_recount = registered_in(
        province.get(f"/api/v1/campaigns/{campaign.pk}/figures/01").json(), HOAN_KIEM
    )

    for figures in (before_recount, after_recount):
        assert (figures["achieved"], figures["target"], figures["met"]) == (3, 4, False)
        assert figures["pct"] == pytest.approx(75.0)
    commune = api(personas.lan).get(f"/api/v1/campaigns/{campaign.pk}/figures/{HOAN_KIEM}").json()
    own = next(m for m in commune["metrics"] if m["code"] == "eid_registered")
    assert (own["achieved"], own["target"], own["met"]) == (3, 4, False)

    # The last one registered: the commune has met its target, at 100%, not beyond.
    register(personas.lan, people["Trần Văn Còn"])
    count_population(personas)
    done = registered_in(province.get(f"/api/v1/campaigns/{campaign.pk}/figures/01").json(), HOAN_KIEM)
    assert (done["achieved"], done["target"], done["met"], done["pct"]) == (4, 4, True, 100.0)


def activation_campaign(personas: Personas) -> Campaign:
    ensure_builtin_metrics()
    ensure_eid_metrics()
    today = timezone.localdate()
    return services.campaign_create(
        actor=Actor(personas.minh),
        name="Kích hoạt định danh điện tử tuần này",
        starts_on=today - timedelta(days=3),
        ends_on=today + timedelta(days=3),
        metrics=[
            services.MetricChoice(Metric.objects.get(code="eid_registered")),
            services.MetricChoice(Metric.objects.get(code="eid_activated")),
        ],
    )


def test_an_account_activated_again_after_it_was_reopened_counts_once(
    personas: Personas, delivered: Card
) -> None:
    """Activated accounts are accounts: one locked and opened again is the same account, and counting its
    second activation made a commune's activated accounts outnumber those it registered."""
    campaign = activation_campaign(personas)
    hung = delivered.citizen
    eid.eid_account_activate(pin=hung.pin, code=register(personas.lan, hung), password=CITIZEN_PASSWORD)
    eid.eid_account_lock(
        actor=Actor(personas.lan),
        account=EidAccount.objects.get(citizen=hung),
        reason=EidAccount.LockReason.REQUEST,
    )
    eid.eid_account_activate(
        pin=hung.pin, code=register(personas.lan, hung), password=CITIZEN_PASSWORD + "-moi"
    )

    body = api(personas.cuong).get(f"/api/v1/campaigns/{campaign.pk}/figures/01").json()
    achieved = {m["code"]: m["achieved"] for m in body["metrics"]}
    assert achieved == {"eid_registered": 1, "eid_activated": 1}
    activated = next(m for m in body["metrics"] if m["code"] == "eid_activated")
    assert {u["code"]: u["achieved"] for u in activated["units"]}[HOAN_KIEM] == 1
    # The count from the whole trail agrees with the tallies the page reads.
    from dancu.campaigns import tally

    metric = Metric.objects.get(code="eid_activated")
    assert sum(tally.count_from_scratch(metric).commune.values()) == 1


def test_a_commune_leader_reads_only_their_communes_e_id_figures(
    personas: Personas, delivered: Card, sign_in: SignIn
) -> None:
    campaign = eid_campaign(personas)
    register(personas.lan, delivered.citizen)
    lan = api(personas.lan)
    assert lan.get(f"/api/v1/campaigns/{campaign.pk}/figures/{HOAN_KIEM}").status_code == 200
    for scope in (HONG_HA, "01", "vn"):
        assert lan.get(f"/api/v1/campaigns/{campaign.pk}/figures/{scope}").status_code == 404
    page = sign_in(Client(), personas.binh)
    assert page.get(f"/campaigns/{campaign.pk}/{HOAN_KIEM}/").status_code == 404
    assert page.get(f"/campaigns/{campaign.pk}/{HOAN_KIEM}/export.xlsx").status_code == 404


def test_the_english_pdf_names_the_period_and_the_e_id_ranking_in_english(
    personas: Personas, delivered: Card, sign_in: SignIn
) -> None:
    """The period line and the ranking's title were built inside f-strings, where makemessages does not
    look: the English report read "Số liệu từ ngày … to …" and "Xếp hạng: Level-2 e-ID accounts
    registered"."""
    campaign = eid_campaign(personas)
    count_population(personas)
    register(personas.lan, delivered.citizen)
    client = sign_in(Client(), personas.cuong)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    text = _pdf_text(client.get(f"/campaigns/{campaign.pk}/01/export.pdf").content)
    assert "Ranking: Level-2 e-ID accounts registered" in text
    assert "Figures from" in text
    assert "Số liệu" not in text
    assert "Xếp hạng" not in text

    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    text = _pdf_text(client.get(f"/campaigns/{campaign.pk}/01/export.pdf").content)
    assert "Số liệu từ ngày" in text
    assert "Xếp hạng: Tài khoản định danh" in text
