"""Loading a generated population into the database fast: COPY on PostgreSQL, multi-row inserts on SQLite.

Also the database side of generation: `placement_choices` reads where households may live.

The services write one citizen at a time with every check and an audit event each; a million generated
people that way would take hours. This loader writes the same rows (citizens, the PIN ledger,
households, memberships, family links, residences, card records and the first RecordVersion of every
citizen and household) in batches of whole households:

- One transaction per batch, with one POPULATION_GENERATED audit event, so that a crash loses at most
  the batch being written and never leaves half a household.
- Primary keys are assigned here, from a range reserved under a table lock, so that family links,
  memberships and versions can point at rows of the same batch without reading anything back.
- PINs and CMND numbers are checked against those already in the database (the PIN ledger never
  reuses a number) and the few clashes are drawn again before anything is written.
- History snapshots come from `registry.history`, fed with the in-memory values, so they have exactly
  the shape the services write.
"""

from __future__ import annotations

import itertools
import operator
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any, cast

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from dancu.audit.models import EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.geo.models import AdminUnit, UnitSuccession
from dancu.lib.errors import DomainError, FieldError
from dancu.lib.jsontext import json_text
from dancu.lib.pgcopy import copy_rows
from dancu.lib.vntext import fold, fold_name
from dancu.registry.generator import (
    MERGER_DATE,
    CommuneChoice,
    FamilyLinkRecord,
    HouseholdRecord,
    PersonRecord,
)
from dancu.registry.history import citizen_snapshot, household_snapshot
from dancu.registry.models import (
    Citizen,
    FamilyLink,
    Household,
    HouseholdMember,
    IdentityCardRecord,
    PinRecord,
    RecordVersion,
    Residence,
)

DEFAULT_BATCH_SIZE = 10_000
# A batch of generated people is held in memory whole, with every row of every table it writes, until it
# commits: about 9 KB a person (measured on SQLite: 60,000 people in one batch peaked at 680 MB, against
# 150 MB in batches of 1,000), while batches past 20,000 gain a few per cent of speed at most. 50,000 (about
# 450 MB) leaves room to experiment and refuses a typo (a zero too many) before it fills the memory.
MAX_BATCH_SIZE = 50_000
REASON = "Sinh dân cư tổng hợp để trình diễn và kiểm thử (synthetic population for demos and tests)"
DEATH_END_REASON = "Đã chết: xoá đăng ký thường trú (deceased: permanent residence deleted)"
# Enum values looked up once: an enum member's `.value` costs a descriptor call, a million times over.
_PERMANENT: str = Residence.Kind.PERMANENT.value
_TEMPORARY: str = Residence.Kind.TEMPORARY.value
_CMND: str = IdentityCardRecord.Kind.CMND.value
_CITIZEN: str = RecordVersion.Entity.CITIZEN.value
_HOUSEHOLD: str = RecordVersion.Entity.HOUSEHOLD.value
# Query parameters per statement when looking numbers up; below SQLite's historic limit of 999.
_LOOKUP_CHUNK = 900


@dataclass
class LoadStats:
    people: int = 0
    households: int = 0
    batches: int = 0
    seconds: float = 0.0
    # Numbers drawn again because the database already held them (from an earlier run or elsewhere).
    pins_redrawn: int = 0
    cmnd_redrawn: int = 0

    @property
    def people_per_second(self) -> float:
        return self.people / self.seconds if self.seconds > 0 else 0.0


# Tables -------------------------------------------------------------------------------------------------


class _Table:
    """The columns of one model in a fixed order: those the loader fills, then defaults for the rest.

    Filling every column explicitly is required (COPY and raw inserts bypass Django's defaults); taking
    the remaining ones from the model means a field added later with a default keeps the loader working,
    and one added without a default stops it with a clear message instead of a NOT NULL error.
    """

    def __init__(self, model: type[models.Model], fields_filled: str) -> None:
        attnames = fields_filled.split()
        self.model = model
        self.name = model._meta.db_table
        fields = {f.attname: f for f in model._meta.concrete_fields}
        unknown = [name for name in attnames if name not in fields]
        if unknown:
            raise ImproperlyConfigured(f"{model.__name__} has no field(s) {', '.join(unknown)}")
        extra = [f for f in model._meta.concrete_fields if f.attname not in attnames and f.attname != "id"]
        defaults = []
        for extra_field in extra:
            # A field that may be left blank gets what the ORM would store ("" or NULL).
            if not extra_field.has_default() and not extra_field.null and not extra_field.blank:
                raise ImproperlyConfigured(
                    f"the population loader does not fill {model.__name__}.{extra_field.name}, which has "
                    "no default: add it to registry/bulk.py"
                )
            defaults.append(extra_field.get_db_prep_save(extra_field.get_default(), connection))
        self.columns: list[str] = ["id", *(str(fields[name].column) for name in attnames)]
        self.columns += [str(f.column) for f in extra]
        self.defaults = tuple(defaults)
        self.rows: list[tuple[Any, ...]] = []

    def add(self, *values: Any) -> None:
        self.rows.append((*values, *self.defaults))


