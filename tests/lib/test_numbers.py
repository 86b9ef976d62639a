"""Numbers in Vietnamese and English notation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dancu.lib.numbers import NumberError, format_decimal, format_int, format_percent, parse_int


def test_vietnamese_groups_thousands_with_dots_and_decimals_with_a_comma() -> None:
    assert format_int(1234567) == "1.234.567"
    assert format_int(938863) == "938.863"
    assert format_percent(938863 * 100 / 859268) == "109,3%"
    assert format_decimal(1234.25, places=2) == "1.234,25"
    assert format_int(0) == "0"


def test_english_keeps_commas_and_a_point() -> None:
    assert format_int(1234567, "en") == "1,234,567"
    assert format_percent(109.26, "en") == "109.3%"


def test_missing_figures_show_a_dash() -> None:
    assert format_int(None) == "—"
    assert format_percent(None) == "—"
    assert format_decimal(None) == "—"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_a_vietnamese_integer_reads_back_to_itself(value: int) -> None:
    assert int(format_int(value).replace(".", "")) == value


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["vi", "en"]))
def test_a_whole_number_as_the_page_writes_it_reads_back_to_itself(value: int, language: str) -> None:
    assert parse_int(format_int(value, language), language) == value
    assert parse_int(str(value), language) == value


@given(st.integers(min_value=1000, max_value=10**15), st.sampled_from(["vi", "en"]))
def test_digits_grouped_by_spaces_read_in_either_language(value: int, language: str) -> None:
    for space in (" ", "\u00a0", "\u202f"):
        assert parse_int(f"{value:,}".replace(",", space), language) == value


@pytest.mark.parametrize(
    ("text", "language", "code"),
    [
        ("٥", "vi", "number.ascii_digits"),
        ("１０", "en", "number.ascii_digits"),
        ("1,000", "vi", "number.not_whole"),  # one, in Vietnamese notation
        ("1.000", "en", "number.not_whole"),  # one, in English notation
        ("1.00", "vi", "number.format"),
        ("1,000 000", "en", "number.format"),
        ("1.000 000", "vi", "number.format"),
        (".100", "vi", "number.format"),
        ("1..000", "vi", "number.format"),
        ("+5", "vi", "number.format"),
        ("", "vi", "number.format"),
    ],
)
def test_what_is_not_plainly_a_whole_number_is_refused_with_its_rule(
    text: str, language: str, code: str
) -> None:
    with pytest.raises(NumberError) as refused:
        parse_int(text, language)
    assert refused.value.code == code
