"""The access log as a file for the auditor: CSV (streamed) or XLSX (written row by row).

Column headers are in Vietnamese, as on the officers' other files; docs/officers.md gives them in English.
The time is Vietnam's, to the second, as on the page; the action, channel and purpose are written as the
page shows them in Vietnamese.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db import models
from django.http import HttpResponse
from django.utils import timezone, translation

from dancu.audit.models import AccessLog
from dancu.lib import downloads

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
]


def _vietnamese(choices: type[models.TextChoices]) -> dict[str, str]:
    with translation.override("vi"):
        return {value: str(label) for value, label in choices.choices}


def access_rows(rows: Iterable[AccessLog]) -> Iterator[list[Any]]:
    actions, channels = _vietnamese(AccessLog.Action), _vietnamese(AccessLog.Channel)
    for row in rows:
        # The unit answerable for the read, stored with it: an officer moved since takes no past read along.
        unit = row.reader_unit
        yield [
            timezone.localtime(row.accessed_at).strftime("%Y-%m-%d %H:%M:%S"),
            row.actor_label,
            str(unit) if unit is not None else "",
            row.citizen.pin,
            row.citizen.full_name,
            actions.get(row.action, row.action),
            channels.get(row.channel, row.channel),
            row.purpose,
            row.detail,
        ]


def access_log_file(rows: Iterable[AccessLog], *, file_format: str) -> HttpResponse:
    """The rows of `audit.selectors.access_log_export` as a download; the page and the API answer alike."""
    name = f"nhat-ky-truy-cap-{timezone.localdate().isoformat()}.{file_format}"
    return downloads.download(file_format, name, [("Nhật ký truy cập", HEADERS, access_rows(rows))])
