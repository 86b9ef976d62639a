"""Vietnamese text: Unicode normalization, search keys, canonical names and input checks.

Vietnamese letters can be typed precomposed ("ễ", one code point) or decomposed ("e" + circumflex + tilde),
and keyboards and legacy systems mix both; two strings that look identical can differ byte for byte. The
registry stores NFC ("sạch": normalized), matches on a folded key without tone marks, and refuses input
that is not a name before it reaches a record.
"""

from __future__ import annotations

import functools
import re
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


# Characters that stand for a letter or a sign of a Vietnamese name and are not it, mapped to the one the
# registry stores:
# - "Ð" and "ð" (U+00D0, U+00F0, the Icelandic eth) look exactly like "Đ" and "đ" (U+0110, U+0111). Text
#   converted from the VNI and TCVN3 fonts, Windows-1258 read as Windows-1252, and some keyboards give
#   the eth; a name spelled with it would otherwise be a name of its own, unfindable by "Đặng" or "dang".
# - The apostrophe of ethnic-minority names ("H'Hen Niê", "Ksor H'Phin") is stored as the ASCII one
#   (U+0027), the one every keyboard types and the one the name rules' messages show: word processors and
#   phones turn it into the typographic "’" (U+2019), and other sources give the modifier letter "ʼ"
#   (U+02BC), the opening quote "‘" or a backtick. The Unicode hyphen U+2010 likewise becomes "-".
# normalize_name applies the table to the names it stores, fold to the search keys (so an old record
# still spelled with one of them is found by the canonical spelling too), and the import's name repairs
# (registry/normalize.py) to the names of a file.
LOOKALIKE_LETTERS = str.maketrans({"\u00d0": "\u0110", "\u00f0": "\u0111"})
NAME_PUNCTUATION_VARIANTS = str.maketrans(
    {"\u2019": "'", "\u02bc": "'", "\u2018": "'", "`": "'", "\u2010": "-"}
)
_NAME_LOOKALIKES = LOOKALIKE_LETTERS | NAME_PUNCTUATION_VARIANTS


def _fold_slow(text: str) -> str:
    """The definition of the search key, written for clarity rather than speed.

    Decompose, drop every combining mark (tones and the circumflex, breve and horn that make â, ă, ơ, ư),
    read the look-alikes of _NAME_LOOKALIKES as the letter or sign they stand for, map đ to d (đ is a
    letter of its own, not d with a mark, so decomposition keeps it), lower the case, and collapse
    whitespace. Lowering can in rare cases produce a new combining mark (U+0130 "İ" lowers to "i" + dot
    above), so the marks are dropped once more after it to keep the key idempotent.
    """
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    lowered = bare.translate(_NAME_LOOKALIKES).replace("đ", "d").replace("Đ", "d").lower()
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
    for char in _LATIN_LETTERS | {chr(code) for code in _NAME_LOOKALIKES}:
        folded = _fold_slow(char)
        if folded.isascii() and folded != char:
            table[ord(char)] = folded
    return table


_FOLD_TABLE = _fold_table()


def fold(text: str) -> str:
    """Return the search key of `text`: no tone or vowel marks, đ as d, lower case, single spaces.

    "Nguyễn Văn Hùng" -> "nguyen van hung"; "ĐẶNG  thị" -> "dang thi"; the look-alikes of
    LOOKALIKE_LETTERS and NAME_PUNCTUATION_VARIANTS are read as what they stand for ("Ðào" -> "dao",
    "H’Hen" -> "h'hen"). Called once per record in bulk
    loads, hence the precomputed translation table; text that still holds anything but ASCII after it
    (decomposed input, other scripts) takes the full Unicode path, which gives the same result.
    """
    translated = text.translate(_FOLD_TABLE)
    if translated.isascii():
        return " ".join(translated.split())
    return _fold_slow(text)


def fold_name(text: str) -> str:
    """Return the search key of a personal name: its `fold`, with a hyphen read as a space.

    Ethnic-minority names join their parts with a hyphen or a space as the writer chose: "Y-Moan Ênuôl"
    on one paper is "Y Moan Ênuôl" on another, for one person. The key of a name makes them one, so
    that either spelling finds the record, and the duplicate checks, the card check of an arrival and
    record linkage compare them as one name. Only names: an address keeps its hyphens ("Số 12-14")."""
    folded = fold(text)
    if "-" not in folded:
        return folded
    return " ".join(folded.replace("-", " ").split())