def _tables() -> dict[str, _Table]:
    # Field attnames, separated by spaces, in the order `_Loader._rows` passes the values.
    return {
        "citizen": _Table(
            Citizen,
            "pin full_name name_key other_names birth_date sex birth_place birth_place_unit_id "
            "birth_registration_place native_place native_place_unit_id ethnicity religion nationality "
            "blood_type blood_type_source old_id_number marital_status date_of_death missing_declared_on "
            "phone email area_commune_id area_province_id area_legacy_commune_id version created_at "
            "updated_at",
        ),
        "pin": _Table(PinRecord, "pin citizen_id issued_at cancelled_at cancel_reason replaced_by_id"),
        "household": _Table(
            Household,
            "number commune_id legacy_commune_id address_detail address_original version created_at",
        ),
        "member": _Table(HouseholdMember, "household_id citizen_id relation_to_head joined_on left_on"),
        "link": _Table(
            FamilyLink,
            "citizen_id kind relative_id relative_name relative_pin relative_old_id relative_nationality "
            "since until",
        ),
        "residence": _Table(
            Residence,
            "citizen_id kind commune_id legacy_commune_id address_detail address_original household_id "
            "registered_on expires_on ended_on end_reason version address_key",
        ),
        "card": _Table(IdentityCardRecord, "citizen_id kind number issued_on issued_by expires_on"),
        "version": _Table(
            RecordVersion,
            "entity entity_id version recorded_at actor_id actor_label event_id reason source_document "
            "snapshot",
        ),
    }


# The order rows are written in: referenced tables first, so that even non-deferred foreign keys hold.
WRITE_ORDER = ("citizen", "pin", "household", "member", "link", "residence", "card", "version")

# Columns that say when, by whom and under which audit event a row was written, rather than anything
# about the person: a population package (registry/package.py) leaves them out, and the load that
# writes its rows fills them in with its own time, actor and event.
STAMP_COLUMNS: dict[str, tuple[str, ...]] = {
    "citizen": ("created_at", "updated_at"),
    "pin": ("issued_at",),
    "household": ("created_at",),
    "version": ("recorded_at", "actor_id", "actor_label", "event_id", "reason"),
}


# Database specifics ---------------------------------------------------------------------------------------


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _reserve_ids(tables: dict[str, _Table], counts: dict[str, int]) -> dict[str, int]:
    """Reserve `counts[key]` consecutive ids in each table; returns the id before each range.

    Runs inside the batch's transaction. On PostgreSQL the tables are locked against concurrent writers
    (readers go on) until the batch commits, and each sequence is moved past the range, so that rows
    inserted later through the ORM take ids after ours. SQLite's IMMEDIATE transactions already hold the
    database's write lock; AUTOINCREMENT's counter (sqlite_sequence) follows the explicit ids by itself,
    and is read too so that ids of deleted rows are not given again.
    """
    bases: dict[str, int] = {}
    with connection.cursor() as cursor:
        if _is_postgresql():
            names = ", ".join(connection.ops.quote_name(tables[key].name) for key in WRITE_ORDER)
            cursor.execute(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
        for key in WRITE_ORDER:
            table = connection.ops.quote_name(tables[key].name)
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - names from the models
            base = int(cursor.fetchone()[0])
            if _is_postgresql():
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [tables[key].name])
                sequence = cursor.fetchone()[0]
                cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608 - from the catalog
                last_value, is_called = cursor.fetchone()
                base = max(base, int(last_value) if is_called else int(last_value) - 1)
                if counts[key]:
                    cursor.execute("SELECT setval(%s, %s)", [sequence, base + counts[key]])
            else:
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [tables[key].name])
                row = cursor.fetchone()
                base = max(base, int(row[0]) if row else 0)
            bases[key] = base
    return bases


def _write(table: _Table) -> None:
    if not table.rows:
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in table.columns)
    with connection.cursor() as cursor:
        if _is_postgresql():
            # COPY streams the rows in one statement: several times faster than any INSERT. The text is
            # built here rather than row by row through psycopg's adapters, which cost more than the rest
            # of the loader's Python, and sent in chunks: the server ingests one chunk (its CPU) while
            # this process formats the next (this one's).
            copy_rows(cursor.cursor, quote(table.name), columns, table.rows)
        else:
            placeholders = ", ".join(["%s"] * len(table.columns))
            cursor.executemany(
                f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({placeholders})",  # noqa: S608 - names from the models
                table.rows,
            )
    table.rows.clear()


