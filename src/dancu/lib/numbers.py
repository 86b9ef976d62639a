"""Numbers as Vietnamese readers write them: 1.234.567 and 109,3% (English: 1,234,567 and 109.3%).

Django's own localization would do this only with USE_THOUSAND_SEPARATOR switched on for every number
on every page (years and codes included), so figures are formatted explicitly where they are shown.
"""

from __future__ import annotations


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
