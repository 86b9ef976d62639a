"""The machine-readable zone of the card: ICAO Doc 9303 part 5, TD1 format (3 lines of 30 characters).

Line 1: document code "ID", issuing state "VNM", document number (the last 9 digits of the PIN, as on
Vietnamese cards) and its check digit, then optional data holding the full 12-digit PIN.
Line 2: date of birth, sex, date of expiry (each date with its check digit), nationality, optional data
and the composite check digit over the document number, birth and expiry fields.
Line 3: the name, primary identifier (the family name, họ) then secondary identifiers (chữ đệm and
tên), transliterated to A-Z with "<" as the separator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from dancu.lib.vntext import fold

LINE_LENGTH = 30
_WEIGHTS = (7, 3, 1)
_LINE_RE = re.compile(r"^[A-Z0-9<]{30}$")


def char_value(char: str) -> int:
    if char.isdigit():
        return int(char)
    if char == "<":
        return 0
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    raise ValueError(f"{char!r} is not an MRZ character")


def check_digit(field: str) -> str:
    """ICAO 9303 part 3 check digit: weights 7, 3, 1 repeating, sum modulo 10."""
    return str(sum(char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


def transliterate(text: str) -> str:
    """Vietnamese text in the MRZ alphabet: no tone or vowel marks, Đ as D, upper case, anything that is
    not A-Z or 0-9 (space, hyphen, apostrophe) as the filler "<", runs of fillers collapsed to one."""
    folded = fold(text).upper()
    mapped = "".join(c if ("A" <= c <= "Z" or c.isdigit()) and c.isascii() else "<" for c in folded)
    return re.sub("<+", "<", mapped).strip("<")


def name_field(full_name: str) -> str:
    """Line 3: "NGUYEN<<VAN<HUNG", cut to 30 characters and padded with fillers."""
    words = transliterate(full_name).split("<")
    primary, secondary = words[0], "<".join(words[1:])
    value = f"{primary}<<{secondary}" if secondary else primary
    return value[:LINE_LENGTH].ljust(LINE_LENGTH, "<")


def date_field(value: date | None, *, year: int | None = None, month: int | None = None) -> str:
    """YYMMDD; unknown month or day (legacy records know only the year) are fillers, as ICAO allows; no
    date at all (a card that never expires) is six fillers."""
    if value is not None:
        return value.strftime("%y%m%d")
    if year is None:
        return "<<<<<<"
    return f"{year % 100:02d}" + (f"{month:02d}" if month else "<<") + "<<"


@dataclass(frozen=True)
class MrzData:
    pin: str
    full_name: str
    sex: str  # "M", "F"
    birth: str  # the 6-character date field
    expiry: str  # the 6-character date field
    nationality: str = "VNM"


def compose(data: MrzData) -> list[str]:
    """The three lines for `data`."""
    number = data.pin[3:12]
    optional1 = data.pin.ljust(15, "<")
    line1 = f"IDVNM{number}{check_digit(number)}{optional1}"
    birth = data.birth + check_digit(data.birth)
    expiry = data.expiry + check_digit(data.expiry)
    optional2 = "<" * 11
    composite = check_digit(line1[5:30] + birth + expiry + optional2)
    sex = data.sex if data.sex in ("M", "F") else "<"
    line2 = f"{birth}{sex}{expiry}{data.nationality}{optional2}{composite}"
    return [line1, line2, name_field(data.full_name)]


@dataclass(frozen=True)
class MrzProblem:
    field: str
    code: str
    message_vi: str
    message_en: str


@dataclass(frozen=True)
class ParsedMrz:
    document_number: str
    pin: str
    birth: str
    sex: str
    expiry: str
    nationality: str
    primary_name: str
    secondary_name: str


def _problem(field: str, code: str, vi: str, en: str) -> MrzProblem:
    return MrzProblem(field, code, vi, en)


def validate(lines: list[str]) -> tuple[ParsedMrz | None, list[MrzProblem]]:
    """Read three MRZ lines; the problems name each field whose check digit or format fails."""
    if len(lines) != 3:
        return None, [
            _problem("mrz", "mrz.lines", "MRZ phải có đúng 3 dòng", "The MRZ must have exactly 3 lines")
        ]
    problems = []
    for index, line in enumerate(lines, start=1):
        if not _LINE_RE.match(line):
            problems.append(
                _problem(
                    f"mrz.line{index}",
                    "mrz.line_format",
                    f"Dòng {index} của MRZ phải gồm đúng 30 ký tự A-Z, 0-9 hoặc <",
                    f"MRZ line {index} must be exactly 30 characters A-Z, 0-9 or <",
                )
            )
    if problems:
        return None, problems
    line1, line2, line3 = lines
    if line1[0:2] != "ID" or line1[2:5] != "VNM":
        problems.append(
            _problem(
                "document_code",
                "mrz.document_code",
                "MRZ không phải của thẻ căn cước Việt Nam (phải bắt đầu bằng IDVNM)",
                "The MRZ is not of a Vietnamese identity card (it must start with IDVNM)",
            )
        )
    checks = (
        ("document_number", line1[5:14], line1[14], "Số thẻ", "Document number"),
        ("birth_date", line2[0:6], line2[6], "Ngày sinh", "Date of birth"),
        ("expiry_date", line2[8:14], line2[14], "Ngày hết hạn", "Date of expiry"),
    )
    for field, value, digit, label_vi, label_en in checks:
        if check_digit(value) != digit:
            problems.append(
                _problem(
                    field,
                    "mrz.check_digit",
                    f"{label_vi}: chữ số kiểm tra sai (có {digit}, phải là {check_digit(value)})",
                    f"{label_en}: wrong check digit (found {digit}, expected {check_digit(value)})",
                )
            )
    composite = check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    if composite != line2[29]:
        problems.append(
            _problem(
                "composite",
                "mrz.check_digit",
                f"Chữ số kiểm tra tổng hợp sai (có {line2[29]}, phải là {composite})",
                f"Wrong composite check digit (found {line2[29]}, expected {composite})",
            )
        )
    pin = line1[15:30].rstrip("<")
    if not (len(pin) == 12 and pin.isdigit() and pin[3:12] == line1[5:14]):
        problems.append(
            _problem(
                "pin",
                "mrz.pin",
                "Phần dữ liệu tuỳ chọn dòng 1 phải chứa số định danh 12 số khớp với số thẻ",
                "The optional data of line 1 must hold the 12-digit PIN matching the document number",
            )
        )
    if line2[7] not in "MF<":
        problems.append(_problem("sex", "mrz.sex", "Giới tính phải là M, F hoặc <", "Sex must be M, F or <"))
    names = line3.rstrip("<").split("<<", 1)
    parsed = ParsedMrz(
        document_number=line1[5:14],
        pin=pin,
        birth=line2[0:6],
        sex=line2[7],
        expiry=line2[8:14],
        nationality=line2[15:18],
        primary_name=names[0].replace("<", " "),
        secondary_name=names[1].replace("<", " ").strip() if len(names) > 1 else "",
    )
    return parsed, problems
