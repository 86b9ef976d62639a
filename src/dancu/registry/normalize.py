"""Normalization of person-records rows ("sạch"): one canonical form for every value, and a record of
every change made to get there.

`normalize_row` takes a row of the person-records CSV (DESIGN.md) as text and returns the values the
registry stores, the repairs it made (each with the field, the rule code and the value before and after,
so that nothing changes silently and a reviewer can undo a wrong guess) and the issues for what could not
be normalized at all (an unreadable date, a sex that is neither Nam nor Nữ). `validate_row` adds the rules
of `registry.rules` on top: it is what an import runs on each row.

Names go through these steps, each one a repair when it changes something: text damaged by a legacy
encoding (`repair.encoding`), invisible characters (`repair.invisible`: removed, or a space where one
separated two words), Unicode NFC (`repair.nfc`), white space (`repair.whitespace`), look-alike letters
(`repair.letters`: "Ð" read as "Đ"), stray punctuation (`repair.punctuation`, which also gives
apostrophes the ASCII form), the canonical tone placement (`repair.tone_placement`) and title case
(`repair.case`). The encoding repair comes first and sees the
value exactly as read: the damaged forms may end in a byte that looks like white space (UTF-8 "à" read as
Windows-1252 ends in a no-break space), so callers must not strip values before passing them in.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from dancu.geo.address import parse_address
from dancu.lib import pin as pin_codec
from dancu.lib.partial_date import LEGACY_ACCEPTED_FORMATS, PartialDate, PartialDateError, parse_legacy
from dancu.lib.vnencoding import repair as repair_encoding
from dancu.lib.vntext import (
    LOOKALIKE_LETTERS,
    NAME_PUNCTUATION_VARIANTS,
    VOWEL_TONES,
    canonical_tone_placement,
    fold,
    is_syllable,
    nfc,
    normalize_name,
)
from dancu.registry.rules import Issue, PersonInput, RuleContext, check_person

# The columns of the person-records CSV (DESIGN.md); any other column is kept as it is in `extra`.
COLUMNS = (
    "record_id",
    "source",
    "full_name",
    "gender",
    "birth_date",
    "birth_place",
    "id_number",
    "old_id_number",
    "father_name",
    "mother_name",
    "address",
)


class ParsedAddress(Protocol):
    """What an address parser returns: the original text, the detail below the commune (house, street,
    hamlet), and the commune in the 2025 structure and in the legacy one as written. The default parser,
    `dancu.geo.address.parse_address`, returns AdminUnit rows; another parser may return bare GSO codes,
    since only a unit's code is used here."""

    @property
    def original(self) -> str: ...

    @property
    def detail(self) -> str: ...

    @property
    def commune(self) -> Any: ...

    @property
    def legacy_commune(self) -> Any: ...


AddressParser = Callable[[str], ParsedAddress | None]


@dataclass(frozen=True, slots=True)
class FieldRepair:
    """One change normalization made to one field: the rule code (`repair.*`), before and after."""

    field: str
    code: str
    before: str
    after: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def as_issue(self) -> Issue:
        """The repair as an Issue of severity REPAIR, for reports that list everything by rule."""
        return Issue(self.field, self.code, {**self.params, "before": self.before, "after": self.after})


@dataclass(slots=True)
class NormalizedRow:
    """A person-records row in canonical form, with what was repaired and what could not be read."""

    record_id: str
    source: str
    full_name: str
    sex: str | None
    birth_date: PartialDate | None
    # The 3-digit province code (pre-2025 list, as in the PIN) when the text names one, else None; the
    # text itself is kept in birth_place_text.
    birth_place: str | None
    birth_place_text: str
    id_number: str | None
    old_id_number: str | None
    father_name: str
    mother_name: str
    address: str
    # The parsed address with its units; None when the row was normalized in another process (an import's
    # workers send back only the codes and the street part, below).
    address_parsed: ParsedAddress | None
    address_detail: str
    commune_code: str | None
    legacy_commune_code: str | None
    extra: dict[str, str]
    repairs: list[FieldRepair]
    issues: list[Issue]

    def person(self) -> PersonInput:
        """The row as input to the rules."""
        return PersonInput(
            full_name=self.full_name,
            sex=self.sex,
            birth_date=self.birth_date,
            birth_place=self.birth_place,
            id_number=self.id_number,
            old_id_number=self.old_id_number,
            father_name=self.father_name,
            mother_name=self.mother_name,
            address=self.address,
            commune_code=self.commune_code,
            legacy_commune_code=self.legacy_commune_code,
            record_id=self.record_id,
        )


