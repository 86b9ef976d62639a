"""e-ID accounts in the campaigns: level-2 registrations counted in the citizen's commune, and the
citizens who could have an account and have none as the eligible population (migration 0006)."""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from dancu.accounts.models import User
from dancu.accounts.services import officer_create
from dancu.audit.services import Actor
from dancu.campaigns import population, services, tally
from dancu.campaigns.models import Campaign, CommuneTally, Metric, PopulationTally, TallyMark
from dancu.cards import services as cards_services
from dancu.cards.models import Card, IntakeDevice, IntakePoint
from dancu.eid import services as eid
from dancu.eid.models import EidAccount
from dancu.lib.errors import DomainError
from dancu.registry import services as registry
from dancu.registry.models import Citizen
from tests.campaigns.conftest import ensure_builtin_metrics
from tests.campaigns.test_api import api
from tests.cards import conftest as cards
from tests.conftest import HOAN_KIEM, HONG_HA, PASSWORD, SYSTEM, Personas, make_citizen
from tests.eid.conftest import CITIZEN_PASSWORD
from tests.registry.merge_support import reviewer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_issuer_keys")]
SignIn = Callable[[Client, User], Client]

# The cards tests' own set-up: a station of Phường Hoàn Kiếm with its device, and Hùng's delivered card.
_issuer_keys = cards._issuer_keys
station = cards.station
device = cards.device
delivered = cards.delivered

MIGRATION = "dancu.campaigns.migrations.0006_eid_metrics"


def ensure_eid_metrics() -> None:
    """The metrics migration 0006 creates, again (a transactional test elsewhere empties every table)."""
    importlib.import_module(MIGRATION).create(django_apps, None)


def eid_campaign(personas: Personas) -> Campaign:
    ensure_builtin_metrics()
    ensure_eid_metrics()
    today = timezone.localdate()
    return services.campaign_create(
        actor=Actor(personas.minh),
        name="Đăng ký định danh điện tử tuần này",
        starts_on=today - timedelta(days=3),
        ends_on=today + timedelta(days=3),
        metrics=[
            services.MetricChoice(
                Metric.objects.get(code="eid_registered"), Metric.objects.get(code="due_for_eid")
            )
        ],
    )


def register(officer: User, citizen: Citizen) -> str:
    """The officer registers the citizen's level-2 account at the desk; the activation code."""
    _account, code = eid.eid_account_register(actor=Actor(officer), citizen=citizen, identity_checked=True)
    return code


def card_for(
    personas: Personas, citizen: Citizen, station: IntakePoint, device: IntakeDevice, serial: str
) -> Card:
    """The citizen's card, taken at the Hoàn Kiếm station, produced and handed to them. A child's card is
    asked for by a parent (the intake is dated months back, when the youngest were 13)."""
    parent = "Lê Văn Bố" if citizen.birth_date.earliest().year > 2005 else ""
    application = cards.take(personas.lan, citizen, station, device, representative=parent)
    card = cards.produce(personas, application, serial)
    cards_services.application_deliver(
        actor=Actor(personas.lan), application=card.application, received_by=citizen.full_name
    )
    return card


def test_a_registration_counts_once_in_the_citizens_commune_on_the_page_the_api_and_the_workbook(
    personas: Personas, delivered: Card, sign_in: SignIn
) -> None:
    campaign = eid_campaign(personas)
    hung = delivered.citizen
    register(personas.lan, hung)
    # The slip was lost: Lan registers him again, which gives the same account a new code. One account,
    # one registration; and his activation is not a registration either.
    code = register(personas.lan, hung)
    eid.eid_account_activate(pin=hung.pin, code=code, password=CITIZEN_PASSWORD)

    body = api(personas.cuong).get(f"/api/v1/campaigns/{campaign.pk}/figures/01").json()
    registered = body["metrics"][0]
    assert (registered["code"], registered["achieved"]) == ("eid_registered", 1)
    by_unit = {unit["code"]: unit["achieved"] for unit in registered["units"]}
    assert (by_unit[HOAN_KIEM], by_unit[HONG_HA]) == (1, 0)

    html = sign_in(Client(), personas.lan).get(f"/campaigns/{campaign.pk}/{HOAN_KIEM}/").content.decode()
    assert "Tài khoản định danh điện tử mức độ 2 đã đăng ký" in html
    assert 'data-stat="achieved">1<' in html
    html = sign_in(Client(), personas.binh).get(f"/campaigns/{campaign.pk}/{HONG_HA}/").content.decode()
    assert 'data-stat="achieved">0<' in html

    response = sign_in(Client(), personas.cuong).get(f"/campaigns/{campaign.pk}/01/export.xlsx")
    book = load_workbook(io.BytesIO(response.content))
    ranking = [[c.value for c in row] for row in book["eid_registered"].iter_rows(min_row=2)]
    assert [(r[2], r[3]) for r in ranking if r[3]] == [("Phường Hoàn Kiếm", 1)]


