"""Splink's expectation-maximisation iterations run without DuckDB's optimizer (`matching.splink_em`) and
estimate what Splink's own iterations estimate; the connection plans with the optimizer again after."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any

import duckdb
import pandas as pd
import pytest
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.internals import em_training_session

from dancu.matching import splink_em

# The optimizer folds the constant and pushes the filter into the scan; without it the filter stays a step
# of its own, as written.
_QUERY = "explain select a from t where a + 0 = 1 + 1"


def _optimized(connection: Any) -> bool:
    plan = connection.execute(_QUERY).fetchall()[0][1]
    return "Filters: a = 2" in plan


def test_unoptimized_turns_the_optimizer_off_inside_and_on_after_even_after_an_error() -> None:
    connection = duckdb.connect()
    connection.execute("create table t as select range as a from range(10)")
    assert _optimized(connection)
    with splink_em.unoptimized(connection):
        assert not _optimized(connection)
    assert _optimized(connection)
    with pytest.raises(ZeroDivisionError), splink_em.unoptimized(connection):
        raise ZeroDivisionError
    assert _optimized(connection)


def _people() -> pd.DataFrame:
    """Three hundred people, each in two records, the second with its fields mistyped now and then."""
    chance = random.Random(7)
    families = ["nguyen", "tran", "le", "pham", "hoang", "vu", "dang", "bui"]
    givens = ["an", "binh", "chi", "dung", "giang", "hoa", "khanh", "lan", "minh", "nam", "phuong", "quang"]
    rows = []
    for person in range(300):
        family, given = chance.choice(families), chance.choice(givens)
        year, town = str(chance.randint(1940, 2010)), f"town {chance.randint(1, 40)}"
        for copy in range(2):
            typo = copy == 1 and chance.random() < 0.3
            rows.append(
                {
                    "unique_id": f"{person}-{copy}",
                    "family": family,
                    "given": given[:-1] if typo else given,
                    "year": year,
                    "town": f"town {chance.randint(1, 40)}" if copy == 1 and chance.random() < 0.2 else town,
                }
            )
    return pd.DataFrame(rows)


def _m_values(frame: pd.DataFrame, connection: Any) -> list[float]:
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.ExactMatch("family"),
            cl.JaroWinklerAtThresholds("given", [0.9]),
            cl.ExactMatch("year"),
            cl.ExactMatch("town"),
        ],
        blocking_rules_to_generate_predictions=[block_on("family")],
    )
    linker = Linker(DuckDBAPI(connection).register(frame), settings, log_level=None, validate_settings=False)
    linker.training.estimate_u_using_random_sampling(max_pairs=50_000, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("family"), estimate_without_term_frequencies=True
    )
    return [
        level.m_probability
        for comparison in linker._settings_obj.comparisons
        for level in comparison._comparison_levels_excluding_null
    ]


def test_iterations_without_the_optimizer_estimate_what_splinks_own_estimate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Installed, a session's iterations run with the optimizer off on its own connection, which plans
    with it again after; the m values are Splink's own but for the order of floating-point sums."""
    splink_em.install()
    assert em_training_session.expectation_maximisation is not splink_em.originals["expectation_maximisation"]
    frame = _people()
    connection = duckdb.connect()
    connection.execute("create table t as select range as a from range(10)")
    switched: list[Any] = []
    real = splink_em.unoptimized

    @contextlib.contextmanager
    def watched(session_connection: Any) -> Iterator[None]:
        with real(session_connection):
            switched.append(session_connection)
            assert not _optimized(session_connection)
            yield

    monkeypatch.setattr(splink_em, "unoptimized", watched)
    installed = _m_values(frame, connection)
    assert switched == [connection]
    assert _optimized(connection)

    monkeypatch.setattr(
        em_training_session, "expectation_maximisation", splink_em.originals["expectation_maximisation"]
    )
    own = _m_values(frame, duckdb.connect())

    assert len(switched) == 1, "Splink's own iterations must not switch the optimizer off"
    assert installed == pytest.approx(own, rel=1e-12)
    # The levels were trained: a session that learnt nothing would agree with any other.
    assert len(set(installed)) > 4
