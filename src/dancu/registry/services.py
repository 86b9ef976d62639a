"""Every write to the registry: one transaction, one audit event, one new version per changed record."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from dancu.accounts.models import User
from dancu.accounts.selectors import unit_in_area
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.geo.models import AdminUnit
from dancu.lib import pin as pin_codec
from dancu.lib.errors import DomainError, FieldError
from dancu.lib.partial_date import PartialDate
from dancu.lib.vntext import fold, name_errors, nfc, normalize_name, text_errors
from dancu.registry.history import citizen_snapshot, household_snapshot
from dancu.registry.models import (
    Citizen,
    FamilyLink,
    Household,
    HouseholdMember,
    PinRecord,
    RecordVersion,
    Relation,
    Residence,
)
from dancu.registry.validation import (
    citizen_field_errors,
    date_not_in_future,
    death_before_birth_errors,
    error,
    parse_partial_date,
    pin_errors,
)

# Temporary residence is registered for at most two years at a time (Luật Cư trú 2020, art. 27).
TEMPORARY_RESIDENCE_MAX_DAYS = 2 * 366
_PIN_ATTEMPTS = 50
_OLD_ID_RE = re.compile(r"^[0-9]{9}$")
_rng = secrets.SystemRandom()

# Fields an officer may change through citizen_update. The PIN, sex and birth data that the PIN
# encodes change only through pin_reissue (a legal change of sex) or a correction with a document.
UPDATABLE_FIELDS = frozenset(
    {
        "full_name",
        "other_names",
        "birth_date",
        "birth_place",
        "native_place",
        "ethnicity",
        "religion",
        "nationality",
        "blood_type",
        "blood_type_source",
        "old_id_number",
        "marital_status",
        "date_of_death",
        "missing_declared_on",
        "phone",
        "email",
    }
)


def _require_source(*, reason: str, source_document: str) -> None:
    errors = []
    if not reason.strip():
        errors.append(
            error(
                "reason", "reason.required", "Cần ghi lý do thay đổi", "A reason for the change is required"
            )
        )
    errors += text_errors(reason, field="reason", max_length=1000, prose=True)
    errors += text_errors(source_document, field="source_document", max_length=200, prose=True)
    if errors:
        raise DomainError(errors)


def _clean_text(value: Any) -> str:
    return nfc(str(value)).strip() if value is not None else ""


def _record_version(
    *,
    entity: RecordVersion.Entity,
    entity_id: int,
    version: int,
    snapshot: dict[str, Any],
    actor: Actor,
    event: AuditEvent,
    reason: str,
    source_document: str,
) -> RecordVersion:
    return RecordVersion.objects.create(
        entity=entity,
        entity_id=entity_id,
        version=version,
        recorded_at=event.occurred_at,
        actor=actor.user,
        actor_label=actor.label,
        event=event,
        reason=reason,
        source_document=source_document,
        snapshot=snapshot,
    )


def _snapshot_citizen(citizen: Citizen) -> dict[str, Any]:
    return citizen_snapshot(
        citizen,
        residences=list(citizen.residences.filter(ended_on__isnull=True).order_by("kind", "pk")),
        membership=citizen.household_memberships.filter(left_on__isnull=True).first(),
        family=list(citizen.family_links.order_by("kind", "pk")),
    )


def _bump_citizen(
    citizen: Citizen, *, actor: Actor, event: AuditEvent, reason: str, source_document: str
) -> None:
    """Write the citizen's next version after a change made in the current transaction.

    The version is read again under a row lock: two officers changing the same record at once get
    versions n+1 and n+2 in the order they commit, never the same number twice.
    """
    rows = Citizen.objects.select_for_update().filter(pk=citizen.pk)
    citizen.version = rows.values_list("version", flat=True).get() + 1
    rows.update(version=citizen.version, updated_at=timezone.now())
    # The snapshot is of the record as stored, which may hold changes committed since the caller read it.
    citizen.refresh_from_db()
    _record_version(
        entity=RecordVersion.Entity.CITIZEN,
        entity_id=citizen.pk,
        version=citizen.version,
        snapshot=_snapshot_citizen(citizen),
        actor=actor,
        event=event,
        reason=reason,
        source_document=source_document,
    )


def _bump_household(
    household: Household, *, actor: Actor, event: AuditEvent, reason: str, source_document: str
) -> None:
    rows = Household.objects.select_for_update().filter(pk=household.pk)
    household.version = rows.values_list("version", flat=True).get() + 1
    rows.update(version=household.version)
    _record_version(
        entity=RecordVersion.Entity.HOUSEHOLD,
        entity_id=household.pk,
        version=household.version,
        snapshot=household_snapshot(household, members=household.memberships.order_by("pk")),
        actor=actor,
        event=event,
        reason=reason,
        source_document=source_document,
    )


def _parse_citizen_data(data: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Normalize raw input (form, API) into model values; collect format errors instead of raising."""
    parsed: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in data.items():
        if key in ("birth_date", "date_of_death"):
            partial, problems = parse_partial_date(value, field=key)
            errors += problems
            # An unreadable date is reported once, as unreadable, not again as missing.
            if not problems:
                parsed[key] = partial
        elif key == "missing_declared_on":
            parsed[key], problems = _parse_full_date(value, field=key)
            errors += problems
        elif key == "full_name":
            # A missing name (None from a JSON null) is checked as a blank one: name.required.
            parsed[key] = normalize_name(value) if isinstance(value, str) else ""
        elif key == "old_id_number":
            parsed[key] = _clean_text(value) or None
        elif key in ("nationality",):
            parsed[key] = _clean_text(value).upper()
        else:
            parsed[key] = _clean_text(value)
    return parsed, errors


