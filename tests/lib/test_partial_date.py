import calendar
from datetime import date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import models
from django.test.utils import isolate_apps
from django.utils import translation
from hypothesis import assume, given
from hypothesis import strategies as st

from dancu.lib.partial_date import (
    LEGACY_ACCEPTED_FORMATS,
    MAX_YEAR,
    MIN_YEAR,
    PartialDate,
    PartialDateError,
    PartialDateField,
    PartialDateFormField,
    parse_legacy,
)

PRECISION_RANK = {"year": 0, "month": 1, "day": 2}


@st.composite
def partial_dates(draw):
    year = draw(st.integers(MIN_YEAR, MAX_YEAR))
    month = draw(st.none() | st.integers(1, 12))
    if month is None:
        return PartialDate(year)
    day = draw(st.none() | st.integers(1, calendar.monthrange(year, month)[1]))
    return PartialDate(year, month, day)


# Construction ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "precision"),
    [((1990,), "year"), ((1990, 5), "month"), ((1990, 5, 17), "day"), ((2000, 2, 29), "day")],
)
def test_valid_parts_and_their_precision(parts, precision):
    assert PartialDate(*parts).precision == precision


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        ((1799,), "date.year_range"),
        ((2400,), "date.year_range"),
        ((1990, 0), "date.month_range"),
        ((1990, 13), "date.month_range"),
        ((1990, 4, 31), "date.day_range"),
        ((1990, 5, 0), "date.day_range"),
        ((1900, 2, 29), "date.day_range"),
        ((2023, 2, 29), "date.day_range"),
        ((1990, None, 17), "date.day_without_month"),
        ((True,), "date.invalid"),
        ((1990, "5"), "date.invalid"),
    ],
)
def test_invalid_parts_are_refused_with_a_rule_code(parts, code):
    with pytest.raises(PartialDateError) as caught:
        PartialDate(*parts)
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == caught.value.message_en


def test_day_range_message_says_how_many_days_the_month_has():
    with pytest.raises(ValueError, match="has 28 days"):
        PartialDate(2023, 2, 29)


def test_error_becomes_a_field_error_for_any_field():
    with pytest.raises(PartialDateError) as caught:
        PartialDate(1990, 13)
    error = caught.value.field_error("birth_date")
    assert (error.field, error.code) == ("birth_date", "date.month_range")
    assert "13" in error.message_vi


# Parsing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990", PartialDate(1990)),
        ("1990-05", PartialDate(1990, 5)),
        ("1990-05-17", PartialDate(1990, 5, 17)),
        ("17/05/1990", PartialDate(1990, 5, 17)),
        ("7/5/1990", PartialDate(1990, 5, 7)),
        ("05/1990", PartialDate(1990, 5)),
        ("5/1990", PartialDate(1990, 5)),
        ("  17/05/1990\n", PartialDate(1990, 5, 17)),
        (" 1990 ", PartialDate(1990)),
        ("29/02/2024", PartialDate(2024, 2, 29)),
    ],
)
def test_parse_accepts_the_documented_formats(text, expected):
    assert PartialDate.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "90",
        "1990-5",
        "1990-05-7",
        "17.05.1990",
        "1990/05/17",
        "17/05/90",
        "May 1990",
        "１９９０",
        "1990-05-17T00",
    ],
)
def test_parse_refuses_other_formats_and_names_the_accepted_ones(text):
    with pytest.raises(PartialDateError) as caught:
        PartialDate.parse(text)
    assert caught.value.code == "date.format"
    assert "YYYY-MM-DD" in caught.value.message_en
    assert "DD/MM/YYYY" in caught.value.message_vi


@pytest.mark.parametrize(
    ("text", "code"), [("31/02/1990", "date.day_range"), ("13/1990", "date.month_range")]
)
def test_parse_reports_impossible_dates_by_their_rule(text, code):
    with pytest.raises(PartialDateError) as caught:
        PartialDate.parse(text)
    assert caught.value.code == code


def test_from_storage_accepts_only_storage_strings():
    assert PartialDate.from_storage("1990-05") == PartialDate(1990, 5)
    with pytest.raises(PartialDateError) as caught:
        PartialDate.from_storage("17/05/1990")
    assert caught.value.code == "date.storage_format"


def test_from_date_and_datetime():
    assert PartialDate.from_date(date(1990, 5, 17)) == PartialDate(1990, 5, 17)
    assert PartialDate.from_date(datetime(1990, 5, 17, 23, 59)) == PartialDate(1990, 5, 17)  # noqa: DTZ001


