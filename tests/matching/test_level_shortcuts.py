"""The comparison levels that test a cheap condition before an expensive one (an edit distance, a count of
words in common) put every pair in the level that the expensive condition alone would: the shortcut only
spares work. Each is checked in DuckDB, against the plain condition, on every pair one edit apart and on
many that are not."""

from __future__ import annotations

import random
from typing import Any

import duckdb
import pandas as pd
import pytest

from dancu.matching.engine import _comparisons, _number_ends
from dancu.matching.prepare import address_words


def _condition(comparison: str, label: str) -> str:
    for candidate in _comparisons(term_frequencies=False):
        built = candidate.get_comparison("duckdb")
        if built.output_column_name != comparison:
            continue
        for level in built.comparison_levels:
            if level.label_for_charts == label:
                return str(level.sql_condition)
    raise AssertionError(f"no level {label!r} in {comparison!r}")


def _agreement(table: pd.DataFrame, condition: str, plain: str) -> list[tuple[Any, ...]]:
    """The rows where the level's condition and the plain one disagree (NULL counts as false, as in a
    CASE WHEN)."""
    connection = duckdb.connect()
    connection.register("pairs", table)
    return connection.execute(
        f"SELECT * FROM pairs WHERE coalesce(({condition}), false) <> coalesce(({plain}), false)"  # noqa: S608
    ).fetchall()


def _count(table: pd.DataFrame, condition: str) -> int:
    connection = duckdb.connect()
    connection.register("pairs", table)
    found = connection.execute(f"SELECT count(*) FROM pairs WHERE {condition}").fetchone()  # noqa: S608
    assert found is not None
    return int(found[0])


def _one_edit_away(number: str) -> set[str]:
    digits = "0123456789"
    changed = {number[:i] + d + number[i + 1 :] for i in range(len(number)) for d in digits}
    added = {number[:i] + d + number[i:] for i in range(len(number) + 1) for d in digits}
    dropped = {number[:i] + number[i + 1 :] for i in range(len(number))}
    return (changed | added | dropped) - {number}


def _number_pairs(column: str) -> pd.DataFrame:
    chooser = random.Random(7)
    left: list[str | None] = []
    right: list[str | None] = []
    for length in range(1, 14):
        number = "".join(chooser.choice("0123456789") for _ in range(length))
        near = sorted(_one_edit_away(number))
        # Every number one edit away, a sample of those two edits away, and strangers of every length.
        far = [
            chooser.choice(sorted(_one_edit_away(other)))
            for other in chooser.sample(near, min(40, len(near)))
        ]
        strangers = ["".join(chooser.choice("0123456789") for _ in range(n)) for n in range(1, 14)]
        for other in [*near, *far, *strangers, None, ""]:
            left.append(number)
            right.append(other or None)
    frame = pd.DataFrame({f"{column}_l": left, f"{column}_r": right}, dtype=object)
    for side in ("l", "r"):
        head, tail = _number_ends(frame[f"{column}_{side}"])
        frame[f"{column}_head_{side}"] = head
        frame[f"{column}_tail_{side}"] = tail
    return frame


@pytest.mark.parametrize("column", ["pin", "cmnd"])
def test_a_number_one_edit_away_is_found_whatever_its_length(column: str) -> None:
    frame = _number_pairs(column)
    condition = _condition(column, "one digit different")
    plain = f"levenshtein({column}_l, {column}_r) <= 1"
    assert _agreement(frame, condition, plain) == []
    # The table holds what it claims: many pairs one edit apart, which the ends did not keep out.
    assert _count(frame, condition) > 1_000


def test_a_date_one_digit_away_is_found() -> None:
    chooser = random.Random(11)
    rows = []
    for _ in range(3_000):
        year, month, day = chooser.randint(1900, 2025), chooser.randint(1, 12), chooser.randint(1, 28)
        text = f"{year:04d}-{month:02d}-{day:02d}"
        # One digit changed (impossible dates included: a typed date need not be a real one), or another
        # date altogether.
        position = chooser.choice([0, 1, 2, 3, 5, 6, 8, 9])
        typed = text[:position] + chooser.choice("0123456789") + text[position + 1 :]
        if chooser.random() < 0.3:
            typed = (
                f"{chooser.randint(1900, 2025):04d}-{chooser.randint(1, 12):02d}-{chooser.randint(1, 28):02d}"
            )
        other = (int(typed[:4]), int(typed[5:7]), int(typed[8:]))
        rows.append((text, typed, year, other[0], month, other[1], day, other[2]))
    frame = pd.DataFrame(
        rows, columns=["dob_l", "dob_r", "dob_y_l", "dob_y_r", "dob_m_l", "dob_m_r", "dob_d_l", "dob_d_r"]
    )
    condition = _condition("birth_date", "one digit different")
    assert _agreement(frame, condition, "levenshtein(dob_l, dob_r) <= 1") == []
    assert int((frame["dob_l"] != frame["dob_r"]).sum()) > 1_000


def test_words_in_common_are_counted_as_the_intersection_counts_them() -> None:
    chooser = random.Random(5)
    vocabulary = ["so", "12", "hang", "bac", "pho", "thon", "2", "ngo", "45", "wells", "road", "rosehill"]
    rows = []
    for _ in range(3_000):
        left = address_words(" ".join(chooser.choices(vocabulary, k=chooser.randint(0, 8))))
        right = address_words(" ".join(chooser.choices(vocabulary, k=chooser.randint(0, 8))))
        communes = chooser.choice([(None, None), ("00070", None), (None, "00073"), ("00070", "00073")])
        rows.append((left, right, *communes))
    frame = pd.DataFrame(rows, columns=["address_words_l", "address_words_r", "commune_l", "commune_r"])
    condition = _condition("address", "three or more words of the detail in common")
    plain = (
        "(commune_l IS NULL OR commune_r IS NULL) "
        "AND array_length(list_intersect(address_words_l, address_words_r)) >= 3"
    )
    assert _agreement(frame, condition, plain) == []
    assert _count(frame, condition) > 100
