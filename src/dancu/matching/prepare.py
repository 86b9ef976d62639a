"""Vietnamese-aware inputs of the matcher: one flat row per record, in the columns the comparisons read.

The matcher compares values that the registry's normalization (`dancu.registry.normalize`) has already
put in canonical form, plus keys of our own that Splink's SQL functions cannot compute: DuckDB's
`strip_accents` keeps Đ/đ and knows nothing of the two tone-placement conventions, so every folded key
is made here, in Python, with `dancu.lib.vntext.fold`. For a name the columns are

- `name`: the canonical spelling in lower case (NFC, tone on the first vowel of oa/oe/uy, title case
  lowered). Decomposed Unicode, the other tone convention, lower or mixed case give the same value.
- `name_folded`: no tone or vowel marks, đ as d ("nguyen van hung"). Huyền/sắc and hỏi/ngã confusions,
  dropped marks and names typed in capitals without marks agree here.
- `name_sorted`: the folded words in alphabetical order, so "Hùng Nguyễn Văn" (given name first, as
  some foreign-made forms ask) agrees with "Nguyễn Văn Hùng".
- `given_folded`: the last word of the name as written (tên, the given name), the word that tells
  people of one family name apart; `family_folded`, the first word (họ). Names in the Ê-đê order put the
  person first and the clan last, with Y for men and H' for women ("Y Moan Ênuôl", "H'Hen Niê"): their
  given name is the word after Y, or the H' word, and their family name the last word (`name_parts`).
- `middle_key`: the middle name without Thị and Văn (which old registers add and leave out), or None.
- `given_onset`: the given name's initial consonant when it is a Vietnamese syllable ("th" for Thiện,
  "t" for Tiến), otherwise its first letter: given names count as alike only when it agrees. The parents'
  names have the same two keys (`father_given`, `father_onset`, `mother_given`, `mother_onset`).
- `initials`: the first letter of each folded word ("nvh"), a blocking key that survives a typing
  error inside every word of the name.

Dates of birth keep their precision: a legacy record may know only the year, or year and month, so the
year, month and day are separate columns and the full ISO date is set only when all three are known. A
date the normalization refuses as impossible (month 13, 31 February) is kept as typed, because it is a
typing error one digit away from the person's real date.
Addresses are mapped to today's communes by `dancu.geo.address.parse_address`; parsing is the slow part
of preparation, so only the administrative tail of an address (its last three comma-separated parts)
is parsed, once per distinct tail, and the house-and-street part is compared as folded text.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from dancu.geo.address import DISTRICT_PART
from dancu.lib.forked import forked_map
from dancu.lib.gcpause import gc_paused
from dancu.lib.partial_date import PartialDate, PartialDateError, parse_legacy
from dancu.lib.vntext import fold, fold_name, folded_onset
from dancu.registry.normalize import normalize_cell

# NumPy and pandas are imported by the functions that use them: the matching pages import this module for
# `canonical_detail`, and through the URL configuration every process and command would otherwise load
# pandas (half a second or more of each start) without ever preparing a record.
if TYPE_CHECKING:
    import numpy as np

# The columns of the prepared table, in order. `unique_id` is the record id of the input.
PREPARED_COLUMNS = (
    "unique_id",
    "name",
    "name_folded",
    "name_sorted",
    "given_folded",
    "given_onset",
    "family_folded",
    "middle_key",
    "initials",
    "sex",
    "dob",
    "dob_y",
    "dob_m",
    "dob_d",
    "pin",
    "pin_sorted",
    "cmnd",
    "cmnd_sorted",
    "father",
    "father_folded",
    "father_given",
    "father_onset",
    "mother",
    "mother_folded",
    "mother_given",
    "mother_onset",
    "birth_place",
    "commune",
    "province",
    "address_detail",
    "place",
    "locality",
    "town",
    "house_number",
    "address_words",
    "address_folded",
)

# The fields whose presence makes a record matchable at all; a record with none of them can only be
# a cluster of its own.
IDENTIFYING_FIELDS = ("name_folded", "dob_y", "pin", "cmnd")

# How many comma-separated parts at the end of an address name its units: "xã, huyện, tỉnh" in the old
# structure, "thôn/tổ, xã, tỉnh" in the 2025 one (the village or street part then comes back as detail).
_UNIT_PARTS = 3


@dataclass(frozen=True, slots=True)
class Units:
    """The 2025 commune and province an address names (GSO codes), and its detail below the commune."""

    commune: str | None
    province: str | None
    detail: str


class AddressUnits:
    """Maps address text to 2025 units, parsing each distinct administrative tail once.

    `parser` is `dancu.geo.address.parse_address` (which reads the unit index from the database) or
    None to leave addresses unresolved; a file of a million records holds a few tens of thousands of
    distinct tails, which is what makes a national run affordable.
    """

    def __init__(
        self, parser: Callable[[str], Any] | None, *, provinces: re.Pattern[str] | None = None
    ) -> None:
        self._parser = parser
        self._provinces = provinces
        self._tails: dict[str, tuple[str | None, str | None, str]] = {}

    def __call__(self, text: str) -> Units:
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if not parts:
            return Units(None, None, "")
        # A 2025 address names its units in its last two parts ("Xã Thái Hòa, Tỉnh Tuyên Quang"), an old
        # one in its last three; the two-part tail is tried first because there are far fewer distinct
        # ones (a village or street in the third part from the end would make every tail different).
        for size in (_UNIT_PARTS - 1, _UNIT_PARTS):
            if size < len(parts) and size == _UNIT_PARTS - 1 and DISTRICT_PART.match(fold(parts[-size])):
                # "Huyện Hoài Đức, Hà Nội" or "Thành phố Việt Trì, Tỉnh Phú Thọ" names no commune: the
                # old address's commune is the part before it, and only the three-part tail can find it
                # (a parse saved per old tail, and one the unit look-up cannot answer). "Thành phố" also
                # names a province, but not in the part before the last: a 2025 address names its
                # commune there, and a 2025 commune is a "Phường", a "Xã" or a "Đặc khu".
                continue
            head, tail = parts[:-size], ", ".join(parts[-size:])
            known = self._tails.get(tail)
            if known is None:
                known = self._parse(tail)
                self._tails[tail] = known
            commune, province, tail_detail = known
            if commune is not None:
                return Units(commune, province, fold(" ".join([*head, tail_detail])))
            if len(parts) <= size:
                break
        if province is not None and not head and not tail_detail:
            # The address names a province and nothing below it ("Hà Nội", "Tỉnh Nghệ An"): it has no
            # detail. Its text as the detail made it "the same place" as every other address that is only
            # that province's name, and 300 namesakes of one province born the same year became one person.
            return Units(None, province, "")
        return Units(None, province, fold(text))

    def _parse(self, tail: str) -> tuple[str | None, str | None, str]:
        if self._parser is None or (self._provinces is not None and not self._provinces.search(fold(tail))):
            # No province named: the parser would find nothing either, only slower (an address
            # abroad, or a file from another country's register).
            return None, None, ""
        parsed = self._parser(tail)
        if parsed is None or parsed.commune is None:
            province = getattr(getattr(parsed, "province", None), "code", None)
            # What the tail says besides its province (a street, a district), to tell an address that
            # names only a province from one that says more.
            return None, province, (parsed.detail if province is not None else "")
        province_unit = parsed.province
        return parsed.commune.code, province_unit.code if province_unit else None, parsed.detail

    @classmethod
    def from_database(cls) -> AddressUnits:
        """The geo app's parser when the administrative units are loaded; otherwise none, and addresses
        are compared as text only (`resolves` says which, for the caller to warn)."""
        from django.db import DatabaseError

        from dancu.geo.address import parse_address
        from dancu.registry.bulk import units_loaded

        try:
            loaded = units_loaded()
        except DatabaseError:
            loaded = False
        if not loaded:
            return cls(None)
        return cls(parse_address, provinces=province_pattern())

    def for_workers(self) -> AddressUnits:
        """The same mapping for worker processes forked from this one: the geo app's parser with the
        units read now (`geo.address.frozen_address_parser`), which never asks the database again, since
        a forked worker must not use its parent's database connection."""
        from dancu.geo.address import frozen_address_parser, parse_address

        if self._parser is not parse_address:
            return self
        units = AddressUnits(frozen_address_parser(), provinces=self._provinces)
        units._tails = dict(self._tails)
        return units

    @property
    def resolves(self) -> bool:
        return self._parser is not None

    @property
    def distinct_tails(self) -> int:
        return len(self._tails)


