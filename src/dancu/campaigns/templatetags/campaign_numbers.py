"""Template filters for figures in the reader's language.

{{ n|vn_int }} gives 1.234.567 and {{ p|vn_pct }} gives 109,3% in Vietnamese.
"""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from dancu.campaigns.figures import MetricFigures
from dancu.lib.numbers import format_decimal, format_int, format_percent

register = template.Library()


@register.filter
def vn_int(value: int | float | None) -> str:
    return format_int(value, get_language() or "vi")


@register.filter
def vn_dec(value: float | None) -> str:
    """One decimal (0,4 in Vietnamese): a daily pace below one is not nothing."""
    return format_decimal(value, get_language() or "vi")


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


@register.simple_tag
def ranking_rows(metric: MetricFigures, campaign_pk: int, query: str) -> SafeString:
    """The rows of a ranking table, written in one pass.

    A province's ranking has a row per commune and metric (126 communes × 4 metrics in Hà Nội); rendered
    cell by cell through template tags it took most of the page's time, so the rows are formatted here.
    """
    language = get_language() or "vi"
    url = reverse("campaigns:dashboard", args=[campaign_pk, "UNIT"]).replace("UNIT", "{}") + (
        f"?{query}" if query else ""
    )
    badges = {
        "met": format_html('<span class="badge ok">{}</span>', _("đạt")),
        "none": format_html('<span class="badge">{}</span>', _("chưa giao")),
        "": "",
    }
    return format_html_join(
        "\n",
        '<tr data-unit="{}"><td data-value="{}">{}</td><td data-value="{}"><a href="{}">{}</a></td>'
        '<td data-value="{}" class="num">{}</td><td data-value="{}" class="num">{}</td>'
        '<td data-value="{}" class="num">{}</td><td>{}</td></tr>',
        (
            (
                row.unit.code,
                row.rank,
                row.rank,
                row.unit.name,
                url.format(row.unit.code),
                row.unit.name,
                row.achieved,
                format_int(row.achieved, language),
                -1 if row.target is None else row.target,
                format_int(row.target, language),
                -1 if row.pct is None else f"{row.pct:.4f}",
                format_percent(row.pct, language),
                _behind_badge(row.shortfall, language)
                if row.behind
                else badges["met" if row.met else "none" if row.target is None else ""],
            )
            for row in metric.rows
        ),
    )


def _behind_badge(shortfall: int, language: str) -> SafeString:
    # By how much, not only "behind": the commander sorts the ranking to see whom to call first.
    text = _("chậm, thiếu %(n)s") % {"n": format_int(shortfall, language)}
    return format_html('<span class="badge late">{}</span>', text)
