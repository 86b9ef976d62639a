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


def test_spark_and_duckdb_give_the_same_clusters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
