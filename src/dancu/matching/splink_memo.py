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

The same goes for the names of columns. Splink reads a column's name (`InputColumn`) by parsing it with
sqlglot, and writes its SQL (`name_l`, `l_name_as_l`, ...) by building a sqlglot tree and printing it, each
time it is asked; it asks for every column of the table whenever it lists a table's columns, a dozen times
a run, and our table has fifty columns: 1,700 parses and 3,800 printings in a 5,000-record run, about a
tenth of its matching. Both are functions of a frozen description of the column
(`SqlglotColumnTreeBuilder`, a frozen dataclass), so the description of each name and the SQL of each
description are remembered too.

Every level's condition is also parsed each time a model is built (`ComparisonLevel._validate_sql`, which
only checks that sqlglot can read it): a run builds six models of the same fifty levels, its own and those
of the parts of its training that run side by side. A condition that was read once is not read again.

The training's parts run in threads (`engine._estimate_u`, `engine._expectation_maximisation`), and three
sessions that start together ask about the same levels at once: an answer is therefore worked out under a
lock, by the first to ask, and the others wait for it instead of each parsing it again.

`install` replaces the properties and the constructor of Splink's classes; it is called before each run and
does its work once. The conditions are those of the model's levels, a fixed few dozen, and the columns
those of the prepared table (with their `_l`, `_r`, table and alias variants), so the memos stay small.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

# Held while the memo is installed and while an answer is worked out; re-entrant, as Splink's reading of a
# condition reads its column names.
_lock = threading.RLock()
_exact: dict[tuple[str, str, bool], bool] = {}
_colnames: dict[tuple[str, str], tuple[str, ...]] = {}
_columns: dict[tuple[type, str, str], Any] = {}
_column_sql: dict[Any, str] = {}
_valid: dict[tuple[str, str], bool] = {}
# Splink's own properties and constructor, kept for the memo's misses (and for the tests to compare against).
originals: dict[str, Any] = {}

K = TypeVar("K")
V = TypeVar("V")


def _remembered(memo: dict[K, V], key: K, work_out: Callable[[], V]) -> V:
    """`memo[key]`, worked out by `work_out` the first time it is asked for, by one thread only. An answer
    that raises is not remembered, and raises again for the next to ask."""
    found = memo.get(key)
    if found is None:
        with _lock:
            found = memo.get(key)
            if found is None:
                found = memo[key] = work_out()
    return found


def install() -> None:
    """Make Splink remember its answers for each condition and each column name (idempotent)."""
    with _lock:
        if originals:  # installed already
            return
        from splink.internals.comparison_level import ComparisonLevel

        # The property objects themselves, as the class holds them (not what reading them on the class gives).
        original_exact: property = vars(ComparisonLevel)["_is_exact_match"]
        original_colnames: property = vars(ComparisonLevel)["_exact_match_colnames"]
        original_validate = vars(ComparisonLevel)["_validate_sql"]

        def is_exact_match(level: Any) -> bool:
            key = (level.sql_condition, str(level.sqlglot_dialect), bool(level._is_else_level))
            return _remembered(_exact, key, lambda: bool(original_exact.__get__(level)))

        def exact_match_colnames(level: Any) -> list[str]:
            key = (level.sql_condition, str(level.sqlglot_dialect))
            # A condition that is no exact match raises here, as Splink's own does, and is not remembered:
            # Splink asks only of the levels that are.
            found: tuple[str, ...] = _remembered(
                _colnames, key, lambda: tuple(original_colnames.__get__(level))
            )
            return list(found)

        def validate_sql(level: Any) -> bool:
            key = (level.sql_condition, str(level.sqlglot_dialect))
            # A condition sqlglot cannot read raises here, as Splink's own check does, and is not remembered.
            return _remembered(_valid, key, lambda: bool(original_validate(level)))

        setattr(ComparisonLevel, "_is_exact_match", property(is_exact_match))  # noqa: B010
        setattr(ComparisonLevel, "_exact_match_colnames", property(exact_match_colnames))  # noqa: B010
        setattr(ComparisonLevel, "_validate_sql", validate_sql)  # noqa: B010
        originals.update(
            _is_exact_match=original_exact,
            _exact_match_colnames=original_colnames,
            _validate_sql=original_validate,
        )
        _install_columns()


def _install_columns() -> None:
    from splink.internals.input_column import SqlglotColumnTreeBuilder as Builder

    # The descriptions are frozen dataclasses: one description serves every column of that name, and
    # its SQL never changes (Splink derives the variants with `dataclasses.replace`, a new description).
    original_parse = vars(Builder)["from_raw_column_name_or_column_reference"].__func__
    original_sql: property = vars(Builder)["sql"]

    def from_raw_column_name_or_column_reference(cls: type, input_str: str, sqlglot_dialect: str) -> Any:
        # A name sqlglot cannot read raises here, as Splink's own does, and is not remembered.
        return _remembered(
            _columns,
            (cls, input_str, sqlglot_dialect),
            lambda: original_parse(cls, input_str, sqlglot_dialect),
        )

    def sql(builder: Any) -> str:
        return _remembered(_column_sql, builder, lambda: original_sql.__get__(builder))

    setattr(  # noqa: B010
        Builder,
        "from_raw_column_name_or_column_reference",
        classmethod(from_raw_column_name_or_column_reference),
    )
    setattr(Builder, "sql", property(sql))  # noqa: B010
    originals.update(column_parse=original_parse, column_sql=original_sql)
