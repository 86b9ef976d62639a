"""The card rules of Luật Căn cước 2023 that need no database: ages, validity, who must renew.

- A card is mandatory from 14 and issued on request (of the legal representative) under 14.
- Cards are changed at 14, 25, 40 and 60; a card issued, changed or re-issued within the 2 years before
  one of those ages is valid until the next one; a card issued at 60 or later does not expire.
"""

from __future__ import annotations

from datetime import date

from dancu.lib.partial_date import PartialDate

MANDATORY_AGE = 14
RENEWAL_AGES = (14, 25, 40, 60)
RENEWAL_WINDOW_YEARS = 2


def birthday(birth: date, age: int) -> date:
    """The day `birth` reaches `age`; someone born on 29 February has it on 28 February in other years."""
    year = birth.year + age
    try:
        return birth.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def age_on(birth: date, on: date) -> int:
    years = on.year - birth.year
    return years - 1 if (on.month, on.day) < (birth.month, birth.day) else years


def birth_day(birth: PartialDate) -> date:
    """The day a legacy birth date known only to the year or month counts from: its first day, as the
    card authorities do for records without a day."""
    return birth.earliest()


def card_expiry(birth: date, issued_on: date) -> date | None:
    """The expiry date printed on a card issued on `issued_on` ("có giá trị đến": the last day it is
    valid, the birthday of the next renewal age), or None when it never expires."""
    for age in RENEWAL_AGES:
        milestone = birthday(birth, age)
        window_start = birthday(milestone, -RENEWAL_WINDOW_YEARS)
        if issued_on < window_start:
            return milestone
    return None


def renewal_due(expires_on: date | None, today: date) -> bool:
    """Whether a card may be changed for age now: it has expired or expires within the next 2 years."""
    return expires_on is not None and birthday(expires_on, -RENEWAL_WINDOW_YEARS) <= today
