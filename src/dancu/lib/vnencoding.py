"""Vietnamese text damaged by legacy encodings: detect it and repair it.

Legacy population files were typed in the single-byte fonts of the 1990s and 2000s and reach the
registry through software that read their bytes as Windows-1252 (or Latin-1). What arrives is
mojibake with a recognisable shape:

- TCVN3 (ABC, TCVN 5712:1993 VN3): one byte per letter, "Nguyễn Văn Hùng" arrives as "NguyÔn V¨n Hïng".
  The ABC fonts have no capital letters with tones; typists set whole words in capitals in the "H" fonts
  (.VnTimeH), which draw the lower-case positions as capitals.
- VNI Windows: a base letter followed by a byte for its marks, "Nguyeãn Vaên Huøng".
- UTF-8 read as Windows-1252: two or three characters per letter, "Nguyá»…n VÄƒn HÃ¹ng".
- Windows-1258: base letters followed by combining tone marks ("Nguyê" + U+0303 + "n"), either decoded
  correctly (Unicode, but decomposed) or read as Windows-1252 ("NguyêÞn").

`repair` finds which of these, if any, turns the text into Vietnamese and returns the repaired text with
the name of the encoding. Every damaged form above consists only of characters that Windows-1252 or
Latin-1 can produce (plus combining marks for Windows-1258), while correct Vietnamese nearly always holds
a letter outside them (ă, đ, ơ, ư, ạ, ễ...): that is the pre-check that lets clean text through after
one regular-expression scan. Text made only of such characters is repaired only when the repair turns
words that are not Vietnamese syllables into words that are, and every word it changes into one: correct
text ("Hà Vân") and text in other languages are left alone.

The tables come from the published charts (TCVN 5712:1993 as implemented by glibc's TCVN5712-1, and the
VNI Windows chart of the VNI keyboard drivers) and are checked both ways by the tests.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from dancu.lib.vntext import TONE_MARKS, TONED_VOWELS, VOWEL_TONES, is_syllable

TCVN3: Final = "tcvn3"
VNI: Final = "vni"
UTF8_AS_CP1252: Final = "utf8-as-cp1252"
CP1258_AS_CP1252: Final = "cp1258-as-cp1252"
CP1258_DECOMPOSED: Final = "cp1258-decomposed"
ENCODINGS: Final = (TCVN3, VNI, UTF8_AS_CP1252, CP1258_AS_CP1252, CP1258_DECOMPOSED)


@dataclass(frozen=True, slots=True)
class Repair:
    """The repaired text and the encoding that was detected, or the text unchanged and None."""

    text: str
    encoding: str | None


# Windows-1252 with Latin-1 behind it ----------------------------------------------------------------------
#
# Windows-1252 leaves five bytes undefined (0x81 0x8D 0x8F 0x90 0x9D). Readers that meet them either fail,
# or fall back to Latin-1 and produce the C1 control character of the same number; files read entirely as
# Latin-1 produce C1 controls for all of 0x80-0x9F. Reading damaged text back into bytes therefore accepts
# both: the Windows-1252 character and the C1 control stand for the same byte.

_FALLBACK = "dancu-cp1252-latin1"


def _latin1_fallback(error: UnicodeError) -> tuple[str | bytes, int]:
    """Codec error handler: the five bytes Windows-1252 leaves undefined read as Latin-1, and C1 control
    characters written back as the byte of the same number."""
    if isinstance(error, UnicodeDecodeError):
        return error.object[error.start : error.end].decode("latin-1"), error.end
    if isinstance(error, UnicodeEncodeError):
        chunk = error.object[error.start : error.end]
        if all(0x80 <= ord(char) <= 0x9F for char in chunk):
            return chunk.encode("latin-1"), error.end
    raise error


codecs.register_error(_FALLBACK, _latin1_fallback)


# The characters such a reader makes: Latin-1's (C1 controls included) and the 27 that Windows-1252 puts
# at 0x80-0x9F. Correct Vietnamese text has others ("ị", "ơ"), and most text asked about is correct.
_CP1252_CHARS = "\x00-\xff" + "".join(
    sorted({bytes([byte]).decode("cp1252", errors="ignore") for byte in range(0x80, 0xA0)})
)
_NOT_CP1252 = re.compile(f"[^{_CP1252_CHARS}]")


def _to_bytes(text: str) -> bytes | None:
    """The bytes a Windows-1252 (or Latin-1) reader turned into `text`, or None when it could not have."""
    # Looked for first: the encoder would fail on the character, through the error handler, and the
    # exception it raises holds a reference cycle (its traceback's frames hold it), a few kilobytes of
    # garbage each time that only the cyclic collector frees.
    if _NOT_CP1252.search(text):
        return None
    try:
        return text.encode("cp1252", errors=_FALLBACK)
    except UnicodeEncodeError:
        return None


def _from_bytes(data: bytes) -> str:
    return data.decode("cp1252", errors=_FALLBACK)


def _byte_chars(byte: int) -> tuple[str, ...]:
    """The characters a Windows-1252 or Latin-1 reader makes of one byte (one, or two for 0x80-0x9F)."""
    cp1252 = _from_bytes(bytes([byte]))
    return (cp1252,) if cp1252 == chr(byte) else (cp1252, chr(byte))


def decode_bytes(data: bytes) -> str:
    """Decode a legacy file's bytes: as UTF-8 when they are valid UTF-8, else as Windows-1252 with the five
    bytes it leaves undefined read as Latin-1, which is the text `repair` expects from a legacy source."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _from_bytes(data)


