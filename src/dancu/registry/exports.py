"""The registry's files: the people staying in an area, as CSV or XLSX (lib/downloads streams them)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from django.http import HttpResponse

from dancu.geo.models import AdminUnit
from dancu.lib import downloads
from dancu.registry.models import AbsenceDeclaration, Residence
from dancu.registry.selectors import stay_home, stay_open_absences

STAY_HEADERS = [
    "Số định danh",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Địa chỉ tạm trú",
    "Xã/phường tạm trú",
    "Tạm trú từ ngày",
    "Tạm trú đến ngày",
    "Đã hết hạn",
    "Nơi thường trú",
    "Tạm vắng",
]


def _absences_text(stay: Residence) -> str:
    """The person's declarations not yet over, as the list marks them, with their days: the file is
    taken door to door, and a person away is not at the address."""
    parts = []
    for absence in stay_open_absences(stay):
        if absence.status == AbsenceDeclaration.Status.CURRENT:
            parts.append(f"đang tạm vắng đến {absence.ends_on:%d/%m/%Y}")
        else:
            parts.append(f"sắp đi {absence.starts_on:%d/%m/%Y} – {absence.ends_on:%d/%m/%Y}")
    return "; ".join(parts)


def stay_rows(stays: Iterable[Residence], *, today: date) -> Iterator[list[Any]]:
    """One row per stay, as the list shows it; dates as the pages write them (dd/mm/yyyy)."""
    for stay in stays:
        citizen = stay.citizen
        home = stay_home(stay)
        expires_on = stay.expires_on
        yield [
            citizen.pin,
            citizen.full_name,
            str(citizen.birth_date),
            citizen.get_sex_display(),
            stay.address_detail,
            str(stay.commune),
            f"{stay.registered_on:%d/%m/%Y}",
            f"{expires_on:%d/%m/%Y}" if expires_on else "",
            "có" if stay.expired_on(today) else "",
            f"{home.address_detail}, {home.commune}" if home is not None else "",
            _absences_text(stay),
        ]


def stays_file(
    stays: Iterable[Residence], *, area: AdminUnit | None, file_format: str, today: date
) -> HttpResponse:
    """The stays of an area as a download, named after the area (None: the whole country) and the day."""
    name = f"nguoi-tam-tru-{area.code if area else 'VN'}-{today.isoformat()}.{file_format}"
    return downloads.download(
        file_format, name, [("Người tạm trú", STAY_HEADERS, stay_rows(stays, today=today))]
    )
