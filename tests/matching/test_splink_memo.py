"""The remembered reading of a comparison level's SQL (`matching.splink_memo`) is Splink's own, level for
level, and is worked out once: a session that asks again parses nothing."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest
import splink.comparison_library as cl
import sqlglot
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.internals.comparison_level import ComparisonLevel
from splink.internals.input_column import InputColumn, SqlglotColumnTreeBuilder

from dancu.matching import splink_memo
from dancu.matching.engine import BLOCKING_RULES, PREPARED_COLUMNS, _settings


def _levels(settings: Any, columns: list[str]) -> list[ComparisonLevel]:
    frame = pd.DataFrame({column: pd.Series([None, None], dtype=object) for column in columns})
    frame["unique_id"] = ["a", "b"]
    linker = Linker(DuckDBAPI().register(frame), settings, log_level=None, validate_settings=False)
    return [
        level for comparison in linker._settings_obj.comparisons for level in comparison.comparison_levels
    ]


def _ours(*, trained: bool) -> list[ComparisonLevel]:
    columns = [*PREPARED_COLUMNS, *(rule.key_column for rule in BLOCKING_RULES)]
    return _levels(_settings(BLOCKING_RULES, trained=trained), columns)


def _library() -> list[ComparisonLevel]:
    """Levels of Splink's own comparison library, of other shapes than ours."""
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("dob", [1, 2]),
            cl.JaroWinklerAtThresholds("street", [0.9, 0.7]),
        ],
        blocking_rules_to_generate_predictions=[block_on("city")],
    )
    return _levels(settings, ["unique_id", "first_name", "city", "dob", "street"])


def _splinks_answers(level: ComparisonLevel) -> tuple[bool, list[str] | None]:
    exact = splink_memo.originals["_is_exact_match"].__get__(level)
    colnames = splink_memo.originals["_exact_match_colnames"].__get__(level) if exact else None
    return bool(exact), colnames


@pytest.mark.parametrize("levels", [lambda: _ours(trained=True), lambda: _ours(trained=False), _library])
def test_every_level_is_read_as_splink_reads_it(levels: Any) -> None:
    splink_memo.install()
    found = levels()
    assert sum(level._is_exact_match for level in found) >= 2  # the comparison below is not empty
    for level in found:
        expected = _splinks_answers(level)
        for _asked in range(2):  # worked out, then remembered
            assert level._is_exact_match is expected[0], level.sql_condition
            if expected[1] is not None:
                assert level._exact_match_colnames == expected[1], level.sql_condition


def test_a_condition_that_is_no_exact_match_has_no_columns() -> None:
    splink_memo.install()
    level = next(level for level in _ours(trained=True) if "jaro" in level.sql_condition.lower())
    assert level._is_exact_match is False
    with pytest.raises(ValueError, match="not an exact match"):
        level._exact_match_colnames  # noqa: B018 - the property is the question