# Every character a Windows-1252 or Latin-1 reader can produce; damaged text is made of nothing else.
_REPERTOIRE = "".join(sorted({char for byte in range(256) for char in _byte_chars(byte)}))
_OUTSIDE_REPERTOIRE = re.compile("[^" + re.escape(_REPERTOIRE) + "]")

# TCVN3 ----------------------------------------------------------------------------------------------------
#
# Bytes 0xA0-0xFF of TCVN 5712:1993 VN3, the set the ABC fonts draw, sixteen per row; "_" marks a byte with
# no letter in VN3. VN1, the full standard, adds capitals with tones at 0x80-0x9F, among the control
# characters and in the blanks of these rows; ABC files do not use them, and reading them would turn the
# capital Latin-1 letters of other damaged text (Ã, Á, Í, Ù) into Vietnamese capitals that were never
# typed. The lower-case letters of every row agree with VN1 (glibc's TCVN5712-1; see the tests).
_TCVN3_ROWS = (
    "_ĂÂÊÔƠƯĐăâêôơưđ_",  # 0xA0
    "_____àảãáạ_ằẳẵắ_",  # 0xB0
    "______ặầẩẫấậè_ẻẽ",  # 0xC0
    "éẹềểễếệìỉ___ĩíịò",  # 0xD0
    "_ỏõóọồổỗốộờởỡớợù",  # 0xE0
    "_ủũúụừửữứựỳỷỹýỵ_",  # 0xF0
)
TCVN3_TABLE: Final[dict[int, str]] = {
    0xA0 + row * 16 + column: letter
    for row, letters in enumerate(_TCVN3_ROWS)
    for column, letter in enumerate(letters)
    if letter != "_"
}
# A capital with a tone is written at its lower-case position, which is how the H fonts show it.
_TCVN3_ENCODE = {letter: byte for byte, letter in TCVN3_TABLE.items()}


def _tcvn3_decode(text: str) -> str | None:
    # A letter of the damaged text that VN3 does not define ("Ã", a VN1 capital) says the text is not ABC:
    # decoding the rest would leave it standing in a word that may then pass for Vietnamese.
    if any(char.isalpha() and ord(char) not in TCVN3_TABLE for char in text if not char.isascii()):
        return None
    # Bytes 0xA0-0xFF read as Windows-1252 or Latin-1 are the code points of the same numbers, so the
    # table translates the damaged text as it is.
    decoded = text.translate(TCVN3_TABLE)
    # Text typed in an H font comes out with its toned letters in lower case among ASCII capitals
    # ("NGUYễN"): it was all capitals on paper. A word says so when it has two ASCII capitals and no
    # lower-case ASCII letter ("Lª" is "Lê" as much as "LÊ"); a text all in ASCII capitals with one such
    # word says so for all its words.
    words = _TOKEN.findall(decoded)
    if any(_h_font_word(word) for word in words) and all(
        _h_font_word(word) or not _ascii_letters(word) or _ascii_letters(word).isupper() for word in words
    ):
        return decoded.upper()
    return _TOKEN.sub(
        lambda match: match.group(0).upper() if _h_font_word(match.group(0)) else match.group(0), decoded
    )


