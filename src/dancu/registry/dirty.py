"""Realistic faults injected into generated person records, with the truth written alongside.

Legacy sources are not clean: household books transcribed by hand, spreadsheets that passed through
Excel, files typed in the TCVN3 or VNI fonts of the 1990s and converted wrongly since. The import and its
rules (issue 4) are measured on generated records damaged the same ways, and `dirty_rows` does the
damage: it takes person-records CSV rows (`generator.person_csv_rows`), injects faults at the rates below
and yields each row with the exact list of what it changed, so that a benchmark can count how many
injected faults the rules caught or repaired, and a linkage run can be scored on the duplicates.

Faults, their codes and default rates. A rate is the probability that a record the fault can apply to
gets it (a date fault needs a birth date, "PIN with a wrong digit" a PIN...). There is no published
statistic of the faults in Vietnamese legacy population files; the rates are estimates from how such
files are described by the officers who clean them (names typed in capitals without marks, addresses
in the old units, years without dates for the elderly), chosen so that a million records hold
thousands of each fault, and they are parameters (`FaultRates`), not facts.

| code | what | field | rate |
|---|---|---|---|
| `record.duplicate` | the same person again from another source, with small differences | all | 2 % |
| `row.blank` | an empty row after the record (spreadsheet left-overs) | all | 0.1 % |
| `address.legacy` | address in the old three-level units (full, abbreviated, unmarked) | address | 10 % |
| `text.tone_placement` | other tone-mark convention: "Hoà", "Thuý" for "Hòa", "Thúy" | names, address | 5 % |
| `name.lower` | name in lower case | full_name | 3 % |
| `name.upper_unmarked` | name in capitals without tone marks: "NGUYEN VAN HUNG" | full_name | 2 % |
| `date.year_only` | birth date reduced to the year | birth_date | 2 % |
| `date.month_year` | birth date reduced to month and year, written MM/YYYY | birth_date | 1 % |
| `date.dd_mm_yy` | written DD-MM-YY | birth_date | 2 % |
| `date.dd_mm_yyyy` | written DD/MM/YYYY | birth_date | 5 % |
| `date.day_month_swapped` | day and month swapped: MM/DD/YYYY for DD/MM/YYYY | birth_date | 0.5 % |
| `date.impossible` | a day the month does not have: 31/02, 31/04 | birth_date | 0.2 % |
| `date.future` | a birth date after today (19xx typed 20xx) | birth_date | 0.2 % |
| `gender.missing` | gender left blank | gender | 2 % |
| `pin.century_sex_digit` | the PIN's 4th digit wrong: other sex or other century | id_number | 0.3 % |
| `pin.year_digit` | one of the PIN's year digits wrong | id_number | 0.3 % |
| `cmnd.eight_digits` | 8-digit old ID card number (Excel dropped the leading 0) | old_id_number | 1 % |
| `field.blank` | one field left blank (father's name and birth place most often) | one field | 3 % |
| `text.whitespace` | stray spaces, no-break spaces, trailing punctuation | one text field | 4 % |
| `encoding.tcvn3` | TCVN3 (ABC) bytes read as Windows-1252: "NguyÔn V¨n Hïng" | text fields | 1 % |
| `encoding.vni` | VNI bytes read as Windows-1252: "Nguyeãn Vaên Huøng" | text fields | 1 % |
| `encoding.utf8_cp1252` | UTF-8 read as Windows-1252: "Nguyá»…n VÄƒn HÃ¹ng" | text fields | 1 % |
| `encoding.cp1258` | Windows-1258 read as Windows-1252: "NguyêÞn Vãn HuÌng" | text fields | 0.5 % |
| `text.nfd` | decomposed Unicode (letters and marks as separate code points) | text fields | 2 % |

Faults of one kind exclude each other (one casing, one date form, one PIN fault, one encoding per
record); faults of different kinds combine, applied in the order of the table, so that a record can be
in the old units, in capitals and in VNI at once, as real ones are. Every change is recorded as an
`InjectedFault` with the value before and after it; when several faults change one field, their records
chain (the "after" of one is the "before" of the next), and the last "after" is what the row holds.

A duplicate keeps the person: its `record_id` is the original's with "-2" appended (`person_key` reads
it back), its `source` another legacy source, and it comes a little later in the stream, carrying its
own faults (at least one, so that it differs). Everything is streamed in constant memory (duplicates
wait in a bounded queue) and driven by one `random.Random(seed)`: the same rows and seed give the same
output, byte for byte.
"""