def _parse_full_date(value: Any, *, field: str) -> tuple[date | None, list[FieldError]]:
    """A date known to the day (ISO or DD/MM/YYYY), for fields that are real dates, not partial ones."""
    if value is None or value == "":
        return None, []
    if isinstance(value, date):
        return value, []
    partial, errors = parse_partial_date(value, field=field)
    if errors:
        return None, errors
    assert partial is not None
    full = partial.as_date()
    if full is None:
        return None, [
            error(
                field,
                "date.format",
                "Cần ngày đầy đủ: YYYY-MM-DD hoặc DD/MM/YYYY",
                "A full date is required: YYYY-MM-DD or DD/MM/YYYY",
            )
        ]
    return full, []


def _check_unique_old_id(old_id: str | None, *, exclude_pk: int | None = None) -> list[FieldError]:
    # A malformed number is reported by cmnd.format; looking it up could only fail (PostgreSQL refuses a
    # NUL character in a query parameter).
    if not old_id or not _OLD_ID_RE.match(old_id):
        return []
    clash = Citizen.objects.filter(old_id_number=old_id)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        return [
            error(
                "old_id_number",
                "cmnd.duplicate",
                "Số CMND này đã thuộc về một công dân khác",
                "This old ID card (CMND) number already belongs to another citizen",
            )
        ]
    return []


def _insert_with_new_pin(citizen: Citizen, *, sex: str, birth_year: int) -> None:
    """Give the citizen a PIN that was never issued before; the unique index settles races."""
    prefix = pin_codec.prefix(place_code=citizen.birth_registration_place, sex=sex, birth_year=birth_year)
    for _ in range(_PIN_ATTEMPTS):
        citizen.pin = f"{prefix}{_rng.randrange(1, 1_000_000):06d}"
        if PinRecord.objects.filter(pin=citizen.pin).exists():
            continue
        try:
            with transaction.atomic():
                citizen.save()
                return
        except IntegrityError:
            # Another transaction took the same serial a moment ago: draw again.
            continue
    raise DomainError(
        error(
            "pin",
            "pin.exhausted",
            "Không cấp được số định danh mới, hãy thử lại",
            "Could not allocate a new personal identification number; try again",
        )
    )


@dataclass(frozen=True)
class NewCitizen:
    full_name: str
    birth_date: PartialDate | str
    sex: str
    birth_registration_place: str
    pin: str = ""
    other_names: str = ""
    birth_place: str = ""
    native_place: str = ""
    ethnicity: str = "01"
    religion: str = "00"
    nationality: str = "VN"
    blood_type: str = ""
    blood_type_source: str = ""
    old_id_number: str = ""
    marital_status: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class NewResidence:
    kind: str
    commune: AdminUnit
    address_detail: str
    registered_on: date
    expires_on: date | None = None
    legacy_commune: AdminUnit | None = None
    address_original: str = ""


