"""Every figure of the small country (see conftest), worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from dancu.campaigns.figures import Figures, MetricFigures, figures_compute
from tests.campaigns.conftest import DAY3, END, START, Country

pytestmark = pytest.mark.django_db


def _cards(figures: Figures) -> MetricFigures:
    return figures.metrics[0]


def _row(metric: MetricFigures, code: str):  # type: ignore[no-untyped-def]
    return next(row for row in metric.rows if row.unit.code == code)


def test_the_country_counts_every_commune_and_the_legacy_one_within_the_period(country: Country) -> None:
    cards = _cards(figures_compute(campaign=country.campaign, unit=None, as_of=DAY3))

    # 4 Hoàn Kiếm + 2 Hồng Hà + 2 Dương Liễu (legacy) + 5 Sài Gòn; not the 30-6 one, not the unit-less one.
    assert cards.achieved == 13
    assert cards.target == 20
    assert cards.pct == pytest.approx(65.0)
    assert cards.expected == 6  # 20 * 3/10 days
    assert not cards.met
    assert not cards.behind
    assert [(d.day.day, d.count, d.cumulative, d.expected) for d in cards.days] == [
        (1, 4, 4, 2),
        (2, 4, 8, 4),
        (3, 5, 13, 6),
    ]
    # 13 in 3 days: 4.33 a day, 7 to go: two more days.
    assert cards.pace == pytest.approx(13 / 3)
    assert cards.forecast == date(2025, 7, 5)
    assert cards.days_ahead == 5  # the campaign ends on 10-7
    assert cards.allocated == 30  # Hà Nội 10 + TP HCM 2/day * 10 days


def test_the_country_ranks_its_provinces_and_counts_those_that_met_the_target(country: Country) -> None:
    cards = _cards(figures_compute(campaign=country.campaign, unit=None, as_of=DAY3))

    assert len(cards.rows) == 34
    hanoi, hcm = _row(cards, "01"), _row(cards, "79")
    assert (hanoi.achieved, hanoi.target, hanoi.rank) == (8, 10, 1)
    assert hanoi.pct == pytest.approx(80.0)
    assert (hcm.achieved, hcm.target, hcm.expected, hcm.rank) == (5, 20, 6, 2)
    assert hcm.behind  # 5 done where 2 a day asked for 6 by day 3
    assert not hanoi.behind
    assert [row.unit.code for row in cards.units_behind] == ["79"]
    # Provinces without a target or eligible population come after those with one.
    assert [row.unit.code for row in cards.rows[:2]] == ["01", "79"]
    assert cards.units_met == 0
    assert len(cards.units_with_target) == 2


def test_a_province_ranks_its_communes_and_a_merged_commune_brings_its_history(country: Country) -> None:
    cards = _cards(figures_compute(campaign=country.campaign, unit=country.hanoi, as_of=DAY3))

    assert (cards.achieved, cards.target) == (8, 10)
    assert cards.allocated == 7  # Hoàn Kiếm 4 + Hồng Hà 3, after the revision
    duong_lieu = _row(cards, country.duong_lieu.code)
    hoan_kiem = _row(cards, country.hoan_kiem.code)
    hong_ha = _row(cards, country.hong_ha.code)
    # Dương Liễu has no target of its own: its one eligible citizen (Nga) is the target, exceeded twice.
    assert (duong_lieu.achieved, duong_lieu.target, duong_lieu.rank) == (2, 1, 1)
    assert duong_lieu.pct == pytest.approx(200.0)
    assert (hoan_kiem.achieved, hoan_kiem.target, hoan_kiem.rank, hoan_kiem.met) == (4, 4, 2, True)
    assert (hong_ha.achieved, hong_ha.target, hong_ha.rank, hong_ha.met) == (2, 3, 3, False)
    assert hong_ha.pct == pytest.approx(66.666, abs=0.01)
    assert cards.units_met == 2
    assert len(cards.units_with_target) == 3
    assert len(cards.rows) > 100  # every commune of Hà Nội is listed, most with nothing yet


def test_a_commune_drills_down_to_officer_point_team_and_shift(country: Country) -> None:
    cards = _cards(figures_compute(campaign=country.campaign, unit=country.hoan_kiem, as_of=DAY3))

    assert (cards.achieved, cards.target, cards.rows) == (4, 4, [])
    assert cards.met
    assert cards.forecast == START  # reached on the first day
    breakdowns = {key: [(b.label, b.achieved) for b in rows] for key, rows in cards.breakdowns.items()}
    assert breakdowns == {
        "officer": [("Trần Thị Lan", 4)],
        "point": [("Điểm UBND phường", 4)],
        "team": [("Tổ 1", 4)],
        "shift": [("sáng", 3), ("chiều", 1)],
    }


def test_days_are_local_days_in_vietnam(country: Country) -> None:
    # The 00:30 event of 2-7 in Hà Nội is 17:30 on 1-7 in UTC; it belongs to 2-7.
    cards = _cards(figures_compute(campaign=country.campaign, unit=country.hong_ha, as_of=DAY3))
    assert [(d.day.day, d.count) for d in cards.days] == [(1, 0), (2, 2), (3, 0)]


def test_any_day_and_any_range(country: Country) -> None:
    first_day = _cards(figures_compute(campaign=country.campaign, unit=None, as_of=START))
    assert (first_day.achieved, first_day.expected) == (4, 2)

    later = _cards(figures_compute(campaign=country.campaign, unit=None, since=date(2025, 7, 2), as_of=DAY3))
    assert later.achieved == 9
    assert later.target == 4  # the country's 20 pro rata for 2 of 10 days
    assert _row(later, "79").target == 4  # 2 a day for 2 days

    # Before the campaign there is nothing to count; after its end the last day is the end.
    late = figures_compute(campaign=country.campaign, unit=None, as_of=date(2025, 8, 1))
    assert late.as_of == END
    assert len(_cards(late).days) == 10


def test_a_metric_with_no_target_and_no_denominator_has_no_percentage(country: Country) -> None:
    forms = figures_compute(campaign=country.campaign, unit=country.hoan_kiem, as_of=DAY3).metrics[1]
    assert (forms.achieved, forms.target, forms.pct, forms.forecast) == (2, None, None, None)
