"""The matcher's files: person-records CSV in (DESIGN.md), clusters and scored pairs out.

Input is read with the collection app's reader (`dancu.collection.readers`), which already refuses empty
files, files without a header or without the required columns, and reports damaged rows. Matching asks
more of a file than an import does, because every record must come back in the output under its id:
`record_id` is required, never blank and never repeated, and a damaged row stops the run rather than
being skipped. Every refusal is a `DomainError` whose `FieldError`s name the rule, in Vietnamese and
English.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from dancu.collection.readers import FileRejectedError, open_source, read_rows
from dancu.lib.errors import DomainError, FieldError
from dancu.matching.engine import MatchResult

# Errors listed per rule before the rest are counted: enough to find the pattern, short enough to read.
_SHOWN = 5
# Rows read between two progress reports of `read_records`: a million-record file takes from several seconds
# to half a minute to read, which the command spent silent before.
READ_PROGRESS_ROWS = 100_000


def _rows_text(numbers: list[int]) -> str:
    shown = ", ".join(str(number) for number in numbers[:_SHOWN])
    return shown + (f" (+{len(numbers) - _SHOWN})" if len(numbers) > _SHOWN else "")


def _at_rows(numbers: list[int]) -> tuple[str, str]:
    """Where in the file, in each language: "ở dòng 3" / "at row 3", "ở các dòng 3, 5" / "at rows 3, 5"."""
    if len(numbers) == 1:
        return f"ở dòng {numbers[0]}", f"at row {numbers[0]}"
    return f"ở các dòng {_rows_text(numbers)}", f"at rows {_rows_text(numbers)}"


def _explained(problem: FieldError, numbers: list[int]) -> tuple[str, str]:
    """The reader's message, in each language, as the damaged row's ("Dòng có 4 ô…") or, for many rows, as
    the first one's ("dòng 27: Dòng có ký tự…" / "row 27: The line…")."""
    vi, en = problem.message_vi.rstrip("."), problem.message_en.rstrip(".")
    if len(numbers) == 1:
        return vi, en
    return f"dòng {numbers[0]}: {vi}", f"row {numbers[0]}: {en}"


def read_records(
    path: Path, *, progress: Callable[[int], None] | None = None, progress_rows: int = READ_PROGRESS_ROWS
) -> tuple[list[dict[str, str]], int]:
    """Every row of a person-records file and the number of empty rows skipped, or a DomainError naming
    each broken rule. A row whose every cell is blank (a spreadsheet's left-over line) is no record and
    is skipped; a row with values but no record_id is an error. `progress` is told the rows read so far
    every `progress_rows` rows."""
    try:
        source = open_source(path)
    except FileRejectedError as exc:
        raise DomainError(FieldError("file", exc.code, exc.message_vi, exc.message_en)) from None
    if "record_id" not in source.columns:
        raise DomainError(
            FieldError(
                "record_id",
                "file.missing_columns",
                "Thiếu cột bắt buộc: record_id (mỗi bản ghi cần mã để ghi ra cụm của nó)",
                "Required columns are missing: record_id (each record needs an id to write its cluster)",
            )
        )
    rows: list[dict[str, str]] = []
    damaged: dict[str, list[int]] = {}
    # The reader's own words for each kind of damage, from its first row ("the line has 12 cells; the
    # header has 11", "not UTF-8 nor TCVN3, VNI or Windows-1258: save it as CSV UTF-8"): the rule's code
    # alone does not tell the engineer what to fix.
    explained: dict[str, FieldError] = {}
    blank_ids: list[int] = []
    seen: dict[str, int] = {}
    empty = 0
    repeated: dict[str, list[int]] = {}
    for row in read_rows(source):
        if progress is not None and row.number % progress_rows == 0:
            progress(row.number)
        if row.problems:
            for problem in row.problems:
                damaged.setdefault(problem.code, []).append(row.line)
                explained.setdefault(problem.code, problem)
            continue
        record_id = (row.values.get("record_id") or "").strip()
        # The cells are text (`Row.values`): joined, they are blank exactly when each of them is.
        if not "".join(row.values.values()).strip():
            empty += 1
            continue
        if not record_id:
            blank_ids.append(row.line)
            continue
        if record_id in seen:
            repeated.setdefault(record_id, [seen[record_id]]).append(row.line)
            continue
        seen[record_id] = row.line
        row.values["record_id"] = record_id
        rows.append(row.values)
    errors = [
        FieldError(
            "",
            code,
            f"Dòng hỏng ({code}) {_at_rows(numbers)[0]}: {_explained(explained[code], numbers)[0]}; "
            "hãy sửa tệp trước khi so khớp",
            f"Damaged rows ({code}) {_at_rows(numbers)[1]}: {_explained(explained[code], numbers)[1]}; "
            "fix the file before matching",
            params={"rows": numbers},
        )
        for code, numbers in damaged.items()
    ]
    if blank_ids:
        errors.append(
            FieldError(
                "record_id",
                "record_id.required",
                f"Mã bản ghi (record_id) để trống {_at_rows(blank_ids)[0]}",
                f"record_id is blank {_at_rows(blank_ids)[1]}",
                params={"rows": blank_ids},
            )
        )
    for record_id, numbers in list(repeated.items())[:_SHOWN]:
        errors.append(
            FieldError(
                "record_id",
                "record_id.duplicate",
                f"Mã bản ghi {record_id!r} lặp lại {_at_rows(numbers)[0]}: mỗi mã chỉ dùng một lần",
                f"record_id {record_id!r} is repeated {_at_rows(numbers)[1]}: each id is used once",
                params={"record_id": record_id, "rows": numbers},
            )
        )
    if errors:
        raise DomainError(errors)
    if not rows:
        raise DomainError(
            FieldError("file", "file.no_rows", "Tệp không có dòng dữ liệu nào", "The file has no data rows")
        )
    return rows, empty


