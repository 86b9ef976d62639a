"""`dancu generate`: a synthetic population, loaded into the registry or written as a person-records CSV."""

from __future__ import annotations

import dataclasses
import stat
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from dancu.audit.services import Actor
from dancu.lib.command_options import check_output_files, option_date
from dancu.lib.errors import DomainError, command_error, command_error_from
from dancu.lib.progress import progress_bar
from dancu.lib.termination import exit_status, sigterm_stops
from dancu.registry.bulk import (
    DEFAULT_BATCH_SIZE,
    MAX_BATCH_SIZE,
    LoadStats,
    load_population,
    placement_choices,
    units_loaded,
)
from dancu.registry.dirty import DirtyWriteStats, faults_path_for, write_dirty_csv
from dancu.registry.generator import (
    DEFAULT_PARTIAL_BIRTH_SHARE,
    EARLIEST_TODAY,
    LATEST_TODAY,
    HouseholdRecord,
    generate_population,
    person_csv_rows,
    write_person_records_csv,
)
from dancu.registry.normalize import COLUMNS
from dancu.registry.package import write_package

# More people than Vietnam holds (about 101 million in 2024), with room for a whole-country test at twice
# its size. The generator streams and would go on for ever: a mistyped --people (a few zeros too many) would
# run until the disk or the database was full, so it is refused instead.
MAX_PEOPLE = 200_000_000


def _fingerprint(path: Path) -> tuple[int, int] | None:
    """A regular file's modification time and size, to tell whether this run wrote it; None for anything
    else (no file, a device, a pipe)."""
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size) if stat.S_ISREG(info.st_mode) else None


def _codes(value: str) -> list[str]:
    """A comma-separated list of unit codes, as typed: "01,79" or "01, 79"."""
    return [code.strip() for code in value.split(",") if code.strip()]


