"""Access-log benchmark (issue 5): what logging a system job's read of every citizen costs.

`dancu match --registry` reads every citizen of the registry and writes one access-log row per citizen
(`audit.services.access_log_record`, batches of `ACCESS_LOG_BATCH` rows per INSERT). This times that
write for a million rows, the way the run makes it, against the database named by DANCU_DATABASE_URL
(SQLite by default, or PostgreSQL through scripts/with-postgres), on a fresh database:

    DANCU_VAR_DIR=$(mktemp -d) .venv/bin/python bench/access_log.py --rows 1000000 --record
    scripts/with-postgres .venv/bin/python bench/access_log.py --rows 1000000 --record

The rows point at `--citizens` real citizens (inserted directly, without residences: only their ids
matter here), each id repeated until `--rows` rows are written, since the cost of a row does not depend
on which citizen it names. Target: a million rows well under a minute, next to a run that takes minutes
to match a million records. The load average (`uptime`) is recorded: the CPU is shared.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dancu.config.settings")

import django

django.setup()

from django.core.management import call_command
from django.db import connection

from dancu.audit.models import AccessLog
from dancu.audit.services import ACCESS_LOG_BATCH, Actor, access_log_record
from dancu.geo.models import AdminUnit
from dancu.lib.partial_date import PartialDate
from dancu.registry.models import Citizen

sys.path.insert(0, str(Path(__file__).parent))
from registry import RESULTS, machine  # bench/registry.py: the same machine line


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def bare_citizen(number: int, commune: AdminUnit | None = None) -> Citizen:
    """A citizen row without residences or history, numbered `number`, in `commune`'s area when given:
    enough for the benchmarks of the access log, which need only citizens' ids and areas."""
    return Citizen(
        pin=f"001090{number:06d}",
        full_name=f"Người Thử {number}",
        name_key=f"nguoi thu {number}",
        birth_date=PartialDate.parse("1990-05-17"),
        sex="M",
        birth_registration_place="001",
        area_commune_id=commune.pk if commune is not None else None,
        area_province_id=commune.parent_id if commune is not None else None,
    )


def citizens(count: int) -> list[int]:
    """`count` citizens' ids, inserting the missing ones (bare rows: the log needs only the id)."""
    missing = count - Citizen.objects.count()
    if missing > 0:
        start = Citizen.objects.count()
        Citizen.objects.bulk_create((bare_citizen(start + n) for n in range(missing)), batch_size=5_000)
    return list(Citizen.objects.order_by("pk").values_list("pk", flat=True)[:count])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--citizens", type=int, default=10_000)
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()
    vendor = connection.vendor

    call_command("migrate", verbosity=0, stdout=io.StringIO())
    ids = citizens(args.citizens)
    before = AccessLog.objects.count()
    load_before = load_average()
    started = time.perf_counter()
    written = access_log_record(
        actor=Actor(system="bench-access-log"),
        citizen_ids=itertools.islice(itertools.cycle(ids), args.rows),
        action=AccessLog.Action.PROCESS,
        channel=AccessLog.Channel.CLI,
        purpose="Đối chiếu tìm hồ sơ trùng (benchmark)",
        detail="bench",
    )
    seconds = time.perf_counter() - started
    load_after = load_average()
    assert written == args.rows == AccessLog.objects.count() - before
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    text = "\n".join(
        [
            f"### access log of a system job's read — {vendor}, {args.rows:,} rows"
            f" — {datetime.now(UTC):%Y-%m-%d}",
            "",
            f"- command: `{' '.join(['python', *sys.argv])}`"
            + (" (under scripts/with-postgres)" if vendor == "postgresql" else ""),
            f"- machine: {machine()}",
            f"- load average (1, 5, 15 min) before: {load_before}; after: {load_after} (the CPU is shared)",
            f"- {written:,} rows in {seconds:.1f} s: {written / seconds:,.0f} rows/s, batches of "
            f"{ACCESS_LOG_BATCH:,} rows; peak memory of the process {peak_mib:,.0f} MiB",
            "",
        ]
    )
    print(text)
    if args.record:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n" + text)


if __name__ == "__main__":
    main()
