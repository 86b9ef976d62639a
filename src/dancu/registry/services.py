"""Every write to the registry: one transaction, one audit event, one new version per changed record."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from dancu.accounts.areas import OUTSIDE_AREA, outside_area_error, user_area
from dancu.accounts.models import User
from dancu.accounts.selectors import citizen_scope, unit_in_area
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import (
    Actor,
    NewEvent,
    access_log_area_follow,
    audit_event_record,
    audit_events_record,
)
from dancu.geo.models import AdminUnit
from dancu.lib import pin as pin_codec
from dancu.lib.errors import DomainError, FieldError, NotFoundError
from dancu.lib.partial_date import PartialDate
from dancu.lib.pgcopy import insert_instances
from dancu.lib.vntext import fold, fold_name, name_errors, normalize_name, text_errors
from dancu.registry.compared import compared_records_log, compared_values
from dancu.registry.history import citizen_snapshot, household_snapshot
from dancu.registry.models import (
    AbsenceDeclaration,
    Citizen,
    CitizenMerge,
    FamilyLink,
    Household,
    HouseholdMember,
    IdentityCardRecord,
    PinRecord,
    RecordVersion,
    Relation,
    Residence,
)
from dancu.registry.rules import ADULT_AGE, Issue, check_name
from dancu.registry.selectors import (
    ARRIVAL_CHECK_PURPOSE,
    PIN_RE,
    STAY_CHECK_PURPOSE,
    arrival_candidate,
    pin_holder,
    possible_duplicates,
    records_checked_log,
)
from dancu.registry.validation import (
    citizen_field_errors,
    clean_text,
    date_not_in_future,
    death_before_birth_errors,
    error,
    old_id_holder,
    old_id_unique_errors,
    parse_citizen_input,
    parse_partial_date,
    pin_errors,
)

# Temporary residence is registered for at most two years at a time (Luật Cư trú 2020, art. 27).
TEMPORARY_RESIDENCE_MAX_DAYS = 2 * 366
_PIN_ATTEMPTS = 50
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


# --- Locking a citizen for a write -----------------------------------------------------------------
#
# The lock order. Every write that changes a citizen's record, or a row hanging off it (residences,
# household memberships, family links, the PIN ledger, card records), first takes the row lock of each
# citizen it changes through `citizen_lock`, before it reads what its rules check and before it touches
# any other row; two citizens are locked in ascending id order. A merge locks its two records the same
# way. So a write and a merge of the same record queue on one row lock, and whichever comes second reads
# the record as the first one committed it:
# - a write that waited for a merge finds the record merged away and is refused (`citizen.merged`, naming
#   the record it went into);
# - a merge that waited for a write merges the record as written: what the write added moves to, or
#   fills, the kept record by the merge's own rules.
# Taking the citizens' locks before any other row also keeps two writes from holding each other's rows in
# opposite orders, a deadlock that PostgreSQL would end by failing one of them with an error. For the same
# reason a move out of one household into another locks both through `move_households_lock`, right after
# the citizens, in ascending id order: two people crossing between the same two households would
# otherwise each hold the household they join and wait for the one the other joins.
# Services called inside another app's transaction (a card delivery locks its application first) lock no
# citizen row before the registry's, and a merge locks none of their rows, so no cycle can form there
# either.


def citizen_final_record(citizen: Citizen) -> Citizen:
    """The record that holds the person now: a record merged into one that was merged in turn leads to
    the last of the chain, the one that still takes writes."""
    kept = citizen
    seen = {citizen.pk}
    while kept.merged_into_id is not None and kept.merged_into_id not in seen:
        seen.add(kept.merged_into_id)
        kept = Citizen.objects.get(pk=kept.merged_into_id)
    return kept


def _merged_away(citizen: Citizen, *, reader: User | None = None) -> FieldError:
    """The refusal of a write to a record merged into another, naming the record to work on instead: the
    last of a chain of merges, the one that takes writes.

    With a `reader` (an officer whose pages show the refusal), the record is named only when it lies in
    the reader's area: the refusal must not tell an officer the PIN of a record they may not read (the
    review's selectors log the record they name). Without one the refusal is for the writer of the
    record itself."""
    assert citizen.merged_into_id is not None
    kept = citizen_final_record(citizen)
    if reader is not None and not Citizen.objects.filter(citizen_scope(reader), pk=kept.pk).exists():
        return error(
            "citizen",
            "citizen.merged",
            f"Hồ sơ {citizen.pin} đã được hợp nhất vào một hồ sơ ngoài địa bàn của bạn: không ghi thêm vào "
            "hồ sơ đã hợp nhất",
            f"Record {citizen.pin} was merged into a record outside your area: a merged record takes no "
            "more changes",
        )
    kept_pin = kept.pin
    return error(
        "citizen",
        "citizen.merged",
        f"Hồ sơ {citizen.pin} đã được hợp nhất vào hồ sơ {kept_pin}: không ghi thêm vào hồ sơ đã hợp nhất, "
        f"hãy cập nhật hồ sơ {kept_pin}",
        f"Record {citizen.pin} was merged into record {kept_pin}: a merged record takes no more changes; "
        f"update record {kept_pin} instead",
    )


def citizen_lock(*citizens: Citizen, allow_merged: bool = False, reader: User | None = None) -> None:
    """Lock the citizens' rows for the current transaction and reload each instance from its locked row.

    Every write to a citizen goes through here (see the lock order above). A record merged into another
    is refused with `citizen.merged`: it stays readable with its history, but its data now live in the
    kept record. `allow_merged` is for the merge's undo, which writes to the absorbed record by design.
    `reader` is the officer the refusal is shown to when the write is offered on a page about another
    record (the duplicate review): see _merged_away.
    """
    if not transaction.get_connection().in_atomic_block:
        # A lock outside a transaction ends with the statement that took it: a caller's mistake.
        raise RuntimeError("a citizen is locked inside the transaction of the write")
    rows = Citizen.objects.select_for_update()
    for citizen in sorted(citizens, key=lambda c: c.pk):
        citizen.refresh_from_db(from_queryset=rows)
    for citizen in citizens:
        if citizen.merged_into_id is not None and not allow_merged:
            raise DomainError(_merged_away(citizen, reader=reader))


def move_households_lock(citizen: Citizen, joining: Household | None) -> None:
    """Lock, for a move of `citizen`, the household they leave (their current one) and the one they join,
    in ascending id order, after the citizen's own lock (see the lock order above). Either may be
    missing, or both the same."""
    left = citizen.household_memberships.filter(left_on__isnull=True).values_list("household_id", flat=True)
    ids = {*left, *([joining.pk] if joining is not None else [])}
    rows = Household.objects.select_for_update()
    for household_id in sorted(ids):
        rows.filter(pk=household_id).first()


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
        # The absences the person has not come back from and whose period has not run out: the state of
        # the record on a day of the period shows them away, as the record page does. A withdrawn one is
        # no absence, and the version that withdraws it is the first without it.
        absences=list(
            citizen.absences.filter(
                returned_on__isnull=True, withdrawn_on__isnull=True, ends_on__gte=timezone.localdate()
            ).order_by("starts_on", "pk")
        ),
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


def _pin_issued() -> FieldError:
    """A PIN the ledger holds (every PIN ever issued, cancelled ones too): never given to anyone else."""
    return error(
        "pin",
        "pin.duplicate",
        "Số định danh này đã được cấp, không cấp lại cho người khác",
        "This personal identification number was already issued and is never reused",
    )


def _family_kind_invalid() -> FieldError:
    return error("kind", "family.kind_invalid", "Quan hệ không hợp lệ", "Invalid relation")


def _parent_recorded() -> FieldError:
    """A second father or mother for one record, from family_link_add or within one bulk entry."""
    return error("kind", "family.parent_exists", "Đã có thông tin cha/mẹ", "This parent is already recorded")


def _new_citizen_input(
    data: NewCitizen, *, today: date, lookups: bool = True
) -> tuple[dict[str, Any], str, str, list[FieldError]]:
    """The fields of a new record as parsed, its place of birth registration and its PIN (empty for one
    to allocate), with what the rules refuse in them. With `lookups`, a PIN or CMND the registry already
    holds is refused too; citizens_create_bulk asks once for all its records instead."""
    raw = {k: v for k, v in data.__dict__.items() if k not in ("pin", "birth_registration_place")}
    parsed, errors = parse_citizen_input(raw)
    place = clean_text(data.birth_registration_place)
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
    pin = clean_text(data.pin)
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
        if lookups and not pin_problems and PinRecord.objects.filter(pin=pin).exists():
            errors.append(_pin_issued())
    if lookups:
        errors += old_id_unique_errors(parsed.get("old_id_number"))
    return parsed, place, pin, errors


def citizen_create(
    *,
    actor: Actor,
    data: NewCitizen,
    residence: NewResidence | None,
    reason: str,
    source_document: str,
    today: date | None = None,
    not_a_duplicate: bool = False,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
) -> Citizen:
    """Register a person at the address where they were collected; a PIN is allocated when the source
    document carries none. Citizen and residence are written together or not at all.

    An officer's new record without a PIN is refused while the registry holds someone with the same name
    and date of birth (`citizen.possible_duplicate`), unless the officer says they looked and it is
    another person (`not_a_duplicate`): most often it is the same person registered twice, by a double
    submit, a client's retry or a second officer, and each such record burns a PIN that is never reused.
    The records the rules compared with (that holder of the PIN or CMND typed, those of the same name and
    birth) are written to the access log, since the verdict tells the officer something of them."""
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
    parsed, place, pin, errors = _new_citizen_input(data, today=today)
    if actor.user is not None:
        errors += _duplicates_checked(
            actor.user,
            # The PIN's holder is looked up only where the number is well formed (pin.duplicate's check).
            pin=pin if any(e.code == "pin.duplicate" for e in errors) else "",
            old_id=parsed.get("old_id_number"),
            # A PIN typed from a document is who the person is; without one, the name and birth are all
            # there is to tell them from the people already registered (as a DC01's check does).
            # A name refused by its own rules is not looked up: it names nobody, and a NUL in it would
            # make PostgreSQL refuse the query.
            name_key=fold_name(parsed["full_name"])
            if parsed.get("full_name")
            and not (pin or not_a_duplicate)
            and not any(e.field == "full_name" for e in errors)
            else "",
            birth=parsed.get("birth_date"),
            channel=channel,
        )
    if errors:
        raise DomainError(errors)

    birth: PartialDate = parsed["birth_date"]
    with transaction.atomic():
        citizen = Citizen(
            birth_registration_place=place,
            name_key=fold_name(parsed["full_name"]),
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
            # A record written a moment ago in this transaction has no residence, household, relative or
            # absence yet: nothing to ask the database for (four queries of every new record).
            snapshot=citizen_snapshot(citizen, residences=(), membership=None, family=(), absences=()),
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


def _duplicates_checked(
    user: User,
    *,
    pin: str,
    old_id: str | None,
    name_key: str,
    birth: PartialDate | None,
    channel: AccessLog.Channel,
    exclude_pk: int | None = None,
) -> list[FieldError]:
    """Log the records an officer's new values were compared with, country-wide: the holder of the PIN
    and of the CMND typed, and (with a name key given) the records of the same name and date of birth,
    whose existence is refused as `citizen.possible_duplicate`. The PIN and CMND refusals themselves are
    the callers' (pin.duplicate, cmnd.duplicate); logged here, before any transaction, so that a refused
    request leaves its trace as well.

    The records outside the officer's area count against the day's budget of such comparisons, as a
    form's do (registry/compared.py), with the same values as a DC01's check, so that a DC01 applied
    after its check adds nothing: past the budget the write is refused whole, `check.daily_limit` or
    `check.record_limit`, and gives no verdict."""
    compared: dict[int, set[str]] = {}
    holder = pin_holder(pin) if pin else None
    if holder is not None:
        compared.setdefault(holder, set()).add(compared_values("pin", pin))
    old_id_clash = old_id_holder(old_id, exclude_pk=exclude_pk)
    if old_id_clash is not None:
        compared.setdefault(old_id_clash, set()).add(compared_values("cmnd", old_id))
    errors = []
    if name_key and birth is not None:
        same = [pk for pk in possible_duplicates(name_key, birth) if pk != exclude_pk]
        if same:
            for pk in same:
                compared.setdefault(pk, set()).add(compared_values("same", name_key, birth))
            errors.append(
                error(
                    "not_a_duplicate",
                    "citizen.possible_duplicate",
                    "CSDL đã có người cùng họ tên và ngày sinh: hỏi công dân số định danh đã được cấp và tìm "
                    "hồ sơ đó; nếu là người khác, xác nhận rồi gửi lại",
                    "The registry already holds a person with this name and date of birth: ask the citizen "
                    "for the number already issued and look the record up; if this is another person, "
                    "confirm so and send again",
                )
            )
    compared_records_log(user, relatives={}, duplicates=compared, channel=channel, detail="hồ sơ mới")
    return errors


# --- Many new citizens at once (an import's approved rows) ---------------------------------------------


@dataclass(frozen=True)
class NewCitizenEntry:
    """One record of citizens_create_bulk: a new citizen, the permanent residence where they were
    collected, and the relatives their source names without a record of their own (a legacy book names
    the father and the mother, by name only), as (FamilyLink.Kind, name) in the order they are linked."""

    data: NewCitizen
    residence: NewResidence
    reason: str
    source_document: str
    relatives: tuple[tuple[str, str], ...] = ()


def _bulk_entry_input(
    *, actor: Actor, entry: NewCitizenEntry, today: date
) -> tuple[dict[str, Any], str, str, list[FieldError]]:
    errors: list[FieldError] = []
    try:
        _require_source(reason=entry.reason, source_document=entry.source_document)
    except DomainError as exc:
        errors += exc.errors
    parsed, place, pin, problems = _new_citizen_input(entry.data, today=today, lookups=False)
    errors += problems
    residence = entry.residence
    if residence.kind != Residence.Kind.PERMANENT or residence.expires_on is not None:
        # A temporary residence or a current place of living has rules of its own (an end date, the
        # permanent residence it must differ from) that only residence_register applies.
        errors.append(
            error(
                "residence",
                "residence.bulk_permanent_only",
                "Chỉ ghi hàng loạt được nơi thường trú",
                "Only a permanent residence is written in bulk",
            )
        )
    # What residence_register refuses of a record that has no residence, household or absence yet.
    errors += _residence_input_errors(
        actor=actor,
        commune=residence.commune,
        legacy_commune=residence.legacy_commune,
        address_detail=clean_text(residence.address_detail),
        address_original=residence.address_original,
        registered_on=residence.registered_on,
        today=today,
    )
    if parsed.get("date_of_death") is not None:
        errors.append(_deceased("citizen"))
    errors += _registered_before_birth(residence.registered_on, parsed.get("birth_date"))
    # What family_link_add refuses of a link to a relative named without a record, on a new record.
    kinds = [kind for kind, _name in entry.relatives]
    for kind, name in entry.relatives:
        if kind not in FamilyLink.Kind.values:
            errors.append(_family_kind_invalid())
        elif kind in (FamilyLink.Kind.FATHER, FamilyLink.Kind.MOTHER) and kinds.count(kind) > 1:
            errors.append(_parent_recorded())
        errors += name_errors(normalize_name(name), field="relative_name")
    return parsed, place, pin, errors


def citizen_bulk_refusals(
    *, actor: Actor, entry: NewCitizenEntry, today: date | None = None
) -> list[FieldError]:
    """What citizens_create_bulk would refuse in this entry, asking the registry nothing: the rules of
    citizen_create, residence_register and family_link_add for a new record, but for a PIN or CMND the
    registry already holds, which the bulk write asks about for all its entries at once. A caller writes
    an entry with a refusal through those services instead, which give the refusal its usual form."""
    return _bulk_entry_input(actor=actor, entry=entry, today=today or timezone.localdate())[3]


def _taken_pins(pins: list[str]) -> set[str]:
    """Which of `pins` the PIN ledger holds (every PIN ever issued, cancelled ones too)."""
    taken: set[str] = set()
    for start in range(0, len(pins), 500):  # within SQLite's limit of parameters per statement
        taken.update(
            PinRecord.objects.filter(pin__in=pins[start : start + 500]).values_list("pin", flat=True)
        )
    return taken


def _new_pins(prefixes: list[str], *, in_use: set[str]) -> list[str]:
    """A PIN never issued for each prefix, drawn as _insert_with_new_pin draws one, each distinct from
    the others and from `in_use` (the PINs given in the same batch); the ledger is asked once per round
    for all the numbers drawn. The unique indexes still settle a race with another transaction."""
    pins: list[str] = [""] * len(prefixes)
    drawing = list(range(len(prefixes)))
    chosen = set(in_use)
    for _ in range(_PIN_ATTEMPTS):
        for i in drawing:
            while True:
                candidate = f"{prefixes[i]}{_rng.randrange(1, 1_000_000):06d}"
                if candidate not in chosen:
                    break
            chosen.add(candidate)
            pins[i] = candidate
        taken = _taken_pins([pins[i] for i in drawing])
        drawing = [i for i in drawing if pins[i] in taken]
        if not drawing:
            return pins
    raise DomainError(
        error(
            "pin",
            "pin.exhausted",
            "Không cấp được số định danh mới, hãy thử lại",
            "Could not allocate a new personal identification number; try again",
        )
    )


def citizens_create_bulk(
    *, actor: Actor, entries: Sequence[NewCitizenEntry], today: date | None = None
) -> list[Citizen]:
    """Register many new citizens in a few statements per table, each as citizen_create (with its
    residence) followed by family_link_add for each relative named would write it: the same citizen, PIN
    ledger row, residence, area, family links and audit events, and the same record versions, one per
    step (1 on creation, 2 with the residence, one more per relative linked), their snapshots built from
    the rows in memory instead of read back. ~60 statements per citizen become ~10 per batch, the rows
    written by COPY on PostgreSQL (lib.pgcopy.insert_instances): an import's promotion went from 23 to
    208 rows a second on this project's 2-core machine, and further since (bench/RESULTS.md).

    All or nothing, inside the caller's transaction: an entry that citizen_bulk_refusals refuses, a PIN
    or CMND the registry already holds or that two entries share raises DomainError and writes nothing,
    and a race on a PIN with another transaction fails the batch with IntegrityError. The caller then
    writes the entries one by one through the services, which refuse the one at fault as they always do.

    No duplicate check by name and birth and no access log: the caller judged each entry as a DC01's
    check does (citizen_create's `not_a_duplicate`), and on a new record whose PIN and CMND nobody holds
    the comparisons that citizen_create logs find no record."""
    today = today or timezone.localdate()
    if not transaction.get_connection().in_atomic_block:
        # The batch commits with what its caller marks as done (an import's staging rows), or not at all.
        raise RuntimeError("citizens are created in bulk inside the caller's transaction")
    checked = [_bulk_entry_input(actor=actor, entry=entry, today=today) for entry in entries]
    errors = [problem for *_values, problems in checked for problem in problems]
    if errors:
        raise DomainError(errors)
    given = [pin for _parsed, _place, pin, _errors in checked if pin]
    if len(set(given)) < len(given) or _taken_pins(given):
        raise DomainError(_pin_issued())
    old_ids = [parsed["old_id_number"] for parsed, *_rest in checked if parsed.get("old_id_number")]
    if len(set(old_ids)) < len(old_ids) or Citizen.objects.filter(old_id_number__in=old_ids).exists():
        raise DomainError(Issue("old_id_number", "cmnd.duplicate").as_field_error())
    to_allocate = [i for i, (_parsed, _place, pin, _errors) in enumerate(checked) if not pin]
    allocated = _new_pins(
        [
            pin_codec.prefix(
                place_code=checked[i][1],
                sex=checked[i][0]["sex"],
                birth_year=checked[i][0]["birth_date"].year,
            )
            for i in to_allocate
        ],
        in_use=set(given),
    )
    pins = {i: pin for i, (_parsed, _place, pin, _errors) in enumerate(checked) if pin}
    pins_given = set(pins)
    pins.update(zip(to_allocate, allocated, strict=True))

    citizens = []
    for i, (entry, (parsed, place, _pin, _errors)) in enumerate(zip(entries, checked, strict=True)):
        commune, legacy = entry.residence.commune, entry.residence.legacy_commune
        citizens.append(
            Citizen(
                pin=pins[i],
                birth_registration_place=place,
                name_key=fold_name(parsed["full_name"]),
                **parsed,
                # The area as _refresh_area sets it from the one current residence; a new record has no
                # access-log rows for access_log_area_follow to move.
                area_commune=commune,
                area_province_id=commune.parent_id,
                area_legacy_commune=legacy,
                version=2 + len(entry.relatives),
            )
        )
    insert_instances(citizens)
    insert_instances([PinRecord(pin=citizen.pin, citizen=citizen) for citizen in citizens])
    residences = insert_instances(
        [
            Residence(
                citizen=citizen,
                kind=Residence.Kind.PERMANENT,
                commune=entry.residence.commune,
                legacy_commune=entry.residence.legacy_commune,
                address_detail=clean_text(entry.residence.address_detail),
                address_key=fold(clean_text(entry.residence.address_detail)),
                address_original=clean_text(entry.residence.address_original),
                registered_on=entry.residence.registered_on,
            )
            for citizen, entry in zip(citizens, entries, strict=True)
        ]
    )
    links = insert_instances(
        [
            FamilyLink(citizen=citizen, kind=FamilyLink.Kind(kind), relative_name=normalize_name(name))
            for citizen, entry in zip(citizens, entries, strict=True)
            for kind, name in entry.relatives
        ]
    )
    links_of: dict[int, list[FamilyLink]] = {}
    for link in links:
        links_of.setdefault(link.citizen_id, []).append(link)

    # The events in the order the services write them, citizen by citizen.
    events: list[NewEvent] = []
    for i, (citizen, entry, residence) in enumerate(zip(citizens, entries, residences, strict=True)):
        events.append(
            NewEvent(
                EventType.CITIZEN_CREATED,
                "citizen",
                citizen.pk,
                {"pin": citizen.pin, "pin_allocated": i not in pins_given},
                reason=entry.reason,
                source_document=entry.source_document,
            )
        )
        events.append(
            NewEvent(
                EventType.RESIDENCE_REGISTERED,
                "citizen",
                citizen.pk,
                {
                    "residence_id": residence.pk,
                    "kind": residence.kind,
                    "commune": entry.residence.commune.code,
                    "ended_residence_id": None,
                    "ended_temporary_residence_id": None,
                    "left_household_id": None,
                    "household_emptied": False,
                },
                reason=entry.reason,
                source_document=entry.source_document,
            )
        )
        events += [
            NewEvent(
                EventType.FAMILY_LINKED,
                "citizen",
                citizen.pk,
                {"kind": link.kind, "relative_id": None, "relative_name": link.relative_name},
                reason=entry.reason,
                source_document=entry.source_document,
            )
            for link in links_of.get(citizen.pk, [])
        ]
    written = iter(audit_events_record(actor=actor, events=events))

    versions = []
    for citizen, entry, residence in zip(citizens, entries, residences, strict=True):
        # The versions the services write one step at a time, each a snapshot of the record after it.
        steps: list[tuple[list[Residence], list[FamilyLink]]] = [([], []), ([residence], [])]
        linked = links_of.get(citizen.pk, [])
        steps += [
            ([residence], sorted(linked[: n + 1], key=lambda link: (link.kind, link.pk)))
            for n in range(len(linked))
        ]
        for number, (current, family) in enumerate(steps, start=1):
            event = next(written)
            versions.append(
                RecordVersion(
                    entity=RecordVersion.Entity.CITIZEN,
                    entity_id=citizen.pk,
                    version=number,
                    recorded_at=event.occurred_at,
                    actor=actor.user,
                    actor_label=actor.label,
                    event=event,
                    reason=entry.reason,
                    source_document=entry.source_document,
                    snapshot=citizen_snapshot(citizen, residences=current, membership=None, family=family),
                )
            )
    insert_instances(versions)
    return citizens


def citizen_update(
    *,
    actor: Actor,
    citizen: Citizen,
    changes: dict[str, Any],
    reason: str,
    source_document: str,
    today: date | None = None,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
) -> Citizen:
    """Correct or update fields of a record; the old and new values go into the audit event."""
    today = today or timezone.localdate()
    _require_source(reason=reason, source_document=source_document)
    unknown = sorted(set(changes) - UPDATABLE_FIELDS)
    if unknown:
        raise DomainError(
            [
                error(
                    # The unknown name as sent, cut to a length an error can show; a blank one would name
                    # no field, so the error names the changes it sits in.
                    str(name)[:100].strip() or "changes",
                    "field.not_updatable",
                    "Trường này không sửa được bằng cập nhật thông thường",
                    "This field cannot be changed by an ordinary update",
                )
                for name in unknown
            ]
        )
    parsed, input_errors = parse_citizen_input(changes)
    input_errors += citizen_field_errors(parsed, today=today)
    if actor.user is not None and parsed.get("old_id_number"):
        # Whether a CMND typed is someone else's is a verdict about that record: logged whatever follows.
        _duplicates_checked(
            actor.user,
            pin="",
            old_id=parsed["old_id_number"],
            name_key="",
            birth=None,
            channel=channel,
            exclude_pk=citizen.pk,
        )
    with transaction.atomic():
        # The record's own values below (dates, PIN, CMND) are read as the lock leaves them.
        citizen_lock(citizen)
        errors = list(input_errors)
        if ("birth_date" in parsed) != ("date_of_death" in parsed):
            # One of the two dates changes: compare it with the other as the record holds it.
            errors += death_before_birth_errors(
                parsed.get("birth_date", citizen.birth_date),
                parsed.get("date_of_death", citizen.date_of_death),
            )
        if parsed.get("birth_date") is not None:
            errors += pin_errors(citizen.pin, sex=citizen.sex, birth=parsed["birth_date"], place_code=None)
        errors += old_id_unique_errors(parsed.get("old_id_number"), exclude_pk=citizen.pk)
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
        changed = list(diff)
        if "full_name" in diff:
            citizen.name_key = fold_name(citizen.full_name)
            changed.append("name_key")
        # Only the fields this update changes, on the row as locked: nothing else of it is written back.
        citizen.save(update_fields=[*changed, "updated_at"])
        if "full_name" in diff:
            # The links on the relatives' records show the name of the record they lead to, as when they
            # were made; the rename's event says when it changed, and their history keeps the old name.
            FamilyLink.objects.filter(relative=citizen).update(relative_name=citizen.full_name)
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
        if "date_of_death" in diff and citizen.date_of_death is not None:
            # A recorded death ends the citizen's cards in the same transaction (Luật Căn cước 2023
            # art. 29: a card is revoked on death): the card no longer verifies, and an application in
            # progress closes, whoever recorded the death and through whichever form.
            from dancu.cards.services import cards_end_for_death  # the cards app builds on the registry

            cards_end_for_death(actor=actor, citizen=citizen)
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
    with transaction.atomic():
        citizen_lock(citizen)
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
        old_record = PinRecord.objects.select_for_update().get(pin=old_pin)
        citizen.sex = new_sex
        birth = citizen.birth_date
        assert birth is not None  # a registered citizen always has a date of birth
        _insert_with_new_pin(citizen, sex=new_sex, birth_year=birth.year)
        new_record = PinRecord.objects.create(pin=citizen.pin, citizen=citizen)
        # A citizen's e-ID account signs in with the PIN as its user name (docs/eid.md): it follows the
        # new PIN in this transaction, so that the new number signs in and the cancelled one no longer
        # does. The event below records both numbers.
        User.objects.filter(role=User.Role.CITIZEN, eid_account__citizen=citizen).update(username=citizen.pin)
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
    """Recompute the denormalized area from the current residences (permanent first), on the record and
    on the access-log rows of the citizen's reads, which the auditors of the new area now see."""
    current = {r.kind: r for r in citizen.residences.filter(ended_on__isnull=True).select_related("commune")}
    chosen = current.get("permanent") or current.get("temporary") or current.get("current")
    if chosen is None:
        citizen.area_commune = citizen.area_province = citizen.area_legacy_commune = None
    else:
        citizen.area_commune = chosen.commune
        citizen.area_province_id = chosen.commune.parent_id
        citizen.area_legacy_commune_id = chosen.legacy_commune_id
    area = {
        "area_commune": citizen.area_commune_id,
        "area_province": citizen.area_province_id,
        "area_legacy_commune": citizen.area_legacy_commune_id,
    }
    Citizen.objects.filter(pk=citizen.pk).update(**area)
    access_log_area_follow(citizen_id=citizen.pk, area=area)


def _check_commune(commune: AdminUnit, legacy_commune: AdminUnit | None, *, actor: Actor) -> list[FieldError]:
    errors = []
    if actor.user is not None and not unit_in_area(actor.user, commune):
        # Officers write only inside their own area; system jobs (imports, the generator) have none.
        errors.append(outside_area_error("commune", unit=commune, area=user_area(actor.user)))
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


def _residence_input_errors(
    *,
    actor: Actor,
    commune: AdminUnit,
    legacy_commune: AdminUnit | None,
    address_detail: str,
    address_original: str,
    registered_on: date,
    today: date,
) -> list[FieldError]:
    """What the rules refuse in a residence as typed, whatever the record holds already: the units, the
    address (`address_detail` as cleaned) and the day of registration."""
    errors = _check_commune(commune, legacy_commune, actor=actor)
    if not address_detail:
        errors.append(
            error("address_detail", "address.required", "Thiếu địa chỉ chi tiết", "The address is required")
        )
    errors += text_errors(address_detail, field="address_detail", max_length=300)
    errors += text_errors(address_original, field="address_original", max_length=500)
    errors += date_not_in_future(registered_on, field="registered_on", today=today)
    return errors


def _registered_before_birth(registered_on: date, birth: PartialDate | None) -> list[FieldError]:
    """A residence registered before the earliest day the citizen can have been born."""
    if birth is not None and registered_on < birth.earliest():
        return [
            error(
                "registered_on",
                "residence.before_birth",
                "Ngày đăng ký cư trú trước ngày sinh của công dân",
                "The registration date is before the citizen's date of birth",
            )
        ]
    return []


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
    arrival: bool = False,
    joins_as: str = "",
) -> Residence:
    """Register a residence. A new permanent residence ends the previous one (a move); a temporary
    residence may not overlap a current one and lasts at most two years.

    `arrival` is for residence_arrival_register alone: the commune a person moves to registers them, and
    a head of household who moves away leaves the old household without a head, for the old commune to
    settle, instead of being refused (the new commune cannot change the head of a household it does not
    answer for). `joins_as` (the arrival's too) is the relation to its head with which the person joins
    `household`: the membership is made here, once the old one has ended and before the record's version
    is written, so that the one version of the move shows the household joined."""
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
    with transaction.atomic():
        # The rules below read the record's current residences and household as the lock leaves them.
        citizen_lock(citizen)
        if kind == Residence.Kind.PERMANENT:
            # The household left and the one joined, before the members left behind are counted: a member
            # leaving at the same moment would otherwise be counted as staying, and the household left
            # empty would not be reported as emptied.
            move_households_lock(citizen, household)
        address_detail = clean_text(address_detail)
        errors = _residence_input_errors(
            actor=actor,
            commune=commune,
            legacy_commune=legacy_commune,
            address_detail=address_detail,
            address_original=address_original,
            registered_on=registered_on,
            today=today,
        )
        if citizen.is_deceased:
            errors.append(_deceased("citizen"))
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
            elif (
                expires_on <= registered_on
                or (expires_on - registered_on).days > TEMPORARY_RESIDENCE_MAX_DAYS
            ):
                errors.append(
                    error(
                        "expires_on",
                        "residence.expiry_range",
                        "Thời hạn tạm trú phải sau ngày đăng ký và tối đa 2 năm",
                        "A temporary residence ends after it starts and lasts at most 2 years",
                    )
                )
            elif expires_on < today:
                # A stay whose period is over cannot be registered as current: it would count the person
                # as living where they no longer do. The last day of the period still counts.
                errors.append(
                    error(
                        "expires_on",
                        "residence.already_expired",
                        "Thời hạn tạm trú đã hết: không đăng ký nơi tạm trú đã hết hạn",
                        "The end date has passed: an expired temporary residence is not registered",
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
        # The same place, in the commune and the address as written (folded): a temporary residence is a
        # place "ngoài nơi thường trú" (Luật Cư trú 2020, art. 2), so none is registered at the permanent
        # one, and a permanent residence registered at the place of a temporary one ends it (art. 29:
        # xoá đăng ký tạm trú for a person who registers permanent residence at that very place).
        other_kind = (
            Residence.Kind.PERMANENT if kind == Residence.Kind.TEMPORARY else Residence.Kind.TEMPORARY
        )
        # An address its own rules refused is not looked up: a NUL in it would make PostgreSQL refuse the
        # query, and the write is refused anyway.
        same_place = (
            None
            if any(e.field == "address_detail" for e in errors)
            else citizen.residences.filter(
                kind=other_kind, ended_on__isnull=True, commune=commune, address_key=fold(address_detail)
            ).first()
        )
        if kind == Residence.Kind.TEMPORARY and same_place is not None:
            errors.append(
                error(
                    "address_detail",
                    "residence.temporary_at_permanent",
                    "Đây là nơi thường trú của công dân: tạm trú là nơi ở ngoài nơi thường trú",
                    "This is the citizen's permanent residence: a temporary residence is a place other than "
                    "the permanent one",
                )
            )
        if current is not None:
            # The police of the place a person comes to stay at register the new stay, which ends the one
            # the person had elsewhere (residence_stay_register): a stay is where one lives now, and the
            # commune left cannot be asked first. Elsewhere a second stay is an overlap to settle.
            if kind == Residence.Kind.TEMPORARY and not arrival:
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
            elif (
                current.commune_id == commune.pk
                and current.address_key == fold(address_detail)
                and current.household_id == (household.pk if household else None)
            ):
                # A "move" to the address the citizen already has would end the residence and open the
                # same one again: a phantom move in the history, which a form sent twice would write.
                # Joining a household at one's own address changes the household, and is no such move.
                errors.append(
                    error(
                        "address_detail",
                        "residence.unchanged",
                        "Công dân đang cư trú tại đúng địa chỉ này; không có gì thay đổi",
                        "The citizen already lives at this very address; nothing changes",
                    )
                )
        errors += _registered_before_birth(registered_on, citizen.birth_date)
        # A new permanent residence outside the citizen's household is a move out of that household. The
        # last member to leave leaves it without members: it stays, with its history, and no longer
        # counts among the households of the area (selectors.area_summary); a new head may reopen it.
        leaving = None
        emptied = headless = False
        if kind == Residence.Kind.PERMANENT:
            membership = (
                citizen.household_memberships.filter(left_on__isnull=True).select_related("household").first()
            )
            if membership is not None and membership.household_id != (household.pk if household else None):
                leaving = membership
                others = membership.household.memberships.filter(left_on__isnull=True).exclude(
                    pk=membership.pk
                )
                emptied = not others.exists()
                headless = membership.relation_to_head == Relation.HEAD and not emptied
                if registered_on < membership.joined_on:
                    # The move ends the membership on its date, which must not come before the day the
                    # person joined: a split dates the membership after the residence it keeps, so a
                    # date that passes the residence's rule above may still fall before it. An arrival
                    # is refused without the date, which belongs to a record outside the officer's area
                    # (see residence_arrival_register).
                    joined = "" if arrival else f" ({membership.joined_on:%d/%m/%Y})"
                    errors.append(
                        error(
                            "registered_on",
                            "residence.before_household",
                            f"Ngày đăng ký trước ngày công dân nhập hộ hiện tại{joined}",
                            "The registration date is before the citizen joined their current "
                            f"household{joined}",
                        )
                    )
                if headless and not arrival:
                    errors.append(
                        error(
                            "household",
                            "household.head_leaving",
                            "Chủ hộ chuyển đi nơi khác: hãy thay đổi chủ hộ trước "
                            "(trang của hộ, “Thay đổi chủ hộ”)",
                            "The head of household is moving away: change the head first "
                            "(the household's page, “Change the head”)",
                        )
                    )
        if errors:
            raise DomainError(errors)

        if current is not None:
            current.ended_on = registered_on
            current.end_reason = reason[:200]
            current.save(update_fields=["ended_on", "end_reason"])
        if leaving is not None:
            leaving.left_on = registered_on
            leaving.save(update_fields=["left_on"])
        if joins_as and household is not None:
            HouseholdMember.objects.create(
                household=household, citizen=citizen, relation_to_head=joins_as, joined_on=registered_on
            )
        stay_ended = same_place if kind == Residence.Kind.PERMANENT else None
        if stay_ended is not None:
            # Not before the stay began: a move may be dated before a temporary residence registered later.
            stay_ended.ended_on = max(registered_on, stay_ended.registered_on)
            stay_ended.end_reason = "Đăng ký thường trú tại chính nơi tạm trú (Luật Cư trú 2020, điều 29)"
            stay_ended.save(update_fields=["ended_on", "end_reason"])
        ended_absences: list[int] = []
        # A stay elsewhere does not end an absence: staying elsewhere is what a person away declares.
        if (
            arrival
            and kind == Residence.Kind.PERMANENT
            and not (
                citizen.residences.filter(kind=Residence.Kind.TEMPORARY, ended_on__isnull=True)
                .exclude(commune=commune)
                .exists()
            )
        ):
            # An absence is declared away from a place of residence (art. 31). The move ends the last one
            # the person had outside the commune moved to, so an absence under way on the day ends there,
            # as a return does: it would otherwise show the person away from the commune they now live
            # in, and only that commune, which never took the declaration, could close it. With a
            # temporary residence kept elsewhere the absence may be from that one, for its commune.
            under_way = citizen.absences.filter(
                returned_on__isnull=True,
                withdrawn_on__isnull=True,
                starts_on__lte=registered_on,
                ends_on__gte=registered_on,
            )
            ended_absences = list(under_way.order_by("pk").values_list("pk", flat=True))
            under_way.update(returned_on=registered_on, ended_by_move=True)
        residence = Residence.objects.create(
            citizen=citizen,
            kind=kind,
            commune=commune,
            legacy_commune=legacy_commune,
            address_detail=address_detail,
            address_key=fold(address_detail),
            address_original=clean_text(address_original),
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
                "ended_temporary_residence_id": stay_ended.pk if stay_ended else None,
                "left_household_id": leaving.household_id if leaving else None,
                "household_emptied": emptied,
                # The old household left without its head, which its commune must now choose.
                **(
                    {"arrival": True, "household_left_headless": headless, "absences_ended": ended_absences}
                    if arrival
                    else {}
                ),
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


def _residence_locked(residence: Residence) -> Citizen:
    """Lock the citizen a residence belongs to and reload the residence from under the lock."""
    # The residence's citizen as stored: a merge moves residences to the kept record. A merge that
    # commits between this read and the lock leaves the record it read merged away, and the lock
    # refuses it; once the citizen is locked, no merge can move the residence any more.
    citizen = Citizen.objects.get(
        pk=Residence.objects.values_list("citizen_id", flat=True).get(pk=residence.pk)
    )
    citizen_lock(citizen)
    residence.refresh_from_db()
    if residence.ended_on is not None:
        raise DomainError(
            error(
                "residence",
                "residence.already_ended",
                "Nơi cư trú này đã chấm dứt",
                "This residence has already ended",
            )
        )
    return citizen


def _residence_in_area(residence: Residence, *, actor: Actor) -> list[FieldError]:
    # Ending or renewing a residence is the business of the police of the place (Luật Cư trú 2020).
    if actor.user is not None and not unit_in_area(actor.user, residence.commune):
        return [
            outside_area_error(
                "residence",
                unit=residence.commune,
                area=user_area(actor.user),
                subject=("Nơi cư trú này", "This residence"),
            )
        ]
    return []


def residence_end(
    *,
    actor: Actor,
    residence: Residence,
    ended_on: date,
    reason: str,
    source_document: str,
    today: date | None = None,
) -> Residence:
    """End a current residence (xoá đăng ký thường trú/tạm trú, or a place of living left) on a date.

    Ending the permanent residence ends the citizen's membership of their household, as a move does:
    a head is refused while others still live in the household."""
    today = today or timezone.localdate()
    _require_source(reason=reason, source_document=source_document)
    with transaction.atomic():
        citizen = _residence_locked(residence)
        errors = _residence_in_area(residence, actor=actor)
        errors += date_not_in_future(ended_on, field="ended_on", today=today)
        if ended_on < residence.registered_on:
            errors.append(
                error(
                    "ended_on",
                    "residence.end_before_start",
                    "Ngày chấm dứt trước ngày đăng ký",
                    "The end date is before the registration date",
                )
            )
        leaving = None
        emptied = False
        if residence.kind == Residence.Kind.PERMANENT:
            leaving = citizen.household_memberships.filter(left_on__isnull=True).first()
        if leaving is not None:
            others = leaving.household.memberships.filter(left_on__isnull=True).exclude(pk=leaving.pk)
            emptied = not others.exists()
            if leaving.relation_to_head == Relation.HEAD and not emptied:
                errors.append(
                    error(
                        "household",
                        "household.head_leaving",
                        "Người này là chủ hộ: hãy thay đổi chủ hộ trước (trang của hộ, “Thay đổi chủ hộ”)",
                        "This person is the head of household: change the head first "
                        "(the household's page, “Change the head”)",
                    )
                )
            elif ended_on < leaving.joined_on:
                errors.append(
                    error(
                        "ended_on",
                        "residence.end_before_start",
                        "Ngày chấm dứt trước ngày nhập hộ",
                        "The end date is before the citizen joined the household",
                    )
                )
        if errors:
            raise DomainError(errors)
        residence.ended_on = ended_on
        residence.end_reason = reason[:200]
        residence.save(update_fields=["ended_on", "end_reason"])
        if leaving is not None:
            leaving.left_on = ended_on
            leaving.save(update_fields=["left_on"])
        _refresh_area(citizen)
        event = audit_event_record(
            actor=actor,
            event_type=EventType.RESIDENCE_ENDED,
            subject_type="citizen",
            subject_id=citizen.pk,
            data={
                "residence_id": residence.pk,
                "kind": residence.kind,
                "on": ended_on.isoformat(),
                **(
                    {"left_household_id": leaving.household_id, "household_emptied": emptied}
                    if leaving is not None
                    else {}
                ),
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


def residence_renew(
    *,
    actor: Actor,
    residence: Residence,
    expires_on: date,
    reason: str,
    source_document: str,
    today: date | None = None,
) -> Residence:
    """Gia hạn tạm trú: a current temporary residence runs to a later end date.

    A renewal grants at most two more years (Luật Cư trú 2020, art. 27-28), counted from the end of the
    period it extends, or from today when that period has already run out."""
    today = today or timezone.localdate()
    _require_source(reason=reason, source_document=source_document)
    with transaction.atomic():
        citizen = _residence_locked(residence)
        errors = _residence_in_area(residence, actor=actor)
        if citizen.is_deceased:
            errors.append(_deceased("citizen"))
        previous = residence.expires_on
        if residence.kind != Residence.Kind.TEMPORARY or previous is None:
            errors.append(
                error(
                    "residence",
                    "residence.renew_not_temporary",
                    "Chỉ gia hạn được nơi tạm trú",
                    "Only a temporary residence is renewed",
                )
            )
        else:
            start = max(previous, today)
            if expires_on <= start:
                errors.append(
                    error(
                        "expires_on",
                        "residence.renew_not_later",
                        "Thời hạn mới phải sau thời hạn tạm trú hiện tại và sau hôm nay",
                        "The new end date must be after the current one and after today",
                    )
                )
            elif (expires_on - start).days > TEMPORARY_RESIDENCE_MAX_DAYS:
                errors.append(
                    error(
                        "expires_on",
                        "residence.expiry_range",
                        "Mỗi lần gia hạn tạm trú tối đa 2 năm",
                        "A temporary residence is renewed for at most 2 years at a time",
                    )
                )
        if errors:
            raise DomainError(errors)
        residence.expires_on = expires_on
        residence.save(update_fields=["expires_on"])
        event = audit_event_record(
            actor=actor,
            event_type=EventType.RESIDENCE_RENEWED,
            subject_type="citizen",
            subject_id=citizen.pk,
            data={
                "residence_id": residence.pk,
                "old_expires_on": previous.isoformat() if previous else None,
                "new_expires_on": expires_on.isoformat(),
            },
            reason=reason,
            source_document=source_document,
        )
        _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document=source_document)
    return residence


# --- Absences (khai báo tạm vắng, Luật Cư trú 2020, art. 31) -------------------------------------------


def _absence_home(citizen: Citizen, *, actor: Actor) -> tuple[list[Residence], list[FieldError]]:
    """The citizen's current permanent or temporary residences in the actor's area, the places the absence
    is declared away from; with the refusal when there are none.

    An absence is declared to the police of the commune where the person lives (art. 31): an officer
    records one only for a citizen who holds a permanent or temporary residence in their area, and an
    officer of a pre-2025 unit, who writes no residence (User.writes_registry), records none."""
    user = actor.user
    if user is not None and not user.writes_registry:
        # Said before the citizen's residences are looked at: the unit is the reason, wherever the citizen
        # lives, and "no residence in your area" would send the officer to check an address that is right.
        return [], [
            error(
                "actor",
                "role.not_allowed",
                "Đơn vị của bạn là đơn vị trước năm 2025, không ghi nơi cư trú: khai báo tạm vắng làm tại "
                "công an xã/phường/đặc khu (đơn vị hành chính hiện hành) nơi công dân cư trú",
                "Your unit is a pre-2025 unit, which writes no residence: an absence is declared to the "
                "police of the (current) commune where the citizen resides",
            )
        ]
    homes = list(
        citizen.residences.filter(
            ended_on__isnull=True, kind__in=[Residence.Kind.PERMANENT, Residence.Kind.TEMPORARY]
        )
        .select_related("commune")
        .order_by("kind", "pk")
    )
    if not homes:
        return [], [
            error(
                "citizen",
                "absence.no_residence",
                "Công dân không có nơi thường trú hoặc tạm trú hiện tại: tạm vắng là vắng mặt khỏi nơi "
                "cư trú",
                "The citizen has no current permanent or temporary residence: an absence is from the place "
                "where one resides",
            )
        ]
    if user is not None:
        in_area = [r for r in homes if unit_in_area(user, r.commune)]
        if not in_area:
            return [], [_absence_outside_area(area=user_area(user))]
        homes = in_area
    return homes, []


def _absence_outside_area(*, area: AdminUnit | None) -> FieldError:
    """The refusal of an absence of a citizen who lives outside the officer's area, naming the officer's
    area. Not where the citizen lives: that is a record outside the officer's sight, which a refusal must
    not read out to whoever tries a citizen of another commune."""
    area_name = area.name if area is not None else ""
    return FieldError(
        "citizen",
        OUTSIDE_AREA,
        "Công dân không thường trú, tạm trú trong địa bàn quản lý của bạn"
        + (f" ({area_name})" if area_name else "")
        + ": khai báo tạm vắng làm tại công an nơi cư trú",
        "The citizen has no permanent or temporary residence in your jurisdiction"
        + (f" ({area_name})" if area_name else "")
        + ": an absence is declared to the police of the place of residence",
        {"area": area_name},
    )


def _absence_text_errors(destination: str, absence_reason: str) -> list[FieldError]:
    errors = []
    if not destination:
        errors.append(
            error(
                "destination",
                "absence.destination_required",
                "Cần ghi nơi đến",
                "The destination is required",
            )
        )
    if not absence_reason:
        errors.append(
            error(
                "reason",
                "absence.reason_required",
                "Cần ghi lý do tạm vắng",
                "The reason for the absence is required",
            )
        )
    errors += text_errors(destination, field="destination", max_length=300, prose=True)
    errors += text_errors(absence_reason, field="reason", max_length=300, prose=True)
    return errors


def _absence_period_errors(
    citizen: Citizen,
    *,
    homes: list[Residence],
    starts_on: date,
    ends_on: date,
    today: date,
    correcting: AbsenceDeclaration | None = None,
) -> list[FieldError]:
    """The rules of a declared period, for a new declaration and for one corrected (`correcting`, which
    does not overlap itself)."""
    errors: list[FieldError] = []
    if citizen.is_deceased:
        errors.append(
            error(
                "citizen",
                "citizen.deceased",
                "Công dân đã mất: không khai báo tạm vắng cho người đã mất",
                "The citizen is deceased: no absence is declared for a dead person",
            )
        )
    if ends_on <= starts_on:
        errors.append(
            error(
                "ends_on",
                "absence.end_before_start",
                "Ngày kết thúc tạm vắng phải sau ngày bắt đầu",
                "The absence must end after it starts",
            )
        )
    elif ends_on < today:
        errors.append(
            error(
                "ends_on",
                "absence.already_over",
                "Thời gian tạm vắng đã qua: khai báo tạm vắng là cho lần vắng mặt đang hoặc sắp diễn ra",
                "The period is already over: an absence is declared for an absence under way or to come",
            )
        )
    birth = citizen.birth_date
    if birth is not None and starts_on < birth.earliest():
        errors.append(
            error(
                "starts_on",
                "absence.before_birth",
                "Ngày bắt đầu tạm vắng trước ngày sinh của công dân",
                "The absence starts before the citizen's date of birth",
            )
        )
    elif homes and starts_on < min(r.registered_on for r in homes):
        # Away from a residence the person did not yet have: the declaration belongs to wherever they
        # lived then.
        errors.append(
            error(
                "starts_on",
                "absence.before_residence",
                "Ngày bắt đầu tạm vắng trước ngày đăng ký nơi cư trú tại địa bàn",
                "The absence starts before the residence in your area was registered",
            )
        )
    # A withdrawn declaration was never an absence: its days are free to declare again.
    others = citizen.absences.filter(withdrawn_on__isnull=True).order_by("starts_on", "pk")
    if correcting is not None:
        others = others.exclude(pk=correcting.pk)
    clash = next((o for o in others if o.starts_on <= ends_on and starts_on <= o.last_day), None)
    if clash is not None:
        span = f"{clash.starts_on:%d/%m/%Y}–{clash.last_day:%d/%m/%Y}"
        errors.append(
            error(
                "starts_on",
                "absence.overlap",
                f"Thời gian tạm vắng trùng với khai báo tạm vắng {span}",
                f"The absence overlaps the one declared for {span}",
            )
        )
    return errors


def _absence_locked(absence: AbsenceDeclaration) -> Citizen:
    """Lock the citizen a declaration belongs to and reload the declaration from under the lock."""
    # The declaration's citizen as stored: a merge moves declarations to the kept record, and the lock
    # refuses a record merged away meanwhile (as _residence_locked does for residences).
    citizen = Citizen.objects.get(
        pk=AbsenceDeclaration.objects.values_list("citizen_id", flat=True).get(pk=absence.pk)
    )
    citizen_lock(citizen)
    absence.refresh_from_db()
    return citizen


def _absence_withdrawn(absence: AbsenceDeclaration) -> FieldError:
    # A withdrawn declaration is history, as one closed by a return is: nothing more is recorded on it.
    return error(
        "absence",
        "absence.withdrawn",
        f"Khai báo tạm vắng đã được huỷ ngày {absence.withdrawn_on:%d/%m/%Y}",
        f"The declaration was withdrawn on {absence.withdrawn_on:%d/%m/%Y}",
    )


def absence_declare(
    *,
    actor: Actor,
    citizen: Citizen,
    starts_on: date,
    ends_on: date,
    destination: str,
    reason: str,
    source_document: str = "",
    today: date | None = None,
) -> AbsenceDeclaration:
    """Khai báo tạm vắng: the citizen will be (or is) away from their residence from `starts_on` to
    `ends_on`, at `destination`, for `reason`.

    The law sets who must declare (art. 31(1)) but no longest period, so none is imposed here. The
    declaration is made before leaving or while away, so the start may be past or to come; a period wholly
    past is no declaration of an absence. One person's declared periods never overlap."""
    today = today or timezone.localdate()
    destination = clean_text(destination)
    reason = clean_text(reason)
    source_document = clean_text(source_document)
    with transaction.atomic():
        citizen_lock(citizen)
        homes, errors = _absence_home(citizen, actor=actor)
        errors += _absence_text_errors(destination, reason)
        errors += text_errors(source_document, field="source_document", max_length=200, prose=True)
        errors += _absence_period_errors(
            citizen, homes=homes, starts_on=starts_on, ends_on=ends_on, today=today
        )
        if errors:
            raise DomainError(errors)
        absence = AbsenceDeclaration.objects.create(
            citizen=citizen, starts_on=starts_on, ends_on=ends_on, destination=destination, reason=reason
        )
        event = audit_event_record(
            actor=actor,
            event_type=EventType.ABSENCE_DECLARED,
            subject_type="citizen",
            subject_id=citizen.pk,
            data={
                "absence_id": absence.pk,
                "starts_on": starts_on.isoformat(),
                "ends_on": ends_on.isoformat(),
                "residence_ids": [r.pk for r in homes],
            },
            reason=reason,
            source_document=source_document,
        )
        _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document=source_document)
    return absence


def absence_return(
    *,
    actor: Actor,
    absence: AbsenceDeclaration,
    returned_on: date,
    reason: str,
    source_document: str = "",
    today: date | None = None,
) -> AbsenceDeclaration:
    """The person came back on `returned_on`, before the end of the declared period: the absence ends
    there. Recorded by the police of the place of residence, as the declaration was."""
    today = today or timezone.localdate()
    _require_source(reason=reason, source_document=source_document)
    with transaction.atomic():
        citizen = _absence_locked(absence)
        _homes, errors = _absence_home(citizen, actor=actor)
        if absence.returned_on is not None:
            errors.append(
                error(
                    "absence",
                    "absence.already_returned",
                    f"Công dân đã trở về ngày {absence.returned_on:%d/%m/%Y}",
                    f"The citizen already came back on {absence.returned_on:%d/%m/%Y}",
                )
            )
        elif absence.withdrawn_on is not None:
            errors.append(_absence_withdrawn(absence))
        elif citizen.is_deceased:
            errors.append(_absence_of_the_dead())
        else:
            errors += date_not_in_future(returned_on, field="returned_on", today=today)
            if returned_on < absence.starts_on:
                errors.append(
                    error(
                        "returned_on",
                        "absence.return_before_start",
                        "Ngày trở về trước ngày bắt đầu tạm vắng",
                        "The return is before the absence started",
                    )
                )
            elif returned_on > absence.ends_on:
                errors.append(
                    error(
                        "returned_on",
                        "absence.return_after_end",
                        f"Ngày trở về sau ngày kết thúc tạm vắng ({absence.ends_on:%d/%m/%Y}): lần tạm vắng "
                        "đã tự kết thúc vào ngày đó",
                        f"The return is after the declared end ({absence.ends_on:%d/%m/%Y}): the absence "
                        "ended on that day by itself",
                    )
                )
        if errors:
            raise DomainError(errors)
        absence.returned_on = returned_on
        absence.save(update_fields=["returned_on"])
        event = audit_event_record(
            actor=actor,
            event_type=EventType.ABSENCE_RETURNED,
            subject_type="citizen",
            subject_id=citizen.pk,
            data={"absence_id": absence.pk, "returned_on": returned_on.isoformat()},
            reason=reason,
            source_document=source_document,
        )
        _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document=source_document)
    return absence


def absence_correct(
    *,
    actor: Actor,
    absence: AbsenceDeclaration,
    starts_on: date,
    ends_on: date,
    destination: str,
    absence_reason: str,
    reason: str,
    source_document: str = "",
    today: date | None = None,
) -> AbsenceDeclaration:
    """Correct a declared absence the person has not come back from: its period (a wrong date, or a stay
    that runs longer or shorter than declared), destination or reason (`absence_reason`), for `reason`.

    The corrected period follows the rules of a new declaration; a declaration closed by a return is
    history and is not rewritten. The person's return itself is recorded with absence_return."""
    today = today or timezone.localdate()
    destination = clean_text(destination)
    absence_reason = clean_text(absence_reason)
    _require_source(reason=reason, source_document=source_document)
    with transaction.atomic():
        citizen = _absence_locked(absence)
        homes, errors = _absence_home(citizen, actor=actor)
        if absence.returned_on is not None:
            errors.append(
                error(
                    "absence",
                    "absence.already_returned",
                    f"Công dân đã trở về ngày {absence.returned_on:%d/%m/%Y}: khai báo đã kết thúc không sửa "
                    "được",
                    f"The citizen came back on {absence.returned_on:%d/%m/%Y}: a closed declaration is not "
                    "corrected",
                )
            )
        elif absence.withdrawn_on is not None:
            errors.append(_absence_withdrawn(absence))
        elif absence.ends_on < today:
            # Its period ran out: the absence is over, and a "correction" would declare another one.
            errors.append(
                error(
                    "absence",
                    "absence.already_over",
                    f"Lần tạm vắng đã kết thúc ngày {absence.ends_on:%d/%m/%Y}: khai báo đã kết thúc "
                    "không sửa được; hãy khai báo tạm vắng mới",
                    f"The absence ended on {absence.ends_on:%d/%m/%Y}: a closed declaration is not "
                    "corrected; declare a new absence",
                )
            )
        # The absence's own reason is `absence_reason` here, beside the reason for the correction.
        errors += [
            dataclasses.replace(e, field="absence_reason") if e.field == "reason" else e
            for e in _absence_text_errors(destination, absence_reason)
        ]
        errors += _absence_period_errors(
            citizen, homes=homes, starts_on=starts_on, ends_on=ends_on, today=today, correcting=absence
        )
        new = {
            "starts_on": starts_on,
            "ends_on": ends_on,
            "destination": destination,
            "absence_reason": absence_reason,
        }
        old = {
            "starts_on": absence.starts_on,
            "ends_on": absence.ends_on,
            "destination": absence.destination,
            "absence_reason": absence.reason,
        }
        changes = {
            name: {"old": _plain(old[name]), "new": _plain(new[name])}
            for name in new
            if old[name] != new[name]
        }
        if not errors and not changes:
            # A form sent twice would otherwise write a second version that changes nothing.
            errors.append(
                error(
                    "absence",
                    "absence.unchanged",
                    "Khai báo tạm vắng không có gì thay đổi",
                    "Nothing in the declared absence changes",
                )
            )
        if errors:
            raise DomainError(errors)
        absence.starts_on, absence.ends_on = starts_on, ends_on
        absence.destination, absence.reason = destination, absence_reason
        absence.save(update_fields=["starts_on", "ends_on", "destination", "reason"])
        event = audit_event_record(
            actor=actor,
            event_type=EventType.ABSENCE_CORRECTED,
            subject_type="citizen",
            subject_id=citizen.pk,
            data={"absence_id": absence.pk, "changes": changes},
            reason=reason,
            source_document=source_document,
        )
        _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document=source_document)
    return absence


def absence_withdraw(
    *,
    actor: Actor,
    absence: AbsenceDeclaration,
    reason: str,
    source_document: str = "",
    today: date | None = None,
) -> AbsenceDeclaration:
    """Huỷ khai báo tạm vắng: the person will not leave after all, and withdraws a declaration whose period
    has not begun. Recorded by the police of the place of residence, as the declaration was.

    The declaration is marked withdrawn on `today`, not deleted: the record's history keeps that it was
    declared and then withdrawn, and the version written here is the first without it. Once the period has
    begun the person did leave, and the absence ends with a return (absence_return) instead."""
    today = today or timezone.localdate()
    _require_source(reason=reason, source_document=source_document)
    with transaction.atomic():
        citizen = _absence_locked(absence)
        _homes, errors = _absence_home(citizen, actor=actor)
        if absence.returned_on is not None:
            errors.append(
                error(
                    "absence",
                    "absence.already_returned",
                    f"Công dân đã trở về ngày {absence.returned_on:%d/%m/%Y}: khai báo đã kết thúc không huỷ "
                    "được",
                    f"The citizen came back on {absence.returned_on:%d/%m/%Y}: a closed declaration is not "
                    "withdrawn",
                )
            )
        elif absence.withdrawn_on is not None:
            errors.append(_absence_withdrawn(absence))
        elif citizen.is_deceased:
            errors.append(_absence_of_the_dead())
        elif absence.starts_on <= today:
            errors.append(
                error(
                    "starts_on",
                    "absence.already_started",
                    f"Lần tạm vắng đã bắt đầu ngày {absence.starts_on:%d/%m/%Y}: chỉ huỷ được khai báo cho "
                    "thời gian chưa bắt đầu; hãy ghi nhận công dân trở về",
                    f"The absence began on {absence.starts_on:%d/%m/%Y}: only a declaration whose period has "
                    "not begun is withdrawn; record the citizen's return instead",
                )
            )
        if errors:
            raise DomainError(errors)
        absence.withdrawn_on = today
        absence.save(update_fields=["withdrawn_on"])
        event = audit_event_record(
            actor=actor,
            event_type=EventType.ABSENCE_WITHDRAWN,
            subject_type="citizen",
            subject_id=citizen.pk,
            data={
                "absence_id": absence.pk,
                "starts_on": absence.starts_on.isoformat(),
                "ends_on": absence.ends_on.isoformat(),
                "withdrawn_on": today.isoformat(),
            },
            reason=reason,
            source_document=source_document,
        )
        _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document=source_document)
    return absence