def province_pattern() -> re.Pattern[str]:
    """A pattern that finds the name of any province, 2025 or older, in folded text (with the geo app's
    aliases: "tp hcm", "hn"...). An address that names no province cannot be mapped to a unit, so the
    matcher does not ask the parser about it."""
    from dancu.geo.address import _PROVINCE_ALIASES
    from dancu.geo.models import AdminUnit

    names = set(AdminUnit.objects.filter(level=AdminUnit.Level.PROVINCE).values_list("short_name", flat=True))
    spellings = {fold(name) for name in names} | {
        alias for aliases in _PROVINCE_ALIASES.values() for alias in aliases
    }
    alternatives = sorted(
        (re.escape(spelling).replace(r"\ ", r"\s*") for spelling in spellings if spelling), key=len
    )
    # Not `\b`: an apostrophe ends a word for it, and short aliases then match inside a misspelt word
    # ("gunn'sg ully" named Sài Gòn, and one such address cost FEBRL4 the parser's 1.2 s start-up).
    return re.compile(r"(?<![\w'’])(?:" + "|".join(reversed(alternatives)) + r")(?![\w'’])")


@dataclass
class PreparedRecords:
    """The prepared table as columns (lists of equal length), plus what preparation found."""

    columns: dict[str, list[Any]] = field(default_factory=lambda: {name: [] for name in PREPARED_COLUMNS})
    deceased: set[str] = field(default_factory=set)
    blank: list[str] = field(default_factory=list)
    unreadable_death_dates: list[str] = field(default_factory=list)

    def set_address(self, index: int, *, commune: str | None, province: str | None, detail: str) -> None:
        """Replace the address of record `index` with units known better than its text says (the
        registry's own residence areas), keeping every column derived from it in step."""
        for name, value in address_columns(commune, province, detail).items():
            self.columns[name][index] = value

    def __len__(self) -> int:
        return len(self.columns["unique_id"])


