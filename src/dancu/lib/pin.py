"""The personal identification number (số định danh cá nhân, PIN): its structure, decoding and checks.

A PIN is 12 ASCII digits `PPP G YY RRRRRR` (NĐ 137/2015, TT 07/2016 art. 7, TT 59/2021):

- `PPP`: where the birth was registered. `0XX` is one of the 63 pre-2025 provinces (the statistics
  office's province code zero-padded); a first digit other than 0 is the code of the country where a
  birth abroad was registered.
- `G`: century of birth and sex together: 1900s 0 male / 1 female, 2000s 2/3, 2100s 4/5, 2200s 6/7,
  2300s 8/9. Male is even.
- `YY`: the last two digits of the birth year.
- `RRRRRR`: a random serial, unique with the prefix. There is no check digit, so a mistyped PIN can only
  be caught by its structure and by comparing it with the birth year and sex on the record.

The prefix is where the birth was registered and never changes: not with a move, not with the 2025
province mergers. It must not be read as the current province.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dancu.lib.errors import FieldError
from dancu.lib.vntext import fold

FIELD = "pin"
PIN_LENGTH = 12
SEX_MALE = "M"
SEX_FEMALE = "F"
_SEXES = (SEX_MALE, SEX_FEMALE)
# The birth years the century digit `G` can encode: 1900s to 2300s.
FIRST_BIRTH_YEAR = 1900
LAST_BIRTH_YEAR = 2399
_DIGITS = frozenset("0123456789")

# Annex I of TT 07/2016: the 63 provinces and centrally governed cities as they stood before the 2025
# mergers, with their names of that time (Thừa Thiên Huế became Thành phố Huế only in 2025). The codes
# are the statistics office's two-digit codes, zero-padded to three.
PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "TP Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}

# Births registered abroad carry a country code whose first digit is 1-9 (TT 07/2016 annex II). The
# annex's table of countries is not included here: no copy of it could be verified. Every such code is
# therefore accepted structurally and named by its number; when the annex table is added, these
# generated names are the only thing to replace.
COUNTRY_CODES: dict[str, str] = {
    f"{number:03d}": f"Nước ngoài (mã quốc gia {number:03d})" for number in range(100, 1000)
}

# Other spellings found in legacy records, folded and without spaces (see _name_key): abbreviations of Ho
# Chi Minh City and its former name, the short name of Thừa Thiên Huế, and the older spellings "Bắc Cạn"
# and "Đắc Lắc".
_PROVINCE_ALIASES: dict[str, str] = {
    "hcm": "079",
    "tphcm": "079",
    "hochiminh": "079",
    "saigon": "079",
    "hue": "046",
    "baccan": "006",
    "daclac": "066",
    "bariavungtau": "077",
    "vungtau": "077",
}

# The words before a province name that say what kind of unit it is; folded, in the order they are tried.
_UNIT_PREFIXES = ("thanh pho ", "tinh ", "tp ", "t p ")


class PinError(ValueError):
    """A PIN (or a part given to compose one) that breaks a rule; `.error` names the rule."""

    def __init__(self, error: FieldError) -> None:
        super().__init__(f"{error.code}: {error.message_en}")
        self.error = error


@dataclass(frozen=True)
class PinInfo:
    """What a PIN says about its holder.

    `century` is the first year of the hundred years the birth falls in (1900 for 1900-1999), so
    `birth_year == century + int(pin[4:6])`.
    """

    pin: str
    place_code: str
    place_name: str
    registered_abroad: bool
    sex: str
    century: int
    birth_year: int
    serial: str


# Every PIN rule reports against the same field, so the wrapper fixes it once for the six errors below.
def _error(code: str, message_vi: str, message_en: str, **params: object) -> FieldError:
    return FieldError(FIELD, code, message_vi, message_en, dict(params))


def _format_error() -> FieldError:
    # The message does not repeat the value: a PIN is personal data and errors end up in logs.
    return _error(
        "pin.format",
        "Số định danh cá nhân phải gồm đúng 12 chữ số.",
        "The personal identification number must be exactly 12 digits.",
    )


def _place_error(code: str) -> FieldError:
    return _error(
        "pin.place",
        f"Mã nơi đăng ký khai sinh {code} trong số định danh cá nhân không phải mã của một tỉnh, thành phố "
        "(001-096) hay của một quốc gia (100-999).",
        f"The birth registration code {code} in the personal identification number is neither a "
        "province code (001-096) nor a country code (100-999).",
        place_code=code,
    )


def _serial_error() -> FieldError:
    return _error(
        "pin.serial",
        "Sáu chữ số cuối của số định danh cá nhân phải là 6 chữ số và không được là 000000.",
        "The last six digits of the personal identification number must be 6 digits other than 000000.",
    )


# The separators people group a number with when they read it out or copy it ("001 173 523 477",
# "001.173.523.477", "001-173-523-477").
_GROUPING = re.compile(r"[\s.\-]")


def ungrouped(text: str) -> str:
    """A number as typed, without the spaces, dots and dashes that group it; nothing else is changed, so
    that a letter or a stray sign is still refused by the rule that reads it."""
    return _GROUPING.sub("", text)


def _is_ascii_digits(text: str, length: int) -> bool:
    # str.isdigit() also accepts Arabic-Indic, full-width and superscript digits; a PIN is ASCII only.
    return len(text) == length and _DIGITS.issuperset(text)


def place_name(code: str) -> str | None:
    """The name of a province or country code (3 digits), or None when the code is neither."""
    return PROVINCE_CODES.get(code) or COUNTRY_CODES.get(code)


def century_sex_digit(birth_year: int, sex: str) -> int:
    """The `G` digit of a PIN: 0-9 from the century of birth and the sex (male even, female odd)."""
    if sex not in _SEXES:
        raise ValueError(f"sex must be {SEX_MALE!r} or {SEX_FEMALE!r}, not {sex!r}")
    if not FIRST_BIRTH_YEAR <= birth_year <= LAST_BIRTH_YEAR:
        raise ValueError(
            f"a PIN can encode birth years {FIRST_BIRTH_YEAR}-{LAST_BIRTH_YEAR} only, not {birth_year}"
        )
    return (birth_year // 100 - 19) * 2 + (0 if sex == SEX_MALE else 1)


def decode(pin: str) -> PinInfo:
    """Read a PIN, raising PinError with rule `pin.format`, `pin.place` or `pin.serial` when it breaks one.

    Surrounding whitespace is ignored (copied values often carry it); anything else but 12 ASCII digits
    is refused.
    """
    text = pin.strip()
    if not _is_ascii_digits(text, PIN_LENGTH):
        raise PinError(_format_error())
    place_code, digit, year_digits, serial = text[:3], int(text[3]), text[4:6], text[6:]
    name = place_name(place_code)
    if name is None:
        raise PinError(_place_error(place_code))
    if serial == "000000":
        raise PinError(_serial_error())
    century = 1900 + (digit // 2) * 100
    return PinInfo(
        pin=text,
        place_code=place_code,
        place_name=name,
        registered_abroad=place_code[0] != "0",
        sex=SEX_MALE if digit % 2 == 0 else SEX_FEMALE,
        century=century,
        birth_year=century + int(year_digits),
        serial=serial,
    )


def is_valid(pin: str) -> bool:
    """True when `decode` accepts the PIN."""
    try:
        decode(pin)
    except PinError:
        return False
    return True


def prefix(*, place_code: str, sex: str, birth_year: int) -> str:
    """The first six digits `PPP G YY` of a PIN for a birth registered at `place_code`."""
    if not _is_ascii_digits(place_code, 3) or place_name(place_code) is None:
        raise PinError(_place_error(place_code))
    return f"{place_code}{century_sex_digit(birth_year, sex)}{birth_year % 100:02d}"


def compose(*, place_code: str, sex: str, birth_year: int, serial: str) -> str:
    """A full PIN from its parts; `serial` is the six-digit random part, chosen by the caller."""
    if not _is_ascii_digits(serial, 6) or serial == "000000":
        raise PinError(_serial_error())
    return prefix(place_code=place_code, sex=sex, birth_year=birth_year) + serial


def consistency_errors(
    pin: str, *, sex: str | None, birth_year: int | None, place_code: str | None = None
) -> list[FieldError]:
    """Compare a PIN with what the record says; an empty list when they agree.

    A None argument is not compared (the record does not know it). Returns the decode error alone when
    the PIN cannot be read, otherwise `pin.sex_mismatch`, `pin.year_mismatch` and `pin.place_mismatch`
    as they apply. A mismatch is not proof the PIN is wrong (the record may be), so the messages only
    say that the two disagree.
    """
    try:
        info = decode(pin)
    except PinError as exc:
        return [exc.error]
    errors: list[FieldError] = []
    if sex is not None and sex != info.sex:
        pin_sex_vi, pin_sex_en = ("nam", "male") if info.sex == SEX_MALE else ("nữ", "female")
        errors.append(
            _error(
                "pin.sex_mismatch",
                f"Chữ số thứ 4 của số định danh cá nhân ứng với giới tính {pin_sex_vi}, khác giới tính "
                "trong hồ sơ.",
                f"The fourth digit of the personal identification number means {pin_sex_en}, which "
                "differs from the sex on the record.",
                pin_sex=info.sex,
                record_sex=sex,
            )
        )
    if birth_year is not None and birth_year != info.birth_year:
        errors.append(
            _error(
                "pin.year_mismatch",
                f"Số định danh cá nhân ứng với năm sinh {info.birth_year}, khác năm sinh {birth_year} "
                "trong hồ sơ.",
                f"The personal identification number encodes the birth year {info.birth_year}, which "
                f"differs from the birth year {birth_year} on the record.",
                pin_birth_year=info.birth_year,
                record_birth_year=birth_year,
            )
        )
    if place_code is not None and place_code != info.place_code:
        errors.append(
            _error(
                "pin.place_mismatch",
                f"Số định danh cá nhân ghi nơi đăng ký khai sinh {info.place_code} ({info.place_name}), "
                f"khác nơi đăng ký khai sinh {place_code} trong hồ sơ.",
                f"The personal identification number gives the birth registration place {info.place_code} "
                f"({info.place_name}), which differs from {place_code} on the record.",
                pin_place_code=info.place_code,
                record_place_code=place_code,
            )
        )
    return errors


def _name_key(text: str) -> str:
    # Fold, read punctuation as spaces ("TP.HCM", "Bà Rịa-Vũng Tàu"), drop a leading unit word, then
    # drop the spaces so that "Hà Nội", "Ha Noi" and "HANOI" meet on one key.
    words = "".join(c if c.isalnum() else " " for c in fold(text))
    key = " ".join(words.split()) + " "
    # Unit words can stack in messy sources ("Tỉnh TP Hồ Chí Minh"); a unit word alone is kept, so that
    # "Tỉnh" by itself names no province.
    stripped = True
    while stripped:
        stripped = False
        for unit in _UNIT_PREFIXES:
            if key.startswith(unit) and len(key) > len(unit):
                key = key[len(unit) :]
                stripped = True
    return key.replace(" ", "")


_PROVINCE_KEYS: dict[str, str] = {
    **{_name_key(name): code for code, name in PROVINCE_CODES.items()},
    **_PROVINCE_ALIASES,
}


def province_code_for_name(name: str) -> str | None:
    """The 3-digit code of a pre-2025 province named in free text, or None when it names none.

    Tolerates case, missing tone marks, extra spaces and punctuation, and a leading "Tỉnh", "Thành phố"
    or "TP" ("thanh pho ho chi minh", "TP.HCM", "Tỉnh Thừa Thiên - Huế"). A province code itself ("79",
    "079") is accepted too, because the person-records CSV allows either in `birth_place`.
    """
    stripped = name.strip()
    if stripped and _DIGITS.issuperset(stripped) and len(stripped) <= 3:
        code = stripped.zfill(3)
        return code if code in PROVINCE_CODES else None
    return _PROVINCE_KEYS.get(_name_key(stripped))