from __future__ import annotations

import csv
import heapq
import random
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol

from dancu.lib import vnencoding
from dancu.lib.vntext import TONED_VOWELS, VOWEL_TONES, fold

# The date the records are "as of" when the caller names none (future dates are after it); the same
# default as the generator's.
REFERENCE_DATE = date(2025, 7, 1)

FAULT_COLUMNS = ("record_id", "fault", "field", "original", "injected")

# The text fields of a person record, where casing, encodings and whitespace faults land.
TEXT_FIELDS = ("full_name", "father_name", "mother_name", "birth_place", "address")

# Sources that duplicates come from: the same person recorded again by another part of the old systems.
DUPLICATE_SOURCES = ("legacy:so-ho-khau", "legacy:cmnd", "legacy:ho-tich", "legacy:bhxh")
DUPLICATE_SUFFIX = "-2"


class FaultCode:
    """The codes written to the faults file; stable, because benchmarks and reports count them."""

    DUPLICATE = "record.duplicate"
    BLANK_ROW = "row.blank"
    ADDRESS_LEGACY = "address.legacy"
    TONE_PLACEMENT = "text.tone_placement"
    NAME_LOWER = "name.lower"
    NAME_UPPER_UNMARKED = "name.upper_unmarked"
    DATE_YEAR_ONLY = "date.year_only"
    DATE_MONTH_YEAR = "date.month_year"
    DATE_DD_MM_YY = "date.dd_mm_yy"
    DATE_DD_MM_YYYY = "date.dd_mm_yyyy"
    DATE_SWAPPED = "date.day_month_swapped"
    DATE_IMPOSSIBLE = "date.impossible"
    DATE_FUTURE = "date.future"
    GENDER_MISSING = "gender.missing"
    PIN_CENTURY_SEX = "pin.century_sex_digit"
    PIN_YEAR = "pin.year_digit"
    CMND_EIGHT_DIGITS = "cmnd.eight_digits"
    FIELD_BLANK = "field.blank"
    WHITESPACE = "text.whitespace"
    TCVN3 = "encoding.tcvn3"
    VNI = "encoding.vni"
    UTF8_CP1252 = "encoding.utf8_cp1252"
    CP1258 = "encoding.cp1258"
    NFD = "text.nfd"


@dataclass(frozen=True)
class FaultRates:
    """The probability of each fault for a record it can apply to (see the module's table)."""

    duplicate: float = 0.02
    blank_row: float = 0.001
    address_legacy: float = 0.10
    tone_placement: float = 0.05
    name_lower: float = 0.03
    name_upper_unmarked: float = 0.02
    date_year_only: float = 0.02
    date_month_year: float = 0.01
    date_dd_mm_yy: float = 0.02
    date_dd_mm_yyyy: float = 0.05
    date_day_month_swapped: float = 0.005
    date_impossible: float = 0.002
    date_future: float = 0.002
    gender_missing: float = 0.02
    pin_century_sex_digit: float = 0.003
    pin_year_digit: float = 0.003
    cmnd_eight_digits: float = 0.01
    field_blank: float = 0.03
    whitespace: float = 0.04
    tcvn3: float = 0.01
    vni: float = 0.01
    utf8_cp1252: float = 0.01
    cp1258: float = 0.005
    nfd: float = 0.02

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"fault rate {item.name} must be between 0 and 1, not {value!r}")
        for group in _GROUPS:
            total = sum(self.of(code) for code in group)
            if total > 1.0:
                raise ValueError(f"the rates of {', '.join(group)} exclude each other and add up to {total}")

    def of(self, code: str) -> float:
        """The rate of a fault by its code."""
        return float(getattr(self, _RATE_FIELDS[code]))

    def as_dict(self) -> dict[str, float]:
        """Every rate by fault code, in the order of the module's table."""
        return {code: self.of(code) for code in _RATE_FIELDS}

    def scaled(self, factor: float) -> FaultRates:
        """Every rate multiplied by `factor` (capped at 1): more or fewer faults of the same mix."""
        return replace(
            self, **{name: min(1.0, getattr(self, name) * factor) for name in _RATE_FIELDS.values()}
        )