def _words(folded: str) -> list[str]:
    return folded.split() if folded else []


_WORD = re.compile(r"[0-9a-z]+")


def address_words(detail: str) -> list[str] | None:
    """The distinct words of an address's detail (below its commune), in order: two spellings of one
    address that Jaro-Winkler calls different ("10 wellslroad, rosehill" and "68 wells road, rosehill")
    still share most of their words."""
    words = sorted(set(_WORD.findall(detail)))
    return words or None


def _or_none(value: str | None) -> str | None:
    return value if value else None


def _digits_sorted(number: str | None) -> str | None:
    """An identity number with the digits of its second half in ascending order.

    Two numbers typed with two neighbouring digits swapped (the most common keying error after a wrong
    digit) share this key where no edit distance of one and no block on the number brings them together.
    Only the second half is sorted: sorting all twelve digits of a PIN would make keys that thousands of
    people share, while its first half (province, century and sex, year) keeps the key almost unique.
    """
    if not number:
        return None
    half = len(number) // 2
    return number[:half] + "".join(sorted(number[half:]))


def place_key(commune: str | None, detail: str) -> str | None:
    """An address as one blocking key: the detail with its commune, because the detail alone ("thôn 6",
    "tổ 3") names a place in thousands of communes."""
    return f"{commune or ''}|{detail}" if detail else None


_NUMBER = re.compile(r"\d+")


def house_number(detail: str) -> str | None:
    """The first number of an address's detail: the house number of "số 20, ấp 7" or "45 legge street".

    Blocked on with the date of birth, it brings together two records of one person whose name, PIN and
    the rest of the address were all mistyped; alone it says little ("thôn 2" numbers a village).
    """
    match = _NUMBER.search(detail)
    return match.group() if match else None


