"""Rules a citizen record must satisfy before the registry accepts it ("đúng": consistent and valid).

The services, forms and API check their input here; the rules themselves (codes, severities, messages)
live in `registry.rules`, which imports use too, so a form and an import refuse the same value with the
same code and the same words. This module turns the rules' issues into the FieldErrors services raise;
the database constraints stay as the last line of defence.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from dancu.lib.errors import FieldError
from dancu.lib.partial_date import ACCEPTED_FORMATS, PartialDate, PartialDateError
from dancu.lib.vntext import nfc, normalize_name, text_errors
from dancu.registry import rules
from dancu.registry.models import Citizen, MaritalStatus, Sex
from dancu.registry.reference import ETHNICITIES, RELIGIONS
from dancu.registry.rules import Issue, field_errors

PHONE_RE = re.compile(r"^(\+84|0)[1-9][0-9]{8,9}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")
OLD_ID_RE = re.compile(r"^[0-9]{9}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")

_YEAR = re.compile(r"[0-9]{4}")


# The model's column is 200 characters; a longer address would pass the pattern and fail in the database.
EMAIL_MAX_LENGTH = 200


def _is_email(value: str) -> bool:
    """A plain address (Django's validator: no spaces, quotes, angle brackets or control characters)."""
    if len(value) > EMAIL_MAX_LENGTH or not EMAIL_RE.match(value):
        return False
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def error(field: str, code: str, vi: str, en: str) -> FieldError:
    """A FieldError with messages written for the occasion; `code` must be one of `rules.RULES`."""
    return FieldError(field=field, code=code, message_vi=vi, message_en=en)


def _text_errors(value: str, *, field: str, max_length: int) -> list[FieldError]:
    return field_errors(
        Issue.from_field_error(e) for e in text_errors(value, field=field, max_length=max_length)
    )


def parse_partial_date(value: Any, *, field: str) -> tuple[PartialDate | None, list[FieldError]]:
    if value is None or value == "":
        return None, []
    if isinstance(value, PartialDate):
        return value, []
    if isinstance(value, date):
        return PartialDate.from_date(value), []
    try:
        return PartialDate.parse(str(value)), []
    except PartialDateError as exc:
        # A date written the right way but not in the calendar names what is wrong with it: 30/02 is a day
        # February does not have, 13 no month, and a year after this one (2999) a date in the future.
        year = _YEAR.search(str(value))
        this_year = timezone.localdate().year
        if exc.code == "date.year_range" and year is not None and int(year.group()) > this_year:
            return None, [Issue(field, "date.future").as_field_error()]
        if exc.code in ("date.year_range", "date.month_range", "date.day_range"):
            return None, [Issue(field, exc.code).as_field_error()]
        return None, [Issue(field, "date.format", {"formats": ACCEPTED_FORMATS}).as_field_error()]
    except ValueError:
        return None, [Issue(field, "date.format", {"formats": ACCEPTED_FORMATS}).as_field_error()]


def date_not_in_future(value: PartialDate | date | None, *, field: str, today: date) -> list[FieldError]:
    return field_errors(rules.check_not_in_future(value, field=field, today=today))


def death_before_birth_errors(birth: PartialDate | None, death: PartialDate | None) -> list[FieldError]:
    return field_errors(rules.check_death_after_birth(birth, death))


def citizen_field_errors(data: dict[str, Any], *, today: date) -> list[FieldError]:
    """Check the personal fields of a citizen record; `data` holds already-parsed values."""
    issues: list[Issue] = []
    errors: list[FieldError] = []
    if "full_name" in data:
        issues += rules.check_name(data["full_name"], field="full_name")
    if data.get("other_names"):
        errors += _text_errors(data["other_names"], field="other_names", max_length=200)
    for field in ("birth_place", "native_place"):
        if data.get(field):
            errors += _text_errors(data[field], field=field, max_length=300)
    if "sex" in data and data["sex"] not in Sex.values:
        issues.append(Issue("sex", "sex.invalid", {"value": data["sex"]}))
    birth = data.get("birth_date")
    if "birth_date" in data and birth is None:
        issues.append(Issue("birth_date", "date.required"))
    issues += rules.check_not_in_future(birth, field="birth_date", today=today)
    death = data.get("date_of_death")
    issues += rules.check_not_in_future(death, field="date_of_death", today=today)
    issues += rules.check_not_in_future(
        data.get("missing_declared_on"), field="missing_declared_on", today=today
    )
    issues += rules.check_death_after_birth(birth, death)
    if "ethnicity" in data and data["ethnicity"] not in ETHNICITIES:
        issues.append(Issue("ethnicity", "ethnicity.unknown"))
    if "religion" in data and data["religion"] not in RELIGIONS:
        issues.append(Issue("religion", "religion.unknown"))
    if "nationality" in data and not COUNTRY_RE.match(data["nationality"] or ""):
        issues.append(Issue("nationality", "nationality.format"))
    issues += rules.check_blood_type(data.get("blood_type") or "", data.get("blood_type_source") or "")
    if data.get("blood_type_source"):
        errors += _text_errors(data["blood_type_source"], field="blood_type_source", max_length=200)
    issues += rules.check_cmnd(data.get("old_id_number"))
    if "marital_status" in data and data["marital_status"] not in MaritalStatus.values:
        issues.append(Issue("marital_status", "marital_status.invalid"))
    if data.get("phone") and not PHONE_RE.match(data["phone"]):
        issues.append(Issue("phone", "phone.format"))
    if data.get("email") and not _is_email(data["email"]):
        issues.append(Issue("email", "email.format"))
    return field_errors(issues) + errors


def pin_errors(
    pin: str, *, sex: str | None, birth: PartialDate | None, place_code: str | None
) -> list[FieldError]:
    """The PIN must decode and agree with the record's sex, birth year and place of birth registration."""
    return field_errors(rules.check_pin(pin, sex=sex, birth=birth, registration_place=place_code))


# Parsing citizen input: the registry's services and the DC01/DC02 forms read input with the same functions,
# so that a form is judged exactly as the write it leads to will be.


def clean_text(value: Any) -> str:
    """Text as the registry stores it: NFC, without surrounding whitespace; None becomes empty."""
    return nfc(str(value)).strip() if value is not None else ""


def parse_citizen_input(data: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Raw input (form, API) as model values; format errors are collected instead of raised."""
    parsed: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in data.items():
        if key in ("birth_date", "date_of_death"):
            partial, problems = parse_partial_date(value, field=key)
            errors += problems
            # An unreadable date is reported once, as unreadable, not again as missing.
            if not problems:
                parsed[key] = partial
        elif key == "missing_declared_on":
            parsed[key], problems = parse_full_date(value, field=key)
            errors += problems
        elif key == "full_name":
            # A missing name (None from a JSON null) is checked as a blank one: name.required.
            parsed[key] = normalize_name(value) if isinstance(value, str) else ""
        elif key == "old_id_number":
            parsed[key] = clean_text(value) or None
        elif key in ("nationality",):
            parsed[key] = clean_text(value).upper()
        else:
            parsed[key] = clean_text(value)
    return parsed, errors


def parse_full_date(value: Any, *, field: str) -> tuple[date | None, list[FieldError]]:
    """A date known to the day (ISO or DD/MM/YYYY), for fields that are real dates, not partial ones."""
    if value is None or value == "":
        return None, []
    if isinstance(value, date):
        return value, []
    partial, errors = parse_partial_date(value, field=field)
    if errors:
        return None, errors
    assert partial is not None
    full = partial.as_date()
    if full is None:
        # A year or a month is not enough for a registration or a declaration: the day is on the document.
        return None, [Issue(field, "date.format", {"formats": "YYYY-MM-DD, DD/MM/YYYY"}).as_field_error()]
    return full, []


def old_id_holder(old_id: str | None, *, exclude_pk: int | None = None) -> int | None:
    """The record, other than `exclude_pk`, that holds this CMND number (one query); None for none."""
    # A malformed number is reported by cmnd.format; looking it up could only fail (PostgreSQL refuses a
    # NUL character in a query parameter).
    if not old_id or not OLD_ID_RE.match(old_id):
        return None
    clash = Citizen.objects.filter(old_id_number=old_id)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    return clash.values_list("pk", flat=True).first()


def old_id_unique_errors(old_id: str | None, *, exclude_pk: int | None = None) -> list[FieldError]:
    """`cmnd.duplicate` when another citizen holds this CMND number (one query)."""
    clash = old_id_holder(old_id, exclude_pk=exclude_pk) is not None
    return [Issue("old_id_number", "cmnd.duplicate").as_field_error()] if clash else []
