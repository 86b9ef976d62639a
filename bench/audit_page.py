"""Auditor's access-log page benchmark: how long one page takes on a large log, for each kind of auditor.

    DANCU_VAR_DIR=$(mktemp -d) .venv/bin/python bench/audit_page.py --rows 1000000
    scripts/with-postgres .venv/bin/python bench/audit_page.py --rows 1000000

On a fresh database: `dancu setup` (units and police units), `--citizens` bare citizens (no residences:
only their ids and areas matter here) spread over the communes of Hà Nội, of which a "busy" commune holds
1 % and a "quiet" commune 0.01 %, then `--rows` access-log rows naming citizens at random (a fixed seed),
written as a system job writes them. Then `audit.selectors.access_log_search`, the page's and the API's
selector, is timed for the ministry's auditor and for an auditor of each of the two communes: the first
page, the next page, a citizen's PIN, and a reader's name. The page is read newest first by id within the
auditor's area: until session 10 a join to each row's citizen, in which the quiet commune was the case that
walked furthest; since then the area on the row itself, with an index on (area, id).

Beside the job's rows, `--officers` accounts of the busy commune each read `--officer-rows` rows,
interleaved with the job's, and one more account read ten rows before all of them. A reader's name is
then timed for what it stands for: nothing, that seldom reader, one busy officer, the system job, and all
the officers at once (more than `audit.selectors.MERGED_READERS`). Until session 11 a reader's name was a
substring of the label of every row of the area; since then it is resolved to accounts and jobs first,
whose rows are read from the end of an index on (reader, id).
Each figure is the median and the slowest of `--repeat` runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dancu.config.settings")

import django

django.setup()

from django.core.management import call_command
from django.db import connection

from dancu.accounts.models import PoliceUnit, User
from dancu.audit.models import AccessLog
from dancu.audit.selectors import AccessLogQuery, access_log_search
from dancu.audit.services import Actor, access_log_record
from dancu.geo.models import AdminUnit
from dancu.registry.models import Citizen

sys.path.insert(0, str(Path(__file__).parent))
from access_log import bare_citizen  # bench/access_log.py: the same bare citizens
from registry import machine  # bench/registry.py: the same machine line

SEED = 2026


def _citizens(count: int, communes: list[AdminUnit], busy: AdminUnit, quiet: AdminUnit) -> list[int]:
    """`count` bare citizens: 1 % in `busy`, 0.01 % (at least one) in `quiet`, the rest spread."""
    generator = random.Random(SEED)
    others = [unit for unit in communes if unit.pk not in (busy.pk, quiet.pk)]
    in_quiet = max(1, count // 10_000)
    in_busy = count // 100
    rows = []
    for n in range(count):
        commune = quiet if n < in_quiet else busy if n < in_quiet + in_busy else generator.choice(others)
        rows.append(bare_citizen(n + 1, commune))
    Citizen.objects.bulk_create(rows, batch_size=5_000)
    return list(Citizen.objects.order_by("pk").values_list("pk", flat=True))


def _auditor(username: str, unit: PoliceUnit) -> User:
    return User.objects.create(username=username, role=User.Role.AUDITOR, police_unit=unit, is_active=True)


def _reader(username: str, unit: PoliceUnit) -> User:
    return User.objects.create(username=username, role=User.Role.COLLECTOR, police_unit=unit, is_active=True)


def _read(actor: Actor, citizen_ids: Iterable[int]) -> None:
    access_log_record(
        actor=actor,
        citizen_ids=citizen_ids,
        action=AccessLog.Action.PROCESS,
        channel=AccessLog.Channel.JOB,
        purpose="Đối chiếu (benchmark)",
        detail="bench",
    )


# What a reader's name stands for in the log this benchmark writes, and the name.
READERS = [
    ("none", "lan"),
    ("one account, ten rows, the oldest", "bench.seldom"),
    ("one busy account", "bench.officer.007"),
    ("the system job", "audit-page"),
    ("all the officers", "bench.officer"),
]


def _timed(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        seconds.append((time.perf_counter() - started) * 1000)
    return statistics.median(seconds), max(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--citizens", type=int, default=100_000)
    parser.add_argument("--officers", type=int, default=50)
    parser.add_argument("--officer-rows", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    call_command("setup", verbosity=0, stdout=io.StringIO())
    hanoi = AdminUnit.objects.get(structure="2025", level="province", code="01")
    communes = list(AdminUnit.objects.filter(parent=hanoi, level="commune").order_by("code"))
    busy, quiet = communes[0], communes[1]
    ids = _citizens(args.citizens, communes, busy, quiet)
    generator = random.Random(SEED)
    busy_unit = PoliceUnit.objects.get(admin_unit=busy)
    seldom = _reader("bench.seldom", busy_unit)
    officers = [_reader(f"bench.officer.{n:03}", busy_unit) for n in range(args.officers)]
    started = time.perf_counter()
    _read(Actor(seldom), [generator.choice(ids) for _ in range(10)])
    # In ten rounds, so that the officers' rows lie among the job's from the oldest to the newest.
    for _ in range(10):
        _read(Actor(system="bench-audit-page"), (generator.choice(ids) for _ in range(args.rows // 10)))
        for officer in officers:
            _read(Actor(officer), [generator.choice(ids) for _ in range(args.officer_rows // 10)])
    written = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audit_accesslog; ANALYZE registry_citizen")
    ministry = _auditor("bench.kiem.toan", PoliceUnit.objects.get(level="ministry"))
    auditors = {
        "ministry": ministry,
        "busy commune (1 % of citizens)": _auditor("bench.kt.busy", PoliceUnit.objects.get(admin_unit=busy)),
        "quiet commune (0.01 %)": _auditor("bench.kt.quiet", PoliceUnit.objects.get(admin_unit=quiet)),
    }
    # A citizen of the busy commune whom the log names: found by the ministry's and that commune's auditor,
    # outside the quiet commune's area.
    read_pin = (
        access_log_search(actor=auditors["busy commune (1 % of citizens)"], query=AccessLogQuery())
        .rows[0]
        .citizen.pin
    )

    print(f"### auditor's access-log page — {connection.vendor}, {args.rows:,} rows")
    print()
    print(f"- command: `python {' '.join(sys.argv)}`; machine: {machine()}")
    print(
        f"- {args.citizens:,} citizens in {len(communes)} communes of Hà Nội; {args.rows:,} rows written in "
        f"{written:.1f} s; load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
    )
    print()
    print("| auditor | query | rows on the page | median ms | slowest ms |")
    print("|---|---|---|---|---|")
    for label, auditor in auditors.items():
        first = access_log_search(actor=auditor, query=AccessLogQuery())
        cases: list[tuple[str, Callable[[], object]]] = [
            ("first page", lambda a=auditor: access_log_search(actor=a, query=AccessLogQuery())),
            (
                "next page",
                lambda a=auditor, b=first.next_before: access_log_search(
                    actor=a, query=AccessLogQuery(), before=b
                ),
            ),
            (
                "a citizen's PIN",
                lambda a=auditor: access_log_search(actor=a, query=AccessLogQuery(pin=read_pin)),
            ),
            *(
                (
                    f"a reader's name: {what}",
                    lambda a=auditor, r=reader: access_log_search(actor=a, query=AccessLogQuery(reader=r)),
                )
                for what, reader in READERS
            ),
        ]
        if first.next_before is None:
            cases = [case for case in cases if case[0] != "next page"]
        for name, call in cases:
            page = call()
            median, slowest = _timed(call, args.repeat)
            rows = len(page.rows)  # type: ignore[attr-defined]
            print(f"| {label} | {name} | {rows} | {median:.1f} | {slowest:.1f} |", flush=True)
    print()
    print(f"load average at end {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()
