"""Ngày làm việc: the Vietnamese working-day calendar the 7-day delivery deadline is counted on.

Weekends, public holidays (Tết Nguyên đán by the lunar calendar, Giỗ Tổ Hùng Vương, 30-4, 1-5, Quốc
khánh) and the days off the government swaps for a Saturday worked come from the maintained `holidays`
package, not from a list of our own that would go stale every year.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

# Luật Căn cước 2023 art. 26: the card is returned within 7 working days of a complete application.
DELIVERY_WORKING_DAYS = 7


@lru_cache(maxsize=64)
def _calendar(year: int) -> holidays.HolidayBase:
    # One calendar per year, covering the next year too: a deadline counted from late December runs into
    # January, and Tết can fall in late January.
    return holidays.country_holidays("VN", years=(year, year + 1))


def is_working_day(day: date) -> bool:
    return bool(_calendar(day.year).is_working_day(day))


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (the start day itself does not count)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    counted = 0
    while counted < days:
        current += timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end`; negative when `end` is before `start`."""
    if end < start:
        return -working_days_between(end, start)
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count


def holiday_name(day: date) -> str | None:
    name = _calendar(day.year).get(day)
    return str(name) if name else None