def _absence_of_the_dead() -> FieldError:
    # An open declaration of a person who has died ended with the death (AbsenceDeclaration.status says
    # "deceased"): no return is recorded on it and it is not withdrawn, as no new one is declared.
    return error(
        "citizen",
        "citizen.deceased",
        "Công dân đã mất: khai báo tạm vắng đã kết thúc cùng ngày mất, không ghi nhận trở về hay huỷ khai "
        "báo",
        "The citizen is deceased: the declared absence ended with the death; no return or withdrawal is "
        "recorded on it",
    )


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


def _deceased(field_name: str) -> FieldError:
    # A residence or a household membership registered for a dead person would make them live somewhere
    # after their death, counted among the residents of a commune and a household.
    return error(
        field_name,
        "citizen.deceased",
        "Công dân đã mất: không đăng ký cư trú, nhập hộ cho người đã mất",
        "The citizen is deceased: a dead person is registered at no residence and joins no household",
    )


def _no_head(field_name: str) -> FieldError:
    return error(
        field_name,
        "household.no_head",
        "Hộ chưa có chủ hộ: thêm chủ hộ (quan hệ “Chủ hộ”) trước",
        "The household has no head: add its head (relation “head”) first",
    )


def _already_member(field_name: str) -> FieldError:
    return error(
        field_name,
        "household.already_member",
        "Người này đang là thành viên của một hộ khác",
        "This person is already a member of another household",
    )