_RATE_FIELDS: dict[str, str] = {
    FaultCode.DUPLICATE: "duplicate",
    FaultCode.BLANK_ROW: "blank_row",
    FaultCode.ADDRESS_LEGACY: "address_legacy",
    FaultCode.TONE_PLACEMENT: "tone_placement",
    FaultCode.NAME_LOWER: "name_lower",
    FaultCode.NAME_UPPER_UNMARKED: "name_upper_unmarked",
    FaultCode.DATE_YEAR_ONLY: "date_year_only",
    FaultCode.DATE_MONTH_YEAR: "date_month_year",
    FaultCode.DATE_DD_MM_YY: "date_dd_mm_yy",
    FaultCode.DATE_DD_MM_YYYY: "date_dd_mm_yyyy",
    FaultCode.DATE_SWAPPED: "date_day_month_swapped",
    FaultCode.DATE_IMPOSSIBLE: "date_impossible",
    FaultCode.DATE_FUTURE: "date_future",
    FaultCode.GENDER_MISSING: "gender_missing",
    FaultCode.PIN_CENTURY_SEX: "pin_century_sex_digit",
    FaultCode.PIN_YEAR: "pin_year_digit",
    FaultCode.CMND_EIGHT_DIGITS: "cmnd_eight_digits",
    FaultCode.FIELD_BLANK: "field_blank",
    FaultCode.WHITESPACE: "whitespace",
    FaultCode.TCVN3: "tcvn3",
    FaultCode.VNI: "vni",
    FaultCode.UTF8_CP1252: "utf8_cp1252",
    FaultCode.CP1258: "cp1258",
    FaultCode.NFD: "nfd",
}

# Faults that exclude each other: a record gets at most one of each group.
_NAME_CASE = (FaultCode.NAME_LOWER, FaultCode.NAME_UPPER_UNMARKED)
_DATE_FORMS = (
    FaultCode.DATE_YEAR_ONLY,
    FaultCode.DATE_MONTH_YEAR,
    FaultCode.DATE_DD_MM_YY,
    FaultCode.DATE_DD_MM_YYYY,
    FaultCode.DATE_SWAPPED,
    FaultCode.DATE_IMPOSSIBLE,
    FaultCode.DATE_FUTURE,
)
_PIN_FAULTS = (FaultCode.PIN_CENTURY_SEX, FaultCode.PIN_YEAR)
_ENCODINGS = (FaultCode.TCVN3, FaultCode.VNI, FaultCode.UTF8_CP1252, FaultCode.CP1258, FaultCode.NFD)
_GROUPS = (_NAME_CASE, _DATE_FORMS, _PIN_FAULTS, _ENCODINGS)

DEFAULT_RATES = FaultRates()


@dataclass(frozen=True, slots=True)
class InjectedFault:
    """One change made to one field of one record: the truth the import is scored against."""

    record_id: str
    code: str
    field: str
    original: str
    injected: str

    def as_row(self) -> dict[str, str]:
        return {
            "record_id": self.record_id,
            "fault": self.code,
            "field": self.field,
            "original": self.original,
            "injected": self.injected,
        }


def person_key(record_id: str) -> str:
    """The record id of the person a (possibly duplicate) record is about."""
    return record_id.removesuffix(DUPLICATE_SUFFIX)


# Legacy encodings -----------------------------------------------------------------------------------------
#
# The damage itself comes from `lib.vnencoding.mojibake`, the same tables the import's repair reads back.
# TCVN3 (the ABC fonts) has no capitals with tone marks: typists wrote them in the lower-case positions,
# which loses the case for good. Fields holding such a capital are not given the TCVN3 fault, so that
# every injected value decodes back to exactly the value it replaced.