def citizen_create(
    *,
    actor: Actor,
    data: NewCitizen,
    residence: NewResidence | None,
    reason: str,
    source_document: str,
    today: date | None = None,
) -> Citizen:
    """Register a person at the address where they were collected; a PIN is allocated when the source
    document carries none. Citizen and residence are written together or not at all."""
    today = today or timezone.localdate()
    _require_source(reason=reason, source_document=source_document)
    if residence is None and actor.user is not None:
        # An officer's record without an address would belong to no area and be seen by nobody.
        raise DomainError(
            error(
                "residence",
                "residence.required",
                "Cần khai báo nơi cư trú của công dân",
                "The citizen's place of residence is required",
            )
        )
    raw = {k: v for k, v in data.__dict__.items() if k not in ("pin", "birth_registration_place")}
    parsed, errors = _parse_citizen_data(raw)
    place = _clean_text(data.birth_registration_place)
    # pin_codec.place_name accepts 001-096 provinces and 100-999 countries; isascii() keeps out
    # Arabic-Indic and full-width digits, which str.isdigit() would let through to the PIN codec.
    if not (len(place) == 3 and place.isascii() and place.isdigit() and pin_codec.place_name(place)):
        errors.append(
            error(
                "birth_registration_place",
                "place.unknown",
                "Nơi đăng ký khai sinh phải là mã tỉnh (001–096) hoặc mã quốc gia",
                "The place of birth registration must be a province code (001–096) or a country code",
            )
        )
    errors += citizen_field_errors(parsed, today=today)
    pin = _clean_text(data.pin)
    birth_year = parsed["birth_date"].year if parsed.get("birth_date") is not None else None
    if not pin and not errors and birth_year is not None and not 1900 <= birth_year <= 2399:
        # The PIN's century digit encodes the 1900s to the 2300s only.
        errors.append(
            error(
                "birth_date",
                "pin.birth_year_range",
                "Không cấp được số định danh cho năm sinh ngoài khoảng 1900–2399",
                "No personal identification number can be allocated for a birth year outside 1900-2399",
            )
        )
    if pin and not errors:
        pin_problems = pin_errors(pin, sex=parsed["sex"], birth=parsed["birth_date"], place_code=place)
        errors += pin_problems
        if not pin_problems and PinRecord.objects.filter(pin=pin).exists():
            errors.append(
                error(
                    "pin",
                    "pin.duplicate",
                    "Số định danh này đã được cấp, không cấp lại cho người khác",
                    "This personal identification number was already issued and is never reused",
                )
            )
    errors += _check_unique_old_id(parsed.get("old_id_number"))
    if errors:
        raise DomainError(errors)

    birth: PartialDate = parsed["birth_date"]
    with transaction.atomic():
        citizen = Citizen(
            birth_registration_place=place,
            name_key=fold(parsed["full_name"]),
            **parsed,
        )
        if pin:
            citizen.pin = pin
            citizen.save()
        else:
            _insert_with_new_pin(citizen, sex=citizen.sex, birth_year=birth.year)
        PinRecord.objects.create(pin=citizen.pin, citizen=citizen)
        event = audit_event_record(
            actor=actor,
            event_type=EventType.CITIZEN_CREATED,
            subject_type="citizen",
            subject_id=citizen.pk,
            data={"pin": citizen.pin, "pin_allocated": not pin},
            reason=reason,
            source_document=source_document,
        )
        _record_version(
            entity=RecordVersion.Entity.CITIZEN,
            entity_id=citizen.pk,
            version=1,
            snapshot=_snapshot_citizen(citizen),
            actor=actor,
            event=event,
            reason=reason,
            source_document=source_document,
        )
        if residence is not None:
            residence_register(
                actor=actor,
                citizen=citizen,
                kind=residence.kind,
                commune=residence.commune,
                address_detail=residence.address_detail,
                registered_on=residence.registered_on,
                expires_on=residence.expires_on,
                legacy_commune=residence.legacy_commune,
                address_original=residence.address_original,
                reason=reason,
                source_document=source_document,
                today=today,
            )
    return citizen


def citizen_update(
    *,
    actor: Actor,
    citizen: Citizen,
    changes: dict[str, Any],
    reason: str,
    source_document: str,
    today: date | None = None,
) -> Citizen:
    """Correct or update fields of a record; the old and new values go into the audit event."""
    today = today or timezone.localdate()
    _require_source(reason=reason, source_document=source_document)
    unknown = sorted(set(changes) - UPDATABLE_FIELDS)
    if unknown:
        raise DomainError(
            [
                error(
                    name,
                    "field.not_updatable",
                    "Trường này không sửa được bằng cập nhật thông thường",
                    "This field cannot be changed by an ordinary update",
                )
                for name in unknown
            ]
        )
    parsed, errors = _parse_citizen_data(changes)
    errors += citizen_field_errors(parsed, today=today)
    if ("birth_date" in parsed) != ("date_of_death" in parsed):
        # One of the two dates changes: compare it with the other as the record holds it.
        errors += death_before_birth_errors(
            parsed.get("birth_date", citizen.birth_date), parsed.get("date_of_death", citizen.date_of_death)
        )
    if parsed.get("birth_date") is not None:
        errors += pin_errors(citizen.pin, sex=citizen.sex, birth=parsed["birth_date"], place_code=None)
    errors += _check_unique_old_id(parsed.get("old_id_number"), exclude_pk=citizen.pk)
    if errors:
        unique: list[FieldError] = []
        for problem in errors:
            if problem not in unique:
                unique.append(problem)
        raise DomainError(unique)

    diff: dict[str, dict[str, Any]] = {}
    for name, value in parsed.items():
        old = getattr(citizen, name)
        if old != value:
            diff[name] = {"old": _plain(old), "new": _plain(value)}
            setattr(citizen, name, value)
    if not diff:
        return citizen
    with transaction.atomic():
        changed = list(diff)
        if "full_name" in diff:
            citizen.name_key = fold(citizen.full_name)
            changed.append("name_key")
        # Only the fields this update changes: a concurrent update of other fields is not overwritten
        # with the values this request happened to read.
        citizen.save(update_fields=[*changed, "updated_at"])
        event = audit_event_record(
            actor=actor,
            event_type=EventType.CITIZEN_DECEASED if "date_of_death" in diff else EventType.CITIZEN_UPDATED,
            subject_type="citizen",
            subject_id=citizen.pk,
            data={"changes": diff},
            reason=reason,
            source_document=source_document,
        )
        _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document=source_document)
    return citizen