def _relation_errors(household: Household, relation_to_head: str) -> list[FieldError]:
    """A member joins with a known relation to the head; a household has one head, and takes its head
    before any other member (a member's relation is to the head). Read with the household's row locked."""
    has_head = household.memberships.filter(left_on__isnull=True, relation_to_head=Relation.HEAD).exists()
    if not relation_to_head:
        # Left blank is a field not filled in, named as such; `relation.invalid` is for a value given that
        # is no relation.
        return [_rule("relation_to_head", "field.required")]
    if relation_to_head not in Relation.values:
        return [
            error(
                "relation_to_head",
                "relation.invalid",
                "Quan hệ với chủ hộ không hợp lệ",
                "Invalid relation",
            )
        ]
    if relation_to_head == Relation.HEAD and has_head:
        return [
            error(
                "relation_to_head",
                "household.second_head",
                "Hộ đã có chủ hộ; dùng chức năng thay đổi chủ hộ",
                "The household already has a head; use the change-of-head action",
            )
        ]
    if relation_to_head != Relation.HEAD and not has_head:
        return [_no_head("relation_to_head")]
    return []


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
    with transaction.atomic():
        citizen_lock(head)
        errors = _check_commune(commune, legacy_commune, actor=actor)
        errors += text_errors(address_detail, field="address_detail", max_length=300)
        if head.household_memberships.filter(left_on__isnull=True).exists():
            errors.append(_already_member("head"))
        if head.is_deceased:
            errors.append(_deceased("head"))
        if errors:
            raise DomainError(errors)
        # Numbers are allocated per commune: locking the commune's row makes two households opened at the
        # same moment take consecutive numbers instead of colliding on the same one.
        AdminUnit.objects.select_for_update().filter(pk=commune.pk).first()
        household = Household.objects.create(
            number=_next_household_number(commune),
            commune=commune,
            legacy_commune=legacy_commune,
            address_detail=clean_text(address_detail),
            address_original=clean_text(address_original),
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
    """Add a member; their permanent residence moves to the household's address.

    A household without a head (its head died, or every member left) takes a head first: a member's
    relation is to the head, so no other member joins until it has one."""
    _require_source(reason=reason, source_document=source_document)
    with transaction.atomic():
        citizen_lock(citizen)
        # After the citizen, as the lock order asks: two officers adding a head to the same headless
        # household queue here, and the second one reads the head the first one added.
        Household.objects.select_for_update().filter(pk=household.pk).first()
        errors = _relation_errors(household, relation_to_head)
        if citizen.household_memberships.filter(left_on__isnull=True).exists():
            errors.append(_already_member("citizen"))
        if citizen.is_deceased:
            errors.append(_deceased("citizen"))
        if errors:
            raise DomainError(errors)
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
    today: date | None = None,
) -> Household:
    """Make another member the head; the previous head stays a member with the relation given.

    A household left without a head (its head died or was merged away) takes one of its members as
    head the same way; `previous_head_relation` is then not used."""
    _require_source(reason=reason, source_document=source_document)
    with transaction.atomic():
        # Both records show their relation to the head, so both are locked together, in id order. The
        # head is read just before: should another officer change it in that instant, the record of the
        # head read below is locked when its version is written, as every record's is.
        head = Citizen.objects.filter(
            household_memberships__household=household,
            household_memberships__left_on__isnull=True,
            household_memberships__relation_to_head=Relation.HEAD,
        ).first()
        citizen_lock(new_head, *([head] if head is not None else []))
        memberships = {m.citizen_id: m for m in household.memberships.filter(left_on__isnull=True)}
        target = memberships.get(new_head.pk)
        memberships_before = {pk: m.relation_to_head for pk, m in memberships.items()}
        old_head = next((m for m in memberships.values() if m.relation_to_head == Relation.HEAD), None)
        errors = []
        if actor.user is not None and not unit_in_area(actor.user, household.commune):
            errors.append(
                outside_area_error(
                    "household",
                    unit=household.commune,
                    area=user_area(actor.user),
                    subject=("Hộ này", "This household"),
                )
            )
        if target is None:
            errors.append(
                error(
                    "new_head",
                    "household.not_member",
                    "Chủ hộ mới phải là thành viên hiện tại của hộ",
                    "The new head must be a current member of the household",
                )
            )
        elif target is old_head:
            errors.append(
                error(
                    "new_head",
                    "household.already_head",
                    "Người này đang là chủ hộ",
                    "This person is already the head of the household",
                )
            )
        elif new_head.is_deceased:
            errors.append(_deceased("new_head"))
        elif changed_on < target.joined_on:
            errors.append(
                error(
                    "changed_on",
                    "household.change_before_join",
                    "Ngày thay đổi chủ hộ trước ngày người này nhập hộ",
                    "The date of the change is before the new head joined the household",
                )
            )
        errors += date_not_in_future(changed_on, field="changed_on", today=today or timezone.localdate())
        if old_head is not None and (
            previous_head_relation not in Relation.values or previous_head_relation == Relation.HEAD
        ):
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
        if old_head is not None:
            old_head.relation_to_head = previous_head_relation
            old_head.save(update_fields=["relation_to_head"])
        target.relation_to_head = Relation.HEAD
        target.save(update_fields=["relation_to_head"])
        _household_changed(
            actor=actor,
            household=household,
            event_type=EventType.HOUSEHOLD_HEAD_CHANGED,
            data={
                "old_head_id": old_head.citizen_id if old_head else None,
                "new_head_id": new_head.pk,
                "new_head_previous_relation": memberships_before[new_head.pk],
                "on": changed_on.isoformat(),
            },
            reason=reason,
            source_document=source_document,
            # Both records show their relation to the head.
            citizen_ids=(*([old_head.citizen_id] if old_head else []), new_head.pk),
        )
    return household