def town(commune: str | None, text: str) -> str | None:
    """For an address that resolves to no commune (abroad, damaged, another country's register), its
    last comma-separated part folded, which names the town, province or postcode where addresses are
    written from the house up; None for an address that resolves."""
    if commune:
        return None
    parts = [part for part in text.split(",") if part.strip()]
    return _or_none(fold(parts[-1])) if parts else None


_DETAIL_WORD = re.compile(r"\w+")


def canonical_detail(detail: str) -> str:
    """An address's detail as its folded words, one space apart.

    The registry keeps "số 201, đường Phong, tổ dân phố 23" as the officer typed it and the address parser
    gives a legacy book's "Số 201 đường Phong tổ dân phố 23" without the commas: one house, which the
    comparison of places and the blocks on them must see as one.
    """
    return " ".join(_DETAIL_WORD.findall(fold(detail)))


def address_columns(
    commune: str | None, province: str | None, detail: str, *, text: str = ""
) -> dict[str, Any]:
    """The prepared columns of an address, all derived from its units, detail and text in this one
    place."""
    detail = canonical_detail(detail)
    return {
        "commune": commune,
        "province": province,
        "address_detail": _or_none(detail),
        "place": place_key(commune, detail),
        # The place an address is in, as one key: its 2025 commune, or else its town.
        "locality": commune or town(commune, text),
        "town": town(commune, text),
        "house_number": house_number(detail),
        "address_words": address_words(detail),
    }


# Three groups of digits: a date in either order, year first (ISO) or last (Vietnamese day first).
_TYPED_DATE = re.compile(r"(\d{1,4})\D{1,3}(\d{1,2})\D{1,3}(\d{1,4})")


def _typed_date(text: str | None) -> tuple[int, int, int] | None:
    """The year, month and day of a date the normalization refused as impossible ("1949-00-13",
    "31/02/1975", "1962-13-05"), as they were typed.

    The registry cannot store such a date, but for finding the same person it is a typing error like
    any other: "1949-00-13" is one digit away from "1949-10-13", and its year alone still tells two
    people apart. Dropping it would leave the record with no date at all.
    """
    match = _TYPED_DATE.fullmatch((text or "").strip())
    if match is None:
        return None
    first, month, last = match.groups()
    if len(first) == 4:
        year, day = first, last
    elif len(last) == 4:
        year, day = last, first
    else:
        return None
    return int(year), int(month), int(day)


def _birth_parts(birth: PartialDate | None, typed: str | None) -> tuple[int | None, int | None, int | None]:
    if birth is not None:
        return birth.year, birth.month, birth.day
    return _typed_date(typed) or (None, None, None)


def _onset(given: str) -> str:
    """See `given_onset` in the module docstring; a vowel-initial name ("anh", "uyen") gives its first
    letter, so that Uyên and Huyền, Anh and Oanh stay apart."""
    return folded_onset(given) or given[0]


# Middle names that mark sex more than they name anyone, and that old registers often leave out or add:
# "Nguyễn Thị Hồng Lan" is "Nguyễn Hồng Lan" in many a household book.
_SEX_MIDDLES = frozenset({"thi", "van"})


@dataclass(frozen=True, slots=True)
class NameParts:
    family: str | None
    middle: tuple[str, ...]
    given: str | None


_FEMALE_MARK = "h'"


def name_parts(words: list[str]) -> NameParts:
    """The family name, middle words and given name of a folded name's words.

    Most names in Vietnam are written family name first and given name last ("Nguyễn Văn Hùng"; the
    Jrai too: "Siu H'Hnil"). The Ê-đê and their neighbours of the Central Highlands put the person first
    and the clan last, marking men with Y and women with H': "Y Moan Ênuôl", "H'Hen Niê", sometimes
    written "H' Hen Niê". Read the Kinh way, the clan became the given name, and brothers of one clan
    ("Y Ngơn Byă", "Y Thu Byă") had "the same given name".
    """
    if len(words) >= 3 and words[0] in ("y", _FEMALE_MARK):
        # "H' Hen" is the same name as "H'Hen".
        given = words[1] if words[0] == "y" else _FEMALE_MARK + words[1]
        return NameParts(family=words[-1], middle=tuple(words[2:-1]), given=given)
    if len(words) >= 2 and words[0].startswith(_FEMALE_MARK):
        return NameParts(family=words[-1], middle=tuple(words[1:-1]), given=words[0])
    if not words:
        return NameParts(family=None, middle=(), given=None)
    return NameParts(family=words[0], middle=tuple(words[1:-1]), given=words[-1])


