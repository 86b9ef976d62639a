"""Writes of the campaigns app: metrics, campaigns, targets (with their history), populations, reports.

Who may do what follows the chain of command of Project 06: the ministry (C06) defines metrics and
campaigns and gives each province its target; a province police (PC06) divides its target among its
communes. A unit outside the officer's area is refused exactly like a unit that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.selectors import unit_in_area
from dancu.audit.models import EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.campaigns import population, tally
from dancu.campaigns.models import (
    Campaign,
    CampaignMetric,
    DailyReport,
    Metric,
    PopulationTally,
    Target,
    TargetRevision,
)
from dancu.geo.models import AdminUnit
from dancu.lib.errors import DomainError, FieldError, NotFoundError
from dancu.lib.numbers import format_int
from dancu.lib.vntext import text_errors

EVENT_TYPE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+){2}$")
CODE = re.compile(r"^[a-z0-9_-]{2,40}$")
MAX_TARGET = 10**12
# The fields' names as the pages show them, for the refusals of lib.vntext.text_errors: "Trường «name»"
# named the form's code, not the field the leader sees.
_CAMPAIGN_NAME = ("Tên chiến dịch", "Campaign name")
_TARGET_REASON = ("Lý do giao, điều chỉnh", "Reason for setting or revising")
MAX_DAYS = 3 * 366
# A campaign counts the audit trail, which no year before 2000 holds, and is planned a few years ahead at
# most: days outside these bounds (0001, 9999) are typing mistakes that would still be listed to every
# officer.
FIRST_CAMPAIGN_DAY = date(2000, 1, 1)
YEARS_AHEAD = 10


def _user(actor: Actor) -> User:
    if actor.user is None:
        raise DomainError(
            FieldError("actor", "actor.officer_required", "Cần cán bộ thực hiện", "An officer is required")
        )
    return actor.user


def _is_ministry_admin(user: User) -> bool:
    unit = user.police_unit
    return (
        user.is_active
        and user.role == User.Role.MINISTRY_ADMIN
        and unit is not None
        and unit.level == PoliceUnit.Level.MINISTRY
    )


def _require_ministry(user: User) -> None:
    if not _is_ministry_admin(user):
        raise DomainError(
            FieldError(
                "actor",
                "campaigns.ministry_only",
                "Chỉ cán bộ quản trị cấp Bộ được thực hiện",
                "Only a ministry administrator may do this",
            )
        )


def _normalized_filter(data_filter: Any) -> dict[str, list[str]]:
    if data_filter in (None, ""):
        return {}
    problem = FieldError(
        "data_filter",
        "metric.data_filter_invalid",
        "Bộ lọc phải là các cặp khoá: giá trị (hoặc danh sách giá trị) dạng chữ",
        "The filter must map keys to a text value or a list of text values",
    )
    if not isinstance(data_filter, dict):
        raise DomainError(problem)
    normalized: dict[str, list[str]] = {}
    for key, value in data_filter.items():
        values = value if isinstance(value, list) else [value]
        if not isinstance(key, str) or not key or not values:
            raise DomainError(problem)
        if any(not isinstance(v, str | int) or isinstance(v, bool) for v in values):
            raise DomainError(problem)
        # Keys and values are stored as JSON and compared with the events' data: text a registry field
        # could hold (no NUL, which PostgreSQL refuses in JSON, no control characters, no markup).
        text_problems = [
            error
            for text in (key, *(str(v) for v in values))
            for error in text_errors(
                text, field="data_filter", max_length=200, prose=True, label=("Bộ lọc dữ liệu", "Data filter")
            )
        ]
        if text_problems:
            raise DomainError(text_problems[0])
        normalized[key] = [str(v) for v in values]
    return normalized


def metric_create(
    *,
    actor: Actor,
    code: str,
    name: str,
    name_en: str,
    event_types: Sequence[str] = (),
    data_filter: dict[str, Any] | None = None,
    population_rule: str = "",
    as_of: date | None = None,
) -> Metric:
    """A new metric: a count over audit events, or a population rule. Its figures are counted at once
    (the trail so far, or the registry today), so that it can be followed from the moment it exists."""
    user = _user(actor)
    _require_ministry(user)
    errors = []
    code, name, name_en = code.strip(), name.strip(), name_en.strip()
    if not CODE.match(code):
        errors.append(
            FieldError(
                "code",
                "metric.code_invalid",
                "Mã gồm 2-40 chữ thường, số, - hoặc _",
                "Code: 2-40 of a-z, 0-9, - or _",
            )
        )
    elif Metric.objects.filter(code=code).exists():
        errors.append(
            FieldError("code", "metric.code_taken", "Mã chỉ số đã tồn tại", "This metric code is taken")
        )
    if not name or len(name) > 120:
        errors.append(
            FieldError(
                "name",
                "metric.name_required",
                "Cần tên (tối đa 120 ký tự)",
                "A name of at most 120 characters",
            )
        )
    else:
        errors += text_errors(
            name, field="name", max_length=120, prose=True, label=("Tên chỉ số", "Metric name")
        )
    if not name_en or len(name_en) > 120:
        errors.append(
            FieldError(
                "name_en",
                "metric.name_required",
                "Cần tên tiếng Anh (tối đa 120 ký tự)",
                "An English name of at most 120 characters",
            )
        )
    else:
        errors += text_errors(
            name_en, field="name_en", max_length=120, prose=True, label=("Tên tiếng Anh", "English name")
        )
    types = [t.strip() for t in event_types if t.strip()]
    if population_rule:
        kind = Metric.Kind.POPULATION
        if population_rule not in population.RULES:
            errors.append(
                FieldError(
                    "population_rule",
                    "metric.rule_unknown",
                    "Không có quy tắc dân số này",
                    "No such population rule",
                )
            )
        if types:
            errors.append(
                FieldError(
                    "event_types",
                    "metric.kind_mixed",
                    "Chỉ số dân số không đếm sự kiện",
                    "A population metric counts no events",
                )
            )
    else:
        kind = Metric.Kind.EVENTS
        if not types:
            errors.append(
                FieldError(
                    "event_types",
                    "metric.event_types_required",
                    "Cần ít nhất một loại sự kiện",
                    "Name at least one event type",
                )
            )
        bad = [t for t in types if not EVENT_TYPE.match(t) or len(t) > 64]
        if bad:
            errors.append(
                FieldError(
                    "event_types",
                    "metric.event_type_invalid",
                    f"Loại sự kiện phải có dạng ung_dung.doi_tuong.hanh_dong: {', '.join(bad)[:200]}",
                    f"Event types look like app.entity.action: {', '.join(bad)[:200]}",
                )
            )
    try:
        normalized = _normalized_filter(data_filter)
    except DomainError as exc:
        errors.extend(exc.errors)
        normalized = {}
    if errors:
        raise DomainError(errors)
    with transaction.atomic():
        metric = Metric.objects.create(
            code=code,
            name=name,
            name_en=name_en,
            kind=kind,
            event_types=sorted(set(types)),
            data_filter=normalized,
            population_rule=population_rule,
        )
        counted = tally.tally_backfill(metric) if kind == Metric.Kind.EVENTS else 0
        audit_event_record(
            actor=actor,
            event_type=EventType.METRIC_CREATED,
            subject_type="metric",
            subject_id=metric.pk,
            data={
                "code": code,
                "event_types": metric.event_types,
                "data_filter": normalized,
                "population_rule": population_rule,
                "events_counted": counted,
            },
        )
    if kind == Metric.Kind.POPULATION:
        population_count(actor=actor, metric=metric, as_of=as_of or timezone.localdate())
    return metric


@dataclass(frozen=True)
class MetricChoice:
    metric: Metric
    denominator: Metric | None = None


def campaign_create(
    *, actor: Actor, name: str, starts_on: date, ends_on: date, metrics: Sequence[MetricChoice]
) -> Campaign:
    user = _user(actor)
    _require_ministry(user)
    errors = []
    name = name.strip()
    if not name or len(name) > 200:
        errors.append(
            FieldError(
                "name",
                "campaign.name_required",
                "Cần tên chiến dịch (tối đa 200 ký tự)",
                "A name of at most 200 characters",
            )
        )
    else:
        errors += text_errors(name, field="name", max_length=200, prose=True, label=_CAMPAIGN_NAME)
        if _name_in_use(name):
            errors.append(_name_taken())
    latest = date(timezone.localdate().year + YEARS_AHEAD, 12, 31)
    errors += [
        FieldError(
            field,
            "campaign.date_range",
            f"Ngày phải từ {FIRST_CAMPAIGN_DAY:%d/%m/%Y} đến {latest:%d/%m/%Y}",
            f"The day must be from {FIRST_CAMPAIGN_DAY:%d/%m/%Y} to {latest:%d/%m/%Y}",
        )
        for field, day in (("starts_on", starts_on), ("ends_on", ends_on))
        if not FIRST_CAMPAIGN_DAY <= day <= latest
    ]
    if ends_on < starts_on:
        errors.append(
            FieldError(
                "ends_on",
                "campaign.ends_before_start",
                "Ngày kết thúc trước ngày bắt đầu",
                "The end is before the start",
            )
        )
    elif (ends_on - starts_on).days >= MAX_DAYS:
        errors.append(
            FieldError(
                "ends_on", "campaign.too_long", "Một đợt dài tối đa 3 năm", "A campaign lasts at most 3 years"
            )
        )
    if not metrics:
        errors.append(
            FieldError(
                "metrics",
                "campaign.metrics_required",
                "Chọn ít nhất một chỉ số",
                "Choose at least one metric",
            )
        )
    seen = set()
    for choice in metrics:
        if choice.metric.kind != Metric.Kind.EVENTS or choice.metric.pk in seen:
            errors.append(
                FieldError(
                    "metrics",
                    "campaign.metric_invalid",
                    "Chỉ số theo dõi phải là chỉ số đếm sự kiện, mỗi chỉ số một lần",
                    "Followed metrics count events, each at most once",
                )
            )
        seen.add(choice.metric.pk)
        if choice.denominator is not None and choice.denominator.kind != Metric.Kind.POPULATION:
            errors.append(
                FieldError(
                    "metrics",
                    "campaign.denominator_invalid",
                    "Mẫu số phải là chỉ số dân số",
                    "A denominator is a population metric",
                )
            )
    if errors:
        raise DomainError(errors)
    try:
        return _campaign_insert(
            actor=actor, user=user, name=name, starts_on=starts_on, ends_on=ends_on, metrics=metrics
        )
    except IntegrityError as exc:
        # The same form sent twice at once: both passed the check above, the database let one in.
        if _name_in_use(name):
            raise DomainError([_name_taken()]) from exc
        raise


def _name_in_use(name: str) -> bool:
    """Whether a campaign has this name, whatever the case. Compared here, not with `iexact`: SQLite
    folds only ASCII letters, and "CẤP THẺ" is "Cấp thẻ" to a leader. Campaigns are a few a year, so
    reading their names costs nothing; the constraint (models.Campaign) holds the exact twin of a form
    sent twice on either database."""
    folded = name.casefold()
    return any(other.casefold() == folded for other in Campaign.objects.values_list("name", flat=True))


def _name_taken() -> FieldError:
    return FieldError(
        "name",
        "campaign.name_taken",
        "Đã có chiến dịch mang tên này: hãy mở chiến dịch đó, hoặc đặt tên khác",
        "A campaign of this name exists: open it, or choose another name",
    )


def _campaign_insert(
    *, actor: Actor, user: User, name: str, starts_on: date, ends_on: date, metrics: Sequence[MetricChoice]
) -> Campaign:
    with transaction.atomic():
        campaign = Campaign.objects.create(name=name, starts_on=starts_on, ends_on=ends_on, created_by=user)
        CampaignMetric.objects.bulk_create(
            CampaignMetric(campaign=campaign, metric=c.metric, denominator=c.denominator, position=i)
            for i, c in enumerate(metrics)
        )
        audit_event_record(
            actor=actor,
            event_type=EventType.CAMPAIGN_CREATED,
            subject_type="campaign",
            subject_id=campaign.pk,
            data={
                "name": name,
                "starts_on": starts_on.isoformat(),
                "ends_on": ends_on.isoformat(),
                "metrics": [c.metric.code for c in metrics],
                "denominators": [c.denominator.code if c.denominator else None for c in metrics],
            },
        )
    return campaign


def may_set_target(user: User, unit: AdminUnit | None) -> bool:
    """The ministry sets the country's and each province's targets; a province police its communes'."""
    if unit is None or unit.level == AdminUnit.Level.PROVINCE:
        return _is_ministry_admin(user)
    police_unit = user.police_unit
    return (
        user.is_active
        and user.role == User.Role.SUPERVISOR
        and police_unit is not None
        and police_unit.level == PoliceUnit.Level.PROVINCE
        and police_unit.admin_unit_id == unit.parent_id
    )