@dataclass(frozen=True)
class SplitMember:
    """One of the members who leave a household to form their own: the new head among them, and each
    other one with their relation to the new head (ignored for the new head)."""

    citizen: Citizen
    relation_to_head: str = ""


def _adult_on(birth: PartialDate | None, on: date) -> bool:
    """Of full age (18, Bộ luật Dân sự 2015 art. 20) on `on`, counted from the earliest day the date of
    birth may mean: a legacy record knowing only the year is given the benefit of the doubt, as the
    registry's other age rules give it (the officer has the person's papers in front of them)."""
    if birth is None:
        return True
    born = birth.earliest()
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return years >= ADULT_AGE


def household_split(
    *,
    actor: Actor,
    household: Household,
    members: list[SplitMember],
    new_head: Citizen | None,
    split_on: date,
    reason: str,
    source_document: str,
    today: date | None = None,
) -> Household:
    """Tách hộ (Luật Cư trú 2020 art. 25): some members of a household, at the same address, form a
    household of their own with one of them, an adult, as head.

    They leave the household on `split_on` and join the new one the same day; they keep their legal
    place of residence, so their current residences stay as registered and point at the new household
    (a split is no move: it opens no new residence and ends none). The household keeps its head, so its
    head leaves only with every other member, which is no split at all, or after a change of head.
    Refusals name the member by their place in `members` ("members.1"), as the API's body lists them."""
    today = today or timezone.localdate()
    _require_source(reason=reason, source_document=source_document)
    with transaction.atomic():
        chosen = [m.citizen for m in members]
        # Each record that moves shows its new household and relation, so each is locked, in id order, as
        # the lock order asks; then the household, so that two splits of it queue here.
        citizen_lock(*{c.pk: c for c in chosen}.values())
        Household.objects.select_for_update().filter(pk=household.pk).first()
        memberships = {m.citizen_id: m for m in household.memberships.filter(left_on__isnull=True)}
        errors = []
        if actor.user is not None and not unit_in_area(actor.user, household.commune):
            errors.append(
                outside_area_error(
                    "household",
                    unit=household.commune,
                    area=user_area(actor.user),
                    subject=("Hộ này", "This household"),
                )
            )
        if not members:
            errors.append(
                error(
                    "members",
                    "household.split_no_member",
                    "Chọn những thành viên tách hộ",
                    "Choose the members who leave to form the new household",
                )
            )
        seen: set[int] = set()
        for index, member in enumerate(members):
            citizen, field = member.citizen, f"members.{index}"
            membership = memberships.get(citizen.pk)
            if citizen.pk in seen:
                errors.append(
                    error(
                        field,
                        "household.split_member_twice",
                        f"Người có số định danh {citizen.pin} được chọn hai lần",
                        f"The person with PIN {citizen.pin} is chosen twice",
                    )
                )
                continue
            seen.add(citizen.pk)
            if membership is None:
                errors.append(
                    error(
                        field,
                        "household.not_member",
                        f"Người có số định danh {citizen.pin} không phải thành viên hiện tại của hộ",
                        f"The person with PIN {citizen.pin} is not a current member of the household",
                    )
                )
                continue
            if citizen.is_deceased:
                errors.append(_deceased(field))
            if split_on < membership.joined_on:
                errors.append(
                    error(
                        "split_on",
                        "household.split_before_join",
                        f"Ngày tách hộ trước ngày người có số định danh {citizen.pin} nhập hộ",
                        f"The date of the split is before the person with PIN {citizen.pin} joined the "
                        "household",
                    )
                )
            if citizen.pk == (new_head.pk if new_head else None):
                continue
            relation = member.relation_to_head
            if not relation:
                errors.append(
                    error(
                        f"{field}.relation_to_head",
                        "field.required",
                        "Chọn quan hệ với chủ hộ mới",
                        "Choose the relation to the new head",
                    )
                )
            elif relation not in Relation.values:
                errors.append(
                    error(
                        f"{field}.relation_to_head",
                        "relation.invalid",
                        "Chọn quan hệ với chủ hộ mới",
                        "Choose the relation to the new head",
                    )
                )
            elif relation == Relation.HEAD:
                errors.append(
                    error(
                        f"{field}.relation_to_head",
                        "household.second_head",
                        "Hộ mới chỉ có một chủ hộ: chọn quan hệ khác với chủ hộ mới",
                        "The new household has one head: choose another relation to the new head",
                    )
                )
        if new_head is None or (members and new_head.pk not in seen):
            errors.append(
                error(
                    "new_head",
                    "household.split_no_head",
                    "Chủ hộ mới phải là một trong những người tách hộ",
                    "The new head must be one of the members who leave",
                )
            )
        elif new_head.pk in memberships and not _adult_on(new_head.birth_date, split_on):
            errors.append(
                error(
                    "new_head",
                    "household.head_minor",
                    "Chủ hộ mới phải có năng lực hành vi dân sự đầy đủ: "
                    f"đủ {ADULT_AGE} tuổi vào ngày tách hộ",
                    f"The new head must have full civil capacity: be {ADULT_AGE} or older on the date of the "
                    "split",
                )
            )
        leaving = [memberships[pk] for pk in seen if pk in memberships]
        if leaving and len(leaving) == len(memberships):
            errors.append(
                error(
                    "members",
                    "household.split_all_members",
                    "Tất cả thành viên đều đi: đó không phải là tách hộ (hãy thay đổi chủ hộ nếu cần)",
                    "Every member would leave: that is no split (change the head if that is what is asked)",
                )
            )
        elif any(m.relation_to_head == Relation.HEAD for m in leaving):
            errors.append(
                error(
                    "members",
                    "household.head_leaving",
                    "Chủ hộ tách đi trong khi các thành viên khác ở lại: hãy thay đổi chủ hộ trước "
                    "(trang của hộ, “Thay đổi chủ hộ”)",
                    "The head of household would leave while others stay: change the head first "
                    "(the household's page, “Change the head”)",
                )
            )
        errors += date_not_in_future(split_on, field="split_on", today=today)
        if errors:
            raise DomainError(errors)
        assert new_head is not None
        # Numbers are allocated per commune, under the commune's row lock, as household_create does.
        AdminUnit.objects.select_for_update().filter(pk=household.commune_id).first()
        formed = Household.objects.create(
            number=_next_household_number(household.commune),
            commune=household.commune,
            legacy_commune=household.legacy_commune,
            address_detail=household.address_detail,
            address_original=household.address_original,
            version=0,
        )
        relations = {}
        for member in members:
            citizen = member.citizen
            old = memberships[citizen.pk]
            old.left_on = split_on
            old.save(update_fields=["left_on"])
            relation = Relation.HEAD if citizen.pk == new_head.pk else member.relation_to_head
            relations[citizen.pk] = relation
            HouseholdMember.objects.create(
                household=formed, citizen=citizen, relation_to_head=relation, joined_on=split_on
            )
            # The residences registered with the old household now belong to the new one, at the same
            # address and from the same registration: the split changes the household, not where and
            # since when the person lives there.
            Residence.objects.filter(citizen=citizen, household=household, ended_on__isnull=True).update(
                household=formed
            )
        data = {
            "from_household_id": household.pk,
            "from_number": household.number,
            "household_id": formed.pk,
            "number": formed.number,
            "head_id": new_head.pk,
            "members": {str(pk): relation for pk, relation in relations.items()},
            "on": split_on.isoformat(),
        }
        # One event, about the household formed (it names the one left); the household left is at a new
        # version too, as is each record that moved.
        event = audit_event_record(
            actor=actor,
            event_type=EventType.HOUSEHOLD_SPLIT,
            subject_type="household",
            subject_id=formed.pk,
            data=data,
            reason=reason,
            source_document=source_document,
        )
        for changed in (household, formed):
            _bump_household(changed, actor=actor, event=event, reason=reason, source_document=source_document)
        for citizen in sorted(chosen, key=lambda c: c.pk):
            _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document=source_document)
    return formed