def _may_switch_off_row_triggers() -> bool:
    """Whether the foreign keys of a batch can be checked once per batch instead of once per row.

    PostgreSQL checks each foreign key of each inserted row with a trigger that runs a query and locks
    the referenced row: about half of the server's work in a load (~80 µs of ~160 µs per citizen
    measured). A session allowed to set `session_replication_role` (a superuser, or a role granted it)
    can skip those triggers for its own inserts; `_check_references` then checks the whole batch with
    one query per foreign key before the batch commits. Other roles keep the per-row triggers.
    """
    if not _is_postgresql():
        return False
    with connection.cursor() as cursor:
        if connection.pg_version >= 150000:  # type: ignore[attr-defined]
            cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
        else:
            # Before PostgreSQL 15 only a superuser may set it (and the function above does not exist).
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        return bool(row and row[0])


@contextmanager
def _row_triggers_off() -> Iterator[None]:
    # SET LOCAL ends with the transaction, and is reset here as soon as the batch is written, so that
    # nothing else the transaction does (a caller's outer transaction in tests) goes unchecked.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            yield
        finally:
            cursor.execute("SET LOCAL session_replication_role = origin")


def _check_references(tables: dict[str, _Table], bases: dict[str, int], counts: dict[str, int]) -> None:
    """Every foreign key of the rows just written points at an existing row; raises IntegrityError.

    The rows of a batch are the id range reserved for it in each table, so each check is one indexed
    range scan with an anti-join, instead of a trigger and a query per row. Referenced rows are units,
    accounts, the batch's own audit event and rows of the batch or of earlier ones, which nothing deletes
    (every foreign key of the registry is PROTECT).
    """
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for key in WRITE_ORDER:
            table = tables[key]
            keys = [f for f in table.model._meta.concrete_fields if isinstance(f, models.ForeignKey)]
            if not counts[key] or not keys:
                continue
            # One pass over the batch's rows of the table, whatever the number of its foreign keys.
            joins, orphans = [], []
            for n, field in enumerate(keys):
                target, column = field.target_field, f"t.{quote(field.column)}"
                target_column = f"r{n}.{quote(str(target.column))}"
                joins.append(
                    f"LEFT JOIN {quote(target.model._meta.db_table)} r{n} ON {target_column} = {column}"
                )
                orphans.append(f"({column} IS NOT NULL AND {target_column} IS NULL)")
            cursor.execute(
                f"SELECT t.id FROM {quote(table.name)} t {' '.join(joins)} "  # noqa: S608 - names from the models
                f"WHERE t.id BETWEEN %s AND %s AND ({' OR '.join(orphans)}) LIMIT 1",
                [bases[key] + 1, bases[key] + counts[key]],
            )
            orphan = cursor.fetchone()
            if orphan is not None:
                raise IntegrityError(f"row {orphan[0]} of {table.name} points at a row that does not exist")