_PART_SEPARATORS = frozenset("'’ʼ-")


def _capitalize_word(word: str) -> str:
    # Ethnic-minority names join parts with an apostrophe or a hyphen, and their owners capitalize the
    # parts their own way ("H'Krông", "Y-Moan", "H'hen"). The initial of each inner part is kept as typed
    # unless the word was typed in capitals (a letter other than a part initial is upper case), which
    # says nothing about how the parts capitalize. Every other letter is lower case, the first upper.
    initials = {0} | {i + 1 for i, ch in enumerate(word) if ch in _PART_SEPARATORS}
    typed_in_caps = any(ch.isupper() for i, ch in enumerate(word) if i not in initials)
    chars = []
    for i, ch in enumerate(word):
        if i == 0 or (i in initials and not typed_in_caps):
            chars.append(ch)
        else:
            chars.append(ch.lower())
    first = chars[0] if chars else ""
    titled = first.title()
    # A few letters title-case into two characters ("ß" -> "Ss", "ŉ" -> "ʼN"); applying the rule again to
    # such a result would change it once more, so those letters keep their lower-case form and
    # normalize_name stays idempotent.
    if len(titled) != 1:
        titled = first.lower() if len(first.lower()) == 1 else first
    return titled + "".join(chars[1:])


# Names repeat (a few thousand spellings cover most of a population), and the checks of one record call
# this for the person and each relative several times: an import's promotion called it 20 times a row.
@functools.lru_cache(maxsize=65_536)
def normalize_name(text: str) -> str:
    """Return the canonical spelling of a personal name.

    NFC, surrounding whitespace removed, inner whitespace collapsed to one space, and each space-separated
    word capitalized the Vietnamese way: the first letter upper case, the rest lower case, so
    "NGUYỄN VĂN HÙNG" and "nguyễn văn hùng" both become "Nguyễn Văn Hùng". Apostrophes and hyphens stay
    inside their word. A word already in mixed case keeps its inner capitals ("H'Krông Ayun" stays as
    it is); one typed all in capitals cannot tell how its parts capitalize ("H'HEN NIÊ" -> "H'hen Niê"),
    and an officer can correct such a name by hand. The look-alikes of LOOKALIKE_LETTERS and
    NAME_PUNCTUATION_VARIANTS become what they stand for: "Ðào" -> "Đào", "H’Hen" -> "H'Hen".
    """
    text = nfc(text).translate(_NAME_LOOKALIKES)
    return nfc(" ".join(_capitalize_word(word) for word in text.split()))


def _describe(chars: Iterable[str]) -> str:
    # Control and invisible characters are shown by code point: printing them would hide them again.
    return ", ".join(sorted({f"U+{ord(c):04X}" for c in chars}))


def _forbidden_chars(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in _FORBIDDEN_CATEGORIES]


def forbidden_characters(text: str) -> str:
    """The control, line-break and invisible characters of `text`, by code point ("U+0001, U+202E"), or ""
    when it has none: what the `*.control_chars` rules refuse, for a value that is checked for nothing
    else (a name a user gives to a source, for instance)."""
    return _describe(_forbidden_chars(text))


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