def _plain(value: Any) -> Any:
    if isinstance(value, PartialDate):
        return value.to_storage()
    if isinstance(value, date):
        return value.isoformat()
    return value


# Re-issuing a PIN changes the identity every other system links to: a province or ministry decision.
PIN_REISSUE_ROLES = frozenset({User.Role.SUPERVISOR, User.Role.MINISTRY_ADMIN})


def pin_reissue(
    *, actor: Actor, citizen: Citizen, new_sex: str, reason: str, source_document: str
) -> Citizen:
    """Cancel the PIN after a legal change of sex and issue a new one, linked from the old.

    The PIN encodes sex, so it is the only event that re-issues it; moves and the 2025 province
    mergers never do. The old PIN stays in the ledger, cancelled, and is never given to anyone again.
    """
    _require_source(reason=reason, source_document=source_document)
    if actor.user is not None and actor.user.role not in PIN_REISSUE_ROLES:
        raise DomainError(
            error(
                "actor",
                "role.not_allowed",
                "Chỉ cán bộ cấp tỉnh hoặc cấp Bộ được cấp lại số định danh",
                "Only province or ministry officers may re-issue a personal identification number",
            )
        )
    if not source_document.strip():
        raise DomainError(
            error(
                "source_document",
                "document.required",
                "Cần văn bản xác định lại giới tính",
                "The legal document of the change of sex is required",
            )
        )
    if new_sex not in ("M", "F"):
        raise DomainError(error("sex", "sex.invalid", "Giới tính phải là Nam hoặc Nữ", "Sex must be M or F"))
    if new_sex == citizen.sex:
        raise DomainError(
            error(
                "sex",
                "sex.unchanged",
                "Giới tính mới phải khác giới tính hiện tại",
                "The new sex must differ",
            )
        )
    old_pin = citizen.pin
    with transaction.atomic():
        old_record = PinRecord.objects.select_for_update().get(pin=old_pin)
        citizen.sex = new_sex
        birth = citizen.birth_date
        assert birth is not None  # a registered citizen always has a date of birth
        _insert_with_new_pin(citizen, sex=new_sex, birth_year=birth.year)
        new_record = PinRecord.objects.create(pin=citizen.pin, citizen=citizen)
        old_record.cancelled_at = timezone.now()
        old_record.cancel_reason = reason[:200]
        old_record.replaced_by = new_record
        old_record.save(update_fields=["cancelled_at", "cancel_reason", "replaced_by"])
        event = audit_event_record(
            actor=actor,
            event_type=EventType.PIN_REISSUED,
            subject_type="citizen",
            subject_id=citizen.pk,
            data={"old_pin": old_pin, "new_pin": citizen.pin, "new_sex": new_sex},
            reason=reason,
            source_document=source_document,
        )
        _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document=source_document)
    return citizen


def _refresh_area(citizen: Citizen) -> None:
    """Recompute the denormalized area from the current residences (permanent first)."""
    current = {r.kind: r for r in citizen.residences.filter(ended_on__isnull=True).select_related("commune")}
    chosen = current.get("permanent") or current.get("temporary") or current.get("current")
    if chosen is None:
        citizen.area_commune = citizen.area_province = citizen.area_legacy_commune = None
    else:
        citizen.area_commune = chosen.commune
        citizen.area_province_id = chosen.commune.parent_id
        citizen.area_legacy_commune_id = chosen.legacy_commune_id
    Citizen.objects.filter(pk=citizen.pk).update(
        area_commune=citizen.area_commune_id,
        area_province=citizen.area_province_id,
        area_legacy_commune=citizen.area_legacy_commune_id,
    )


