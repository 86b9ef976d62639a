"""The trend of a unit's scorecard as an inline SVG line chart: no script, no library, readable on a phone.

The chart is drawn on a fixed 0-100 % scale so that two units' charts compare at a glance; each day with
a snapshot is one point, days without a pass are simply skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dancu.collection.quality.checks import Indicator

WIDTH, HEIGHT = 600, 200
# Room on the left for the percentage labels and at the bottom for the dates.
LEFT, BOTTOM, TOP, RIGHT = 36, 22, 8, 8
GRID_PERCENTS = (0, 25, 50, 75, 100)


@dataclass(frozen=True)
class Line:
    key: str
    points: str


def _x(index: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span * index / (count - 1) if count > 1 else span / 2)


def _y(percent: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - percent / 100)


def trend_chart(trend: list[Any]) -> dict[str, Any] | None:
    """What the template needs to draw the trend: the lines (all four indicators passed, then each
    indicator), the grid and the first and last day; None when there is nothing to draw."""
    if not trend:
        return None
    count = len(trend)

    def line(key: str, value: Any) -> Line:
        points = " ".join(
            f"{_x(i, count):.1f},{_y(value(point) if point.records else 0):.1f}"
            for i, point in enumerate(trend)
        )
        return Line(key, points)

    lines = [line("passed_all", lambda p: 100 * p.passed_all / p.records)]
    lines += [line(str(i), lambda p, i=i: 100 * p.counts[str(i)] / p.records) for i in Indicator]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "date_y": HEIGHT - 6,
        "lines": lines,
        "grid": [(percent, f"{_y(percent):.1f}") for percent in GRID_PERCENTS],
        "first": trend[0].day,
        "last": trend[-1].day,
        "last_x": WIDTH - RIGHT,
    }
