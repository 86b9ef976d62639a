"""Work the background workers run for campaigns (scheduled by migration 0003)."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from dancu.audit.services import Actor
from dancu.campaigns import services
from dancu.campaigns.models import Campaign, Metric
from dancu.campaigns.tally import tally_catch_up
from dancu.geo.models import AdminUnit

WORKER = Actor(system="campaigns")


def tally_keep_warm() -> int:
    """Catch the tallies up, so that the next dashboard has (almost) nothing to add."""
    return tally_catch_up()


def daily_reports(day: str | None = None) -> int:
    """Count the populations again, then make yesterday's reports (or `day`'s, "YYYY-MM-DD") of every
    campaign running that day, for the country and each province; the number of reports made."""
    report_day = date.fromisoformat(day) if day else timezone.localdate() - timedelta(days=1)
    for metric in Metric.objects.filter(kind=Metric.Kind.POPULATION):
        services.population_count(actor=WORKER, metric=metric, as_of=report_day)
    provinces = list(
        AdminUnit.objects.filter(
            structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.PROVINCE
        ).order_by("code")
    )
    made = 0
    for campaign in Campaign.objects.filter(starts_on__lte=report_day, ends_on__gte=report_day):
        for unit in [None, *provinces]:
            services.daily_report_make(actor=WORKER, campaign=campaign, unit=unit, day=report_day)
            made += 1
    return made