def _given_onset(given: str | None) -> str | None:
    """The onset of a given name, read after the H' that marks a woman of the Central Highlands: every
    such name would otherwise begin with h."""
    if not given:
        return None
    bare = given.removeprefix(_FEMALE_MARK)
    return _onset(bare or given)


def _middle_key(parts: NameParts) -> str | None:
    """The words between the family and the given name, without Thị and Văn; None when none is left."""
    middle = [word for word in parts.middle if word not in _SEX_MIDDLES]
    return " ".join(middle) or None


def _given_columns(parent: str, folded: str) -> dict[str, str | None]:
    """A parent's given name and its initial consonant, compared as the person's own are."""
    given = name_parts(_words(folded)).given
    return {f"{parent}_given": given, f"{parent}_onset": _given_onset(given)}


# Distinct names and addresses whose columns a process remembers (`_name_columns`, `_address_columns`): a
# file repeats them from row to row (half the full names of the Vietnamese set, two thirds of the parents'
# names and three fifths of the addresses are seen again), and their columns are pure functions of them.
REMEMBERED = 200_000


@functools.lru_cache(maxsize=REMEMBERED)
def _name_columns(full_name: str) -> dict[str, Any]:
    name_folded = fold_name(full_name)
    words = _words(name_folded)
    parts = name_parts(words)
    return {
        "name": _or_none(full_name.lower()),
        "name_folded": _or_none(name_folded),
        "name_sorted": _or_none(" ".join(sorted(words))),
        "given_folded": parts.given,
        "given_onset": _given_onset(parts.given),
        "family_folded": parts.family,
        "middle_key": _middle_key(parts),
        "initials": "".join(word[0] for word in words) or None,
    }


@functools.lru_cache(maxsize=REMEMBERED)
def _parent_columns(parent: str, name: str) -> dict[str, Any]:
    folded = fold_name(name)
    return {
        parent: _or_none(name.lower()),
        f"{parent}_folded": _or_none(folded),
        **_given_columns(parent, folded),
    }


@functools.lru_cache(maxsize=REMEMBERED)
def _address_columns(address: Units, text: str) -> dict[str, Any]:
    # The list of words is shared by the rows of one address: nothing changes a prepared value in place
    # (`PreparedRecords.set_address` replaces it).
    # An address that names only a province is compared as no address at all: its text, the province's
    # name, would agree letter for letter with every other such address of the province.
    only_province = address.province is not None and address.commune is None and not address.detail
    return {
        **address_columns(address.commune, address.province, address.detail, text=text),
        "address_folded": None if only_province else _or_none(fold(text)),
    }


# The prepared columns of each input column, worked out from its cell alone (`normalize_cell`): a file
# repeats its names, dates and addresses from row to row, so `_prepare_serial` works each distinct cell
# of a slice out once.


def _name_cell(raw: str, today: date, units: AddressUnits) -> dict[str, Any]:
    return _name_columns(normalize_cell("full_name", raw, today=today))


def _father_cell(raw: str, today: date, units: AddressUnits) -> dict[str, Any]:
    return _parent_columns("father", normalize_cell("father_name", raw, today=today))


def _mother_cell(raw: str, today: date, units: AddressUnits) -> dict[str, Any]:
    return _parent_columns("mother", normalize_cell("mother_name", raw, today=today))


def _sex_cell(raw: str, today: date, units: AddressUnits) -> dict[str, Any]:
    return {"sex": normalize_cell("gender", raw, today=today)}