# --- Đăng ký thường trú cho người chuyển đến: a move registered by the commune moved to -------------------
#
# Luật Cư trú 2020 has the citizen apply for permanent residence to the police of the commune they move to,
# presenting their card; that registration ends the old one. The officer of that commune cannot see the
# person's record until then (it lies in the old commune's area), so the record is found country-wide by
# the PIN on the card and must have the name and the date of birth on the card: a form that finds records
# outside one's area must not be a way to learn who exists there.


def arrival_commune(user: User) -> AdminUnit | None:
    """The commune whose arrivals `user` registers: the 2025 commune of their police unit, or None."""
    if not user.registers_arrivals:
        return None
    assert user.police_unit is not None
    return user.police_unit.admin_unit


def _rule(field_name: str, code: str) -> FieldError:
    """A refusal worded as the rule catalogue words it."""
    return Issue(field_name, code).as_field_error()


def _card_identity(pin: str, full_name: str, birth_date: str) -> tuple[PartialDate | None, list[FieldError]]:
    """The date of birth typed from a card, and what is wrong with the PIN, name and date as typed: a date
    that cannot be read names its own rule, and is not also reported missing."""
    birth, errors = parse_partial_date(birth_date, field="birth_date")
    if birth is None and not errors:
        errors.append(_rule("birth_date", "date.required"))
    if not PIN_RE.fullmatch(pin):
        errors.append(_rule("pin", "pin.format"))
    # Worded as the rule catalogue words it ("Họ, chữ đệm và tên không được chứa chữ số"), not with the
    # field's code name, as on every other page.
    return birth, errors + [issue.as_field_error() for issue in check_name(full_name, field="full_name")]


def _arrival_input_errors(
    *,
    commune: AdminUnit,
    registered_on: date,
    address_detail: str,
    household_number: str,
    relation_to_head: str,
    today: date,
) -> tuple[list[FieldError], Household | None]:
    """What is wrong with the form beyond the card, whoever the PIN names; and the household it names."""
    errors = date_not_in_future(registered_on, field="registered_on", today=today)
    household = None
    if household_number:
        if address_detail:
            errors.append(
                error(
                    "address_detail",
                    "arrival.household_or_address",
                    "Ghi số hồ sơ hộ để nhập hộ có sẵn, hoặc địa chỉ để lập hộ mới, không ghi cả hai",
                    "Give a household's file number to join it, or an address to open a new household, "
                    "not both",
                )
            )
        number_problems = text_errors(household_number, field="household_number", max_length=20)
        errors += number_problems
        if not number_problems:
            # Only a household of the officer's own commune: the person moves in there.
            household = Household.objects.filter(commune=commune, number=household_number).first()
            if household is None:
                errors.append(_rule("household_number", "household.unknown"))
        if not relation_to_head:
            errors.append(_rule("relation_to_head", "field.required"))
        elif relation_to_head not in Relation.values:
            errors.append(_rule("relation_to_head", "relation.invalid"))
    else:
        if relation_to_head:
            errors.append(_rule("household_number", "household.number_required"))
        if not address_detail:
            errors.append(_rule("address_detail", "address.required"))
        errors += text_errors(address_detail, field="address_detail", max_length=300)
    return errors, household


