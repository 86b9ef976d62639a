"""Dates that may be known only to the year or to the month.

Legacy population records often know a birth date only as "1954" or "05/1954" (ngày sinh không đầy đủ).
The registry keeps exactly what the source knows instead of inventing a 1 January: a `PartialDate` has a
year, optionally a month, optionally a day. It is stored as an ISO-like string ("1954", "1954-05",
"1954-05-17") whose lexicographic order is chronological, so the database can sort, index and filter
by prefix (`birth_date__startswith="1954"`) without a custom type.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from django import forms
from django.core import checks, validators
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language

from dancu.lib.errors import FieldError

Precision = Literal["year", "month", "day"]

# The registry holds people born from the early nineteenth century (legacy death records) on; the upper
# bound is the last year the PIN's century digit can encode (2300s), so every date a PIN can express fits.
MIN_YEAR = 1800
MAX_YEAR = 2399

ACCEPTED_FORMATS = "YYYY, YYYY-MM, YYYY-MM-DD, DD/MM/YYYY, MM/YYYY"

# ASCII digits only: `\d` would also accept Arabic-Indic or full-width digits, which no source uses on
# purpose and which would then be stored as something other than what was typed.
_ISO = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
_VIETNAMESE_DAY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_VIETNAMESE_MONTH = re.compile(r"([0-9]{1,2})/([0-9]{4})")


class PartialDateError(ValueError):
    """A text or a set of parts that is not a partial date; carries a bilingual message and a rule code.

    `str(error)` is the English message, so code that treats it as a plain ValueError still says
    something useful; forms and imports use `field_error()` to report it against their own field.
    """

    def __init__(self, code: str, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_vi = message_vi
        self.message_en = message_en

    def field_error(self, field: str) -> FieldError:
        return FieldError(field, self.code, self.message_vi, self.message_en)


@functools.total_ordering
@dataclass(frozen=True)
class PartialDate:
    """A calendar date known to the year, the month or the day."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        # bool is an int subclass; PartialDate(True) is a bug in the caller, not the year 1.
        for name, part in (("year", self.year), ("month", self.month), ("day", self.day)):
            if part is not None and (not isinstance(part, int) or isinstance(part, bool)):
                raise PartialDateError(
                    "date.invalid",
                    f"Phần «{name}» của ngày phải là số nguyên, không phải {part!r}.",
                    f"The {name} of a date must be an integer, not {part!r}.",
                )
        if not MIN_YEAR <= self.year <= MAX_YEAR:
            raise PartialDateError(
                "date.year_range",
                f"Năm {self.year} nằm ngoài khoảng cho phép {MIN_YEAR}–{MAX_YEAR}.",
                f"The year {self.year} is outside the accepted range {MIN_YEAR}-{MAX_YEAR}.",
            )
        if self.month is None:
            if self.day is not None:
                raise PartialDateError(
                    "date.day_without_month",
                    "Không thể ghi ngày khi chưa biết tháng.",
                    "A day cannot be given without a month.",
                )
            return
        if not 1 <= self.month <= 12:
            raise PartialDateError(
                "date.month_range",
                f"Tháng {self.month} không hợp lệ: tháng phải từ 1 đến 12.",
                f"The month {self.month} is not valid: months run from 1 to 12.",
            )
        if self.day is not None:
            last_day = calendar.monthrange(self.year, self.month)[1]
            if not 1 <= self.day <= last_day:
                raise PartialDateError(
                    "date.day_range",
                    f"Ngày {self.day} không hợp lệ: tháng {self.month:02d}/{self.year} có {last_day} ngày.",
                    f"The day {self.day} is not valid: {self.year}-{self.month:02d} has {last_day} days.",
                )

    # Construction -----------------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """Read the formats people and legacy files use: YYYY, YYYY-MM, YYYY-MM-DD, DD/MM/YYYY, MM/YYYY.

        Day and month may have one digit in the slash forms ("7/5/1990"), as handwritten forms often do.
        """
        stripped = text.strip()
        if match := _ISO.fullmatch(stripped):
            return cls._from_parts(match.group(1), match.group(2), match.group(3))
        if match := _VIETNAMESE_DAY.fullmatch(stripped):
            return cls._from_parts(match.group(3), match.group(2), match.group(1))
        if match := _VIETNAMESE_MONTH.fullmatch(stripped):
            return cls._from_parts(match.group(2), match.group(1), None)
        raise PartialDateError(
            "date.format",
            f"Không đọc được ngày {text!r}; các dạng được chấp nhận: {ACCEPTED_FORMATS} "
            "(ví dụ 17/05/1990, 05/1990, 1990).",
            f"Cannot read {text!r} as a date; accepted formats: {ACCEPTED_FORMATS} "
            "(e.g. 17/05/1990, 05/1990, 1990).",
        )

    @classmethod
    def _from_parts(cls, year: str, month: str | None, day: str | None) -> PartialDate:
        return cls(int(year), None if month is None else int(month), None if day is None else int(day))

    @classmethod
    def from_date(cls, value: date) -> PartialDate:
        """A partial date known to the day.

        A datetime counts as the calendar date it shows, in its own time zone: converting it would be a
        guess about which zone the source meant.
        """
        if isinstance(value, datetime):
            value = value.date()
        return cls(value.year, value.month, value.day)

    @classmethod
    def from_storage(cls, text: str) -> PartialDate:
        """Read a storage string ("1990", "1990-05", "1990-05-17") and nothing else."""
        match = _ISO.fullmatch(text)
        if match is None:
            raise PartialDateError(
                "date.storage_format",
                f"Giá trị lưu trữ {text!r} không phải YYYY, YYYY-MM hay YYYY-MM-DD.",
                f"The stored value {text!r} is not YYYY, YYYY-MM or YYYY-MM-DD.",
            )
        return cls._from_parts(match.group(1), match.group(2), match.group(3))

    # What it means -----------------------------------------------------------------------------------

    @property
    def precision(self) -> Precision:
        if self.day is not None:
            return "day"
        if self.month is not None:
            return "month"
        return "year"

    def as_date(self) -> date | None:
        """The date itself when known to the day, else None: a partial date is not a 1 January."""
        if self.month is None or self.day is None:
            return None
        return date(self.year, self.month, self.day)

    def earliest(self) -> date:
        """The first real day this partial date can mean."""
        return date(self.year, self.month or 1, self.day or 1)

    def latest(self) -> date:
        """The last real day this partial date can mean."""
        if self.month is None:
            return date(self.year, 12, 31)
        if self.day is None:
            return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])
        return date(self.year, self.month, self.day)

    def is_after(self, other: date) -> bool:
        """True when every day this partial date can mean is later than `other`."""
        return self.earliest() > other

    def may_be_after(self, other: date) -> bool:
        """True when at least one day this partial date can mean is later than `other`."""
        return self.latest() > other

    def is_before(self, other: date) -> bool:
        """True when every day this partial date can mean is earlier than `other`."""
        return self.latest() < other

    def may_be_before(self, other: date) -> bool:
        """True when at least one day this partial date can mean is earlier than `other`."""
        return self.earliest() < other

    def contains(self, other: date) -> bool:
        """True when `other` is one of the days this partial date can mean."""
        return self.earliest() <= other <= self.latest()

    # Text --------------------------------------------------------------------------------------------

    def to_storage(self) -> str:
        """Return "1990", "1990-05" or "1990-05-17".

        The parts have fixed widths, so string order is chronological and a coarser date sorts before
        the finer dates it contains.
        """
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def __str__(self) -> str:
        """The Vietnamese display form: "17/05/1990", "05/1990" or "1990"."""
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.month:02d}/{self.year:04d}"
        return f"{self.day:02d}/{self.month:02d}/{self.year:04d}"

    # Ordering follows the storage string so that Python and the database sort the same way.

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self.to_storage() < other.to_storage()


def _localized(error: PartialDateError) -> str:
    language = get_language() or "vi"
    return error.message_en if language.startswith("en") else error.message_vi


class PartialDateFormField(forms.CharField):
    """A text input that accepts every format of `PartialDate.parse` and cleans to a PartialDate."""

    default_error_messages: ClassVar[dict[str, Any]] = {"invalid": "%(message)s"}

    def __init__(self, **kwargs: Any) -> None:
        # Typed input may carry surrounding spaces that the stored string does not, and the cleaned
        # value is not a string at all, so a length limit here would only add a confusing second error.
        kwargs.pop("max_length", None)
        kwargs.setdefault("empty_value", None)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> PartialDate | None:  # type: ignore[override]
        if isinstance(value, PartialDate):
            return value
        try:
            if isinstance(value, date):
                return PartialDate.from_date(value)
            text = super().to_python(value)
            if text is None or text in self.empty_values:
                return None
            return PartialDate.parse(text)
        except PartialDateError as exc:
            raise ValidationError(
                self.error_messages["invalid"], code="invalid", params={"message": _localized(exc)}
            ) from None

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, PartialDate):
            return str(value)
        if isinstance(value, date):
            return str(PartialDate.from_date(value))
        return value

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        if not widget.is_hidden:
            attrs.setdefault("placeholder", "dd/mm/yyyy")
        return attrs


class PartialDateField(models.CharField[PartialDate | str | date | None, PartialDate | None]):
    """A model field holding a PartialDate as its storage string in a VARCHAR(10).

    NULL means unknown. Lookups work on the storage string: `__startswith="1990"` finds every date in
    1990 whatever its precision, and comparisons order coarser dates first ("1990" < "1990-01-01"), so
    `__gte=date(1990, 1, 1)` leaves out a date known only as "1990".
    """

    description = "Partial date (year, year and month, or full date)"
    STORAGE_LENGTH = 10

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", self.STORAGE_LENGTH)
        super().__init__(*args, **kwargs)
        # CharField adds a MaxLengthValidator, which would call len() on the PartialDate that model
        # validation hands to validators. The storage string is never longer than 10 characters and
        # _check_storage_length refuses a smaller max_length, so the validator has nothing to guard.
        self.validators[:] = [v for v in self.validators if not isinstance(v, validators.MaxLengthValidator)]

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [*super().check(**kwargs), *self._check_storage_length()]

    def _check_storage_length(self) -> list[checks.CheckMessage]:
        if self.max_length is not None and self.max_length < self.STORAGE_LENGTH:
            return [
                checks.Error(
                    f"PartialDateField needs max_length >= {self.STORAGE_LENGTH} to hold 'YYYY-MM-DD'.",
                    obj=self,
                    id="dancu.lib.E001",
                )
            ]
        return []

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        # Leaving out the default keeps migrations free of a max_length nobody chose.
        if kwargs.get("max_length") == self.STORAGE_LENGTH:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> PartialDate | None:
        if value is None or value == "":
            return None
        return PartialDate.from_storage(value)

    def to_python(self, value: Any) -> PartialDate | None:
        if value is None or isinstance(value, PartialDate):
            return value
        if isinstance(value, date):
            try:
                return PartialDate.from_date(value)
            except PartialDateError as exc:
                raise ValidationError(_localized(exc), code="invalid_partial_date") from None
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return PartialDate.parse(value)
            except PartialDateError as exc:
                raise ValidationError(_localized(exc), code="invalid_partial_date") from None
        raise ValidationError(
            f"Không thể dùng {value!r} làm ngày. (Cannot use {value!r} as a date.)",
            code="invalid_partial_date",
        )

    def get_prep_value(self, value: Any) -> str | None:
        # CharField.get_prep_value resolves lazy strings and then calls our to_python.
        partial = super().get_prep_value(value)
        return None if partial is None else partial.to_storage()

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        partial = self.to_python(value)
        return "" if partial is None else partial.to_storage()

    def formfield(self, **kwargs: Any) -> Any:
        # Skip CharField.formfield: it would pass max_length, which PartialDateFormField does not use.
        return models.Field.formfield(self, **{"form_class": PartialDateFormField, **kwargs})


# Legacy sources ------------------------------------------------------------------------------------------

LEGACY_ACCEPTED_FORMATS = (
    f"{ACCEPTED_FORMATS}, DD-MM-YYYY, DD.MM.YYYY, DD/MM/YY, DD-MM-YY, DD.MM.YY, MM-YYYY, YYYY-MM-DD HH:MM:SS"
)

# Day-first forms with any of the three separators people and spreadsheets use; the separators must
# agree ("17/05-1990" is a typing error, not a date).
_LEGACY_DAY = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})")
_LEGACY_MONTH = re.compile(r"([0-9]{1,2})[-.]([0-9]{4})")
# Spreadsheets export a date cell as a timestamp at midnight ("1990-05-17 00:00:00", sometimes with a "T"
# or fractions of a second, sometimes day first); the time says nothing about a birth date and is dropped.
_TIME = r"[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
_ISO_TIMESTAMP = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})" + _TIME)
_DAY_FIRST_TIMESTAMP = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})" + _TIME)


def _resolve_two_digit_year(two_digits: int, month: int, day: int, *, today: date) -> int:
    """The latest year ending in `two_digits` that puts `day`/`month` on or before `today`.

    Legacy forms wrote birth dates as "17/05/54"; a birth cannot be in the future, so "54" read on
    2025-03-01 is 1954, "24" is 2024 and "25-06-25" is 1925. A 29 February skips the centuries without
    one. When no century makes a real date of the parts (31 February), the year returned is the latest
    one not after today's month, so that PartialDate's error names a year the reader recognises.
    """
    latest = today.year - (today.year - two_digits) % 100
    centuries = range(latest, MIN_YEAR - 1, -100)
    for year in centuries:
        if (
            1 <= month <= 12
            and 1 <= day <= calendar.monthrange(year, month)[1]
            and date(year, month, day) <= today
        ):
            return year
    return next((year for year in centuries if (year, month) <= (today.year, today.month)), latest)


def parse_legacy(text: str, *, today: date) -> PartialDate:
    """Read a date from a legacy source: everything `PartialDate.parse` reads, plus DD-MM-YYYY,
    DD.MM.YYYY, DD/MM/YY, DD-MM-YY, DD.MM.YY, MM-YYYY and spreadsheet timestamps ("1990-05-17 00:00:00").

    Precision is kept: "05-1990" is known to the month, "1990" to the year. A two-digit year is the latest
    year that puts the date on or before `today` (see `_resolve_two_digit_year`). Raises PartialDateError
    with rule `date.format` listing the accepted formats, or the rule of the part that is out of range.
    """
    stripped = text.strip()
    try:
        return PartialDate.parse(stripped)
    except PartialDateError as exc:
        if exc.code != "date.format":
            raise
    if match := _LEGACY_DAY.fullmatch(stripped):
        day, month, year_text = int(match.group(1)), int(match.group(3)), match.group(4)
        year = (
            int(year_text)
            if len(year_text) == 4
            else _resolve_two_digit_year(int(year_text), month, day, today=today)
        )
        return PartialDate(year, month, day)
    if match := _LEGACY_MONTH.fullmatch(stripped):
        return PartialDate._from_parts(match.group(2), match.group(1), None)
    if match := _ISO_TIMESTAMP.fullmatch(stripped):
        return PartialDate._from_parts(match.group(1), match.group(2), match.group(3))
    if match := _DAY_FIRST_TIMESTAMP.fullmatch(stripped):
        return PartialDate._from_parts(match.group(3), match.group(2), match.group(1))
    raise PartialDateError(
        "date.format",
        f"Không đọc được ngày {text!r}; các dạng được chấp nhận: {LEGACY_ACCEPTED_FORMATS} "
        "(ví dụ 17/05/1990, 17-05-90, 05/1990, 1990).",
        f"Cannot read {text!r} as a date; accepted formats: {LEGACY_ACCEPTED_FORMATS} "
        "(e.g. 17/05/1990, 17-05-90, 05/1990, 1990).",
    )