def _existing(model: type[models.Model], column_name: str, values: Sequence[str]) -> set[str]:
    """Which of `values` the column already holds: one array query on PostgreSQL, chunks on SQLite."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(column_name)
    found: set[str] = set()
    with connection.cursor() as cursor:
        if _is_postgresql():
            cursor.execute(f"SELECT {column} FROM {table} WHERE {column} = ANY(%s)", [list(values)])  # noqa: S608 - names from the model
            found.update(row[0] for row in cursor.fetchall())
            return found
        for start in range(0, len(values), _LOOKUP_CHUNK):
            chunk = values[start : start + _LOOKUP_CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", chunk)  # noqa: S608 - names from the model
            found.update(row[0] for row in cursor.fetchall())
    return found


# Numbers that must be unique against the database ------------------------------------------------------


def _redraw_pins(people: Sequence[PersonRecord]) -> int:
    """Give a new serial to every PIN the PIN ledger already holds; returns how many.

    Every PIN ever given is in the ledger (the services write it with the citizen), cancelled ones too,
    and a PIN is never reused. The prefix (birth
    registration place, century and sex, birth year) stays: only the random serial changes.
    """
    in_batch = {person.pin for person in people}
    pending = list(people)
    redrawn = 0
    while pending:
        pins = [person.pin for person in pending]
        taken = _existing(PinRecord, "pin", pins)
        pending = [person for person in pending if person.pin in taken]
        for person in pending:
            while True:
                candidate = f"{person.pin[:6]}{secrets.randbelow(999_999) + 1:06d}"
                if candidate not in in_batch:
                    break
            in_batch.add(candidate)
            person.pin = candidate
            redrawn += 1
    return redrawn


def _redraw_cmnds(people: Sequence[PersonRecord]) -> int:
    """Give a new number to every old ID card (CMND) number the database already holds."""
    holders = [person for person in people if person.old_id_number]
    in_batch = {cast(str, person.old_id_number) for person in holders}
    redrawn = 0
    while holders:
        taken = _existing(Citizen, "old_id_number", [cast(str, person.old_id_number) for person in holders])
        holders = [person for person in holders if person.old_id_number in taken]
        for person in holders:
            old = cast(str, person.old_id_number)
            while True:
                candidate = f"{old[0]}{secrets.randbelow(100_000_000):08d}"
                if candidate not in in_batch:
                    break
            in_batch.add(candidate)
            person.old_id_number = candidate
            redrawn += 1
    return redrawn


class _HouseholdNumbers:
    """Residence file numbers `<commune code>-<8-digit running number>`, as `household_create` gives them.

    The running number per commune continues from the database. It is read once per commune; rows that
    others inserted between two batches (ids between the previous batch's range and this one's) are
    folded in, so the cache never hands out a number someone else took meanwhile.
    """

    def __init__(self, *, fresh: bool = False) -> None:
        # Fresh: numbering for an empty registry (a population package), which reads nothing.
        self.fresh = fresh
        self.last: dict[int, int] = {}
        self.codes: dict[int, str] = {}
        self.seen_up_to: int | None = None

    @staticmethod
    def _sequence(number: str, code: str) -> int:
        prefix = f"{code}-"
        if not number.startswith(prefix):
            return 0
        tail = number[len(prefix) :]
        return int(tail) if tail.isdigit() else 0

    def prepare(self, communes: dict[int, str], *, base_id: int) -> None:
        """Catch up with the database for these communes (id -> code); runs under the batch's lock."""
        self.codes.update(communes)
        if self.fresh:
            for commune_id in communes:
                self.last.setdefault(commune_id, 0)
            return
        if self.seen_up_to is not None and base_id > self.seen_up_to:
            foreign = Household.objects.filter(pk__gt=self.seen_up_to, pk__lte=base_id).values_list(
                "commune_id", "number"
            )
            for commune_id, number in foreign:
                if commune_id in self.last:
                    sequence = self._sequence(number, self.codes[commune_id])
                    self.last[commune_id] = max(self.last[commune_id], sequence)
        new = [commune_id for commune_id in communes if commune_id not in self.last]
        for start in range(0, len(new), _LOOKUP_CHUNK):
            chunk = new[start : start + _LOOKUP_CHUNK]
            maxima = dict(
                Household.objects.filter(commune_id__in=chunk)
                .values("commune_id")
                .annotate(last=Max("number"))
                .values_list("commune_id", "last")
            )
            for commune_id in chunk:
                last = maxima.get(commune_id)
                self.last[commune_id] = self._sequence(last, self.codes[commune_id]) if last else 0

    def next(self, commune_id: int) -> str:
        self.last[commune_id] += 1
        return f"{self.codes[commune_id]}-{self.last[commune_id]:08d}"


# Rows ---------------------------------------------------------------------------------------------------