# Text steps -------------------------------------------------------------------------------------------------

# Characters that are invisible and carry no meaning in a name or an address: zero-width space, joiner and
# non-joiner, left-to-right and right-to-left marks, word joiner, the invisible operators, byte order mark,
# soft hyphen, Mongolian vowel separator. They arrive from copy and paste and word processors.
# Bidirectional overrides and embeddings are not removed: they change what a reader sees, and the name
# rules refuse them as control characters.
_INVISIBLE_CHARS = "\u200b-\u200f\u2060-\u2064\ufeff\u00ad\u180e"
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]")
# A run of them between two words (letters and digits, with the combining marks of decomposed Vietnamese).
_WORD = "(?:[^\\W_]|[\u0300-\u036f])+"
_INVISIBLE_IN_WORDS = re.compile(f"({_WORD})[{_INVISIBLE_CHARS}]+(?={_WORD})")
_WORD_AFTER = re.compile(_WORD)


def _without_invisible(text: str) -> str:
    """`text` without its invisible characters. Between two letters one may stand for a word break (text
    pasted from a web page writes "Trần\u200bVăn An"), and deleting it would glue two words into one
    ("Trầnvăn An") that no rule notices: there it becomes a space, unless the letters on both sides make
    one Vietnamese syllable ("Nguy\u00adễn", a soft hyphen inside a word), which is what a soft hyphen or
    a joiner inside a word is for, or one number. A capital after it always starts a new word."""

    def mend(match: re.Match[str]) -> str:
        before = match.group(1)
        after = _WORD_AFTER.match(text, match.end())
        assert after is not None  # the lookahead saw it
        word = after.group()
        joined = before + word
        if joined.isdigit() or (not word[0].isupper() and is_syllable(nfc(joined))):
            return before
        return before + " "

    return _INVISIBLE.sub("", _INVISIBLE_IN_WORDS.sub(mend, text))


# Punctuation that can end or start a name only by accident ("Nguyễn Văn A.", "- Lê Thị B"), and runs of
# hyphens or apostrophes.
_EDGE_PUNCTUATION = " .,;:-'\"_*"
_REPEATED = re.compile(r"([-'])\1+")
# The characters the name steps translate (`LOOKALIKE_LETTERS`, `NAME_PUNCTUATION_VARIANTS`).
_LOOKALIKES = re.compile("[" + re.escape("".join(map(chr, LOOKALIKE_LETTERS))) + "]")
_PUNCTUATION_VARIANTS = re.compile("[" + re.escape("".join(map(chr, NAME_PUNCTUATION_VARIANTS))) + "]")
_SPACED_HYPHEN = re.compile(r"\s*-\s*")


# Each pass of the steps either finds nothing more to repair or makes the text shorter or more Vietnamese;
# random text settles within a few, real names and addresses within one.
_MAX_PASSES = 5


