"""Numbers in Vietnamese and English notation."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dancu.lib.numbers import format_decimal, format_int, format_percent


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


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_a_vietnamese_integer_reads_back_to_itself(value: int) -> None:
    assert int(format_int(value).replace(".", "")) == value