def test_a_session_that_asks_again_parses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    splink_memo.install()

    def answers(levels: list[ComparisonLevel]) -> list[tuple[bool, Any]]:
        return [
            (level._is_exact_match, level._is_exact_match and level._exact_match_colnames) for level in levels
        ]

    first = answers(_ours(trained=True))
    # A new model of the same levels, as each run builds: its conditions are asked about again.
    levels = _ours(trained=True)
    parsed: list[str] = []
    parse_one = sqlglot.parse_one

    def counted(sql: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(sql)
        return parse_one(sql, *args, **kwargs)

    monkeypatch.setattr(sqlglot, "parse_one", counted)
    assert answers(levels) == first
    assert parsed == []


def test_installing_twice_keeps_splinks_own_properties_behind_it() -> None:
    splink_memo.install()
    installed = vars(ComparisonLevel)["_is_exact_match"]
    splink_memo.install()
    assert vars(ComparisonLevel)["_is_exact_match"] is installed
    assert splink_memo.originals["_is_exact_match"] is not installed


# Column names of every shape Splink accepts (its `InputColumn` docstring), and a keyword.
ODD_NAMES = [
    "first name",
    "first[name",
    '"first name"',
    "coordinates['lat']",
    "\"sur NAME\"['lat']",
    "lat[1]",
    "group",
]


def _variants(column: InputColumn) -> list[str]:
    return [
        column.name,
        column.name_l,
        column.name_r,
        column.l_name_as_l,
        column.r_name_as_r,
        *column.l_r_names_as_l_r,
        column.tf_name,
        column.l_tf_name_as_l,
        column.unquote().name,
    ]


@pytest.mark.parametrize(
    "name", [*PREPARED_COLUMNS, *(rule.key_column for rule in BLOCKING_RULES), *ODD_NAMES]
)
def test_a_column_name_is_read_and_written_as_splink_does(name: str) -> None:
    splink_memo.install()
    parse, sql = splink_memo.originals["column_parse"], splink_memo.originals["column_sql"]
    for _asked in range(2):  # worked out, then remembered
        column = InputColumn(name, sqlglot_dialect_str="duckdb")
        assert column.col_builder == parse(SqlglotColumnTreeBuilder, column.input_name, "duckdb")
        builders = [
            column.col_builder,
            replace(column.col_builder, column_name=f"{column.col_builder.column_name}_l"),
            replace(column.col_builder, table="l", alias="x_l"),
            replace(column.col_builder, quoted=False),
        ]
        assert [builder.sql for builder in builders] == [sql.__get__(builder) for builder in builders]
        assert all(isinstance(text, str) and text for text in _variants(column))


def test_a_column_name_sqlglot_cannot_read_is_refused_every_time() -> None:
    splink_memo.install()
    for _asked in range(2):
        with pytest.raises(ValueError, match="Could not parse input column"):
            InputColumn('"a" + "b"', sqlglot_dialect_str="duckdb")


def test_a_table_listed_again_parses_no_column_name(monkeypatch: pytest.MonkeyPatch) -> None:
    splink_memo.install()
    names = [*PREPARED_COLUMNS, *ODD_NAMES]

    def written() -> list[list[str]]:
        return [_variants(InputColumn(name, sqlglot_dialect_str="duckdb")) for name in names]

    first = written()
    parsed: list[str] = []
    parse_one = sqlglot.parse_one

    def counted(sql: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(sql)
        return parse_one(sql, *args, **kwargs)

    monkeypatch.setattr(sqlglot, "parse_one", counted)
    assert written() == first
    assert parsed == []


def _model(column: str) -> dict[str, Any]:
    """A model of one comparison on `column`, as a saved model holds it: its levels' conditions as SQL."""
    return {
        "link_type": "dedupe_only",
        "comparisons": [
            {
                "output_column_name": column,
                "comparison_levels": [
                    {"sql_condition": f"{column}_l IS NULL OR {column}_r IS NULL", "is_null_level": True},
                    {"sql_condition": f"{column}_l = {column}_r"},
                    {"sql_condition": f"jaro_winkler_similarity({column}_l, {column}_r) >= 0.9"},
                    {"sql_condition": "ELSE"},
                ],
            }
        ],
    }


def _linker(model: dict[str, Any]) -> Linker:
    column = model["comparisons"][0]["output_column_name"]
    frame = pd.DataFrame({"unique_id": ["a", "b"], column: pd.Series([None, None], dtype=object)})
    return Linker(DuckDBAPI().register(frame), model, log_level=None, validate_settings=False)


def _counting_parses(monkeypatch: pytest.MonkeyPatch, *, first_waits: float = 0.0) -> list[str]:
    parsed: list[str] = []
    parse_one = sqlglot.parse_one

    def counted(sql: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(sql)
        if len(parsed) == 1:
            time.sleep(first_waits)  # long enough for every other thread to ask meanwhile
        return parse_one(sql, *args, **kwargs)

    monkeypatch.setattr(sqlglot, "parse_one", counted)
    return parsed


def test_a_model_built_again_parses_no_condition(monkeypatch: pytest.MonkeyPatch) -> None:
    splink_memo.install()
    model = _model(f"memo_{uuid.uuid4().hex}")
    _linker(model)
    parsed = _counting_parses(monkeypatch)
    levels = _linker(model)._settings_obj.comparisons[0].comparison_levels
    assert parsed == []
    assert [level.sql_condition for level in levels][1:3] == [
        level["sql_condition"] for level in model["comparisons"][0]["comparison_levels"][1:3]
    ]


def test_a_condition_sqlglot_cannot_read_is_refused_every_time() -> None:
    splink_memo.install()
    model = _model("broken")
    model["comparisons"][0]["comparison_levels"][2]["sql_condition"] = "broken_l = = broken_r ("
    for _asked in range(2):
        with pytest.raises(ValueError, match="Error parsing sql_statement"):
            _linker(model)


def test_sessions_that_ask_at_once_work_each_answer_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The training's sessions start together in threads and ask about the same levels at once."""
    splink_memo.install()

    def ask(levels: list[ComparisonLevel]) -> list[tuple[bool, Any]]:
        return [
            (level._is_exact_match, level._is_exact_match and level._exact_match_colnames) for level in levels
        ]

    def levels_of(column: str) -> list[ComparisonLevel]:
        return list(_linker(_model(column))._settings_obj.comparisons[0].comparison_levels)

    alone, together = f"memo_{uuid.uuid4().hex}", f"memo_{uuid.uuid4().hex}"
    alone_levels, together_levels = levels_of(alone), levels_of(together)
    parsed = _counting_parses(monkeypatch, first_waits=0.2)
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _session: ask(together_levels), range(3)))
    answer_alone = ask(alone_levels)

    def parses_of(column: str) -> int:
        return sum(column in sql for sql in parsed)

    assert parses_of(alone) >= 2  # the levels' conditions are parsed when first asked about
    assert parses_of(together) == parses_of(alone)
    assert answer_alone == [(False, False), (True, [alone]), (False, False), (False, False)]
    assert answers == [[(False, False), (True, [together]), (False, False), (False, False)]] * 3