def test_an_activation_counts_in_the_citizens_commune_when_the_citizen_activates(
    personas: Personas, delivered: Card
) -> None:
    ensure_builtin_metrics()
    ensure_eid_metrics()
    today = timezone.localdate()
    campaign = services.campaign_create(
        actor=Actor(personas.minh),
        name="Kích hoạt định danh điện tử",
        starts_on=today - timedelta(days=3),
        ends_on=today + timedelta(days=3),
        metrics=[services.MetricChoice(Metric.objects.get(code="eid_activated"))],
    )
    hung = delivered.citizen

    def activated() -> dict[str, int]:
        body = api(personas.cuong).get(f"/api/v1/campaigns/{campaign.pk}/figures/01").json()
        return {unit["code"]: unit["achieved"] for unit in body["metrics"][0]["units"]}

    code = register(personas.lan, hung)
    assert activated()[HOAN_KIEM] == 0  # registered at the desk, not yet activated
    eid.eid_account_activate(pin=hung.pin, code=code, password=CITIZEN_PASSWORD)
    by_unit = activated()
    assert (by_unit[HOAN_KIEM], by_unit[HONG_HA]) == (1, 0)


def test_registrations_made_before_the_migration_are_counted_when_it_runs(
    personas: Personas, delivered: Card
) -> None:
    """On a database whose tallies already run, the mark has passed the registrations made so far: the
    migration counts them, or the new metric would start from zero."""
    ensure_eid_metrics()
    register(personas.lan, delivered.citizen)
    Metric.objects.filter(code="eid_registered").delete()  # as before the migration
    tally.tally_catch_up()
    assert TallyMark.objects.get(pk=1).last_event_id > 0

    ensure_eid_metrics()

    metric = Metric.objects.get(code="eid_registered")
    tallied = CommuneTally.objects.filter(metric=metric).values_list("commune__code", "count")
    assert list(tallied) == [(HOAN_KIEM, 1)]
    from_scratch = tally.count_from_scratch(metric).commune
    assert dict(from_scratch) == {
        (row.metric_id, row.province_id, row.commune_id, row.day): row.count
        for row in CommuneTally.objects.filter(metric=metric)
    }
    # The next catch-up carries on from the mark and counts nothing twice.
    tally.tally_catch_up()
    assert list(CommuneTally.objects.filter(metric=metric).values_list("count", flat=True)) == [1]


def test_undoing_the_migration_keeps_the_metrics_a_campaign_follows(personas: Personas) -> None:
    eid_campaign(personas)
    importlib.import_module(MIGRATION).remove(django_apps, None)
    codes = ["eid_registered", "eid_activated", "due_for_eid"]
    # The campaign follows registrations against the population; activations go.
    assert set(Metric.objects.filter(code__in=codes).values_list("code", flat=True)) == {
        "eid_registered",
        "due_for_eid",
    }
    Campaign.objects.all().delete()
    importlib.import_module(MIGRATION).remove(django_apps, None)
    assert not Metric.objects.filter(code__in=codes).exists()


