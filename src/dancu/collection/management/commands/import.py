"""`dancu import FILE --source NAME`: a legacy person-records file (CSV or XLSX) into staging records.

Run it again after a crash or Ctrl-C and it continues after the last committed row. `dancu import --discard
RUN --reason TEXT` gives up a run that cannot be read to its end (`services.import_discard`).
"""

# The command is named after what it does, `dancu import`; Django takes the name from the module.
# ruff: noqa: N999

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from dancu.audit.services import Actor
from dancu.collection.models import ImportRun
from dancu.collection.readers import FileRejectedError, Source, check_regular_file
from dancu.collection.reports import rejected_rows_xlsx, summary_lines
from dancu.collection.services import (
    DEFAULT_BATCH_SIZE,
    MAX_BATCH_SIZE,
    ImportDiscardedError,
    ImportPolicy,
    import_discard,
    import_fail,
    import_promote,
    import_rows,
    import_start,
    import_stop,
)
from dancu.collection.workers import MAX_WORKERS
from dancu.lib.command_options import check_output_files, write_failed
from dancu.lib.errors import DomainError, command_error, command_error_naming_rules
from dancu.lib.progress import progress_bar
from dancu.lib.termination import StopRequest, Terminated, exit_status, sigterm_stops
from dancu.registry.bulk import units_loaded