class Command(BaseCommand):
    help = (
        "Sinh một dân cư tổng hợp (không có người thật) và nạp vào cơ sở dữ liệu, hoặc ghi ra tệp CSV. "
        "Generate a synthetic population (no real person in it) into the database, or into a "
        "person-records CSV with --out. The same --seed and --today always give the same people."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--people", type=int, required=True, help=f"number of people to generate, 1 to {MAX_PEOPLE:,}"
        )
        parser.add_argument("--seed", type=int, required=True, help="seed of the generator")
        parser.add_argument("--provinces", default="", help="2025 province codes, comma-separated (01,79)")
        parser.add_argument("--communes", default="", help="2025 commune codes, comma-separated")
        parser.add_argument(
            "--legacy-province",
            default="",
            help="pre-2025 province code: households there are placed with legacy-only addresses",
        )
        parser.add_argument(
            "--legacy-share",
            type=float,
            default=None,
            help="with --legacy-province and other places: the share of households placed legacy-only "
            "(default: in proportion to the number of communes)",
        )
        parser.add_argument(
            "--today",
            default="",
            help=f"the date the population is as of (YYYY-MM-DD, {EARLIEST_TODAY} to {LATEST_TODAY}; "
            "default: today)",
        )
        parser.add_argument(
            "--out", default="", help="write a person-records CSV here instead of the database"
        )
        parser.add_argument(
            "--package",
            default="",
            help="write a population package (one file per registry table) into this new directory instead "
            "of the database, for `dancu load_package` to load into an empty registry",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"people held in memory and written at once (one transaction each in the database), 1 to "
            f"{MAX_BATCH_SIZE:,} (default {DEFAULT_BATCH_SIZE:,})",
        )
        parser.add_argument(
            "--dirty",
            action="store_true",
            help="with --out: inject realistic faults (registry/dirty.py) and write what was injected to "
            "FILE.faults.csv beside the CSV",
        )
        parser.add_argument(
            "--dirty-seed",
            type=int,
            default=None,
            help="seed of the fault injection (default: --seed)",
        )
        parser.add_argument(
            "--partial-birth-share",
            type=float,
            default=DEFAULT_PARTIAL_BIRTH_SHARE,
            help="share of people born before 1975 whose birth date is known only to the year or month",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        people: int = options["people"]
        if people <= 0:
            raise command_error(
                f"--people phải là số dương, không phải {people}", f"--people must be positive, not {people}"
            )
        if people > MAX_PEOPLE:
            raise command_error(
                f"--people tối đa {MAX_PEOPLE:,} (gấp đôi dân số cả nước), không phải {people:,}",
                f"--people must be at most {MAX_PEOPLE:,} (twice the country's population), not {people:,}",
            )
        # A batch is held in memory whole: a batch of the whole population would hold all of it.
        if not 1 <= options["batch_size"] <= MAX_BATCH_SIZE:
            raise command_error(
                f"--batch-size phải từ 1 đến {MAX_BATCH_SIZE:,}, không phải {options['batch_size']}",
                f"--batch-size must be from 1 to {MAX_BATCH_SIZE:,}, not {options['batch_size']}",
            )
        if not 0.0 <= options["partial_birth_share"] <= 1.0:
            raise command_error(
                "--partial-birth-share phải nằm trong khoảng 0 đến 1",
                "--partial-birth-share must be between 0 and 1",
            )
        legacy_share = options["legacy_share"]
        if legacy_share is not None and not 0.0 <= legacy_share <= 1.0:
            raise command_error(
                "--legacy-share phải nằm trong khoảng 0 đến 1", "--legacy-share must be between 0 and 1"
            )
        self._dirty_stats = None
        self._committed = None
        if options["dirty"] and not options["out"]:
            raise command_error(
                "--dirty chỉ dùng cùng --out (ghi ra tệp CSV)",
                "--dirty needs --out: faults are injected into a CSV, never into the database",
            )
        if options["package"] and options["out"]:
            raise command_error(
                "Chọn --out hoặc --package, không chọn cả hai", "--out and --package exclude each other"
            )
        today = self._today(options["today"])
        # The CSV (and the faults file of --dirty) is opened only once the run has started: a folder that does
        # not exist, a folder named as the file or a file the system will not let be written is refused now,
        # by the rule it breaks, before anything is generated.
        outputs = self._files_written(options)
        check_output_files(outputs, inputs={})
        if not units_loaded():
            raise command_error(
                "Chưa nạp đơn vị hành chính: hãy chạy dancu setup trước",
                "administrative units are not loaded: run dancu setup first",
            )
        try:
            communes = placement_choices(
                provinces=_codes(options["provinces"]),
                communes=_codes(options["communes"]),
                legacy_province=options["legacy_province"].strip(),
            )
        except DomainError as exc:
            raise CommandError(
                "; ".join(
                    f"--{e.field.replace('_', '-')}: {e.message_vi} / {e.message_en}" for e in exc.errors
                )
            ) from None
        households = generate_population(
            people=people,
            seed=options["seed"],
            communes=communes,
            today=today,
            partial_birth_share=options["partial_birth_share"],
            legacy_share=legacy_share,
        )
        written_files = list(outputs.values())
        before = {path: _fingerprint(path) for path in written_files}
        try:
            # A bar on a terminal; elsewhere (a log file, CI) a plain line now and then.
            with (
                sigterm_stops() as stop,
                progress_bar(total=people, unit=" người", label="Sinh dân cư / generating", stop=stop) as bar,
            ):
                if options["out"] and options["dirty"]:
                    stats = self._write_dirty_csv(
                        households, Path(options["out"]), options=options, today=today, bar=bar
                    )
                elif options["out"]:
                    stats = self._write_csv(households, Path(options["out"]), seed=options["seed"], bar=bar)
                elif options["package"]:
                    stats = self._write_package(households, options=options, today=today, bar=bar)
                else:
                    stats = self._load(households, options=options, today=today, bar=bar)
        except KeyboardInterrupt as stop:
            self.stderr.write(self._interrupted(options, written_files, before))
            # 130 after Ctrl-C, 143 after SIGTERM, as a shell reports them, and as `dancu import` exits.
            sys.exit(exit_status(stop))
        where = options["out"] or options["package"] or "cơ sở dữ liệu / database"
        self.stdout.write(
            f"{stats.people} người, {stats.households} hộ → {where}: {stats.seconds:.1f} s, "
            f"{stats.people_per_second:,.0f} người/s "
            f"({stats.people} people, {stats.households} households, {stats.people_per_second:,.0f} people/s)"
        )
        if self._dirty_stats is not None:
            written, faults_path = self._dirty_stats
            self.stdout.write(
                f"Dữ liệu bẩn / dirty: {written.rows} dòng / rows, {written.faults} lỗi đã chèn / faults "
                f"injected → {faults_path}"
            )
        if stats.pins_redrawn or stats.cmnd_redrawn:
            self.stdout.write(
                f"Số đã có trong cơ sở dữ liệu, đã sinh lại / numbers already in the database, drawn again: "
                f"{stats.pins_redrawn} PIN, {stats.cmnd_redrawn} CMND"
            )

    # What the last --dirty run wrote: rows and faults, and where the faults went.
    _dirty_stats: tuple[DirtyWriteStats, Path] | None = None
    # What the database load has committed so far, batch by batch: what Ctrl-C leaves in the registry.
    _committed: LoadStats | None = None

    @staticmethod
    def _today(text: str) -> date:
        if not text:
            return timezone.localdate()
        return option_date("--today", text, earliest=EARLIEST_TODAY, latest=LATEST_TODAY)

    @staticmethod
    def _files_written(options: dict[str, Any]) -> dict[str, Path]:
        """The files an --out run writes, by the option that asks for each: the CSV, and with --dirty the
        faults beside it."""
        if not options["out"]:
            return {}
        out = Path(options["out"])
        return {"--out": out, "--dirty": faults_path_for(out)} if options["dirty"] else {"--out": out}

    def _interrupted(
        self,
        options: dict[str, Any],
        written_files: list[Path],
        before: dict[Path, tuple[int, int] | None],
    ) -> str:
        """What Ctrl-C left behind, in one line; a CSV cut short is removed."""
        if written_files:
            # A CSV cut short looks like a smaller population and would be imported or matched as one.
            # Only a regular file this run wrote is removed: never a device (/dev/stdout) nor a file that
            # the run stopped before opening.
            removed = []
            for path in written_files:
                now = _fingerprint(path)
                if now is not None and now != before[path]:
                    path.unlink(missing_ok=True)
                    removed.append(str(path))
            if not removed:
                out = options["out"]
                return f"Đã dừng trước khi ghi {out}. Stopped before {out} was written."
            what = ", ".join(removed)
            return (
                f"Đã dừng: tệp chưa ghi xong đã xóa ({what}); chạy lại lệnh để sinh lại từ đầu. "
                f"Stopped: the unfinished file was removed ({what}); run the command again to start over."
            )
        if options["package"]:
            folder = options["package"]
            return (
                f"Đã dừng: gói {folder} chưa xong (không có manifest.json) nên dancu load_package sẽ "
                f"từ chối; hãy xóa thư mục trước khi ghi lại. Stopped: the package {folder} is unfinished "
                "(it has no manifest.json), so dancu load_package refuses it; delete the folder before "
                "writing it again."
            )
        committed = self._committed or LoadStats()
        return (
            f"Đã dừng: {committed.people:,} người trong {committed.households:,} hộ đã lưu vào cơ sở dữ liệu "
            "theo từng lô và được giữ lại; lô đang ghi dở đã hủy. Chạy lại lệnh sẽ thêm một dân cư mới, "
            f"không tiếp tục. Stopped: {committed.people:,} people in {committed.households:,} households "
            "were committed batch by batch and stay in the registry; the batch in progress was rolled "
            "back. Running the command again adds another population, it does not continue this one."
        )

    def _write_package(
        self, households: Iterable[HouseholdRecord], *, options: dict[str, Any], today: date, bar: Any
    ) -> LoadStats:
        def progress(stats: LoadStats) -> None:
            bar.update(stats.people - bar.n)

        try:
            return write_package(
                households,
                Path(options["package"]),
                description=self._description(options, today),
                batch_size=options["batch_size"],
                on_batch=progress,
            )
        except DomainError as exc:
            raise command_error_from(exc) from None
        except OSError as exc:
            path = options["package"]
            raise command_error(f"Không ghi được {path}: {exc}", f"cannot write {path}: {exc}") from None

    @staticmethod
    def _description(options: dict[str, Any], today: date) -> dict[str, Any]:
        """What the generation was asked for, kept in the audit events of what it writes."""
        return {
            "seed": options["seed"],
            "today": today.isoformat(),
            "provinces": options["provinces"],
            "communes": options["communes"],
            "legacy_province": options["legacy_province"],
        }

    def _load(
        self, households: Iterable[HouseholdRecord], *, options: dict[str, Any], today: date, bar: Any
    ) -> LoadStats:
        def progress(stats: LoadStats) -> None:
            # Called once a batch has committed: from here on, Ctrl-C leaves these people in the registry.
            self._committed = dataclasses.replace(stats)
            bar.update(stats.people - bar.n)

        return load_population(
            households,
            actor=Actor(system="generate"),
            batch_size=options["batch_size"],
            event_data=self._description(options, today),
            on_batch=progress,
        )

    @staticmethod
    def _write_csv(households: Iterable[HouseholdRecord], path: Path, *, seed: int, bar: Any) -> LoadStats:
        stats = LoadStats()

        def counted() -> Iterator[HouseholdRecord]:
            for household in households:
                yield household
                stats.households += 1
                bar.update(len(household.members))

        started = time.perf_counter()
        try:
            stats.people = write_person_records_csv(counted(), path, source=f"dancu-generate:seed={seed}")
        except OSError as exc:
            raise command_error(f"Không ghi được tệp {path}: {exc}", f"cannot write {path}: {exc}") from None
        stats.seconds = time.perf_counter() - started
        return stats

    def _write_dirty_csv(
        self,
        households: Iterable[HouseholdRecord],
        path: Path,
        *,
        options: dict[str, Any],
        today: date,
        bar: Any,
    ) -> LoadStats:
        stats = LoadStats()
        seed = options["seed"]
        dirty_seed = seed if options["dirty_seed"] is None else options["dirty_seed"]

        def counted() -> Iterator[HouseholdRecord]:
            for household in households:
                yield household
                stats.households += 1
                stats.people += len(household.members)
                bar.update(len(household.members))

        faults_path = faults_path_for(path)
        started = time.perf_counter()
        try:
            written = write_dirty_csv(
                person_csv_rows(counted(), source=f"dancu-generate:seed={seed}"),
                path,
                columns=COLUMNS,
                seed=dirty_seed,
                today=today,
                faults_path=faults_path,
            )
        except OSError as exc:
            raise command_error(f"Không ghi được tệp {path}: {exc}", f"cannot write {path}: {exc}") from None
        stats.seconds = time.perf_counter() - started
        self._dirty_stats = (written, faults_path)
        return stats