_TCVN3_EXACT = frozenset(
    letter
    for byte, letter in vnencoding.TCVN3_TABLE.items()
    if byte >= 0xA1 and (letter.islower() or byte <= 0xA7)
)
_ENCODINGS_BY_FAULT = {
    FaultCode.TCVN3: vnencoding.TCVN3,
    FaultCode.VNI: vnencoding.VNI,
    FaultCode.UTF8_CP1252: vnencoding.UTF8_AS_CP1252,
    FaultCode.CP1258: vnencoding.CP1258_AS_CP1252,
}


def _encode(code: str, value: str) -> str | None:
    """`value` damaged by the encoding of fault `code`, or None when that encoding cannot write it."""
    text = unicodedata.normalize("NFC", value)
    if code == FaultCode.NFD:
        return unicodedata.normalize("NFD", text)
    if code == FaultCode.TCVN3 and not all(char.isascii() or char in _TCVN3_EXACT for char in text):
        return None
    try:
        return vnencoding.mojibake(text, _ENCODINGS_BY_FAULT[code])
    except UnicodeEncodeError:
        return None


# Old addresses ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OldPlace:
    """A legacy commune (or commune-less island district) and its parents: (kind, short name) pairs,
    innermost first, as an old address names them."""

    units: tuple[tuple[str, str], ...]


class OldAddressBook(Protocol):
    """Where `dirty_rows` learns the old units of a 2025 address."""

    def old_places(self, address: str) -> tuple[str, Sequence[OldPlace]] | None:
        """(the detail before the commune, the legacy places whose default successor is the address's
        2025 commune), or None when the address does not end in a known 2025 commune."""


class UnitAddressBook:
    """An `OldAddressBook` read from the administrative units.

    Generated 2025 addresses end in the commune's and the province's full names ("…, Xã Tam Lư, Tỉnh
    Thanh Hóa"); the book maps that ending to the 2025 commune and gives the legacy units that convert to
    it by default, all of them read the first time a commune is asked for
    (`geo.selectors.default_predecessors_by_unit`).
    """

    def __init__(self) -> None:
        self._communes: dict[tuple[str, str], int] | None = None
        self._places: dict[int, tuple[OldPlace, ...]] | None = None

    def _commune_ids(self) -> dict[tuple[str, str], int]:
        if self._communes is None:
            from dancu.geo.models import AdminUnit

            communes = AdminUnit.objects.filter(
                structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.COMMUNE
            ).values_list("name", "parent__name", "pk")
            self._communes = {(name, province or ""): pk for name, province, pk in communes}
        return self._communes

    def _places_by_commune(self) -> dict[int, tuple[OldPlace, ...]]:
        if self._places is None:
            from dancu.geo.selectors import default_predecessors_by_unit

            self._places = {
                unit: tuple(
                    OldPlace(tuple((part.kind, part.short_name) for part in legacy.ancestors()))
                    for legacy in predecessors
                )
                for unit, predecessors in default_predecessors_by_unit().items()
            }
        return self._places

    def old_places(self, address: str) -> tuple[str, Sequence[OldPlace]] | None:
        parts = address.rsplit(", ", 2)
        if len(parts) < 2:
            return None
        detail = parts[0] if len(parts) == 3 else ""
        commune_id = self._commune_ids().get((parts[-2], parts[-1]))
        if commune_id is None:
            return None
        return detail, self._places_by_commune().get(commune_id, ())


# How old addresses write the kinds in short: "P. Phúc Xá", "TT. Yên Định", "Q.3", "TP. Hà Nội".
_KIND_ABBREVIATIONS = {
    "Phường": "P.",
    "Xã": "X.",
    "Thị trấn": "TT.",
    "Quận": "Q.",
    "Huyện": "H.",
    "Thị xã": "TX.",
    "Thành phố": "TP.",
    "Tỉnh": "T.",
}


def unit_text(kind: str, short_name: str, *, abbreviated: bool) -> str:
    numbered = short_name.startswith(f"{kind} ")  # "Phường 5", "Quận 3": the kind is part of the name
    if abbreviated and kind in _KIND_ABBREVIATIONS:
        bare = short_name[len(kind) + 1 :] if numbered else short_name
        return f"{_KIND_ABBREVIATIONS[kind]}{bare}" if numbered else f"{_KIND_ABBREVIATIONS[kind]} {bare}"
    return short_name if numbered else f"{kind} {short_name}"


