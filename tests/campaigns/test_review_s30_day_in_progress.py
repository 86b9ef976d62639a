"""Review s30: the day in progress is not yet due.

A province commander opens the dashboard first thing in the morning. A commune that took its daily quota
on every day so far has not fallen behind because today's quota is not done at 07:00: the day is not over.
The figures read "due by now" as what was due by the end of the last day that is over, and the pace as the
mean of the last days that are over, so that a day just begun neither marks every commune "chậm" nor drags
the pace (and the forecast) down.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.campaigns import services
from dancu.campaigns.figures import figures_as_dict, figures_compute
from dancu.campaigns.models import Campaign, Metric
from dancu.geo.selectors import province_get
from tests.campaigns.conftest import TAKEN, at, ensure_builtin_metrics, record
from tests.conftest import HOAN_KIEM, HONG_HA, Personas, commune

pytestmark = pytest.mark.django_db

PER_DAY = 2
SignIn = Callable[[Client, User], Client]


@pytest.fixture
def week(personas: Personas) -> Campaign:
    """A campaign that began three days ago. Hoàn Kiếm and Hồng Hà are each given 2 cards a day; Hoàn
    Kiếm took 2 on each of the three days that are over, Hồng Hà 2 on the first day only."""
    ensure_builtin_metrics()
    today = timezone.localdate()
    campaign = services.campaign_create(
        actor=Actor(personas.minh),
        name="Cao điểm tuần này",
        starts_on=today - timedelta(days=3),
        ends_on=today + timedelta(days=10),
        metrics=[services.MetricChoice(Metric.objects.get(code="cards_taken"))],
    )
    cards = campaign.campaign_metrics.get()
    hoan_kiem, hong_ha = commune(HOAN_KIEM), commune(HONG_HA)
    for unit in (hoan_kiem, hong_ha):
        services.target_set(
            actor=Actor(personas.cuong),
            campaign_metric=cards,
            unit=unit,
            total=None,
            per_day=PER_DAY,
            reason="Giao xã",
        )
    for back in (3, 2, 1):
        for minute in range(PER_DAY):
            record(TAKEN, hoan_kiem, personas.lan, at(today - timedelta(days=back), 9, minute))
    for minute in range(PER_DAY):
        record(TAKEN, hong_ha, personas.binh, at(today - timedelta(days=3), 9, minute))
    return campaign


def test_a_commune_on_quota_is_not_behind_while_the_day_is_in_progress(week: Campaign) -> None:
    today = timezone.localdate()
    figures = figures_compute(campaign=week, unit=commune(HOAN_KIEM), as_of=today)
    cards = figures.metrics[0]
    assert cards.achieved == 3 * PER_DAY
    assert cards.expected == 3 * PER_DAY
    assert not cards.behind
    # The pace of the days that are over: today's (still empty) day does not pull it down.
    assert cards.pace == pytest.approx(PER_DAY)
    assert cards.forecast is not None

    # Yesterday's figures, read today, are unchanged: every day of that range is over.
    yesterday = figures_compute(campaign=week, unit=commune(HOAN_KIEM), as_of=today - timedelta(days=1))
    assert (yesterday.metrics[0].expected, yesterday.metrics[0].behind) == (3 * PER_DAY, False)


def test_the_province_lists_behind_only_the_commune_that_missed_days_that_are_over(week: Campaign) -> None:
    today = timezone.localdate()
    figures = figures_compute(campaign=week, unit=province_get("01"), as_of=today)
    cards = figures.metrics[0]
    assert [row.unit.code for row in cards.units_behind] == [HONG_HA]
    hong_ha = next(row for row in cards.rows if row.unit.code == HONG_HA)
    assert (hong_ha.achieved, hong_ha.expected) == (PER_DAY, 3 * PER_DAY)
    answer = figures_as_dict(figures)
    assert {u["code"]: u["behind"] for u in answer["metrics"][0]["units"] if u["target"]} == {
        HOAN_KIEM: False,
        HONG_HA: True,
    }


def test_the_dashboard_says_the_day_is_in_progress(
    week: Campaign, personas: Personas, sign_in: SignIn
) -> None:
    today = timezone.localdate()
    client = sign_in(Client(), personas.cuong)
    html = client.get(f"/campaigns/{week.pk}/01/").content.decode()
    assert f"ngày {today:%d/%m/%Y} chưa hết" in html
    past = client.get(f"/campaigns/{week.pk}/01/?day={today - timedelta(days=1):%Y-%m-%d}").content.decode()
    assert "chưa hết" not in past
    # The workbook exported during the day says so too, beside the days it covers.
    book = load_workbook(io.BytesIO(client.get(f"/campaigns/{week.pk}/01/export.xlsx").content))
    assert "ngày này chưa hết" in str(book["Tổng hợp"][3][4].value)
