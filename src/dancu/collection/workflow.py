"""The DC01/DC02 form workflow: every write to a collection form, and the form's way into the registry.

A collector fills in a form door to door: DC01 (phiếu thu thập thông tin dân cư) for a person the registry
does not hold yet, DC02 (phiếu cập nhật, chỉnh sửa thông tin dân cư) to change fields of an existing
record with the supporting document. The form then goes

    draft -> submitted -> checked (kiểm tra) -> rechecked (phúc tra) -> applied

checked by a commune reviewer of the form's commune, re-checked by a district or province supervisor whose
area holds the commune, and applied to the registry in one transaction; a reviewer may return it with a
reason at any step before it is applied, and its author edits it and submits it again. Nobody checks or
re-checks a form they wrote, and the check and the re-check are two different people.

The data are judged by the registry's own rules (`registry.validation` and the services' parsing) on every
save, so the form shows the same codes and messages the registry would answer with. A draft may be saved
incomplete; errors block submitting, checking and applying; warnings need a reviewer to acknowledge them.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from dancu.accounts.areas import outside_area_error, user_area
from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.selectors import citizen_scope, household_scope, officer_can_read_records, unit_in_area
from dancu.audit.models import AccessLog, EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.collection.models import CollectionForm, ImportRun, StagingRecord
from dancu.collection.selectors import SAME_PERSON, form_scope, staged_pair_decisions
from dancu.geo.models import AdminUnit
from dancu.lib import pin as pin_codec
from dancu.lib.chunks import batched
from dancu.lib.errors import ConflictError, DomainError, FieldError, NotFoundError
from dancu.lib.partial_date import PartialDate
from dancu.lib.vntext import fold_name, nfc, normalize_name, text_errors
from dancu.registry import services as registry
from dancu.registry.compared import compared_records_log, compared_values
from dancu.registry.models import (
    Citizen,
    FamilyLink,
    Household,
    MaritalStatus,
    Relation,
    Residence,
)
from dancu.registry.rules import (
    FIELD_LABELS,
    Issue,
    Severity,
    check_name,
    check_parent_age,
    check_pin,
    check_representative_age,
    check_spouse_age,
)
from dancu.registry.selectors import (
    RecordLookups,
    relative_for_link,
    relative_married_elsewhere,
    spouses_left_married,
)

# The registry's own parsing, so that a form is judged exactly as the write it leads to will be.
from dancu.registry.validation import (
    citizen_field_errors,
    death_before_birth_errors,
    old_id_holder,
    parse_citizen_input,
    parse_full_date,
    pin_errors,
)

Kind = CollectionForm.Kind
Status = CollectionForm.Status

# Commune police fill in forms: the collectors, and the commune reviewers, who also go door to door.
AUTHOR_ROLES = frozenset({User.Role.COLLECTOR, User.Role.COMMUNE_REVIEWER})

# The personal fields of a DC01 are those of registry.services.NewCitizen; then the residence where the
# person was collected and, optionally, the household they join.
PERSONAL_FIELDS: tuple[str, ...] = tuple(registry.NewCitizen.__dataclass_fields__)
RESIDENCE_FIELDS = ("residence_kind", "commune_code", "address_detail", "registered_on", "expires_on")
HOUSEHOLD_FIELDS = ("household_number", "relation_to_head")
# The relatives a DC01 records (Luật Căn cước 2023 art. 9: father, mother, spouse, legal representative),
# each by name and personal identification number, either of which may be all the person knows.
RELATIVES: dict[str, FamilyLink.Kind] = {
    "father": FamilyLink.Kind.FATHER,
    "mother": FamilyLink.Kind.MOTHER,
    "spouse": FamilyLink.Kind.SPOUSE,
    "representative": FamilyLink.Kind.LEGAL_REPRESENTATIVE,
}
FAMILY_FIELDS = tuple(f"{who}_{part}" for who in RELATIVES for part in ("name", "pin"))
# A father's PIN carries a man's sex digit and a mother's a woman's.
_PARENT_SEX = {"father": pin_codec.SEX_MALE, "mother": pin_codec.SEX_FEMALE}
DC01_FIELDS = frozenset(PERSONAL_FIELDS + RESIDENCE_FIELDS + HOUSEHOLD_FIELDS + FAMILY_FIELDS)
# The fields a DC02 may change: those an officer may change through registry.services.citizen_update, and
# the relatives.
DC02_FIELDS = registry.UPDATABLE_FIELDS | frozenset(FAMILY_FIELDS)
DC01_REQUIRED = (
    "full_name",
    "birth_date",
    "sex",
    "birth_registration_place",
    "residence_kind",
    "commune_code",
    "address_detail",
    "registered_on",
)
# No field of a form is longer than this; more is abuse, refused before any rule looks at it.
MAX_VALUE_LENGTH = 1000
DOCUMENT_MAX_LENGTH = 200
REASON_MAX_LENGTH = 500

_STATUS_NAMES = {
    Status.DRAFT: ("bản nháp", "a draft"),
    Status.SUBMITTED: ("chờ kiểm tra", "submitted"),
    Status.CHECKED: ("đã kiểm tra", "checked"),
    Status.RECHECKED: ("đã phúc tra", "re-checked"),
    Status.APPLIED: ("đã cập nhật vào CSDL", "applied"),
    Status.RETURNED: ("bị trả lại", "returned"),
    Status.REJECTED: ("bị từ chối", "rejected"),
}
_ACTION_NAMES = {
    "edit": ("sửa", "edited"),
    "submit": ("gửi", "submitted"),
    "check": ("kiểm tra", "checked"),
    "recheck": ("phúc tra", "re-checked"),
    "return": ("trả lại", "returned"),
    "reject": ("từ chối", "rejected"),
    "apply": ("cập nhật vào CSDL", "applied"),
}
ACTIONS = tuple(_ACTION_NAMES)


def _rule(field: str, rule_code: str, **params: Any) -> FieldError:
    """A broken rule of the catalogue (`registry.rules`), with its messages."""
    return Issue(field, rule_code, params).as_field_error()


def _required(name: str) -> FieldError:
    return _rule(name, "field.required")


@dataclass
class FormCheck:
    """What the rules say about a form's data, and the units and household it names."""

    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)
    commune: AdminUnit | None = None
    legacy_commune: AdminUnit | None = None
    household: Household | None = None
    # The records the rules compared the form with: its relatives' (named by PIN), and those that already
    # hold its PIN, its CMND, or its name and date of birth; each with the typed values its verdicts
    # depended on (`compared_values`). Whoever is shown the verdicts logs the reads, and a record outside
    # their area once per distinct comparison (`checked_records_log`, registry/compared.py).
    relatives_read: dict[int, set[str]] = field(default_factory=dict)
    duplicates_read: dict[int, set[str]] = field(default_factory=dict)

    def compared(self, reads: dict[int, set[str]], pk: int, *values: object) -> None:
        reads.setdefault(pk, set()).add(compared_values(*values))


# Reading the input ------------------------------------------------------------------------------------------


_SURROGATE = re.compile("[\ud800-\udfff]")
# What a field's name looks like: a DC02 names the fields it changes, and a name that is none of ours is
# refused as unknown here, where a known one the form may not change is named by the rules.
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _text(value: Any, *, name: str) -> str:
    if value is None:
        return ""
    # A number or a boolean is refused too: read as text it would lose its leading zeros (a commune
    # code, a phone number) or name a person "True".
    if not isinstance(value, str):
        raise DomainError(
            FieldError(name, "form.value_type", "Giá trị phải là chuỗi ký tự", "The value must be a string")
        )
    text = nfc(str(value)).strip()
    if "\x00" in text:
        # Nothing could store it (PostgreSQL refuses NUL in text and in JSON); other control characters are
        # kept and reported by the rules, so the officer sees where they are.
        raise DomainError(
            FieldError(
                name,
                "text.control_chars",
                "Có ký tự NUL (U+0000) không hợp lệ",
                "Contains an invalid NUL character (U+0000)",
            )
        )
    if _SURROGATE.search(text):
        # Half of a UTF-16 pair, which a JSON body may spell ("\\ud800"): no page could be encoded with
        # it, and PostgreSQL's JSON refuses it.
        raise DomainError(
            FieldError(
                name,
                "text.invalid_chars",
                "Có ký tự không hợp lệ (nửa cặp UTF-16)",
                "Contains an invalid character (half of a UTF-16 pair)",
            )
        )
    if len(text) > MAX_VALUE_LENGTH:
        raise DomainError(
            FieldError(
                name,
                "text.too_long",
                f"Dài tối đa {MAX_VALUE_LENGTH} ký tự",
                f"At most {MAX_VALUE_LENGTH} characters",
            )
        )
    return text