def old_address_text(detail: str, place: OldPlace, style: str) -> str:
    """An old address in one of the ways people write it.

    Styles: "full" ("Xã Dương Liễu, Huyện Hoài Đức, Thành phố Hà Nội"), "abbreviated" ("X. Dương Liễu,
    H. Hoài Đức, TP. Hà Nội"), "short_province" (the province without its kind: "…, Hà Nội") and
    "unmarked" (the full form in lower case without tone marks, detail included).
    """
    units = list(place.units)
    parts = [
        unit_text(kind, name, abbreviated=style == "abbreviated")
        for kind, name in (units[:-1] if style == "short_province" else units)
    ]
    if style == "short_province":
        parts.append(units[-1][1])
    text = ", ".join([detail, *parts] if detail else parts)
    return fold(text) if style == "unmarked" else text


_ADDRESS_STYLES = (("full", 0.45), ("abbreviated", 0.30), ("short_province", 0.15), ("unmarked", 0.10))


# Field faults -----------------------------------------------------------------------------------------------

# Open rhymes oa, oe and uy take the tone on their first vowel in the convention the registry stores
# ("Hòa", "Thúy", see vntext.canonical_tone_placement) and on the second in the other one ("Hoà",
# "Thuý"). The o or u must open the rhyme (not follow another vowel) and a u must not follow q, whose u
# belongs to the onset ("quý" is written alike in both).
_OLD_STYLE_TONE = re.compile(
    "(["
    + "".join(letter for letter, (base, tone) in VOWEL_TONES.items() if tone and base in "oOuU")
    + r"])([aAeEyY])(?!\w)"
)
_SECOND_VOWELS = {"o": "ae", "u": "y"}


def _new_style(match: re.Match[str]) -> str:
    first, second = match.group(1), match.group(2)
    base, tone = VOWEL_TONES[first]
    start = match.start()
    before = match.string[start - 1] if start else ""
    if (
        second.lower() not in _SECOND_VOWELS[base.lower()]
        or before in VOWEL_TONES
        or (base in "uU" and before in "qQ")
    ):
        return match.group(0)
    return base + TONED_VOWELS[second, tone]


def other_tone_placement(text: str) -> str:
    """`text` with the tone of open oa/oe/uy rhymes on the second vowel: "Hòa" -> "Hoà", "Thúy" ->
    "Thuý"; the inverse of vntext.canonical_tone_placement on text written in the canonical form."""
    return _OLD_STYLE_TONE.sub(_new_style, unicodedata.normalize("NFC", text))


def _date_parts(value: str) -> tuple[int, int | None, int | None] | None:
    """(year, month, day) of a stored partial date ("1954", "1954-05", "1954-05-17"), or None."""
    parts = value.split("-")
    if not 1 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
        return None
    year, month, day = (int(part) for part in parts + ["0"] * (3 - len(parts)))
    return year, month or None, day or None


def _future_date(value: str, today: date, rng: random.Random) -> str:
    """A birth date after `today`, keeping the precision: the century mistyped where that gives one
    ("1990-05-17" -> "2090-05-17"), otherwise a day within the next ten years."""
    parts = _date_parts(value)
    assert parts is not None  # the caller checked
    year, month, day = parts
    typo_year = year + 100 if 1900 <= year <= 1999 else None
    if typo_year is not None and typo_year > today.year:
        year = typo_year
    else:
        future = today + timedelta(days=1 + int(rng.random() * 3650))
        year, month, day = future.year, month and future.month, day and future.day
    if month is None:
        return f"{year:04d}"
    if day is None:
        return f"{year:04d}-{month:02d}"
    if (month, day) == (2, 29) and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        day = 28
    return f"{year:04d}-{month:02d}-{day:02d}"


def _impossible_date(value: str, rng: random.Random) -> str:
    """A day the month does not have, in the birth year: 30 or 31 February, 31 of a 30-day month."""
    parts = _date_parts(value)
    assert parts is not None  # the caller checked
    year, month, _ = parts
    if month not in (2, 4, 6, 9, 11):
        month = (2, 4, 6, 9, 11)[int(rng.random() * 5)]
    day = 30 + int(rng.random() * 2) if month == 2 else 31
    return f"{day:02d}/{month:02d}/{year:04d}"


