"""The background work: the schedules exist, the tally keeps warm, the daily reports are made."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from django_q.models import Schedule
from openpyxl import load_workbook

from dancu.audit.models import AuditEvent, EventType
from dancu.campaigns.models import DailyReport, PopulationTally, TallyMark
from dancu.lib.tasks import enqueue
from tests.campaigns.conftest import DAY3, TAKEN, Country, at, record
from tests.conftest import Personas

pytestmark = pytest.mark.django_db


def test_the_workers_have_their_schedules() -> None:
    schedules = {s.func: s for s in Schedule.objects.filter(name__startswith="campaigns:")}
    assert schedules["dancu.campaigns.tasks.tally_keep_warm"].schedule_type == Schedule.MINUTES
    assert schedules["dancu.campaigns.tasks.tally_keep_warm"].minutes == 1
    assert schedules["dancu.campaigns.tasks.daily_reports"].schedule_type == Schedule.DAILY


def test_the_scheduled_catch_up_moves_the_mark(country: Country, personas: Personas) -> None:
    last = record(TAKEN, country.sai_gon, personas.dung, at(DAY3))
    enqueue("dancu.campaigns.tasks.tally_keep_warm", name="thử")
    assert TallyMark.objects.get().last_event_id == last.pk


@pytest.mark.slow
def test_the_daily_reports_are_made_for_the_country_and_each_province(
    country: Country, personas: Personas, sign_in: Any
) -> None:
    enqueue("dancu.campaigns.tasks.daily_reports", "2025-07-03")

    reports = DailyReport.objects.filter(campaign=country.campaign, day=DAY3)
    assert reports.count() == 35  # the country and 34 provinces
    hanoi = reports.get(unit=country.hanoi)
    assert bytes(hanoi.pdf).startswith(b"%PDF-")
    book = load_workbook(io.BytesIO(bytes(hanoi.xlsx)))
    assert [c.value for c in book["Tổng hợp"][6]][:3] == ["Hồ sơ cấp thẻ căn cước đã thu nhận", 8, 10]
    assert AuditEvent.objects.filter(event_type=EventType.DAILY_REPORT_MADE).count() == 35
    assert PopulationTally.objects.filter(metric__code="residents").exists()

    # Cường downloads his province's report; TP HCM's is out of his reach.
    client = sign_in(Client(), personas.cuong)
    assert 'id="daily-reports"' in client.get(f"/campaigns/{country.campaign.pk}/01/").content.decode()
    response = client.get(f"/campaigns/{country.campaign.pk}/01/reports/2025-07-03.xlsx")
    assert response.status_code == 200
    assert response.content == bytes(hanoi.xlsx)
    assert client.get(f"/campaigns/{country.campaign.pk}/79/reports/2025-07-03.pdf").status_code == 404
    assert client.get(f"/campaigns/{country.campaign.pk}/01/reports/2025-07-04.pdf").status_code == 404
    assert client.get(f"/campaigns/{country.campaign.pk}/01/reports/2025-99-04.pdf").status_code == 404
