"""The rules an imported row goes through: the registry's own, so a row is judged as a form would be.

`check_rows` is the RowChecker of the import: it normalizes each person-records row (names in title
case and NFC, sex from Nam/Nữ/M/F, dates with their precision, the birth place as a province code) and
reports every broken rule with its code and severity. Duplicate PINs and CMNDs are looked for within the
batch and in the registry with one query per batch.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from datetime import date

from django.utils import timezone

from dancu.collection.services import CheckedRow
from dancu.lib import pin as pin_codec
from dancu.lib.errors import FieldError
from dancu.lib.partial_date import PartialDate
from dancu.lib.vntext import fold, name_errors, nfc, normalize_name, text_errors
from dancu.registry.models import Citizen, PinRecord

_SEX = {"nam": "M", "m": "M", "male": "M", "nữ": "F", "nu": "F", "f": "F", "female": "F"}


def _issue(error: FieldError, severity: str = "error") -> dict[str, str]:
    return {
        "field": error.field,
        "code": error.code,
        "severity": severity,
        "message_vi": error.message_vi,
        "message_en": error.message_en,
    }


def _new_issue(field: str, code: str, vi: str, en: str, severity: str = "error") -> dict[str, str]:
    return _issue(FieldError(field=field, code=code, message_vi=vi, message_en=en), severity)


def _check_one(values: dict[str, str], *, today: date) -> tuple[CheckedRow, str, str]:
    issues: list[dict[str, str]] = []
    repairs: list[dict[str, str]] = []
    normalized: dict[str, str] = {}

    raw_name = values.get("full_name", "")
    name = normalize_name(raw_name)
    if name != raw_name.strip():
        repairs.append({"field": "full_name", "code": "repair.name_case", "before": raw_name, "after": name})
    issues += [_issue(e) for e in name_errors(name, field="full_name")]
    normalized["full_name"] = name

    gender = nfc(values.get("gender", "")).strip().lower()
    sex = _SEX.get(gender, "")
    if not gender:
        issues.append(_new_issue("gender", "sex.missing", "Thiếu giới tính", "Sex is missing", "warning"))
    elif not sex:
        issues.append(
            _new_issue("gender", "sex.invalid", "Giới tính phải là Nam hoặc Nữ", "Sex must be Nam or Nữ")
        )
    normalized["sex"] = sex

    birth: PartialDate | None = None
    raw_birth = values.get("birth_date", "").strip()
    if not raw_birth:
        issues.append(
            _new_issue("birth_date", "date.required", "Thiếu ngày sinh", "Date of birth is missing")
        )
    else:
        try:
            birth = PartialDate.parse(raw_birth)
        except ValueError:
            issues.append(
                _new_issue(
                    "birth_date",
                    "date.format",
                    "Ngày sinh không hợp lệ: dùng YYYY-MM-DD, DD/MM/YYYY, MM/YYYY hoặc YYYY",
                    "Invalid date of birth: use YYYY-MM-DD, DD/MM/YYYY, MM/YYYY or YYYY",
                )
            )
        else:
            if birth.earliest() > today:
                issues.append(
                    _new_issue(
                        "birth_date", "date.future", "Ngày sinh ở tương lai", "Date of birth in the future"
                    )
                )
    normalized["birth_date"] = birth.to_storage() if birth else ""

    raw_place = values.get("birth_place", "").strip()
    place = pin_codec.province_code_for_name(raw_place) if raw_place else None
    if raw_place and place is None:
        issues.append(
            _new_issue(
                "birth_place",
                "place.unknown",
                "Không nhận ra tỉnh nơi đăng ký khai sinh",
                "The province of birth registration is not recognised",
                "warning",
            )
        )
    normalized["birth_registration_place"] = place or ""

    pin = values.get("id_number", "").strip()
    if pin:
        for error in pin_codec.consistency_errors(
            pin, sex=sex or None, birth_year=birth.year if birth else None
        ):
            issues.append(_issue(error))
        if not issues or all(i["field"] != "pin" for i in issues):
            codes = _legacy_codes_for(raw_place) if raw_place else set()
            if codes and pin[:3] not in codes:
                # The PIN names where the birth was registered; the file gives where it happened. The two
                # differ for people born away from home, so a reviewer looks rather than the row failing.
                issues.append(
                    _new_issue(
                        "id_number",
                        "pin.place_mismatch",
                        "Mã tỉnh trong số định danh khác nơi sinh",
                        "The province in the PIN differs from the place of birth",
                        "warning",
                    )
                )
    normalized["pin"] = pin

    old_id = values.get("old_id_number", "").strip()
    if old_id and not (len(old_id) == 9 and old_id.isascii() and old_id.isdigit()):
        issues.append(
            _new_issue(
                "old_id_number",
                "cmnd.format",
                "Số CMND phải gồm đúng 9 chữ số",
                "The CMND must be exactly 9 digits",
            )
        )
    normalized["old_id_number"] = old_id

    for relative in ("father_name", "mother_name"):
        raw_relative = values.get(relative, "").strip()
        if raw_relative:
            relative_name = normalize_name(raw_relative)
            issues += [_issue(e, "warning") for e in name_errors(relative_name, field=relative)]
            normalized[relative] = relative_name
    address = nfc(values.get("address", "")).strip()
    issues += [_issue(e) for e in text_errors(address, field="address", max_length=500)]
    normalized["address"] = address
    return CheckedRow(normalized=normalized, issues=issues, repairs=repairs), pin, old_id


@functools.cache
def _province_names() -> dict[str, set[str]]:
    """Folded province names (legacy and 2025, full and short) -> the legacy 3-digit codes they cover.

    A 2025 province name covers every legacy province merged into it, so "Tỉnh Lào Cai" covers the PIN
    prefixes of both the old Lào Cai (010) and the old Yên Bái (015).
    """
    from dancu.geo.models import AdminUnit, UnitSuccession

    names: dict[str, set[str]] = {}
    for unit in AdminUnit.objects.filter(level="province", structure="legacy"):
        for name in (unit.name, unit.short_name):
            names.setdefault(fold(name), set()).add(unit.code.zfill(3))
    for succession in UnitSuccession.objects.filter(legacy__level="province").select_related(
        "legacy", "successor"
    ):
        for name in (succession.successor.name, succession.successor.short_name):
            names.setdefault(fold(name), set()).add(succession.legacy.code.zfill(3))
    return names


def _legacy_codes_for(raw_place: str) -> set[str]:
    code = pin_codec.province_code_for_name(raw_place)
    codes = set(_province_names().get(fold(raw_place), set()))
    if code:
        codes.add(code)
    return codes


def _duplicate(field: str, code: str, what_vi: str, what_en: str) -> dict[str, str]:
    return _new_issue(
        field,
        code,
        f"{what_vi} trùng với một bản ghi khác",
        f"{what_en} duplicates another record",
        "warning",
    )


def check_rows(rows: Sequence[dict[str, str]], *, today: date | None = None) -> list[CheckedRow]:
    today = today or timezone.localdate()
    results = [_check_one(values, today=today) for values in rows]
    pins = [pin for _, pin, _ in results if pin]
    old_ids = [old_id for _, _, old_id in results if old_id]
    # One query each for the whole batch, then counts within the batch.
    known_pins = set(PinRecord.objects.filter(pin__in=pins).values_list("pin", flat=True)) if pins else set()
    known_ids = (
        set(Citizen.objects.filter(old_id_number__in=old_ids).values_list("old_id_number", flat=True))
        if old_ids
        else set()
    )
    pin_counts, id_counts = Counter(pins), Counter(old_ids)
    checked = []
    for result, pin, old_id in results:
        # A number already held is most often the same person from another source: a reviewer decides
        # whether the row updates that record, so it waits for one rather than being refused.
        if pin and (pin in known_pins or pin_counts[pin] > 1):
            result.issues.append(_duplicate("id_number", "pin.duplicate", "Số định danh", "The PIN"))
        if old_id and (old_id in known_ids or id_counts[old_id] > 1):
            result.issues.append(_duplicate("old_id_number", "cmnd.duplicate", "Số CMND", "The CMND"))
        checked.append(result)
    return checked