class _Steps:
    """Applies the text steps to one field and records a FieldRepair for each that changes the value."""

    __slots__ = ("field", "repairs", "value")

    def __init__(self, value: str, field: str, repairs: list[FieldRepair]) -> None:
        self.value = value
        self.field = field
        self.repairs = repairs

    def apply(self, code: str, after: str, **params: Any) -> None:
        if after != self.value:
            self.repairs.append(FieldRepair(self.field, code, self.value, after, params))
            self.value = after

    def text(self) -> str:
        """Encoding, invisible characters, NFC and white space: the steps every text field takes."""
        for _ in range(_MAX_PASSES):
            if self.value.isascii():
                self.apply("repair.whitespace", " ".join(self.value.split()))
                break
            repaired = repair_encoding(self.value)
            if repaired.encoding is not None:
                self.apply("repair.encoding", repaired.text, encoding=repaired.encoding)
            if _INVISIBLE.search(self.value):
                self.apply("repair.invisible", _without_invisible(self.value))
            self.apply("repair.nfc", nfc(self.value))
            self.apply("repair.whitespace", " ".join(self.value.split()))
            # Removing a character can join the bytes of damaged text into something readable: look again.
            if repaired.text == self.value or repair_encoding(self.value).encoding is None:
                break
        return self.value

    def address(self) -> str:
        """The text steps, then tone placement: "Xã Hoà Bình" and "Xã Hòa Bình" are one place, spelled one
        way in the registry (the file's own spelling stays in the staged row's raw values)."""
        self.text()
        self.apply("repair.tone_placement", canonical_tone_placement(self.value))
        return self.value

    def name(self) -> str:
        """The text steps, then punctuation, tone placement and title case."""
        # Legacy encodings are case-sensitive: a damaged name that no encoding could read may become
        # readable once its case changed ("KË" is nothing, "Kë" is TCVN3 for "Kở"). The steps run again
        # until nothing more is found (a few passes at most, and one for every real name), so that
        # normalizing a normalized name changes nothing.
        for _ in range(_MAX_PASSES):
            changed = self._name_pass()
            if not changed or self.value.isascii() or repair_encoding(self.value).encoding is None:
                break
        return self.value

    def _name_pass(self) -> bool:
        """One pass of the name steps; whether the steps after the text steps changed the value."""
        checked = self.text()
        if not checked:
            return False
        # "Ð" (the eth, U+00D0) is the look-alike of "Đ" that converted text gives (see vntext). Looked
        # for first: most names have none, and translating a text costs a search of it many times over.
        if _LOOKALIKES.search(self.value):
            self.apply("repair.letters", self.value.translate(LOOKALIKE_LETTERS))
        # Typographic apostrophes in names ("H’Hen") become the ASCII one the registry stores.
        punctuated = self.value
        if _PUNCTUATION_VARIANTS.search(punctuated):
            punctuated = punctuated.translate(NAME_PUNCTUATION_VARIANTS)
        if "-" in punctuated or "'" in punctuated:
            punctuated = _SPACED_HYPHEN.sub("-", _REPEATED.sub(r"\1", punctuated))
        self.apply("repair.punctuation", punctuated.strip(_EDGE_PUNCTUATION))
        self.apply("repair.tone_placement", canonical_tone_placement(self.value))
        if not _is_title_case(self.value):
            self.apply("repair.case", normalize_name(self.value))
        return self.value != checked


# A name already in title case made only of these characters is what normalize_name returns for it; the
# test saves the call on the common case (most sources write names properly), and the tests hold it to
# normalize_name on random text.
_TITLE_CASE_CHARS = frozenset(
    "".join(VOWEL_TONES) + "bcdđfghjklmnpqrstvwxz" + "BCDĐFGHJKLMNPQRSTVWXZ" + " '-"
)


def _is_title_case(name: str) -> bool:
    # Words of letters, one space between them: a space at either end, two in a row, or a hyphen or an
    # apostrophe (which normalize_name may move or drop) takes the whole path.
    return (
        name.istitle()
        and _TITLE_CASE_CHARS.issuperset(name)
        and " ".join(name.split()) == name
        and "-" not in name
        and "'" not in name
    )


