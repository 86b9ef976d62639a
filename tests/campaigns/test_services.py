"""Targets set top-down and revised with their history; who may set what; bad input refused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.campaigns import services
from dancu.campaigns.models import Campaign, Metric, PopulationTally, Target, TargetRevision
from dancu.campaigns.population import born_on_or_before
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry import services as registry
from dancu.registry.models import Citizen
from tests.campaigns.conftest import Country
from tests.conftest import Personas, make_citizen
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db


def test_a_revision_keeps_the_old_figures_who_when_and_why(country: Country, personas: Personas) -> None:
    target = Target.objects.get(campaign_metric=country.cards, unit=country.hong_ha)
    assert (target.total, target.set_by) == (3, personas.cuong)
    history = list(target.revisions.values_list("old_total", "new_total", "revised_by__username", "reason"))
    assert history == [
        (None, 5, "cuong", "Giao xã"),
        (5, 3, "cuong", "Phường ít dân hơn dự kiến"),
    ]
    event = AuditEvent.objects.filter(event_type=EventType.TARGET_SET, unit=country.hong_ha).latest("pk")
    assert event.data["old"] == {"total": 5, "per_day": None}
    assert event.data["new"] == {"total": 3, "per_day": None}
    assert event.reason == "Phường ít dân hơn dự kiến"


def test_targets_go_down_the_chain_of_command(country: Country, personas: Personas) -> None:
    def set_by(user, unit):  # type: ignore[no-untyped-def]
        return services.target_set(
            actor=Actor(user), campaign_metric=country.cards, unit=unit, total=1, per_day=None, reason="thử"
        )

    # A province police divides its own target, not its province's, and never another province's communes.
    with pytest.raises(DomainError) as refused:
        set_by(personas.cuong, country.hanoi)
    assert refused.value.errors[0].code == "target.not_your_level"
    with pytest.raises(NotFoundError):
        set_by(personas.cuong, country.sai_gon)
    # A commune police sets no target, not even its own.
    with pytest.raises(DomainError):
        set_by(personas.lan, country.hoan_kiem)
    with pytest.raises(NotFoundError):
        set_by(personas.lan, country.hong_ha)
    # The ministry sets the country and the provinces, not the communes (that is the province's work).
    with pytest.raises(DomainError):
        set_by(personas.minh, country.hoan_kiem)
    assert set_by(personas.minh, country.hcm).total == 1
    # A legacy unit takes no target: targets are given to 2025 units.
    with pytest.raises(NotFoundError):
        set_by(personas.minh, country.duong_lieu_legacy)
    assert TargetRevision.objects.filter(target__unit=country.hcm).count() == 2


def test_bad_target_figures_name_the_field(country: Country, personas: Personas) -> None:
    with pytest.raises(DomainError) as refused:
        services.target_set(
            actor=Actor(personas.minh),
            campaign_metric=country.cards,
            unit=country.hcm,
            total=-1,
            per_day=None,
            reason=" ",
        )
    assert {(e.field, e.code) for e in refused.value.errors} == {
        ("total", "target.out_of_range"),
        ("reason", "target.reason_required"),
    }
    with pytest.raises(DomainError) as refused:
        services.target_set(
            actor=Actor(personas.minh),
            campaign_metric=country.cards,
            unit=country.hcm,
            total=None,
            per_day=None,
            reason="x",
        )
    assert refused.value.errors[0].code == "target.figure_required"
    assert Target.objects.get(campaign_metric=country.cards, unit=country.hcm).per_day == 2


def test_only_the_ministry_defines_metrics_and_campaigns(personas: Personas) -> None:
    taken = Metric.objects.get(code="cards_taken")
    with pytest.raises(DomainError) as refused:
        services.campaign_create(
            actor=Actor(personas.cuong),
            name="Đợt của tỉnh",
            starts_on=date(2025, 7, 1),
            ends_on=date(2025, 7, 2),
            metrics=[services.MetricChoice(taken)],
        )
    assert refused.value.errors[0].code == "campaigns.ministry_only"
    with pytest.raises(DomainError):
        services.metric_create(
            actor=Actor(personas.cuong), code="x1", name="x", name_en="x", event_types=["a.b.c"]
        )
    assert not Campaign.objects.exists()


def test_bad_campaigns_and_metrics_are_refused_field_by_field(personas: Personas) -> None:
    minh = Actor(personas.minh)
    residents = Metric.objects.get(code="residents")
    metrics_before = Metric.objects.count()
    with pytest.raises(DomainError) as refused:
        services.campaign_create(
            actor=minh,
            name="",
            starts_on=date(2025, 7, 2),
            ends_on=date(2025, 7, 1),
            metrics=[services.MetricChoice(residents)],
        )
    assert {e.code for e in refused.value.errors} == {
        "campaign.name_required",
        "campaign.ends_before_start",
        "campaign.metric_invalid",
    }
    with pytest.raises(DomainError) as refused:
        services.metric_create(
            actor=minh,
            code="Cards Taken!",
            name="",
            name_en="x",
            event_types=["DROP TABLE;"],
            data_filter={"shift": [{"$gt": ""}]},
        )
    assert {e.code for e in refused.value.errors} == {
        "metric.code_invalid",
        "metric.name_required",
        "metric.event_type_invalid",
        "metric.data_filter_invalid",
    }
    with pytest.raises(DomainError) as refused:
        services.metric_create(actor=minh, code="cards_taken", name="x", name_en="x", event_types=[])
    assert {e.code for e in refused.value.errors} == {"metric.code_taken", "metric.event_types_required"}
    # Nothing was created by the refused calls.
    assert Metric.objects.count() == metrics_before


def test_campaign_days_lie_between_2000_and_ten_years_ahead(personas: Personas) -> None:
    taken = services.MetricChoice(Metric.objects.get(code="cards_taken"))
    latest = date(timezone.localdate().year + 10, 12, 31)

    def create(starts_on: date, ends_on: date) -> Campaign:
        # A name per campaign: two campaigns may not share one (test_review_s26_names).
        return services.campaign_create(
            actor=Actor(personas.minh),
            name=f"Đợt từ {starts_on.isoformat()}",
            starts_on=starts_on,
            ends_on=ends_on,
            metrics=[taken],
        )

    for starts_on, ends_on, fields in (
        (date(1, 1, 1), date(1, 1, 2), {"starts_on", "ends_on"}),
        (date(1999, 12, 31), date(2000, 1, 31), {"starts_on"}),
        (latest, latest + timedelta(days=1), {"ends_on"}),
        (date(9999, 12, 30), date(9999, 12, 31), {"starts_on", "ends_on"}),
    ):
        with pytest.raises(DomainError) as refused:
            create(starts_on, ends_on)
        assert {(e.field, e.code) for e in refused.value.errors} == {
            (field, "campaign.date_range") for field in fields
        }
    assert not Campaign.objects.exists()
    assert create(date(2000, 1, 1), date(2000, 1, 2)).starts_on == date(2000, 1, 1)
    assert create(latest - timedelta(days=1), latest).ends_on == latest


def test_eligible_population_is_14_or_older_without_a_valid_chip_card(personas: Personas) -> None:
    as_of = date(2025, 7, 1)
    make_citizen(full_name="Người Đủ Tuổi", birth_date="2011-07-01")  # 14 today
    make_citizen(full_name="Người Chưa Đủ", birth_date="2011-07-02")
    make_citizen(full_name="Năm Sinh Mơ Hồ", birth_date="2011")  # may not be 14 yet
    make_citizen(full_name="Tháng Sinh Sớm", birth_date="2011-06")  # surely 14
    make_citizen(full_name="Tháng Sinh Này", birth_date="2011-07")  # may not be 14 yet
    carded = make_citizen(full_name="Đã Có Thẻ", birth_date="1980-01-01")
    carded.card_records.create(
        kind="cccd",
        number=carded.pin,
        issued_on=date(2021, 1, 1),
        issued_by="C06",
        expires_on=date(2045, 1, 1),
    )
    expired = make_citizen(full_name="Thẻ Hết Hạn", birth_date="1980-01-02")
    expired.card_records.create(
        kind="cccd",
        number=expired.pin,
        issued_on=date(2000, 1, 1),
        issued_by="C06",
        expires_on=date(2020, 1, 1),
    )
    old_id = make_citizen(full_name="Chỉ Có CMND", birth_date="1980-01-03")
    old_id.card_records.create(
        kind="cmnd",
        number="123456789",
        issued_on=date(2000, 1, 1),
        issued_by="CA",
        expires_on=date(2030, 1, 1),
    )

    aged = set(
        Citizen.objects.filter(born_on_or_before(date(2011, 7, 1))).values_list("full_name", flat=True)
    )
    assert {"Người Đủ Tuổi", "Tháng Sinh Sớm"} <= aged
    assert not aged & {"Người Chưa Đủ", "Năm Sinh Mơ Hồ", "Tháng Sinh Này"}

    due = Metric.objects.get(code="due_for_card")
    total = services.population_count(actor=Actor(personas.minh), metric=due, as_of=as_of)
    # Người Đủ Tuổi, Tháng Sinh Sớm, Thẻ Hết Hạn, Chỉ Có CMND: all in Hoàn Kiếm.
    assert total == 4
    assert PopulationTally.objects.get(metric=due).count == 4


def test_a_record_merged_away_and_a_missing_citizen_are_not_counted(personas: Personas) -> None:
    as_of = date(2025, 7, 1)
    kept = make_citizen(full_name="Nguyễn Văn Giữ", birth_date="1980-01-01")
    kept.card_records.create(
        kind="cccd", number=kept.pin, issued_on=date(2021, 1, 1), issued_by="C06", expires_on=date(2045, 1, 1)
    )
    duplicate = make_citizen(full_name="Nguyễn Văn Giữ", birth_date="1980-01-01")
    missing = make_citizen(full_name="Người Mất Tích", birth_date="1980-01-02")
    Citizen.objects.filter(pk=missing.pk).update(missing_declared_on=date(2024, 1, 1))
    registry.citizen_merge(
        actor=Actor(reviewer()), keep=kept, absorb=duplicate, reason="Trùng hồ sơ", source_document="BB 1"
    )
    minh = Actor(personas.minh)
    residents = services.population_count(
        actor=minh, metric=Metric.objects.get(code="residents"), as_of=as_of
    )
    due = services.population_count(actor=minh, metric=Metric.objects.get(code="due_for_card"), as_of=as_of)
    # The kept record (carded) and the missing citizen live in Hoàn Kiếm; the duplicate is the kept
    # record's person again, and the missing citizen cannot be brought in for a card.
    assert (residents, due) == (2, 0)


def test_a_population_metric_is_counted_as_soon_as_it_is_defined(personas: Personas) -> None:
    """Its figures can be followed from the moment it exists: the registry is counted per commune at once."""
    make_citizen(full_name="Nguyễn Văn Một")
    make_citizen(full_name="Nguyễn Văn Hai")

    metric = services.metric_create(
        actor=Actor(personas.minh),
        code="residents_again",
        name="Dân số (đếm lại)",
        name_en="Residents (counted again)",
        population_rule="residents",
        as_of=date(2025, 7, 1),
    )

    assert (metric.kind, metric.event_types, metric.population_rule) == ("population", [], "residents")
    assert list(PopulationTally.objects.filter(metric=metric).values_list("commune__code", "count")) == [
        ("00070", 2)
    ]
    created, counted = AuditEvent.objects.filter(subject_type="metric", subject_id=str(metric.pk)).order_by(
        "pk"
    )
    assert (created.event_type, counted.event_type) == (
        EventType.METRIC_CREATED,
        EventType.POPULATION_COUNTED,
    )
    assert counted.data == {"code": "residents_again", "as_of": "2025-07-01", "total": 2, "communes": 1}


def test_only_a_population_metric_is_counted_from_the_registry(personas: Personas) -> None:
    taken = Metric.objects.get(code="cards_taken")
    before = AuditEvent.objects.count()

    with pytest.raises(ValueError, match="cards_taken is not a population metric"):
        services.population_count(actor=Actor(personas.minh), metric=taken, as_of=date(2025, 7, 1))

    assert not PopulationTally.objects.filter(metric=taken).exists()
    assert AuditEvent.objects.count() == before


def test_a_system_job_defines_no_metric_campaign_or_target(country: Country) -> None:
    """Metrics, campaigns and targets are an officer's decisions: a job without an account is refused."""
    job = Actor(system="nightly")
    before = AuditEvent.objects.count()
    attempts = (
        lambda: services.metric_create(actor=job, code="x1", name="x", name_en="x", event_types=["a.b.c"]),
        lambda: services.campaign_create(
            actor=job,
            name="Đợt",
            starts_on=date(2025, 7, 1),
            ends_on=date(2025, 7, 2),
            metrics=[services.MetricChoice(Metric.objects.get(code="cards_taken"))],
        ),
        lambda: services.target_set(
            actor=job, campaign_metric=country.cards, unit=None, total=1, per_day=None, reason="x"
        ),
    )
    for attempt in attempts:
        with pytest.raises(DomainError) as refused:
            attempt()
        assert [(e.field, e.code) for e in refused.value.errors] == [("actor", "actor.officer_required")]

    assert AuditEvent.objects.count() == before
    assert Target.objects.get(campaign_metric=country.cards, unit=None).total == 20


