"""Verifying what a card carries: the QR payload, the 3-line MRZ or the chip document, recognized from
the text itself. Used by `dancu card verify`, the verification page and the API; needs no database
when the issuers' public keys are given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dancu.cards import chip, mrz, qr
from dancu.lib.errors import FieldError


@dataclass
class Verdict:
    kind: str  # "qr", "mrz", "chip" or "unknown"
    errors: list[FieldError] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


def recognize(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("{"):
        return "chip"
    lines = [line.strip() for line in stripped.splitlines() if line.strip()]
    if len(lines) == 3 and all(len(line) == mrz.LINE_LENGTH for line in lines):
        return "mrz"
    if stripped.count(qr.SEPARATOR) >= 1 and len(lines) == 1:
        return "qr"
    return "unknown"


def _mrz_date(value: str) -> date | None:
    if not (value.isascii() and value.isdigit()):
        return None
    year, month, day = int(value[:2]), int(value[2:4]), int(value[4:])
    try:
        return date(2000 + year, month, day)
    except ValueError:
        return None


def verify_text(text: str, *, public_keys: Mapping[str, str], today: date) -> Verdict:
    kind = recognize(text)
    if kind == "chip":
        document, errors = chip.verify(text.strip(), public_keys=public_keys)
        verdict = Verdict("chip", errors)
        if document is not None:
            expires = document.payload.get("expires_on")
            if isinstance(expires, str) and expires < today.isoformat():
                verdict.errors.append(
                    FieldError(
                        "expires_on",
                        "card.expired",
                        f"Thẻ đã hết hạn ngày {expires}",
                        f"The card expired on {expires}",
                    )
                )
            verdict.summary = {"key_id": document.key_id, **document.payload}
        return verdict
    if kind == "mrz":
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        parsed, problems = mrz.validate(lines)
        verdict = Verdict("mrz", [FieldError(p.field, p.code, p.message_vi, p.message_en) for p in problems])
        if parsed is not None:
            expiry = _mrz_date(parsed.expiry)
            if parsed.expiry != "<<<<<<" and expiry is None:
                verdict.errors.append(
                    FieldError(
                        "expiry_date",
                        "mrz.date",
                        "Ngày hết hạn không phải ngày có thật",
                        "The expiry is not a real date",
                    )
                )
            elif expiry is not None and expiry < today:
                verdict.errors.append(
                    FieldError(
                        "expiry_date",
                        "card.expired",
                        f"Thẻ đã hết hạn ngày {expiry:%d/%m/%Y}",
                        f"The card expired on {expiry:%Y-%m-%d}",
                    )
                )
            verdict.summary = {
                "pin": parsed.pin,
                "name": f"{parsed.primary_name} {parsed.secondary_name}".strip(),
                "birth": parsed.birth,
                "sex": parsed.sex,
                "expiry": parsed.expiry,
            }
        return verdict
    if kind == "qr":
        data, errors = qr.parse(text, today=today)
        verdict = Verdict("qr", errors)
        if data is not None:
            # Every field the QR carries: the online check compares each with the card the registry
            # issued, since an unsigned QR is otherwise forged from a PIN and an issue date alone.
            verdict.summary = {
                "pin": data.pin,
                "cmnd": data.cmnd,
                "full_name": data.full_name,
                "birth_date": str(data.birth_date),
                "sex": qr.SEX_LABELS[data.sex],
                "address": data.address,
                "issued_on": data.issued_on.isoformat(),
            }
        return verdict
    return Verdict(
        "unknown",
        [
            FieldError(
                "input",
                "verify.unrecognized",
                "Không nhận ra dữ liệu: cần nội dung QR (7 trường cách nhau bởi |), MRZ 3 dòng 30 ký tự "
                "hoặc dữ liệu chip (JSON)",
                "Unrecognized input: expected a QR payload (7 fields separated by |), a 3-line MRZ of 30 "
                "characters or chip data (JSON)",
            )
        ],
    )