class _Loader:
    def __init__(self, *, actor: Actor, reason: str, event_data: dict[str, Any]) -> None:
        self.actor = actor
        self.reason = reason
        self.event_data = event_data
        self.tables = _tables()
        self.numbers = _HouseholdNumbers()
        self.province_units = self._province_units()
        self.set_based_checks = _may_switch_off_row_triggers()

    @staticmethod
    def _province_units() -> dict[tuple[str, str], int]:
        """(structure, 3-digit code) -> province id, to point a place of birth registration at its unit."""
        provinces = AdminUnit.objects.filter(level=AdminUnit.Level.PROVINCE).values_list(
            "structure", "code", "pk"
        )
        return {(structure, code.zfill(3)): pk for structure, code, pk in provinces}

    def load_batch(self, households: list[HouseholdRecord], stats: LoadStats) -> None:
        people = [person for household in households for person in household.members]
        links = [household.family_links() for household in households]
        with transaction.atomic():
            counts = self._counts(households, people, links)
            bases = _reserve_ids(self.tables, counts)
            # Under the lock now: nobody can insert a PIN, CMND or household number until we commit.
            stats.pins_redrawn += _redraw_pins(people)
            stats.cmnd_redrawn += _redraw_cmnds(people)
            communes = {h.commune.commune_id: h.commune.code for h in households}
            self.numbers.prepare(communes, base_id=bases["household"])
            first_citizen = bases["citizen"] + 1
            event = audit_event_record(
                actor=self.actor,
                event_type=EventType.POPULATION_GENERATED,
                subject_type="population",
                subject_id=f"citizens {first_citizen}-{bases['citizen'] + len(people)}",
                data={
                    **self.event_data,
                    "batch": stats.batches + 1,
                    "people": len(people),
                    "households": len(households),
                    "first_citizen_id": first_citizen,
                    "last_citizen_id": bases["citizen"] + len(people),
                    "first_household_id": bases["household"] + 1,
                    "last_household_id": bases["household"] + len(households),
                },
                reason=self.reason,
            )
            self._rows(households, links, bases, event_id=event.pk, recorded_at=event.occurred_at)
            if self.set_based_checks:
                with _row_triggers_off():
                    for key in WRITE_ORDER:
                        _write(self.tables[key])
                _check_references(self.tables, bases, counts)
            else:
                for key in WRITE_ORDER:
                    _write(self.tables[key])
            self.numbers.seen_up_to = bases["household"] + len(households)
        stats.people += len(people)
        stats.households += len(households)
        stats.batches += 1

    @staticmethod
    def _counts(
        households: Sequence[HouseholdRecord],
        people: Sequence[PersonRecord],
        links: Sequence[Sequence[FamilyLinkRecord]],
    ) -> dict[str, int]:
        return {
            "citizen": len(people),
            "pin": len(people),
            "household": len(households),
            "member": len(people),
            "link": sum(len(household_links) for household_links in links),
            "residence": len(people) + sum(1 for p in people if p.temporary is not None),
            "card": sum(len(p.cards) for p in people),
            "version": len(people) + len(households),
        }

    def _rows(
        self,
        households: Sequence[HouseholdRecord],
        links_by_household: Sequence[Sequence[FamilyLinkRecord]],
        bases: dict[str, int],
        *,
        event_id: int | None,
        recorded_at: datetime,
    ) -> None:
        tables = self.tables
        citizens, pins, household_rows = tables["citizen"], tables["pin"], tables["household"]
        members, links, residences = tables["member"], tables["link"], tables["residence"]
        cards, versions = tables["card"], tables["version"]
        ids = {key: itertools.count(base + 1) for key, base in bases.items()}
        # Timestamps in the form the backend stores (SQLite: naive UTC text); dates as ISO text, which
        # both COPY and SQLite take as they are.
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        recorded = connection.ops.adapt_datetimefield_value(recorded_at)
        actor_id = self.actor.user.pk if self.actor.user is not None else None
        actor_label = self.actor.label
        reason = self.reason
        version_rows: list[tuple[str, int, dict[str, Any]]] = []

        for household, household_links in zip(households, links_by_household, strict=True):
            commune = household.commune
            commune_id, province_id, legacy_id = (
                commune.commune_id,
                commune.province_id,
                commune.legacy_commune_id,
            )
            household_id = next(ids["household"])
            address_key = fold(household.address_detail)
            household_rows.add(
                household_id,
                self.numbers.next(commune_id),
                commune_id,
                legacy_id,
                household.address_detail,
                household.address_original,
                1,
                now,
            )
            citizen_ids = {person.key: next(ids["citizen"]) for person in household.members}
            by_key = {person.key: person for person in household.members}
            person_links: dict[int, list[SimpleNamespace]] = {person.key: [] for person in household.members}
            for link in household_links:
                relative = by_key[link.relative_key] if link.relative_key is not None else None
                view = SimpleNamespace(
                    kind=link.kind,
                    relative_id=citizen_ids[relative.key] if relative else None,
                    relative_name=link.relative_name,
                    relative_pin=relative.pin if relative else "",
                )
                links.add(
                    next(ids["link"]),
                    citizen_ids[link.citizen_key],
                    link.kind,
                    view.relative_id,
                    link.relative_name,
                    view.relative_pin,
                    (relative.old_id_number or "") if relative else "",
                    "VN",
                    None,
                    _iso(link.until),
                )
                person_links[link.citizen_key].append(view)
            member_views = []
            for person in household.members:
                citizen_id = citizen_ids[person.key]
                death = _iso(person.date_of_death)
                joined = person.joined_on.isoformat()
                member = SimpleNamespace(
                    household_id=household_id,
                    citizen_id=citizen_id,
                    relation_to_head=person.relation_to_head,
                    joined_on=joined,
                    left_on=death,
                )
                members.add(
                    next(ids["member"]), household_id, citizen_id, person.relation_to_head, joined, death
                )
                member_views.append(member)
                permanent = SimpleNamespace(
                    pk=next(ids["residence"]),
                    kind=_PERMANENT,
                    commune_id=commune_id,
                    legacy_commune_id=legacy_id,
                    address_detail=household.address_detail,
                    address_key=address_key,
                    address_original=household.address_original,
                    household_id=household_id,
                    registered_on=joined,
                    expires_on=None,
                    # The death of a resident deletes their permanent residence (Luật Cư trú art. 24).
                    ended_on=death,
                )
                person_residences = [permanent]
                if person.temporary is not None:
                    stay = person.temporary
                    person_residences.append(
                        SimpleNamespace(
                            pk=next(ids["residence"]),
                            kind=_TEMPORARY,
                            commune_id=stay.commune.commune_id,
                            legacy_commune_id=None,
                            address_detail=stay.address_detail,
                            address_key=fold(stay.address_detail),
                            address_original="",
                            household_id=None,
                            registered_on=stay.registered_on.isoformat(),
                            expires_on=stay.expires_on.isoformat(),
                            ended_on=None,
                        )
                    )
                for residence in person_residences:
                    residences.add(
                        residence.pk,
                        citizen_id,
                        residence.kind,
                        residence.commune_id,
                        residence.legacy_commune_id,
                        residence.address_detail,
                        residence.address_original,
                        residence.household_id,
                        residence.registered_on,
                        residence.expires_on,
                        residence.ended_on,
                        DEATH_END_REASON if residence.ended_on else "",
                        1,
                        residence.address_key,
                    )
                values = self._citizen_values(person, death=death)
                citizens.add(
                    citizen_id,
                    *values.values(),
                    # Area: the 2025 commune and province of the permanent residence, and the legacy
                    # commune it was declared in. The deceased keep the area of their last residence,
                    # so that the police of that commune still see the record.
                    commune_id,
                    province_id,
                    legacy_id,
                    1,
                    now,
                    now,
                )
                pins.add(next(ids["pin"]), person.pin, citizen_id, now, None, "", None)
                for card in person.cards:
                    number = person.old_id_number if card.kind == _CMND else person.pin
                    cards.add(
                        next(ids["card"]),
                        citizen_id,
                        card.kind,
                        number,
                        card.issued_on.isoformat(),
                        card.issued_by,
                        _iso(card.expires_on),
                    )
                snapshot = citizen_snapshot(
                    cast(Citizen, SimpleNamespace(**values)),
                    residences=cast(list[Residence], person_residences),
                    membership=None if death else cast(HouseholdMember, member),
                    # Ordered as the services read them: by kind, then by id.
                    family=cast(list[FamilyLink], sorted(person_links[person.key], key=lambda v: v.kind)),
                )
                version_rows.append((_CITIZEN, citizen_id, snapshot))
            household_view = SimpleNamespace(
                number=household_rows.rows[-1][1],
                commune_id=commune_id,
                legacy_commune_id=legacy_id,
                address_detail=household.address_detail,
                address_original=household.address_original,
            )
            snapshot = household_snapshot(
                cast(Household, household_view), members=cast(list[HouseholdMember], member_views)
            )
            version_rows.append((_HOUSEHOLD, household_id, snapshot))

        for entity, entity_id, snapshot in version_rows:
            row_id = next(ids["version"])
            versions.add(
                row_id,
                entity,
                entity_id,
                1,
                recorded,
                actor_id,
                actor_label,
                event_id,
                reason,
                "",
                json_text(snapshot),
            )

    def _citizen_values(self, person: PersonRecord, *, death: str | None) -> dict[str, Any]:
        """The citizen's own fields in the order of the citizen table's columns (see `_tables`)."""
        structure = (
            AdminUnit.Structure.CURRENT if person.true_birth >= MERGER_DATE else AdminUnit.Structure.LEGACY
        )
        return {
            "pin": person.pin,
            "full_name": person.full_name,
            "name_key": fold_name(person.full_name),
            "other_names": "",
            "birth_date": person.birth_date.to_storage(),
            "sex": person.sex,
            "birth_place": person.birth_place,
            "birth_place_unit_id": self.province_units.get((structure, person.birth_registration_place)),
            "birth_registration_place": person.birth_registration_place,
            "native_place": person.native_place,
            "native_place_unit_id": None,
            "ethnicity": person.ethnicity,
            "religion": person.religion,
            "nationality": "VN",
            "blood_type": "",
            "blood_type_source": "",
            "old_id_number": person.old_id_number,
            "marital_status": person.marital_status,
            "date_of_death": death,
            "missing_declared_on": None,
            "phone": person.phone,
            "email": person.email,
        }


