"""Registry benchmark (issue: foundation): load, PIN lookup and tone-insensitive name search at scale.

Run against the database named by DANCU_DATABASE_URL (SQLite by default, or PostgreSQL through
scripts/with-postgres), on a fresh database:

    .venv/bin/python bench/registry.py --people 1000000 --record
    scripts/with-postgres .venv/bin/python bench/registry.py --people 1000000 --record

It prepares the database (`dancu setup`), generates and loads the population across every commune of
the country (`dancu generate`), then times reads the way an officer makes them: through the
jurisdiction-scoped selectors, which also write the access log. Targets: load >= 20,000 citizens/s on
PostgreSQL; PIN lookup p99 < 5 ms; name search p95 < 100 ms. Address search is measured too (no target).

The CPU is often shared: the report records the load average (`uptime`) at the end of the run, and the
CPU time this process spent per citizen while loading (the server's share is not in it).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dancu.config.settings")

import django

django.setup()

from django.core.management import call_command
from django.db import connection

from dancu.accounts.models import PoliceUnit, User
from dancu.audit.services import Actor
from dancu.lib.vntext import fold
from dancu.registry.models import Citizen, Residence
from dancu.registry.package import load_package
from dancu.registry.selectors import CitizenQuery, citizen_get, citizen_search, stays_list

RESULTS = Path(__file__).with_name("RESULTS.md")


def _server_settings(vendor: str) -> str:
    """The server settings that move the load's figure (docs/operations.md, "The server for the first
    load"), as the record must say which the run had."""
    if vendor != "postgresql":
        return ""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('wal_level'), current_setting('max_wal_senders')")
        wal_level, senders = cursor.fetchone()
    return f", server with wal_level={wal_level}, max_wal_senders={senders}"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        mem_kb = 0
    memory = f"{mem_kb / 1024 / 1024:.0f} GiB RAM"
    return f"{os.cpu_count()} cores, {cpu}, {memory}, Python {platform.python_version()}"