def _card_holder(
    *,
    user: User,
    pin: str,
    full_name: str,
    birth: PartialDate | None,
    errors: list[FieldError],
    channel: AccessLog.Channel,
    purpose: str,
    detail: str,
) -> Citizen:
    """The record a card's PIN leads to, if it has the name and date of birth typed from the card; else the
    form's `errors` with one and the same `arrival.not_found`, raised. The record compared is logged as a
    check, matched or not, before any transaction, so that a refused request leaves its trace as well."""
    identity_typed = not any(e.field in ("pin", "full_name", "birth_date") for e in errors)
    found = arrival_candidate(pin) if identity_typed else None
    if found is not None:
        records_checked_log(
            actor=user, citizen_ids=[found.pk], channel=channel, purpose=purpose, detail=detail
        )
    if identity_typed and (
        found is None or found.name_key != fold_name(full_name) or found.birth_date != birth
    ):
        errors.append(
            error(
                "pin",
                "arrival.not_found",
                "Không có công dân với số định danh, họ tên và ngày sinh này: đối chiếu lại với thẻ căn cước",
                "No citizen has this PIN, full name and date of birth: check them against the identity card",
            )
        )
    if errors:
        raise DomainError(errors)
    assert found is not None
    return found


def _refuse_in_area(citizen: Citizen, *, user: User) -> None:
    """Under the citizen's lock: someone of the officer's area already, or dead, is not registered from a
    card. The officer has the record page and its residence form for the first."""
    if Citizen.objects.filter(citizen_scope(user), pk=citizen.pk).exists():
        raise DomainError(
            FieldError(
                "pin",
                "arrival.in_area",
                "Công dân đang ở trong địa bàn của bạn: đăng ký cư trú từ trang hồ sơ của công dân",
                "The citizen already lives in your area: register the residence from the citizen's "
                "record page",
                {"citizen_id": citizen.pk},
            )
        )
    if citizen.is_deceased:
        raise DomainError(_deceased("pin"))


def residence_arrival_register(
    *,
    actor: Actor,
    pin: str,
    full_name: str,
    birth_date: str,
    registered_on: date,
    address_detail: str = "",
    household_number: str = "",
    relation_to_head: str = "",
    reason: str,
    source_document: str,
    today: date | None = None,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
) -> Citizen:
    """Register the permanent residence, in the officer's commune, of a person who lives elsewhere.

    The officer types the PIN, the full name and the date of birth from the card. The record the PIN
    leads to (the kept one, for a PIN merged away) must have that folded name and that date of birth; an
    unknown PIN, another name or another date all get the one answer `arrival.not_found`, and the record
    compared is written to the access log as a check, matched or not.

    The person then joins a household of the commune (`household_number`, `relation_to_head`) or heads a
    new one at `address_detail`. As any move, the new permanent residence ends the old residence and the
    old household membership; a head who leaves others behind leaves that household without a head, which
    its commune settles (the household's page, "Change the head"): the move itself is not the old
    commune's to refuse. The record's area becomes the officer's commune."""
    today = today or timezone.localdate()
    user = actor.user
    commune = arrival_commune(user) if user is not None else None
    if user is None or commune is None:
        raise DomainError(
            error(
                "actor",
                "role.not_allowed",
                "Chỉ công an xã/phường/đặc khu (đơn vị hành chính hiện hành) nơi công dân chuyển đến đăng ký "
                "thường trú cho người chuyển đến",
                "Only the police of the (current) commune a citizen moves to registers the move",
            )
        )
    _require_source(reason=reason, source_document=source_document)
    pin, full_name = clean_text(pin), clean_text(full_name)
    address_detail, household_number = clean_text(address_detail), clean_text(household_number)
    relation_to_head = clean_text(relation_to_head)
    birth, card_errors = _card_identity(pin, full_name, clean_text(birth_date))
    errors, household = _arrival_input_errors(
        commune=commune,
        registered_on=registered_on,
        address_detail=address_detail,
        household_number=household_number,
        relation_to_head=relation_to_head,
        today=today,
    )
    errors = card_errors + errors
    citizen = _card_holder(
        user=user,
        pin=pin,
        full_name=full_name,
        birth=birth,
        errors=errors,
        channel=channel,
        purpose=ARRIVAL_CHECK_PURPOSE,
        detail=f"chuyển đến {commune.code}",
    )

    with transaction.atomic():
        # A merge that committed since the record was found refuses the arrival; the refusal names the
        # kept record only when it lies in the officer's area (the record found lies outside it).
        citizen_lock(citizen, reader=user)
        # The household joined and the one left, after the citizen, as the lock order asks: two people
        # crossing between the same two households queue instead of deadlocking.
        move_households_lock(citizen, household)
        _refuse_in_area(citizen, user=user)
        current = citizen.residences.filter(kind=Residence.Kind.PERMANENT, ended_on__isnull=True).first()
        if current is not None and registered_on < current.registered_on:
            # Without the date: anyone with a card's PIN, name and date of birth could read it here, and it
            # belongs to a record outside the officer's area. The person at the desk knows it.
            raise DomainError(
                error(
                    "registered_on",
                    "residence.overlap",
                    "Ngày đăng ký trước ngày đăng ký thường trú ở nơi cũ",
                    "The registration date is before that of the permanent residence the citizen leaves",
                )
            )
        opened = household is None
        if household is None:
            relation_to_head = Relation.HEAD
            # Numbers are allocated per commune, under the commune's row lock (see household_create).
            AdminUnit.objects.select_for_update().filter(pk=commune.pk).first()
            household = Household.objects.create(
                number=_next_household_number(commune),
                commune=commune,
                address_detail=address_detail,
                version=0,
            )
        else:
            relation_errors = _relation_errors(household, relation_to_head)
            if relation_errors:
                raise DomainError(relation_errors)
        # The residence at the household's address ends the old residence and the old membership, then makes
        # the new membership (one current household per citizen), before the record's one version of the move.
        residence_register(
            actor=actor,
            citizen=citizen,
            kind=Residence.Kind.PERMANENT,
            commune=commune,
            legacy_commune=household.legacy_commune,
            address_detail=household.address_detail,
            address_original=household.address_original,
            household=household,
            registered_on=registered_on,
            reason=reason,
            source_document=source_document,
            today=today,
            arrival=True,
            joins_as=relation_to_head,
        )
        _household_changed(
            actor=actor,
            household=household,
            event_type=EventType.HOUSEHOLD_CREATED if opened else EventType.HOUSEHOLD_MEMBER_ADDED,
            data={
                "number": household.number,
                "citizen_id": citizen.pk,
                "relation_to_head": relation_to_head,
                "arrival": True,
            },
            reason=reason,
            source_document=source_document,
        )
    return Citizen.objects.get(pk=citizen.pk)


def residence_stay_register(
    *,
    actor: Actor,
    pin: str,
    full_name: str,
    birth_date: str,
    address_detail: str,
    registered_on: date,
    expires_on: date | None,
    reason: str,
    source_document: str,
    today: date | None = None,
    channel: AccessLog.Channel = AccessLog.Channel.WEB,
) -> Residence:
    """Đăng ký tạm trú: the police of the commune a person comes to stay at register the stay, for at most
    two years (Luật Cư trú 2020, art. 27-28), from the card as for an arrival (`residence_arrival_register`):
    the PIN, with the card's name and date of birth, leads to the record wherever the person lives, and a
    mismatch gets the one answer `arrival.not_found`.

    The new stay ends a stay the person had elsewhere (one current temporary residence per person) and
    keeps the permanent residence, the household and any declared absence: the record stays with the
    commune of the permanent residence, and the officer sees the stay (`selectors.stay_get`). A person
    whose permanent residence is in the officer's area already is registered from the record page."""
    today = today or timezone.localdate()
    user = actor.user
    commune = arrival_commune(user) if user is not None else None
    if user is None or commune is None:
        raise DomainError(
            error(
                "actor",
                "role.not_allowed",
                "Chỉ công an xã/phường/đặc khu (đơn vị hành chính hiện hành) nơi công dân đến ở "
                "đăng ký tạm trú",
                "Only the police of the (current) commune a citizen comes to stay in registers the stay",
            )
        )
    _require_source(reason=reason, source_document=source_document)
    pin, full_name, address_detail = clean_text(pin), clean_text(full_name), clean_text(address_detail)
    birth, errors = _card_identity(pin, full_name, clean_text(birth_date))
    citizen = _card_holder(
        user=user,
        pin=pin,
        full_name=full_name,
        birth=birth,
        errors=errors,
        channel=channel,
        purpose=STAY_CHECK_PURPOSE,
        detail=f"tạm trú tại {commune.code}",
    )
    with transaction.atomic():
        citizen_lock(citizen, reader=user)
        _refuse_in_area(citizen, user=user)
        # The address, dates and the stay's own rules are residence_register's, as on the record page.
        return residence_register(
            actor=actor,
            citizen=citizen,
            kind=Residence.Kind.TEMPORARY,
            commune=commune,
            address_detail=address_detail,
            registered_on=registered_on,
            expires_on=expires_on,
            reason=reason,
            source_document=source_document,
            today=today,
            arrival=True,
        )


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
    if kind not in FamilyLink.Kind.values:
        raise DomainError(_family_kind_invalid())
    kind = FamilyLink.Kind(kind)
    with transaction.atomic():
        # Both records get a link (the relative's is the reciprocal one): both are locked, in id order.
        citizen_lock(citizen, *([relative] if relative is not None else []))
        errors: list[FieldError] = []
        if relative is not None:
            relative_name = relative.full_name
            relative_pin = relative.pin
            if relative.pk == citizen.pk:
                errors.append(
                    error(
                        "relative",
                        "family.self",
                        "Không thể là quan hệ với chính mình",
                        "Cannot link to self",
                    )
                )
        else:
            relative_name = normalize_name(relative_name)
            errors += name_errors(relative_name, field="relative_name")
        if kind in (FamilyLink.Kind.FATHER, FamilyLink.Kind.MOTHER):
            if citizen.family_links.filter(kind=kind).exists():
                errors.append(_parent_recorded())
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


# The relatives a record names one of at a time, whom a DC02 replaces; children are linked from their own
# records, and a person may have several.
REPLACEABLE_KINDS = frozenset(
    {
        FamilyLink.Kind.FATHER,
        FamilyLink.Kind.MOTHER,
        FamilyLink.Kind.SPOUSE,
        FamilyLink.Kind.LEGAL_REPRESENTATIVE,
    }
)


def family_link_replace(
    *,
    actor: Actor,
    citizen: Citizen,
    kind: FamilyLink.Kind | str,
    relative: Citizen | None = None,
    relative_name: str = "",
    relative_pin: str = "",
    reason: str,
    source_document: str,
) -> FamilyLink | None:
    """Name this relative as the citizen's father, mother, spouse or legal representative in place of
    whoever the record names now (a DC02's correction or update); returns the new link.

    The old links of that kind go, with the links back on the old relatives' records; the history of
    both records keeps them. With neither a record nor a name, the record is left with no relative of
    that kind (a divorce, a representative no longer needed). The new link is added as
    `family_link_add` adds it, with its rules.
    """
    _require_source(reason=reason, source_document=source_document)
    if kind not in REPLACEABLE_KINDS:
        raise DomainError(_family_kind_invalid())
    kind = FamilyLink.Kind(kind)
    with transaction.atomic():
        citizen_lock(citizen)
        old = list(citizen.family_links.filter(kind=kind).order_by("pk"))
        if len(old) == 1 and (
            old[0].relative_id == relative.pk
            if relative is not None
            else (old[0].relative_id, old[0].relative_name, old[0].relative_pin)
            == (None, normalize_name(relative_name), relative_pin)
        ):
            return old[0]  # already so: nothing to write
        if old:
            others = list(
                Citizen.objects.filter(pk__in=[link.relative_id for link in old if link.relative_id])
            )
            # A relative merged into another record since is still unlinked from the record that held the
            # link; the merge moved the rest of its links.
            citizen_lock(citizen, *others, allow_merged=True)
            FamilyLink.objects.filter(pk__in=[link.pk for link in old]).delete()
            FamilyLink.objects.filter(citizen__in=others, relative=citizen, kind=_RECIPROCAL[kind]).delete()
            event = audit_event_record(
                actor=actor,
                event_type=EventType.FAMILY_UNLINKED,
                subject_type="citizen",
                subject_id=citizen.pk,
                data={
                    "kind": kind,
                    "relatives": [
                        {"relative_id": link.relative_id, "relative_name": link.relative_name} for link in old
                    ],
                },
                reason=reason,
                source_document=source_document,
            )
            for record in (citizen, *others):
                _bump_citizen(
                    record, actor=actor, event=event, reason=reason, source_document=source_document
                )
        if relative is None and not relative_name.strip():
            return None
        return family_link_add(
            actor=actor,
            citizen=citizen,
            kind=kind,
            relative=relative,
            relative_name=relative_name,
            relative_pin=relative_pin,
            reason=reason,
            source_document=source_document,
        )


# --- Merging duplicate records ---------------------------------------------------------------------
#
# Two records of the same person ("sạch": one record per person) become one. The kept record stays with
# its PIN, the other is absorbed: its links move to the kept record, its PIN is cancelled in the ledger,
# and it stays in the database, marked merged, so its history remains readable and its PIN still leads
# to the person. Every row change is logged with its old and new values, so the merge can be undone
# exactly (docs/merging.md).

# Merging is a reviewer's decision: commune reviewers and supervisors; collectors propose, auditors read.
MERGE_ROLES = frozenset({User.Role.COMMUNE_REVIEWER, User.Role.SUPERVISOR, User.Role.MINISTRY_ADMIN})

# Conflicts that only an officer can settle, and what each choice says: "keep" the kept record's value,
# or take the "absorb"ed record's. A parent named differently on the two records can only be kept: the
# absorbed record's parent stays on it, and a wrong parent on the kept record is corrected by a form.
MERGE_CHOICES: dict[str, tuple[str, ...]] = {
    "permanent": ("keep", "absorb"),
    "temporary": ("keep", "absorb"),
    "current": ("keep", "absorb"),
    "old_id_number": ("keep", "absorb"),
    "father": ("keep",),
    "mother": ("keep",),
}

# Blank fields of the kept record filled from the absorbed one: what one source knew and the other did
# not (a phone number, a native place, a date of death). Filled values are logged and undone like moves.
_MERGE_FILL_FIELDS = (
    "other_names",
    "birth_place",
    "birth_place_unit_id",
    "native_place",
    "native_place_unit_id",
    "marital_status",
    "date_of_death",
    "missing_declared_on",
    "phone",
    "email",
)
_MERGE_MODELS: dict[str, type[Any]] = {
    "citizen": Citizen,
    "pin_record": PinRecord,
    "residence": Residence,
    "membership": HouseholdMember,
    "family_link": FamilyLink,
    "card": IdentityCardRecord,
    "absence": AbsenceDeclaration,
}
_CHIP_CARDS = (IdentityCardRecord.Kind.CCCD, IdentityCardRecord.Kind.CAN_CUOC)