class PackageRows(_Loader):
    """The registry rows of generated households for a population package, read nowhere but the units.

    The rows are those `load_population` writes, numbered from 1 in every table for the empty registry
    a package is loaded into, without the stamp columns (`STAMP_COLUMNS`), which the load fills in.
    Household numbers start at 1 in each commune; PINs and CMND numbers are the generator's, unique
    within the run (the load's unique indexes check them again).
    """

    def __init__(self) -> None:
        super().__init__(actor=Actor(system="generate"), reason=REASON, event_data={})
        self.numbers = _HouseholdNumbers(fresh=True)
        self.written = dict.fromkeys(WRITE_ORDER, 0)
        # Where each column a package holds sits in the loader's rows.
        self.kept = {
            key: [self.tables[key].columns.index(column) for column in columns]
            for key, columns in self.expected_columns().items()
        }

    def columns(self, key: str) -> list[str]:
        """The columns of table `key` that a package holds, in the order of its rows."""
        return [self.tables[key].columns[i] for i in self.kept[key]]

    @staticmethod
    def table_names() -> dict[str, str]:
        """The database table of each table key."""
        tables = _tables()
        return {key: tables[key].name for key in WRITE_ORDER}

    @staticmethod
    def expected_columns() -> dict[str, list[str]]:
        """The columns a package of this version of the software holds, by table key: the loader's
        columns but the stamps."""
        tables = _tables()
        return {
            key: [column for column in tables[key].columns if column not in STAMP_COLUMNS.get(key, ())]
            for key in WRITE_ORDER
        }

    def batch(self, households: list[HouseholdRecord]) -> dict[str, list[tuple[Any, ...]]]:
        """The rows of these households by table key, numbered after the rows of earlier batches."""
        links = [household.family_links() for household in households]
        people = [person for household in households for person in household.members]
        counts = self._counts(households, people, links)
        self.numbers.prepare({h.commune.commune_id: h.commune.code for h in households}, base_id=0)
        self._rows(households, links, dict(self.written), event_id=None, recorded_at=timezone.now())
        rows: dict[str, list[tuple[Any, ...]]] = {}
        for key in WRITE_ORDER:
            table, kept = self.tables[key], self.kept[key]
            if len(kept) == len(table.columns):
                rows[key] = table.rows
            else:
                project = operator.itemgetter(*kept)
                rows[key] = [project(row) for row in table.rows]
            table.rows = []
            self.written[key] += counts[key]
        return rows


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def household_batches(households: Iterable[HouseholdRecord], size: int) -> Iterator[list[HouseholdRecord]]:
    """Whole households, about `size` people per batch."""
    batch: list[HouseholdRecord] = []
    people = 0
    for household in households:
        batch.append(household)
        people += len(household.members)
        if people >= size:
            yield batch
            batch, people = [], 0
    if batch:
        yield batch


