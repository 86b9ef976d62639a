"""`dancu load_package DIR`: a population package (`dancu generate --package DIR`) into the empty registry."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from dancu.audit.services import Actor
from dancu.lib.errors import DomainError, command_error, command_error_from
from dancu.lib.progress import progress_bar
from dancu.lib.termination import exit_status, sigterm_stops
from dancu.registry.bulk import units_loaded
from dancu.registry.models import Citizen
from dancu.registry.package import load_package, read_manifest


class Command(BaseCommand):
    help = (
        "Nạp một gói dữ liệu dân cư (dancu generate --package) vào cơ sở dữ liệu dân cư còn trống, trong một "
        "giao dịch. Load a population package (dancu generate --package) into the empty registry, in one "
        "transaction: either all of it is loaded, or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", help="the package's directory (it holds manifest.json)")

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["directory"])
        if not units_loaded():
            raise command_error(
                "Chưa nạp đơn vị hành chính: hãy chạy dancu setup trước",
                "administrative units are not loaded: run dancu setup first",
            )
        try:
            manifest = read_manifest(directory)
            size = sum((directory / entry["file"]).stat().st_size for entry in manifest["tables"].values())
        except DomainError as exc:
            raise command_error_from(exc) from None
        except OSError as exc:
            raise command_error(f"Không đọc được gói: {exc}", f"cannot read the package: {exc}") from None
        # A bar on a terminal; elsewhere (a log file, CI) a plain line now and then.
        try:
            with (
                sigterm_stops() as stop,
                progress_bar(
                    total=size, unit="B", unit_scale=True, label="Nạp gói / loading", stop=stop
                ) as bar,
            ):
                try:
                    stats = load_package(
                        directory,
                        actor=Actor(system="load_package"),
                        on_progress=bar.update,
                    )
                except DomainError as exc:
                    raise command_error_from(exc) from None
        except KeyboardInterrupt as stop:
            self.stderr.write(self._interrupted())
            # 130 after Ctrl-C, 143 after SIGTERM, as a shell reports them, and as `dancu generate` exits.
            sys.exit(exit_status(stop))
        if options["verbosity"] >= 2:
            for name, seconds in stats.steps.items():
                self.stdout.write(f"  {seconds:7.2f} s  {name}")
        phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in stats.phases.items())
        self.stdout.write(
            f"{stats.people} người, {stats.households} hộ, {stats.rows} dòng → cơ sở dữ liệu / database: "
            f"{stats.seconds:.1f} s ({phases}), {stats.people_per_second:,.0f} người/s "
            f"({stats.people} people, {stats.households} households, {stats.people_per_second:,.0f} people/s)"
        )

    @staticmethod
    def _interrupted() -> str:
        """What Ctrl-C left: the load is one transaction, which the interruption rolled back, unless all
        that was left to do was the ANALYZE that follows its commit."""
        if Citizen.objects.exists():
            return (
                "Đã dừng sau khi gói đã được nạp xong; chỉ còn thiếu thống kê của các bảng (ANALYZE). "
                "Stopped after the package was loaded; only the tables' statistics (ANALYZE) were not "
                "refreshed."
            )
        return (
            "Đã dừng: chưa nạp gì, cơ sở dữ liệu dân cư vẫn trống như trước; chạy lại lệnh để nạp. "
            "Stopped: nothing was loaded and the registry is empty as before; run the same command to load "
            "it."
        )