def _row_state(obj: Any) -> dict[str, Any]:
    """Every stored value of a row, as the merge log keeps values."""
    return {
        f.attname: _plain(getattr(obj, f.attname)) for f in obj._meta.concrete_fields if not f.primary_key
    }


class _RowChanges:
    """Row updates written one at a time and logged with their old and new values, in order."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def seal(self) -> None:
        """Record, on the last change of each row the merge moved (every model but the citizens), the
        whole row as the merge left it: the undo refuses when anything of it changed since (a moved
        residence ended, a moved card replaced), not only the fields the merge wrote. A citizen's other
        fields are the record's own life and the undo does not write them."""
        last: dict[tuple[str, int], dict[str, Any]] = {}
        for entry in self.entries:
            if entry["model"] != "citizen":
                last[(entry["model"], entry["pk"])] = entry
        for (model, pk), entry in last.items():
            row = _MERGE_MODELS[model].objects.get(pk=pk)
            entry["after"] = _row_state(row)

    def write(self, obj: Any, **new: Any) -> None:
        label = next(name for name, model in _MERGE_MODELS.items() if isinstance(obj, model))
        old = {name: _plain(getattr(obj, name)) for name in new}
        type(obj).objects.filter(pk=obj.pk).update(**new)
        for name, value in new.items():
            setattr(obj, name, value)
        self.entries.append(
            {"model": label, "pk": obj.pk, "old": old, "new": {k: _plain(v) for k, v in new.items()}}
        )


def merge_pin_rule(first: Citizen, second: Citizen) -> tuple[Citizen, Citizen, str]:
    """Which of two records of one person keeps its PIN, and so is kept: (kept, absorbed, rule).

    1. "pin.on_card": a PIN printed on a chip card (CCCD or thẻ căn cước, whose number is the PIN) wins
       over one that is not: the citizen carries it, and the e-ID and partner systems know it.
    2. "pin.earliest": otherwise (both or neither on a card) the PIN issued first wins: it is the one
       other agencies have held longest. Equal times fall back to the record registered first.
    """

    # The records' rows are read through `.all()`, here and in the merge's other checks, so that a list
    # that prefetched them (matching.selectors.pair_queue: MERGE_PREFETCH) asks nothing more per pair.

    def on_card(citizen: Citizen) -> bool:
        return any(c.kind in _CHIP_CARDS and c.number == citizen.pin for c in citizen.card_records.all())

    first_card, second_card = on_card(first), on_card(second)
    if first_card != second_card:
        return (first, second, "pin.on_card") if first_card else (second, first, "pin.on_card")

    def issued(citizen: Citizen) -> Any:
        # A PIN's ledger row belongs to the record it was given to.
        return next((r.issued_at for r in citizen.pin_records.all() if r.pin == citizen.pin), None)

    def seniority(citizen: Citizen) -> tuple[Any, ...]:
        return (issued(citizen) or citizen.created_at, citizen.created_at, citizen.pk)

    ordered = sorted([first, second], key=seniority)
    return ordered[0], ordered[1], "pin.earliest"


def _same_place(a: Residence, b: Residence) -> bool:
    return a.commune_id == b.commune_id and fold(a.address_detail) == fold(b.address_detail)


def _merge_choice_errors(choices: dict[str, str]) -> list[FieldError]:
    errors = []
    for key, value in choices.items():
        allowed = MERGE_CHOICES.get(key)
        if allowed is None:
            # A choice the merge does not know (a client's typing error): said with the choices there
            # are, since an empty list of allowed values would tell the client nothing.
            known = ", ".join(MERGE_CHOICES)
            errors.append(
                error(
                    f"choices.{key}",
                    "merge.choice_invalid",
                    f"Không có lựa chọn hợp nhất «{key}»; các lựa chọn: {known}",
                    f"There is no merge choice '{key}'; the choices are: {known}",
                )
            )
        elif value not in allowed:
            errors.append(
                error(
                    f"choices.{key}",
                    "merge.choice_invalid",
                    f"Lựa chọn không hợp lệ; chỉ được: {', '.join(allowed)}",
                    f"Invalid choice; allowed: {', '.join(allowed)}",
                )
            )
    return errors


def _choice_needed(key: str, vi: str, en: str) -> FieldError:
    return error(f"choices.{key}", "merge.choice_required", vi, en)


def _bump_households(
    household_ids: set[int], *, actor: Actor, event: AuditEvent, reason: str, source_document: str
) -> None:
    for household in Household.objects.filter(pk__in=household_ids).order_by("pk"):
        _bump_household(household, actor=actor, event=event, reason=reason, source_document=source_document)


def _same_relative(a: FamilyLink, b: FamilyLink) -> bool:
    if a.relative_id is not None or b.relative_id is not None:
        return a.relative_id == b.relative_id
    return fold_name(a.relative_name) == fold_name(b.relative_name)


def _merge_refusals(keep: Citizen, absorb: Citizen, *, reader: User | None = None) -> list[FieldError]:
    """What makes two records impossible to merge, whatever the officer chooses."""
    # A merge itself is refused by citizen_lock; the review page lists the refusal with the others.
    errors = [
        _merged_away(citizen, reader=reader)
        for citizen in (keep, absorb)
        if citizen.merged_into_id is not None
    ]
    if keep.sex != absorb.sex:
        errors.append(
            error(
                "absorb",
                "merge.sex_differs",
                "Hai hồ sơ khác giới tính: không thể là một người",
                "The records differ in sex: they cannot be one person",
            )
        )
    if any(link.relative_id == absorb.pk for link in keep.family_links.all()) or any(
        link.relative_id == keep.pk for link in absorb.family_links.all()
    ):
        errors.append(
            error(
                "absorb",
                "merge.relatives",
                "Hai hồ sơ được ghi là người thân của nhau: không thể là một người",
                "The records are recorded as each other's relatives: they cannot be one person",
            )
        )
    # The cards app keeps its applications and cards on the record they were taken for. A card in the
    # making, or in use, on the absorbed record would carry the PIN the merge cancels: the cards
    # workflow settles it first (finish or reject the application, revoke or replace the card).
    from dancu.cards.models import Application, Card  # the cards app builds on the registry

    if any(a.status in Application.OPEN_STATUSES for a in absorb.card_applications.all()):
        errors.append(
            error(
                "absorb",
                "merge.card_application_open",
                "Hồ sơ bị hợp nhất đang có hồ sơ cấp thẻ chưa xong: hãy hoàn tất hoặc từ chối trước",
                "The absorbed record has a card application in progress: finish or reject it first",
            )
        )
    if any(card.state == Card.State.ACTIVE for card in absorb.cards.all()):
        errors.append(
            error(
                "absorb",
                "merge.active_card",
                "Hồ sơ bị hợp nhất có thẻ căn cước đang sử dụng: hãy thu hồi hoặc thay thẻ trước",
                "The absorbed record has an identity card in use: revoke or replace it first",
            )
        )
    if not errors:
        winner, _, rule = merge_pin_rule(keep, absorb)
        if winner.pk != keep.pk:
            errors.append(
                error(
                    "keep",
                    "merge.pin_rule",
                    f"Phải giữ hồ sơ có số định danh {winner.pin} ({_PIN_RULE_VI[rule]})",
                    f"The record with PIN {winner.pin} must be kept ({_PIN_RULE_EN[rule]})",
                )
            )
    return errors


_PIN_RULE_VI = {
    "pin.on_card": "số định danh đã in trên thẻ căn cước",
    "pin.earliest": "số định danh được cấp sớm nhất",
}
_PIN_RULE_EN = {
    "pin.on_card": "the PIN printed on an identity card",
    "pin.earliest": "the PIN issued first",
}


# What the merge's checks read of each record, for a list that shows many pairs' verdicts at once
# (prefetch_related_objects on its citizens): the checks read these through `.all()`.
MERGE_PREFETCH = (
    "card_records",
    "pin_records",
    "family_links",
    "card_applications",
    "cards",
    "residences",
    "household_memberships__household__memberships",
)


def _current_residences(citizen: Citizen) -> dict[str, Residence]:
    """The citizen's current residences by kind (one of each kind at most)."""
    return {r.kind: r for r in citizen.residences.all() if r.ended_on is None}


def _current_membership(citizen: Citizen) -> HouseholdMember | None:
    current = [m for m in citizen.household_memberships.all() if m.left_on is None]
    return min(current, key=lambda m: m.pk, default=None)


def _first_link(citizen: Citizen, kind: str) -> FamilyLink | None:
    return min(
        (link for link in citizen.family_links.all() if link.kind == kind),
        key=lambda found: found.pk,
        default=None,
    )


@dataclass
class _HouseholdPlan:
    winner: HouseholdMember | None
    loser: HouseholdMember | None
    errors: list[FieldError]


def _merge_household_plan(keep: Citizen, absorb: Citizen, *, permanent_choice: str) -> _HouseholdPlan:
    """Which current household membership stays: the one of the side whose permanent residence stays
    (a household is registered at a permanent residence); the other one ends."""
    kept_m, absorbed_m = _current_membership(keep), _current_membership(absorb)

    def refuse(problem: FieldError) -> _HouseholdPlan:
        return _HouseholdPlan(winner=None, loser=None, errors=[problem])

    if kept_m is not None and absorbed_m is not None:
        if kept_m.household_id == absorbed_m.household_id:
            if absorbed_m.relation_to_head == Relation.HEAD:
                return refuse(
                    error(
                        "household",
                        "merge.absorbed_is_head",
                        "Hồ sơ bị hợp nhất là chủ hộ của hộ có hồ sơ được giữ: hãy đổi chủ hộ sang "
                        "hồ sơ được giữ trước",
                        "The absorbed record heads the household of the kept record: make the kept record "
                        "the head first",
                    )
                )
            return _HouseholdPlan(winner=kept_m, loser=absorbed_m, errors=[])
        if kept_m.relation_to_head == Relation.HEAD and absorbed_m.relation_to_head == Relation.HEAD:
            return refuse(
                error(
                    "household",
                    "merge.both_heads",
                    "Cả hai hồ sơ là chủ hộ của hai hộ khác nhau: hãy đổi chủ hộ của một hộ trước",
                    "Both records head different households: change the head of one household first",
                )
            )
    follow_absorbed = permanent_choice == "absorb"
    if kept_m is None and absorbed_m is not None and not follow_absorbed:
        # Both records registered at the same address: the household registered there comes along.
        ours = _current_residences(keep).get("permanent")
        theirs = _current_residences(absorb).get("permanent")
        follow_absorbed = ours is not None and theirs is not None and _same_place(ours, theirs)
    winner, loser = (absorbed_m, kept_m) if follow_absorbed else (kept_m, absorbed_m)
    if loser is not None and loser.relation_to_head == Relation.HEAD:
        others = [m for m in loser.household.memberships.all() if m.left_on is None and m.pk != loser.pk]
        if others:
            return refuse(
                error(
                    "household",
                    "household.head_leaving",
                    "Chủ hộ sẽ rời hộ khi hợp nhất: hãy thay đổi chủ hộ trước hoặc chọn giữ nơi thường trú "
                    "của hộ",
                    "The head would leave the household in the merge: change the head first or keep the "
                    "household's permanent residence",
                )
            )
    return _HouseholdPlan(winner=winner, loser=loser, errors=[])


_RESIDENCE_KINDS = (
    ("permanent", "thường trú", "permanent"),
    ("temporary", "tạm trú", "temporary"),
    ("current", "nơi ở hiện tại", "current"),
)


def _merge_choice_needs(keep: Citizen, absorb: Citizen, *, choices: dict[str, str]) -> list[FieldError]:
    """The conflicts an officer must settle before the merge, each naming its choice."""
    errors = []
    kept_current, absorbed_current = _current_residences(keep), _current_residences(absorb)
    for kind, label_vi, label_en in _RESIDENCE_KINDS:
        ours, theirs = kept_current.get(kind), absorbed_current.get(kind)
        if ours and theirs and not _same_place(ours, theirs) and kind not in choices:
            errors.append(
                _choice_needed(
                    kind,
                    f"Hai hồ sơ có nơi {label_vi} khác nhau: chọn nơi giữ lại",
                    f"The records have different {label_en} residences: choose the one to keep",
                )
            )
    cmnd_differs = keep.old_id_number and absorb.old_id_number and keep.old_id_number != absorb.old_id_number
    if cmnd_differs and "old_id_number" not in choices:
        errors.append(
            _choice_needed(
                "old_id_number",
                "Hai hồ sơ có số CMND khác nhau: chọn số giữ lại",
                "The records have different old ID (CMND) numbers: choose the one to keep",
            )
        )
    for kind in (FamilyLink.Kind.FATHER, FamilyLink.Kind.MOTHER):
        ours_link = _first_link(keep, kind)
        theirs_link = _first_link(absorb, kind)
        if ours_link and theirs_link and not _same_relative(ours_link, theirs_link) and kind not in choices:
            errors.append(
                _choice_needed(
                    kind,
                    "Hai hồ sơ ghi cha/mẹ khác nhau: xác nhận giữ cha/mẹ của hồ sơ được giữ",
                    "The records name different parents: confirm keeping the kept record's parent",
                )
            )
    return errors


def merge_conflicts(*, keep: Citizen, absorb: Citizen, reader: User | None = None) -> list[FieldError]:
    """Everything that stands in the way of merging the two records without choices (read-only): what a
    review page shows `reader` before the officer decides."""
    errors = _merge_refusals(keep, absorb, reader=reader)
    if errors:
        return errors
    errors = _merge_choice_needs(keep, absorb, choices={})
    plan = _merge_household_plan(keep, absorb, permanent_choice="keep")
    permanent = next((e for e in errors if e.field == "choices.permanent"), None)
    settled_by_choice = (
        plan.errors
        and permanent is not None
        and not _merge_household_plan(keep, absorb, permanent_choice="absorb").errors
    )
    if settled_by_choice and permanent is not None:
        # Keeping the other permanent residence settles it: not a bar to the merge but what one answer
        # to the choice asks first, said with the choice instead of as "cannot merge".
        errors[errors.index(permanent)] = FieldError(
            permanent.field,
            permanent.code,
            f"{permanent.message_vi}. Giữ nơi thường trú của hồ sơ được giữ thì: "
            + "; ".join(e.message_vi for e in plan.errors),
            f"{permanent.message_en}. To keep the kept record's permanent residence: "
            + "; ".join(e.message_en for e in plan.errors),
        )
        return errors
    return errors + plan.errors


