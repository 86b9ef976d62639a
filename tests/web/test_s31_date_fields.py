"""The full-date boxes of the officers' pages, as a commune officer types dates all day.

Lan declares Hùng's absence and ends a residence (registry), the ministry's administrator opens a campaign
(campaigns), and a DC01 draft holds a day typed day first (collection). A date the page cannot read is
refused beside its box with the rule code and the formats the page takes, day first, and nothing is
written; a date it can read is taken whatever the separator or the spaces around it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.campaigns.models import Campaign, Metric
from dancu.registry.models import AbsenceDeclaration, Residence
from tests.collection.forms_support import dc01
from tests.conftest import SESSION_TODAY, People, Personas, counts
from tests.pages import field_errors, html

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_pinned")]

TODAY = SESSION_TODAY
FORMATS = "Các dạng được chấp nhận: DD/MM/YYYY, DD-MM-YYYY, DD.MM.YYYY, YYYY-MM-DD, ví dụ 17/05/2024."

# What an officer types into a full-date box, and the rule that refuses it.
REFUSED = [
    ("2024-01", "date.format"),
    ("31/02/2024", "date.day_range"),
    ("12/31/2024", "date.month_range"),
    ("1/7/25", "date.format"),
    ("hôm nay", "date.format"),
    ("10000-01-01", "date.year_range"),
]


def declaration(**overrides: str) -> dict[str, str]:
    return {
        "starts_on": str(TODAY - timedelta(days=5)),
        "ends_on": str(TODAY + timedelta(days=90)),
        "destination": "Thành phố Đà Nẵng",
        "reason": "Đi làm việc theo hợp đồng",
        "source_document": "Tờ khai CT01",
    } | overrides


def rows() -> dict[str, int]:
    return counts() | {"AbsenceDeclaration": AbsenceDeclaration.objects.count()}


@pytest.mark.parametrize(("typed", "code"), REFUSED)
def test_an_absence_date_that_cannot_be_read_is_refused_with_its_rule_and_the_formats(
    lan: Client, people: People, typed: str, code: str
) -> None:
    hung = people.hung
    before = rows()

    page = html(lan.post(f"/citizens/{hung.pk}/absences/new/", declaration(starts_on=typed)))

    errors = field_errors(page, "starts_on")
    assert f"[{code}]" in errors
    assert FORMATS in errors
    assert "Nhập một ngày hợp lệ" not in page
    # The page keeps what was typed, beside its error, and the other date as it was.
    assert f'value="{typed}"' in page
    assert f'value="{TODAY + timedelta(days=90)}"' in page
    assert rows() == before


def test_an_absence_date_typed_with_dots_and_spaces_is_taken(lan: Client, people: People) -> None:
    hung = people.hung
    starts = TODAY - timedelta(days=5)
    sent = lan.post(
        f"/citizens/{hung.pk}/absences/new/", declaration(starts_on=f"  {starts:%d.%m.%Y} ", ends_on="")
    )
    # The other box was left empty: the page says so, and shows the day typed in the form its date box
    # can show (ISO), not the dotted text a date box would show as empty.
    page = html(sent)
    assert field_errors(page, "ends_on") != ""
    assert f'value="{starts.isoformat()}"' in page

    sent = lan.post(
        f"/citizens/{hung.pk}/absences/new/",
        declaration(starts_on=f"  {starts:%d.%m.%Y} ", ends_on=f"{TODAY + timedelta(days=90):%d/%m/%Y}"),
    )
    assert sent.status_code == 302
    assert hung.absences.get().starts_on == starts


def test_the_date_boxes_are_the_browsers_date_boxes(lan: Client, people: People) -> None:
    page = html(lan.get(f"/citizens/{people.hung.pk}/absences/new/"))
    assert '<input type="date" name="starts_on"' in page
    assert '<input type="date" name="ends_on"' in page


def test_a_residence_end_date_in_february_31_is_refused_and_the_residence_stays_open(
    lan: Client, people: People
) -> None:
    residence = people.hung.residences.get(ended_on__isnull=True)
    url = f"/citizens/{people.hung.pk}/residences/{residence.pk}/end/"
    page = html(lan.post(url, {"ended_on": "31/02/2024", "reason": "Chuyển đi nơi khác"}))

    assert field_errors(page, "ended_on").strip() == (
        f"<li>Không có ngày 31: tháng 02/2024 có 29 ngày. {FORMATS} [date.day_range]</li>"
    )
    assert Residence.objects.get(pk=residence.pk).ended_on is None


def test_a_residence_end_date_is_refused_in_english_on_an_english_page(lan: Client, people: People) -> None:
    residence = people.hung.residences.get(ended_on__isnull=True)
    url = f"/citizens/{people.hung.pk}/residences/{residence.pk}/end/"
    lan.cookies["django_language"] = "en"
    page = html(lan.post(url, {"ended_on": "hôm nay", "reason": "Chuyển đi nơi khác"}))

    assert field_errors(page, "ended_on").strip() == (
        "<li>Cannot read the date. Accepted formats: DD/MM/YYYY, DD-MM-YYYY, DD.MM.YYYY, YYYY-MM-DD, "
        "e.g. 17/05/2024. [date.format]</li>"
    )


@pytest.mark.parametrize(("typed", "code"), REFUSED)
def test_a_campaign_date_that_cannot_be_read_is_refused_with_its_rule(
    personas: Personas, sign_in: Callable[[Client, User], Client], typed: str, code: str
) -> None:
    client = sign_in(Client(), personas.minh)
    form: dict[str, Any] = {
        "name": "Cao điểm cấp căn cước",
        "starts_on": typed,
        "ends_on": "31/03/2027",
        "metrics": [Metric.objects.get(code="cards_taken").pk],
    }
    response = client.post("/campaigns/new/", form)

    assert response.status_code == 400
    assert f"[{code}]" in field_errors(response.content.decode(), "starts_on")
    assert not Campaign.objects.exists()

    response = client.post("/campaigns/new/", form | {"starts_on": " 01.12.2026 "})
    assert response.status_code == 302
    assert str(Campaign.objects.get().starts_on) == "2026-12-01"


def test_a_dc01_draft_day_typed_day_first_shows_in_its_date_box(personas: Personas, lan: Client) -> None:
    draft = dc01(personas.lan, registered_on="17/05/2024")
    page = html(lan.get(f"/forms/{draft.pk}/edit/"))
    # A date box shows nothing for a value that is not ISO: the officer would see the day as missing and
    # send the draft back without it.
    assert 'type="date" name="registered_on" value="2024-05-17"' in page