def may_set_targets_below(user: User, unit: AdminUnit | None) -> bool:
    """Whether the user hands the targets of `unit` (None: the country) down to the units below it."""
    if unit is None:
        return _is_ministry_admin(user)
    police_unit = user.police_unit
    return (
        unit.level == AdminUnit.Level.PROVINCE
        and user.is_active
        and user.role == User.Role.SUPERVISOR
        and police_unit is not None
        and police_unit.admin_unit_id == unit.pk
    )


def _figure(value: int | None, field: str) -> list[FieldError]:
    if value is not None and not 0 <= value <= MAX_TARGET:
        return [
            FieldError(
                field,
                "target.out_of_range",
                "Chỉ tiêu phải từ 0 đến 10^12",
                "A target lies between 0 and 10^12",
            )
        ]
    return []


def _pace_short_of_total(*, total: int, per_day: int, days: int) -> list[FieldError]:
    """A daily target whose whole period falls short of the period target: what is due never reaches the
    target (the period target only caps the pace), so a unit that keeps the pace ends "not met" without
    ever being "behind". The plan contradicts itself and is refused rather than kept."""
    planned = per_day * days
    if planned >= total:
        return []
    return [
        FieldError(
            "per_day",
            "target.per_day_short",
            f"Chỉ tiêu mỗi ngày × {days} ngày của đợt ({format_int(planned, 'vi')}) không đạt chỉ tiêu cả"
            f" đợt ({format_int(total, 'vi')}): tăng chỉ tiêu mỗi ngày, hoặc chỉ giao một trong hai",
            f"The daily target × the campaign's {days} days ({format_int(planned, 'en')}) falls short of the"
            f" period target ({format_int(total, 'en')}): raise the daily target, or give only one of them",
        )
    ]