def load_population(
    households: Iterable[HouseholdRecord],
    *,
    actor: Actor,
    batch_size: int = DEFAULT_BATCH_SIZE,
    reason: str = REASON,
    event_data: dict[str, Any] | None = None,
    on_batch: Callable[[LoadStats], None] | None = None,
) -> LoadStats:
    """Write generated households into the registry, one transaction per batch of about `batch_size`
    people; returns what was written. `event_data` (e.g. the seed) goes into every batch's audit event.

    Called inside an outer transaction (as tests are), the batches become savepoints and commit or roll
    back with it, and on PostgreSQL the table locks are held until it ends.
    """
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    loader = _Loader(actor=actor, reason=reason, event_data=dict(event_data or {}))
    stats = LoadStats()
    started = time.perf_counter()
    for batch in household_batches(households, batch_size):
        loader.load_batch(batch, stats)
        stats.seconds = time.perf_counter() - started
        if on_batch is not None:
            on_batch(stats)
    analyze_tables([loader.tables[key].name for key in WRITE_ORDER])
    stats.seconds = time.perf_counter() - started
    return stats


def analyze_tables(names: Sequence[str]) -> None:
    """Refresh the planner's statistics of the tables just filled (`names`).

    After a bulk load the statistics still describe the tables as they were (often empty), and the
    planner then picks sequential scans for lookups that an index answers in microseconds: a PIN lookup
    measured 12 ms instead of under 1 ms before this. Autovacuum would get there eventually; a national
    load should not leave the first officers waiting for it.
    """
    if connection.in_atomic_block:
        # Inside a caller's transaction (tests), the rows are not committed yet; leave it to the caller.
        return
    with connection.cursor() as cursor:
        if _is_postgresql():
            cursor.execute("ANALYZE " + ", ".join(map(connection.ops.quote_name, names)))
        else:
            # SQLite's ANALYZE takes one name or none; none is the whole (small) database.
            cursor.execute("ANALYZE")


# Placement ----------------------------------------------------------------------------------------------


def units_loaded() -> bool:
    """Whether `dancu load_units` (part of `dancu setup`) has filled the administrative units."""
    return AdminUnit.objects.filter(
        structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.COMMUNE
    ).exists()


def _placement_error(field_name: str, code: str, message_vi: str, message_en: str) -> DomainError:
    return DomainError(FieldError(field_name, code, message_vi, message_en))


