"""The card's QR code: `PIN|CMND|name|ddmmyyyy|Nam/Nữ|address|issue ddmmyyyy` (DESIGN.md).

A birth date known only to the year or month (legacy records) is written with zeros for what is unknown
("00001985", "00031970"), never with an invented day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from dancu.lib import pin as pin_codec
from dancu.lib.errors import FieldError
from dancu.lib.partial_date import PartialDate
from dancu.lib.vntext import name_errors, nfc, text_errors

SEPARATOR = "|"
SEX_LABELS = {"M": "Nam", "F": "Nữ"}
MAX_PAYLOAD = 1000


@dataclass(frozen=True)
class QrData:
    pin: str
    cmnd: str
    full_name: str
    birth_date: PartialDate
    sex: str  # "M" or "F"
    address: str
    issued_on: date


def birth_field(birth: PartialDate) -> str:
    return f"{birth.day or 0:02d}{birth.month or 0:02d}{birth.year:04d}"


def compose(data: QrData) -> str:
    # A "|" or a line break in the address would shift every later field: both are replaced.
    address = " ".join(data.address.replace(SEPARATOR, "/").split())
    return SEPARATOR.join(
        (
            data.pin,
            data.cmnd,
            data.full_name,
            birth_field(data.birth_date),
            SEX_LABELS[data.sex],
            address,
            data.issued_on.strftime("%d%m%Y"),
        )
    )


def _parse_birth(text: str) -> PartialDate | None:
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        return None
    day, month, year = int(text[:2]), int(text[2:4]), int(text[4:])
    try:
        if month == 0:
            return PartialDate(year) if day == 0 else None
        if day == 0:
            return PartialDate(year, month)
        return PartialDate(year, month, day)
    except ValueError:
        return None


def _parse_day(text: str) -> date | None:
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        return None
    try:
        return date(int(text[4:]), int(text[2:4]), int(text[:2]))
    except ValueError:
        return None


def parse(payload: str, *, today: date) -> tuple[QrData | None, list[FieldError]]:
    """Read and check a QR payload; the errors name each field and the rule it breaks."""
    text = nfc(payload.strip())
    if len(text) > MAX_PAYLOAD:
        return None, [FieldError("qr", "qr.too_long", "Nội dung QR quá dài", "The QR payload is too long")]
    parts = text.split(SEPARATOR)
    if len(parts) != 7:
        return None, [
            FieldError(
                "qr",
                "qr.fields",
                f"Nội dung QR phải có 7 trường cách nhau bởi |, có {len(parts)}",
                f"The QR payload must have 7 fields separated by |, found {len(parts)}",
            )
        ]
    pin, cmnd, name, birth_text, sex_label, address, issued_text = parts
    errors: list[FieldError] = []
    try:
        info: pin_codec.PinInfo | None = pin_codec.decode(pin)
    except pin_codec.PinError as exc:
        info = None
        errors.append(exc.error)
    if cmnd and not (len(cmnd) == 9 and cmnd.isascii() and cmnd.isdigit()):
        errors.append(
            FieldError(
                "cmnd", "cmnd.format", "Số CMND phải gồm đúng 9 chữ số", "The CMND must be exactly 9 digits"
            )
        )
    errors += name_errors(name, field="full_name")
    birth = _parse_birth(birth_text)
    if birth is None:
        errors.append(
            FieldError(
                "birth_date",
                "qr.birth_date",
                "Ngày sinh phải có dạng ddmmyyyy (00 cho ngày, tháng không rõ)",
                "The date of birth must be ddmmyyyy (00 for an unknown day or month)",
            )
        )
    sex = {"Nam": "M", "Nữ": "F"}.get(sex_label)
    if sex is None:
        errors.append(
            FieldError("sex", "qr.sex", "Giới tính phải là Nam hoặc Nữ", "The sex must be Nam or Nữ")
        )
    if not address.strip():
        errors.append(FieldError("address", "qr.address", "Thiếu nơi thường trú", "The address is missing"))
    errors += text_errors(address, field="address", max_length=500, prose=True)
    issued = _parse_day(issued_text)
    if issued is None:
        errors.append(
            FieldError(
                "issued_on",
                "qr.issued_on",
                "Ngày cấp phải là một ngày có thật dạng ddmmyyyy",
                "The date of issue must be a real date written ddmmyyyy",
            )
        )
    elif issued > today:
        errors.append(
            FieldError(
                "issued_on", "qr.issued_future", "Ngày cấp ở tương lai", "The date of issue is in the future"
            )
        )
    elif birth is not None and issued < birth.earliest():
        errors.append(
            FieldError(
                "issued_on",
                "qr.issued_before_birth",
                "Ngày cấp trước ngày sinh",
                "The date of issue is before the date of birth",
            )
        )
    if info is not None and birth is not None and sex is not None:
        errors += pin_codec.consistency_errors(pin, sex=sex, birth_year=birth.year)
    if errors or birth is None or sex is None or issued is None:
        return None, errors
    return QrData(pin, cmnd, name, birth, sex, address, issued), []