def _check_commune(commune: AdminUnit, legacy_commune: AdminUnit | None, *, actor: Actor) -> list[FieldError]:
    errors = []
    if actor.user is not None and not unit_in_area(actor.user, commune):
        # Officers write only inside their own area; system jobs (imports, the generator) have none.
        errors.append(
            error(
                "commune",
                "unit.outside_jurisdiction",
                "Đơn vị này nằm ngoài địa bàn quản lý của bạn",
                "This unit is outside your jurisdiction",
            )
        )
    if commune.structure != "2025" or commune.level != "commune":
        errors.append(
            error(
                "commune",
                "unit.not_commune",
                "Đơn vị phải là xã/phường/đặc khu theo đơn vị hành chính hiện hành",
                "The unit must be a current (2025) commune, ward or special zone",
            )
        )
    if legacy_commune is not None and (
        legacy_commune.structure != "legacy" or legacy_commune.level != "commune"
    ):
        errors.append(
            error(
                "legacy_commune",
                "unit.not_legacy_commune",
                "Đơn vị cũ phải là xã/phường trước năm 2025",
                "The legacy unit must be a pre-2025 commune",
            )
        )
    return errors


def residence_register(
    *,
    actor: Actor,
    citizen: Citizen,
    kind: Residence.Kind | str,
    commune: AdminUnit,
    address_detail: str,
    registered_on: date,
    expires_on: date | None = None,
    legacy_commune: AdminUnit | None = None,
    address_original: str = "",
    household: Household | None = None,
    reason: str,
    source_document: str,
    today: date | None = None,
) -> Residence:
    """Register a residence. A new permanent residence ends the previous one (a move); a temporary
    residence may not overlap a current one and lasts at most two years."""
    today = today or timezone.localdate()
    _require_source(reason=reason, source_document=source_document)
    if kind not in Residence.Kind.values:
        raise DomainError(
            error(
                "kind",
                "residence.kind_invalid",
                "Loại cư trú phải là thường trú, tạm trú hoặc nơi ở hiện tại",
                "Residence kind must be permanent, temporary or current",
            )
        )
    kind = Residence.Kind(kind)
    address_detail = _clean_text(address_detail)
    errors = _check_commune(commune, legacy_commune, actor=actor)
    if not address_detail:
        errors.append(
            error("address_detail", "address.required", "Thiếu địa chỉ chi tiết", "The address is required")
        )
    errors += text_errors(address_detail, field="address_detail", max_length=300)
    errors += text_errors(address_original, field="address_original", max_length=500)
    errors += date_not_in_future(registered_on, field="registered_on", today=today)
    if kind == Residence.Kind.TEMPORARY:
        if expires_on is None:
            errors.append(
                error(
                    "expires_on",
                    "residence.expiry_required",
                    "Tạm trú phải có thời hạn",
                    "A temporary residence needs an end date",
                )
            )
        elif expires_on <= registered_on or (expires_on - registered_on).days > TEMPORARY_RESIDENCE_MAX_DAYS:
            errors.append(
                error(
                    "expires_on",
                    "residence.expiry_range",
                    "Thời hạn tạm trú phải sau ngày đăng ký và tối đa 2 năm",
                    "A temporary residence ends after it starts and lasts at most 2 years",
                )
            )
    elif expires_on is not None:
        errors.append(
            error(
                "expires_on",
                "residence.expiry_not_allowed",
                "Chỉ tạm trú mới có thời hạn",
                "Only a temporary residence has an end date",
            )
        )
    current = citizen.residences.filter(kind=kind, ended_on__isnull=True).first()
    if current is not None:
        if kind == Residence.Kind.TEMPORARY:
            errors.append(
                error(
                    "kind",
                    "residence.overlap",
                    "Công dân đang có nơi tạm trú khác; hãy xoá đăng ký tạm trú cũ trước",
                    "The citizen already has a current temporary residence; end it first",
                )
            )
        elif registered_on < current.registered_on:
            errors.append(
                error(
                    "registered_on",
                    "residence.overlap",
                    "Ngày đăng ký trước ngày đăng ký của nơi cư trú hiện tại",
                    "The registration date is before that of the current residence",
                )
            )
    birth = citizen.birth_date
    if birth is not None and registered_on < birth.earliest():
        errors.append(
            error(
                "registered_on",
                "residence.before_birth",
                "Ngày đăng ký cư trú trước ngày sinh của công dân",
                "The registration date is before the citizen's date of birth",
            )
        )
    # A new permanent residence outside the citizen's household is a move out of that household.
    leaving = None
    if kind == Residence.Kind.PERMANENT:
        membership = (
            citizen.household_memberships.filter(left_on__isnull=True).select_related("household").first()
        )
        if membership is not None and membership.household_id != (household.pk if household else None):
            leaving = membership
            others = membership.household.memberships.filter(left_on__isnull=True).exclude(pk=membership.pk)
            if membership.relation_to_head == Relation.HEAD and others.exists():
                errors.append(
                    error(
                        "household",
                        "household.head_leaving",
                        "Chủ hộ chuyển đi nơi khác: hãy thay đổi chủ hộ trước",
                        "The head of household is moving away: change the head first",
                    )
                )
    if errors:
        raise DomainError(errors)

    with transaction.atomic():
        if current is not None:
            current.ended_on = registered_on
            current.end_reason = reason[:200]
            current.save(update_fields=["ended_on", "end_reason"])
        if leaving is not None:
            leaving.left_on = registered_on
            leaving.save(update_fields=["left_on"])
        residence = Residence.objects.create(
            citizen=citizen,
            kind=kind,
            commune=commune,
            legacy_commune=legacy_commune,
            address_detail=address_detail,
            address_key=fold(address_detail),
            address_original=_clean_text(address_original),
            household=household,
            registered_on=registered_on,
            expires_on=expires_on,
        )
        _refresh_area(citizen)
        event = audit_event_record(
            actor=actor,
            event_type=EventType.RESIDENCE_REGISTERED,
            subject_type="citizen",
            subject_id=citizen.pk,
            data={
                "residence_id": residence.pk,
                "kind": kind,
                "commune": commune.code,
                "ended_residence_id": current.pk if current else None,
                "left_household_id": leaving.household_id if leaving else None,
            },
            reason=reason,
            source_document=source_document,
        )
        _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document=source_document)
        if leaving is not None:
            _bump_household(
                leaving.household, actor=actor, event=event, reason=reason, source_document=source_document
            )
    return residence