# Meaning -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partial", "earliest", "latest"),
    [
        (PartialDate(1990), date(1990, 1, 1), date(1990, 12, 31)),
        (PartialDate(2024, 2), date(2024, 2, 1), date(2024, 2, 29)),
        (PartialDate(2023, 2), date(2023, 2, 1), date(2023, 2, 28)),
        (PartialDate(1990, 5, 17), date(1990, 5, 17), date(1990, 5, 17)),
    ],
)
def test_earliest_and_latest_days(partial, earliest, latest):
    assert partial.earliest() == earliest
    assert partial.latest() == latest


def test_as_date_only_for_full_dates():
    assert PartialDate(1990, 5, 17).as_date() == date(1990, 5, 17)
    assert PartialDate(1990, 5).as_date() is None
    assert PartialDate(1990).as_date() is None


def test_certain_and_possible_comparisons_with_a_day():
    born = PartialDate(1990, 5)
    assert born.is_after(date(1990, 4, 30))
    assert not born.is_after(date(1990, 5, 1))
    assert born.may_be_after(date(1990, 5, 30))
    assert not born.may_be_after(date(1990, 5, 31))
    assert born.is_before(date(1990, 6, 1))
    assert not born.is_before(date(1990, 5, 31))
    assert born.may_be_before(date(1990, 5, 2))
    assert not born.may_be_before(date(1990, 5, 1))
    assert born.contains(date(1990, 5, 31))
    assert not born.contains(date(1990, 6, 1))


@given(partial_dates(), st.dates(date(1799, 1, 1), date(2400, 12, 31)))
def test_certain_implies_possible(partial, day):
    if partial.is_after(day):
        assert partial.may_be_after(day)
        assert not partial.contains(day)
    if partial.is_before(day):
        assert partial.may_be_before(day)
        assert not partial.contains(day)


# Text and ordering -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partial", "storage", "display"),
    [
        (PartialDate(1990), "1990", "1990"),
        (PartialDate(1990, 5), "1990-05", "05/1990"),
        (PartialDate(1990, 5, 7), "1990-05-07", "07/05/1990"),
        (PartialDate(1805, 12, 31), "1805-12-31", "31/12/1805"),
    ],
)
def test_storage_and_display_forms(partial, storage, display):
    assert partial.to_storage() == storage
    assert str(partial) == display


def test_coarser_dates_sort_before_the_finer_dates_they_contain():
    shuffled = [PartialDate(1991), PartialDate(1990, 5, 17), PartialDate(1990), PartialDate(1990, 5)]
    assert sorted(shuffled) == [
        PartialDate(1990),
        PartialDate(1990, 5),
        PartialDate(1990, 5, 17),
        PartialDate(1991),
    ]


def test_comparison_with_other_types_is_refused():
    with pytest.raises(TypeError):
        _ = PartialDate(1990) < "1991"
    assert PartialDate(1990) != "1990"


@given(partial_dates())
def test_display_form_parses_back(partial):
    assert PartialDate.parse(str(partial)) == partial


@given(partial_dates())
def test_storage_form_round_trips(partial):
    storage = partial.to_storage()
    assert PartialDate.from_storage(storage) == partial
    assert PartialDate.parse(storage) == partial
    assert len(storage) <= 10


@given(st.lists(partial_dates(), max_size=20))
def test_storage_order_is_chronological_with_coarser_first(partials):
    by_storage = sorted(partials, key=PartialDate.to_storage)
    by_time = sorted(partials, key=lambda p: (p.earliest(), PRECISION_RANK[p.precision]))
    assert by_storage == by_time
    assert sorted(partials) == by_storage


@given(partial_dates(), partial_dates())
def test_ordering_matches_storage_strings(a, b):
    assert (a < b) == (a.to_storage() < b.to_storage())
    assert (a <= b) == (a.to_storage() <= b.to_storage())
    assert (a == b) == (a.to_storage() == b.to_storage())
    if a == b:
        assert hash(a) == hash(b)


@given(st.dates(date(MIN_YEAR, 1, 1), date(MAX_YEAR, 12, 31)))
def test_full_dates_round_trip_through_date(day):
    assert PartialDate.from_date(day).as_date() == day


# Model field -------------------------------------------------------------------------------------------


def make_model():
    with isolate_apps("dancu.lib"):

        class Person(models.Model):
            birth_date = PartialDateField(db_index=True)
            date_of_death = PartialDateField(null=True, blank=True)

            class Meta:
                app_label = "lib"

            def __str__(self) -> str:
                return str(self.birth_date)

    return Person


def test_deconstruct_leaves_out_the_default_length():
    field = PartialDateField(null=True, blank=True)
    field.set_attributes_from_name("date_of_death")
    name, path, args, kwargs = field.deconstruct()
    assert (name, path, args) == ("date_of_death", "dancu.lib.partial_date.PartialDateField", [])
    assert kwargs == {"null": True, "blank": True}