def _birth_cell(raw: str, today: date, units: AddressUnits) -> dict[str, Any]:
    year, month, day = _birth_parts(normalize_cell("birth_date", raw, today=today), raw)
    return {
        "dob": None if year is None or month is None or day is None else f"{year:04d}-{month:02d}-{day:02d}",
        "dob_y": year,
        "dob_m": month,
        "dob_d": day,
    }


def _pin_cell(raw: str, today: date, units: AddressUnits) -> dict[str, Any]:
    pin = normalize_cell("id_number", raw, today=today)
    return {"pin": pin, "pin_sorted": _digits_sorted(pin)}


def _cmnd_cell(raw: str, today: date, units: AddressUnits) -> dict[str, Any]:
    cmnd = normalize_cell("old_id_number", raw, today=today)
    return {"cmnd": cmnd, "cmnd_sorted": _digits_sorted(cmnd)}


def _birth_place_cell(raw: str, today: date, units: AddressUnits) -> dict[str, Any]:
    text, province = normalize_cell("birth_place", raw, today=today)
    return {"birth_place": province or _or_none(fold(text))}


def _address_cell(raw: str, today: date, units: AddressUnits) -> dict[str, Any]:
    text = normalize_cell("address", raw, today=today)
    return _address_columns(units(text) if text else Units(None, None, ""), text)


# In the order of PREPARED_COLUMNS.
_CELLS: dict[str, Callable[[str, date, AddressUnits], dict[str, Any]]] = {
    "full_name": _name_cell,
    "gender": _sex_cell,
    "birth_date": _birth_cell,
    "id_number": _pin_cell,
    "old_id_number": _cmnd_cell,
    "father_name": _father_cell,
    "mother_name": _mother_cell,
    "birth_place": _birth_place_cell,
    "address": _address_cell,
}


def prepare_row(raw: Mapping[str, str | None], *, today: date, units: AddressUnits) -> dict[str, Any]:
    """One person-records row as the matcher's columns (see the module docstring)."""
    prepared = {"unique_id": (raw.get("record_id") or "").strip()}
    for column, cell in _CELLS.items():
        prepared.update(cell(raw.get(column) or "", today, units))
    return prepared


# Inputs of at least this many records are prepared in worker processes, when more than one is allowed
# (`DANCU_MATCH_WORKERS`): below it, starting the workers costs more than it saves.
PARALLEL_ABOVE = 50_000
# Distinct cells per task given to a worker: enough that sending them and their columns between processes
# costs little beside working them out, few enough that the two workers finish together.
CHUNK_CELLS = 5_000
# What a distinct cell of each input column costs to work out, about, in microseconds (a million Vietnamese
# records, RESULTS.md, session 38): the weights of the parallel preparation's progress. Counted by cells,
# the addresses, dealt first and the slowest, took 70 % of the time to the first quarter of the progress.
CELL_COST = {
    "full_name": 14,
    "gender": 1,
    "birth_date": 5,
    "id_number": 1,
    "old_id_number": 1,
    "father_name": 11,
    "mother_name": 11,
    "birth_place": 30,
    "address": 27,
}
# Rows prepared together by `_prepare_serial`: each distinct cell of a slice is worked out once. Large
# enough that most repeats fall in one slice, small enough that the slice's distinct cells stay a small
# part of a national run's memory.
SLICE_ROWS = 20_000