class _Memo:
    """The text or name steps, remembered by value for the process: they are pure functions of the text,
    and a legacy file repeats its texts row after row (places of birth, a village's addresses, common
    names). The repairs are kept without their field and given the field of each row that asks. Bounded:
    past `limit` distinct texts, new ones are worked out and not kept."""

    def __init__(self, steps: Callable[[_Steps], str], *, limit: int = 100_000) -> None:
        self.steps = steps
        self.limit = limit
        self.seen: dict[str, tuple[str, tuple[tuple[str, str, str, Mapping[str, Any]], ...]]] = {}

    def __call__(self, value: str, field: str, repairs: list[FieldRepair]) -> str:
        hit = self.seen.get(value)
        if hit is None:
            found: list[FieldRepair] = []
            result = self.steps(_Steps(value, field, found))
            hit = (result, tuple((r.code, r.before, r.after, r.params) for r in found))
            if len(self.seen) < self.limit:
                self.seen[value] = hit
        result, done = hit
        if done:  # most values need no repair: no generator for them
            repairs.extend(
                FieldRepair(field, code, before, after, params) for code, before, after, params in done
            )
        return result


_name_steps = _Memo(_Steps.name)
_text_steps = _Memo(_Steps.text)
_address_steps = _Memo(_Steps.address)


def forget_texts() -> None:
    """Forget the texts the name and text steps remembered in this process (`_Memo`).

    For a process that normalizes a few batches of a long file among other work (an import's own process,
    while its workers lag): kept, its memories would fill to their bounds, a hundred megabytes, for the
    few texts a batch repeats from another."""
    for memo in (_name_steps, _text_steps, _address_steps):
        memo.seen.clear()


def normalize_name_value(value: str, *, field: str) -> tuple[str, list[FieldRepair]]:
    """The canonical spelling of a personal name and the repairs made to reach it (forms use this too)."""
    repairs: list[FieldRepair] = []
    return _Steps(value, field, repairs).name(), repairs


def normalize_text_value(value: str, *, field: str) -> tuple[str, list[FieldRepair]]:
    """Free text (an address, a place): encoding, invisible characters, NFC and white space."""
    repairs: list[FieldRepair] = []
    return _Steps(value, field, repairs).text(), repairs


# Fields -----------------------------------------------------------------------------------------------------

# Folded spellings of the sexes; DESIGN.md allows Nam/Nữ, M/F, nam/nu and blank.
_SEXES = {
    "nam": pin_codec.SEX_MALE,
    "m": pin_codec.SEX_MALE,
    "male": pin_codec.SEX_MALE,
    "nu": pin_codec.SEX_FEMALE,
    "f": pin_codec.SEX_FEMALE,
    "female": pin_codec.SEX_FEMALE,
}
_DATE_SPACING = re.compile(r"\s*([/.\-])\s*")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def _normalize_sex(raw: str, repairs: list[FieldRepair], issues: list[Issue]) -> str | None:
    text = _text_steps(raw, "gender", repairs)
    if not text:
        return None
    sex = _SEXES.get(fold(text))
    if sex is None:
        issues.append(Issue("gender", "sex.invalid", {"value": text}))
    return sex


def _normalize_date(
    raw: str, field: str, *, today: date, repairs: list[FieldRepair], issues: list[Issue]
) -> PartialDate | None:
    text = raw.strip()
    if not text:
        return None
    try:
        return PartialDate.parse(text)
    except PartialDateError:
        pass
    try:
        parsed = parse_legacy(_DATE_SPACING.sub(r"\1", text), today=today)
    except PartialDateError as exc:
        issues.append(Issue(field, exc.code, {"value": text, "formats": LEGACY_ACCEPTED_FORMATS}))
        return None
    repairs.append(FieldRepair(field, "repair.date_format", text, parsed.to_storage()))
    return parsed


