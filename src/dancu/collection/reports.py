"""What an import produced, for the officer who ran it: counts by rule, and the rejected rows as XLSX."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from django.http import FileResponse, HttpResponse

from dancu.audit.services import Actor
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.services import import_rejected_exported
from dancu.lib.downloads import spreadsheet_text
from dancu.registry.rules import FIELD_LABELS, led_by_label, names_its_field, rule_summary


@dataclass(frozen=True)
class RuleCount:
    """One line of a report by rule: the rule's code, what it says (empty for a code the catalogue does
    not know), and how many times it was found; for a rule counted field by field, the field it was found
    on (empty otherwise, and for the issues of a run made before the fields were kept)."""

    code: str
    message: str
    count: int
    field: str = ""
    # The columns the count was found in, as people name them ("Họ, chữ đệm và tên (2) · Họ tên cha (1)"):
    # the message of a rule that is not about its field alone says "Thông tin" where the field would be,
    # and without them the officer would have to open the rejected rows to learn which column to correct.
    columns: str = ""


def _label(field: str, language: str) -> str:
    labels = FIELD_LABELS.get(field, (field, field))
    return labels[1] if language.startswith("en") else labels[0]


def _columns(per_field: list[tuple[str, int]], language: str) -> str:
    """The fields a count was found in, the most frequent first, each with its share when there are two
    or more; empty for a rule about a row rather than a cell of it (a ragged line), or a run made before
    the fields were kept."""
    if len(per_field) == 1:
        return _label(per_field[0][0], language)
    return " · ".join(f"{_label(name, language)} ({n})" for name, n in per_field)


def by_rule(
    counts: Mapping[str, int],
    *,
    fields: Mapping[str, Mapping[str, int]] | None = None,
    language: str = "vi",
) -> list[RuleCount]:
    """A run's counts by rule (`ImportRun.issue_counts`) or by repair (`repair_counts`), the most frequent
    first, each with the rule's message in the reader's language: a commune officer reads the message, the
    code is what the rules library and the rejected rows' workbook name it by. A rule whose message is
    about its field alone ("Chưa điền «…»") is given one line per field (`fields`, the run's
    `issue_fields`), the most frequent first, each naming its field; what the fields do not account for
    (a run made before they were kept) keeps a line of its own, said without a field."""
    lines = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        found = sorted(
            ((name, n) for name, n in (fields or {}).get(code, {}).items() if name and n > 0),
            key=lambda item: (-item[1], item[0]),
        )
        split = found if names_its_field(code) else []
        lines += [
            RuleCount(
                code=code,
                message=rule_summary(code, language=language, field=name),
                count=n,
                field=name,
                columns=_label(name, language),
            )
            for name, n in split
        ]
        rest = count - sum(n for _name, n in split)
        if rest > 0:
            lines.append(
                RuleCount(
                    code=code,
                    message=rule_summary(code, language=language),
                    count=rest,
                    # What the split lines leave is what the fields do not account for: no column to name.
                    columns="" if split else _columns(found, language),
                )
            )
    return lines


def sentences(parts: Iterable[str]) -> str:
    """The parts as one text of sentences: "Thiếu ngày sinh. Giới tính: không hợp lệ." The rules' messages
    mostly end with a full stop already, and a separator after it would read ".;"."""
    return " ".join(
        part if part.endswith((".", "!", "?", "…")) else f"{part}." for part in map(str.strip, parts) if part
    )


def rejected_rows_xlsx(run: ImportRun, path: Path, *, language: str = "vi") -> int:
    """Write the rejected rows, each with its reasons beside it; returns how many were written."""
    # openpyxl (and NumPy, which it loads) is imported when a workbook is written, not by every process
    # that loads the URL configuration.
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("rejected")
    columns = list(run.columns)
    # The first three titles in the reader's language, the file's own columns after them, in its order and
    # titled as it titled them ("Họ và tên", not full_name), so that the officer who corrects the rows can
    # import them again under the headers the office knows. A run made before the header's cells were kept
    # titles them with the registry's names for them, as the run knows them.
    names = list(run.header) if len(run.header) == len(columns) else columns
    # The header's cells are the uploaded file's, as free as its other cells: one can be a formula or hold
    # a character no workbook can store, and it is written as any cell is.
    titles = (
        ("Row", "Reasons", "Rule codes") if language.startswith("en") else ("Dòng", "Lý do", "Mã quy tắc")
    )
    sheet.append([*titles, *(spreadsheet_text(name) for name in names)])
    written = 0
    rejected = StagingRecord.objects.filter(run=run, status=StagingRecord.Status.REJECTED).order_by(
        "row_number"
    )
    for record in rejected.iterator(chunk_size=2000):
        errors = [issue for issue in record.issues if issue.get("severity") == "error"]
        # Each reason led by its column as people read it ("Giới tính: …", not "gender: …"), one sentence
        # after another.
        reasons = sentences(
            led_by_label(
                issue["field"],
                issue["message_en" if language.startswith("en") else "message_vi"],
                language=language,
            )
            for issue in errors
        )
        codes = ", ".join(issue["code"] for issue in errors)
        sheet.append(
            [
                # The row's number in the file, as Excel or LibreOffice shows it beside the row.
                record.file_row,
                spreadsheet_text(reasons),
                codes,
                *(spreadsheet_text(record.raw.get(name, "")) for name in columns),
            ]
        )
        written += 1
    workbook.save(path)
    return written


def rejected_rows_download(run: ImportRun, *, language: str, actor: Actor, channel: str) -> HttpResponse:
    """The rejected rows' workbook as a download (the run's page and the API offer the same one). The
    rows are the people of the file with their data, so each download is recorded, naming who took it,
    how many rows and by which way (`services.import_rejected_exported`)."""
    # The workbook is written to a temporary file that is gone once the response is sent.
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 - closed by the response
    written = rejected_rows_xlsx(run, Path(handle.name), language=language)
    import_rejected_exported(actor=actor, run=run, rows=written, channel=channel)
    handle.seek(0)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"import-{run.pk}-rejected.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    # A streamed file is not an HttpResponse to the type checker, though Django and ninja answer it as one.
    return cast(HttpResponse, response)


def summary_lines(run: ImportRun) -> list[str]:
    lines = [
        f"Nguồn / source: {run.source}  ·  tệp / file: {run.file_name}",
        f"Số dòng đã đọc / rows read: {run.rows_read:,}",
        f"  tự động duyệt / approved: {run.rows_accepted:,}",
        f"  chờ xem xét / waiting for review: {run.rows_review:,}",
        f"  bị từ chối / rejected: {run.rows_rejected:,}",
        f"  có cảnh báo / with warnings: {run.rows_with_warnings:,}",
        f"  đã sửa tự động / repaired: {run.rows_repaired:,}",
        f"Đã ghi vào CSDL / written to the registry: {run.rows_applied:,}",
        f"Đã đưa vào hàng chờ xem xét / queued for review: {run.rows_queued:,}",
    ]
    for title, counts, fields in (
        ("Theo quy tắc / by rule:", run.issue_counts, run.issue_fields),
        ("Sửa tự động / repairs:", run.repair_counts, None),
    ):
        if counts:
            lines.append(title)
            # The code, the count, then what the rule says (in Vietnamese, as the rest of the report).
            lines += [
                f"  {line.code:<28} {line.count:>9,}  {line.message}".rstrip()
                for line in by_rule(counts, fields=fields)
            ]
    return lines