def text_errors(
    value: str,
    *,
    field: str,
    max_length: int,
    prose: bool = False,
    label: tuple[str, str] | None = None,
) -> list[FieldError]:
    """Check free text such as an address; return one FieldError per broken rule, or an empty list.

    Rules: `text.too_long` (counted in NFC, as stored), `text.control_chars`, and `text.characters`
    (only Latin-script letters, digits and the punctuation of `_TEXT_PUNCTUATION`). Line breaks and tabs
    are refused too: every free-text field in the registry is a single line, and an embedded newline
    breaks CSV exports, QR payloads and log lines downstream.

    The messages name the field by `label`, its name as the page shows it (Vietnamese, English), where
    the caller gives one ("Trường «Lý do»"), else by its code ("Trường «reason»"). The error's `field` is
    the code either way.
    """
    name_vi, name_en = label or (field, field)
    text = nfc(value)
    errors: list[FieldError] = []
    if len(text) > max_length:
        errors.append(
            FieldError(
                field,
                "text.too_long",
                f"Trường «{name_vi}»: dài tối đa {max_length} ký tự (hiện có {len(text)}).",
                f"Field '{name_en}': at most {max_length} characters allowed (it has {len(text)}).",
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
                f"Trường «{name_vi}»: chứa ký tự điều khiển, xuống dòng hoặc ký tự ẩn ({described}).",
                f"Field '{name_en}': contains control, line-break or invisible characters ({described}).",
                {"characters": described},
            )
        )
    else:
        allowed = _PROSE_PUNCTUATION if prose else _TEXT_PUNCTUATION
        unexpected = sorted(
            {ch for ch in text if ch not in _LATIN_LETTERS and ch not in _DIGITS and ch not in allowed}
        )
        # Worded for any text: the rule guards names, reasons and campaign names as well as addresses.
        if unexpected:
            shown = " ".join(unexpected[:10])
            errors.append(
                FieldError(
                    field,
                    "text.characters",
                    f"Trường «{name_vi}»: có ký tự không dùng trong văn bản tiếng Việt ({shown}).",
                    f"Field '{name_en}': contains characters not used in Vietnamese text ({shown}).",
                    {"characters": shown},
                )
            )
    return errors


# Vowels, tones and syllables ------------------------------------------------------------------------------
#
# A Vietnamese vowel letter is a base vowel (a ă â e ê i o ô ơ u ư y: the circumflex, breve and horn make
# different vowels, not tones) plus at most one of five tone marks. The tables below split every
# precomposed vowel into the two, so that code can move a tone from one letter to another or check a
# syllable's shape without caring how the tone was typed.

BASE_VOWELS = "aăâeêioôơuưy"
# Tone numbers: 0 ngang (no mark), 1 huyền (grave), 2 sắc (acute), 3 hỏi (hook above), 4 ngã (tilde),
# 5 nặng (dot below). The combining marks are those Unicode decomposes the precomposed letters into.
TONE_MARKS = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")


def _tone_tables() -> tuple[dict[str, tuple[str, int]], dict[tuple[str, int], str]]:
    split: dict[str, tuple[str, int]] = {}
    compose: dict[tuple[str, int], str] = {}
    for base in BASE_VOWELS + BASE_VOWELS.upper():
        for tone, mark in enumerate(TONE_MARKS):
            letter = unicodedata.normalize("NFC", base + mark)
            split[letter] = (base, tone)
            compose[base, tone] = letter
    return split, compose


# "ệ" -> ("ê", 5) and back; upper-case letters keep their case in both directions.
VOWEL_TONES, TONED_VOWELS = _tone_tables()

# Onsets (phụ âm đầu) and rhymes (vần) of standard Vietnamese, written without tones. The rhyme list is
# the one of school spelling tables plus the open "iê" of Ê-đê names ("Niê"), so that a legal name is
# never taken for damaged text. "qu" and "gi" are onsets of their own: in "quý" and "già" the u and the i
# belong to the onset, which is why the tone sits on the next vowel.
_ONSETS = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "th", "tr", "qu", *"bcdđghklmnprstvx")
# One row per main vowel.
_RHYME_ROWS = (
    "a ac ach ai am an ang anh ao ap at au ay",
    "ăc ăm ăn ăng ăp ăt",
    "âc âm ân âng âp ât âu ây",
    "e ec em en eng eo ep et",
    "ê êch êm ên ênh êp êt êu",
    "i ia ich im in inh ip it iu iê iêc iêm iên iêng iêp iêt iêu",
    "o oc oi om on ong op ot oong ooc",
    "ô ôc ôi ôm ôn ông ôp ôt",
    "ơ ơi ơm ơn ơp ơt",
    "u ua uc ui um un ung up ut uôc uôi uôm uôn uông uôp uôt",
    "ư ưa ưc ưi ưm ưn ưng ưt ưu ươ ươc ươi ươm ươn ương ươp ươt ươu",
    "y ych ynh yt yêm yên yêng yêt yêu",
    "oa oac oach oai oam oan oang oanh oao oap oat oay",
    "oăc oăm oăn oăng oăt",
    "oe oen oeo oet",
    "uân uâng uât uây",
    "uê uêch uênh",
    "uy uych uyn uynh uyp uyt uya uyu uyên uyêt",
    "uơ",
)
_RHYMES = [rhyme for row in _RHYME_ROWS for rhyme in row.split(" ")]
_ONSET_SET = frozenset(_ONSETS)
_MARKED_VOWELS = "ăâêôơư"