def _normalize_number(
    raw: str, field: str, *, length: int, repairs: list[FieldRepair], restore_zeros: Callable[[str], bool]
) -> str | None:
    """An identifier of `length` ASCII digits: separators removed, leading zeros a spreadsheet dropped
    restored when `restore_zeros` accepts the padded value. Anything else is returned as it is, for the
    rules to refuse with their own code."""
    if len(raw) == length and raw.isascii() and raw.isdigit():
        # Most numbers come as they should be, and none of the steps below changes such a one: returned at
        # once, a million of them take a tenth of the time (the matcher meets one or two a record, an
        # import two a row).
        return raw
    steps = _Steps(raw, field, repairs)
    steps.apply("repair.whitespace", raw.strip())
    if not steps.value:
        return None
    if not _ASCII_DIGITS.fullmatch(steps.value):
        steps.apply("repair.separators", pin_codec.ungrouped(steps.value))
    value = steps.value
    if _ASCII_DIGITS.fullmatch(value) and length - 2 <= len(value) < length:
        padded = value.zfill(length)
        if restore_zeros(padded):
            steps.apply("repair.leading_zeros", padded)
    return steps.value


def _pin_with_zeros(padded: str) -> bool:
    # A PIN whose province code starts with 0 loses the zero in a spreadsheet column of numbers; the
    # padded value must decode to a province, which the rules then compare with the sex and birth year.
    return padded.startswith("0") and pin_codec.is_valid(padded)


def _cmnd_with_zeros(padded: str) -> bool:
    # CMND numbers of the first provinces (01 Hà Nội ... 09) start with 0; only one zero can be missing.
    return padded[0] == "0" and padded[1] != "0"


def _normalize_pin(raw: str, repairs: list[FieldRepair]) -> str | None:
    return _normalize_number(
        raw, "id_number", length=pin_codec.PIN_LENGTH, repairs=repairs, restore_zeros=_pin_with_zeros
    )


def _normalize_cmnd(raw: str, repairs: list[FieldRepair]) -> str | None:
    return _normalize_number(raw, "old_id_number", length=9, repairs=repairs, restore_zeros=_cmnd_with_zeros)


def _normalize_birth_place(
    raw: str, repairs: list[FieldRepair], issues: list[Issue]
) -> tuple[str, str | None]:
    """The place of birth as written (the text steps) and the code of the province it names, if any."""
    text = _text_steps(raw, "birth_place", repairs)
    code = _PROVINCE_CODES[text] if text else None
    if text and code is None:
        issues.append(Issue("birth_place", "birth_place.unknown", {"value": text}))
    return text, code


class _ProvinceCodes(dict[str, str | None]):
    # Birth places repeat from row to row ("Hà Nội", "TP.HCM"); each distinct text is looked up once.
    def __missing__(self, text: str) -> str | None:
        code = pin_codec.province_code_for_name(text)
        if len(self) < 10_000:
            self[text] = code
        return code


_PROVINCE_CODES = _ProvinceCodes()


def _unit_code(unit: Any) -> str | None:
    if unit is None:
        return None
    code = getattr(unit, "code", unit)
    return str(code) if code is not None else None