def _ascii_letters(word: str) -> str:
    return "".join(char for char in word if char.isascii() and char.isalpha())


def _h_font_word(word: str) -> bool:
    letters = _ascii_letters(word)
    return len(letters) > 1 and letters.isupper()


# VNI ------------------------------------------------------------------------------------------------------
#
# VNI Windows writes a vowel as its base letter followed by one byte for the marks: the tone alone
# (ù sắc, ø huyền, û hỏi, õ ngã, ï nặng), the circumflex (â) or the breve (ê) alone, or circumflex/breve
# and tone together. ơ, ư, đ are single bytes (ô, ö, ñ), and so are the toned i (í ì æ ó ò) and ỵ (î).
# Tones are numbered as in vntext: huyền, sắc, hỏi, ngã, nặng.
_VNI_TONES = {1: "ø", 2: "ù", 3: "û", 4: "õ", 5: "ï"}
_VNI_CIRCUMFLEX_TONES = {0: "â", 1: "à", 2: "á", 3: "å", 4: "ã", 5: "ä"}
_VNI_BREVE_TONES = {0: "ê", 1: "è", 2: "é", 3: "ú", 4: "ü", 5: "ë"}
_VNI_I = {0: "i", 1: "ì", 2: "í", 3: "æ", 4: "ó", 5: "ò"}


def _vni_sequence(base: str, tone: int) -> str:
    if base == "i":
        return _VNI_I[tone]
    if base == "y" and tone == 5:
        return "î"
    if base in "âêô":
        return {"â": "a", "ê": "e", "ô": "o"}[base] + _VNI_CIRCUMFLEX_TONES[tone]
    if base == "ă":
        return "a" + _VNI_BREVE_TONES[tone]
    head = {"ơ": "ô", "ư": "ö"}.get(base, base)
    return head + _VNI_TONES.get(tone, "")


def _vni_table() -> dict[str, str]:
    """Unicode letter -> its VNI Windows spelling, as Windows-1252 characters."""
    table = {"đ": "ñ", "Đ": "Ñ"}
    for (base, tone), letter in TONED_VOWELS.items():
        if base.islower():
            sequence = _vni_sequence(base, tone)
            if sequence != letter:
                table[letter] = sequence
                table[letter.upper()] = sequence.upper()
    return table


VNI_TABLE: Final[dict[str, str]] = _vni_table()


def _vni_decode_table() -> dict[str, str]:
    # The toned i's VNI writes as themselves (í ì Í Ì) are letters of VNI text too.
    decode = {
        letter: letter for letter in TONED_VOWELS.values() if not letter.isascii() and letter not in VNI_TABLE
    }
    for letter, sequence in VNI_TABLE.items():
        decode[sequence] = letter
        if len(sequence) == 2 and letter.isupper():
            # Title-casing damaged text ("aùnh".title() is "Aùnh") leaves a capital base letter before a
            # lower-case mark byte. The opposite mix is not read: a lower-case letter before a capital
            # Latin-1 letter is what TCVN3 looks like ("TuyÕt" is "Tuyết"), not VNI.
            decode[sequence[0] + sequence[1].lower()] = letter
    return decode


_VNI_DECODE = _vni_decode_table()
# Every mark sequence, longest first, then any other non-ASCII character, which must not be a letter: a
# letter VNI does not write ("Ð", "ß") says the text is not VNI.
_VNI_PATTERN = re.compile(
    "|".join(re.escape(key) for key in sorted(_VNI_DECODE, key=len, reverse=True)) + "|[^\x00-\x7f]"
)


def _vni_decode(text: str) -> str | None:
    parts = []
    position = 0
    for match in _VNI_PATTERN.finditer(text):
        found = match.group(0)
        letter = _VNI_DECODE.get(found)
        if letter is None:
            if found.isalpha():
                return None
            letter = found
        parts.append(text[position : match.start()])
        parts.append(letter)
        position = match.end()
    parts.append(text[position:])
    return "".join(parts)


# UTF-8 and Windows-1258 read as Windows-1252 ---------------------------------------------------------------


