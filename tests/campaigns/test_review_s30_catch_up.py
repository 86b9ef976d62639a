"""Review s30: which communes are behind, by how much, and what a commune must do each day to catch up.

The province commander's question every morning is "which communes are behind and by how much"; the
dashboard listed the names behind a closed disclosure with their percentage only, in code order. A commune
chief's question is "what must we do today": the page gave the target and the pace, and left the sum to
them. The figures now carry the shortfall (what is due by now and not done) and the daily pace the rest of
the period asks for, on the page and in the API alike.
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
from dancu.accounts.services import api_token_create
from dancu.audit.services import Actor
from dancu.campaigns import services
from dancu.campaigns.figures import figures_compute
from dancu.campaigns.models import Campaign, Metric
from dancu.geo.selectors import province_get
from tests.campaigns.conftest import TAKEN, at, ensure_builtin_metrics, record
from tests.conftest import HOAN_KIEM, HONG_HA, Personas, commune

pytestmark = pytest.mark.django_db

SignIn = Callable[[Client, User], Client]


@pytest.fixture
def drive(personas: Personas) -> Campaign:
    """Ten days over, today and 9 days to come (20 days). Hoàn Kiếm is given 3 a day (60) and took 10;
    Hồng Hà 1 a day (20) and took 6: by now 30 and 10 are due, so Hoàn Kiếm is 20 short, Hồng Hà 4."""
    ensure_builtin_metrics()
    today = timezone.localdate()
    campaign = services.campaign_create(
        actor=Actor(personas.minh),
        name="Cao điểm 20 ngày",
        starts_on=today - timedelta(days=10),
        ends_on=today + timedelta(days=9),
        metrics=[services.MetricChoice(Metric.objects.get(code="cards_taken"))],
    )
    cards = campaign.campaign_metrics.get()
    for code, per_day in ((HOAN_KIEM, 3), (HONG_HA, 1)):
        services.target_set(
            actor=Actor(personas.cuong),
            campaign_metric=cards,
            unit=commune(code),
            total=None,
            per_day=per_day,
            reason="Giao xã",
        )
    yesterday = at(today - timedelta(days=1))
    for minute in range(10):
        record(TAKEN, commune(HOAN_KIEM), personas.lan, yesterday.replace(minute=minute))
    for minute in range(6):
        record(TAKEN, commune(HONG_HA), personas.binh, yesterday.replace(minute=minute))
    return campaign


def test_the_units_behind_come_with_their_shortfall_largest_first(drive: Campaign) -> None:
    cards = figures_compute(campaign=drive, unit=province_get("01"), as_of=timezone.localdate()).metrics[0]
    assert [(row.unit.code, row.shortfall) for row in cards.units_behind] == [(HOAN_KIEM, 20), (HONG_HA, 4)]


def test_a_commune_is_told_how_many_a_day_the_rest_of_the_period_asks_for(drive: Campaign) -> None:
    today = timezone.localdate()
    cards = figures_compute(campaign=drive, unit=commune(HOAN_KIEM), as_of=today).metrics[0]
    # 60 - 10 = 50 left over today and the 9 days to come: 5 a day.
    assert cards.needed_per_day == pytest.approx(5)
    hong_ha = figures_compute(campaign=drive, unit=commune(HONG_HA), as_of=today).metrics[0]
    assert hong_ha.needed_per_day == pytest.approx(1.4)  # 14 left over 10 days
    # Read for a past day, there is no "today" to plan: the figure is not given.
    past = figures_compute(campaign=drive, unit=commune(HOAN_KIEM), as_of=today - timedelta(days=1))
    assert past.metrics[0].needed_per_day is None


def test_the_page_and_the_api_say_it(drive: Campaign, personas: Personas, sign_in: SignIn) -> None:
    province = sign_in(Client(), personas.cuong).get(f"/campaigns/{drive.pk}/01/").content.decode()
    assert '<details class="behind" open>' in province
    assert province.index("Phường Hoàn Kiếm</a>: thiếu 20") < province.index("Phường Hồng Hà</a>: thiếu 4")
    # The ranking's status column says by how much as well, for a reader who sorts the table.
    row = province.split(f'<tr data-unit="{HOAN_KIEM}">', 1)[1].split("</tr>", 1)[0]
    assert '<span class="badge late">chậm, thiếu 20</span>' in row

    chief = sign_in(Client(), personas.lan).get(f"/campaigns/{drive.pk}/{HOAN_KIEM}/").content.decode()
    assert 'data-stat="needed_per_day">5,0<' in chief

    _token, secret = api_token_create(user=personas.cuong, name="bảng điều khiển")
    body = (
        Client()
        .get(f"/api/v1/campaigns/{drive.pk}/figures/01", headers={"authorization": f"Bearer {secret}"})
        .json()
    )
    metric = body["metrics"][0]
    assert {u["code"]: u["shortfall"] for u in metric["units"] if u["target"]} == {HOAN_KIEM: 20, HONG_HA: 4}
    # Hà Nội has no target of its own (only what it handed down): no daily pace to ask of it.
    assert metric["needed_per_day"] is None


def test_the_exported_ranking_says_what_is_due_and_how_short_each_unit_is(
    drive: Campaign, personas: Personas, sign_in: SignIn
) -> None:
    # The workbook is what goes to the morning meeting: it answers "by how much" as the page does.
    client = sign_in(Client(), personas.cuong)
    book = load_workbook(io.BytesIO(client.get(f"/campaigns/{drive.pk}/01/export.xlsx").content))
    ranking = [[c.value for c in row] for row in book["cards_taken"].iter_rows()]
    assert ranking[0][6:] == ["Cần đạt đến nay", "Còn thiếu"]
    by_code = {row[1]: row for row in ranking[1:]}
    assert by_code[HOAN_KIEM][6:] == [30, 20]
    assert by_code[HONG_HA][6:] == [10, 4]
    assert client.get(f"/campaigns/{drive.pk}/01/export.pdf").content.startswith(b"%PDF-")


def test_the_workbook_writes_days_the_vietnamese_way(
    drive: Campaign, personas: Personas, sign_in: SignIn
) -> None:
    # Days stay dates in the workbook (sortable, filterable), shown 06/12/2026 rather than 2026-12-06.
    client = sign_in(Client(), personas.cuong)
    book = load_workbook(io.BytesIO(client.get(f"/campaigns/{drive.pk}/01/export.xlsx").content))
    assert book["Tổng hợp"]["B3"].number_format == "dd/mm/yyyy"
    assert book["Tổng hợp"]["D3"].number_format == "dd/mm/yyyy"
    assert {c.number_format for c in book["Theo ngày"]["A"][1:]} == {"dd/mm/yyyy"}