def _tone_positions(rhyme: str) -> frozenset[int]:
    """Where a tone may sit in `rhyme` (indexes into it), under either placement convention.

    A vowel with a circumflex, breve or horn takes it (the last one in ươ, uô, iê); otherwise the last
    vowel before a final consonant ("hoàn"), the middle of three vowels ("ngoài", "khuỷu"), the first of
    two ("mùa", "gửi") except oa, oe and uy, where the two conventions differ ("hòa", "hoà").
    """
    vowels = [index for index, char in enumerate(rhyme) if char in BASE_VOWELS]
    marked = [index for index in vowels if rhyme[index] in _MARKED_VOWELS]
    if marked:
        return frozenset({marked[-1]})
    if vowels[-1] < len(rhyme) - 1:
        return frozenset({vowels[-1]})
    if len(vowels) == 3:
        return frozenset({vowels[1]})
    if rhyme in ("oa", "oe", "uy"):
        return frozenset({0, 1})
    return frozenset({vowels[0]})


_RHYME_TONE_POSITIONS = {rhyme: _tone_positions(rhyme) for rhyme in _RHYMES}
# "uơ" is a rhyme of three words only (thuở, huơ, khuơ); accepting it after any onset would make "Vuơ" and
# "Tuỡ" look like Vietnamese, which is what text damaged by a legacy encoding often reads as.
_RHYME_ONSETS = {"uơ": frozenset({"th", "h", "kh"})}


# The longest word that can be one syllable: the longest onset with the longest rhyme ("nghiêng").
_LONGEST_SYLLABLE = max(map(len, _ONSETS)) + max(map(len, _RHYMES))


def is_syllable(word: str) -> bool:
    """True when `word` (NFC, any case) has the shape of one Vietnamese syllable.

    The check is structural: an onset, a rhyme of the spelling tables, and at most one tone, on a vowel
    that may carry it under one of the two placement conventions ("hòa" and "hoà", not "hoàn" written
    "hòan"). It is a little lenient (no c/k/q spelling rules, no check of which tones a rhyme ending in
    c, ch, p, t may take): it exists to tell Vietnamese from text damaged by a legacy encoding
    ("Nguyễn" against "NguyÔn" or "Nguyeãn"), not to judge spelling.
    """
    return len(word) <= _LONGEST_SYLLABLE and _is_syllable(word)


# The repair of legacy encodings asks this of every word of every name and address that is not plain ASCII,
# and a register repeats its words (Nguyễn, Thị, Xã, Huyện) from row to row: each is worked out once. Only
# words short enough to be a syllable are remembered, and at most 16,384 of them (Vietnamese writes about
# 7,000 syllables; the memory stays under 3 MB), so hostile text cannot fill the memory.
@functools.lru_cache(maxsize=1 << 14)
def _is_syllable(word: str) -> bool:
    bare = []
    tone = tone_at = 0
    for index, char in enumerate(word.lower()):
        base, mark = VOWEL_TONES.get(char, (char, 0))
        if mark:
            if tone:
                return False
            tone, tone_at = mark, index
        bare.append(base)
    text = "".join(bare)
    # The onset is the longest one the word starts with that leaves a rhyme ("gìn" is g + in, "giữ" is
    # gi + ư); at most three lengths to try.
    for length in (3, 2, 1, 0):
        if length and text[:length] not in _ONSET_SET:
            continue
        rhyme = text[length:]
        positions = _RHYME_TONE_POSITIONS.get(rhyme)
        if positions is None or (tone and tone_at - length not in positions):
            continue
        if rhyme not in _RHYME_ONSETS or text[:length] in _RHYME_ONSETS[rhyme]:
            return True
    return False