def _utf8_decode(text: str) -> str | None:
    # Text read wrongly twice ("NguyÃ¡Â»Â…n") needs the repair twice; three rounds is already far beyond
    # what the sources show.
    current = text
    for _ in range(3):
        data = _to_bytes(current)
        if data is None or data.isascii():
            break
        try:
            current = data.decode("utf-8")
        except UnicodeDecodeError:
            break
    return None if current == text else current


def _cp1258_decode(text: str) -> str | None:
    data = _to_bytes(text)
    if data is None:
        return None
    try:
        decoded = unicodedata.normalize("NFC", data.decode("cp1258"))
    except UnicodeDecodeError:
        return None
    return None if decoded == text else decoded


# Windows-1258's combining tone marks; a text that has them and no combining circumflex, breve or horn was
# typed in Windows-1258 (which has those vowels precomposed), not decomposed by Unicode normalization.
_COMBINING_TONES = re.compile("[\u0300\u0301\u0303\u0309\u0323]")
_COMBINING_VOWEL_MARKS = re.compile("[\u0302\u0306\u031b]")


# Judging a candidate -------------------------------------------------------------------------------------

# Words are separated by white space and ASCII punctuation only: the damaged forms use Latin-1 symbols
# (¨ µ ¸ ×, the soft hyphen) inside words, and they must stay in the word to be judged with it.
_TOKEN = re.compile(r"[^\s!-/:-@\[-`{-~]+")


def _verdicts(text: str) -> list[bool]:
    """For each word that can be wrong, whether it is a Vietnamese syllable.

    ASCII words are left out: every repair leaves them unchanged, so they can neither speak for nor
    against one. A single letter ("Đ." for đường) is left out too: abbreviations are not syllables.
    """
    return [
        word.isalpha() and is_syllable(word)
        for word in _TOKEN.findall(text)
        if len(word) > 1 and not word.isascii()
    ]


def _is_clean_repair(candidate: str) -> bool:
    """True when every word that can be wrong in `candidate` is a Vietnamese syllable.

    A repair that leaves an unreadable word behind is a guess, and a guess in a legal name is worse than
    the damaged text, which an officer can at least see is damaged.
    """
    return all(_verdicts(candidate))


# The single-byte decodings, tried in this order when the text is not Vietnamese as it stands. VNI and
# TCVN3 read most bytes differently, so at most one of them turns the damaged words into syllables;
# Windows-1258 read as Windows-1252 shares a few bytes with VNI ("õ" is VNI's ngã and Windows-1258's ơ, so
# "Vuõ" is "Vũ" or "Vuơ") and comes last, being by far the rarer of the three in legacy files.
_SINGLE_BYTE_DECODERS: tuple[tuple[str, Callable[[str], str | None]], ...] = (
    (VNI, _vni_decode),
    (TCVN3, _tcvn3_decode),
    (CP1258_AS_CP1252, _cp1258_decode),
)


def _bad_words(text: str) -> int:
    return sum(not valid for valid in _verdicts(text))


def repair(text: str) -> Repair:
    """Detect Vietnamese text damaged by a legacy encoding and repair it.

    Returns the repaired text and one of "tcvn3", "vni", "utf8-as-cp1252", "cp1258-as-cp1252" and
    "cp1258-decomposed", or the text unchanged and None when it is not damaged (correct Vietnamese in any
    case, plain ASCII, other languages) or cannot be repaired with confidence. Text whose every word is
    a Vietnamese syllable is never changed by a single-byte decoding, even when it is one: "Hoà" is also
    what VNI makes of "Hồ", and only the other words of a name can tell.

    Unicode text merely decomposed (NFD, with combining circumflex, breve or horn) is not an encoding
    problem: it is returned unchanged, for Unicode normalization to compose.
    """
    if text.isascii():
        return Repair(text, None)
    if _OUTSIDE_REPERTOIRE.search(text):
        if _COMBINING_TONES.search(text) and not _COMBINING_VOWEL_MARKS.search(text):
            composed = unicodedata.normalize("NFC", text)
            if composed != text:
                return Repair(composed, CP1258_DECOMPOSED)
        return Repair(text, None)
    # UTF-8 comes first and needs no syllable to be wrong: its multi-byte sequences start with a byte of
    # 0xC0 or more followed by bytes 0x80-0xBF, and in correct Vietnamese every Latin-1 letter (all 0xC0 or
    # more) is followed by an ASCII character or another letter, never by such a byte. A successful
    # decoding is evidence enough, provided it leaves no more unreadable words than there were; this also
    # catches "Hà" read as "HÃ" and a no-break space, whose first word looks like the syllable "hã".
    decoded = _utf8_decode(text)
    if decoded is not None and _bad_words(decoded) <= _bad_words(text):
        return Repair(decoded, UTF8_AS_CP1252)
    if all(_verdicts(text)):
        return Repair(text, None)
    for encoding, decode in _SINGLE_BYTE_DECODERS:
        decoded = decode(text)
        if decoded is not None and decoded != text and _is_clean_repair(decoded):
            return Repair(decoded, encoding)
    return Repair(text, None)


