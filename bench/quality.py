"""Quality scorecard benchmark: how many citizen records per second the assessment judges and stores.

Run against the database named by DANCU_DATABASE_URL (SQLite by default, or PostgreSQL through
scripts/with-postgres):

    .venv/bin/python bench/quality.py --people 100000 --record
    scripts/with-postgres .venv/bin/python bench/quality.py --people 100000 --record

It prepares the database (`dancu setup`), generates the population when there are fewer citizens than
asked (`dancu generate`), writes faults into a share of the records the way a legacy load leaves them
(names in lower case, a birth year that disagrees with the PIN), then times:

- a first pass over every record (every assessment inserted), and a second one (every one replaced);
- a "changed" pass with nothing changed (what the 15-minute schedule costs on a quiet registry), and one
  after a number of corrections made through the registry's services;
- the daily snapshot on its own.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dancu.config.settings")

import django

django.setup()

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from dancu.audit.services import Actor
from dancu.collection.quality.models import QualityAssessment, QualityPass
from dancu.collection.quality.services import quality_pass_run, quality_snapshot_take
from dancu.registry import services
from dancu.registry.models import Citizen

sys.path.insert(0, str(Path(__file__).parent))
from registry import RESULTS, machine  # bench/registry.py: the same machine line

ACTOR = Actor(system="bench-quality")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def inject_faults(rate: float, seed: int) -> int:
    """Lower-case the names of `rate` of the records and move the birth year of as many others."""
    rng = random.Random(seed)
    ids = list(Citizen.objects.values_list("pk", flat=True))
    chosen = rng.sample(ids, int(len(ids) * rate * 2))
    half = len(chosen) // 2
    with transaction.atomic():
        rows = list(Citizen.objects.filter(pk__in=chosen[:half]).only("full_name"))
        for row in rows:
            row.full_name = row.full_name.lower()
        Citizen.objects.bulk_update(rows, ["full_name"], batch_size=2000)
        rows = list(Citizen.objects.filter(pk__in=chosen[half:]).only("birth_date"))
        for row in rows:
            stored = row.birth_date.to_storage()
            # The year after; 29 February becomes 28 so the date stays a date.
            row.birth_date = f"{int(stored[:4]) + 1}{stored[4:]}".replace("-02-29", "-02-28")
        Citizen.objects.bulk_update(rows, ["birth_date"], batch_size=2000)
    return len(chosen)


def timed_pass(scope: str) -> tuple[QualityPass, float]:
    started = time.perf_counter()
    run = quality_pass_run(actor=ACTOR, scope=scope)
    return run, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-rate", type=float, default=0.05, help="share of records given each fault")
    parser.add_argument(
        "--corrections", type=int, default=200, help="records corrected before the changed pass"
    )
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()
    vendor = connection.vendor

    call_command("setup", stdout=io.StringIO())
    existing = Citizen.objects.count()
    if existing < args.people:
        started = time.perf_counter()
        call_command("generate", people=args.people - existing, seed=args.seed, stdout=io.StringIO())
        print(
            f"generated {args.people - existing:,} citizens in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
    QualityAssessment.objects.all().delete()
    QualityPass.objects.all().delete()
    faulty = inject_faults(args.fault_rate, args.seed)
    records = Citizen.objects.count()
    print(f"{records:,} citizens, {faulty:,} given a fault", flush=True)

    lines = []

    def report(label: str, run: QualityPass, seconds: float) -> None:
        rate = run.assessed / seconds if seconds else 0.0
        line = f"| {label} | {run.assessed:,} | {seconds:.1f} | {rate:,.0f} | {run.cleaned:,} |"
        print(line, flush=True)
        lines.append(line)

    load_before = load_average()
    first, seconds = timed_pass(QualityPass.Scope.ALL)
    report("first pass, all records (insert)", first, seconds)
    second, seconds = timed_pass(QualityPass.Scope.ALL)
    report("second pass, all records (replace)", second, seconds)
    quiet, seconds = timed_pass(QualityPass.Scope.CHANGED)
    report("changed pass, nothing changed", quiet, seconds)

    # Corrections through the registry's services, as officers make them: each is a new version and an
    # audit event, which is what the changed pass reads.
    lowered = list(
        QualityAssessment.objects.filter(sach=False, dung=True).values_list("citizen_id", flat=True)[
            : args.corrections
        ]
    )
    for citizen in Citizen.objects.filter(pk__in=lowered):
        services.citizen_update(
            actor=ACTOR,
            citizen=citizen,
            changes={"full_name": citizen.full_name},
            reason="Chuẩn hoá họ tên",
            source_document="DC02",
        )
    changed, seconds = timed_pass(QualityPass.Scope.CHANGED)
    report(f"changed pass after {len(lowered)} corrections", changed, seconds)

    started = time.perf_counter()
    with transaction.atomic():
        snapshots = quality_snapshot_take(day=timezone.localdate())
    snapshot_seconds = time.perf_counter() - started
    load_after = load_average()

    clean = QualityAssessment.objects.filter(passed_all=True).count()
    text = "\n".join(
        [
            f"### quality — {vendor}, {records:,} citizens — {datetime.now(UTC):%Y-%m-%d}",
            "",
            f"- command: `{' '.join(['python', *sys.argv])}`"
            + (" (under scripts/with-postgres)" if vendor == "postgresql" else ""),
            f"- machine: {machine()}",
            f"- load average (1, 5, 15 min) before: {load_before}; after: {load_after} (the CPU is shared)",
            f"- faults written: {faulty:,} records; after the passes {clean:,} of {records:,} pass all four",
            f"- snapshot of every unit on its own: {snapshots:,} rows in {snapshot_seconds:.2f} s",
            "",
            "| pass | records assessed | seconds | records/s | newly clean |",
            "|---|---|---|---|---|",
            *lines,
            "",
        ]
    )
    print(text)
    if args.record:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n" + text)


if __name__ == "__main__":
    main()