# The same tables without marks, for words already folded ("thien", "nguyen"): a search key or a name typed
# in capitals without marks still shows its onset.
_FOLDED_ONSETS = frozenset(fold(onset) for onset in _ONSETS)
_FOLDED_RHYMES = frozenset(fold(rhyme) for rhyme in _RHYMES)


def folded_onset(word: str) -> str | None:
    """The onset (initial consonant) of a folded word that has the shape of a Vietnamese syllable: "th"
    for "thien", "t" for "tien", "ng" for "nguyen", "gi" for "giang", "" for "anh"; None for a word that
    is no Vietnamese syllable ("joshua", "campbell").

    Vietnamese writes one consonant with up to three letters, and names that differ only there are other
    names, not slips: Tiến and Thiện, Nhung and Nung, Trang and Tang. "ngh" and "gh" are the spellings of
    "ng" and "g" before e, ê and i, and are given as those.
    """
    for length in (3, 2, 1, 0):
        head = word[:length]
        if length and head not in _FOLDED_ONSETS:
            continue
        if word[length:] in _FOLDED_RHYMES:
            return _SAME_ONSET.get(head, head)
    return None


_SAME_ONSET = {"ngh": "ng", "gh": "g"}


# Tone placement -------------------------------------------------------------------------------------------
#
# Two conventions place the tone of the open rhymes oa, oe and uy differently: the older one on the first
# vowel ("hòa", "khỏe", "thúy"), the newer one of the 1980s spelling reforms and of school books since
# QĐ 1989/QĐ-BGDĐT (2018) on the second ("hoà", "khoẻ", "thuý"). Everywhere else both agree: a vowel
# with a circumflex, breve or horn takes the tone ("thuở", "người", "tuyển"), a closed rhyme takes it on
# its second vowel ("hoàn", "huỳnh"), and after the onsets qu and gi the u or i is not a vowel at all
# ("quý", "già").
#
# The registry stores the first convention, "Hòa", "Thúy", "Khỏe": it is the spelling of the official
# list of administrative units (about 96% of the oa/oe/uy names in the GSO tables use it, e.g. Hòa Bình,
# Thanh Hóa, Khánh Hòa), of civil-status and identity documents issued to date, and of the registry's own
# reference data. One canonical form matters more than which one: "Thúy" and "Thuý" must be one name for
# search, matching and duplicate detection.

_TONED_SECOND = {"o": "ae", "u": "y"}
_VOWEL_LETTERS = frozenset(VOWEL_TONES)
_NEW_STYLE_CANDIDATE = re.compile(
    "([oOuU])(["
    + "".join(letter for letter, (base, tone) in VOWEL_TONES.items() if tone and base.lower() in "aey")
    + r"])(?!\w)"
)


def _old_style(match: re.Match[str]) -> str:
    first, second = match.group(1), match.group(2)
    base, tone = VOWEL_TONES[second]
    if base.lower() not in _TONED_SECOND[first.lower()]:
        return match.group(0)
    start = match.start()
    before = match.string[start - 1] if start else ""
    # The o or u must open the rhyme: after another vowel it is part of a longer rhyme, and after q the u
    # belongs to the onset ("quý" keeps its tone where it is).
    if before in _VOWEL_LETTERS or (first in "uU" and before in ("q", "Q")):
        return match.group(0)
    return TONED_VOWELS[first, tone] + TONED_VOWELS[base, 0]


def canonical_tone_placement(text: str) -> str:
    """Return `text` (in NFC) with the tone of the open rhymes oa, oe, uy on the first vowel.

    "hoà" -> "hòa", "Thuý" -> "Thúy", "KHOẺ" -> "KHỎE", "Nguỵ" -> "Ngụy"; every other word is left as it
    is ("quý", "gìn", "thuở", "khuỷu", "người", "tuyển", "hoàn", "Huỳnh"), and so is the case of each
    letter. Idempotent; see the comment above for why this convention is the canonical one.
    """
    if text.isascii():
        return text
    return _NEW_STYLE_CANDIDATE.sub(_old_style, nfc(text))