def target_set(
    *,
    actor: Actor,
    campaign_metric: CampaignMetric,
    unit: AdminUnit | None,
    total: int | None,
    per_day: int | None,
    reason: str,
) -> Target:
    """Set or revise a unit's target; the revision keeps the old figures, who changed them, when and why."""
    user = _user(actor)
    if unit is not None and (
        unit.structure != AdminUnit.Structure.CURRENT or unit.level == AdminUnit.Level.DISTRICT
    ):
        raise NotFoundError
    if unit is not None and not unit_in_area(user, unit) and not _is_ministry_admin(user):
        raise NotFoundError
    if not may_set_target(user, unit):
        raise DomainError(
            FieldError(
                "unit",
                "target.not_your_level",
                "Chỉ tiêu do cấp trên trực tiếp giao: Bộ giao cho cả nước và tỉnh, tỉnh giao cho xã",
                "Targets are set by the level above: the ministry for the country and provinces,"
                " a province for its communes",
            )
        )
    errors = _figure(total, "total") + _figure(per_day, "per_day")
    if not errors and total is not None and per_day is not None:
        errors += _pace_short_of_total(total=total, per_day=per_day, days=campaign_metric.campaign.days)
    if total is None and per_day is None:
        errors.append(
            FieldError(
                "total",
                "target.figure_required",
                "Cần chỉ tiêu cả đợt hoặc mỗi ngày",
                "Give a target for the period or per day",
            )
        )
    reason = reason.strip()
    if not reason:
        errors.append(
            FieldError(
                "reason",
                "target.reason_required",
                "Cần ghi lý do giao, điều chỉnh",
                "Say why the target is set",
            )
        )
    elif len(reason) > 1000:
        errors.append(
            FieldError(
                "reason", "target.reason_too_long", "Lý do tối đa 1000 ký tự", "At most 1000 characters"
            )
        )
    else:
        errors += text_errors(reason, field="reason", max_length=1000, prose=True, label=_TARGET_REASON)
    if errors:
        raise DomainError(errors)
    now = timezone.now()
    with transaction.atomic():
        target = Target.objects.select_for_update().filter(campaign_metric=campaign_metric, unit=unit).first()
        old_total, old_per_day = (target.total, target.per_day) if target else (None, None)
        if target is not None and (old_total, old_per_day) == (total, per_day):
            # The same figures again (the form sent twice, the back button and "Lưu" once more): nothing
            # is revised, and the history of targets keeps no "40 → 40" line for the leaders to puzzle over.
            return target
        if target is None:
            target = Target(campaign_metric=campaign_metric, unit=unit)
        target.total, target.per_day, target.set_by, target.set_at = total, per_day, user, now
        target.save()
        TargetRevision.objects.create(
            target=target,
            old_total=old_total,
            old_per_day=old_per_day,
            new_total=total,
            new_per_day=per_day,
            revised_by=user,
            revised_at=now,
            reason=reason,
        )
        audit_event_record(
            actor=actor,
            event_type=EventType.TARGET_SET,
            subject_type="campaign",
            subject_id=campaign_metric.campaign_id,
            reason=reason,
            unit=unit,
            data={
                "metric": campaign_metric.metric.code,
                "unit": unit.code if unit else None,
                "old": {"total": old_total, "per_day": old_per_day},
                "new": {"total": total, "per_day": per_day},
            },
        )
    return target


