"""Template filters for figures in the reader's language.

{{ n|vn_int }} gives 1.234.567 and {{ p|vn_pct }} gives 109,3% in Vietnamese.
"""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from dancu.lib.numbers import format_int, format_percent

register = template.Library()


@register.filter
def vn_int(value: int | float | None) -> str:
    return format_int(value, get_language() or "vi")


@register.filter
def vn_pct(value: float | None) -> str:
    return format_percent(value, get_language() or "vi")


@register.filter
def bar_width(value: float | None) -> str:
    """A progress bar's width: the percentage, capped at 100 (a target exceeded fills the bar)."""
    return f"{min(100.0, max(0.0, value or 0.0)):.1f}"


@register.filter
def absolute(value: int) -> int:
    return abs(value)