def citizen_merge(
    *,
    actor: Actor,
    keep: Citizen,
    absorb: Citizen,
    reason: str,
    source_document: str,
    choices: dict[str, str] | None = None,
    origin: str = "",
    today: date | None = None,
) -> CitizenMerge:
    """Make two records of one person one: `keep` stays with its PIN, `absorb` is merged into it.

    Refused (nothing written) when the two cannot be one person (different sex, recorded as each other's
    relatives), when `keep` is not the record whose PIN must stay (merge_pin_rule), when either is
    already merged, when the merge would leave a household without its head, and when a conflict needs
    an officer's choice that was not given (`choices`, see MERGE_CHOICES).
    """
    today = today or timezone.localdate()
    choices = dict(choices or {})
    _require_source(reason=reason, source_document=source_document)
    errors = _merge_choice_errors(choices)
    if actor.user is not None and actor.user.role not in MERGE_ROLES:
        errors.append(
            error(
                "actor",
                "role.not_allowed",
                "Chỉ cán bộ kiểm tra cấp xã hoặc cán bộ phúc tra được hợp nhất hồ sơ",
                "Only commune reviewers and supervisors may merge records",
            )
        )
    if keep.pk == absorb.pk:
        errors.append(
            error("absorb", "merge.same_record", "Hai hồ sơ là một", "The two records are the same record")
        )
    if errors:
        raise DomainError(errors)
    with transaction.atomic():
        if actor.user is not None:
            # Before the lock, whose refusal of a merged record names the record it went into.
            visible = Citizen.objects.filter(citizen_scope(actor.user), pk__in=[keep.pk, absorb.pk])
            if visible.count() != 2:
                raise NotFoundError("citizen")
        # Both rows, in id order (see the lock order at citizen_lock): two merges of overlapping records
        # wait for each other instead of deadlocking, and so do a merge and a write to either record.
        citizen_lock(keep, absorb, reader=actor.user)
        errors = _merge_refusals(keep, absorb, reader=actor.user)
        if errors:
            raise DomainError(errors)
        errors = _merge_choice_needs(keep, absorb, choices=choices)
        if errors:
            # The household rules depend on these choices: they are checked once the choices are made.
            raise DomainError(errors)
        kept_current = {r.kind: r for r in keep.residences.filter(ended_on__isnull=True)}
        absorbed_current = {r.kind: r for r in absorb.residences.filter(ended_on__isnull=True)}
        # Without a permanent residence of its own, the kept record takes the absorbed one's (and its
        # household): nothing to choose.
        permanent_choice = choices.get("permanent", "keep" if "permanent" in kept_current else "absorb")
        plan = _merge_household_plan(keep, absorb, permanent_choice=permanent_choice)
        if plan.errors:
            raise DomainError(plan.errors)
        _, _, pin_rule = merge_pin_rule(keep, absorb)
        changes = _RowChanges()
        summary: dict[str, dict[str, int]] = {"moved": {}, "left_on_absorbed": {}}

        def count(bucket: str, key: str) -> None:
            summary[bucket][key] = summary[bucket].get(key, 0) + 1

        end_reason = f"Hợp nhất vào hồ sơ {keep.pin} (merged into {keep.pin})"[:200]

        # Residences: all move to the kept record. Of two current ones of a kind, the kept record's stays
        # current unless the officer chose the absorbed one (the same place twice needs no choice); the
        # other is ended, so no list counts the person twice, and stays in the history.
        for kind, theirs in absorbed_current.items():
            ours = kept_current.get(kind)
            take_theirs = ours is None or (not _same_place(ours, theirs) and choices.get(kind) == "absorb")
            if take_theirs:
                if ours is not None:
                    changes.write(ours, ended_on=max(today, ours.registered_on), end_reason=end_reason)
                    count("moved", "residences_ended")
                changes.write(theirs, citizen_id=keep.pk)
                count("moved", "residences")
            else:
                changes.write(
                    theirs,
                    ended_on=max(today, theirs.registered_on),
                    end_reason=end_reason,
                    citizen_id=keep.pk,
                )
                count("moved", "residences_ended")
        moved_current = {r.pk for r in absorbed_current.values()}
        for past in absorb.residences.filter(ended_on__isnull=False).exclude(pk__in=moved_current):
            changes.write(past, citizen_id=keep.pk)
            count("moved", "residences")

        # Household: the membership that stays follows the permanent residence that stays; the other ends.
        households: set[int] = set()
        if plan.loser is not None:
            changes.write(plan.loser, left_on=max(today, plan.loser.joined_on))
            households.add(plan.loser.household_id)
        if plan.winner is not None and plan.winner.citizen_id != keep.pk:
            changes.write(plan.winner, citizen_id=keep.pk)
            households.add(plan.winner.household_id)
            count("moved", "households")
        for former in absorb.household_memberships.filter(left_on__isnull=False).order_by("pk"):
            if plan.loser is None or former.pk != plan.loser.pk:
                changes.write(former, citizen_id=keep.pk)
                count("moved", "past_households")

        # Family links of the absorbed record move unless the kept record has the same one already, or
        # names another parent (the officer confirmed the kept record's); those stay on the absorbed one.
        for link in absorb.family_links.order_by("pk"):
            same_kind = list(keep.family_links.filter(kind=link.kind))
            if any(_same_relative(link, other) for other in same_kind) or (
                link.kind in ("father", "mother") and same_kind
            ):
                count("left_on_absorbed", "family_links")
                continue
            changes.write(link, citizen_id=keep.pk)
            count("moved", "family_links")
        # Other people's links to the absorbed record now point at the kept one.
        for link in FamilyLink.objects.filter(relative=absorb).order_by("pk"):
            if FamilyLink.objects.filter(citizen_id=link.citizen_id, kind=link.kind, relative=keep).exists():
                count("left_on_absorbed", "links_to_record")
                continue
            changes.write(link, relative_id=keep.pk, relative_pin=keep.pin)
            count("moved", "links_to_record")

        for card in absorb.card_records.order_by("pk"):
            changes.write(card, citizen_id=keep.pk)
            count("moved", "cards")
        # A person's declared absences never overlap (absence_declare). A declaration of the absorbed record
        # whose period meets one of the kept record's is most often the same absence declared twice: it
        # stays on the absorbed record, with its history, as a family link the kept record has already
        # does. Moved, it would show the person away twice and make each of the two uncorrectable.
        # A withdrawn declaration, on either record, is history that clashes with nothing: it moves.
        kept_absences = list(keep.absences.filter(withdrawn_on__isnull=True))
        for absence in absorb.absences.order_by("pk"):
            if absence.withdrawn_on is None and any(
                other.starts_on <= absence.last_day and absence.starts_on <= other.last_day
                for other in kept_absences
            ):
                count("left_on_absorbed", "absences")
                continue
            changes.write(absence, citizen_id=keep.pk)
            count("moved", "absences")

        # The old CMND: unique across the registry, so it leaves one record before it reaches the other.
        # A CMND the officer did not keep stays on the absorbed record.
        if absorb.old_id_number and (not keep.old_id_number or choices.get("old_id_number") == "absorb"):
            number, previous = absorb.old_id_number, keep.old_id_number
            changes.write(absorb, old_id_number=None)
            if previous:
                changes.write(keep, old_id_number=None)
                changes.write(absorb, old_id_number=previous)
            changes.write(keep, old_id_number=number)
            count("moved", "old_id_number")

        filled = {
            name: getattr(absorb, name)
            for name in _MERGE_FILL_FIELDS
            if getattr(keep, name) in (None, "") and getattr(absorb, name) not in (None, "")
        }
        if not keep.blood_type and absorb.blood_type:
            filled.update(blood_type=absorb.blood_type, blood_type_source=absorb.blood_type_source)
        if filled:
            changes.write(keep, **filled)
            summary["filled"] = {name.removesuffix("_id"): 1 for name in filled}

        # The absorbed PIN is cancelled, never reused, and points at the PIN that stayed.
        kept_pin = PinRecord.objects.get(pin=keep.pin)
        absorbed_pin = PinRecord.objects.select_for_update().get(pin=absorb.pin)
        changes.write(
            absorbed_pin, cancelled_at=timezone.now(), cancel_reason=end_reason, merged_into_id=kept_pin.pk
        )
        changes.write(absorb, merged_into_id=keep.pk)

        # The absorbed record keeps the area of its last residence (as the deceased do): officers of that
        # area can still reach it, and its merge, by its PIN.
        _refresh_area(keep)
        changes.seal()
        merge = CitizenMerge.objects.create(
            kept=keep,
            absorbed=absorb,
            pin_rule=pin_rule,
            choices=choices,
            changes=changes.entries,
            summary=summary,
            origin=origin,
            reason=reason,
            source_document=source_document,
            merged_by=actor.user,
            merged_label=actor.label,
            merged_at=timezone.now(),
        )
        event = audit_event_record(
            actor=actor,
            event_type=EventType.CITIZEN_MERGED,
            subject_type="citizen",
            subject_id=keep.pk,
            data={
                "merge_id": merge.pk,
                "kept_id": keep.pk,
                "kept_pin": keep.pin,
                "absorbed_id": absorb.pk,
                "absorbed_pin": absorb.pin,
                "pin_rule": pin_rule,
                "choices": choices,
                "summary": summary,
                "origin": origin,
            },
            reason=reason,
            source_document=source_document,
            unit=keep.area_commune,
        )
        for citizen in (keep, absorb):
            _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document=source_document)
        _bump_households(households, actor=actor, event=event, reason=reason, source_document=source_document)
        # The quality scorecard drops the absorbed record and judges the kept one anew as soon as the merge
        # commits, rather than at the next pass over what changed: an officer who merges two records sees
        # the commune's figures move with it.
        from dancu.collection.quality.services import (  # the collection app builds on the registry
            quality_records_refresh_on_commit,
        )

        quality_records_refresh_on_commit(citizen_ids=[keep.pk, absorb.pk])
        if "date_of_death" in filled and keep.date_of_death is not None:
            # A death reaching the record through a merge is a death recorded, as through citizen_update:
            # its own event (what the counts of deaths read), and the kept record's cards end with it
            # (Luật Căn cước 2023 art. 29). An undo of the merge takes the date back; a revoked card is
            # not brought back, as after any revocation: the citizen applies again.
            audit_event_record(
                actor=actor,
                event_type=EventType.CITIZEN_DECEASED,
                subject_type="citizen",
                subject_id=keep.pk,
                data={
                    "changes": {"date_of_death": {"old": None, "new": _plain(keep.date_of_death)}},
                    "merge_id": merge.pk,
                    "from_pin": absorb.pin,
                },
                reason=reason,
                source_document=source_document,
                unit=keep.area_commune,
            )
            from dancu.cards.services import cards_end_for_death  # the cards app builds on the registry

            cards_end_for_death(actor=actor, citizen=keep)
    return merge


def _current_values(entry: dict[str, Any]) -> dict[str, Any] | None:
    model = _MERGE_MODELS[entry["model"]]
    row = model.objects.filter(pk=entry["pk"]).first()
    if row is None:
        return None
    return {name: _plain(getattr(row, name)) for name in entry["new"]}


def citizen_merge_undo(*, actor: Actor, merge: CitizenMerge, reason: str) -> CitizenMerge:
    """Put back exactly what the merge changed, in reverse order.

    Refused when the kept record was itself merged since, or when a value the merge wrote has changed
    since (a moved residence ended, a moved card replaced, a filled phone corrected...): undoing would
    overwrite that later change. The error names each such value. A later change the undo would
    contradict elsewhere (a new current residence where the merge ended one) is refused by the
    database's own rules and reported the same way.
    """
    _require_source(reason=reason, source_document="")
    if actor.user is not None and actor.user.role not in MERGE_ROLES:
        raise DomainError(
            error(
                "actor",
                "role.not_allowed",
                "Chỉ cán bộ kiểm tra cấp xã hoặc cán bộ phúc tra được huỷ hợp nhất",
                "Only commune reviewers and supervisors may undo a merge",
            )
        )
    with transaction.atomic():
        merge = CitizenMerge.objects.select_for_update().get(pk=merge.pk)
        keep, absorb = merge.kept, merge.absorbed
        # The absorbed record is merged away by definition: the undo is the one write it takes.
        citizen_lock(keep, absorb, allow_merged=True)
        if (
            actor.user is not None
            and not Citizen.objects.filter(citizen_scope(actor.user), pk=keep.pk).exists()
        ):
            raise NotFoundError("citizen")
        if merge.undone_at is not None:
            raise DomainError(
                error(
                    "merge",
                    "merge.already_undone",
                    "Hợp nhất này đã được huỷ",
                    "This merge was already undone",
                )
            )
        if keep.merged_into_id is not None:
            raise DomainError(
                error(
                    "merge",
                    "merge.kept_merged_since",
                    "Hồ sơ được giữ đã được hợp nhất vào hồ sơ khác: hãy huỷ lần hợp nhất đó trước",
                    "The kept record was merged into another since: undo that merge first",
                )
            )
        # The last value the merge wrote to each (row, field) must still be there.
        final: dict[tuple[str, int, str], Any] = {}
        for entry in merge.changes:
            for name, value in entry["new"].items():
                final[(entry["model"], entry["pk"], name)] = value
        changed_since = []
        for (model, pk, name), value in final.items():
            current = _current_values({"model": model, "pk": pk, "new": {name: value}})
            if current is None or current[name] != value:
                changed_since.append(f"{model} #{pk}: {name}")
        # A row the merge moved must be as the merge left it, whole (merges logged before rows were
        # sealed carry no "after", and are checked on the fields written alone).
        for entry in merge.changes:
            if "after" not in entry:
                continue
            row = _MERGE_MODELS[entry["model"]].objects.filter(pk=entry["pk"]).first()
            now = _row_state(row) if row is not None else {}
            for name, value in entry["after"].items():
                label = f"{entry['model']} #{entry['pk']}: {name}"
                if now.get(name) != value and label not in changed_since:
                    changed_since.append(label)
        if changed_since:
            listed = ", ".join(changed_since[:10])
            raise DomainError(
                error(
                    "merge",
                    "merge.changed_since",
                    f"Không thể huỷ: dữ liệu đã thay đổi sau khi hợp nhất ({listed})",
                    f"Cannot undo: data changed after the merge ({listed})",
                )
            )
        households: set[int] = set()
        try:
            with transaction.atomic():
                for entry in reversed(merge.changes):
                    rows_of = _MERGE_MODELS[entry["model"]].objects
                    rows_of.filter(pk=entry["pk"]).update(**entry["old"])
                    if entry["model"] == "membership":
                        households.add(rows_of.values_list("household_id", flat=True).get(pk=entry["pk"]))
        except IntegrityError:
            raise DomainError(
                error(
                    "merge",
                    "merge.undo_conflict",
                    "Không thể huỷ: dữ liệu cần khôi phục trùng với dữ liệu ghi sau khi hợp nhất (nơi cư "
                    "trú, hộ hoặc số CMND mới của hồ sơ được giữ, chủ hộ mới của hộ mà hồ sơ bị hợp nhất đã "
                    "rời)",
                    "Cannot undo: what would be restored clashes with what was recorded since the merge (a "
                    "new residence, household or CMND of the kept record, a new head of the household the "
                    "absorbed record left)",
                )
            ) from None
        keep.refresh_from_db()
        absorb.refresh_from_db()
        _refresh_area(keep)
        _refresh_area(absorb)
        merge.undone_at = timezone.now()
        merge.undone_by = actor.user
        merge.undone_label = actor.label
        merge.undo_reason = reason
        merge.save(update_fields=["undone_at", "undone_by", "undone_label", "undo_reason"])
        event = audit_event_record(
            actor=actor,
            event_type=EventType.CITIZEN_MERGE_UNDONE,
            subject_type="citizen",
            subject_id=keep.pk,
            data={
                "merge_id": merge.pk,
                "kept_id": keep.pk,
                "absorbed_id": absorb.pk,
                "restored": len(merge.changes),
            },
            reason=reason,
            unit=keep.area_commune,
        )
        for citizen in (keep, absorb):
            _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document="")
        _bump_households(households, actor=actor, event=event, reason=reason, source_document="")
        # Both records count again on the scorecard, judged as the undo left them, once it commits.
        from dancu.collection.quality.services import (  # the collection app builds on the registry
            quality_records_refresh_on_commit,
        )

        quality_records_refresh_on_commit(citizen_ids=[keep.pk, absorb.pk])
    return merge


def identity_card_record_add(
    *,
    actor: Actor,
    citizen: Citizen,
    event: AuditEvent,
    kind: str,
    number: str,
    issued_on: date,
    issued_by: str,
    expires_on: date | None,
    reason: str,
    source_document: str,
) -> IdentityCardRecord:
    """Record a card handed to the citizen (art. 9: date, place, expiry) as part of the caller's change.

    Called by the cards app inside the transaction of the delivery, whose audit event `event` is; the
    citizen's next version cites it, so the record's history says when and by whom the card was given.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("a card is recorded inside the transaction of its delivery")
    citizen_lock(citizen)
    record = IdentityCardRecord.objects.create(
        citizen=citizen,
        kind=kind,
        number=number,
        issued_on=issued_on,
        issued_by=issued_by,
        expires_on=expires_on,
    )
    _bump_citizen(citizen, actor=actor, event=event, reason=reason, source_document=source_document)
    return record