def _date_fault(code: str, value: str, today: date, rng: random.Random) -> str | None:
    """The birth date with fault `code`, or None when it cannot apply to this date."""
    parts = _date_parts(value)
    if parts is None:
        return None
    year, month, day = parts
    if code == FaultCode.DATE_FUTURE:
        return _future_date(value, today, rng)
    if code == FaultCode.DATE_IMPOSSIBLE:
        return _impossible_date(value, rng)
    if code == FaultCode.DATE_YEAR_ONLY:
        return f"{year:04d}" if month is not None else None
    if month is None or day is None:
        return None  # the remaining faults rewrite a full date
    if code == FaultCode.DATE_MONTH_YEAR:
        return f"{month:02d}/{year:04d}"
    if code == FaultCode.DATE_DD_MM_YY:
        return f"{day:02d}-{month:02d}-{year % 100:02d}"
    if code == FaultCode.DATE_DD_MM_YYYY:
        return f"{day:02d}/{month:02d}/{year:04d}"
    if code == FaultCode.DATE_SWAPPED:
        return f"{month:02d}/{day:02d}/{year:04d}" if day != month else None
    raise ValueError(f"not a date fault: {code}")


def _pin_fault(code: str, pin: str, rng: random.Random) -> str | None:
    if len(pin) != 12 or not pin.isdigit():
        return None
    if code == FaultCode.PIN_CENTURY_SEX:
        digit = int(pin[3])
        # Half the time the other sex (the last bit), half the time the next or previous century.
        wrong = digit ^ 1 if rng.random() < 0.5 else (digit + 2 if digit < 2 else digit - 2)
        return f"{pin[:3]}{wrong}{pin[4:]}"
    position = 4 + int(rng.random() * 2)
    wrong_digit = (int(pin[position]) + 1 + int(rng.random() * 9)) % 10
    return f"{pin[:position]}{wrong_digit}{pin[position + 1 :]}"


def _whitespace_fault(value: str, field: str, rng: random.Random) -> str:
    variants = ["around", "double", "trailing", "nbsp"] if " " in value else ["around", "trailing"]
    if field == "address" and ", " in value:
        variants.append("before_comma")
    variant = variants[int(rng.random() * len(variants))]
    if variant == "around":
        return f"  {value} "
    if variant == "double":
        return value.replace(" ", "  ", 1)
    if variant == "nbsp":
        return value.replace(" ", "\u00a0", 1)
    if variant == "before_comma":
        return value.replace(", ", " , ", 1)
    return value + (".", ",", " .")[int(rng.random() * 3)]


# Blank fields: the fields the old sources leave empty, with how often each is the one.
_BLANKABLE = (
    ("father_name", 0.25),
    ("birth_place", 0.25),
    ("mother_name", 0.15),
    ("birth_date", 0.10),
    ("id_number", 0.10),
    ("address", 0.10),
    ("full_name", 0.05),
)


# Records one change of one field: (fault code, field, new value).
_Change = Callable[[str, str, str], None]


# The injector -----------------------------------------------------------------------------------------------