def residence_end(
    *, actor: Actor, residence: Residence, ended_on: date, reason: str, source_document: str
) -> Residence:
    _require_source(reason=reason, source_document=source_document)
    if residence.ended_on is not None:
        raise DomainError(
            error("residence", "residence.already_ended", "Nơi cư trú đã chấm dứt", "Already ended")
        )
    if ended_on < residence.registered_on:
        raise DomainError(
            error(
                "ended_on",
                "residence.end_before_start",
                "Ngày chấm dứt trước ngày đăng ký",
                "The end date is before the registration date",
            )
        )
    with transaction.atomic():
        residence.ended_on = ended_on
        residence.end_reason = reason[:200]
        residence.save(update_fields=["ended_on", "end_reason"])
        citizen = residence.citizen
        _refresh_area(citizen)
        event = audit_event_record(
            actor=actor,
            event_type=EventType.RESIDENCE_ENDED,
            subject_type="citizen",
            subject_id=citizen.pk,
            data={"residence_id": residence.pk, "kind": residence.kind},
            reason=reason,
            source_document=source_document,
        )
        _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document=source_document)
    return residence


def _next_household_number(commune: AdminUnit) -> str:
    # Residence file numbers are per commune: the commune code, then a running number.
    prefix = f"{commune.code}-"
    last = (
        Household.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    sequence = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{sequence:08d}"


def _already_member(field_name: str) -> FieldError:
    return error(
        field_name,
        "household.already_member",
        "Người này đang là thành viên của một hộ khác",
        "This person is already a member of another household",
    )


def _join_household(
    *,
    actor: Actor,
    household: Household,
    citizen: Citizen,
    relation_to_head: Relation | str,
    joined_on: date,
    address_detail: str,
    address_original: str,
    reason: str,
    source_document: str,
) -> HouseholdMember:
    """The membership, and the member's permanent residence moved to the household's address."""
    membership = HouseholdMember.objects.create(
        household=household, citizen=citizen, relation_to_head=relation_to_head, joined_on=joined_on
    )
    residence_register(
        actor=actor,
        citizen=citizen,
        kind=Residence.Kind.PERMANENT,
        commune=household.commune,
        legacy_commune=household.legacy_commune,
        address_detail=address_detail,
        address_original=address_original,
        household=household,
        registered_on=joined_on,
        reason=reason,
        source_document=source_document,
    )
    return membership


def _household_changed(
    *,
    actor: Actor,
    household: Household,
    event_type: EventType,
    data: dict[str, Any],
    reason: str,
    source_document: str,
    citizen_ids: tuple[int, ...] = (),
) -> None:
    """How every household service ends: its audit event, the household's next version, and the next
    version of each citizen (`citizen_ids`) whose own record shows the change."""
    event = audit_event_record(
        actor=actor,
        event_type=event_type,
        subject_type="household",
        subject_id=household.pk,
        data=data,
        reason=reason,
        source_document=source_document,
    )
    _bump_household(household, actor=actor, event=event, reason=reason, source_document=source_document)
    for citizen_id in citizen_ids:
        _bump_citizen(
            Citizen.objects.get(pk=citizen_id),
            actor=actor,
            event=event,
            reason=reason,
            source_document=source_document,
        )


def household_create(
    *,
    actor: Actor,
    head: Citizen,
    commune: AdminUnit,
    address_detail: str,
    registered_on: date,
    legacy_commune: AdminUnit | None = None,
    address_original: str = "",
    reason: str,
    source_document: str,
) -> Household:
    """Open a household with its head, registering the head's permanent residence at its address."""
    _require_source(reason=reason, source_document=source_document)
    errors = _check_commune(commune, legacy_commune, actor=actor)
    errors += text_errors(address_detail, field="address_detail", max_length=300)
    if head.household_memberships.filter(left_on__isnull=True).exists():
        errors.append(_already_member("head"))
    if head.is_deceased:
        errors.append(error("head", "citizen.deceased", "Công dân đã mất", "The citizen is deceased"))
    if errors:
        raise DomainError(errors)
    with transaction.atomic():
        # Numbers are allocated per commune: locking the commune's row makes two households opened at the
        # same moment take consecutive numbers instead of colliding on the same one.
        AdminUnit.objects.select_for_update().filter(pk=commune.pk).first()
        household = Household.objects.create(
            number=_next_household_number(commune),
            commune=commune,
            legacy_commune=legacy_commune,
            address_detail=_clean_text(address_detail),
            address_original=_clean_text(address_original),
            version=0,
        )
        _join_household(
            actor=actor,
            household=household,
            citizen=head,
            relation_to_head=Relation.HEAD,
            joined_on=registered_on,
            # As declared: the residence service checks and cleans them as it does for any address.
            address_detail=address_detail,
            address_original=address_original,
            reason=reason,
            source_document=source_document,
        )
        _household_changed(
            actor=actor,
            household=household,
            event_type=EventType.HOUSEHOLD_CREATED,
            data={"number": household.number, "head_id": head.pk},
            reason=reason,
            source_document=source_document,
        )
    return household


def household_add_member(
    *,
    actor: Actor,
    household: Household,
    citizen: Citizen,
    relation_to_head: Relation | str,
    joined_on: date,
    reason: str,
    source_document: str,
) -> HouseholdMember:
    """Add a member; their permanent residence moves to the household's address."""
    _require_source(reason=reason, source_document=source_document)
    errors = []
    if relation_to_head not in Relation.values:
        errors.append(
            error(
                "relation_to_head", "relation.invalid", "Quan hệ với chủ hộ không hợp lệ", "Invalid relation"
            )
        )
    elif relation_to_head == Relation.HEAD:
        errors.append(
            error(
                "relation_to_head",
                "household.second_head",
                "Hộ đã có chủ hộ; dùng chức năng thay đổi chủ hộ",
                "The household already has a head; use the change-of-head action",
            )
        )
    if citizen.household_memberships.filter(left_on__isnull=True).exists():
        errors.append(_already_member("citizen"))
    if errors:
        raise DomainError(errors)
    with transaction.atomic():
        membership = _join_household(
            actor=actor,
            household=household,
            citizen=citizen,
            relation_to_head=relation_to_head,
            joined_on=joined_on,
            address_detail=household.address_detail,
            address_original=household.address_original,
            reason=reason,
            source_document=source_document,
        )
        _household_changed(
            actor=actor,
            household=household,
            event_type=EventType.HOUSEHOLD_MEMBER_ADDED,
            data={"citizen_id": citizen.pk, "relation_to_head": relation_to_head},
            reason=reason,
            source_document=source_document,
        )
    return membership


def household_change_head(
    *,
    actor: Actor,
    household: Household,
    new_head: Citizen,
    previous_head_relation: Relation | str,
    changed_on: date,
    reason: str,
    source_document: str,
) -> Household:
    """Make another member the head; the previous head stays a member with the relation given."""
    _require_source(reason=reason, source_document=source_document)
    memberships = {m.citizen_id: m for m in household.memberships.filter(left_on__isnull=True)}
    target = memberships.get(new_head.pk)
    errors = []
    if target is None:
        errors.append(
            error("new_head", "household.not_member", "Chủ hộ mới phải là thành viên của hộ", "Not a member")
        )
    if previous_head_relation not in Relation.values or previous_head_relation == Relation.HEAD:
        errors.append(
            error(
                "previous_head_relation",
                "household.second_head",
                "Hộ chỉ có một chủ hộ: chọn quan hệ khác cho chủ hộ cũ",
                "A household has one head: choose another relation for the previous head",
            )
        )
    if errors:
        raise DomainError(errors)
    assert target is not None
    with transaction.atomic():
        old_head = next(m for m in memberships.values() if m.relation_to_head == Relation.HEAD)
        old_head.relation_to_head = previous_head_relation
        old_head.save(update_fields=["relation_to_head"])
        target.relation_to_head = Relation.HEAD
        target.save(update_fields=["relation_to_head"])
        _household_changed(
            actor=actor,
            household=household,
            event_type=EventType.HOUSEHOLD_HEAD_CHANGED,
            data={
                "old_head_id": old_head.citizen_id,
                "new_head_id": new_head.pk,
                "on": changed_on.isoformat(),
            },
            reason=reason,
            source_document=source_document,
            # Both records show their relation to the head.
            citizen_ids=(old_head.citizen_id, new_head.pk),
        )
    return household


_RECIPROCAL = {
    FamilyLink.Kind.FATHER: FamilyLink.Kind.CHILD,
    FamilyLink.Kind.MOTHER: FamilyLink.Kind.CHILD,
    FamilyLink.Kind.SPOUSE: FamilyLink.Kind.SPOUSE,
    FamilyLink.Kind.LEGAL_REPRESENTATIVE: FamilyLink.Kind.REPRESENTED,
    FamilyLink.Kind.REPRESENTED: FamilyLink.Kind.LEGAL_REPRESENTATIVE,
}

# A parent is at least this much older than the child: a plausibility rule of "đúng".
MIN_PARENT_AGE_GAP_YEARS = 12


def family_link_add(
    *,
    actor: Actor,
    citizen: Citizen,
    kind: FamilyLink.Kind | str,
    relative: Citizen | None = None,
    relative_name: str = "",
    relative_pin: str = "",
    reason: str,
    source_document: str,
) -> FamilyLink:
    """Link a relative; when the relative is in the registry, the reciprocal link is added too."""
    _require_source(reason=reason, source_document=source_document)
    errors: list[FieldError] = []
    if kind not in FamilyLink.Kind.values:
        raise DomainError(error("kind", "family.kind_invalid", "Quan hệ không hợp lệ", "Invalid relation"))
    kind = FamilyLink.Kind(kind)
    if relative is not None:
        relative_name = relative.full_name
        relative_pin = relative.pin
        if relative.pk == citizen.pk:
            errors.append(
                error("relative", "family.self", "Không thể là quan hệ với chính mình", "Cannot link to self")
            )
    else:
        relative_name = normalize_name(relative_name)
        errors += name_errors(relative_name, field="relative_name")
    if kind in (FamilyLink.Kind.FATHER, FamilyLink.Kind.MOTHER):
        if citizen.family_links.filter(kind=kind).exists():
            errors.append(
                error(
                    "kind",
                    "family.parent_exists",
                    "Đã có thông tin cha/mẹ",
                    "This parent is already recorded",
                )
            )
        if relative is not None and relative.birth_date and citizen.birth_date:
            gap = citizen.birth_date.year - relative.birth_date.year
            if gap < MIN_PARENT_AGE_GAP_YEARS:
                errors.append(
                    error(
                        "relative",
                        "family.parent_too_young",
                        "Cha/mẹ phải lớn hơn con ít nhất 12 tuổi",
                        "A parent must be at least 12 years older than the child",
                    )
                )
        if relative is not None and relative.sex != ("M" if kind == FamilyLink.Kind.FATHER else "F"):
            errors.append(
                error(
                    "relative",
                    "family.parent_sex",
                    "Giới tính của cha/mẹ không khớp",
                    "The parent's sex does not match",
                )
            )
    reciprocal = _RECIPROCAL.get(kind, FamilyLink.Kind.CHILD)
    if kind == FamilyLink.Kind.CHILD and relative is not None:
        # The child's side of the link names this citizen as their father or mother, by sex; the same
        # rules apply as when the link is added from the child's record.
        reciprocal = FamilyLink.Kind.FATHER if citizen.sex == "M" else FamilyLink.Kind.MOTHER
        if relative.family_links.filter(kind=reciprocal).exclude(relative=citizen).exists():
            errors.append(
                error(
                    "relative",
                    "family.parent_exists",
                    "Người con đã có thông tin cha/mẹ này",
                    "This parent of the child is already recorded",
                )
            )
        if (
            relative.birth_date
            and citizen.birth_date
            and relative.birth_date.year - citizen.birth_date.year < MIN_PARENT_AGE_GAP_YEARS
        ):
            errors.append(
                error(
                    "relative",
                    "family.parent_too_young",
                    "Cha/mẹ phải lớn hơn con ít nhất 12 tuổi",
                    "A parent must be at least 12 years older than the child",
                )
            )
    if errors:
        raise DomainError(errors)
    with transaction.atomic():
        link = FamilyLink.objects.create(
            citizen=citizen,
            kind=kind,
            relative=relative,
            relative_name=relative_name,
            relative_pin=relative_pin,
        )
        if relative is not None:
            FamilyLink.objects.get_or_create(
                citizen=relative,
                kind=reciprocal,
                relative=citizen,
                defaults={"relative_name": citizen.full_name, "relative_pin": citizen.pin},
            )
        event = audit_event_record(
            actor=actor,
            event_type=EventType.FAMILY_LINKED,
            subject_type="citizen",
            subject_id=citizen.pk,
            data={
                "kind": kind,
                "relative_id": relative.pk if relative else None,
                "relative_name": relative_name,
            },
            reason=reason,
            source_document=source_document,
        )
        _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document=source_document)
        if relative is not None:
            _bump_citizen(relative, actor=actor, event=event, reason=reason, source_document=source_document)
    return link
