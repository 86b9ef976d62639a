"""What a card shows: the printed data per the current template, its QR payload and its MRZ lines.

The printed data is frozen on the card when it is produced (`Card.printed`): the registry record may change
later, the card in the citizen's pocket does not.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dancu.cards import mrz, qr
from dancu.lib.partial_date import PartialDate
from dancu.registry.models import Citizen, Residence
from dancu.registry.reference import ETHNICITIES


def _residence_text(citizen: Citizen) -> str:
    current = [r for r in citizen.residences.all() if r.ended_on is None]
    for kind in (Residence.Kind.PERMANENT, Residence.Kind.TEMPORARY, Residence.Kind.CURRENT):
        for residence in current:
            if residence.kind == kind:
                return f"{residence.address_detail}, {residence.commune.full_name()}"
    return ""


def card_printed_data(citizen: Citizen) -> dict[str, Any]:
    """The fields of the card template (mẫu thẻ căn cước 2024), as plain JSON values."""
    return {
        "pin": citizen.pin,
        "old_id_number": citizen.old_id_number or "",
        "full_name": citizen.full_name,
        "birth_date": citizen.birth_date.to_storage() if citizen.birth_date else "",
        "sex": citizen.sex,
        "nationality": "Việt Nam" if citizen.nationality == "VN" else citizen.nationality,
        "ethnicity": ETHNICITIES.get(citizen.ethnicity, ""),
        "native_place": citizen.native_place or citizen.birth_place,
        "residence": _residence_text(citizen),
    }


def qr_payload(printed: dict[str, Any], issued_on: date) -> str:
    return qr.compose(
        qr.QrData(
            pin=printed["pin"],
            cmnd=printed["old_id_number"],
            full_name=printed["full_name"],
            birth_date=PartialDate.from_storage(printed["birth_date"]),
            sex=printed["sex"],
            address=printed["residence"],
            issued_on=issued_on,
        )
    )


def mrz_lines(printed: dict[str, Any], expires_on: date | None) -> list[str]:
    birth = PartialDate.from_storage(printed["birth_date"])
    birth_field = (
        mrz.date_field(birth.earliest())
        if birth.day is not None
        else mrz.date_field(None, year=birth.year, month=birth.month)
    )
    return mrz.compose(
        mrz.MrzData(
            pin=printed["pin"],
            full_name=printed["full_name"],
            sex=printed["sex"],
            birth=birth_field,
            expiry=mrz.date_field(expires_on),
        )
    )


def display_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "Không thời hạn"
