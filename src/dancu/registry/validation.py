"""Rules a citizen record must satisfy before the registry accepts it ("đúng": consistent and valid).

Each rule returns FieldErrors with a stable code and messages in both languages. Services run them
before writing; the database constraints stay as the last line of defence.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from dancu.lib import pin as pin_codec
from dancu.lib.errors import FieldError
from dancu.lib.partial_date import PartialDate
from dancu.lib.vntext import name_errors, text_errors
from dancu.registry.models import MaritalStatus, Sex
from dancu.registry.reference import BLOOD_TYPES, ETHNICITIES, RELIGIONS

PHONE_RE = re.compile(r"^(\+84|0)[1-9][0-9]{8,9}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")
OLD_ID_RE = re.compile(r"^[0-9]{9}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


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
    return FieldError(field=field, code=code, message_vi=vi, message_en=en)


def parse_partial_date(value: Any, *, field: str) -> tuple[PartialDate | None, list[FieldError]]:
    if value is None or value == "":
        return None, []
    if isinstance(value, PartialDate):
        return value, []
    if isinstance(value, date):
        return PartialDate.from_date(value), []
    try:
        return PartialDate.parse(str(value)), []
    except ValueError:
        return None, [
            error(
                field,
                "date.format",
                "Ngày không hợp lệ: dùng dạng YYYY-MM-DD, DD/MM/YYYY, MM/YYYY hoặc YYYY",
                "Invalid date: use YYYY-MM-DD, DD/MM/YYYY, MM/YYYY or YYYY",
            )
        ]


def date_not_in_future(value: PartialDate | date | None, *, field: str, today: date) -> list[FieldError]:
    if value is None:
        return []
    earliest = value.earliest() if isinstance(value, PartialDate) else value
    if earliest > today:
        return [
            error(field, "date.future", "Ngày không được ở tương lai", "The date must not be in the future")
        ]
    return []


def death_before_birth_errors(birth: PartialDate | None, death: PartialDate | None) -> list[FieldError]:
    if birth is not None and death is not None and death.latest() < birth.earliest():
        return [
            error(
                "date_of_death",
                "date.death_before_birth",
                "Ngày mất không được trước ngày sinh",
                "The date of death must not be before the date of birth",
            )
        ]
    return []


def citizen_field_errors(data: dict[str, Any], *, today: date) -> list[FieldError]:
    """Check the personal fields of a citizen record; `data` holds already-parsed values."""
    errors: list[FieldError] = []
    if "full_name" in data:
        errors += name_errors(data["full_name"], field="full_name")
    if data.get("other_names"):
        errors += text_errors(data["other_names"], field="other_names", max_length=200)
    for field in ("birth_place", "native_place"):
        if data.get(field):
            errors += text_errors(data[field], field=field, max_length=300)
    if "sex" in data and data["sex"] not in Sex.values:
        errors.append(error("sex", "sex.invalid", "Giới tính phải là Nam hoặc Nữ", "Sex must be Nam or Nữ"))
    birth = data.get("birth_date")
    if "birth_date" in data and birth is None:
        errors.append(error("birth_date", "date.required", "Thiếu ngày sinh", "Date of birth is required"))
    errors += date_not_in_future(birth, field="birth_date", today=today)
    death = data.get("date_of_death")
    errors += date_not_in_future(death, field="date_of_death", today=today)
    errors += date_not_in_future(data.get("missing_declared_on"), field="missing_declared_on", today=today)
    errors += death_before_birth_errors(birth, death)
    if "ethnicity" in data and data["ethnicity"] not in ETHNICITIES:
        errors.append(
            error("ethnicity", "ethnicity.unknown", "Dân tộc không có trong danh mục", "Unknown ethnic group")
        )
    if "religion" in data and data["religion"] not in RELIGIONS:
        errors.append(
            error("religion", "religion.unknown", "Tôn giáo không có trong danh mục", "Unknown religion")
        )
    if "nationality" in data and not COUNTRY_RE.match(data["nationality"] or ""):
        errors.append(
            error(
                "nationality",
                "nationality.format",
                "Quốc tịch phải là mã quốc gia 2 chữ cái (VN)",
                "Nationality must be a 2-letter country code (VN)",
            )
        )
    if data.get("blood_type"):
        if data["blood_type"] not in BLOOD_TYPES:
            errors.append(
                error("blood_type", "blood_type.unknown", "Nhóm máu không hợp lệ", "Unknown blood type")
            )
        if not (data.get("blood_type_source") or "").strip():
            errors.append(
                error(
                    "blood_type_source",
                    "blood_type.no_source",
                    "Chỉ ghi nhóm máu khi có kết quả xét nghiệm",
                    "A blood type is recorded only with a medical test result",
                )
            )
    if data.get("blood_type_source"):
        errors += text_errors(data["blood_type_source"], field="blood_type_source", max_length=200)
    if data.get("old_id_number") and not OLD_ID_RE.match(data["old_id_number"]):
        errors.append(
            error(
                "old_id_number",
                "cmnd.format",
                "Số CMND phải gồm đúng 9 chữ số",
                "The old ID card (CMND) number must be exactly 9 digits",
            )
        )
    if "marital_status" in data and data["marital_status"] not in MaritalStatus.values:
        errors.append(
            error(
                "marital_status",
                "marital_status.invalid",
                "Tình trạng hôn nhân không hợp lệ",
                "Invalid marital status",
            )
        )
    if data.get("phone") and not PHONE_RE.match(data["phone"]):
        errors.append(
            error(
                "phone",
                "phone.format",
                "Số điện thoại không hợp lệ (ví dụ 0912345678)",
                "Invalid phone number (for example 0912345678)",
            )
        )
    if data.get("email") and not _is_email(data["email"]):
        errors.append(error("email", "email.format", "Địa chỉ email không hợp lệ", "Invalid e-mail address"))
    return errors


def pin_errors(
    pin: str, *, sex: str | None, birth: PartialDate | None, place_code: str | None
) -> list[FieldError]:
    """The PIN must decode and agree with the record's sex, birth year and place of birth registration."""
    return pin_codec.consistency_errors(
        pin, sex=sex, birth_year=birth.year if birth is not None else None, place_code=place_code
    )