def _work_out(
    cell: Callable[[str, date, AddressUnits], dict[str, Any]],
    values: Iterable[str],
    today: date,
    units: AddressUnits,
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The prepared columns of each of `values` by `cell`, with the columns' names."""
    names: tuple[str, ...] = ()
    found = []
    for value in values:
        columns = cell(value, today, units)
        names = names or tuple(columns)
        found.append(tuple(columns.values()))
    return names, found


def _cells(rows: Sequence[Mapping[str, str | None]], column: str) -> list[str]:
    return [raw.get(column) or "" for raw in rows]


def _take_ids(prepared: PreparedRecords, rows: Sequence[Mapping[str, str | None]]) -> int:
    """Append the record ids of `rows`; the index of the first of them, for `_take_findings`."""
    start = len(prepared.columns["unique_id"])
    prepared.columns["unique_id"].extend((raw.get("record_id") or "").strip() for raw in rows)
    return start


def _take_findings(
    prepared: PreparedRecords, rows: Sequence[Mapping[str, str | None]], start: int, today: date
) -> None:
    """Record which of `rows` (taken from index `start` on, every column of them) are blank in every
    identifying field, and which carry a date of death."""
    columns = prepared.columns
    ids = columns["unique_id"][start:]
    identifying = [columns[name][start:] for name in IDENTIFYING_FIELDS]
    prepared.blank.extend(
        record_id
        for record_id, *values in zip(ids, *identifying, strict=True)
        if all(v is None for v in values)
    )
    for record_id, raw in zip(ids, rows, strict=True):
        death = (raw.get("death_date") or "").strip()
        if not death:
            continue
        try:
            parse_legacy(death, today=today)
        except PartialDateError:
            prepared.unreadable_death_dates.append(record_id)
        else:
            prepared.deceased.add(record_id)


def _prepare_serial(
    rows: Iterable[Mapping[str, str | None]],
    *,
    today: date,
    units: AddressUnits,
    progress: Callable[[int], None] | None = None,
) -> PreparedRecords:
    """The rows prepared column by column, a slice at a time: each input column's distinct cells of the
    slice go through their `_CELLS` function once, and the rows take their cells' columns by the cells'
    numbers (`_numbered_cells`, `_take_numbered`), as the parallel preparation does. The result is
    `prepare_row`'s, row for row (tested); a file's repeated names, dates and addresses are worked out
    once, where every row took its own turn before."""
    prepared = PreparedRecords()
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, SLICE_ROWS)):
        start = _take_ids(prepared, batch)
        for column, cell in _CELLS.items():
            codes, distinct = _numbered_cells(batch, column)
            names, found = _work_out(cell, distinct, today, units)
            _take_numbered(prepared, names, found, codes)
        _take_findings(prepared, batch, start, today)
        if progress is not None:
            progress(len(prepared))
    return prepared


class _Worker:
    """The address units a worker process uses: those of the process that prepares, handed over by the
    fork (`AddressUnits.for_workers`), so that workers never read the database."""

    units: AddressUnits | None = None


def _worker_start(units: AddressUnits) -> None:
    _Worker.units = units


def _work_cells(column: str, values: list[str], today: date) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    assert _Worker.units is not None  # set as the worker starts
    return _work_out(_CELLS[column], values, today, _Worker.units)


def _address_tail(text: str) -> str:
    """The last two comma-separated parts of an address: the administrative tail the unit look-up parses
    once per worker (`AddressUnits`)."""
    return ",".join(text.rsplit(",", 2)[-2:])


def _numbered_cells(rows: Sequence[Mapping[str, str | None]], column: str) -> tuple[np.ndarray, list[str]]:
    """Each row's cell of `column` as the number of its distinct value, and the distinct values in the order
    they first appear (`dict.fromkeys`'s order): `pd.factorize` hashes the cells in C, where a dictionary of
    them took the preparing process half a second a column at a million records."""
    import numpy as np
    import pandas as pd

    codes, distinct = pd.factorize(np.fromiter(_cells(rows, column), dtype=object, count=len(rows)))
    return codes, distinct.tolist()


def _take_numbered(
    prepared: PreparedRecords,
    names: tuple[str, ...],
    worked: Sequence[tuple[Any, ...]],
    codes: np.ndarray,
) -> None:
    """Append the prepared columns `names` for rows whose cells are numbered `codes`, from the columns of
    each distinct cell (`worked`, in the order of the numbers): each column is taken from the distinct
    cells' values by the rows' numbers in one step (`numpy.take`), not row by row."""
    import numpy as np

    for name, values in zip(names, zip(*worked, strict=True), strict=False):
        prepared.columns[name].extend(np.fromiter(values, dtype=object, count=len(values))[codes].tolist())