@pytest.mark.parametrize(
    "data_filter",
    [["intake_point"], "intake_point=Điểm UBND phường", {"": "x"}, {"shift": []}],
    ids=["list", "text", "empty key", "no value"],
)
def test_a_metric_filter_is_keys_with_values(personas: Personas, data_filter: object) -> None:
    with pytest.raises(DomainError) as refused:
        services.metric_create(
            actor=Actor(personas.minh),
            code="filtered",
            name="Có lọc",
            name_en="Filtered",
            event_types=["cards.application.taken"],
            data_filter=data_filter,  # type: ignore[arg-type]
        )

    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("data_filter", "metric.data_filter_invalid")
    ]
    assert not Metric.objects.filter(code="filtered").exists()


@pytest.mark.parametrize("name_en", ["", "   ", "x" * 121])
def test_a_metric_needs_an_english_name(personas: Personas, name_en: str) -> None:
    with pytest.raises(DomainError) as refused:
        services.metric_create(
            actor=Actor(personas.minh),
            code="unnamed",
            name="Chỉ số",
            name_en=name_en,
            event_types=["cards.application.taken"],
        )

    assert [(e.field, e.code) for e in refused.value.errors] == [("name_en", "metric.name_required")]
    assert refused.value.errors[0].message("en") == "An English name of at most 120 characters"
    assert not Metric.objects.filter(code="unnamed").exists()


