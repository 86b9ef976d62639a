"""Dates known to the day, as officers type them on the pages: one field for every such box.

Django's DateField refuses whatever it cannot read with one generic "Nhập một ngày hợp lệ." that names no
rule and no format, so an officer who typed "31/02/2024" or "12/31/2024" (month first, as an English
habit) is not told what is wrong. `FullDateFormField` reads exactly the formats of the page's language
(`DATE_INPUT_FORMATS` in `config/formats`, day before month) and, when it cannot, says why with the rule
code the imports use (`date.format`, `date.day_range`, `date.month_range`, `date.year_range`) and the
formats it accepts, day first.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext

# Numbers separated by one of the separators the formats use, so that a refused date can be taken apart
# to say which part is wrong. ASCII digits only, as `PartialDate.parse` reads them.
_PARTS = re.compile(r"([0-9]+)([-/.])([0-9]+)(?:\2([0-9]+))?")
_FORMAT_PARTS = {"%d": "DD", "%m": "MM", "%Y": "YYYY"}
# The value of an <input type="date"> is always ISO, whatever the browser shows and whatever the page's
# first input format: a value in any other form is dropped by the browser, and the box shown empty.
ISO_FORMAT = "%Y-%m-%d"


class DayInput(forms.DateInput):
    """The browser's own date box: a calendar on a phone rather than a keyboard, and a value sent as ISO
    whatever order the browser shows the day and month in."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=ISO_FORMAT)

    def format_value(self, value: Any) -> str | None:
        # A date typed day first in a browser without a date box ("17/05/2024"), or kept so in a draft,
        # is shown in the ISO form the date box needs; one that cannot be read is shown as it was sent,
        # beside its error.
        if isinstance(value, str) and value.strip():
            try:
                value = _read(value.strip(), list(formats.get_format("DATE_INPUT_FORMATS")))
            except ValueError:
                return value
        return super().format_value(value)


class FullDateFormField(forms.DateField):
    """A date known to the day, read in the page's formats; a text it cannot read is refused by its rule.

    Whether the day may be in the future, before the citizen's birth or after the registry's last year is
    each service's rule, with its own code (`date.future`, `residence.before_birth`, ...): the field only
    says whether the text is a day of the calendar.
    """

    widget = DayInput

    def to_python(self, value: Any) -> date | None:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        accepted = [str(fmt) for fmt in self.input_formats or ()]
        try:
            return _read(text, accepted)
        except ValueError:
            code, reason = _diagnosis(text)
        day_first = sorted(accepted, key=lambda fmt: fmt.startswith("%Y"))
        hint = gettext("Các dạng được chấp nhận: %(formats)s, ví dụ %(example)s.") % {
            "formats": ", ".join(_shown(fmt) for fmt in day_first),
            "example": date(2024, 5, 17).strftime(day_first[0]),
        }
        # The rule code in brackets after the message, as every refusal on the pages shows it.
        raise ValidationError(f"{reason} {hint} [{code}]", code=code)


def _read(text: str, accepted: list[str]) -> date:
    """The day `text` writes in one of the `accepted` formats, or ValueError."""
    # ASCII only: strptime's patterns also take other scripts' digits (full-width "１"), which nobody types
    # on purpose into a date and which would store a day other than the one the officer saw.
    if text.isascii():
        for fmt in accepted:
            try:
                return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar day, no time of day
            except ValueError:
                continue
    raise ValueError(text)


def _diagnosis(text: str) -> tuple[str, str]:
    """The rule a text that is not a day breaks, and why, in the page's language."""
    parts = _PARTS.fullmatch(text)
    if parts is None:
        return "date.format", gettext("Không đọc được ngày.")
    first, middle, last = parts.group(1), parts.group(3), parts.group(4)
    if last is None:
        # "2024-01" or "01/2024": a month, where the document gives the day.
        return "date.format", gettext("Cần đủ ngày, tháng và năm.")
    if len(first) > 2:
        year, month, day = int(first), int(middle), int(last)
    elif len(last) > 2:
        year, month, day = int(last), int(middle), int(first)
    else:
        return "date.format", gettext("Năm cần đủ bốn chữ số (2025, không phải 25).")
    if not date.min.year <= year <= date.max.year:
        return "date.year_range", gettext("Năm %(year)s không có trong lịch: năm phải từ 1 đến 9999.") % {
            "year": year
        }
    if not 1 <= month <= 12:
        # Most often a date typed month first ("12/31/2024"), as English forms write it.
        return "date.month_range", gettext(
            "Không có tháng %(month)s: tháng phải từ 1 đến 12 và viết sau ngày."
        ) % {"month": month}
    last_day = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last_day:
        return "date.day_range", gettext("Không có ngày %(day)s: tháng %(month)s có %(last)s ngày.") % {
            "day": day,
            "month": f"{month:02d}/{year:04d}",
            "last": last_day,
        }
    # Every part is in range, in an order or with separators the page does not take ("2024/05/17").
    return "date.format", gettext("Không đọc được ngày.")


def _shown(fmt: str) -> str:
    for code, shown in _FORMAT_PARTS.items():
        fmt = fmt.replace(code, shown)
    return fmt