def form_data_clean(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The form's data as stored: known fields only, text in NFC without surrounding spaces, blanks left
    out. A DC01 is flat (`{"full_name": ..., "commune_code": ...}`); a DC02 is `{"changes": {field: new
    value}}`, where a blank new value clears the field."""
    if not isinstance(data, Mapping):
        raise DomainError(
            FieldError("data", "form.data_type", "Dữ liệu phiếu không hợp lệ", "Invalid form data")
        )
    if kind == Kind.DC02:
        unknown = sorted(set(data) - {"changes"})
        changes = data.get("changes") or {}
        if not isinstance(changes, Mapping):
            raise DomainError(
                FieldError("changes", "form.data_type", "Danh sách thay đổi không hợp lệ", "Invalid changes")
            )
        if any(not str(name).strip() for name in changes):
            raise DomainError(_unknown_field("", container="changes"))
        malformed = [name for name in changes if not _FIELD_NAME.fullmatch(str(name))]
        if malformed:
            raise DomainError([_unknown_field(name, container="changes") for name in malformed])
        clean_changes = {str(name): _text(value, name=str(name)) for name, value in changes.items()}
        if unknown:
            raise DomainError([_unknown_field(name, container="data") for name in unknown])
        return {"changes": clean_changes}
    unknown = sorted(set(data) - DC01_FIELDS)
    if unknown:
        raise DomainError([_unknown_field(name, container="data") for name in unknown])
    clean = {name: _text(value, name=name) for name, value in data.items()}
    return {name: value for name, value in clean.items() if value}


def _unknown_field(name: str, *, container: str) -> FieldError:
    # A blank name would give an error that names no field: it names the part of the form holding it.
    return FieldError(
        _SURROGATE.sub("\ufffd", str(name)[:100]).strip() or container,
        "form.unknown_field",
        "Phiếu không có trường này",
        "The form has no such field",
    )


# The rules --------------------------------------------------------------------------------------------------


# The communes looked up by code inside `communes_cached`: an import's promotion checks thousands of
# rows in a few hundred communes, and the units do not change while it runs (they change by a migration).
_communes_seen: ContextVar[dict[str, AdminUnit | None] | None] = ContextVar("communes_seen", default=None)


@contextmanager
def communes_cached() -> Iterator[None]:
    """Look each commune code up once while the block runs, for the checks of many forms in a row."""
    token = _communes_seen.set({})
    try:
        yield
    finally:
        _communes_seen.reset(token)


def _is_unit_code(code: str) -> bool:
    # Unit codes are ASCII digits; anything else names no unit (and a NUL would make PostgreSQL refuse the
    # look-up itself).
    return code.isascii() and code.isdigit()


def _communes_query() -> QuerySet[AdminUnit]:
    return AdminUnit.objects.select_related("parent").filter(
        structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.COMMUNE
    )


def commune_by_code(code: str) -> AdminUnit | None:
    """The 2025 commune of this code, with its province; looked up once while `communes_cached` runs."""
    if not _is_unit_code(code):
        return None
    seen = _communes_seen.get()
    if seen is not None and code in seen:
        return seen[code]
    found = _communes_query().filter(code=code).first()
    if seen is not None:
        seen[code] = found
    return found


def communes_prefetch(codes: Collection[str]) -> None:
    """Look up in one query the communes of these codes not yet looked up while `communes_cached` runs
    (nothing outside it): an import's chunk of rows names a few hundred communes."""
    seen = _communes_seen.get()
    if seen is None:
        return
    wanted = sorted({code for code in codes if _is_unit_code(code) and code not in seen})
    for batch in batched(wanted, 500):  # within SQLite's limit of parameters per statement
        found = {unit.code: unit for unit in _communes_query().filter(code__in=batch)}
        seen.update((code, found.get(code)) for code in batch)


def _free_text_errors(value: str, *, field: str, max_length: int, prose: bool = False) -> list[FieldError]:
    """`text_errors` for a field of the form, its messages naming the field as the page labels it ("Trường
    «Lý do»"): said by its code ("Trường «reason»") they name nothing the officer can see, beside the
    field or in a message above the page."""
    return text_errors(value, field=field, max_length=max_length, prose=prose, label=FIELD_LABELS.get(field))


def _check_document_and_reason(document: str, reason: str, *, complete: bool, kind: str) -> list[FieldError]:
    errors = _free_text_errors(document, field="document", max_length=DOCUMENT_MAX_LENGTH, prose=True)
    errors += _free_text_errors(reason, field="reason", max_length=REASON_MAX_LENGTH, prose=True)
    if complete and kind == Kind.DC02:
        # A correction of the registry stands on a document (giấy tờ làm căn cứ) and says why.
        if not document:
            errors.append(_rule("document", "document.required"))
        if not reason:
            errors.append(_required("reason"))
    return errors


def _partial_birth_warning(birth: PartialDate | None) -> list[FieldError]:
    if birth is None or birth.precision == "day":
        return []
    return [_rule("birth_date", "date.partial")]


def _check_dc01(
    user: User | None,
    data: dict[str, Any],
    *,
    complete: bool,
    today: date,
    lookups: RecordLookups,
    staging_record_id: int | None = None,
) -> FormCheck:
    check = FormCheck()
    errors, warnings = check.errors, check.warnings
    if complete:
        errors += [_required(name) for name in DC01_REQUIRED if not data.get(name)]

    personal = {
        name: data[name]
        for name in PERSONAL_FIELDS
        if name not in ("pin", "birth_registration_place") and data.get(name)
    }
    parsed, problems = parse_citizen_input(personal)
    errors += problems
    errors += citizen_field_errors(parsed, today=today)
    birth: PartialDate | None = parsed.get("birth_date")
    sex = parsed.get("sex") if parsed.get("sex") in ("M", "F") else None

    place = data.get("birth_registration_place", "")
    place_ok = len(place) == 3 and place.isascii() and place.isdigit() and bool(pin_codec.place_name(place))
    if place and not place_ok:
        errors.append(_rule("birth_registration_place", "place.unknown"))
    pin = data.get("pin", "")
    if pin:
        pin_problems = pin_errors(pin, sex=sex, birth=birth, place_code=place if place_ok else None)
        errors += pin_problems
        holder = None if pin_problems else lookups.pin_holder(pin)
        if holder is not None:
            errors.append(_rule("pin", "pin.duplicate"))
            check.compared(check.duplicates_read, holder, "pin", pin)
    holder = lookups.old_id_holder(parsed.get("old_id_number"))
    if holder is not None:
        _old_id_taken(check, holder, parsed["old_id_number"])

    warnings += _partial_birth_warning(birth)
    name_ok = bool(parsed.get("full_name")) and not any(e.field == "full_name" for e in errors)
    # The same name and date of birth in the registry is most often the same person collected twice: a
    # reviewer looks before a second record (and a second PIN) is made.
    same = (
        lookups.possible_duplicates(fold_name(parsed["full_name"]), birth)
        if name_ok and birth is not None and not pin
        else []
    )
    # A form made from an imported row: the duplicates queue may have settled the row's pair with a
    # record of the same name and birth already. "Not the same person" is the answer the warning asks
    # for, so the record is not put to the reviewer again; "same person" is said as such.
    decided = (
        staged_pair_decisions(record_id=staging_record_id, citizen_ids=same)
        if same and staging_record_id is not None
        else {}
    )
    open_question = [pk for pk in same if pk not in decided]
    settled_same = [pk for pk in same if decided.get(pk) in SAME_PERSON]
    if settled_same:
        warnings.append(_rule("full_name", "citizen.decided_same_person"))
    if open_question:
        warnings.append(_rule("full_name", "citizen.possible_duplicate"))
    for pk in [*settled_same, *open_question]:
        check.compared(check.duplicates_read, pk, "same", fold_name(parsed["full_name"]), birth)

    _check_residence(user, data, check, birth=birth, complete=complete, today=today)
    _check_household(user, data, check, complete=complete)
    relatives = relatives_of(data)
    person = _Person(name=parsed.get("full_name", ""), pin=pin, sex=sex, birth=birth)
    _check_family(relatives, check, person=person, complete=complete, today=today)
    _check_spouse_status(check, status=parsed.get("marital_status", ""), spouse="spouse" in relatives)
    return check


def _check_residence(
    user: User | None,
    data: dict[str, Any],
    check: FormCheck,
    *,
    birth: PartialDate | None,
    complete: bool,
    today: date,
) -> None:
    errors = check.errors
    kind = data.get("residence_kind", "")
    if kind and kind not in Residence.Kind.values:
        errors.append(_rule("residence_kind", "residence.kind_invalid"))
    code = data.get("commune_code", "")
    if code:
        commune = commune_by_code(code)
        if commune is None:
            errors.append(_rule("commune_code", "unit.unknown", code=code))
        elif user is not None and not unit_in_area(user, commune):
            errors.append(outside_area_error("commune_code", unit=commune, area=user_area(user)))
        else:
            check.commune = commune
    address = data.get("address_detail", "")
    if address:
        errors += _free_text_errors(address, field="address_detail", max_length=300)
    registered_on, problems = parse_full_date(data.get("registered_on"), field="registered_on")
    errors += problems
    expires_on, expiry_problems = parse_full_date(data.get("expires_on"), field="expires_on")
    errors += expiry_problems
    if registered_on is not None:
        if registered_on > today:
            errors.append(_rule("registered_on", "date.future"))
        if birth is not None and registered_on < birth.earliest():
            errors.append(_rule("registered_on", "residence.before_birth"))
    if kind == Residence.Kind.TEMPORARY:
        if expires_on is None and complete and not expiry_problems:
            errors.append(_rule("expires_on", "residence.expiry_required"))
        elif (
            expires_on is not None
            and registered_on is not None
            and (
                expires_on <= registered_on
                or (expires_on - registered_on).days > registry.TEMPORARY_RESIDENCE_MAX_DAYS
            )
        ):
            errors.append(_rule("expires_on", "residence.expiry_range"))
        elif expires_on is not None and expires_on < today:
            # As the registry refuses it (residence_register): a stay already over cannot be current.
            errors.append(_rule("expires_on", "residence.already_expired"))
    elif kind and expires_on is not None:
        errors.append(_rule("expires_on", "residence.expiry_not_allowed"))


def _check_household(user: User | None, data: dict[str, Any], check: FormCheck, *, complete: bool) -> None:
    errors = check.errors
    number = data.get("household_number", "")
    relation = data.get("relation_to_head", "")
    if not number:
        if relation:
            errors.append(_rule("household_number", "household.number_required"))
        return
    number_problems = _free_text_errors(number, field="household_number", max_length=20)
    errors += number_problems
    household = (
        None
        if number_problems or user is None
        else Household.objects.filter(household_scope(user))
        .filter(number=number)
        .select_related("commune")
        .first()
    )
    if household is None:
        if not number_problems:
            errors.append(_rule("household_number", "household.unknown"))
    else:
        check.household = household
        if check.commune is not None and household.commune_id != check.commune.pk:
            errors.append(_rule("household_number", "household.other_commune"))
        kind = data.get("residence_kind", "")
        if kind and kind != Residence.Kind.PERMANENT:
            # Joining a household is registering a permanent residence at its address (Luật Cư trú 2020).
            errors.append(_rule("residence_kind", "household.needs_permanent"))
    if not relation:
        if complete:
            errors.append(_required("relation_to_head"))
    elif relation not in Relation.values:
        errors.append(_rule("relation_to_head", "relation.invalid"))
    elif household is not None:
        # The registry's rule (household_add_member): a household has one head, and a household without
        # one (its head died, or every member left) takes its head before any other member.
        has_head = household.memberships.filter(left_on__isnull=True, relation_to_head=Relation.HEAD).exists()
        if relation == Relation.HEAD and has_head:
            errors.append(
                FieldError(
                    "relation_to_head",
                    "household.second_head",
                    "Hộ đã có chủ hộ; người mới nhập hộ không thể là chủ hộ",
                    "The household already has a head; a new member cannot be its head",
                )
            )
        elif relation != Relation.HEAD and not has_head:
            errors.append(
                FieldError(
                    "relation_to_head",
                    "household.no_head",
                    "Hộ chưa có chủ hộ: người nhập hộ trước hết phải là chủ hộ",
                    "The household has no head: the first to join must be its head",
                )
            )


@dataclass(frozen=True)
class NewRelative:
    """A relative named on a form, as the link to them will be written."""

    kind: FamilyLink.Kind
    name: str
    pin: str
    # The relative's own record, when the PIN given is one the registry holds.
    citizen: Citizen | None


def _relative(who: str, name: str, pin: str) -> NewRelative | None:
    """The relative `who` named so, with their record where the PIN leads to one (`relative_for_link`,
    across the country); None for neither."""
    name = normalize_name(name)
    if not name and not pin:
        return None
    return NewRelative(RELATIVES[who], name, pin, relative_for_link(pin) if pin else None)


def relatives_of(data: Mapping[str, Any]) -> dict[str, NewRelative]:
    """The relatives a DC01's data name, by who they are ("father", "mother", ...)."""
    named = {
        who: _relative(who, data.get(f"{who}_name", ""), data.get(f"{who}_pin", "")) for who in RELATIVES
    }
    return {who: relative for who, relative in named.items() if relative is not None}


# A record's link to a relative a form names: who they are, the name and PIN on the link, their record.
_Link = tuple[str, str, str, int | None]


def _relative_links(citizen: Citizen) -> list[_Link]:
    """The record's links to its father, mother, spouse and legal representative, oldest first."""
    kinds = {kind: who for who, kind in RELATIVES.items()}
    found = citizen.family_links.filter(kind__in=kinds).order_by("pk")
    return [
        (kinds[FamilyLink.Kind(kind)], name, pin, record)
        for kind, name, pin, record in found.values_list(
            "kind", "relative_name", "relative_pin", "relative_id"
        )
    ]


def _current_of(links: Iterable[_Link]) -> dict[str, tuple[str, str]]:
    current: dict[str, tuple[str, str]] = {}
    for who, name, pin, _record in links:
        current.setdefault(who, (name, pin))
    return current


def current_relatives(citizen: Citizen) -> dict[str, tuple[str, str]]:
    """The name and PIN of the father, mother, spouse and legal representative the record names now."""
    return _current_of(_relative_links(citizen))


def changed_relatives(
    current: Mapping[str, tuple[str, str]], changes: Mapping[str, str]
) -> dict[str, NewRelative | None]:
    """The relatives a DC02 changes, by who they are: the name and the PIN it gives, each kept from
    `current` (`current_relatives` of the record) where the form leaves it out; None where it clears both
    (the record will name nobody)."""
    changed: dict[str, NewRelative | None] = {}
    for who in RELATIVES:
        name_field, pin_field = f"{who}_name", f"{who}_pin"
        if name_field not in changes and pin_field not in changes:
            continue
        name, pin = current.get(who, ("", ""))
        changed[who] = _relative(who, changes.get(name_field, name), changes.get(pin_field, pin))
    return changed


@dataclass(frozen=True)
class _Person:
    """The person a form collects or corrects, as the family rules compare them with their relatives."""

    name: str
    pin: str
    sex: str | None
    birth: PartialDate | None
    record: int | None = None  # their record's id, for a DC02


# A parent may be the legal representative too (of a child, most often); no one else is named twice.
_ROLES_OF_ONE = frozenset({frozenset({"father", "representative"}), frozenset({"mother", "representative"})})


def _check_family(
    relatives: Mapping[str, NewRelative],
    check: FormCheck,
    *,
    person: _Person,
    complete: bool,
    today: date,
    kept: Mapping[int | str, str] = MappingProxyType({}),
) -> None:
    """Each relative's name and PIN, and what the registry's record of the relative says of them: a
    parent older than the child by the rules' margin, a PIN that leads to someone, the name it leads to,
    a spouse of the age to marry and not married to someone else, a representative of age, no one in two
    relations but a parent who represents."""
    issues: list[Issue] = []
    # Who each relative is, by record (or by PIN where none was found), and in which relation.
    named: dict[int | str, str] = dict(kept)
    for who, relative in relatives.items():
        name_field, pin_field = f"{who}_name", f"{who}_pin"
        issues += check_name(relative.name, field=name_field, required=False)
        if complete and relative.citizen is None and not relative.name:
            # Without a record to take it from, the link has nothing but the name to show.
            issues.append(Issue(name_field, "name.required"))
        if not relative.pin:
            continue
        pin_issues = [
            # On a relative's number the sex digit is checked against the parent named, not the record.
            Issue(pin_field, "family.parent_sex") if issue.rule_code == "pin.sex_mismatch" else issue
            for issue in check_pin(relative.pin, sex=_PARENT_SEX.get(who), birth=None, field=pin_field)
        ]
        found = relative.citizen
        # The record's own PIN, or one of a record merged into it, which leads to the same record.
        if relative.pin == person.pin or (found is not None and found.pk == person.record):
            pin_issues.append(Issue(pin_field, "family.self"))
        keys: list[int | str] = [relative.pin] if found is None else [relative.pin, found.pk]
        if any(key in named and frozenset({named[key], who}) not in _ROLES_OF_ONE for key in keys):
            pin_issues.append(Issue(pin_field, "family.two_roles"))
        for key in keys:
            named.setdefault(key, who)
        issues += pin_issues
        if pin_issues:
            continue
        if found is None:
            # A typing error most often; a relative never registered is the reviewer's to confirm.
            issues.append(Issue(pin_field, "family.relative_unknown"))
            continue
        # What the verdicts below read of the typed data: the relative's name, the person's birth date
        # (a parent's age, a spouse's) and name and record (a spouse married elsewhere).
        check.compared(
            check.relatives_read,
            found.pk,
            who,
            relative.pin,
            relative.name,
            person.name,
            person.birth,
            person.record,
        )
        if relative.name and fold_name(relative.name) != found.name_key:
            issues.append(Issue(name_field, "family.name_differs"))
        if who in _PARENT_SEX:
            issues += check_parent_age(found.birth_date, person.birth, field=pin_field)
        elif found.date_of_death is not None:
            # A late parent is named as any parent; a spouse or a representative is someone living.
            issues.append(Issue(pin_field, "family.relative_dead"))
        if who == "spouse":
            issues += check_spouse_age(found.birth_date, found.sex, today, field=pin_field)
            if relative_married_elsewhere(found, record=person.record, name=person.name):
                issues.append(Issue(pin_field, "family.spouse_married_elsewhere"))
        elif who == "representative":
            issues += check_representative_age(found.birth_date, today, field=pin_field)
    if "spouse" in relatives and person.sex is not None:
        issues += check_spouse_age(person.birth, person.sex, today, field="birth_date")
    for issue in issues:
        problem = issue.as_field_error()
        (check.errors if issue.severity is Severity.ERROR else check.warnings).append(problem)


def _check_spouse_status(check: FormCheck, *, status: str, spouse: bool, removed: bool = False) -> None:
    """A spouse goes with the status "married", as the record will be after the form: a spouse named
    beside another status, or a spouse removed from a record still married, is most often half of a
    change (a divorce recorded in one field and not the other) for the reviewer to look at. An unknown
    status says nothing, and a married person whose spouse is not named is common."""
    if spouse and status and status != MaritalStatus.MARRIED:
        check.warnings.append(_rule("spouse_name", "family.spouse_not_married"))
    elif removed and status == MaritalStatus.MARRIED:
        check.warnings.append(_rule("spouse_name", "family.spouse_removed_married"))


def _old_id_taken(check: FormCheck, holder: int, old_id: str) -> None:
    """A CMND number that another record holds: an error, and a verdict about that record."""
    check.errors.append(_rule("old_id_number", "cmnd.duplicate"))
    check.compared(check.duplicates_read, holder, "cmnd", old_id)


def _check_dc02(citizen: Citizen, data: dict[str, Any], *, complete: bool, today: date) -> FormCheck:
    check = FormCheck(commune=citizen.area_commune, legacy_commune=citizen.area_legacy_commune)
    errors, warnings = check.errors, check.warnings
    changes: dict[str, str] = data.get("changes", {})
    errors += [
        FieldError(
            name,
            "field.not_updatable",
            "Trường này không sửa được bằng phiếu DC02",
            "This field cannot be changed with a DC02 form",
        )
        for name in sorted(set(changes) - DC02_FIELDS)
    ]
    valid = {name: value for name, value in changes.items() if name in DC02_FIELDS}
    if complete and not valid:
        errors.append(_rule("changes", "form.no_changes"))
    if citizen.area_commune is None:
        errors.append(_rule("citizen", "citizen.no_area"))
    personal = {name: value for name, value in valid.items() if name in registry.UPDATABLE_FIELDS}
    parsed, problems = parse_citizen_input(personal)
    errors += problems
    errors += citizen_field_errors(parsed, today=today)
    if ("birth_date" in parsed) != ("date_of_death" in parsed):
        # One of the two dates changes: compare it with the other as the record holds it.
        errors += death_before_birth_errors(
            parsed.get("birth_date", citizen.birth_date), parsed.get("date_of_death", citizen.date_of_death)
        )
    if parsed.get("birth_date") is not None:
        errors += pin_errors(citizen.pin, sex=citizen.sex, birth=parsed["birth_date"], place_code=None)
    holder = old_id_holder(parsed.get("old_id_number"), exclude_pk=citizen.pk)
    if holder is not None:
        _old_id_taken(check, holder, parsed["old_id_number"])
    unique: list[FieldError] = []
    for problem in errors:
        if problem not in unique:
            unique.append(problem)
    check.errors = unique

    if "birth_date" in parsed:
        warnings += _partial_birth_warning(parsed["birth_date"])
    for name in ("full_name", "birth_date"):
        if name in parsed and parsed[name] != getattr(citizen, name):
            warnings.append(_rule(name, "change.identity"))
    if parsed.get("date_of_death") is not None and citizen.date_of_death is None:
        warnings.append(_rule("date_of_death", "change.death"))
    for name, value in parsed.items():
        if getattr(citizen, name) == value:
            warnings.append(_rule(name, "change.same_value"))
    _check_changed_relatives(
        citizen,
        valid,
        check,
        person=_Person(
            name=parsed.get("full_name", citizen.full_name),
            pin=citizen.pin,
            sex=citizen.sex,
            birth=parsed.get("birth_date", citizen.birth_date),
            record=citizen.pk,
        ),
        status=parsed.get("marital_status", citizen.marital_status),
        complete=complete,
        today=today,
    )
    return check


def _kept(links: Iterable[_Link], changed: Collection[str]) -> dict[int | str, str]:
    """The relatives a DC02 keeps, by their record and by the number on the link: they are not judged
    again, but no one the form names may be one of them (a number of a record merged into theirs leads to
    their record, hence the record too)."""
    kept: dict[int | str, str] = {}
    for who, _name, pin, record in links:
        for key in (record, pin) if who not in changed else ():
            if key:
                kept.setdefault(key, who)
    return kept


def _check_changed_relatives(
    citizen: Citizen,
    changes: Mapping[str, str],
    check: FormCheck,
    *,
    person: _Person,
    status: str,
    complete: bool,
    today: date,
) -> None:
    links = _relative_links(citizen)
    current = _current_of(links)
    relatives = changed_relatives(current, changes)
    named = {who: relative for who, relative in relatives.items() if relative is not None}
    _check_family(named, check, person=person, complete=complete, today=today, kept=_kept(links, relatives))
    if "marital_status" in changes or "spouse" in relatives:
        # Only a form that touches the status or the spouse is asked to make the two agree: one that
        # corrects a name does not inherit an old disagreement to acknowledge.
        spouse = relatives["spouse"] is not None if "spouse" in relatives else "spouse" in current
        removed = "spouse" in current and "spouse" in relatives and relatives["spouse"] is None
        _check_spouse_status(check, status=status, spouse=spouse, removed=removed)
    if "spouse" in relatives:
        _check_former_spouses(links, relatives["spouse"], check)
    for who, relative in relatives.items():
        if relative is None:
            new = ("", "")
        else:
            # A link to a record shows the record's name, whatever the form wrote.
            new = (relative.citizen.full_name if relative.citizen else relative.name, relative.pin)
        if current.get(who, ("", "")) == new:
            check.warnings.append(_rule(f"{who}_name", "change.same_value"))


def _check_former_spouses(links: Iterable[_Link], spouse: NewRelative | None, check: FormCheck) -> None:
    """A spouse the DC02 removes or replaces, whose own record still says "married": applying the form
    ends the link on both records, but the other record's status is theirs to change, by a DC02 of its own
    (a divorce is recorded on both spouses). The collector is told, so that the second form is not
    forgotten; a former spouse who died, or one known by name only, has no record to correct."""
    staying = spouse.citizen.pk if spouse is not None and spouse.citizen is not None else None
    former = {
        record for who, _name, _pin, record in links if who == "spouse" and record and record != staying
    }
    if not former:
        return
    for pk in former:
        check.compared(check.relatives_read, pk, "former_spouse")
    if spouses_left_married(former):
        check.warnings.append(_rule("spouse_name", "family.former_spouse_married"))


def citizen_required(field: str = "citizen") -> FieldError:
    """A DC02 that names no citizen, said of the field that should have (`citizen_pin` in an API body)."""
    return FieldError(
        field, "citizen.required", "Phiếu DC02 phải chỉ rõ công dân", "A DC02 form names a citizen"
    )


def form_validate(
    *,
    user: User | None,
    kind: str,
    data: Mapping[str, Any],
    citizen: Citizen | None = None,
    document: str = "",
    reason: str = "",
    complete: bool = True,
    today: date | None = None,
    lookups: RecordLookups | None = None,
    staging_record_id: int | None = None,
) -> FormCheck:
    """Judge a form's data without writing anything; the page calls it as the officer types.

    With `complete`, missing mandatory fields are errors too (what submitting needs); without, only the
    values already typed are judged (what a half-filled draft can be told). `lookups` answers a DC01's
    questions to the registry (who holds its PIN, its CMND, its name and birth) when the caller read them
    for many forms at once. `staging_record_id` is the imported row a DC01 was made from, whose pairs the
    duplicates queue may have decided.
    """
    today = today or timezone.localdate()
    if kind not in Kind.values:
        raise DomainError(
            FieldError(
                "kind",
                "form.kind_invalid",
                "Loại phiếu phải là DC01 hoặc DC02",
                "The form kind must be DC01 or DC02",
            )
        )
    clean = form_data_clean(kind, data)
    document, reason = _text(document, name="document"), _text(reason, name="reason")
    if kind == Kind.DC02:
        if citizen is None:
            raise DomainError(citizen_required())
        check = _check_dc02(citizen, clean, complete=complete, today=today)
    else:
        check = _check_dc01(
            user,
            clean,
            complete=complete,
            today=today,
            lookups=lookups or RecordLookups(),
            staging_record_id=staging_record_id,
        )
    check.errors += _check_document_and_reason(document, reason, complete=complete, kind=kind)
    return check


def form_from_staging(
    *,
    actor: Actor,
    record: StagingRecord,
    data: Mapping[str, Any],
    commune: AdminUnit,
    legacy_commune: AdminUnit | None,
    apply_errors: Sequence[FieldError] = (),
) -> CollectionForm:
    """File an imported row that needs an officer as a DC01 waiting to be checked in its commune: its
    author is the import (the row), so every officer of the commune's reviewers may take it, and it goes
    through the check, re-check and apply of any DC01. The caller holds the transaction."""
    run = record.run
    form = CollectionForm(
        kind=Kind.DC01,
        status=Status.SUBMITTED,
        status_since=timezone.now(),
        submitted_at=timezone.now(),
        commune=commune,
        legacy_commune=legacy_commune,
        data=form_data_clean(Kind.DC01, data),
        # The registry's history cites the form, and the form the file and the row it came from.
        document=f"Tệp {record.label}",
        reason="Nhập dữ liệu dân cư cũ",
        staging_record=record,
        apply_errors=_as_json(list(apply_errors)),
    )
    check = _check_stored(form, None)
    form.errors = _as_json(check.errors)
    form.warnings = _as_json(check.warnings)
    form.save()
    audit_event_record(
        actor=actor,
        event_type=EventType.STAGING_QUEUED,
        subject_type="collection_form",
        subject_id=form.pk,
        data={"run": run.pk, "row": record.row_number, "errors": _codes(check.errors)},
        source_document=form.label,
        unit=commune,
    )
    return form


# Who may do what --------------------------------------------------------------------------------------------


def _is_commune_reviewer(user: User) -> bool:
    unit = user.police_unit
    return (
        user.role == User.Role.COMMUNE_REVIEWER
        and unit is not None
        and unit.level == PoliceUnit.Level.COMMUNE
    )


def _is_supervisor(user: User) -> bool:
    unit = user.police_unit
    return (
        user.role == User.Role.SUPERVISOR
        and unit is not None
        and unit.level in (PoliceUnit.Level.PROVINCE, PoliceUnit.Level.DISTRICT)
    )


def _role_refusal(action: str) -> FieldError:
    who_vi, who_en = (
        ("cán bộ kiểm tra cấp xã", "a commune reviewer")
        if action == "check"
        else ("cán bộ phúc tra cấp huyện/tỉnh", "a district or province supervisor")
    )
    action_vi, action_en = _ACTION_NAMES[action]
    return FieldError(
        "actor",
        "role.not_allowed",
        f"Chỉ {who_vi} được {action_vi} phiếu ở bước này",
        f"Only {who_en} may have the form {action_en} at this step",
    )


def _status_refusal(form: CollectionForm, action: str) -> FieldError:
    if form.status == Status.APPLIED:
        return FieldError(
            "status",
            "form.applied",
            "Phiếu đã được cập nhật vào CSDL, không thay đổi được nữa",
            "The form has been applied to the registry and can no longer change",
        )
    status_vi, status_en = _STATUS_NAMES[Status(form.status)]
    action_vi, action_en = _ACTION_NAMES[action]
    return FieldError(
        "status",
        "form.status",
        f"Phiếu đang ở trạng thái «{status_vi}»: không thể {action_vi}",
        f"The form is {status_en}: it cannot be {action_en}",
    )


def _refusal(user: User, form: CollectionForm, action: str) -> FieldError | None:
    """Why `user` may not take `action` on `form` (in their area), or None when they may."""
    status = form.status
    if form.from_import:
        return _import_form_refusal(user, form, action)
    if action == "reject":
        return FieldError(
            "actor",
            "form.not_from_import",
            "Chỉ phiếu từ tệp nhập mới bị từ chối; phiếu của cán bộ được trả lại cho người lập",
            "Only a form made by an import is rejected; an officer's form is returned to its author",
        )
    if action in ("edit", "submit"):
        if form.created_by_id != user.pk or user.role not in AUTHOR_ROLES:
            return FieldError(
                "actor",
                "form.not_author",
                "Chỉ người lập phiếu được sửa và gửi phiếu",
                "Only the author of the form may edit and submit it",
            )
        if status not in (Status.DRAFT, Status.RETURNED):
            return _status_refusal(form, action)
        return None
    if action == "return":
        if status not in (Status.SUBMITTED, Status.CHECKED, Status.RECHECKED):
            return _status_refusal(form, action)
        # A form is returned by whoever it waits for: the commune reviewer, then the supervisor.
        allowed = _is_commune_reviewer(user) if status == Status.SUBMITTED else _is_supervisor(user)
        if not allowed:
            return _role_refusal("check" if status == Status.SUBMITTED else "return")
    else:
        needed = {"check": Status.SUBMITTED, "recheck": Status.CHECKED, "apply": Status.RECHECKED}[action]
        allowed = _is_commune_reviewer(user) if action == "check" else _is_supervisor(user)
        if not allowed:
            return _role_refusal(action)
        if status != needed:
            return _status_refusal(form, action)
    if form.created_by_id == user.pk:
        return FieldError(
            "actor",
            "form.own",
            "Không ai được kiểm tra, phúc tra hay cập nhật phiếu do chính mình lập",
            "Nobody may check, re-check or apply a form they wrote themselves",
        )
    if action == "recheck" and form.checked_by_id == user.pk:
        return FieldError(
            "actor",
            "form.same_reviewer",
            "Người đã kiểm tra phiếu không được phúc tra chính phiếu đó",
            "The officer who checked the form may not also re-check it",
        )
    return None


def _import_form_refusal(user: User, form: CollectionForm, action: str) -> FieldError | None:
    """A form made from an imported row has no author to edit, submit or take it back: the commune
    reviewer corrects it in place (edit) before checking it, and a reviewer who finds the row wrong
    rejects it with a reason instead of returning it. Check, re-check and apply are a DC01's."""
    status = form.status
    if action in ("submit", "return"):
        return FieldError(
            "actor",
            "form.from_import",
            "Phiếu từ tệp nhập không có người lập để gửi hay trả lại: sửa trực tiếp hoặc từ chối",
            "A form made by an import has no author to submit or return it to: correct it, or reject it",
        )
    if action == "edit":
        if status != Status.SUBMITTED:
            return _status_refusal(form, action)
        return None if _is_commune_reviewer(user) else _role_refusal("check")
    if action == "reject":
        if status not in (Status.SUBMITTED, Status.CHECKED, Status.RECHECKED):
            return _status_refusal(form, action)
        allowed = _is_commune_reviewer(user) if status == Status.SUBMITTED else _is_supervisor(user)
        return None if allowed else _role_refusal("check" if status == Status.SUBMITTED else "return")
    needed = {"check": Status.SUBMITTED, "recheck": Status.CHECKED, "apply": Status.RECHECKED}[action]
    allowed = _is_commune_reviewer(user) if action == "check" else _is_supervisor(user)
    if not allowed:
        return _role_refusal(action)
    if status != needed:
        return _status_refusal(form, action)
    if action == "recheck" and form.checked_by_id == user.pk:
        return FieldError(
            "actor",
            "form.same_reviewer",
            "Người đã kiểm tra phiếu không được phúc tra chính phiếu đó",
            "The officer who checked the form may not also re-check it",
        )
    return None


def form_allowed_actions(*, user: User, form: CollectionForm) -> set[str]:
    """The actions the pages offer `user` on a form they can see: the same rules the services apply."""
    if not officer_can_read_records(user):
        return set()
    actions = {action for action in ACTIONS if _refusal(user, form, action) is None}
    if form.errors:
        # A form that still breaks a rule (an imported row whose number another record holds) cannot be
        # confirmed: the step judges it again and refuses it. Offered anyway, the button only costs a
        # reviewer at the counter a tap and a refusal; the page offers what can settle it, the correction
        # or the rejection. A correction saved judges the form again, so rules gone stale are no trap.
        actions -= {"check", "recheck"}
    return actions


# Writes -----------------------------------------------------------------------------------------------------


def _user_of(actor: Actor) -> User:
    if actor.user is None or not officer_can_read_records(actor.user):
        # Forms are an officer's work: system jobs (imports, the generator) write through their own services.
        raise DomainError(
            FieldError(
                "actor",
                "role.not_allowed",
                "Chỉ cán bộ mới làm việc với phiếu",
                "Only officers work with forms",
            )
        )
    return actor.user


def _locked(form: CollectionForm, user: User, *, seen: datetime | None = None) -> CollectionForm:
    """The form's row, locked for this transaction, if the user may see it; else it is "not found".

    `seen` is when the form last changed as the page the officer acted on showed it: a reviewer who
    confirms a form confirms what they read. When it changed since (returned by a colleague, corrected
    and submitted again, corrected in place by another reviewer), acting on it would confirm or overwrite
    what nobody on this page saw, so the action is refused (ConflictError: a 409 through the API, whose
    clients send the form's `seen` value back the same way, or a 412 when they send it as the If-Match
    header, collection/api.py) and the officer looks again."""
    locked = CollectionForm.objects.select_for_update().filter(pk=form.pk).first()
    if locked is None or not CollectionForm.objects.filter(form_scope(user)).filter(pk=form.pk).exists():
        raise NotFoundError("form")
    if seen is not None and locked.updated_at != seen:
        raise ConflictError(
            FieldError(
                "form",
                "form.changed",
                f"Phiếu {locked.label} đã thay đổi sau khi bạn mở trang (có người vừa sửa hoặc xử lý phiếu): "
                "chưa làm gì; hãy xem lại phiếu như hiện nay rồi làm lại",
                f"Form {locked.label} changed after you opened the page (someone edited or acted on it): "
                "nothing was done; look at the form as it is now and act again",
            )
        )
    return locked


def _require(user: User, form: CollectionForm, action: str) -> None:
    refusal = _refusal(user, form, action)
    if refusal is not None:
        raise DomainError(refusal)


def _as_json(problems: list[FieldError]) -> list[dict[str, Any]]:
    return [problem.as_dict() for problem in problems]


def _codes(problems: list[FieldError]) -> list[str]:
    return sorted({problem.code for problem in problems})


def _record(
    *,
    actor: Actor,
    event_type: EventType,
    form: CollectionForm,
    reason: str = "",
    **data: Any,
) -> None:
    # The work on a form counts toward its commune: campaigns tally submitted and applied forms by it.
    audit_event_record(
        actor=actor,
        event_type=event_type,
        subject_type="collection_form",
        subject_id=form.pk,
        data={"kind": form.kind, "status": form.status, **data},
        reason=reason,
        source_document=form.label,
        unit=form.commune,
    )


def _check_stored(form: CollectionForm, user: User | None, *, complete: bool = True) -> FormCheck:
    check = form_validate(
        user=user,
        kind=form.kind,
        data=form.data,
        citizen=form.citizen,
        document=form.document,
        reason=form.reason,
        complete=complete,
        staging_record_id=form.staging_record_id,
    )
    if form.staging_record is not None:
        # What the import's rules warned about the row as read (an unknown birth province, an address
        # that maps to no commune's succession) needs the reviewer's acknowledgement like the form's own.
        codes = {warning.code for warning in check.warnings}
        check.warnings += [
            FieldError(issue["field"], issue["code"], issue["message_vi"], issue["message_en"])
            for issue in form.staging_record.issues
            if issue["severity"] == Severity.WARNING and issue["code"] not in codes
        ]
    return check


def _filed_commune(check: FormCheck) -> AdminUnit:
    """A form is filed under its commune from the first save: without one nobody could review it."""
    if check.commune is None:
        problems = [e for e in check.errors if e.field in ("commune_code", "citizen")]
        raise DomainError(problems or [_required("commune_code")])
    return check.commune


class AlreadySavedError(DomainError):
    """The page that sent a new form had sent it before (its button pressed twice, a post sent again on a
    slow connection): `form` is the one that was made then, and no second one is."""

    def __init__(self, form: CollectionForm) -> None:
        super().__init__(
            FieldError(
                "submission_key",
                "form.already_saved",
                f"Phiếu {form.label} đã được lưu từ lần gửi trước: không lập thêm phiếu",
                f"Form {form.label} was saved by the earlier send: no second form was made",
            )
        )
        self.form = form


def _saved_before(user: User, submission_key: uuid.UUID | None) -> CollectionForm | None:
    if submission_key is None:
        return None
    return CollectionForm.objects.filter(created_by=user, submission_key=submission_key).first()


def form_create_draft(
    *,
    actor: Actor,
    kind: str,
    data: Mapping[str, Any],
    citizen: Citizen | None = None,
    document: str = "",
    reason: str = "",
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
    submission_key: uuid.UUID | None = None,
) -> CollectionForm:
    """Save a new form as a draft, complete or not; it needs only a commune of the author's area.

    `submission_key`, the key of the page that sends it, makes the write happen once: sent again with
    the same key, the form is refused as `AlreadySavedError`, which names the form made the first time."""
    user = _user_of(actor)
    if (earlier := _saved_before(user, submission_key)) is not None:
        raise AlreadySavedError(earlier)
    if user.role not in AUTHOR_ROLES:
        raise DomainError(
            FieldError(
                "actor",
                "role.not_allowed",
                "Chỉ cán bộ công an xã thu thập thông tin được lập phiếu",
                "Only commune police collecting data may fill in forms",
            )
        )
    if kind == Kind.DC02:
        # The record must be one the author may see: one outside the area looks missing.
        if citizen is None or not Citizen.objects.filter(citizen_scope(user)).filter(pk=citizen.pk).exists():
            raise NotFoundError("citizen")
    elif citizen is not None:
        raise DomainError(
            FieldError(
                "citizen",
                "form.citizen_not_allowed",
                "Phiếu DC01 dành cho người chưa có trong CSDL",
                "A DC01 form is for a person not yet in the registry",
            )
        )
    clean = form_data_clean(kind, data) if kind in Kind.values else dict(data)
    document, reason = _text(document, name="document"), _text(reason, name="reason")
    check = form_validate(
        user=user, kind=kind, data=clean, citizen=citizen, document=document, reason=reason, complete=True
    )
    commune = _filed_commune(check)
    try:
        with transaction.atomic():
            form = CollectionForm.objects.create(
                kind=kind,
                status=Status.DRAFT,
                status_since=timezone.now(),
                commune=commune,
                legacy_commune=check.legacy_commune,
                citizen=citizen,
                data=clean,
                document=document,
                reason=reason,
                errors=_as_json(check.errors),
                warnings=_as_json(check.warnings),
                created_by=user,
                submission_key=submission_key,
            )
            _record(
                actor=actor,
                event_type=EventType.FORM_CREATED,
                form=form,
                commune=commune.code,
                errors=_codes(check.errors),
                warnings=_codes(check.warnings),
            )
            checked_records_log(user, check, channel=channel, detail=form.label)
    except IntegrityError:
        # The same page's two sends raced past the look-up above: the second waited for the first's
        # commit on the unique key, and finds its form now.
        if (earlier := _saved_before(user, submission_key)) is not None:
            raise AlreadySavedError(earlier) from None
        raise
    return form


# The rules whose verdict is about another record, "possibly the same person as one the registry holds":
# the form's PIN or CMND held by a record, a record of the same name and date of birth; or, for a form made
# from an imported row, "the same person as that record", as the duplicates queue decided. A form with one
# of them shows its reviewer those records (form_duplicates_compared) to judge it.
DUPLICATE_CODES = frozenset(
    {"citizen.possible_duplicate", "citizen.decided_same_person", "pin.duplicate", "cmnd.duplicate"}
)


def form_duplicates_compared(*, user: User, form: CollectionForm) -> list[int]:
    """The records the form's rules compare it with as duplicates now (the holders of its PIN and CMND,
    the records of its name and date of birth), for the reviewer who judges the warning; the caller
    shows them through registry.selectors.citizens_compared, which logs the reads."""
    return sorted(_check_stored(form, user).duplicates_read)


def checked_records_log(user: User, check: FormCheck, *, channel: AccessLog.Channel, detail: str) -> None:
    """Log the records the rules compared typed data with, each for its purpose. Only where data is typed
    (a draft written, and the page's check as one types): submitting and reviewing judge the saved data
    again, whose records were logged for the officer who typed it, and who alone could choose them."""
    compared_records_log(
        user, relatives=check.relatives_read, duplicates=check.duplicates_read, channel=channel, detail=detail
    )


def form_update_draft(
    *,
    actor: Actor,
    form: CollectionForm,
    data: Mapping[str, Any],
    document: str = "",
    reason: str = "",
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
    seen: datetime | None = None,
) -> CollectionForm:
    """Replace the data of a draft or of a returned form; only its author may. A form made from an
    imported row is corrected the same way by a commune reviewer while it waits to be checked. `seen`:
    when the form last changed as the edit page showed it (`_locked`)."""
    user = _user_of(actor)
    with transaction.atomic():
        locked = _locked(form, user, seen=seen)
        _require(user, locked, "edit")
        locked.data = form_data_clean(locked.kind, data)
        locked.document = _text(document, name="document")
        locked.reason = _text(reason, name="reason")
        check = _check_stored(locked, user)
        commune = _filed_commune(check)
        if not (locked.from_import and commune.pk == locked.commune_id):
            # The legacy commune an imported address named holds only while the commune stays the same.
            locked.legacy_commune = check.legacy_commune
        locked.commune = commune
        locked.errors = _as_json(check.errors)
        locked.warnings = _as_json(check.warnings)
        locked.save()
        _record(
            actor=actor,
            event_type=EventType.FORM_UPDATED,
            form=locked,
            errors=_codes(check.errors),
            warnings=_codes(check.warnings),
            corrected_import=locked.from_import,
        )
        checked_records_log(user, check, channel=channel, detail=locked.label)
    return locked


def form_submit(*, actor: Actor, form: CollectionForm, seen: datetime | None = None) -> CollectionForm:
    """Send a complete form to the commune reviewer; any error of the rules blocks it."""
    user = _user_of(actor)
    with transaction.atomic():
        locked = _locked(form, user, seen=seen)
        _require(user, locked, "submit")
        check = _check_stored(locked, user)
        if check.errors:
            raise DomainError(check.errors)
        previous = locked.status
        now = timezone.now()
        locked.status = Status.SUBMITTED
        locked.status_since = locked.submitted_at = now
        locked.errors = []
        locked.warnings = _as_json(check.warnings)
        # A form submitted again is checked and re-checked again, warnings included.
        locked.acknowledged_warnings = []
        locked.checked_by = locked.rechecked_by = None
        locked.checked_at = locked.rechecked_at = None
        locked.apply_errors = []
        locked.save()
        _record(
            actor=actor,
            event_type=EventType.FORM_SUBMITTED,
            form=locked,
            previous=previous,
            warnings=_codes(check.warnings),
        )
    return locked


def _acknowledge(
    warnings: list[FieldError], *, previous: Collection[str], given: Collection[str]
) -> list[str]:
    codes = {warning.code for warning in warnings}
    accepted = (set(previous) | {str(code) for code in given}) & codes
    missing = [warning for warning in warnings if warning.code not in accepted]
    if missing:
        raise DomainError(
            [
                FieldError(
                    warning.field,
                    "warning.unacknowledged",
                    f"Cần xác nhận đã xem cảnh báo [{warning.code}]: {warning.message_vi}",
                    f"Acknowledge the warning [{warning.code}] first: {warning.message_en}",
                )
                for warning in missing
            ]
        )
    return sorted(accepted)


def _review(
    *,
    actor: Actor,
    form: CollectionForm,
    action: str,
    acknowledged: Collection[str],
    seen: datetime | None,
) -> CollectionForm:
    user = _user_of(actor)
    with transaction.atomic():
        locked = _locked(form, user, seen=seen)
        _require(user, locked, action)
        # The registry may have changed since the form was written (a CMND taken meanwhile): judge it again.
        check = _check_stored(locked, user)
        if check.errors:
            raise DomainError(check.errors)
        previous = locked.acknowledged_warnings if action == "recheck" else []
        accepted = _acknowledge(check.warnings, previous=previous, given=acknowledged)
        now = timezone.now()
        if action == "check":
            locked.status, locked.checked_by, locked.checked_at = Status.CHECKED, user, now
        else:
            locked.status, locked.rechecked_by, locked.rechecked_at = Status.RECHECKED, user, now
        locked.status_since = now
        locked.warnings = _as_json(check.warnings)
        locked.acknowledged_warnings = accepted
        locked.save()
        _record(
            actor=actor,
            event_type=EventType.FORM_CHECKED if action == "check" else EventType.FORM_RECHECKED,
            form=locked,
            acknowledged_warnings=accepted,
        )
    return locked


def form_check(
    *,
    actor: Actor,
    form: CollectionForm,
    acknowledged: Collection[str] = (),
    seen: datetime | None = None,
) -> CollectionForm:
    """Kiểm tra: a commune reviewer of the form's commune confirms it, acknowledging its warnings; `seen`
    is when the form last changed as the reviewer's page showed it (`_locked`)."""
    return _review(actor=actor, form=form, action="check", acknowledged=acknowledged, seen=seen)


def form_recheck(
    *,
    actor: Actor,
    form: CollectionForm,
    acknowledged: Collection[str] = (),
    seen: datetime | None = None,
) -> CollectionForm:
    """Phúc tra: a district or province supervisor confirms the checked form; not the one who checked it."""
    return _review(actor=actor, form=form, action="recheck", acknowledged=acknowledged, seen=seen)


def _given_reason(reason: Any, *, missing: FieldError) -> tuple[str, list[FieldError]]:
    """The reason a reviewer gave for sending a form back or rejecting it, and what is wrong with it."""
    text = _text(reason, name="reason")
    problems = _free_text_errors(text, field="reason", max_length=REASON_MAX_LENGTH, prose=True)
    return text, [missing, *problems] if not text else problems


def form_return(
    *, actor: Actor, form: CollectionForm, reason: str, seen: datetime | None = None
) -> CollectionForm:
    """Send the form back to its author with the reason, from any step before it is applied."""
    user = _user_of(actor)
    reason, problems = _given_reason(
        reason,
        missing=FieldError(
            "reason",
            "reason.required",
            "Ghi lý do trả lại phiếu để người lập phiếu biết cần sửa gì",
            "Say why the form is returned, so that its author knows what to correct",
        ),
    )
    with transaction.atomic():
        locked = _locked(form, user, seen=seen)
        _require(user, locked, "return")
        if problems:
            raise DomainError(problems)
        previous = locked.status
        now = timezone.now()
        locked.status = Status.RETURNED
        locked.status_since = locked.returned_at = now
        locked.returned_by = user
        locked.returned_from = previous
        locked.return_reason = reason
        locked.save()
        _record(
            actor=actor, event_type=EventType.FORM_RETURNED, form=locked, reason=reason, previous=previous
        )
    return locked


def form_reject(
    *, actor: Actor, form: CollectionForm, reason: str, seen: datetime | None = None
) -> CollectionForm:
    """Refuse a form made from an imported row, with the reason: the row is then rejected in its import's
    report like a row that broke a rule. Whoever the form waits for may: the commune reviewer, then the
    supervisor."""
    user = _user_of(actor)
    reason, problems = _given_reason(
        reason,
        missing=FieldError(
            "reason",
            "reason.required",
            "Ghi lý do từ chối bản ghi: báo cáo của lần nhập ghi lại lý do này cho dòng đó",
            "Give the reason for rejecting the record: the import's report keeps it for that row",
        ),
    )
    with transaction.atomic():
        locked = _locked(form, user, seen=seen)
        _require(user, locked, "reject")
        if problems:
            raise DomainError(problems)
        previous = locked.status
        now = timezone.now()
        locked.status = Status.REJECTED
        locked.status_since = locked.rejected_at = now
        locked.rejected_by = user
        locked.reject_reason = reason
        locked.save()
        assert locked.staging_record is not None  # only import forms may be rejected (_refusal)
        staging_reject(
            record=locked.staging_record,
            issue=_rule("", "import.rejected_by_officer", reason=reason),
        )
        _record(
            actor=actor,
            event_type=EventType.FORM_REJECTED,
            form=locked,
            reason=reason,
            previous=previous,
        )
    return locked


# A (field, rule code) pair of an issue, as the run counts it.
IssueKey = tuple[str, str]


def issue_counts_changed(
    counts: Mapping[str, int],
    fields: Mapping[str, Mapping[str, int]],
    *,
    added: Iterable[IssueKey] = (),
    removed: Iterable[IssueKey] = (),
) -> dict[str, Any]:
    """An import run's counts by rule (`ImportRun.issue_counts`) and by rule and field (`issue_fields`) with
    these issues counted once more (`added`) or once less (`removed`): the two fields' new values."""
    codes = Counter(counts)
    by_field = {code: Counter(per_field) for code, per_field in fields.items()}
    for (field_name, code), step in [*((key, 1) for key in added), *((key, -1) for key in removed)]:
        codes[code] += step
        by_field.setdefault(code, Counter())[field_name] += step
    return {
        "issue_counts": {code: n for code, n in codes.items() if n > 0},
        "issue_fields": {
            code: kept
            for code, per_field in by_field.items()
            if (kept := {name: n for name, n in per_field.items() if n > 0})
        },
    }


def run_issue_changes(
    run_id: int, *, added: Iterable[IssueKey] = (), removed: Iterable[IssueKey] = ()
) -> dict[str, Any]:
    """An import run's counts by rule, and by rule and field, with these (field, code) issues counted once
    more (`added`) or once less (`removed`), for the caller's update of the run in its transaction. The
    run is locked for the read: two rows settled at once must not each write the counts they read before
    the other's."""
    counts, fields = (
        ImportRun.objects.select_for_update()
        .filter(pk=run_id)
        .values_list("issue_counts", "issue_fields")
        .get()
    )
    return issue_counts_changed(counts, fields, added=added, removed=removed)


def staging_reject(*, record: StagingRecord, issue: FieldError) -> None:
    """Mark an imported row rejected after it was staged, with the reason beside its other issues, and move
    it between its run's counters; the caller holds the transaction and records the event."""
    counters = {
        StagingRecord.Status.APPROVED: "rows_accepted",
        StagingRecord.Status.REVIEW: "rows_review",
        StagingRecord.Status.REJECTED: "rows_rejected",
    }
    previous = record.status
    record.status = StagingRecord.Status.REJECTED
    record.promoted_at = record.promoted_at or timezone.now()
    record.issues = [
        *record.issues,
        {
            "field": issue.field,
            "code": issue.code,
            "severity": str(Severity.ERROR),
            "message_vi": issue.message_vi,
            "message_en": issue.message_en,
        },
    ]
    record.save(update_fields=["status", "promoted_at", "issues"])
    changes = run_issue_changes(record.run_id, added=[(issue.field, issue.code)])
    if previous != StagingRecord.Status.REJECTED:
        changes[counters[StagingRecord.Status(previous)]] = F(counters[StagingRecord.Status(previous)]) - 1
        changes["rows_rejected"] = F("rows_rejected") + 1
    ImportRun.objects.filter(pk=record.run_id).update(**changes)


# The form statuses in which an imported row still waits for its review (an import form is never a draft
# or returned: it has no author to return it to).
_IMPORT_REVIEW_STATUSES = (Status.SUBMITTED, Status.CHECKED, Status.RECHECKED)


def staging_settle_as_duplicate(
    *, actor: Actor, record: StagingRecord, pair_id: int, reason: str
) -> dict[str, Any] | None:
    """Take an imported row out of the import review: an officer found it to be the same person as a
    record the registry holds, or as another row that stays (the duplicate review's "same person"). Its
    DC01, while still under review, is closed as rejected with the reason, and the row is rejected in its
    import's report with `import.duplicate`, so that no check, re-check or apply, and no promotion of a
    row not yet promoted, writes a second record of the person.

    The reason names the candidate pair, not the other record: the form's readers are the officers of the
    row's commune, who may not be those of the record. Returns what was changed, for the decision's undo
    (`staging_settle_undo`); None when the row had already left the review (written to the registry, or
    rejected). The caller holds the transaction, with the row's form and the row locked in that order
    (the order form_apply takes them in)."""
    if record.citizen_id is not None or record.status == StagingRecord.Status.REJECTED:
        return None
    issue = _rule("", "import.duplicate", pair=pair_id)
    settled: dict[str, Any] = {
        "pair": pair_id,
        "staging_id": record.pk,
        "status": record.status,
        "promoted_at": record.promoted_at.isoformat() if record.promoted_at else None,
        "issues": len(record.issues),
        "form_id": None,
    }
    form = CollectionForm.objects.filter(staging_record=record).first()
    if form is not None and form.status in _IMPORT_REVIEW_STATUSES:
        settled |= {"form_id": form.pk, "form_status": form.status}
        previous = form.status
        now = timezone.now()
        form.status = Status.REJECTED
        form.status_since = form.rejected_at = now
        form.rejected_by = actor.user
        form.reject_reason = f"{issue.message_vi} {reason}"[:500]
        form.save()
        _record(
            actor=actor,
            event_type=EventType.FORM_REJECTED,
            form=form,
            reason=form.reject_reason,
            previous=previous,
            pair=pair_id,
        )
    else:
        audit_event_record(
            actor=actor,
            event_type=EventType.STAGING_REJECTED,
            subject_type="staging_record",
            subject_id=record.pk,
            data={"run": record.run_id, "row": record.row_number, "code": issue.code, "pair": pair_id},
            reason=reason,
        )
    staging_reject(record=record, issue=issue)
    return settled


def staging_settle_undo(*, actor: Actor, settled: Mapping[str, Any], reason: str) -> None:
    """Put back in the import review a row that `staging_settle_as_duplicate` took out, as it was: its
    status and place in the report's counts, and its DC01 in the status it had, waiting for the same
    reviewer again. The caller holds the transaction (the undo of the decision that settled it)."""
    form = None
    if settled.get("form_id") is not None:
        form = CollectionForm.objects.select_for_update().filter(pk=settled["form_id"]).first()
    record = StagingRecord.objects.select_for_update().get(pk=settled["staging_id"])
    counters = {
        StagingRecord.Status.APPROVED: "rows_accepted",
        StagingRecord.Status.REVIEW: "rows_review",
    }
    dropped = record.issues[settled["issues"] :]
    record.status = settled["status"]
    record.promoted_at = (
        datetime.fromisoformat(settled["promoted_at"]) if settled.get("promoted_at") else None
    )
    record.issues = record.issues[: settled["issues"]]
    record.save(update_fields=["status", "promoted_at", "issues"])
    counter = counters[StagingRecord.Status(record.status)]
    ImportRun.objects.filter(pk=record.run_id).update(
        **run_issue_changes(record.run_id, removed=[(issue["field"], issue["code"]) for issue in dropped]),
        rows_rejected=F("rows_rejected") - 1,
        **{counter: F(counter) + 1},
    )
    if form is not None and form.status == Status.REJECTED:
        form.status = settled["form_status"]
        form.status_since = timezone.now()
        form.rejected_by = None
        form.rejected_at = None
        form.reject_reason = ""
        form.save()
        # The form's history says why it is back: the decision that closed it was taken back.
        _record(
            actor=actor,
            event_type=EventType.PAIR_DECISION_UNDONE,
            form=form,
            reason=reason,
            pair=settled.get("pair"),
        )


def _registry_reason(form: CollectionForm) -> str:
    default = (
        "Thu thập thông tin dân cư" if form.kind == Kind.DC01 else "Cập nhật, chỉnh sửa thông tin dân cư"
    )
    reason = f"{form.reason or default} (phiếu {form.label})"
    return f"{reason}; căn cứ: {form.document}" if form.document else reason


def dc01_write(
    *,
    actor: Actor,
    data: Mapping[str, Any],
    commune: AdminUnit,
    legacy_commune: AdminUnit | None = None,
    household: Household | None = None,
    address_original: str = "",
    reason: str,
    source_document: str,
) -> Citizen:
    """What applying a DC01 writes, through the registry's services: the citizen (with a new PIN when the
    data carry none), the residence, when the data name one, the household membership, and the links to
    the relatives named (with the reciprocal link on the record of each relative the registry holds).
    The caller holds the transaction; an import writes its approved rows through here too."""
    registered_on, _problems = parse_full_date(data["registered_on"], field="registered_on")
    expires_on, _problems = parse_full_date(data.get("expires_on"), field="expires_on")
    assert registered_on is not None  # the data passed their checks
    citizen = registry.citizen_create(
        actor=actor,
        data=registry.NewCitizen(**{name: data[name] for name in PERSONAL_FIELDS if data.get(name)}),
        residence=registry.NewResidence(
            # Joining a household registers the permanent residence at the household's address; the address
            # where the person was collected is kept as their current place of living.
            kind=Residence.Kind.CURRENT if household is not None else data["residence_kind"],
            commune=commune,
            address_detail=data["address_detail"],
            registered_on=registered_on,
            expires_on=expires_on,
            legacy_commune=legacy_commune,
            address_original=address_original,
        ),
        reason=reason,
        source_document=source_document,
        # A DC01 was checked for people of the same name and birth (citizen.possible_duplicate, a warning a
        # reviewer acknowledged, or an import row the matcher saw): the registry does not ask again.
        not_a_duplicate=True,
    )
    if household is not None:
        registry.household_add_member(
            actor=actor,
            household=household,
            citizen=citizen,
            relation_to_head=data["relation_to_head"],
            joined_on=registered_on,
            reason=reason,
            source_document=source_document,
        )
    for relative in relatives_of(data).values():
        registry.family_link_add(
            actor=actor,
            citizen=citizen,
            kind=relative.kind,
            relative=relative.citizen,
            relative_name=relative.name,
            relative_pin=relative.pin,
            reason=reason,
            source_document=source_document,
        )
    return citizen


def dc01_bulk_entry(
    *,
    actor: Actor,
    data: Mapping[str, Any],
    commune: AdminUnit,
    legacy_commune: AdminUnit | None,
    address_original: str,
    reason: str,
    source_document: str,
) -> registry.NewCitizenEntry | None:
    """What dc01_write would write for these data (with no household to join), as an entry of the
    registry's bulk write (dc01_write_bulk); None where dc01_write would write more than the bulk write
    does, or be refused: a relative named by PIN (whose record, when the registry holds it, gets the
    reciprocal link and a version of its own), a residence other than a permanent one, any refusal of
    the registry's rules. Such data go through dc01_write."""
    registered_on, problems = parse_full_date(data.get("registered_on"), field="registered_on")
    relatives = relatives_of(data)
    if (
        problems
        or registered_on is None
        or data.get("residence_kind") != Residence.Kind.PERMANENT
        or data.get("expires_on")
        or any(relative.pin or relative.citizen is not None for relative in relatives.values())
    ):
        return None
    entry = registry.NewCitizenEntry(
        data=registry.NewCitizen(**{name: data[name] for name in PERSONAL_FIELDS if data.get(name)}),
        residence=registry.NewResidence(
            kind=Residence.Kind.PERMANENT,
            commune=commune,
            address_detail=data.get("address_detail", ""),
            registered_on=registered_on,
            legacy_commune=legacy_commune,
            address_original=address_original,
        ),
        reason=reason,
        source_document=source_document,
        relatives=tuple((relative.kind, relative.name) for relative in relatives.values()),
    )
    return None if registry.citizen_bulk_refusals(actor=actor, entry=entry) else entry


def dc01_write_bulk(*, actor: Actor, entries: Sequence[registry.NewCitizenEntry]) -> list[Citizen]:
    """dc01_write for many DC01s at once, each made an entry by dc01_bulk_entry: the same rows, through
    registry.citizens_create_bulk. All or nothing (see there); the caller holds the transaction."""
    return registry.citizens_create_bulk(actor=actor, entries=entries)


def _apply_dc01(*, actor: Actor, form: CollectionForm, check: FormCheck) -> Citizen:
    record = form.staging_record
    return dc01_write(
        actor=actor,
        data=form.data,
        commune=form.commune,
        legacy_commune=form.legacy_commune,
        household=check.household,
        address_original=record.normalized.get("address", "") if record is not None else "",
        reason=_registry_reason(form),
        source_document=form.label,
    )


def _apply_dc02(*, actor: Actor, form: CollectionForm) -> Citizen:
    assert form.citizen_id is not None  # a database constraint: every DC02 names its citizen
    # Read again: the record may have changed since the form was loaded.
    citizen = Citizen.objects.get(pk=form.citizen_id)
    changes = form.data.get("changes", {})
    reason = _registry_reason(form)
    # Called even with no personal field to change: it refuses a record merged away since the form.
    citizen = registry.citizen_update(
        actor=actor,
        citizen=citizen,
        changes={name: value for name, value in changes.items() if name in registry.UPDATABLE_FIELDS},
        reason=reason,
        source_document=form.label,
    )
    for who, relative in changed_relatives(current_relatives(citizen), changes).items():
        registry.family_link_replace(
            actor=actor,
            citizen=citizen,
            kind=RELATIVES[who],
            relative=relative.citizen if relative is not None else None,
            relative_name=relative.name if relative is not None else "",
            relative_pin=relative.pin if relative is not None else "",
            reason=reason,
            source_document=form.label,
        )
    return citizen


def _warnings_since_review(check: FormCheck, form: CollectionForm) -> list[FieldError]:
    """The warnings the registry gives the form now that its reviewers did not acknowledge: it changed
    since the re-check (a relative renamed, a record merged). Applying would write what no one looked at,
    so the form waits to be returned and checked again."""
    seen = set(form.acknowledged_warnings)
    return [
        FieldError(
            warning.field,
            "warning.new_since_review",
            f"Cảnh báo mới sau khi phúc tra [{warning.code}]: {warning.message_vi} "
            "Hãy trả phiếu để kiểm tra lại",
            f"A warning since the re-check [{warning.code}]: {warning.message_en} "
            "Return the form to be checked again",
        )
        for warning in check.warnings
        if warning.code not in seen
    ]


def form_apply(*, actor: Actor, form: CollectionForm, seen: datetime | None = None) -> CollectionForm:
    """Write a re-checked form into the registry: citizen, residence, household and family links together or
    not at all.

    A DC01 creates the citizen (a PIN is allocated when the form carries none) with the residence
    collected, the household membership when the form names one, and the links to the relatives it
    names; a DC02 updates the record and replaces the relatives it names. The registry's history points
    to the form ("DC01 #123"). If the registry refuses (a PIN or CMND taken meanwhile), nothing of it is
    written: the form stays re-checked with the refusal recorded on it, and the DomainError is raised
    after that record is committed.
    """
    user = _user_of(actor)
    failure: DomainError | None = None
    with transaction.atomic():
        locked = _locked(form, user, seen=seen)
        _require(user, locked, "apply")
        try:
            check = _check_stored(locked, user)
            if check.errors:
                raise DomainError(check.errors)
            if unseen := _warnings_since_review(check, locked):
                raise DomainError(unseen)
            with transaction.atomic():
                if locked.kind == Kind.DC01:
                    citizen = _apply_dc01(actor=actor, form=locked, check=check)
                else:
                    citizen = _apply_dc02(actor=actor, form=locked)
                now = timezone.now()
                locked.status = Status.APPLIED
                locked.citizen = citizen
                locked.applied_by = user
                locked.applied_at = locked.status_since = now
                locked.apply_errors = []
                locked.save()
                if locked.staging_record_id is not None:
                    StagingRecord.objects.filter(pk=locked.staging_record_id).update(citizen=citizen)
                _record(
                    actor=actor,
                    event_type=EventType.FORM_APPLIED,
                    form=locked,
                    citizen_id=citizen.pk,
                    pin=citizen.pin,
                )
        except (DomainError, IntegrityError) as exc:
            failure = (
                exc
                if isinstance(exc, DomainError)
                else DomainError(
                    FieldError(
                        "registry",
                        "registry.conflict",
                        "CSDL vừa thay đổi và từ chối bản ghi này (trùng số định danh hoặc CMND?): "
                        "kiểm tra lại",
                        "The registry changed meanwhile and refused the record (a duplicate PIN or CMND?): "
                        "check again",
                    )
                )
            )
            locked.refresh_from_db()
            locked.apply_errors = _as_json(failure.errors)
            locked.save(update_fields=["apply_errors", "updated_at"])
            _record(
                actor=actor,
                event_type=EventType.FORM_APPLY_FAILED,
                form=locked,
                errors=_codes(failure.errors),
            )
    if failure is not None:
        raise failure
    return locked
