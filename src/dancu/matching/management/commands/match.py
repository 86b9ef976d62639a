"""`dancu match`: find the records that are the same person, in a file or in the registry.

dancu match FILE.csv --out CLUSTERS.csv [--pairs PAIRS.csv] [--backend duckdb|spark] [--threshold P]
dancu match --registry [--backend duckdb|spark] [--threshold P]
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from dancu.collection.readers import FileRejectedError, check_regular_file
from dancu.lib.command_options import check_output_files, option_date, write_failed
from dancu.lib.errors import DomainError, command_error, command_error_naming_rules
from dancu.lib.partial_date import MAX_YEAR, MIN_YEAR
from dancu.matching.engine import DEFAULT_BLOCK_CAP, DEFAULT_THRESHOLD, run_matcher
from dancu.matching.files import (
    LARGE_CLUSTER,
    all_blank_error,
    cluster_rows,
    large_clusters,
    pair_columns,
    pair_rows,
    read_records,
    write_csv,
)
from dancu.matching.prepare import AddressUnits, prepare_records

# The days a match may be "as of": those a record's own dates may hold (lib/partial_date.py). Ages, dates in
# the future and two-digit years are all reckoned from it, and a record can be no later than it.
EARLIEST_TODAY = date(MIN_YEAR, 1, 1)
LATEST_TODAY = date(MAX_YEAR, 12, 31)

# Clusters too large to be one person named one by one; the rest are counted.
_SHOWN_CLUSTERS = 5


def _domain_error(exc: DomainError, *, source: Path | None = None) -> CommandError:
    """The errors, one a line; about a file's content, each line begins with the file's path (the officer
    may be matching several files, and the message is read after the run, in a log)."""
    return command_error_naming_rules(exc, where=str(source) if source is not None else "")


def _probability(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError("threshold.range: a match probability strictly between 0 and 1")
    return value


class Command(BaseCommand):
    help = (
        "Tìm các bản ghi cùng một người trong tệp CSV hồ sơ nhân khẩu hoặc trong cơ sở dữ liệu. "
        "Find the records that are the same person in a person-records CSV (writes record_id,cluster_id,"
        "deceased for every record) or, with --registry, in the registry and the staged rows (fills the "
        "review queue)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="person-records CSV (or XLSX) to deduplicate")
        parser.add_argument("--out", default="", help="clusters CSV to write: record_id,cluster_id,deceased")
        parser.add_argument("--pairs", default="", help="also write the scored pairs, field by field")
        parser.add_argument("--backend", choices=("duckdb", "spark"), default="duckdb")
        parser.add_argument(
            "--threshold",
            type=_probability,
            default=DEFAULT_THRESHOLD,
            help=f"match probability at which two records are the same person (default {DEFAULT_THRESHOLD})",
        )
        parser.add_argument(
            "--block-cap",
            type=int,
            default=DEFAULT_BLOCK_CAP,
            help="largest block a blocking key may form; larger ones are left out with a warning",
        )
        parser.add_argument("--registry", action="store_true", help="match the registry and staged rows")
        parser.add_argument("--today", default="", help="the date the data is as of (YYYY-MM-DD)")

    def _say(self, message: str) -> None:
        # Progress goes to stderr, so that stdout holds the result lines only.
        sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
        sys.stderr.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        if options["block_cap"] < 2:
            raise command_error("--block-cap phải từ 2 trở lên", "--block-cap must be at least 2")
        today = (
            option_date("--today", options["today"], earliest=EARLIEST_TODAY, latest=LATEST_TODAY)
            if options["today"]
            else timezone.localdate()
        )
        if options["registry"]:
            if options["file"] or options["out"] or options["pairs"]:
                raise command_error(
                    "--registry không đi cùng tệp, --out hay --pairs",
                    "--registry takes no file, --out or --pairs",
                )
            self._registry(options, today)
            return
        if not options["file"] or not options["out"]:
            raise command_error(
                "Cần tệp vào và --out (hoặc --registry)", "A FILE and --out are required (or --registry)"
            )
        outputs = {"--out": Path(options["out"])}
        if options["pairs"]:
            outputs["--pairs"] = Path(options["pairs"])
        # Matching a large file takes an hour: a file it could not write, or one it would destroy (the input
        # named as the output), is refused before the work, not found after it.
        try:
            check_regular_file(Path(options["file"]))
        except FileRejectedError as exc:
            raise CommandError(f"[{exc.code}] {exc.message_vi} / {exc.message_en}") from None
        check_output_files(outputs, inputs={"FILE": Path(options["file"])})
        self._file(options, today)

    def _file(self, options: dict[str, Any], today: date) -> None:
        started = time.monotonic()
        try:
            rows, empty = read_records(
                Path(options["file"]), progress=lambda n: self._say(f"đọc / reading {n:,} dòng / rows")
            )
        except DomainError as exc:
            raise _domain_error(exc, source=Path(options["file"])) from None
        self._say(
            f"đọc / read {len(rows):,} bản ghi / records ({empty} dòng trống bỏ qua / empty rows skipped)"
        )
        units = AddressUnits.from_database()
        if not units.resolves:
            self._say(
                "cảnh báo: chưa nạp đơn vị hành chính (dancu load_units), địa chỉ chỉ so như văn bản / "
                "warning: administrative units not loaded (dancu load_units), addresses compared as text only"
            )
        # The first count of prepared records comes only once a twentieth of the work is done, after the
        # distinct cells of every column are numbered: seconds at a million records.
        self._say(f"chuẩn hóa / preparing {len(rows):,} bản ghi / records")
        prepared = prepare_records(
            rows,
            today=today,
            units=units,
            progress=lambda n: self._say(f"chuẩn hóa / prepared {n:,}"),
            workers=settings.DANCU_MATCH_WORKERS,
        )
        # The raw rows are a gigabyte at a million records, and nothing reads them after preparation.
        del rows
        if len(prepared.blank) == len(prepared):
            raise _domain_error(all_blank_error(len(prepared)), source=Path(options["file"]))
        if prepared.blank:
            self._say(
                f"cảnh báo: {len(prepared.blank)} bản ghi trống mọi trường nhận dạng, mỗi bản ghi một cụm "
                f"(vd. {prepared.blank[0]}) / warning: {len(prepared.blank)} records blank in every "
                f"identifying field, each its own cluster (e.g. {prepared.blank[0]})"
            )
        for record_id in prepared.unreadable_death_dates[:5]:
            self._say(
                f"cảnh báo: không đọc được death_date của {record_id} / warning: unreadable death_date of "
                f"{record_id} (rule date.format), ignored"
            )
        result = run_matcher(
            prepared,
            backend=options["backend"],
            threshold=options["threshold"],
            block_cap=options["block_cap"],
            progress=self._say,
        )
        for block in result.summary["capped_blocks"]:
            self._say(
                f"cảnh báo: khối quá lớn bị bỏ qua / warning: block capped (rule blocking.block_cap): "
                f"{block['rule']} = {block['key']!r}, {block['records']:,} records > {options['block_cap']:,}"
            )
        out = Path(options["out"])
        try:
            written = write_csv(
                out,
                ["record_id", "cluster_id", "deceased"],
                cluster_rows(result, prepared.columns["unique_id"], prepared.deceased),
            )
        except OSError as exc:
            # Checked before matching, the file can still fail now (a full disk).
            raise write_failed("--out", out, exc) from None
        clusters = len(set(result.clusters.values()))
        # A matcher that joins hundreds of namesakes into one person does so silently in the counts above:
        # the clusters too large to be one person are named, with where to read why they were joined.
        large = large_clusters(result)
        for cluster_id, size in large[:_SHOWN_CLUSTERS]:
            self._say(
                f"cảnh báo: cụm {cluster_id!r} gồm {size:,} bản ghi, quá nhiều cho một người "
                f"(> {LARGE_CLUSTER}): có thể là nhiều người trùng họ tên và năm sinh, hãy xem các cặp của "
                f"cụm trong --pairs / warning: cluster {cluster_id!r} has {size:,} records, too many for one "
                f"person (> {LARGE_CLUSTER}; rule clusters.too_large): likely several people sharing a name "
                "and birth year; read its pairs in --pairs before trusting it"
            )
        if len(large) > _SHOWN_CLUSTERS:
            self._say(
                f"cảnh báo: và {len(large) - _SHOWN_CLUSTERS:,} cụm quá lớn khác / warning: and "
                f"{len(large) - _SHOWN_CLUSTERS:,} more clusters too large (rule clusters.too_large)"
            )
        if options["pairs"]:
            pairs = Path(options["pairs"])
            try:
                write_csv(pairs, pair_columns(result), pair_rows(result))
            except OSError as exc:
                raise write_failed(
                    "--pairs",
                    pairs,
                    exc,
                    vi=f"các cụm đã ghi vào {out}",
                    en=f"the clusters were written to {out}",
                ) from None
        summary = result.summary
        self.stdout.write(
            f"{written:,} bản ghi → {clusters:,} cụm / {written:,} records → {clusters:,} clusters; "
            f"{summary['candidate_pairs']:,} cặp ứng viên / candidate pairs, "
            f"{summary['pairs_at_threshold']:,} ≥ {options['threshold']}; "
            f"{time.monotonic() - started:.1f} s → {options['out']}"
        )

    def _registry(self, options: dict[str, Any], today: date) -> None:
        from dancu.audit.services import Actor
        from dancu.matching.models import MatchRun
        from dancu.matching.services.runs import match_run_registry

        actor = Actor(system="dancu match --registry")
        try:
            run = match_run_registry(
                actor=actor,
                backend=options["backend"],
                threshold=options["threshold"],
                block_cap=options["block_cap"],
                today=today,
                progress=self._say,
            )
        except DomainError as exc:
            raise _domain_error(exc) from None
        self.stdout.write(
            f"lần chạy / run {run.pk}: {run.records:,} bản ghi / records, {run.candidate_pairs:,} cặp ứng "
            f"viên / candidate pairs, {run.proposed_pairs:,} cặp đề xuất / pairs proposed for review"
        )
        returned = run.summary.get("returned", 0)
        if returned:
            self.stdout.write(
                f"{returned:,} cặp đã rút trước đây được đề xuất lại, chờ xem xét / pairs withdrawn before "
                "proposed again, back in the queue"
            )
        withdrawn = run.summary.get("withdrawn", 0)
        if withdrawn:
            self.stdout.write(
                f"{withdrawn:,} cặp của lần chạy trước không còn được đề xuất, đã rút khỏi hàng chờ / "
                "pairs of earlier runs no longer proposed, withdrawn from the queue"
            )
        if run.status == MatchRun.Status.FINISHED and run.auto_merge_threshold is not None:
            # DANCU_MATCH_AUTO_MERGE is set (docs/merging.md): the run decided its most certain pairs
            # through the review's automatic merge before it closed.
            decided, waiting = run.summary.get("auto_merged", 0), run.summary.get("auto_merge_waiting", 0)
            self.stdout.write(
                f"tự động / automatic (≥ {run.auto_merge_threshold}): {decided:,} cặp đã quyết định / "
                f"pairs decided, {waiting:,} cặp chờ cán bộ / pairs waiting for an officer"
            )
