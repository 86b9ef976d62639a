"""Splink's reading of a comparison level's SQL, worked out once per condition instead of once per question.

Every expectation-maximisation session asks each level of the model whether its condition is an exact
match of one column on both sides (`ComparisonLevel._is_exact_match`) and, for those that are, of which
columns (`_exact_match_colnames`), to know which levels its blocking rule has made certain. Splink answers
by parsing the condition with sqlglot and simplifying it, on every question: 68 parses a session for our
model of 52 levels, many of them long conditions. Three sessions spent about a quarter of a second of a
5,000-record run (an eighth of its matching) reading the same conditions three times. The answer depends
on nothing but the condition's text, its dialect and whether the level is the "else" level, so it is
remembered here, process-wide, and Splink's own code gives it the first time
(`tests/matching/test_splink_memo.py` holds the remembered answers to Splink's on every level we use).

`install` replaces the two properties of Splink's class; it is called before each run and does its work
once. The conditions are those of the model's levels, a fixed few dozen, so the memo stays small.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_exact: dict[tuple[str, str, bool], bool] = {}
_colnames: dict[tuple[str, str], tuple[str, ...]] = {}
# Splink's own properties, kept for the memo's misses (and for the tests to compare against).
originals: dict[str, property] = {}


def install() -> None:
    """Make Splink remember its answers for each condition (idempotent)."""
    with _lock:
        if originals:  # installed already
            return
        from splink.internals.comparison_level import ComparisonLevel

        # The property objects themselves, as the class holds them (not what reading them on the class gives).
        original_exact: property = vars(ComparisonLevel)["_is_exact_match"]
        original_colnames: property = vars(ComparisonLevel)["_exact_match_colnames"]

        def is_exact_match(level: Any) -> bool:
            key = (level.sql_condition, str(level.sqlglot_dialect), bool(level._is_else_level))
            found = _exact.get(key)
            if found is None:
                found = _exact[key] = bool(original_exact.__get__(level))
            return found

        def exact_match_colnames(level: Any) -> list[str]:
            key = (level.sql_condition, str(level.sqlglot_dialect))
            found = _colnames.get(key)
            if found is None:
                # A condition that is no exact match raises here, as Splink's own does, and is not
                # remembered: Splink asks only of the levels that are.
                found = _colnames[key] = tuple(original_colnames.__get__(level))
            return list(found)

        setattr(ComparisonLevel, "_is_exact_match", property(is_exact_match))  # noqa: B010
        setattr(ComparisonLevel, "_exact_match_colnames", property(exact_match_colnames))  # noqa: B010
        originals.update(_is_exact_match=original_exact, _exact_match_colnames=original_colnames)