class _Injector:
    """Applies the faults to one record at a time and records each change."""

    def __init__(
        self, *, rng: random.Random, rates: FaultRates, today: date, addresses: OldAddressBook | None
    ) -> None:
        self.rng = rng
        self.rates = rates
        self.today = today
        self._addresses = addresses

    @property
    def addresses(self) -> OldAddressBook:
        if self._addresses is None:
            # Read from the database on first need only, so that rows without address faults (or a
            # zero rate) need no units.
            self._addresses = UnitAddressBook()
        return self._addresses

    def hit(self, code: str) -> bool:
        return self.rng.random() < self.rates.of(code)

    def pick(self, group: Sequence[str]) -> str | None:
        """One fault of a group of exclusive ones, each with its own rate, or None."""
        draw = self.rng.random()
        for code in group:
            draw -= self.rates.of(code)
            if draw < 0:
                return code
        return None

    def inject(self, row: dict[str, str], record_id: str, *, duplicate: bool = False) -> list[InjectedFault]:
        """Damage `row` in place; return the faults in the order they were applied."""
        faults: list[InjectedFault] = []

        def change(code: str, field: str, value: str) -> None:
            original = row.get(field, "")
            if value != original:
                faults.append(InjectedFault(record_id, code, field, original, value))
                row[field] = value

        rng = self.rng
        if self.hit(FaultCode.ADDRESS_LEGACY):
            self.old_address(row, change)
        if self.hit(FaultCode.TONE_PLACEMENT):
            for field in ("full_name", "father_name", "mother_name", "address"):
                change(FaultCode.TONE_PLACEMENT, field, other_tone_placement(row.get(field, "")))
        case = self.pick(_NAME_CASE)
        name = row.get("full_name", "")
        if case == FaultCode.NAME_LOWER:
            change(case, "full_name", name.lower())
        elif case == FaultCode.NAME_UPPER_UNMARKED:
            change(case, "full_name", fold(name).upper())
        date_form = self.pick(_DATE_FORMS)
        if date_form is not None:
            changed = _date_fault(date_form, row.get("birth_date", ""), self.today, rng)
            if changed is not None:
                change(date_form, "birth_date", changed)
        if self.hit(FaultCode.GENDER_MISSING):
            change(FaultCode.GENDER_MISSING, "gender", "")
        pin_fault = self.pick(_PIN_FAULTS)
        if pin_fault is not None:
            wrong = _pin_fault(pin_fault, row.get("id_number", ""), rng)
            if wrong is not None:
                change(pin_fault, "id_number", wrong)
        cmnd = row.get("old_id_number", "")
        if self.hit(FaultCode.CMND_EIGHT_DIGITS) and len(cmnd) == 9:
            change(FaultCode.CMND_EIGHT_DIGITS, "old_id_number", cmnd[1:] if cmnd[0] == "0" else cmnd[:-1])
        if self.hit(FaultCode.FIELD_BLANK):
            candidates = [(field, weight) for field, weight in _BLANKABLE if row.get(field)]
            if candidates:
                field = _weighted(rng, candidates)
                change(FaultCode.FIELD_BLANK, field, "")
        if self.hit(FaultCode.WHITESPACE):
            typed = [
                field for field in ("full_name", "address", "father_name", "mother_name") if row.get(field)
            ]
            if typed:
                field = typed[int(rng.random() * len(typed))]
                change(FaultCode.WHITESPACE, field, _whitespace_fault(row[field], field, rng))
        encoding = self.pick(_ENCODINGS)
        if encoding is not None:
            for field in TEXT_FIELDS:
                value = row.get(field, "")
                if value and not value.isascii():
                    encoded = _encode(encoding, value)
                    if encoded is not None:
                        change(encoding, field, encoded)
        if duplicate and not faults:
            # A duplicate from another source always differs a little: the birth date known only to the
            # year, or else the name typed in lower case.
            birth = row.get("birth_date", "")
            if len(birth) > 4 and _date_parts(birth) is not None:
                change(FaultCode.DATE_YEAR_ONLY, "birth_date", birth[:4])
            else:
                change(FaultCode.NAME_LOWER, "full_name", row.get("full_name", "").lower())
        return faults

    def old_address(self, row: dict[str, str], change: _Change) -> None:
        """Rewrite a 2025 address in the old units of one of the communes that became its commune."""
        found = self.addresses.old_places(row.get("address", ""))
        # Drawn whatever the look-up finds, so that the random stream does not depend on the units.
        place_draw, style_draw = self.rng.random(), self.rng.random()
        if found is None or not found[1]:
            return
        detail, places = found
        place = places[int(place_draw * len(places))]
        style = _ADDRESS_STYLES[-1][0]
        for name, share in _ADDRESS_STYLES:
            style_draw -= share
            if style_draw < 0:
                style = name
                break
        change(FaultCode.ADDRESS_LEGACY, "address", old_address_text(detail, place, style))


def _weighted(rng: random.Random, choices: Sequence[tuple[str, float]]) -> str:
    draw = rng.random() * sum(weight for _, weight in choices)
    for value, weight in choices:
        draw -= weight
        if draw < 0:
            return value
    return choices[-1][0]


