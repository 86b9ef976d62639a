"""Numbers as Vietnamese readers write them: 1.234.567 and 109,3% (English: 1,234,567 and 109.3%).

Django's own localization would do this only with USE_THOUSAND_SEPARATOR switched on for every number
on every page (years and codes included), so figures are formatted explicitly where they are shown, and
a whole number typed back the way a page shows it is read by `parse_int`.
"""

from __future__ import annotations

import re

# Spaces a reader may group digits with, whatever the language: the plain space, the no-break space and
# the narrow no-break space that spreadsheets and some keyboards put there.
_SPACES = " \u00a0\u202f"


class NumberError(ValueError):
    """A text that is not a whole number as the page's readers write one; carries the rule code and a
    message in both languages, like every refusal in dancu."""

    def __init__(self, code: str, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_vi = message_vi
        self.message_en = message_en

    def message(self, language: str = "vi") -> str:
        return self.message_en if language.startswith("en") else self.message_vi


def _separators(language: str) -> tuple[str, str]:
    return (",", ".") if language.startswith("en") else (".", ",")


def format_int(value: int | float | None, language: str = "vi") -> str:
    if value is None:
        return "—"
    thousands, _decimal = _separators(language)
    return f"{round(value):,}".replace(",", thousands)


def format_decimal(value: float | None, language: str = "vi", *, places: int = 1) -> str:
    if value is None:
        return "—"
    thousands, decimal = _separators(language)
    whole, _dot, fraction = f"{value:,.{places}f}".partition(".")
    whole = whole.replace(",", thousands)
    return f"{whole}{decimal}{fraction}" if fraction else whole


def format_percent(value: float | None, language: str = "vi", *, places: int = 1) -> str:
    """A percentage (already times 100), with one decimal: 109,3%."""
    if value is None:
        return "—"
    return f"{format_decimal(value, language, places=places)}%"


def parse_int(text: str, language: str = "vi") -> int:
    """A whole number written as `format_int` writes it in `language`, or without grouping: 1.000, 1 000
    and 1000 in Vietnamese; 1,000, 1 000 and 1000 in English.

    ASCII digits only: Python's int() also reads Arabic-Indic or full-width digits, which would store
    something other than what the reader saw. The language's decimal mark ("," in Vietnamese, "." in
    English) is refused rather than guessed at: "1,000" is one in Vietnamese and a thousand in English,
    and a target a thousand times too small is worse than a question.
    """
    thousands, decimal = _separators(language)
    stripped = text.strip()
    if any(c.isdigit() and not "0" <= c <= "9" for c in stripped):
        raise NumberError("number.ascii_digits", "Chỉ dùng các chữ số 0-9", "Use only the digits 0-9")
    example = format_int(1000000, language)
    if decimal in stripped:
        raise NumberError(
            "number.not_whole",
            f"Cần số nguyên; dấu «{decimal}» là dấu thập phân, viết một triệu là {example} hoặc 1000000",
            f"A whole number is needed; «{decimal}» is the decimal point: write a million as {example}"
            " or 1000000",
        )
    separator = f"[{re.escape(thousands)}{_SPACES}]"
    if not re.fullmatch(rf"-?(?:[0-9]+|[0-9]{{1,3}}(?:({separator})[0-9]{{3}})(?:\1[0-9]{{3}})*)", stripped):
        raise NumberError(
            "number.format",
            f"Cần số nguyên, các chữ số nhóm ba như {example} hoặc viết liền 1000000",
            f"A whole number is needed, its digits in groups of three as in {example} or written as 1000000",
        )
    return int(re.sub(separator, "", stripped))