def test_deconstruct_is_stable_through_reconstruction():
    for field in (PartialDateField(), PartialDateField(max_length=12, db_index=True)):
        _, _, args, kwargs = field.deconstruct()
        _, _, args_again, kwargs_again = PartialDateField(*args, **kwargs).deconstruct()
        assert (args, kwargs) == (args_again, kwargs_again)
    assert PartialDateField(max_length=12).deconstruct()[3] == {"max_length": 12}


def test_too_short_max_length_fails_the_system_check():
    model = make_model()
    field = PartialDateField(max_length=7)
    field.set_attributes_from_name("baptised")
    field.model = model
    assert [message.id for message in field.check()] == ["dancu.lib.E001"]
    assert model._meta.get_field("birth_date").check() == []


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (PartialDate(1990, 5), "1990-05"),
        ("17/05/1990", "1990-05-17"),
        ("1990", "1990"),
        (date(1990, 5, 17), "1990-05-17"),
        (None, None),
        ("  ", None),
    ],
)
def test_values_are_stored_as_storage_strings(value, stored):
    assert PartialDateField().get_prep_value(value) == stored


@pytest.mark.parametrize("value", ["17.05.1990", date(1700, 1, 1), 1990])
def test_unusable_values_raise_validation_errors(value):
    with pytest.raises(ValidationError) as caught:
        PartialDateField().to_python(value)
    assert caught.value.code == "invalid_partial_date"


def test_database_values_come_back_as_partial_dates():
    field = PartialDateField(null=True)
    assert field.from_db_value("1990-05", None, None) == PartialDate(1990, 5)
    assert field.from_db_value(None, None, None) is None
    assert field.from_db_value("", None, None) is None


def test_model_instances_clean_and_serialize():
    person_model = make_model()
    person = person_model(birth_date="7/5/1990")
    person.clean_fields()
    assert person.birth_date == PartialDate(1990, 5, 7)
    assert person.date_of_death is None
    field = person_model._meta.get_field("birth_date")
    assert field.value_to_string(person) == "1990-05-07"
    assert person_model._meta.get_field("date_of_death").value_to_string(person) == ""


def test_model_validation_reports_a_bad_date_against_its_field():
    person = make_model()(birth_date="31/02/1990")
    with pytest.raises(ValidationError) as caught:
        person.clean_fields()
    assert list(caught.value.message_dict) == ["birth_date"]


def test_lookups_run_on_the_storage_string():
    person_model = make_model()
    _, params = person_model.objects.filter(birth_date__startswith="1990").query.sql_with_params()
    assert params == ("1990%",)
    _, params = person_model.objects.filter(birth_date="17/05/1990").query.sql_with_params()
    assert params == ("1990-05-17",)
    _, params = person_model.objects.filter(birth_date__gte=date(1990, 1, 1)).query.sql_with_params()
    assert params == ("1990-01-01",)


# Form field --------------------------------------------------------------------------------------------


def test_model_field_gives_the_partial_date_form_field():
    form_field = make_model()._meta.get_field("date_of_death").formfield()
    assert isinstance(form_field, PartialDateFormField)
    assert not form_field.required
    assert form_field.clean("05/1990") == PartialDate(1990, 5)
    assert form_field.clean(PartialDate(1990)) == PartialDate(1990)
    assert form_field.clean(date(1990, 5, 17)) == PartialDate(1990, 5, 17)
    assert form_field.clean("") is None


def test_form_field_error_is_vietnamese_by_default_and_english_on_request():
    form_field = PartialDateFormField()
    with translation.override("vi"), pytest.raises(ValidationError) as caught:
        form_field.clean("1990/05/17")
    assert "các dạng được chấp nhận" in caught.value.messages[0]
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        form_field.clean("30/02/1990")
    assert caught.value.messages == ["The day 30 is not valid: 1990-02 has 28 days."]
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        form_field.clean(date(1700, 1, 1))
    assert caught.value.messages == ["The year 1700 is outside the accepted range 1800-2399."]


def test_form_field_shows_values_the_vietnamese_way():
    form_field = PartialDateFormField()
    assert form_field.prepare_value(PartialDate(1990, 5, 17)) == "17/05/1990"
    assert form_field.prepare_value(date(1990, 5, 17)) == "17/05/1990"
    assert form_field.prepare_value("typed text") == "typed text"
    assert "placeholder" in form_field.widget.attrs
    assert "maxlength" not in form_field.widget.attrs


# parse_legacy ------------------------------------------------------------------------------------------

