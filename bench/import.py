"""Import benchmark (issue 4): a million dirty legacy person-records through the import's full rules.

Run against the database named by DANCU_DATABASE_URL (SQLite by default, or PostgreSQL through
scripts/with-postgres), on a fresh database:

    scripts/with-postgres .venv/bin/python bench/import.py --people 1000000 --record
    scripts/with-postgres .venv/bin/python bench/import.py --csv /tmp/people.csv --record

It prepares the database (`dancu setup`), writes the dirty file with `dancu generate --dirty` in a child
process (unless --csv names one, with its FILE.faults.csv beside it), then imports it the way
`dancu import --stage-only` does: every row read, normalized (NFC, tone placement, legacy encodings,
dates, addresses parsed and mapped to today's units), checked against every rule of registry.rules,
and written to staging with its verdict. It prints rows/s (target 20,000), the import's peak memory
(resident set of this process, target < 500 MB) and, from the faults file, the share of the injected
faults of each kind that the rules caught (an issue on the damaged field) or repaired (a repair on it).
With --promote N it also times promoting N staged rows (registry writes and review queues), which is
per-row work done after staging. --workers N prepares the rows in N worker processes (collection/workers.py;
default DANCU_IMPORT_WORKERS); the CPU per row then counts the workers' too.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import io
import os
import pstats
import resource
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dancu.config.settings")

import django

django.setup()

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from dancu.audit.services import Actor
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.services import ImportPolicy, import_promote, import_rows, import_start
from dancu.registry.dirty import FaultCode, faults_path_for

RESULTS = Path(__file__).with_name("RESULTS.md")
SOURCE = "bench:import"


def machine() -> str:
    sys.path.insert(0, str(Path(__file__).parent))
    from registry import machine as registry_machine  # the registry benchmark's description

    return registry_machine()


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its finished children, in MB (Linux reports KB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


class ProportionalMemory:
    """The peak of the import's memory with the pages its processes share counted once: the sum of the
    proportional set sizes (`Pss` of /proc/PID/smaps_rollup) of this process and its children, sampled
    every `INTERVAL` seconds while the import runs. The peak resident sizes above count the pages a forked
    worker shares with this process (Django, the units) in both, about 150 MB twice; this is what the
    machine must hold for the import. None where /proc cannot say (not Linux).

    The kernel walks a process's page tables to answer, in the reading thread's time: sampled every half
    second, this thread took 2 µs of the importing process's CPU a row on 100,000 rows (py-spy, session
    39), CPU the import then lacked. The import's memory grows batch by batch and stays near its peak, so
    a sample every two seconds finds the same peak."""

    INTERVAL = 2.0

    def __init__(self) -> None:
        self.peak_mb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ProportionalMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _pss_kb(pid: int) -> int:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
        return 0

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.INTERVAL):
            try:
                children = Path(f"/proc/{me}/task/{me}/children").read_text().split()
                total = self._pss_kb(me)
            except OSError:
                return
            for child in children:
                # A worker may have left between the two readings.
                with contextlib.suppress(OSError):
                    total += self._pss_kb(int(child))
            self.peak_mb = max(self.peak_mb or 0.0, total / 1024)


def generate(people: int, seed: int, out: Path) -> float:
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "dancu.cli",
        "generate",
        "--people",
        str(people),
        "--seed",
        str(seed),
        "--today",
        "2025-07-01",
        "--out",
        str(out),
        "--dirty",
    ]
    subprocess.run(command, check=True)  # noqa: S603 - our own CLI
    return time.perf_counter() - started


def server_cpu() -> float | None:
    """CPU seconds used so far by the PostgreSQL server on this machine: its postmaster and every process
    it started, those that have exited included (the kernel adds a reaped child's CPU to its parent's
    `cutime`), or None on SQLite or a server elsewhere. The import writes on a connection of its own
    (`collection.services._BatchWriter`), whose backend exits before the import returns: counting the
    backends alive at the start and the end, as this did before, missed it."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    ticks = os.sysconf("SC_CLK_TCK")

    try:
        postmaster = int(_stat(backend)[1])  # the backend's parent
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        # A backend that has just exited (the writer's, as the import returns) shows no CPU until the
        # postmaster has reaped it and counted its CPU as its children's: wait for that, a moment at most.
        for _ in range(100):
            if not any(_exited(int(child)) for child in children):
                break
            time.sleep(0.01)
            children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        fields = _stat(postmaster)
    except OSError:
        return None  # not a server on this machine
    # utime, stime, and the CPU of its exited children (cutime, cstime).
    total = sum(int(value) for value in fields[11:15]) / ticks
    for child in children:
        # A process reaped between the two readings is left out (the import's own have ended by then).
        with contextlib.suppress(OSError):
            child_fields = _stat(int(child))
            total += (int(child_fields[11]) + int(child_fields[12])) / ticks
    return total


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the process's name (its state first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _exited(pid: int) -> bool:
    """Whether a process has exited and waits for its parent to reap it (a zombie)."""
    try:
        return _stat(pid)[0] == "Z"
    except OSError:
        return False  # reaped meanwhile


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def stage(
    path: Path, *, batch_size: int, profile_rows: int, workers: int | None
) -> tuple[ImportRun, float, float, float | None]:
    """Import the file into staging; returns the run, rows/s of wall time, rows per CPU-second of this
    process and its workers (what the code costs when other work shares the cores), and the
    database server's CPU microseconds per row (None where it cannot be read). The workers' CPU is known
    once they have exited, which they do at the end of the import."""
    actor = Actor(system="bench")
    run, source = import_start(path=path, source_name=SOURCE, actor=actor)
    started = time.perf_counter()
    last = [started, run.rows_read]

    def progress(current: ImportRun) -> None:
        now = time.perf_counter()
        if now - last[0] >= 10:
            rate = (current.rows_read - last[1]) / (now - last[0])
            print(f"  {current.rows_read:>9,} rows  {rate:>8,.0f} rows/s", file=sys.stderr, flush=True)
            last[:] = [now, current.rows_read]

    if profile_rows:
        # Profile a first slice, stop, and let the timed run resume after it (the run is resumable).
        profiler = cProfile.Profile()

        class StopError(Exception):
            pass

        def stop_after(current: ImportRun) -> None:
            if current.rows_read >= profile_rows:
                raise StopError

        profiler.enable()
        with contextlib.suppress(StopError):
            import_rows(
                run=run,
                source=source,
                actor=actor,
                policy=ImportPolicy(),
                batch_size=batch_size,
                on_batch=stop_after,
                workers=0,  # the profile sees only this process
            )
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        print(text.getvalue(), file=sys.stderr)
        run.refresh_from_db()
        started = time.perf_counter()
    own_started, children_started = time.process_time(), children_cpu()
    server_started = server_cpu()
    first_row = run.rows_read
    run = import_rows(
        run=run,
        source=source,
        actor=actor,
        policy=ImportPolicy(),
        batch_size=batch_size,
        on_batch=progress,
        workers=workers,
    )
    elapsed = time.perf_counter() - started
    rows = run.rows_read - first_row
    server_ended = server_cpu()
    server_us = (
        (server_ended - server_started) * 1e6 / rows
        if server_started is not None and server_ended is not None
        else None
    )
    own_us = (time.process_time() - own_started) * 1e6 / rows
    workers_us = (children_cpu() - children_started) * 1e6 / rows
    print(
        f"CPU per row: {own_us:,.0f} µs in the import process, {workers_us:,.0f} µs in its workers",
        file=sys.stderr,
    )
    return run, rows / elapsed, 1e6 / (own_us + workers_us), server_us