def test_a_campaign_follows_one_to_three_years_of_event_metrics_over_population_ones(
    personas: Personas,
) -> None:
    minh = Actor(personas.minh)
    taken = Metric.objects.get(code="cards_taken")
    forms = Metric.objects.get(code="forms_collected")
    start = date(2025, 7, 1)

    def refusals(ends_on: date, metrics: list[services.MetricChoice]) -> list[tuple[str, str]]:
        with pytest.raises(DomainError) as refused:
            services.campaign_create(
                actor=minh, name="Đợt", starts_on=start, ends_on=ends_on, metrics=metrics
            )
        return [(e.field, e.code) for e in refused.value.errors]

    # 3 × 366 days from the first day is one day too many; a day less is the longest campaign.
    too_long = start + timedelta(days=services.MAX_DAYS)
    assert refusals(too_long, [services.MetricChoice(taken)]) == [("ends_on", "campaign.too_long")]
    assert refusals(date(2025, 7, 2), []) == [("metrics", "campaign.metrics_required")]
    # A denominator is an eligible population: an event count is no population to divide by.
    assert refusals(date(2025, 7, 2), [services.MetricChoice(taken, forms)]) == [
        ("metrics", "campaign.denominator_invalid")
    ]
    assert not Campaign.objects.exists()
    longest = services.campaign_create(
        actor=minh,
        name="Đợt dài nhất",
        starts_on=start,
        ends_on=too_long - timedelta(days=1),
        metrics=[services.MetricChoice(taken)],
    )
    assert longest.ends_on == date(2028, 7, 2)


def test_a_target_reason_is_at_most_1000_characters(country: Country, personas: Personas) -> None:
    before = TargetRevision.objects.count()

    with pytest.raises(DomainError) as refused:
        services.target_set(
            actor=Actor(personas.minh),
            campaign_metric=country.cards,
            unit=country.hcm,
            total=5,
            per_day=None,
            reason="x" * 1001,
        )

    assert [(e.field, e.code) for e in refused.value.errors] == [("reason", "target.reason_too_long")]
    assert TargetRevision.objects.count() == before
    target = Target.objects.get(campaign_metric=country.cards, unit=country.hcm)
    assert (target.total, target.per_day) == (None, 2)