def placement_choices(
    *, provinces: Sequence[str] = (), communes: Sequence[str] = (), legacy_province: str = ""
) -> list[CommuneChoice]:
    """Where generated households may live, read from the administrative units.

    The 2025 communes named in `communes` and those of the 2025 `provinces`, or every 2025 commune when
    nothing at all is named; plus, with `legacy_province` (a pre-2025 province code, "36" or "036"), every
    legacy commune of that province, placed legacy-only at its default 2025 successor. Raises DomainError
    naming the unknown codes.
    """
    current = AdminUnit.objects.filter(
        structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.COMMUNE
    ).select_related("parent")
    chosen: list[AdminUnit] = []
    if provinces:
        known = set(
            AdminUnit.objects.filter(
                structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.PROVINCE, code__in=provinces
            ).values_list("code", flat=True)
        )
        unknown = [code for code in provinces if code not in known]
        if unknown:
            raise _placement_error(
                "provinces",
                "placement.unknown_province",
                f"Không có tỉnh, thành phố (từ 1-7-2025) mã {', '.join(unknown)}.",
                f"No 2025 province has the code {', '.join(unknown)}.",
            )
        chosen += current.filter(province_code__in=provinces).order_by("path")
    if communes:
        found = {unit.code: unit for unit in current.filter(code__in=communes)}
        unknown = [code for code in communes if code not in found]
        if unknown:
            raise _placement_error(
                "communes",
                "placement.unknown_commune",
                f"Không có xã, phường (từ 1-7-2025) mã {', '.join(unknown)}.",
                f"No 2025 commune has the code {', '.join(unknown)}.",
            )
        seen = {unit.pk for unit in chosen}
        chosen += [found[code] for code in dict.fromkeys(communes) if found[code].pk not in seen]
    if not provinces and not communes and not legacy_province:
        chosen = list(current.order_by("path"))
    choices = _current_choices(chosen)
    if legacy_province:
        choices += _legacy_choices(legacy_province)
    if not choices:
        raise _placement_error(
            "communes",
            "placement.empty",
            "Không có xã, phường nào để đặt hộ.",
            "There is no commune to place households in.",
        )
    return choices


def _current_choices(communes: Sequence[AdminUnit]) -> list[CommuneChoice]:
    """2025 placements. The legacy commune that became each one (its default predecessor) gives local
    people their PIN prefix, the old province where their births were registered, and the old-style
    text of their native place."""
    origins: dict[int, AdminUnit] = {}
    successions = (
        UnitSuccession.objects.filter(successor__in=communes, legacy__level=AdminUnit.Level.COMMUNE)
        .select_related("legacy__parent__parent")
        .order_by("successor_id", "-is_default", "legacy__path")
    )
    for succession in successions:
        origins.setdefault(succession.successor_id, succession.legacy)
    choices = []
    for commune in communes:
        province = commune.parent
        if province is None:  # the schema forbids it (a commune has a parent); keeps mypy honest
            continue
        origin = origins.get(commune.pk)
        district = origin.parent if origin is not None else None
        old_province = district.parent if district is not None else None
        choices.append(
            CommuneChoice(
                commune_id=commune.pk,
                province_id=province.pk,
                code=commune.code,
                name=commune.name,
                province_name=province.name,
                province_code=commune.province_code,
                birth_province_code=(origin.province_code if origin else commune.province_code).zfill(3),
                origin_commune_name=origin.name if origin else "",
                origin_district_name=district.name if district else "",
                origin_province_name=old_province.name if old_province else "",
            )
        )
    return choices


def _legacy_choices(code: str) -> list[CommuneChoice]:
    """Legacy-only placements: every legacy commune of the old province, at its default 2025 successor."""
    # "036" (the PIN's form) and "36" (the statistics office's) name the same province.
    short = code[-2:] if code.isdigit() and len(code) == 3 and code.startswith("0") else code
    province = AdminUnit.objects.filter(
        structure=AdminUnit.Structure.LEGACY, level=AdminUnit.Level.PROVINCE, code=short
    ).first()
    if province is None:
        raise _placement_error(
            "legacy_province",
            "placement.unknown_legacy_province",
            f"Không có tỉnh, thành phố (trước 1-7-2025) mã {code}.",
            f"No pre-2025 province has the code {code}.",
        )
    successions = (
        UnitSuccession.objects.filter(
            is_default=True,
            legacy__structure=AdminUnit.Structure.LEGACY,
            legacy__level=AdminUnit.Level.COMMUNE,
            legacy__province_code=province.code,
        )
        .select_related("legacy__parent", "successor__parent")
        .order_by("legacy__path")
    )
    choices = []
    for succession in successions:
        legacy, successor = succession.legacy, succession.successor
        district, new_province = legacy.parent, successor.parent
        if district is None or new_province is None:  # impossible by the schema; keeps mypy honest
            continue
        choices.append(
            CommuneChoice(
                commune_id=successor.pk,
                province_id=new_province.pk,
                code=successor.code,
                name=successor.name,
                province_name=new_province.name,
                province_code=successor.province_code,
                birth_province_code=province.code.zfill(3),
                legacy_commune_id=legacy.pk,
                origin_commune_name=legacy.name,
                origin_district_name=district.name,
                origin_province_name=province.name,
            )
        )
    return choices
