"""Free-text addresses (địa chỉ) as people write them, parsed and mapped to the registry's units.

Legacy books, forms and spreadsheets write addresses in two shapes: the old three levels ("Số 5, thôn
Thượng, xã Dương Liễu, huyện Hoài Đức, Hà Nội", often abbreviated: "P. Phúc Xá, Q. Ba Đình, TP. Hà Nội",
in lower case, without tone marks) and, since 1-7-2025, two levels ("Số 12 phố Hàng Bạc, Phường Hoàn
Kiếm, Thành phố Hà Nội"). `parse_address` recognizes either and returns the registry's own `AdminUnit`
rows: for an old address the legacy commune it names and that commune's default 2025 successor (plus the
other successors of a commune that was split), for a new address the 2025 commune. The original text is
kept exactly as given, as DESIGN.md asks.

Most addresses write each unit in a comma-separated part of its own, with its kind word ("X. Dương Liễu,
H. Hoài Đức, TP. Hà Nội"): those are read by looking the names up in the unit index, in microseconds.
Any other text is recognized by the MIT-licensed `vietnamadminunits` parser (its keyword tables know
abbreviations, old names and accent-less spellings), which costs a millisecond or more; only its offline
`parse_address` is called, never its converter or anything that geocodes. What this module adds is what
the registry needs on top:

- the choice between the two structures. The library parses a text in whichever mode it is told and
  will find *something* in either ("Phường Hoàn Kiếm, Thành phố Hà Nội" read as an old address gives
  Quận Hoàn Kiếm), so each reading is checked against the text: the unit names must appear in it, in
  order, and the kind word written before a name ("phường", "Q.", "huyện") must not belong to another
  level. The reading the text supports best wins.
- the street part (`detail`), cut from the text itself before the commune's name, with its spelling
  kept (the library returns it title-cased and sometimes truncated).
- the mapping to `AdminUnit` rows and successions, from an in-memory index loaded once per process.
- text damaged by a legacy encoding is repaired first (`lib.vnencoding.repair`), since an old address
  typed in TCVN3 or VNI names no unit until it is.

Bulk imports parse millions of addresses, so both the unit index and the results are cached: the index
is reloaded when the units change (checked at most every few seconds, or at once through
`address_units_reset`), and results are kept in an LRU cache keyed by the cleaned text from the commune's
kind word on ("Xã Dương Liễu, Huyện Hoài Đức, Hà Nội" for every house of that commune), so that most
look-ups of an import hit it whatever the house numbers before it.
"""

from __future__ import annotations

import functools
import re
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dancu.geo.models import AdminUnit, UnitSuccession
from dancu.geo.selectors import units_version
from dancu.lib import vnencoding
from dancu.lib.vntext import canonical_tone_placement, fold

Structure = AdminUnit.Structure
Level = AdminUnit.Level

# No real address is longer than the 500 characters the registry stores for one (address_original);
# anything longer is not parsed at all, which also bounds the work a hostile input can cause.
MAX_ADDRESS_LENGTH = 500

# How sure the parser is of the commune it returns. The values order the cases; they are not
# probabilities.
CONFIDENCE_CERTAIN = 1.0  # every unit found in the text, each with its own kind word ("Xã", "H.")
CONFIDENCE_BARE_NAMES = 0.9  # every unit found, written without kind words ("phuc xa, ba dinh, ha noi")
CONFIDENCE_NO_DISTRICT = 0.8  # an old commune found by its name within its province, district omitted
# The library recognized an old commune whose name is not in the text (an old name of it), or a 2025
# commune followed by words that look like a district.
CONFIDENCE_LIBRARY_ONLY = 0.6
# The text names a commune whose name folds alike to another's of the same parent (Trà Dơn and Trà Don of
# Huyện Nam Trà My) without the tone marks that tell which; `commune` is None. It explains the text better
# than a 2025 commune found in a district's name, so it ranks above the library's guesses.
CONFIDENCE_AMBIGUOUS = 0.7
CONFIDENCE_PROVINCE_ONLY = 0.3  # only the province was recognized; `commune` is None

# Results kept per process. An entry is a few hundred bytes; 32,768 of them stay far below the memory
# budget of an import while covering the repetition an import sees (households, villages).
_CACHE_SIZE = 32_768
# How often the unit index asks the database whether the units changed. Between checks a reload of the
# units goes unnoticed, unless the code that reloaded them calls `address_units_reset`.
_RECHECK_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """What an address names, in the registry's units.

    `structure` says which shape the text was read in ("legacy" or "2025", the values of
    `AdminUnit.Structure`). For a legacy address `legacy_commune` is the old commune it names (for an
    island district that had no communes, the district itself), `commune` its default 2025 successor and
    `alternatives` the other 2025 communes that took over part of it, for an officer to choose from when
    the commune was split. For a 2025 address `legacy_commune` is None and `alternatives` empty.
    `province` is the 2025 province, also when nothing below it was recognized. `detail` is the part
    of the text below the commune (house, lane, street, village) as written, and `original` the text
    exactly as given.

    The `AdminUnit` objects come from a process-wide cache and are shared between results: read them,
    use them as foreign keys, but do not modify them.
    """

    original: str
    detail: str
    structure: str
    commune: AdminUnit | None
    legacy_commune: AdminUnit | None
    alternatives: tuple[AdminUnit, ...]
    province: AdminUnit | None
    confidence: float

    @property
    def province_only(self) -> bool:
        """True when the province was recognized but no commune: the address needs an officer."""
        return self.commune is None and self.legacy_commune is None


# Text -------------------------------------------------------------------------------------------------