def dirty_rows(
    rows: Iterable[dict[str, str]],
    *,
    seed: int,
    rates: FaultRates = DEFAULT_RATES,
    today: date = REFERENCE_DATE,
    addresses: OldAddressBook | None = None,
    duplicate_delay: int = 1000,
) -> Iterator[tuple[dict[str, str], list[InjectedFault]]]:
    """Yield each row damaged, with the faults injected into it; duplicates and blank rows are extra rows.

    `rows` are person-records CSV rows (`generator.person_csv_rows`); they are not modified, and every
    column, known or not, is kept. A duplicate comes 1 to `duplicate_delay` rows after its original.
    `addresses` tells the old units of a 2025 address; by default they are read from the database when
    the first address fault is drawn. The same rows, seed, rates, today and units give the same output.
    """
    if duplicate_delay < 1:
        raise ValueError("duplicate_delay must be at least 1")
    rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data, not secrecy
    injector = _Injector(rng=rng, rates=rates, today=today, addresses=addresses)
    waiting: list[tuple[int, int, dict[str, str], list[InjectedFault]]] = []
    for position, clean in enumerate(rows, start=1):
        while waiting and waiting[0][0] < position:
            _, _, row, faults = heapq.heappop(waiting)
            yield row, faults
        record_id = clean.get("record_id", "")
        make_duplicate = injector.hit(FaultCode.DUPLICATE)
        blank_row = injector.hit(FaultCode.BLANK_ROW)
        row = dict(clean)
        faults = injector.inject(row, record_id)
        yield row, faults
        if blank_row:
            empty = dict.fromkeys(clean, "")
            # A blank row has no record id; the fault names the record it follows instead.
            yield empty, [InjectedFault("", FaultCode.BLANK_ROW, "*", record_id, "")]
        if make_duplicate:
            twin = dict(clean)
            twin_id = f"{record_id}{DUPLICATE_SUFFIX}"
            twin["record_id"] = twin_id
            twin["source"] = DUPLICATE_SOURCES[int(rng.random() * len(DUPLICATE_SOURCES))]
            twin_faults = [
                InjectedFault(twin_id, FaultCode.DUPLICATE, "record_id", record_id, twin_id),
                InjectedFault(
                    twin_id, FaultCode.DUPLICATE, "source", clean.get("source", ""), twin["source"]
                ),
            ]
            twin_faults += injector.inject(twin, twin_id, duplicate=True)
            release = position + 1 + int(rng.random() * duplicate_delay)
            heapq.heappush(waiting, (release, position, twin, twin_faults))
    while waiting:
        _, _, row, faults = heapq.heappop(waiting)
        yield row, faults


@dataclass
class DirtyWriteStats:
    """What `write_dirty_csv` wrote."""

    rows: int = 0
    faults: int = 0


def faults_path_for(path: str | Path) -> Path:
    """Where the faults of a dirty CSV go: "people.csv" -> "people.faults.csv"."""
    path = Path(path)
    stem = path.name[: -len(".csv")] if path.name.lower().endswith(".csv") else path.name
    return path.with_name(f"{stem}.faults.csv")


def write_dirty_csv(
    rows: Iterable[dict[str, str]],
    path: str | Path,
    *,
    columns: Sequence[str],
    seed: int,
    rates: FaultRates = DEFAULT_RATES,
    today: date = REFERENCE_DATE,
    addresses: OldAddressBook | None = None,
    faults_path: str | Path | None = None,
) -> DirtyWriteStats:
    """Write the rows, damaged, as a person-records CSV at `path`, and the faults beside it
    (`faults_path_for(path)` unless named): record_id, fault, field, original, injected."""
    stats = DirtyWriteStats()
    target = Path(faults_path) if faults_path is not None else faults_path_for(path)
    with (
        Path(path).open("w", encoding="utf-8", newline="") as handle,
        target.open("w", encoding="utf-8", newline="") as faults_handle,
    ):
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        fault_writer = csv.DictWriter(faults_handle, fieldnames=FAULT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        fault_writer.writeheader()
        for row, faults in dirty_rows(rows, seed=seed, rates=rates, today=today, addresses=addresses):
            writer.writerow(row)
            stats.rows += 1
            for fault in faults:
                fault_writer.writerow(fault.as_row())
                stats.faults += 1
    return stats