def normalize_row(
    raw: Mapping[str, str | None],
    *,
    today: date,
    address_parser: AddressParser | None = parse_address,
) -> NormalizedRow:
    """Normalize one person-records row (column name -> text); never raises on bad values.

    `address_parser` resolves the free-text address to administrative units; by default the geo app's
    `parse_address`, None to leave addresses unresolved (a faster first pass, or tests).
    """

    def column(name: str) -> str:
        return raw.get(name) or ""

    repairs: list[FieldRepair] = []
    issues: list[Issue] = []
    full_name = _name_steps(column("full_name"), "full_name", repairs)
    father_name = _name_steps(column("father_name"), "father_name", repairs)
    mother_name = _name_steps(column("mother_name"), "mother_name", repairs)
    sex = _normalize_sex(column("gender"), repairs, issues)
    birth_date = _normalize_date(
        column("birth_date"), "birth_date", today=today, repairs=repairs, issues=issues
    )
    birth_place_text, birth_place = _normalize_birth_place(column("birth_place"), repairs, issues)
    id_number = _normalize_pin(column("id_number"), repairs)
    old_id_number = _normalize_cmnd(column("old_id_number"), repairs)
    address = _address_steps(column("address"), "address", repairs)
    parsed = commune_code = legacy_commune_code = None
    if address and address_parser is not None:
        parsed = address_parser(address)
        if parsed is None:
            issues.append(Issue("address", "address.unresolved"))
        else:
            commune_code = _unit_code(parsed.commune)
            legacy_commune_code = _unit_code(parsed.legacy_commune)
            if commune_code is None and legacy_commune_code is None:
                issues.append(Issue("address", "address.unresolved"))
            elif legacy_commune_code is not None and commune_code is not None:
                repairs.append(
                    FieldRepair(
                        "address",
                        "repair.address_units",
                        address,
                        str(parsed.commune),
                        {"legacy_commune": legacy_commune_code, "commune": commune_code},
                    )
                )
    return NormalizedRow(
        record_id=column("record_id").strip(),
        source=column("source").strip(),
        full_name=full_name,
        sex=sex,
        birth_date=birth_date,
        birth_place=birth_place,
        birth_place_text=birth_place_text,
        id_number=id_number,
        old_id_number=old_id_number,
        father_name=father_name,
        mother_name=mother_name,
        address=address,
        address_parsed=parsed,
        address_detail=parsed.detail if parsed is not None else "",
        commune_code=commune_code,
        legacy_commune_code=legacy_commune_code,
        extra={name: value or "" for name, value in raw.items() if name not in _COLUMN_SET},
        repairs=repairs,
        issues=issues,
    )


_COLUMN_SET = frozenset(COLUMNS)


def normalize_cell(column: str, raw: str, *, today: date) -> Any:
    """What `normalize_row` makes of one cell of `column`, without its repairs and issues.

    Each of these columns is normalized from its own cell alone, so a caller that meets one value in
    many rows (the matcher's preparation: a file repeats its names, dates and addresses from row to row)
    works it out once per distinct value. The values are `normalize_row`'s, by the same functions
    (tested on every kind of fault the dirty generator makes). `birth_place` gives the text and the
    province's code; `address` gives the text, not its units (the caller resolves those its own way).
    """
    repairs: list[FieldRepair] = []
    issues: list[Issue] = []
    if column in _NAME_COLUMNS:
        return _name_steps(raw, column, repairs)
    if column == "gender":
        return _normalize_sex(raw, repairs, issues)
    if column == "birth_date":
        return _normalize_date(raw, column, today=today, repairs=repairs, issues=issues)
    if column == "birth_place":
        return _normalize_birth_place(raw, repairs, issues)
    if column == "id_number":
        return _normalize_pin(raw, repairs)
    if column == "old_id_number":
        return _normalize_cmnd(raw, repairs)
    if column == "address":
        return _address_steps(raw, column, repairs)
    raise ValueError(f"{column!r} is not normalized cell by cell")


_NAME_COLUMNS = frozenset({"full_name", "father_name", "mother_name"})


def validate_row(
    raw: Mapping[str, str | None],
    *,
    context: RuleContext,
    address_parser: AddressParser | None = parse_address,
) -> NormalizedRow:
    """Normalize a row and check it against every rule of `registry.rules`; the row's `issues` then hold
    both. A field that could not be normalized is reported once, by normalization: the rules do not add
    that it is missing ("date.required" after "date.format")."""
    return check_row(normalize_row(raw, today=context.today, address_parser=address_parser), context=context)


def check_row(row: NormalizedRow, *, context: RuleContext) -> NormalizedRow:
    """The second half of `validate_row`, for callers that normalize a batch first: an import normalizes
    its rows, then looks up the identifiers of the whole batch in one query to build the context."""
    unreadable = {issue.field for issue in row.issues}
    for found in check_person(row.person(), context=context):
        # The rules name fields as the registry does; reports name the CSV's columns.
        issue = (
            Issue(_CSV_COLUMN_OF[found.field], found.rule_code, found.params)
            if found.field in _CSV_COLUMN_OF
            else found
        )
        if issue.field not in unreadable:
            row.issues.append(issue)
    return row


_CSV_COLUMN_OF = {"sex": "gender"}