def _key_table() -> dict[int, str]:
    # Each letter maps to exactly one ASCII character, so that the key has the length of the text and a
    # position found in the key is the same position in the text. vntext.fold defines the folding; the
    # few letters it turns into two characters (ligatures) are left out and become separators.
    table = {code: chr(code).lower() for code in range(ord("A"), ord("Z") + 1)}
    # Semicolons and vertical bars separate the parts of an address as commas do.
    table.update({ord(";"): ",", ord("|"): ","})
    for start, end in ((0x00C0, 0x024F), (0x1E00, 0x1EFF)):
        for code in range(start, end + 1):
            folded = fold(chr(code))
            if len(folded) == 1 and folded.isascii() and folded.isalnum():
                table[code] = folded
    return table


_KEY_TABLE = _key_table()
_NOT_KEY = re.compile(r"[^a-z0-9,]")
# Line breaks, tabs, zero-width and bidirectional characters and the like: never part of an address,
# and read as a separator so that "Xã\nDương Liễu" still parses.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_SPACES = re.compile(r"\s+")
_DETAIL_EDGES = " ,.;:-–—/\\|"


def _clean(text: str) -> str:
    """NFC, invisible characters and odd spaces turned into one plain space, trimmed."""
    text = unicodedata.normalize("NFC", text)
    if not text.isprintable():
        text = "".join(" " if unicodedata.category(char) in _INVISIBLE else char for char in text)
    return _SPACES.sub(" ", text).strip()


def _key(cleaned: str) -> str:
    """The text folded to lower-case ASCII letters and digits, commas kept (a kind word and a name on
    either side of a comma do not belong together), everything else a space; same length as the text."""
    return _NOT_KEY.sub(" ", cleaned.translate(_KEY_TABLE))


# Kind words as they are written before a unit name, in the key's alphabet (no marks, lower case),
# abbreviated or not: "Phường"/"P."/"F." (southern spelling), "Thị trấn"/"TT.", "Quận"/"Q.",
# "Thị xã"/"TX.", "Thành phố"/"TP.", "Tỉnh"/"T.".
_KIND_WORDS: dict[str, str] = {
    "phuong": "Phường",
    "p": "Phường",
    "f": "Phường",
    "xa": "Xã",
    "x": "Xã",
    "thitran": "Thị trấn",
    "tt": "Thị trấn",
    "dackhu": "Đặc khu",
    "quan": "Quận",
    "q": "Quận",
    "huyen": "Huyện",
    "h": "Huyện",
    "thixa": "Thị xã",
    "tx": "Thị xã",
    "thanhpho": "Thành phố",
    "tp": "Thành phố",
    "tinh": "Tỉnh",
    "t": "Tỉnh",
}
# The same, per kind, as alternatives of a pattern: a numbered unit ("Phường 5") needs one of them.
_KIND_ALTERNATIVES: dict[str, str] = {
    "Phường": r"phuong|p|f",
    "Xã": r"xa|x",
    "Thị trấn": r"thi\s*tran|tt",
    "Đặc khu": r"dac\s*khu",
    "Quận": r"quan|q",
    "Huyện": r"huyen|h",
    "Thị xã": r"thi\s*xa|tx",
    "Thành phố": r"thanh\s*pho|tp",
    "Tỉnh": r"tinh|t",
}
# The kind word right before a position; two-word kinds first, so that "thi xa" is not read as "xa".
_KIND_BEFORE = re.compile(
    r"(?:^|[\s,])(thi\s*xa|thi\s*tran|thanh\s*pho|dac\s*khu|phuong|huyen|quan|tinh|xa|tx|tt|tp|p|f|x|q|h|t)\s*$"
)
_COMMUNE_KINDS = frozenset({"Phường", "Xã", "Thị trấn", "Đặc khu"})
_DISTRICT_KINDS = frozenset({"Quận", "Huyện", "Thị xã", "Thành phố"})
_PROVINCE_KINDS = frozenset({"Tỉnh", "Thành phố"})
_LEVEL_KINDS: dict[str, frozenset[str]] = {
    Level.COMMUNE: _COMMUNE_KINDS,
    Level.DISTRICT: _DISTRICT_KINDS,
    Level.PROVINCE: _PROVINCE_KINDS,
}
# A comma-separated part that opens with a district's kind word, in full or abbreviated, in folded text
# ("huyen hoai duc", "tp. viet tri"): what the matcher takes for the district of an old address
# (matching/prepare.py, `AddressUnits`).
DISTRICT_PART = re.compile(
    "(?:" + "|".join(_KIND_ALTERNATIVES[kind] for kind in sorted(_DISTRICT_KINDS)) + r")\b"
)
# A district named in the text ("huyện", "Q.", "TX.") makes an old address likely: it is read as one
# first. So do two "thành phố" ("TP. Thủ Đức, TP.HCM") or a "thành phố" in a "tỉnh" (a provincial city).
_DISTRICT_MARK = re.compile(r"\b(?:quan|huyen|thi\s*xa|tx|q|h)\b\s*[a-z0-9]")
_CITY_MARK = re.compile(r"\b(?:thanh\s*pho|tp)\b")
_PROVINCE_MARK = re.compile(r"\btinh\b")
_NAME_WORD = re.compile(r"[a-z0-9]")
# Other names of provinces, in the key's alphabet.
_PROVINCE_ALIASES: dict[str, tuple[str, ...]] = {
    "Hồ Chí Minh": ("hcm", "tp hcm", "tphcm", "sai gon", "sg"),
    "Hà Nội": ("hn",),
    "Huế": ("thua thien hue", "tt hue"),
    "Bà Rịa - Vũng Tàu": ("brvt", "ba ria vung tau", "vung tau"),
    "Đắk Lắk": ("dac lac", "dak lak"),
    "Đắk Nông": ("dac nong", "dak nong"),
}


