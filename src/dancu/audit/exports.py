"""The access log as a file for the auditor: CSV (streamed) or XLSX (written row by row).

Column headers are in Vietnamese, as on the officers' other files; docs/officers.md gives them in English.
The time is Vietnam's, to the second, as on the page; the action, channel and purpose are written as the
page shows them in Vietnamese.

A file handed to an inquiry must let anyone check its rows against the sealed trail (audit/seals.py)
later: each row carries its id in the log and the seal that covers it (number, time, digest), or says it
is not sealed yet. The CSV is one table, read by tools that expect one header line, so the seals are in
its columns; the XLSX has them too, and a second sheet that states the newest seal that covers the rows
exported and, plainly, which of the newest rows are not sealed yet, in Vietnamese and English.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db import models
from django.http import HttpResponse
from django.utils import timezone, translation

from dancu.audit.models import AccessLog, AccessLogSeal
from dancu.audit.selectors import EXPORT_CHUNK, access_log_seal_of, access_log_seals_over
from dancu.lib import downloads
from dancu.lib.chunks import batched

HEADERS = [
    "Thời điểm",
    "Người đọc",
    "Đơn vị của người đọc",
    "Số định danh",
    "Họ và tên",
    "Việc",
    "Kênh",
    "Mục đích",
    "Ghi chú",
    "Số dòng",
    "Niêm phong số",
    "Niêm phong lúc",
    "Mã niêm phong",
]
# The seal cells of a row written after the newest seal, in both languages since they are the file's words.
NOT_SEALED = "Chưa niêm phong (not sealed yet)"
SEAL_SHEET = "Niêm phong"
SEAL_HEADERS = ["Mục", "Item", "Giá trị"]


def _vietnamese(choices: type[models.TextChoices]) -> dict[str, str]:
    with translation.override("vi"):
        return {value: str(label) for value, label in choices.choices}


def _time(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


class NewestRow:
    """The newest row an export has handed on so far, for the seal sheet written after the rows."""

    def __init__(self) -> None:
        self.id: int | None = None

    def seen(self, row_id: int) -> None:
        self.id = row_id if self.id is None else max(self.id, row_id)


def _sealed(rows: Iterable[AccessLog]) -> Iterator[tuple[AccessLog, AccessLogSeal | None]]:
    """Each row with the seal that covers it (None when not sealed yet), the seals read once per chunk."""
    for batch in batched(rows, EXPORT_CHUNK):
        ids = [row.pk for row in batch]
        seals = access_log_seals_over(min(ids), max(ids))
        starts = [seal.first_id for seal in seals]
        for row in batch:
            at = bisect.bisect_right(starts, row.pk) - 1
            yield row, seals[at] if at >= 0 and seals[at].last_id >= row.pk else None


def access_rows(rows: Iterable[AccessLog], newest: NewestRow | None = None) -> Iterator[list[Any]]:
    actions, channels = _vietnamese(AccessLog.Action), _vietnamese(AccessLog.Channel)
    for row, seal in _sealed(rows):
        if newest is not None:
            newest.seen(row.pk)
        # The unit answerable for the read, stored with it: an officer moved since takes no past read along.
        unit = row.reader_unit
        yield [
            _time(row.accessed_at),
            row.actor_label,
            str(unit) if unit is not None else "",
            row.citizen.pin,
            row.citizen.full_name,
            actions.get(row.action, row.action),
            channels.get(row.channel, row.channel),
            row.purpose,
            row.detail,
            row.pk,
            seal.pk if seal is not None else None,
            _time(seal.sealed_at) if seal is not None else "",
            seal.digest if seal is not None else NOT_SEALED,
        ]


def seal_rows(newest: NewestRow) -> Iterator[list[Any]]:
    """The seal sheet: the newest seal that covers the rows exported, and what is not sealed yet. Read
    after the rows, so that it speaks of the newest row the file holds."""
    if newest.id is None:
        yield ["Không có dòng nào được xuất.", "No rows were exported.", ""]
        return
    yield ["Dòng mới nhất đã xuất", "Newest row exported", newest.id]
    seal = access_log_seal_of(newest.id)
    if seal is None:
        yield [
            "Chưa có dấu niêm phong nào phủ các dòng đã xuất: chưa dòng nào được niêm phong.",
            "No seal covers the exported rows yet: none of them is sealed.",
            "",
        ]
        return
    yield [
        "Niêm phong mới nhất phủ các dòng đã xuất, số",
        "Newest seal covering the exported rows, number",
        seal.pk,
    ]
    yield ["Dòng đầu niêm phong này phủ", "First row it covers", seal.first_id]
    yield ["Dòng cuối niêm phong này phủ", "Last row it covers", seal.last_id]
    yield ["Mã niêm phong (SHA-256)", "Seal digest (SHA-256)", seal.digest]
    yield ["Thời điểm niêm phong (giờ Việt Nam)", "Sealed at (Vietnam time)", _time(seal.sealed_at)]
    if seal.last_id < newest.id:
        yield [
            f"Các dòng sau dòng #{seal.last_id} chưa được niêm phong: chưa thể đối chiếu chúng với "
            "chuỗi niêm phong.",
            f"The rows after row #{seal.last_id} are not sealed yet: they cannot be checked against the "
            "chain of seals yet.",
            f"#{seal.last_id + 1}–#{newest.id}",
        ]
    else:
        yield ["Mọi dòng đã xuất đều đã được niêm phong.", "Every exported row is sealed.", ""]


def access_log_file(rows: Iterable[AccessLog], *, file_format: str) -> HttpResponse:
    """The rows of `audit.selectors.access_log_export` as a download; the page and the API answer alike."""
    name = f"nhat-ky-truy-cap-{timezone.localdate().isoformat()}.{file_format}"
    newest = NewestRow()
    sheets: list[downloads.Sheet] = [
        ("Nhật ký truy cập", HEADERS, access_rows(rows, newest)),
        (SEAL_SHEET, SEAL_HEADERS, seal_rows(newest)),
    ]
    return downloads.download(file_format, name, sheets)