def _prepare_parallel(
    rows: Sequence[Mapping[str, str | None]],
    *,
    today: date,
    units: AddressUnits,
    workers: int,
    chunk_cells: int,
    progress: Callable[[int], None] | None,
) -> PreparedRecords:
    """The distinct cells of the whole input worked out in `workers` forked processes, `chunk_cells` at a
    time, and the rows' columns put together from them in input order, as `_prepare_serial` does: each
    input column's as soon as its last piece is back, while the workers go on with the next columns.

    Work is dealt by distinct cell, not by row: a name met in rows that two workers each took would be
    worked out twice, and dealing rows by their address (as this did before) left each worker most of
    the file's names; two workers took three quarters of one's time. The addresses go first and in the
    order of their administrative tails, so that each tail is parsed by one worker (parsing is the
    longest part of the work) and the short tasks of the other columns even out the end. Progress is
    the share of the work done (the distinct cells weighed by `CELL_COST`), told in rows. The result is
    the serial one, record for record (tested).
    """
    columns = ("address", *(column for column in _CELLS if column != "address"))
    numbered = {column: _numbered_cells(rows, column) for column in columns}
    # The order the workers are given the distinct cells in (the addresses by their tails); the rows take
    # them in the order of `numbered`.
    distinct = {column: values for column, (_, values) in numbered.items()}
    distinct["address"] = sorted(distinct["address"], key=_address_tail)
    work = (
        ((column, start), (column, values[start : start + chunk_cells], today))
        for column, values in distinct.items()
        for start in range(0, len(values), chunk_cells)
    )
    total = sum(len(values) * CELL_COST[column] for column, values in distinct.items())
    by_cell: dict[str, dict[str, tuple[Any, ...]]] = {column: {} for column in _CELLS}
    prepared = PreparedRecords()
    _take_ids(prepared, rows)
    done = told = 0
    # A line every twentieth of the rows: the tasks are many more than a terminal wants to read about.
    step = max(len(rows) // 20, 1)
    parts = forked_map(
        _work_cells, work, workers=workers, setup=_worker_start, setup_args=(units.for_workers(),)
    )
    with contextlib.closing(parts):  # an error here stops the workers at once
        for (column, start), (names, results) in parts:
            values = distinct[column][start : start + chunk_cells]
            by_cell[column].update(zip(values, results, strict=True))
            # The pieces come back in the order they were dealt, a column's one after another: after its
            # last piece a column is put together at once, while the workers go on with the next ones.
            if start + chunk_cells >= len(distinct[column]):
                codes, in_order = numbered.pop(column)
                worked = by_cell.pop(column)
                _take_numbered(prepared, names, [worked[value] for value in in_order], codes)
            done += len(values) * CELL_COST[column]
            estimate = len(rows) * done // total
            if progress is not None and done < total and estimate // step > told // step:
                progress(estimate)
                told = estimate
    _take_findings(prepared, rows, 0, today)
    if progress is not None:
        progress(len(rows))
    return prepared


def prepare_records(
    rows: Iterable[Mapping[str, str | None]],
    *,
    today: date,
    units: AddressUnits,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    parallel_above: int = PARALLEL_ABOVE,
    chunk_cells: int = CHUNK_CELLS,
) -> PreparedRecords:
    """Prepare every row; record which ones are blank in every identifying field and which carry a date
    of death (the optional `death_date` column), whose clusters the output marks as deceased.

    With `workers` above one and at least `parallel_above` rows, the rows are prepared in that many
    worker processes (about half the time on two cores); the result is the same either way.
    """
    # The preparation makes millions of small tuples, lists and dictionaries and no reference cycle; the
    # cyclic collector, left on, took 40 % of its time walking them (`lib.gcpause`). Workers forked
    # inside inherit the pause. What it leaves (the prepared columns, the unit index and the address
    # library it loaded) lives through the run, and is frozen at the end so that the collector does not
    # walk it three times during the matching; `engine.run_matcher` gives it back when the run ends.
    with gc_paused(freeze=True):
        if workers > 1:
            listed = rows if isinstance(rows, Sequence) else list(rows)
            if len(listed) >= parallel_above:
                return _prepare_parallel(
                    listed,
                    today=today,
                    units=units,
                    workers=workers,
                    chunk_cells=chunk_cells,
                    progress=progress,
                )
            rows = listed
        return _prepare_serial(rows, today=today, units=units, progress=progress)