@dataclass(frozen=True, slots=True)
class _Found:
    """Where the text names a unit: from its kind word when one is written, to the end of its name."""

    start: int
    end: int
    kind_written: bool


def _words(name: str) -> list[str]:
    return _key(_clean(name)).split()


def _unit_number(short_name: str, kind: str) -> str | None:
    """The number of a numbered unit ("5" for Phường 5, "Phường 05"), None for a unit with a name."""
    words = _words(short_name)
    if len(words) >= 2 and words[-1].isdigit() and fold(short_name) == f"{fold(kind)} {words[-1]}":
        return words[-1].lstrip("0") or "0"
    return None


def _kind_prefix(words: list[str]) -> tuple[str | None, list[str]]:
    """The unit kind that the first word or two of a part name, and the words after them; (None, words)
    when they name none or nothing follows them. Two words join only into a two-word kind ("thanh pho"):
    "X. A Ngo" is Xã A Ngo, not "xa" followed by Ngo."""
    if len(words) > 2 and words[0] + words[1] in _TWO_WORD_KINDS:
        return _KIND_WORDS[words[0] + words[1]], words[2:]
    if len(words) > 1 and words[0] in _KIND_WORDS:
        return _KIND_WORDS[words[0]], words[1:]
    return None, words


@functools.lru_cache(maxsize=16_384)
def _name_pattern(short_name: str, kind: str) -> tuple[re.Pattern[str], bool]:
    """The pattern of a unit's name in a key, and whether it is a numbered unit.

    A name matches with or without the spaces between its words ("phuc xa", "phucxa"). A numbered unit
    ("Phường 5", "Quận 3") must have its kind word before the number, in full or abbreviated, joined or
    not ("p5", "q.3", "phuong 05"): a bare number is a house number as often as a ward.
    """
    number = _unit_number(short_name, kind)
    if number is not None:
        return re.compile(rf"\b(?:{_KIND_ALTERNATIVES[kind]})\s*0*{number}\b"), True
    words = _words(short_name)
    if not words:
        return re.compile(r"(?!)"), False
    return re.compile(r"\b" + r"\s*".join(re.escape(word) for word in words) + r"\b"), False


@functools.lru_cache(maxsize=256)
def _province_pattern(short_name: str) -> re.Pattern[str]:
    spellings = [r"\s*".join(re.escape(word) for word in _words(short_name))]
    spellings += [r"\s*".join(alias.split()) for alias in _PROVINCE_ALIASES.get(short_name, ())]
    return re.compile(rf"\b(?:{'|'.join(spellings)})\b")


def _kind_before(key: str, position: int, cleaned: str) -> tuple[str, int] | None:
    """The unit kind whose word is written right before `position`, and where that word starts.

    The key folds the marks away, and the text's marks may say the word is no kind word at all: "Xá" of
    Phùng Xá, "Quán" of Minh Quán. A kind word counts when each of its letters is the kind's own or that
    letter without its marks ("xa", "Xã", "THI XA"), not when one carries another mark."""
    # A short window that starts at a word boundary: kind words are at most two short words.
    window_start = max(key.rfind(" ", 0, max(0, position - 12)), 0)
    match = _KIND_BEFORE.search(key[window_start:position])
    if match is None:
        return None
    kind = _KIND_WORDS[match.group(1).replace(" ", "")]
    start, end = window_start + match.start(1), window_start + match.end(1)
    written = canonical_tone_placement(cleaned[start:end]).lower()
    if not written.isascii() and not _spells(written, kind.lower()):
        return None
    return kind, start


def _spells(written: str, kind: str) -> bool:
    """Whether `written` is the kind word `kind` with some or all of its marks, or the abbreviation of
    it (which is ASCII)."""
    if len(written) != len(kind):
        return False
    return all(mine == own or mine == fold(own) for mine, own in zip(written, kind, strict=True))


# The kind words of two words, joined: a name found right after the first word of one begins inside it.
_TWO_WORD_KINDS = frozenset({"thanhpho", "thixa", "thitran", "dackhu"})


def _inside_kind_word(key: str, position: int) -> bool:
    """Whether the word at `position` is the second word of a two-word kind ("phố" of "thành phố").

    "Thành phố Yên Bái" holds the words of Phường Phổ Yên ("pho yen"); a name cannot begin there.
    """
    before = key[:position].replace(",", " ").split()
    after = key[position:].replace(",", " ").split(None, 1)
    return bool(before) and bool(after) and before[-1] + after[0] in _TWO_WORD_KINDS


