"""Reads of the campaigns app, scoped by the reader's area.

Campaigns themselves are national (every officer may see which campaigns run), but figures are read per
unit, and an officer reads only their own unit and the units below it: the ministry the country, a
province police its province and communes, a commune police its commune. Any other unit gives the same
NotFoundError as a unit that does not exist. The figures are counts, not anyone's personal data, so
reading them writes no access-log entry; the officers named in a commune's drill-down are colleagues of
the reader's own unit.
"""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.selectors import officer_can_read_records, unit_in_area
from dancu.campaigns.figures import Figures, figures_compute
from dancu.campaigns.models import Campaign, DailyReport, Metric, Target, TargetRevision
from dancu.geo.models import AdminUnit
from dancu.lib.errors import DomainError, FieldError, NotFoundError
from dancu.lib.partial_date import MAX_YEAR, MIN_YEAR

COUNTRY = "vn"


def campaign_list(*, actor: User) -> QuerySet[Campaign]:
    if not officer_can_read_records(actor):
        return Campaign.objects.none()
    return Campaign.objects.all()


def campaign_get(*, actor: User, pk: int) -> Campaign:
    try:
        return campaign_list(actor=actor).get(pk=pk)
    except Campaign.DoesNotExist:
        raise NotFoundError from None


def metric_list() -> QuerySet[Metric]:
    return Metric.objects.all()


def home_scope(actor: User) -> str | None:
    """The unit an officer's dashboards open on: "vn", a province code, a commune code, or None."""
    police_unit = actor.police_unit
    if not officer_can_read_records(actor) or police_unit is None:
        return None
    if police_unit.level == PoliceUnit.Level.MINISTRY:
        return COUNTRY
    area = police_unit.admin_unit
    if area is None or area.structure != AdminUnit.Structure.CURRENT:
        return None
    return area.code


def unit_get(*, actor: User, scope: str) -> AdminUnit | None:
    """The unit named by `scope` ("vn", a 2-digit province or 5-digit commune code), if the actor may
    read it; None is the country."""
    if not officer_can_read_records(actor):
        raise NotFoundError
    police_unit = actor.police_unit
    assert police_unit is not None
    if scope == COUNTRY:
        if police_unit.level != PoliceUnit.Level.MINISTRY:
            raise NotFoundError
        return None
    level = {2: AdminUnit.Level.PROVINCE, 5: AdminUnit.Level.COMMUNE}.get(len(scope))
    if level is None or not scope.isdigit():
        raise NotFoundError
    unit = (
        AdminUnit.objects.select_related("parent")
        .filter(structure=AdminUnit.Structure.CURRENT, level=level, code=scope)
        .first()
    )
    if unit is None or not unit_in_area(actor, unit):
        raise NotFoundError
    return unit


def figures_range_errors(*, as_of: date | None, since: date | None) -> list[FieldError]:
    """What is wrong with a range of figures asked for: a day outside the years any date of the project
    may take, or a start after the day the figures are read up to (a range with no days, whose target of
    0 would read as met)."""
    errors = [
        FieldError(
            field,
            "date.year_range",
            f"Năm nằm ngoài khoảng cho phép {MIN_YEAR}–{MAX_YEAR}",
            f"The year is outside the accepted range {MIN_YEAR}-{MAX_YEAR}",
        )
        for field, day in (("day", as_of), ("since", since))
        if day is not None and not MIN_YEAR <= day.year <= MAX_YEAR
    ]
    if not errors and as_of is not None and since is not None and since > as_of:
        errors.append(
            FieldError(
                "since",
                "figures.since_after_day",
                "Ngày bắt đầu phải trước ngày xem số liệu",
                "The start must not be after the day the figures are read up to",
            )
        )
    return errors


def figures_get(
    *, actor: User, campaign: Campaign, scope: str, as_of: date, since: date | None = None
) -> Figures:
    """A unit's figures from `since` to `as_of`; DomainError naming `day` or `since` for a range that is
    not one (see figures_range_errors)."""
    unit = unit_get(actor=actor, scope=scope)
    errors = figures_range_errors(as_of=as_of, since=since)
    if errors:
        raise DomainError(errors)
    return figures_compute(campaign=campaign, unit=unit, as_of=as_of, since=since)


def target_history(*, actor: User, campaign: Campaign, scope: str) -> list[TargetRevision]:
    """Every setting of the targets of the unit and of the units directly below it, newest first."""
    unit = unit_get(actor=actor, scope=scope)
    targets = Target.objects.filter(campaign_metric__campaign=campaign)
    if unit is None:
        targets = targets.filter(unit__isnull=True) | targets.filter(unit__level=AdminUnit.Level.PROVINCE)
    else:
        targets = targets.filter(unit=unit) | targets.filter(unit__parent=unit)
    return list(
        TargetRevision.objects.filter(target__in=targets)
        .select_related("target__unit", "target__campaign_metric__metric", "revised_by")
        .order_by("-revised_at", "-pk")
    )


def report_list(*, actor: User, campaign: Campaign, scope: str) -> QuerySet[DailyReport]:
    unit = unit_get(actor=actor, scope=scope)
    return DailyReport.objects.filter(campaign=campaign, unit=unit).defer("pdf", "xlsx").order_by("-day")


def report_get(*, actor: User, campaign: Campaign, scope: str, day: date) -> DailyReport:
    unit = unit_get(actor=actor, scope=scope)
    report = DailyReport.objects.filter(campaign=campaign, unit=unit, day=day).first()
    if report is None:
        raise NotFoundError
    return report