def backend_cpu_seconds() -> float | None:
    """CPU time used so far by this connection's PostgreSQL server process, when it runs on this
    machine (as under scripts/with-postgres); None otherwise."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))
    return ordered[index]


def timed(calls: list[Callable[[], object]]) -> list[float]:
    """Milliseconds per call."""
    samples = []
    for call in calls:
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def officer(username: str, role: str, unit: PoliceUnit) -> User:
    user, _ = User.objects.get_or_create(username=username, defaults={"role": role, "police_unit": unit})
    return user


def load_from_package(people: int, seed: int, directory: Path) -> str:
    """Write a package of `people` citizens, then load it; the report line of both steps."""
    started, cpu_started = time.perf_counter(), time.process_time()
    call_command("generate", people=people, seed=seed, package=str(directory), stdout=io.StringIO())
    written = time.perf_counter() - started
    write_us = (time.process_time() - cpu_started) / people * 1e6
    size = sum(path.stat().st_size for path in directory.iterdir())
    print(f"package written: {people:,} citizens in {written:.1f} s, {size / 1e6:,.0f} MB", flush=True)

    started, cpu_started = time.perf_counter(), time.process_time()
    stats = load_package(directory, actor=Actor(system="bench"))
    seconds = time.perf_counter() - started
    client_us = (time.process_time() - cpu_started) / people * 1e6
    phases = ", ".join(f"{name} {phase:.1f} s" for name, phase in stats.phases.items())
    line = (
        f"wrote a package of {people:,} citizens ({size / 1e6:,.0f} MB) in {written:.1f} s = "
        f"{people / written:,.0f} citizens/s ({write_us:.0f} µs CPU a citizen); "
        f"**loaded it in {seconds:.1f} s = {people / seconds:,.0f} citizens/s** (phases: {phases}; the rest: "
        f"manifest, checks, ANALYZE); CPU per citizen: {client_us:.0f} µs in this process"
    )
    # The server's CPU is not given: on two connections it is spread over two server processes.
    return line + f"; load average at the end {os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument("--addresses", type=int, default=200, help="address searches of each kind")
    parser.add_argument(
        "--package",
        default="",
        help="into an empty registry: write a population package into this new directory (timed), then "
        "load it with `dancu load_package` (timed: the load rate), instead of `dancu generate`",
    )
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()
    vendor = connection.vendor

    call_command("setup", stdout=io.StringIO())
    existing = Citizen.objects.count()
    load_line = f"reused {existing:,} citizens already in the database (load not measured)"
    rate = None
    if args.package and existing == 0:
        load_line = load_from_package(args.people, args.seed, Path(args.package))
    elif existing < args.people:
        server_cpu = backend_cpu_seconds()
        started, cpu_started = time.perf_counter(), time.process_time()
        out = io.StringIO()
        call_command("generate", people=args.people - existing, seed=args.seed, stdout=out)
        seconds = time.perf_counter() - started
        loaded = args.people - existing
        rate = loaded / seconds
        client_us = (time.process_time() - cpu_started) / loaded * 1e6
        load_line = (
            f"generated and loaded {loaded:,} citizens in {seconds:.1f} s = {rate:,.0f} citizens/s; "
            f"CPU per citizen: {client_us:.0f} µs in this process"
        )
        server_after = backend_cpu_seconds()
        if server_cpu is not None and server_after is not None:
            load_line += f", {(server_after - server_cpu) / loaded * 1e6:.0f} µs in the database server"
        load_line += f"; load average at the end {os.getloadavg()[0]:.1f}"
    print(load_line, flush=True)

    rng = random.Random(args.seed)
    max_id = Citizen.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    sample_ids = [rng.randint(1, max_id) for _ in range(args.lookups + args.searches)]
    rows = dict(Citizen.objects.filter(pk__in=sample_ids).values_list("pk", "pin"))
    pins = [rows[i] for i in sample_ids if i in rows][: args.lookups]
    people = list(
        Citizen.objects.filter(pk__in=sample_ids[args.lookups :]).values_list(
            "full_name", "area_commune__code"
        )
    )

    ministry = officer("bench.c06", User.Role.MINISTRY_ADMIN, PoliceUnit.objects.get(code="C06"))
    purpose = "benchmark"

    # Warm-up, so the first figures do not measure connection set-up and cold caches.
    for pin in pins[:50]:
        citizen_get(actor=ministry, pin=pin, purpose=purpose)

    # CPU time as well as latency: on a shared machine the latency measures the queue for the CPU; the
    # CPU time per lookup (here and in the server) is what the lookup itself costs.
    server_before, client_before = backend_cpu_seconds(), time.process_time()
    lookup = timed([lambda pin=pin: citizen_get(actor=ministry, pin=pin, purpose=purpose) for pin in pins])
    client_ms = (time.process_time() - client_before) / len(pins) * 1000
    server_after = backend_cpu_seconds()
    lookup_cpu = f"CPU per PIN lookup: {client_ms:.2f} ms in this process"
    if server_before is not None and server_after is not None:
        lookup_cpu += f", {(server_after - server_before) / len(pins) * 1000:.2f} ms in the database server"

    def search_as(user: User, text: str) -> Callable[[], object]:
        return lambda: citizen_search(actor=user, query=CitizenQuery(text=text), purpose=purpose)

    def search_address(user: User, address: str, commune_code: str) -> Callable[[], object]:
        query = CitizenQuery(address=address, commune_code=commune_code)
        return lambda: citizen_search(actor=user, query=query, purpose=purpose)

    # What officers type: the full name without tone marks, nationwide (ministry) ...
    full_names = timed([search_as(ministry, fold(name)) for name, _ in people])
    # ... a surname and middle name prefix, nationwide (a broad query: first page only) ...
    prefixes = timed([search_as(ministry, " ".join(fold(name).split()[:2])) for name, _ in people[:100]])
    # ... and a given name alone, by a commune officer in their own commune.
    commune_searches = []
    for name, code in people[:200]:
        unit = PoliceUnit.objects.filter(code=f"CA-commune-{code}").first()
        if unit is None:
            continue
        user = officer(f"bench.{code}", User.Role.COLLECTOR, unit)
        commune_searches.append(search_as(user, fold(name).split()[-1]))
    given_names = timed(commune_searches)
    all_searches = full_names + prefixes + given_names

    # Address search (`address=`: a fragment anywhere in a current address; a trigram index on
    # PostgreSQL). Nationwide, the whole address line of a sample person, as typed to find who lives
    # there; within a commune, its officer typing only the street or village ("pho hang bac", "thon 3").
    addresses = list(
        Residence.objects.filter(citizen_id__in=sample_ids[: args.addresses], ended_on__isnull=True)
        .values_list("address_detail", "commune__code")
        .order_by("pk")
    )
    address_lines = timed([search_address(ministry, fold(detail), "") for detail, _ in addresses])
    local_addresses = []
    for detail, code in addresses:
        unit = PoliceUnit.objects.filter(code=f"CA-commune-{code}").first()
        if unit is not None:
            user = officer(f"bench.{code}", User.Role.COLLECTOR, unit)
            local_addresses.append(search_address(user, fold(detail.split(",")[-1]), code))
    street_in_commune = timed(local_addresses)

    # The people staying in an area (stays_list), first page: a commune officer of a commune with stays,
    # the province's supervisor of the same commune, and the ministry (every stay of the country).
    stay_communes = list(
        Residence.objects.filter(kind="temporary", ended_on__isnull=True)
        .values_list("commune__code", "commune__parent__code")
        .distinct()
        .order_by("commune__code")[: args.addresses]
    )
    stay_lists = []
    province_lists = []
    for code, province_code in stay_communes:
        unit = PoliceUnit.objects.filter(code=f"CA-commune-{code}").first()
        if unit is not None:
            user = officer(f"bench.{code}", User.Role.COLLECTOR, unit)
            stay_lists.append(lambda user=user: stays_list(actor=user, purpose=purpose))
            if unit.parent is not None and len(province_lists) < 50:
                boss = officer(f"bench.p{province_code}", User.Role.SUPERVISOR, unit.parent)
                province_lists.append(lambda boss=boss: stays_list(actor=boss, purpose=purpose))
    commune_stays = timed(stay_lists)
    province_stays = timed(province_lists)
    national_stays = timed([lambda: stays_list(actor=ministry, purpose=purpose)] * 20)

    def line(label: str, samples: list[float], q: int) -> str:
        return (
            f"| {label} | {len(samples)} | {statistics.median(samples):.2f} | "
            f"{percentile(samples, q):.2f} (p{q}) | {max(samples):.2f} |"
        )

    report = "\n".join(
        [
            f"### registry — {vendor}, {Citizen.objects.count():,} citizens — {datetime.now(UTC):%Y-%m-%d}",
            "",
            f"- command: `{' '.join(['python', *sys.argv])}`"
            + (" (under scripts/with-postgres)" if vendor == "postgresql" else "")
            + _server_settings(vendor),
            f"- machine: {machine()}; load average at the end {os.getloadavg()[0]:.1f} (shared CPU)",
            f"- load: {load_line}",
            f"- {lookup_cpu}",
            "",
            "| measure | n | p50 ms | tail ms | max ms |",
            "|---|---|---|---|---|",
            line("PIN lookup (citizen_get, ministry, with access log)", lookup, 99),
            line("name search, full name without tones (nationwide)", full_names, 95),
            line("name search, surname + middle prefix (nationwide)", prefixes, 95),
            line("name search, given name only (commune officer)", given_names, 95),
            line("name search, all of the above", all_searches, 95),
            line("address search, whole address line (nationwide)", address_lines, 95),
            line("address search, street or village (commune officer)", street_in_commune, 95),
            line("people staying in the area, first page (commune officer)", commune_stays, 95),
            line("people staying in the area, first page (province supervisor)", province_stays, 95),
            line("people staying in the area, first page (ministry)", national_stays, 95),
            "",
        ]
    )
    print(report)
    if args.record:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n" + report)


if __name__ == "__main__":
    main()