def _find(
    key: str, unit: AdminUnit, end: int, cleaned: str, *, after_name: str | None = None
) -> _Found | None:
    """The rightmost place before `end` where the text (`cleaned`, folded into `key`) names `unit`, or
    None.

    A name right after the kind word of another level ("Quận Ba Đình" when looking for a commune named
    Ba Đình) does not name this unit, and the search goes on to the left; a kind of the same level but
    another type ("Xã" written for a Phường, as people do when a commune changes type) is accepted as a
    name written without its own kind. A kind word that ends `after_name`, the words of the unit written
    before this one, is the end of that name: "phung xa thach that" names Huyện Thạch Thất after Phùng
    Xá, with no "xã" before it.
    """
    if unit.level == Level.PROVINCE:
        pattern, numbered = _province_pattern(unit.short_name), False
    else:
        pattern, numbered = _name_pattern(unit.short_name, unit.kind)
    matches = list(pattern.finditer(key, 0, end))
    own_level = _LEVEL_KINDS[unit.level]
    for match in reversed(matches):
        if _inside_kind_word(key, match.start()):
            continue
        if numbered:
            return _Found(match.start(), match.end(), kind_written=True)
        before = _kind_before(key, match.start(), cleaned)
        if (
            before is not None
            and after_name
            and re.search(rf"\b{re.escape(after_name)}\s*$", key[: match.start()])
        ):
            before = None
        if before is None:
            part_start = key.rfind(",", 0, match.start()) + 1
            opening, _words_after = _kind_prefix(key[part_start : match.start()].split())
            if unit.level != Level.PROVINCE and opening is not None and opening not in own_level:
                # The end of the name of a unit of another level, in the part that unit's kind word opens:
                # "tra my" in "huyen nam tra my" is the district Nam Trà My, not the 2025 Xã Trà My.
                continue
            return _Found(match.start(), match.end(), kind_written=False)
        kind, kind_start = before
        if kind == unit.kind or (unit.level == Level.PROVINCE and kind in _PROVINCE_KINDS):
            return _Found(kind_start, match.end(), kind_written=True)
        if kind in own_level:
            return _Found(kind_start, match.end(), kind_written=False)
    return None


def _name_key(unit: AdminUnit) -> str:
    """A unit's name as `_parts` reads it from a text: its words in the key's alphabet, or the bare number
    of a numbered unit ("5" for Phường 5)."""
    number = _unit_number(unit.short_name, unit.kind)
    return number if number is not None else " ".join(_words(unit.short_name))


@dataclass(frozen=True, slots=True)
class _Part:
    """A comma-separated part of a key: where it starts, the kind its first word or words name (None
    when they name none), and the words after them."""

    start: int
    kind: str | None
    name: str


def _parts(key: str) -> list[_Part]:
    parts: list[_Part] = []
    offset = 0
    for text in key.split(","):
        words = text.split()
        if words:
            start = offset + len(text) - len(text.lstrip())
            kind, words = _kind_prefix(words)
            if len(words) == 1 and words[0].isdigit():
                words = [words[0].lstrip("0") or "0"]
            parts.append(_Part(start, kind, " ".join(words)))
        offset += len(text) + 1
    return parts


def _detail_before_segment(cleaned: str, position: int) -> str:
    """The detail of an address whose commune could not be located: everything before the comma-separated
    part that precedes `position` (the district's), where the commune is written in the usual order."""
    comma = cleaned.rfind(",", 0, position)
    return _detail(cleaned, max(cleaned.rfind(",", 0, comma), 0)) if comma >= 0 else ""


# The unit index ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Reading:
    """One reading of a text, in one structure."""

    structure: str
    confidence: float
    commune: AdminUnit | None
    legacy: AdminUnit | None
    province: AdminUnit | None
    detail: str


_Version = tuple[Any, ...]


class _RememberedPatterns:
    """Stands in for the `re` module inside the library's parser modules, remembering every pattern.

    The library builds its keyword patterns on each call (one per province, three per district) and
    relies on `re`'s own cache, which holds 512 patterns; a nationwide import needs a few thousand, so
    that cache thrashes and compiling takes four fifths of the parse time. The patterns come from the
    library's fixed keyword tables, so remembering all of them is bounded (about 2,300).
    """

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, int], re.Pattern[str]] = {}
        # Called once per keyword on every parse: bound here rather than found through __getattr__.
        self.escape = re.escape

    def compile(self, pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled = self._compiled.get((pattern, flags))
        if compiled is None:
            compiled = self._compiled[(pattern, flags)] = re.compile(pattern, flags)
        return compiled

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)


@functools.cache
def _library() -> tuple[Callable[..., Any], Any]:
    # Imported on first use: the package loads its keyword tables (and geometry libraries) at import,
    # which management commands and web requests that never parse an address should not pay for.
    from vietnamadminunits.parser import ParseMode, parser_from_2025, parser_legacy
    from vietnamadminunits.parser import parse_address as library_parse

    patterns = _RememberedPatterns()
    for module in (parser_legacy, parser_from_2025):
        if getattr(module, "re", None) is re:
            module.re = patterns
    return library_parse, ParseMode


