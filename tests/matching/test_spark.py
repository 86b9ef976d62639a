"""The Spark backend (local mode) clusters a file exactly as the DuckDB one does."""

from __future__ import annotations

import csv
import io
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import call_command

# Both backends read the same file and the same units, so the database engine under them changes nothing:
# the test runs in the SQLite pass only (`make test-postgres` leaves one_database out).
pytestmark = [pytest.mark.django_db, pytest.mark.one_database]


def _partition(path: Path) -> tuple[list[str], set[frozenset[str]]]:
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    groups: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        groups[row["cluster_id"]].add(row["record_id"])
    return [row["record_id"] for row in rows], {frozenset(group) for group in groups.values()}


# One test, not two: each Spark session is a JVM and its jobs, about a minute of a slow machine, and the
# second run of the test is the one that proves a session serves a second run.
@pytest.mark.slow
def test_spark_gives_duckdbs_clusters_then_learns_in_the_sessions_of_a_population_as_duckdb_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """First `dancu match` on 150 generated people with each backend: the same clusters, and nothing left
    in the directory the run started from.

    Then a second Spark run in the process (a worker's next match), on 1,200 other people: Spark's
    session outlives a run, and this run registers its own records, where it used to find the first
    run's still there. On Spark the sessions of a population run one after another on the run's model
    (`engine._sessions_in_turn`), each without the comparisons it leaves, which are put back after it:
    it learns the m values DuckDB's sessions side by side learn, and finds the same pairs."""
    from dancu.geo.address import parse_address
    from dancu.matching import engine
    from dancu.matching.prepare import AddressUnits, prepare_records
    from tests.matching.test_engine import TODAY

    assert shutil.which("java"), "the Spark backend needs Java 17 on the machine"
    # The run leaves nothing in the directory it was started from (Spark's warehouse directory did).
    started_in = tmp_path / "cwd"
    started_in.mkdir()
    monkeypatch.chdir(started_in)
    source = tmp_path / "people.csv"
    call_command(
        "generate", "--out", str(source), "--dirty", "--people", "150", "--seed", "4", stdout=io.StringIO()
    )
    outputs = {}
    for backend in ("duckdb", "spark"):
        out = tmp_path / f"{backend}.csv"
        call_command("match", str(source), "--out", str(out), "--backend", backend, stdout=io.StringIO())
        outputs[backend] = _partition(out)
    order, clusters = outputs["duckdb"]
    assert outputs["spark"] == (order, clusters)
    assert any(len(cluster) > 1 for cluster in clusters)
    assert list(started_in.iterdir()) == []

    population = tmp_path / "population.csv"
    call_command(
        "generate",
        "--out",
        str(population),
        "--dirty",
        "--people",
        "1200",
        "--seed",
        "5",
        stdout=io.StringIO(),
    )
    with population.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    prepared = prepare_records(rows, today=TODAY, units=AddressUnits(parse_address))
    # 1,200 people are too few for the sessions of a population to be chosen by themselves.
    monkeypatch.setattr(engine, "EM_LOCAL_MIN_PAIRS", 1)
    results = {backend: engine.run_matcher(prepared, backend=backend) for backend in ("duckdb", "spark")}
    duckdb, spark = results["duckdb"].summary, results["spark"].summary
    assert spark["records"] == duckdb["records"] == len(rows)
    assert (
        spark["em_sessions"]
        == duckdb["em_sessions"]
        == [list(session.columns) for session in engine.EM_LOCAL_SESSIONS]
    )
    assert spark["notes"] == duckdb["notes"] == []
    for name, levels in duckdb["parameters"].items():
        for ours, theirs in zip(levels, spark["parameters"][name], strict=True):
            assert theirs["m"] == pytest.approx(ours["m"], rel=1e-6, abs=1e-9), (name, ours["level"])
    assert spark["pairs_at_threshold"] == duckdb["pairs_at_threshold"] > 0
    assert spark["candidate_pairs"] == duckdb["candidate_pairs"]