def fault_shares(run: ImportRun, faults_path: Path) -> dict[str, tuple[int, int]]:
    """For each fault kind: (faults injected, faults caught or repaired). A fault is caught when the
    staged row carries an issue or a repair on the field the fault damaged; a blank row when it was
    rejected; a duplicate when the rules saw its PIN or CMND earlier in the file."""
    by_record: dict[str, list[tuple[str, str]]] = defaultdict(list)
    # A blank row's fault names the record it follows; it counts once that record was staged (a run
    # measured part way counts only the part).
    blank_after: Counter[str] = Counter()
    with faults_path.open(encoding="utf-8", newline="") as handle:
        for fault in csv.DictReader(handle):
            if fault["fault"] == FaultCode.BLANK_ROW:
                blank_after[fault["original"]] += 1
            else:
                by_record[fault["record_id"]].append((fault["fault"], fault["field"]))
    injected: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    rows = StagingRecord.objects.filter(run=run).values_list("normalized", "issues", "repairs", "status")
    for normalized, issues, repairs, status in rows.iterator(chunk_size=5000):
        record_id = normalized.get("record_id", "")
        injected[FaultCode.BLANK_ROW] += blank_after.get(record_id, 0) if record_id else 0
        if not record_id and not normalized.get("full_name") and status == StagingRecord.Status.REJECTED:
            caught[FaultCode.BLANK_ROW] += 1
        faults = by_record.get(record_id)
        if not faults:
            continue
        fields = {item["field"] for item in issues} | {item["field"] for item in repairs}
        codes = {item["code"] for item in issues}
        seen_duplicate = False
        for code, field in faults:
            if code == FaultCode.DUPLICATE:
                if seen_duplicate:
                    continue  # one duplicate is recorded as two faults (record_id and source)
                seen_duplicate = True
                injected[code] += 1
                # A duplicate the rules can see carries a PIN or CMND the file had already.
                caught[code] += bool(codes & {"pin.duplicate_in_batch", "cmnd.duplicate_in_batch"})
                continue
            injected[code] += 1
            caught[code] += field in fields
    return {code: (injected[code], caught[code]) for code in sorted(injected)}