def decode_as(text: str, encoding: str) -> str | None:
    """`text` (read as Windows-1252) decoded in `encoding`, one of "tcvn3", "vni" and "cp1258-as-cp1252",
    when that gives Vietnamese: every word that can be wrong a syllable. None when it does not.

    For text whose encoding is known from elsewhere (the other cells of a line of a file saved in it),
    where `repair` must leave alone what reads as Vietnamese both ways ("Thò" is what VNI makes of "Thị").
    """
    if text.isascii():
        return text
    if encoding == CP1258_AS_CP1252:
        data = _to_bytes(text)
        if data is None:
            return None
        try:
            decoded: str | None = unicodedata.normalize("NFC", data.decode("cp1258"))
        except UnicodeDecodeError:
            return None
    else:
        decoded = dict(_SINGLE_BYTE_DECODERS)[encoding](text)
    return decoded if decoded is not None and _is_clean_repair(decoded) else None


# Making damaged text (for tests and for the generator of dirty data) -------------------------------------


def encode_legacy(text: str, encoding: str) -> bytes:
    """The bytes legacy software would have written for `text` (NFC Vietnamese) in `encoding`.

    "tcvn3" writes ABC (VN3): a capital with a tone goes to the lower-case position, as in the H fonts.
    "vni" writes VNI Windows, "cp1258-decomposed" Windows-1258 with combining tone marks, "utf8-as-cp1252"
    plain UTF-8. Characters the encoding cannot hold raise UnicodeEncodeError.
    """
    if encoding == TCVN3:
        out = bytearray()
        for position, char in enumerate(text):
            byte = _TCVN3_ENCODE.get(char)
            if byte is None and char in VOWEL_TONES:
                byte = _TCVN3_ENCODE.get(char.lower())
            if byte is not None:
                out.append(byte)
            elif char.isascii():
                out.append(ord(char))
            else:
                raise UnicodeEncodeError(TCVN3, text, position, position + 1, "not in TCVN3 (ABC)")
        return bytes(out)
    if encoding == VNI:
        return "".join(VNI_TABLE.get(char, char) for char in text).encode("cp1252")
    if encoding in (CP1258_DECOMPOSED, CP1258_AS_CP1252):
        return _cp1258_decompose(text).encode("cp1258")
    if encoding == UTF8_AS_CP1252:
        return text.encode("utf-8")
    raise ValueError(f"unknown legacy encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")


def _cp1258_decompose(text: str) -> str:
    """Windows-1258 as its keyboards type it: the vowels â ê ô ơ ư ă (and đ) precomposed, every tone a
    combining mark after its vowel."""
    out = []
    for char in text:
        base, tone = VOWEL_TONES.get(char, (char, 0))
        out.append(base + TONE_MARKS[tone] if tone else char)
    return "".join(out)


def mojibake(text: str, encoding: str) -> str:
    """`text` as it arrives after a legacy encoding's bytes were read as Windows-1252.

    For "cp1258-decomposed" the bytes are read correctly as Windows-1258, which leaves the tones as
    combining marks; for every other encoding they are read as Windows-1252, with the bytes it leaves
    undefined read as Latin-1 (see `decode_bytes`).
    """
    data = encode_legacy(text, encoding)
    if encoding == CP1258_DECOMPOSED:
        return data.decode("cp1258")
    return _from_bytes(data)
