"""Vietnamese text: Unicode normalization, search keys, canonical names and input checks.

Vietnamese letters can be typed precomposed ("ễ", one code point) or decomposed ("e" + circumflex + tilde),
and keyboards and legacy systems mix both; two strings that look identical can differ byte for byte. The
registry stores NFC ("sạch": normalized), matches on a folded key without tone marks, and refuses input
that is not a name before it reaches a record.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from dancu.lib.errors import FieldError

# Unicode general categories that never belong in stored text: controls (Cc, which includes newline and
# tab), format characters (Cf: zero-width joiners, bidirectional overrides that can make a record display
# differently from what it contains), lone surrogates (Cs), private use (Co) and unassigned code points
# (Cn) whose meaning a later Unicode version may define.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})

# Apostrophes and hyphens appear in ethnic-minority names ("H'hen Niê", "Ksor H'Phin", "Y-Moan"); the
# typographic apostrophe and the modifier letter apostrophe arrive from word processors and phones.
_NAME_PUNCTUATION = frozenset("'\u2019\u02bc-\u2010")

# The code point ranges of the Latin script: Basic Latin, Latin-1 Supplement, Extended-A and -B, the IPA
# block's letters, Latin Extended Additional (all precomposed Vietnamese letters with tone marks live
# there), Extended-C, -D and -E. Letters outside them (Cyrillic, Greek, Han, Arabic...) are refused.
_LATIN_RANGES = (
    (0x0041, 0x007A),
    (0x00C0, 0x024F),
    (0x0250, 0x02AF),
    (0x1E00, 0x1EFF),
    (0x2C60, 0x2C7F),
    (0xA720, 0xA7FF),
    (0xAB30, 0xAB6F),
)


def _latin_letters() -> frozenset[str]:
    letters = set()
    for start, end in _LATIN_RANGES:
        for code_point in range(start, end + 1):
            char = chr(code_point)
            # The ranges hold a few symbols and modifier letters too; the character name tells the
            # letters of the Latin script apart from them.
            if unicodedata.category(char).startswith("L") and unicodedata.name(char, "").startswith("LATIN "):
                letters.add(char)
    return frozenset(letters)


_LATIN_LETTERS = _latin_letters()
# The characters of an ordinary name; a name made of these alone needs no per-character look-ups.
_PLAIN_NAME_CHARS = _LATIN_LETTERS | _NAME_PUNCTUATION | {" "}


def nfc(text: str) -> str:
    """Return `text` in Unicode Normalization Form C, the form dancu stores."""
    return unicodedata.normalize("NFC", text)


def _fold_slow(text: str) -> str:
    """The definition of the search key, written for clarity rather than speed.

    Decompose, drop every combining mark (tones and the circumflex, breve and horn that make â, ă, ơ, ư),
    map đ to d (đ is a letter of its own, not d with a mark, so decomposition keeps it), lower the case,
    and collapse whitespace. Lowering can in rare cases produce a new combining mark (U+0130 "İ" lowers
    to "i" + dot above), so the marks are dropped once more after it to keep the key idempotent.
    """
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    lowered = bare.replace("đ", "d").replace("Đ", "d").lower()
    if not lowered.isascii():
        lowered = "".join(
            c for c in unicodedata.normalize("NFD", lowered) if not unicodedata.category(c).startswith("M")
        )
    return " ".join(lowered.split())


def _fold_table() -> dict[int, str]:
    # Every Latin letter whose folded form is plain ASCII maps straight to it, so the common case (a
    # Vietnamese name typed in NFC) needs one str.translate call instead of a normalization and a pass
    # over each character in Python. The table is derived from _fold_slow itself, so the fast and the
    # slow path cannot disagree.
    table: dict[int, str] = {}
    for char in _LATIN_LETTERS:
        folded = _fold_slow(char)
        if folded.isascii() and folded != char:
            table[ord(char)] = folded
    return table


_FOLD_TABLE = _fold_table()


def fold(text: str) -> str:
    """Return the search key of `text`: no tone or vowel marks, đ as d, lower case, single spaces.

    "Nguyễn Văn Hùng" -> "nguyen van hung"; "ĐẶNG  thị" -> "dang thi". Called once per record in bulk
    loads, hence the precomputed translation table; text that still holds anything but ASCII after it
    (decomposed input, other scripts) takes the full Unicode path, which gives the same result.
    """
    translated = text.translate(_FOLD_TABLE)
    if translated.isascii():
        return " ".join(translated.split())
    return _fold_slow(text)


def _capitalize_word(word: str) -> str:
    first, rest = word[:1], word[1:].lower()
    titled = first.title()
    # A few letters title-case into two characters ("ß" -> "Ss", "ŉ" -> "ʼN"); applying the rule again to
    # such a result would change it once more, so those letters keep their lower-case form and
    # normalize_name stays idempotent.
    if len(titled) != 1:
        titled = first.lower() if len(first.lower()) == 1 else first
    return titled + rest


def normalize_name(text: str) -> str:
    """Return the canonical spelling of a personal name.

    NFC, surrounding whitespace removed, inner whitespace collapsed to one space, and each space-separated
    word capitalized the Vietnamese way: the first letter upper case, the rest lower case, so
    "NGUYỄN VĂN HÙNG" and "nguyễn văn hùng" both become "Nguyễn Văn Hùng". Apostrophes and hyphens stay
    inside their word ("H'HEN NIÊ" -> "H'hen Niê"): the registry cannot know how each ethnic-minority name
    capitalizes its parts, and an officer can correct such a name by hand.
    """
    return nfc(" ".join(_capitalize_word(word) for word in nfc(text).split()))


def _describe(chars: Iterable[str]) -> str:
    # Control and invisible characters are shown by code point: printing them would hide them again.
    return ", ".join(sorted({f"U+{ord(c):04X}" for c in chars}))


def _forbidden_chars(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in _FORBIDDEN_CATEGORIES]


def _non_name_chars(text: str) -> set[str]:
    """The characters of `text` that are neither Latin letters, name punctuation, spaces nor marks on a
    letter; digits and control characters are left out because they have rules of their own."""
    others: set[str] = set()
    previous_is_letter = False
    for char in text:
        if char in _LATIN_LETTERS:
            previous_is_letter = True
            continue
        category = unicodedata.category(char)
        if category.startswith("M"):
            # A combining mark that NFC could not merge (a tone on a letter with no precomposed form)
            # belongs to the letter before it; a mark on anything else is not part of a name.
            if not previous_is_letter:
                others.add(char)
            continue
        previous_is_letter = False
        if char in _NAME_PUNCTUATION or category == "Zs" or category.startswith(("N", "C")):
            continue
        others.add(char)
    return others


def name_errors(value: str, *, field: str, max_length: int = 100) -> list[FieldError]:
    """Check a personal name; return one FieldError per broken rule, or an empty list.

    The value is checked as it will be stored (NFC, trimmed). Rules: `name.required`, `name.too_long`,
    `name.control_chars`, `name.digits`, `name.letters` (only Latin-script letters, Vietnamese ones
    included, spaces, apostrophes and hyphens). Names in other scripts are refused because the registry
    records the Vietnamese legal spelling; a foreign spelling belongs in a separate "other names" field.
    """
    text = nfc(value).strip()
    if not text:
        return [
            FieldError(
                field,
                "name.required",
                f"Trường «{field}»: họ tên không được để trống.",
                f"Field '{field}': the name must not be blank.",
            )
        ]
    errors: list[FieldError] = []
    length = len(text)
    if length > max_length:
        errors.append(
            FieldError(
                field,
                "name.too_long",
                f"Trường «{field}»: họ tên dài tối đa {max_length} ký tự (hiện có {length}).",
                f"Field '{field}': the name may be at most {max_length} characters long (it has {length}).",
                {"max_length": max_length, "length": length},
            )
        )
    if _PLAIN_NAME_CHARS.issuperset(text):
        return errors
    forbidden = _forbidden_chars(text)
    if forbidden:
        described = _describe(forbidden)
        errors.append(
            FieldError(
                field,
                "name.control_chars",
                f"Trường «{field}»: họ tên chứa ký tự điều khiển hoặc ký tự ẩn ({described}).",
                f"Field '{field}': the name contains control or invisible characters ({described}).",
                {"characters": described},
            )
        )
    digits = [c for c in text if unicodedata.category(c).startswith("N")]
    if digits:
        errors.append(
            FieldError(
                field,
                "name.digits",
                f"Trường «{field}»: họ tên không được chứa chữ số.",
                f"Field '{field}': the name must not contain digits.",
                {"characters": "".join(sorted(set(digits)))},
            )
        )
    others = _non_name_chars(text)
    if others:
        # Marks and spaces would be invisible on their own, so they are shown by code point.
        shown = " ".join(
            f"U+{ord(c):04X}" if unicodedata.category(c).startswith(("M", "Z")) else c for c in sorted(others)
        )
        errors.append(
            FieldError(
                field,
                "name.letters",
                f"Trường «{field}»: họ tên chỉ được gồm chữ cái tiếng Việt (chữ Latinh), khoảng trắng, "
                f"dấu nháy (') và gạch nối (-); không chấp nhận: {shown}",
                f"Field '{field}': the name may contain only Vietnamese (Latin-script) letters, spaces, "
                f"apostrophes (') and hyphens (-); not allowed: {shown}",
                {"characters": shown},
            )
        )
    return errors


# Punctuation that Vietnamese addresses, places and document references actually use ("Số 12/3, ngõ 4,
# tổ 5 (cũ)", "QĐ số 123/QĐ-UBND", "Km 7+500", "Số 1 & 3"). Anything else (angle brackets, braces,
# semicolons, backslashes, emoji, letters of other scripts) has no place in a registry field and is
# refused with `text.characters`, so markup or injected code never reaches the database.
_TEXT_PUNCTUATION = frozenset(" ,./-()'\"&#:+°№")
# A reason for a change is a sentence: it may also ask, exclaim, list and give percentages.
_PROSE_PUNCTUATION = _TEXT_PUNCTUATION | frozenset(";!?%_*=@")
_DIGITS = frozenset("0123456789")


def text_errors(value: str, *, field: str, max_length: int, prose: bool = False) -> list[FieldError]:
    """Check free text such as an address; return one FieldError per broken rule, or an empty list.

    Rules: `text.too_long` (counted in NFC, as stored), `text.control_chars`, and `text.characters`
    (only Latin-script letters, digits and the punctuation of `_TEXT_PUNCTUATION`). Line breaks and tabs
    are refused too: every free-text field in the registry is a single line, and an embedded newline
    breaks CSV exports, QR payloads and log lines downstream.
    """
    text = nfc(value)
    errors: list[FieldError] = []
    if len(text) > max_length:
        errors.append(
            FieldError(
                field,
                "text.too_long",
                f"Trường «{field}»: dài tối đa {max_length} ký tự (hiện có {len(text)}).",
                f"Field '{field}': at most {max_length} characters allowed (it has {len(text)}).",
                {"max_length": max_length, "length": len(text)},
            )
        )
    forbidden = _forbidden_chars(text)
    if forbidden:
        described = _describe(forbidden)
        errors.append(
            FieldError(
                field,
                "text.control_chars",
                f"Trường «{field}»: chứa ký tự điều khiển, xuống dòng hoặc ký tự ẩn ({described}).",
                f"Field '{field}': contains control, line-break or invisible characters ({described}).",
                {"characters": described},
            )
        )
    else:
        allowed = _PROSE_PUNCTUATION if prose else _TEXT_PUNCTUATION
        unexpected = sorted(
            {ch for ch in text if ch not in _LATIN_LETTERS and ch not in _DIGITS and ch not in allowed}
        )
        if unexpected:
            shown = " ".join(unexpected[:10])
            errors.append(
                FieldError(
                    field,
                    "text.characters",
                    f"Trường «{field}»: có ký tự không dùng trong địa chỉ, giấy tờ tiếng Việt ({shown}).",
                    f"Field '{field}': contains characters not used in Vietnamese text ({shown}).",
                    {"characters": shown},
                )
            )
    return errors