def promote(run: ImportRun, rows: int) -> tuple[float, float, ImportRun]:
    """Promote `rows` staged rows (from the start of the file); return rows/s, the milliseconds of this
    process's CPU per promoted row (the database server's CPU is extra) and the run with its counters."""
    limit_run = ImportRun.objects.get(pk=run.pk)
    started = time.perf_counter()
    cpu_started = time.process_time()
    done = [0]

    class EnoughError(Exception):
        pass

    def stop(current: ImportRun) -> None:
        done[0] = current.rows_applied + current.rows_queued + current.rows_rejected
        if current.rows_applied + current.rows_queued >= rows:
            raise EnoughError

    with contextlib.suppress(EnoughError):
        import_promote(run=limit_run, on_batch=stop)
    limit_run.refresh_from_db()
    moved = limit_run.rows_applied + limit_run.rows_queued
    cpu = time.process_time() - cpu_started
    return moved / (time.perf_counter() - started), 1000 * cpu / max(moved, 1), limit_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--csv", type=Path, help="a dirty CSV written by dancu generate --dirty")
    parser.add_argument("--batch-size", type=int, default=2_000)
    parser.add_argument("--profile", type=int, default=0, help="cProfile the first N rows first")
    parser.add_argument("--promote", type=int, default=0, help="then time promoting N staged rows")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes that prepare the rows (default: DANCU_IMPORT_WORKERS)",
    )
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()
    workers = settings.DANCU_IMPORT_WORKERS if args.workers is None else args.workers

    vendor = connection.vendor
    print(f"database: {vendor}; machine: {machine()}", flush=True)
    call_command("setup", stdout=io.StringIO())
    generated = 0.0
    path = args.csv
    if path is None:
        path = Path(os.environ.get("DANCU_VAR_DIR", "var")) / f"bench-import-{args.people}.csv"
        generated = generate(args.people, args.seed, path)
        print(f"generated {path} in {generated:.0f} s", flush=True)
    load_before = os.getloadavg()
    with ProportionalMemory() as proportional:
        run, rate, cpu_rate, server_us = stage(
            path, batch_size=args.batch_size, profile_rows=args.profile, workers=workers
        )
    own_mb, children_mb = peak_rss_mb()
    pss_text = "not measured" if proportional.peak_mb is None else f"{proportional.peak_mb:,.0f} MB"
    load_after = os.getloadavg()
    print(f"rows: {run.rows_read:,}  rate: {rate:,.0f} rows/s (target 20,000)")
    print(f"workers preparing the rows: {workers}")
    print(
        f"rows per CPU-second of the import process and its workers: {cpu_rate:,.0f} "
        "(the database server's CPU is extra)"
    )
    server_text = "not measured" if server_us is None else f"{server_us:,.0f} µs of CPU per row"
    print(f"database server: {server_text}")
    print(f"peak memory of the import process: {own_mb:,.0f} MB (target < 500 MB)")
    print(f"peak memory of a child process (a worker, or the generator): {children_mb:,.0f} MB")
    print(f"peak memory of the import process and its workers, shared pages counted once: {pss_text}")
    print(
        f"accepted {run.rows_accepted:,}  review {run.rows_review:,}  rejected {run.rows_rejected:,}  "
        f"repaired {run.rows_repaired:,}"
    )
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} (2 cores shared)")
    shares = fault_shares(run, faults_path_for(path))
    lines = []
    total_injected = total_caught = 0
    for code, (injected, caught) in shares.items():
        total_injected += injected
        total_caught += caught
        lines.append(f"| `{code}` | {injected:,} | {caught:,} | {caught / injected:.1%} |")
        print(f"  {code:<26} {injected:>8,} injected  {caught:>8,} caught/repaired  {caught / injected:6.1%}")
    print(f"  all faults: {total_caught:,} / {total_injected:,} = {total_caught / total_injected:.1%}")
    if args.promote:
        promoted, cpu_ms, moved = promote(run, args.promote)
        print(
            f"promotion of {args.promote:,} staged rows: {promoted:,.0f} rows/s, "
            f"{cpu_ms:.1f} ms of CPU per row in the importing process "
            f"({moved.rows_applied:,} in the registry, {moved.rows_queued:,} in review queues, "
            f"{moved.rows_rejected:,} rejected in all)"
        )
    if args.record:
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write(
                f"\n### Import of {run.rows_read:,} dirty person-records ({vendor}), "
                f"{datetime.now(UTC):%Y-%m-%d}\n\n"
                f"Command: `{' '.join(sys.argv)}`; machine: {machine()}; load average "
                f"{load_before[0]:.1f} before, {load_after[0]:.1f} after.\n\n"
                f"- staging with full normalization and rules, {workers} workers preparing the rows: "
                f"**{rate:,.0f} rows/s** (target 20,000); {cpu_rate:,.0f} rows per CPU-second of the "
                f"import process and its workers; database server: {server_text}\n"
                f"- peak memory of the import process: **{own_mb:,.0f} MB** (target < 500 MB); "
                f"of a worker {children_mb:,.0f} MB; of both, shared pages counted once, {pss_text}\n"
                f"- verdicts: accepted {run.rows_accepted:,}, review {run.rows_review:,}, "
                f"rejected {run.rows_rejected:,}; rows repaired {run.rows_repaired:,}\n"
                + (
                    f"- promotion (registry writes, review queues): {promoted:,.0f} rows/s, "
                    f"{cpu_ms:.1f} ms of CPU per row\n"
                    if promoted
                    else ""
                )
                + "\n| fault | injected | caught or repaired | share |\n|---|---|---|---|\n"
                + "\n".join(lines)
                + f"\n| all | {total_injected:,} | {total_caught:,} | {total_caught / total_injected:.1%} |\n"
            )


if __name__ == "__main__":
    main()
