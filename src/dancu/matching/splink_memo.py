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

`install` replaces the properties and the constructor of Splink's classes; it is called before each run and
does its work once. The conditions are those of the model's levels, a fixed few dozen, and the columns
those of the prepared table (with their `_l`, `_r`, table and alias variants), so the memos stay small.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_exact: dict[tuple[str, str, bool], bool] = {}
_colnames: dict[tuple[str, str], tuple[str, ...]] = {}
_columns: dict[tuple[type, str, str], Any] = {}
_column_sql: dict[Any, str] = {}
# Splink's own properties and constructor, kept for the memo's misses (and for the tests to compare against).
originals: dict[str, Any] = {}


def install() -> None:
    """Make Splink remember its answers for each condition and each column name (idempotent)."""
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
        _install_columns()


def _install_columns() -> None:
    from splink.internals.input_column import SqlglotColumnTreeBuilder as Builder

    # The descriptions are frozen dataclasses: one description serves every column of that name, and
    # its SQL never changes (Splink derives the variants with `dataclasses.replace`, a new description).
    original_parse = vars(Builder)["from_raw_column_name_or_column_reference"].__func__
    original_sql: property = vars(Builder)["sql"]

    def from_raw_column_name_or_column_reference(cls: type, input_str: str, sqlglot_dialect: str) -> Any:
        key = (cls, input_str, sqlglot_dialect)
        found = _columns.get(key)
        if found is None:
            # A name sqlglot cannot read raises here, as Splink's own does, and is not remembered.
            found = _columns[key] = original_parse(cls, input_str, sqlglot_dialect)
        return found

    def sql(builder: Any) -> str:
        found = _column_sql.get(builder)
        if found is None:
            found = _column_sql[builder] = original_sql.__get__(builder)
        return found

    setattr(  # noqa: B010
        Builder,
        "from_raw_column_name_or_column_reference",
        classmethod(from_raw_column_name_or_column_reference),
    )
    setattr(Builder, "sql", property(sql))  # noqa: B010
    originals.update(column_parse=original_parse, column_sql=original_sql)
