"""The one field behind every full-date box of the officers' pages (`FullDateFormField`): what a commune
officer types all day, what it reads, and what it says when it cannot, with the rule and the formats."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from dancu.lib.full_date import DayInput, FullDateFormField

FORMATS_VI = "Các dạng được chấp nhận: DD/MM/YYYY, DD-MM-YYYY, DD.MM.YYYY, YYYY-MM-DD, ví dụ 17/05/2024."


def refusal(text: str, *, language: str = "vi") -> ValidationError:
    with translation.override(language), pytest.raises(ValidationError) as refused:
        FullDateFormField().clean(text)
    return refused.value


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("17/05/2024", date(2024, 5, 17)),
        ("1/7/2025", date(2025, 7, 1)),
        ("01.07.2025", date(2025, 7, 1)),
        ("01-07-2025", date(2025, 7, 1)),
        ("2025-07-01", date(2025, 7, 1)),
        ("  17/05/2024 ", date(2024, 5, 17)),
        ("12/01/2024", date(2024, 1, 12)),  # day first: the twelfth of January, never the first of December
        ("29/02/2024", date(2024, 2, 29)),
    ],
)
def test_the_formats_of_the_page_are_read_day_first(typed: str, day: date) -> None:
    for language in ("vi", "en"):
        with translation.override(language):
            assert FullDateFormField().clean(typed) == day


@pytest.mark.parametrize(
    ("typed", "code", "reason"),
    [
        ("2024-01", "date.format", "Cần đủ ngày, tháng và năm."),
        ("05/2024", "date.format", "Cần đủ ngày, tháng và năm."),
        ("31/02/2024", "date.day_range", "Không có ngày 31: tháng 02/2024 có 29 ngày."),
        ("2023-02-29", "date.day_range", "Không có ngày 29: tháng 02/2023 có 28 ngày."),
        ("12/31/2024", "date.month_range", "Không có tháng 31: tháng phải từ 1 đến 12 và viết sau ngày."),
        ("1/7/25", "date.format", "Năm cần đủ bốn chữ số (2025, không phải 25)."),
        ("hôm nay", "date.format", "Không đọc được ngày."),
        ("10000-01-01", "date.year_range", "Năm 10000 không có trong lịch: năm phải từ 1 đến 9999."),
        ("01/01/10000", "date.year_range", "Năm 10000 không có trong lịch: năm phải từ 1 đến 9999."),
        ("2024/05/17", "date.format", "Không đọc được ngày."),
        ("17/05-2024", "date.format", "Không đọc được ngày."),
        ("１７/05/2024", "date.format", "Không đọc được ngày."),
    ],
)
def test_a_date_that_cannot_be_read_is_refused_with_its_rule_and_the_formats(
    typed: str, code: str, reason: str
) -> None:
    refused = refusal(typed)
    assert refused.code == code
    assert refused.messages == [f"{reason} {FORMATS_VI} [{code}]"]


def test_a_day_out_of_the_registry_years_is_left_to_the_services_rules() -> None:
    # "2999-01-01" is a day of the calendar: the service refuses it by its own rule (date.future for a
    # registration), which says more than a range would.
    assert FullDateFormField().clean("2999-01-01") == date(2999, 1, 1)


def test_the_refusal_is_english_on_an_english_page() -> None:
    assert refusal("hôm nay", language="en").messages == [
        "Cannot read the date. Accepted formats: DD/MM/YYYY, DD-MM-YYYY, DD.MM.YYYY, YYYY-MM-DD, "
        "e.g. 17/05/2024. [date.format]"
    ]
    assert (
        refusal("2024-01", language="en")
        .messages[0]
        .startswith("The day, month and year are all needed. Accepted formats:")
    )
    assert (
        refusal("12/31/2024", language="en")
        .messages[0]
        .startswith("There is no month 31: months run from 1 to 12 and come after the day.")
    )
    assert (
        refusal("31/02/2024", language="en")
        .messages[0]
        .startswith("There is no day 31: 02/2024 has 29 days.")
    )
    assert (
        refusal("10000-01-01", language="en")
        .messages[0]
        .startswith("There is no year 10000 in the calendar: years run from 1 to 9999.")
    )


def test_blank_is_no_date_and_a_required_box_says_so() -> None:
    assert FullDateFormField(required=False).clean("   ") is None
    with translation.override("vi"), pytest.raises(ValidationError) as refused:
        FullDateFormField().clean("  ")
    assert refused.value.code == "required"


def test_a_date_or_datetime_from_code_passes_as_its_day() -> None:
    field = FullDateFormField()
    assert field.clean(date(2024, 5, 17)) == date(2024, 5, 17)
    assert field.clean(datetime(2024, 5, 17, 23, 30)) == date(2024, 5, 17)  # noqa: DTZ001


@given(st.dates(date(1000, 1, 1)))
def test_every_day_is_read_back_as_the_page_shows_it_and_as_the_date_box_sends_it(day: date) -> None:
    field = FullDateFormField()
    assert field.clean(day.strftime("%d/%m/%Y")) == day
    assert field.clean(day.isoformat()) == day


def test_the_box_is_the_browsers_date_box_with_an_iso_value() -> None:
    class Form(forms.Form):
        on = FullDateFormField()

    html = str(Form(initial={"on": date(2024, 5, 17)})["on"])
    assert 'type="date"' in html
    assert 'value="2024-05-17"' in html
    # A day typed day first where the browser had no date box, sent back beside another field's error,
    # is shown in the form the date box can show instead of an empty box.
    assert 'value="2024-05-17"' in str(Form(data={"on": "17.05.2024"})["on"])
    # What cannot be read is shown as it was typed, beside its error.
    assert 'value="31/02/2024"' in str(Form(data={"on": "31/02/2024"})["on"])


def test_the_date_box_shows_a_stored_day_first_text_as_iso() -> None:
    assert DayInput().format_value("17/05/2024") == "2024-05-17"
    assert DayInput().format_value("05/2024") == "05/2024"
    assert DayInput().format_value(None) is None