def population_count(*, actor: Actor, metric: Metric, as_of: date) -> int:
    """Count a population metric per 2025 commune from the registry, replacing the previous count."""
    if metric.kind != Metric.Kind.POPULATION:
        raise ValueError(f"{metric.code} is not a population metric")
    rule, _label = population.RULES[metric.population_rule]
    now = timezone.now()
    rows = rule(as_of).values("area_commune_id", "area_province_id").annotate(n=Count("pk")).order_by()
    with transaction.atomic():
        PopulationTally.objects.filter(metric=metric).delete()
        tallies = [
            PopulationTally(
                metric=metric,
                commune_id=row["area_commune_id"],
                province_id=row["area_province_id"],
                count=row["n"],
                counted_at=now,
            )
            for row in rows
            if row["area_province_id"] is not None
        ]
        PopulationTally.objects.bulk_create(tallies, batch_size=5000)
        total = sum(t.count for t in tallies)
        audit_event_record(
            actor=actor,
            event_type=EventType.POPULATION_COUNTED,
            subject_type="metric",
            subject_id=metric.pk,
            data={"code": metric.code, "as_of": as_of.isoformat(), "total": total, "communes": len(tallies)},
        )
    return total


def daily_report_make(*, actor: Actor, campaign: Campaign, unit: AdminUnit | None, day: date) -> DailyReport:
    """Make (or make again) the day's report of a unit: the same figures as the pages, as PDF and XLSX."""
    from dancu.campaigns import exports, figures

    data = figures.figures_compute(campaign=campaign, unit=unit, as_of=day)
    pdf, xlsx = exports.figures_pdf(data, language="vi"), exports.figures_xlsx(data, language="vi")
    with transaction.atomic():
        report, _created = DailyReport.objects.update_or_create(
            campaign=campaign,
            unit=unit,
            day=day,
            defaults={"pdf": pdf, "xlsx": xlsx, "made_at": timezone.now()},
        )
        audit_event_record(
            actor=actor,
            event_type=EventType.DAILY_REPORT_MADE,
            subject_type="campaign",
            subject_id=campaign.pk,
            unit=unit,
            data={"unit": unit.code if unit else None, "day": day.isoformat()},
        )
    return report