class _UnitIndex:
    """Every unit and succession in memory, and the results parsed against them."""

    def __init__(self, version: _Version) -> None:
        self.version = version
        self.checked_at = time.monotonic()
        units = {unit.pk: unit for unit in AdminUnit.objects.order_by("path")}
        for unit in units.values():
            if unit.parent_id is not None:
                # Linking the parents here lets str(unit) and unit.full_name() run without a query.
                unit.parent = units[unit.parent_id]
        self.by_code = {(unit.structure, unit.level, unit.code): unit for unit in units.values()}
        self.default_successor: dict[int, AdminUnit] = {}
        others: dict[int, list[AdminUnit]] = {}
        successions = UnitSuccession.objects.order_by("legacy_id", "-is_default").values_list(
            "legacy_id", "successor_id", "is_default"
        )
        for legacy_id, successor_id, is_default in successions:
            if is_default:
                self.default_successor[legacy_id] = units[successor_id]
            else:
                others.setdefault(legacy_id, []).append(units[successor_id])
        self.other_successors = {
            legacy_id: tuple(sorted(found, key=lambda unit: unit.path)) for legacy_id, found in others.items()
        }
        # The old provinces each 2025 province took in, to find it in a text that names it the old way.
        self.former_provinces: dict[int, list[AdminUnit]] = {}
        for legacy_id, successor in self.default_successor.items():
            unit = units[legacy_id]
            if unit.level == Level.PROVINCE:
                self.former_provinces.setdefault(successor.pk, []).append(unit)
        # Legacy communes by province and name, for old addresses that leave out the district.
        self.legacy_by_name: dict[tuple[str, str], list[AdminUnit]] = {}
        for unit in units.values():
            if unit.structure == Structure.LEGACY and unit.level == Level.COMMUNE:
                name = " ".join(_words(unit.short_name))
                self.legacy_by_name.setdefault((unit.province_code, name), []).append(unit)
        # Every unit by the words of its name (a numbered unit by its number), for the texts that write
        # each level in its own comma-separated part with its own kind word: looked up, not searched.
        self.provinces_named: dict[tuple[str, str], list[AdminUnit]] = {}
        self.children_named: dict[tuple[int, str, str], list[AdminUnit]] = {}
        for unit in units.values():
            if unit.level == Level.PROVINCE:
                self.provinces_named.setdefault((unit.structure, _name_key(unit)), []).append(unit)
            elif unit.parent_id is not None:
                key = (unit.parent_id, unit.kind, _name_key(unit))
                self.children_named.setdefault(key, []).append(unit)
        self.parse: functools._lru_cache_wrapper[ParsedAddress | None] = functools.lru_cache(
            maxsize=_CACHE_SIZE
        )(self._parse)

    # Readings ------------------------------------------------------------------------------------------

    def _named(self, parent: AdminUnit, part: _Part) -> AdminUnit | None:
        """The one unit under `parent` that `part` names with its own kind word, or None."""
        if part.kind is None:
            return None
        found = self.children_named.get((parent.pk, part.kind, part.name), ())
        return found[0] if len(found) == 1 else None

    def _province_named(self, structure: str, part: _Part) -> AdminUnit | None:
        if part.kind is not None and part.kind not in _PROVINCE_KINDS:
            return None
        found = self.provinces_named.get((structure, part.name), ())
        return found[0] if len(found) == 1 else None

    def read_exact(self, cleaned: str, key: str) -> _Reading | None:
        """The reading of a text that names each unit in a part of its own, in order, each with the kind
        word of that unit ("Xã Dương Liễu, Huyện Hoài Đức, Thành phố Hà Nội", "P.7, Q.3, TP. Hồ Chí Minh",
        "Phường Hoàn Kiếm, Thành phố Hà Nội"; the province's kind word may be left out), found by looking
        the names up. None for any other text, which the library then reads.

        The library reads such a text the same way, with certainty (tested over a sample of every
        commune of both structures), except for the few it misreads ("X. Quang Trung, H. Tứ Kỳ, T. Hải
        Dương" gives it the province only); and most addresses of a form or a legacy file are written
        so. Looking them up costs microseconds where the library's keyword search costs a millisecond or
        more. Names that fold alike within one parent (Minh Quán and Minh Quân) are left to the library,
        which knows tone marks.
        """
        parts = _parts(key)
        # An old address in its last three parts (commune, district, province), a 2025 one in two.
        for structure, size in ((Structure.LEGACY, 3), (Structure.CURRENT, 2)):
            if len(parts) < size:
                continue
            province = self._province_named(structure, parts[-1])
            unit = province
            for part in reversed(parts[-size:-1]):
                unit = self._named(unit, part) if unit is not None else None
            if unit is None or province is None:
                continue
            detail = _detail(cleaned, parts[-size].start)
            if structure == Structure.LEGACY:
                successor, successor_province = (self.default_successor.get(u.pk) for u in (unit, province))
                return _Reading(structure, CONFIDENCE_CERTAIN, successor, unit, successor_province, detail)
            return _Reading(structure, CONFIDENCE_CERTAIN, unit, None, province, detail)
        return None

    def _told_apart(self, unit: AdminUnit, cleaned: str, found: _Found) -> bool:
        """Whether the text names `unit` rather than a unit of the same parent and kind whose name folds
        alike: "xa tra don" names Trà Dơn or Trà Don, both in Huyện Nam Trà My, and only the tone marks
        written tell them apart. The library picks one of the two for a text without marks, and a guess
        would place the citizen in the wrong commune; the address is then left to an officer."""
        if unit.parent_id is None:
            return True
        alike = self.children_named.get((unit.parent_id, unit.kind, _name_key(unit)), ())
        if len(alike) < 2:
            return True
        if cleaned.isascii():
            # A text without any mark, typed on a keyboard without Vietnamese input: "nga thanh" is Nga
            # Thanh as much as Nga Thành with its marks left out. A text with marks elsewhere ("X. Nga
            # Thanh, H. Nga Sơn") writes the marks it means.
            return False
        written = canonical_tone_placement(cleaned[found.start : found.end]).lower()
        named = [other for other in alike if canonical_tone_placement(other.short_name).lower() in written]
        return named == [unit]

    def _alike_before(
        self, district: AdminUnit, province: AdminUnit | None, cleaned: str, key: str, end: int
    ) -> _Reading | None:
        """The reading of an old address whose district the library found and whose commune it did not,
        because the part before the district names two of its communes whose names fold alike ("xa nam
        can, huyen ky son": Nậm Cắn or Nậm Càn): the commune is named, only not which, and no 2025
        commune found elsewhere in the text may stand for it. None when the part names no such pair."""
        district_found = _find(key, district, end, cleaned)
        if district_found is None:
            return None
        before = _parts(key[: district_found.start])
        if not before or before[-1].kind not in (None, *_COMMUNE_KINDS):
            return None
        part = before[-1]
        kinds = [part.kind] if part.kind is not None else sorted(_COMMUNE_KINDS)
        alike = [
            unit for kind in kinds for unit in self.children_named.get((district.pk, kind, part.name), ())
        ]
        if len(alike) < 2:
            return None
        return _Reading(
            Structure.LEGACY, CONFIDENCE_AMBIGUOUS, None, None, province, _detail(cleaned, part.start)
        )

    def _library_unit(self, cleaned: str, structure: str) -> Any:
        library_parse, parse_mode = _library()
        try:
            if structure == Structure.LEGACY:
                return library_parse(cleaned, mode=parse_mode.LEGACY, level=3, keep_street=False)
            return library_parse(cleaned, mode=parse_mode.FROM_2025, level=2, keep_street=False)
        except Exception:
            # Whatever the third-party parser trips over, the text is simply not recognized: a bad
            # address must never stop an import.
            return None

    def _unit(self, structure: str, level: str, code: Any) -> AdminUnit | None:
        return self.by_code.get((structure, level, code)) if isinstance(code, str) and code else None

    def _province_found(self, key: str, province: AdminUnit, cleaned: str) -> _Found | None:
        """Where the text names a 2025 province: by its own name, or else by the name of an old province
        it took in ("Tỉnh Yên Bái" for Lào Cai, "Tỉnh Bà Rịa - Vũng Tàu" for Thành phố Hồ Chí Minh).

        Without the second, the commune would be looked for in the whole text, province included, and a
        2025 commune named like the old province ("Phường Yên Bái", "Phường Vũng Tàu") found there.
        """
        found = _find(key, province, len(key), cleaned)
        if found is not None:
            return found
        former = (_find(key, unit, len(key), cleaned) for unit in self.former_provinces.get(province.pk, ()))
        return max(
            (place for place in former if place is not None), key=lambda place: place.start, default=None
        )

    def read_current(self, cleaned: str, key: str) -> _Reading | None:
        parsed = self._library_unit(cleaned, Structure.CURRENT)
        province = self._unit(Structure.CURRENT, Level.PROVINCE, getattr(parsed, "province_code", None))
        if province is None:
            return None
        province_found = self._province_found(key, province, cleaned)
        end = province_found.start if province_found else len(key)
        commune = self._unit(Structure.CURRENT, Level.COMMUNE, getattr(parsed, "ward_code", None))
        if commune is None or commune.province_code != province.code:
            return _Reading(
                Structure.CURRENT, CONFIDENCE_PROVINCE_ONLY, None, None, province, _detail(cleaned, end)
            )
        found = _find(key, commune, end, cleaned)
        if found is None:
            # The library matches its keywords inside longer words ("huyenhoaiduc" holds "yenhoa"); a
            # 2025 commune whose name is not in the text is one of those false matches.
            return _Reading(
                Structure.CURRENT, CONFIDENCE_PROVINCE_ONLY, None, None, province, _detail(cleaned, end)
            )
        if not self._told_apart(commune, cleaned, found):
            return _Reading(
                Structure.CURRENT, CONFIDENCE_AMBIGUOUS, None, None, province, _detail(cleaned, found.start)
            )
        confidence = CONFIDENCE_CERTAIN if found.kind_written else CONFIDENCE_BARE_NAMES
        if found.kind_written and self._kind_word_ends_old_name(province, cleaned, key, found.start):
            # "phung xa thach that ha noi" is "Phùng, Xã Thạch Thất" as well as the old Xã Phùng Xá of
            # Huyện Thạch Thất: without marks or a comma, "xa" may end the name before it. The kind word
            # then proves nothing, and the old reading is read too; between the two, each supported as
            # far as bare names go, the one that explains every word as a unit wins (`_parse`).
            confidence = CONFIDENCE_BARE_NAMES
        if _NAME_WORD.search(key, found.end, end):
            # Words between the commune and the province ("Phường Tô Hiệu, Thành phố Sơn La, Tỉnh Sơn
            # La") are a district: the text is more likely an old address, which is then read too, and
            # this reading is kept only when that one fails, flagged as uncertain.
            confidence = CONFIDENCE_LIBRARY_ONLY
        return _Reading(Structure.CURRENT, confidence, commune, None, province, _detail(cleaned, found.start))

    def _kind_word_ends_old_name(self, province: AdminUnit, cleaned: str, key: str, start: int) -> bool:
        """Whether the kind word at `start`, written without marks and with no comma before it, ends the
        name of an old commune of `province` together with the words before it ("phung xa": Phùng Xá)."""
        kind_end = key.find(" ", start)
        if kind_end < 0 or not cleaned[start:kind_end].isascii():
            return False  # "Xã" written with its mark, or "xá" of a name: the text tells which it is
        before = key[:start].rstrip(" ")
        if not before or before.endswith(","):
            return False
        words = before[before.rfind(",") + 1 :].split()
        kind_word = key[start:kind_end]
        old_provinces = self.former_provinces.get(province.pk, ())
        return any(
            (old.code, " ".join([*words[-count:], kind_word])) in self.legacy_by_name
            for old in old_provinces
            for count in range(1, min(len(words), 3) + 1)
        )

    def read_legacy(self, cleaned: str, key: str) -> _Reading | None:
        parsed = self._library_unit(cleaned, Structure.LEGACY)
        old_province = self._unit(Structure.LEGACY, Level.PROVINCE, getattr(parsed, "province_code", None))
        if old_province is None:
            return None
        province = self.default_successor.get(old_province.pk)
        province_found = _find(key, old_province, len(key), cleaned)
        end = province_found.start if province_found else len(key)
        district = self._unit(Structure.LEGACY, Level.DISTRICT, getattr(parsed, "district_code", None))
        commune = self._unit(Structure.LEGACY, Level.COMMUNE, getattr(parsed, "ward_code", None))
        if commune is not None and (district is None or commune.parent_id != district.pk):
            commune = None
        # An island district without communes is named by the address itself and maps as a whole.
        named = commune or (
            district if district is not None and district.pk in self.default_successor else None
        )
        if named is None:
            alike = self._alike_before(district, province, cleaned, key, end) if district else None
            if alike is not None:
                return alike
            return self._legacy_without_district(cleaned, key, old_province, province, end)
        assert district is not None  # named is the commune of this district, or the district itself
        district_found = _find(
            key, district, end, cleaned, after_name=_name_key(commune) if commune is not None else None
        )
        if district_found is None:
            # As for 2025 communes: a district whose name is not in the text is a false keyword match.
            return self._legacy_without_district(cleaned, key, old_province, province, end)
        found = district_found if commune is None else _find(key, commune, district_found.start, cleaned)
        if found is None:
            # The district is there but the commune's name is not: the library knows old names and
            # spellings of communes ("Nguyễn Trung Trực" for Trúc Bạch) that the units table does not.
            return _Reading(
                Structure.LEGACY,
                CONFIDENCE_LIBRARY_ONLY,
                self.default_successor.get(named.pk),
                named,
                province,
                _detail_before_segment(cleaned, district_found.start),
            )
        if commune is not None and not self._told_apart(commune, cleaned, found):
            return _Reading(
                Structure.LEGACY, CONFIDENCE_AMBIGUOUS, None, None, province, _detail(cleaned, found.start)
            )
        confidence = CONFIDENCE_CERTAIN if found.kind_written else CONFIDENCE_BARE_NAMES
        return _Reading(
            Structure.LEGACY,
            confidence,
            self.default_successor.get(named.pk),
            named,
            province,
            _detail(cleaned, found.start),
        )

    def _legacy_without_district(
        self, cleaned: str, key: str, old_province: AdminUnit, province: AdminUnit | None, end: int
    ) -> _Reading:
        """An old address that names the commune and the province but not the district ("Xã Dương Liễu,
        Hà Nội"): the commune is taken when its name is unique in the province."""
        province_only = _Reading(
            Structure.LEGACY, CONFIDENCE_PROVINCE_ONLY, None, None, province, _detail(cleaned, end)
        )
        # The commune is the last comma-separated part before the province.
        segment_end = end
        while segment_end > 0 and key[segment_end - 1] in " ,":
            segment_end -= 1
        segment_start = key.rfind(",", 0, segment_end) + 1
        kind, words = _kind_prefix(key[segment_start:segment_end].split())
        if kind is not None and kind not in _COMMUNE_KINDS:
            return province_only
        matches = [
            unit
            for unit in self.legacy_by_name.get((old_province.code, " ".join(words)), [])
            if kind is None or unit.kind == kind
        ]
        if len(matches) != 1:
            return province_only
        if province is not None and self._alike_in(province, kind, " ".join(words), cleaned, segment_start):
            # Found by its name alone, tone marks folded away, the old commune could as well be one of two
            # 2025 communes of the province whose names fold alike ("Xa Thanh An, TP HCM": Thanh An or
            # Thạnh An), and nothing in the text says it is an old address. Taking the old one would place
            # the person in one of the two by chance: the address is left to an officer.
            return _Reading(
                Structure.CURRENT, CONFIDENCE_AMBIGUOUS, None, None, province, _detail(cleaned, segment_start)
            )
        commune = matches[0]
        return _Reading(
            Structure.LEGACY,
            CONFIDENCE_NO_DISTRICT,
            self.default_successor.get(commune.pk),
            commune,
            province,
            _detail(cleaned, segment_start),
        )

    def _alike_in(self, province: AdminUnit, kind: str | None, name: str, cleaned: str, start: int) -> bool:
        """Whether the 2025 `province` has two communes or more of the kind written (any, when none is)
        whose names fold to `name`, and the text from `start` on does not single one out by its marks."""
        kinds = [kind] if kind is not None else sorted(_COMMUNE_KINDS)
        alike = [unit for each in kinds for unit in self.children_named.get((province.pk, each, name), ())]
        if len(alike) < 2:
            return False
        if cleaned.isascii():
            return True  # a text without any mark, as `_told_apart` reads one
        written = canonical_tone_placement(cleaned[start:]).lower()
        return (
            len([unit for unit in alike if canonical_tone_placement(unit.short_name).lower() in written]) != 1
        )

    # Parsing -------------------------------------------------------------------------------------------

    def _library_readings(self, cleaned: str, key: str) -> list[_Reading]:
        """The library's readings of the text, the structure its words suggest first; the second only when
        the first is not certain."""
        cities = len(_CITY_MARK.findall(key))
        legacy_first = (
            _DISTRICT_MARK.search(key) is not None
            or cities >= 2
            or (cities == 1 and _PROVINCE_MARK.search(key) is not None)
        )
        readers = (
            (self.read_legacy, self.read_current) if legacy_first else (self.read_current, self.read_legacy)
        )
        readings: list[_Reading] = []
        for reader in readers:
            reading = reader(cleaned, key)
            if reading is None:
                continue
            readings.append(reading)
            if reading.confidence >= CONFIDENCE_CERTAIN:
                break  # the text supports this reading fully; the other one cannot do better
        return readings

    def _parse(self, cleaned: str) -> ParsedAddress | None:
        key = _key(cleaned)
        exact = self.read_exact(cleaned, key)
        readings = [exact] if exact is not None else self._library_readings(cleaned, key)
        if not readings:
            return None

        def rank(reading: _Reading) -> tuple[float, int]:
            # Between two readings that the text supports equally, the old one explains one more level
            # ("phuc xa, ba dinh, ha noi" names a ward and its district, not the 2025 Phường Ba Đình);
            # otherwise the reading tried first, chosen by the district words in the text, wins.
            if reading.confidence >= CONFIDENCE_BARE_NAMES:
                return reading.confidence, int(reading.structure == Structure.LEGACY)
            return reading.confidence, int(reading is readings[0])

        best = max(readings, key=rank)
        alternatives: tuple[AdminUnit, ...] = ()
        if best.legacy is not None:
            alternatives = self.other_successors.get(best.legacy.pk, ())
        return ParsedAddress(
            original="",
            detail=best.detail,
            structure=best.structure,
            commune=best.commune,
            legacy_commune=best.legacy,
            alternatives=alternatives,
            province=best.province,
            confidence=best.confidence,
        )