class Command(BaseCommand):
    help = (
        "Nhập tệp dữ liệu dân cư cũ (CSV/XLSX) vào vùng chờ duyệt; chạy lại để tiếp tục sau khi bị ngắt. "
        "Import a legacy person-records file (CSV or XLSX) into staging; run again to resume; --discard RUN "
        "--reason TEXT gives up a run that cannot be read to its end."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, nargs="?")
        # Required to import (checked in `handle`): `--discard` names its run by number and reads no file.
        parser.add_argument("--source", help="name of the legacy source (e.g. 'So ho khau Hoai Duc')")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"rows per transaction, 1 to {MAX_BATCH_SIZE:,} (default {DEFAULT_BATCH_SIZE:,})",
        )
        parser.add_argument(
            "--review-everything",
            action="store_true",
            help="send clean rows to the review queue too, instead of approving them "
            "(the default follows DANCU_IMPORT_AUTO_APPROVE)",
        )
        parser.add_argument(
            "--stage-only",
            action="store_true",
            help="stop after staging: approved rows are not written to the registry nor other rows queued "
            "for review (run the command again without it to do so)",
        )
        parser.add_argument(
            "--same-file-again",
            action="store_true",
            help="import a file whose content was already imported under another source name (refused "
            "without it: people without a PIN or CMND would get a second form)",
        )
        parser.add_argument(
            "--rejected-xlsx", type=Path, help="where to write the rejected rows (default FILE.rejected.xlsx)"
        )
        parser.add_argument(
            "--workers",
            type=int,
            help="processes that normalize rows beside this one, 0 to "
            f"{MAX_WORKERS} (default DANCU_IMPORT_WORKERS for files of 10,000 rows or more; 0 works alone)",
        )
        parser.add_argument(
            "--discard",
            type=int,
            metavar="RUN",
            help="instead of importing, give up import run RUN, one that failed on its file or was "
            "interrupted while reading it: its rows stay with its report but wait for no one, and its file "
            "may be imported again as a new run (needs --reason; no FILE)",
        )
        parser.add_argument(
            "--reason", help="with --discard: why, 1 to 500 characters, kept in the audit trail"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["discard"] is not None:
            self._discard(options)
            return
        if options["reason"] is not None:
            raise command_error(
                "--reason chỉ dùng với --discard",
                "--reason goes with --discard only, to say why a run is given up",
            )
        if options["file"] is None or options["source"] is None:
            raise command_error(
                "cần FILE và --source (hoặc --discard RUN --reason LÝ_DO)",
                "FILE and --source are required (or --discard RUN --reason TEXT)",
            )
        path: Path = options["file"]
        # Every option is checked before the run is created: a refusal after it would leave a run behind.
        if not 1 <= options["batch_size"] <= MAX_BATCH_SIZE:
            raise command_error(
                f"--batch-size phải từ 1 đến {MAX_BATCH_SIZE:,}, không phải {options['batch_size']}",
                f"--batch-size must be from 1 to {MAX_BATCH_SIZE:,}, not {options['batch_size']}",
            )
        if options["workers"] is not None and not 0 <= options["workers"] <= MAX_WORKERS:
            raise command_error(
                f"--workers phải từ 0 đến {MAX_WORKERS}, không phải {options['workers']}",
                f"--workers must be from 0 to {MAX_WORKERS}, not {options['workers']}",
            )
        # The report is written once the run is done: a folder that does not exist or cannot be written is
        # found now, not after an hour of rows. The default target beside the file is checked too (a file
        # read from a read-only share needs --rejected-xlsx elsewhere), since rows may be rejected.
        target: Path = options["rejected_xlsx"] or path.with_name(path.name + ".rejected.xlsx")
        # Without the units every address maps to no commune: the whole file would be rejected, and the
        # run, done, would be resumed as done (nothing re-read) once `dancu setup` had loaded them.
        if not units_loaded():
            raise command_error(
                "Chưa nạp đơn vị hành chính: hãy chạy dancu setup trước",
                "administrative units are not loaded: run dancu setup first",
            )
        actor = Actor(system="import")
        try:
            # A mistyped FILE is named as such, before its report's folder is found missing.
            check_regular_file(path)
            check_output_files({"--rejected-xlsx": target}, inputs={"FILE": path})
            run, source = import_start(
                path=path,
                source_name=options["source"],
                actor=actor,
                same_file_again=options["same_file_again"],
            )
        except FileRejectedError as exc:
            # The source name's rules are about the option, not the file.
            about = "--source" if exc.code.startswith("source.") else path
            raise CommandError(f"{about}: [{exc.code}] {exc.message_vi} / {exc.message_en}") from None
        if run.rows_read:
            self.stderr.write(f"Tiếp tục sau dòng {run.rows_read:,} / resuming after row {run.rows_read:,}")
        # The file's rows were counted when it was identified: the bar has its end, and an estimate, at once.
        bar = progress_bar(initial=run.rows_read, total=run.rows_total, unit=" dòng")
        bar.set_description("Đọc, kiểm tra / reading, checking")

        with sigterm_stops() as stop:
            run = self._stage(run, source=source, actor=actor, options=options, bar=bar, stop=stop)
            if not options["stage_only"] and run.promoted_at is None:
                run = self._promote(run, actor, stop)
        for line in summary_lines(run):
            self.stdout.write(line)
        if run.rows_rejected:
            try:
                written = rejected_rows_xlsx(run, target)
            except OSError as exc:
                # Checked at the start, the target can still fail now (a full disk, a file of /proc that
                # opens but takes no writes). The run itself is committed: only the report is missing.
                raise write_failed(
                    "--rejected-xlsx",
                    target,
                    exc,
                    vi=f"lần nhập #{run.pk} đã lưu đủ trong CSDL; chạy lại lệnh với --rejected-xlsx "
                    "đường dẫn khác để ghi báo cáo này",
                    en=f"import run #{run.pk} is saved in the database; run the same command again with "
                    "--rejected-xlsx elsewhere to write this report",
                ) from None
            self.stdout.write(f"Dòng bị từ chối / rejected rows ({written:,}): {target}")

    def _discard(self, options: dict[str, Any]) -> None:
        """Give up the run `--discard` names, with `--reason`, as the server's own command (`system:import`):
        its operator holds the server, as a supervisor of its area holds the run's page."""
        if options["file"] is not None or options["source"] is not None:
            raise command_error(
                "--discard không nhận FILE hay --source: lần nhập được chỉ bằng số của nó",
                "--discard takes no FILE nor --source: the run is named by its number",
            )
        number = options["discard"]
        run = ImportRun.objects.filter(pk=number).first()
        if run is None:
            raise command_error(f"không có lần nhập #{number}", f"there is no import run #{number}")
        try:
            run = import_discard(actor=Actor(system="import"), run=run, reason=options["reason"] or "")
        except DomainError as exc:
            raise command_error_naming_rules(exc, where=f"#{number}") from None
        self.stdout.write(
            f"Đã huỷ lần nhập #{run.pk} ({run.source}, {run.file_name}): {run.rows_read:,} dòng đã đọc "
            "giữ lại cùng báo cáo, không còn chờ ai; có thể nhập lại tệp thành lần nhập mới. / Import "
            f"#{run.pk} discarded ({run.source}, {run.file_name}): the {run.rows_read:,} rows read stay with "
            "its report and wait for no one; the file may be imported again as a new run."
        )

    def _stage(
        self,
        run: ImportRun,
        *,
        source: Source,
        actor: Actor,
        options: dict[str, Any],
        bar: Any,
        stop: StopRequest,
    ) -> ImportRun:
        """The file's rows not yet committed, read, checked and staged, with a bar."""

        def progress(current: ImportRun) -> None:
            bar.update(current.rows_read - bar.n)
            # After each batch's commit: where SIGTERM stops the run with nothing half-written.
            stop.check()

        try:
            run = import_rows(
                run=run,
                source=source,
                actor=actor,
                policy=ImportPolicy(auto_approve_clean=False)
                if options["review_everything"]
                else ImportPolicy.from_settings(),
                batch_size=options["batch_size"],
                on_batch=progress,
                workers=options["workers"],
            )
        except KeyboardInterrupt as stopped:
            bar.close()
            run = self._stopped(run, stopped, actor)
            self.stderr.write(
                f"Đã dừng{self._by(stopped)} sau {run.rows_read:,} dòng đã lưu; chạy lại lệnh để tiếp tục. "
                f"Stopped{self._by(stopped)} after {run.rows_read:,} committed rows; run the same command "
                "to resume."
            )
            sys.exit(exit_status(stopped))
        except ImportDiscardedError:
            bar.close()
            raise CommandError(
                f"Lần nhập #{run.pk} đã bị huỷ trong khi lệnh đang chạy; không ghi thêm dòng nào. Chạy lại "
                f"lệnh để nhập tệp thành một lần nhập mới. / Import #{run.pk} was discarded while this "
                "command ran; no more rows were written. Run the command again to import the file as a new "
                "run."
            ) from None
        except FileRejectedError as exc:
            # A file damaged past its header: the rows before the damage are committed, the run is
            # failed with it, and the bar is closed first, so that its line does not run into the error's.
            bar.close()
            import_fail(run=run, error=exc, actor=actor)
            raise CommandError(
                f"{options['file']}: [{exc.code}] {exc.message_vi} / {exc.message_en}"
            ) from None
        bar.close()
        return run

    def _promote(self, run: ImportRun, actor: Actor, stop: StopRequest) -> ImportRun:
        """Approved rows into the registry, the others into their communes' review queues, with a bar."""
        waiting = run.rows_accepted + run.rows_review
        bar = progress_bar(total=waiting, unit=" bản ghi")
        # Named in both languages, as the reading step is: a log read by an operator who reads no Vietnamese
        # says what the step does.
        bar.set_description("Ghi CSDL, hàng chờ / writing, queuing")
        done = run.rows_applied + run.rows_queued
        bar.update(done)

        def progress(current: ImportRun) -> None:
            # A row rejected on the way (its address maps to no commune) leaves the rows to promote: the
            # end moves with them, so that a finished promotion ends at its end, as the page's bar does.
            bar.total = current.rows_accepted + current.rows_review
            bar.update(current.rows_applied + current.rows_queued - bar.n)
            stop.check()  # after each chunk's commit

        try:
            # SIGTERM during the last batch of staging stops here, before any row is written.
            stop.check()
            run = import_promote(run=run, on_batch=progress)
        except KeyboardInterrupt as stopped:
            bar.close()
            run = self._stopped(run, stopped, actor)
            written = run.rows_applied + run.rows_queued
            self.stderr.write(
                f"Đã dừng{self._by(stopped)} sau {written:,} bản ghi đã ghi; chạy lại lệnh để tiếp tục. "
                f"Stopped{self._by(stopped)} after {written:,} records written; run the same command to "
                "resume."
            )
            sys.exit(exit_status(stopped))
        bar.close()
        return run

    @staticmethod
    def _by(stop: KeyboardInterrupt) -> str:
        return " (SIGTERM)" if isinstance(stop, Terminated) else ""

    def _stopped(self, run: ImportRun, stop: KeyboardInterrupt, actor: Actor) -> ImportRun:
        """The run marked interrupted at once, so that its page says so. The open batch was rolled back
        on the way out; if the database is what failed to answer, the workers' check marks it later."""
        try:
            return import_stop(run=run, actor=actor, terminated=isinstance(stop, Terminated))
        except DatabaseError as exc:
            self.stderr.write(f"{exc.__class__.__name__}: {exc}".strip())
            return run