TODAY = date(2025, 3, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990", PartialDate(1990)),
        ("05/1990", PartialDate(1990, 5)),
        ("17/05/1990", PartialDate(1990, 5, 17)),
        ("1990-05-17", PartialDate(1990, 5, 17)),
        ("17-05-1990", PartialDate(1990, 5, 17)),
        ("17.05.1990", PartialDate(1990, 5, 17)),
        ("7.5.1990", PartialDate(1990, 5, 7)),
        ("17-05-90", PartialDate(1990, 5, 17)),
        ("17/05/54", PartialDate(1954, 5, 17)),
        ("17.05.54", PartialDate(1954, 5, 17)),
        ("01-01-25", PartialDate(2025, 1, 1)),  # not after today: this year
        ("01/03/25", PartialDate(2025, 3, 1)),  # today itself
        ("02/03/25", PartialDate(1925, 3, 2)),  # tomorrow would be in the future: a century back
        ("29/02/00", PartialDate(2000, 2, 29)),
        ("29/02/24", PartialDate(2024, 2, 29)),
        ("05-1990", PartialDate(1990, 5)),
        ("5.1990", PartialDate(1990, 5)),
        ("1990-05-17 00:00:00", PartialDate(1990, 5, 17)),
        ("1990-05-17T00:00", PartialDate(1990, 5, 17)),
        ("1990-05-17 08:30:00.000", PartialDate(1990, 5, 17)),
        ("17/05/1990 00:00:00", PartialDate(1990, 5, 17)),
        ("  17-05-90 ", PartialDate(1990, 5, 17)),
    ],
)
def test_parse_legacy_reads_the_formats_of_old_sources(text, expected):
    parsed = parse_legacy(text, today=TODAY)
    assert parsed == expected
    assert parsed.precision == expected.precision


@pytest.mark.parametrize(
    "text", ["17/05-1990", "1990/05/17", "17 05 1990", "tháng 5", "", "17/05/1990 lúc 8h"]
)
def test_parse_legacy_lists_the_accepted_formats_when_it_cannot_read(text):
    with pytest.raises(PartialDateError) as caught:
        parse_legacy(text, today=TODAY)
    assert caught.value.code == "date.format"
    for form in ("DD-MM-YY", "DD.MM.YYYY", "MM-YYYY", "YYYY-MM-DD HH:MM:SS", "DD/MM/YYYY"):
        assert form in caught.value.message_en
        assert form in caught.value.message_vi
    assert LEGACY_ACCEPTED_FORMATS in caught.value.message_en


@pytest.mark.parametrize(
    ("text", "code", "year"),
    [
        ("31/02/90", "date.day_range", "1990"),
        ("29/02/25", "date.day_range", "2025"),
        ("17-13-90", "date.month_range", ""),
    ],
)
def test_parse_legacy_reports_impossible_dates_in_a_year_the_reader_recognises(text, code, year):
    with pytest.raises(PartialDateError) as caught:
        parse_legacy(text, today=TODAY)
    assert caught.value.code == code
    assert year in caught.value.message_en


@given(partial_dates())
def test_parse_legacy_reads_everything_parse_reads(partial):
    assert parse_legacy(str(partial), today=TODAY) == partial
    assert parse_legacy(partial.to_storage(), today=TODAY) == partial


@given(st.dates(min_value=date(1926, 3, 2), max_value=TODAY), st.sampled_from("-/."))
def test_a_two_digit_year_within_a_century_of_today_is_read_back(day, separator):
    text = f"{day.day:02d}{separator}{day.month:02d}{separator}{day.year % 100:02d}"
    assert parse_legacy(text, today=TODAY) == PartialDate.from_date(day)


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2300, 12, 31)),
    st.dates(min_value=date(1900, 1, 1), max_value=date(MAX_YEAR, 12, 31)),
)
def test_a_two_digit_year_is_never_after_today(day, today):
    # A 29 February can fail in a year ending so with no leap day in the century before today (the
    # examples above show its error).
    assume((day.month, day.day) != (2, 29))
    parsed = parse_legacy(f"{day.day:02d}-{day.month:02d}-{day.year % 100:02d}", today=today).as_date()
    assert parsed is not None
    assert parsed <= today
    assert parsed.year % 100 == day.year % 100
    assert (today - parsed).days < 100 * 366


@given(st.dates(min_value=date(1800, 1, 1), max_value=date(2399, 12, 31)))
def test_excel_timestamps_keep_the_day(day):
    assert parse_legacy(f"{day.isoformat()} 00:00:00", today=TODAY) == PartialDate.from_date(day)
    assert parse_legacy(f"{day.month:02d}-{day.year}", today=TODAY) == PartialDate(day.year, day.month)