def all_blank_error(count: int) -> DomainError:
    return DomainError(
        FieldError(
            "",
            "records.all_blank",
            f"Cả {count} bản ghi đều trống họ tên, ngày sinh, số định danh và CMND: không có gì để so khớp",
            f"All {count} records have a blank name, birth date, PIN and CMND: there is nothing to match on",
        )
    )


# The most records one person is expected to have in a file. A person appears once per source (household
# register, old CMND, CCCD, insurance, a campaign's sheet) and a few times by mistake within one; a cluster
# well beyond that is far likelier to be many people who share a common name and birth year ("Nguyễn Văn A",
# 1990) than one person, and is named so that the engineer reads its pairs before trusting it.
LARGE_CLUSTER = 10


def large_clusters(result: MatchResult, *, larger_than: int = LARGE_CLUSTER) -> list[tuple[str, int]]:
    """The clusters of more than `larger_than` records, largest first, as (cluster_id, records)."""
    sizes = Counter(result.clusters.values())
    return sorted(
        ((cluster_id, size) for cluster_id, size in sizes.items() if size > larger_than),
        key=lambda item: (-item[1], item[0]),
    )


def cluster_rows(result: MatchResult, order: list[str], deceased: set[str]) -> Iterator[dict[str, str]]:
    """`record_id, cluster_id, deceased` for every record, in the order of the input; a cluster is
    deceased when any of its records carries a date of death (the person died, whichever source says
    so: "sống" holds)."""
    dead_clusters = {result.clusters[record_id] for record_id in deceased if record_id in result.clusters}
    for record_id in order:
        cluster_id = result.clusters[record_id]
        yield {
            "record_id": record_id,
            "cluster_id": cluster_id,
            "deceased": "1" if cluster_id in dead_clusters else "0",
        }


# Splink names the level of a comparison with a blank side "null": a database word, which reads to a
# person checking a pair as if the field were broken. It is the level that counts neither way.
_LEVEL_WORDS = {"null": "missing on one side or both"}


def pair_rows(result: MatchResult) -> Iterator[dict[str, Any]]:
    """One row per kept pair: both ids, the cluster that joined them, the probability and weight, and for
    each field the comparison level that applied and its match weight (log2 Bayes factor), so a person can
    see why.

    `cluster_id` is the cluster both records were put in, blank when the pair stayed apart: the person
    asking why a cluster of the clusters file was formed reads its pairs by that one column, rather than
    by looking up every record id of the cluster."""
    fields = result.fields
    clusters = result.clusters
    for record in result.pairs.to_dict("records"):
        left, right = record["unique_id_l"], record["unique_id_r"]
        joined = clusters.get(left)
        row: dict[str, Any] = {
            "record_id_l": left,
            "record_id_r": right,
            "cluster_id": joined if joined is not None and joined == clusters.get(right) else "",
            "match_probability": f"{record['match_probability']:.6f}",
            "match_weight": f"{record['match_weight']:.3f}",
        }
        for name in fields:
            gamma = int(record[f"gamma_{name}"])
            label = result.level_labels[name].get(gamma, str(gamma))
            row[f"{name}_level"] = _LEVEL_WORDS.get(label, label)
            row[f"{name}_weight"] = f"{record[f'w_{name}']:.3f}"
        yield row


def pair_columns(result: MatchResult) -> list[str]:
    columns = ["record_id_l", "record_id_r", "cluster_id", "match_probability", "match_weight"]
    for name in result.fields:
        columns += [f"{name}_level", f"{name}_weight"]
    return columns


def write_csv(path: Path, columns: list[str], rows: Iterator[Mapping[str, Any]]) -> int:
    """Write rows to a UTF-8 CSV with a header; return how many were written."""
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            written += 1
    return written