def _detail(cleaned: str, end: int) -> str:
    return cleaned[:end].strip(_DETAIL_EDGES)


# A comma-separated part that opens with the kind word of a commune ("Xã", "Phường", "P.", "P5", "TT."):
# in the written order of an address, where its units begin and its street part ends.
_COMMUNE_PART = re.compile(r"(?:^|,)\s*((?:phuong|xa|thi\s*tran|dac\s*khu|tt|p|f|x)(?:\b|(?=\d)))")


def _units_start(cleaned: str) -> int:
    """Where the first part that opens with a commune's kind word starts in `cleaned`; 0 when none does.

    Everything before it is the street part (house, lane, street, village), which names no unit that the
    parts after it do not name better.
    """
    match = _COMMUNE_PART.search(_key(cleaned))
    return match.start(1) if match is not None else 0


class _IndexHolder:
    """The process's unit index, rebuilt when the units change."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: _UnitIndex | None = None

    def get(self) -> _UnitIndex:
        index = self.index
        if index is not None and time.monotonic() - index.checked_at < _RECHECK_SECONDS:
            return index
        with self.lock:
            version = units_version()
            index = self.index
            if index is None or index.version != version:
                index = _UnitIndex(version)
                self.index = index
            index.checked_at = time.monotonic()
            return index

    def reset(self) -> None:
        with self.lock:
            self.index = None


_holder = _IndexHolder()


def address_units_reset() -> None:
    """Forget the cached units and parsed addresses; the next parse reads the units again.

    Call it after reloading the units in a long-running process that cannot wait for the periodic check.
    """
    _holder.reset()


def _repaired(text: str) -> str:
    """`text` with legacy-encoding damage undone ("X· D­¬ng LiÔu" is TCVN3 for "Xã Dương Liễu"), before
    cleaning: the damage can hold C1 control characters that cleaning would drop."""
    try:
        return vnencoding.repair(text).text
    except Exception:
        # A failure of the repair must not cost the address: it is then parsed as written.
        return text


def parse_address(text: str) -> ParsedAddress | None:
    """Parse a free-text address, old three-level or 2025 two-level, into the registry's units.

    Text damaged by a legacy encoding (TCVN3, VNI, UTF-8 or Windows-1258 read as Windows-1252) is repaired
    first. Returns None when the text names no unit at all (not even a province), and a result with
    `commune` None (`province_only`) when only the province was recognized. Never raises on bad input:
    text of any length, control characters, other scripts and non-strings all give None or a result.
    """
    return _parse_against(text, _holder.get)


def _parse_against(text: str, index: Callable[[], _UnitIndex]) -> ParsedAddress | None:
    if not isinstance(text, str) or len(text) > 4 * MAX_ADDRESS_LENGTH:
        return None
    cleaned = _clean(_repaired(text))
    if not cleaned or len(cleaned) > MAX_ADDRESS_LENGTH or not any(char.isalpha() for char in cleaned):
        return None
    units = index()
    start = _units_start(cleaned)
    if start:
        # Parsed from the commune on, the units of a household's or a village's addresses are one text
        # however the house numbers and lanes before them differ: the cache holds the units once, and
        # the street part is put back from this text. A reading that does not find every unit in that
        # part of the text is not trusted over the reading of the whole.
        result = units.parse(cleaned[start:])
        if result is not None and result.confidence >= CONFIDENCE_NO_DISTRICT:
            return _as_read(result, text, _detail(cleaned, start + len(result.detail)))
    result = units.parse(cleaned)
    return None if result is None else _as_read(result, text, result.detail)


def _as_read(units: ParsedAddress, original: str, detail: str) -> ParsedAddress:
    """The units of a cached reading given the text and the street part of this address: `replace` says
    the same (`dataclasses.replace`), at several times the cost, for every distinct address of an import."""
    return ParsedAddress(
        original,
        detail,
        units.structure,
        units.commune,
        units.legacy_commune,
        units.alternatives,
        units.province,
        units.confidence,
    )


def frozen_address_parser() -> Callable[[str], ParsedAddress | None]:
    """`parse_address` against the units as they are now, which never asks the database again.

    For worker processes forked from this one (the matcher prepares large files in two): a forked process
    must not use its parent's database connection, and `parse_address` checks every few seconds whether
    the units were reloaded. The units are read here, before the fork; a reload after it goes unnoticed.
    """
    index = _holder.get()
    # The library's tables too, which a worker would otherwise load for itself at its first address of an
    # unusual shape: loaded here, the workers share this process's copy (25 MB).
    _library()
    return functools.partial(_parse_against, index=lambda: index)