def test_the_population_is_the_citizens_registration_would_accept(
    personas: Personas, delivered: Card, station: IntakePoint, device: IntakeDevice
) -> None:
    today = timezone.localdate()
    try:
        fourteen_today = today.replace(year=today.year - 14)
    except ValueError:  # 29 February: born on the 28th, 14 years back, is 14 today
        fourteen_today = today.replace(year=today.year - 14, day=28)
    hung = delivered.citizen  # an adult with his card: counted
    people: dict[str, Citizen] = {}
    serial = iter(range(2, 100))

    def holder(name: str, birth_date: str = "1990-05-17") -> Citizen:
        citizen = make_citizen(full_name=name, birth_date=birth_date)
        card_for(personas, citizen, station, device, f"VN{next(serial):08d}")
        people[name] = citizen
        return citizen

    holder("Lê Văn Tròn", fourteen_today.isoformat())  # 14 today: counted
    holder("Lê Thị Non", (fourteen_today + timedelta(days=1)).isoformat())  # 13, turns 14 tomorrow
    # Born "<year>": on any day but 31 December they might still be 13, so the strict reading leaves
    # them out.
    holder("Lê Văn Năm", str(today.year - 14))
    people["Lê Văn Thiếu"] = make_citizen(full_name="Lê Văn Thiếu")  # no card
    expired = holder("Lê Thị Hạn")
    # A card issued years ago whose printed expiry passed yesterday; the daily job that marks it expired
    # has not run yet, so only its date tells.
    Card.objects.filter(citizen=expired).update(
        issued_on=today - timedelta(days=15 * 365), expires_on=today - timedelta(days=1)
    )
    died = holder("Lê Văn Mất")
    registry.citizen_update(
        actor=SYSTEM,
        citizen=died,
        changes={"date_of_death": (today - timedelta(days=2)).isoformat()},
        reason="Giấy chứng tử",
        source_document="GCT 1",
    )
    duplicate = make_citizen(full_name="Nguyen Van Hung")
    registry.citizen_merge(
        actor=Actor(reviewer()), keep=hung, absorb=duplicate, reason="Cùng một người", source_document="BB 1"
    )
    register(personas.lan, holder("Lê Thị Chờ"))  # registered, not yet activated
    code = register(personas.lan, holder("Lê Văn Dùng"))
    eid.eid_account_activate(pin=people["Lê Văn Dùng"].pin, code=code, password=CITIZEN_PASSWORD)
    register(personas.lan, holder("Lê Thị Khoá"))
    eid.eid_account_lock(
        actor=Actor(personas.lan),
        account=EidAccount.objects.get(citizen=people["Lê Thị Khoá"]),
        reason=EidAccount.LockReason.REQUEST,
    )

    # An officer's account named with a PIN: registration refuses the citizen of that PIN, so no commune
    # could bring them in.
    named = holder("Lê Văn Trùng")
    officer_create(
        actor=SYSTEM,
        username=named.pin,
        password=PASSWORD,
        role=User.Role.COLLECTOR,
        police_unit=personas.lan.police_unit,
        full_name="Lê Văn Trùng",
    )
    with pytest.raises(DomainError) as refused:
        register(personas.lan, named)
    assert {e.code for e in refused.value.errors} == {"eid.account_exists"}

    # The young ones hold a card valid today: the age alone leaves them out.
    young = [people[name] for name in ("Lê Văn Tròn", "Lê Thị Non", "Lê Văn Năm")]
    assert Card.objects.valid_on(today).filter(citizen__in=young).count() == len(young)
    expected = {"Nguyễn Văn Hùng", "Lê Văn Tròn"}
    if (today.month, today.day) == (12, 31):
        expected.add("Lê Văn Năm")  # born in the year 14 years back: certainly 14 on its last day
    assert set(population.due_for_eid(today).values_list("full_name", flat=True)) == expected

    # The stored count is per commune: Hoàn Kiếm's, and nothing in another commune.
    ensure_eid_metrics()
    metric = Metric.objects.get(code="due_for_eid")
    assert services.population_count(actor=Actor(personas.minh), metric=metric, as_of=today) == len(expected)
    stored = PopulationTally.objects.filter(metric=metric).values_list("commune__code", "count")
    assert list(stored) == [(HOAN_KIEM, len(expected))]


def test_undoing_the_built_in_metrics_keeps_those_a_campaign_follows(personas: Personas) -> None:
    """Migrating back past 0002 failed on a reverse relation the metric does not have."""
    ensure_builtin_metrics()
    today = timezone.localdate()
    services.campaign_create(
        actor=Actor(personas.minh),
        name="Cấp căn cước tuần này",
        starts_on=today,
        ends_on=today + timedelta(days=3),
        metrics=[
            services.MetricChoice(
                Metric.objects.get(code="cards_taken"), Metric.objects.get(code="due_for_card")
            )
        ],
    )
    importlib.import_module("dancu.campaigns.migrations.0002_builtin_metrics").remove(django_apps, None)
    built_in = ["forms_collected", "forms_approved", "records_cleaned", "cards_taken", "cards_delivered"]
    built_in += ["residents", "due_for_card"]
    assert set(Metric.objects.filter(code__in=built_in).values_list("code", flat=True)) == {
        "cards_taken",
        "due_for_card",
    }
