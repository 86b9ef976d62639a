"""The registry run scored: how many of the pairs `dancu match --registry` would propose are one person.

Run against the database of `make demo` (or any database whose only duplicates are rows staged twice by a
legacy import, with the same record id but for a "-2" or "-TT" suffix):

    make demo            # once; stop the server with Ctrl-C
    .venv/bin/python bench/match_registry.py

The demo's registry holds 22,000 generated people, nobody twice, and its legacy book (338 rows of another
population) records 29 people twice. A proposed pair is one person when both records come from the book
and their record ids name the same person; every other pair (two citizens of the generated registry, or a
book row and a citizen) is two different people. This is the case the evaluation sets of `bench/match.py`
do not show: few duplicates among many people, where unsupervised training has little to learn from.

The run is the registry run's own population and preparation (`matching.services.runs`) and the matcher
(`matching.engine.run_matcher`, with the registry run's `DANCU_MATCH_DUPLICATE_SHARE`), without writing
the review queue: the database is left as it was. After the figures it lists each pair of two people it
proposed and each pair of one person it did not, with every field's level and weight: what a reader of
the figures asks next.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from datetime import UTC, datetime

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dancu.config.settings")

import django

django.setup()

from django.conf import settings
from django.utils import timezone

from dancu.collection.models import StagingRecord
from dancu.matching.engine import DEFAULT_KEEP_ABOVE, DEFAULT_THRESHOLD, run_matcher
from dancu.matching.services import runs

# A row recorded twice by the demo's book: its record id with one of these endings.
_COPY_SUFFIX = re.compile(r"(?:-TT|-2)+$")


def _source_ids() -> dict[str, str]:
    """The matcher's record id ("c:<citizen>", "s:<staged row>") -> the legacy book's record id."""
    found: dict[str, str] = {}
    for pk, citizen_id, raw in StagingRecord.objects.values_list("pk", "citizen_id", "raw"):
        record_id = str((raw or {}).get("record_id") or "")
        if not record_id:
            continue
        found[f"s:{pk}"] = record_id
        if citizen_id is not None:
            found[f"c:{citizen_id}"] = record_id
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args()
    started = time.perf_counter()
    population = runs._Population(rows={}, communes={}, provinces={}, details={})
    runs._citizen_rows(population)
    runs._staged_rows(population)
    prepared = runs._prepare(population, timezone.localdate())
    result = run_matcher(
        prepared, threshold=args.threshold, duplicate_share=settings.DANCU_MATCH_DUPLICATE_SHARE
    )
    seconds = time.perf_counter() - started

    sources = _source_ids()
    people: dict[str, list[str]] = {}
    for record in map(str, prepared.columns["unique_id"]):
        if record in sources:
            people.setdefault(_COPY_SUFFIX.sub("", sources[record]), []).append(record)
    truth = {
        (a, b) if a < b else (b, a)
        for records in people.values()
        for n, a in enumerate(records)
        for b in records[n + 1 :]
    }
    pairs = result.pairs[result.pairs["match_probability"] >= args.threshold]
    proposed = {
        (a, b) if a < b else (b, a)
        for a, b in zip(pairs["unique_id_l"].astype(str), pairs["unique_id_r"].astype(str), strict=True)
    }
    right = len(proposed & truth)
    load = os.getloadavg()
    print(f"### match, registry run on the demo database — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print()
    print(f"- records {len(prepared.columns['unique_id']):,}; pairs of one person in the data {len(truth)}")
    print(f"- threshold {args.threshold}; {seconds:.1f} s; load average at the end {load[0]:.1f}")
    print(f"- notes of the run: {result.summary['notes']}")
    print()
    print("| proposed | one person | two people | precision | recall |")
    print("|---|---|---|---|---|")
    precision = right / len(proposed) if proposed else 1.0
    recall = right / len(truth) if truth else 1.0
    print(f"| {len(proposed)} | {right} | {len(proposed) - right} | {precision:.3f} | {recall:.3f} |")
    # What a reader of the figures asks next: which pairs were wrong, and why the model scored them so,
    # in the evidence a reviewer of the queue is shown (`runs._comparisons`).
    scored = {
        (str(row["unique_id_l"]), str(row["unique_id_r"])): row for row in result.pairs.to_dict("records")
    }
    for title, chosen in (
        ("two people, proposed", proposed - truth),
        ("one person, not proposed", truth - proposed),
    ):
        if not chosen:
            continue
        print()
        print(f"{title}:")
        for left, right in sorted(chosen):
            row = scored.get((left, right)) or scored.get((right, left))
            if row is None:
                print(f"- {left} {right}: not compared, or scored under {DEFAULT_KEEP_ABOVE}")
                continue
            evidence = "; ".join(
                f"{item['field']} {item['level']} ({item['weight']:+.1f}): {item['left']} | {item['right']}"
                for item in runs._comparisons(row, result, population.rows)
            )
            print(f"- {row['unique_id_l']} {row['unique_id_r']}: {row['match_probability']:.3f}: {evidence}")


if __name__ == "__main__":
    main()
