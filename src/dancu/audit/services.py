"""Writing the trail. Called by every service inside its own transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from dancu.accounts.models import User
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.geo.models import AdminUnit
from dancu.lib.chunks import batched
from dancu.lib.pgcopy import insert_instances


class Actor:
    """Who did something: an account, or a named system job (generator, importer) with none."""

    def __init__(self, user: User | None = None, *, system: str = ""):
        if user is None and not system:
            raise ValueError("an actor is an account or a named system job")
        self.user = user
        self.label = user.username if user is not None else f"system:{system}"

    def __repr__(self) -> str:
        return f"Actor({self.label})"


def audit_event_record(
    *,
    actor: Actor,
    event_type: EventType,
    subject_type: str,
    subject_id: str | int,
    data: dict[str, Any] | None = None,
    reason: str = "",
    source_document: str = "",
    unit: AdminUnit | None = None,
) -> AuditEvent:
    if not transaction.get_connection().in_atomic_block:
        # The event must commit or roll back with the change it describes; a caller outside a
        # transaction is a programming error, caught loudly in tests.
        raise RuntimeError("audit events are written inside the transaction of the change")
    return AuditEvent.objects.create(
        actor=actor.user,
        actor_label=actor.label,
        event_type=event_type,
        subject_type=subject_type,
        subject_id=str(subject_id),
        data=data or {},
        reason=reason,
        source_document=source_document,
        unit=unit,
    )


@dataclass(frozen=True)
class NewEvent:
    """One event of `audit_events_record`: the arguments of `audit_event_record` but the actor."""

    event_type: EventType
    subject_type: str
    subject_id: str | int
    data: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    source_document: str = ""
    unit: AdminUnit | None = None


def audit_events_record(*, actor: Actor, events: Sequence[NewEvent]) -> list[AuditEvent]:
    """Write many events of one actor in one statement, in the order given: the rows are the ones
    `audit_event_record` would write one by one, for the writes that change many records at once (an
    import's batch of new citizens)."""
    if not transaction.get_connection().in_atomic_block:
        # As for one event: the events commit or roll back with the changes they describe.
        raise RuntimeError("audit events are written inside the transaction of the change")
    return insert_instances(
        [
            AuditEvent(
                actor=actor.user,
                actor_label=actor.label,
                event_type=event.event_type,
                subject_type=event.subject_type,
                subject_id=str(event.subject_id),
                data=event.data,
                reason=event.reason,
                source_document=event.source_document,
                unit=event.unit,
            )
            for event in events
        ]
    )


# Access-log rows written per statement: a system job that reads the whole registry logs a million rows
# in a few hundred statements, holding no more than one batch of ids in memory at a time.
ACCESS_LOG_BATCH = 5_000

_ACCESS_LOG_COLUMNS = (
    "accessed_at",
    "actor_id",
    "actor_label",
    "action",
    "channel",
    "purpose",
    "detail",
    "reader_unit_id",
)
# Copied from the citizen's record by the INSERT itself (AccessLog, "The area of the citizen read").
_AREA_COLUMNS = ("area_commune_id", "area_province_id", "area_legacy_commune_id")
# Ids per look-up of their areas on SQLite, within its limit of parameters per statement; up to
# _SQLITE_JOINED rows (a page or two), each row's statement joins its area instead.
_SQLITE_IDS = 900
_SQLITE_JOINED = 200


def _access_log_insert(values: tuple[Any, ...], citizen_ids: list[int]) -> None:
    """Rows that differ only by citizen, each with its citizen's area as the citizen's record has it: on
    PostgreSQL one statement, the ids as one array joined to the citizens; elsewhere the areas read
    first and one prepared statement run over the ids. Model instances through bulk_create cost far more
    per row (26 times on SQLite, which takes ~120 rows per bulk INSERT: 3,900 against 100,000 rows/s in
    bench/access_log.py), minutes for a million rows; these rows have no defaults, signals or relations
    that the ORM would resolve. An id with no citizen gets no area and still reaches the foreign key,
    which refuses it, rather than being dropped without a word (hence the LEFT JOIN)."""
    quote = connection.ops.quote_name
    # The registry's model, looked up rather than imported: the registry's services import this module.
    citizen_model = apps.get_model("registry", "Citizen")
    table = quote(AccessLog._meta.db_table)
    columns = ", ".join(quote(name) for name in (*_ACCESS_LOG_COLUMNS, "citizen_id", *_AREA_COLUMNS))
    shared = ", ".join(["%s"] * len(values))
    area = ", ".join(f"c.{quote(name)}" for name in _AREA_COLUMNS)

    def joined(ids: str) -> str:
        # Table and column names come from the models; every value is a parameter.
        return (
            f"INSERT INTO {table} ({columns}) SELECT {shared}, u.id, {area} "  # noqa: S608
            f"FROM {ids} LEFT JOIN {quote(citizen_model._meta.db_table)} c ON c.id = u.id"
        )

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ids = "unnest(%s::bigint[]) WITH ORDINALITY AS u(id, n)"
            cursor.execute(f"{joined(ids)} ORDER BY u.n", [*values, citizen_ids])
        elif len(citizen_ids) <= _SQLITE_JOINED:
            # A page's rows, the common read: one prepared statement run over them, each row's area joined
            # in it, so that a page costs the same statements whether it shows one record or fifty.
            rows = [(*values, citizen_id) for citizen_id in citizen_ids]
            cursor.executemany(joined("(SELECT %s AS id) u"), rows)
        else:
            # A system job's read of thousands: the areas are read first, a chunk of ids at a time, rather
            # than by a join in each row's statement (half the time per row; SQLite runs one per row).
            areas: dict[int, tuple[Any, ...]] = {}
            for chunk in batched(citizen_ids, _SQLITE_IDS):
                found = citizen_model.objects.filter(pk__in=chunk)
                areas.update((pk, rest) for pk, *rest in found.values_list("pk", *_AREA_COLUMNS))
            nobody = (None,) * len(_AREA_COLUMNS)
            placeholders = ", ".join(["%s"] * (len(values) + 1 + len(_AREA_COLUMNS)))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608
                [(*values, citizen_id, *areas.get(citizen_id, nobody)) for citizen_id in citizen_ids],
            )


def access_log_record(
    *,
    actor: User | Actor,
    citizen_ids: Iterable[int],
    action: AccessLog.Action,
    channel: AccessLog.Channel,
    purpose: str,
    detail: str = "",
) -> int:
    """One row per citizen whose personal data was shown to the actor, or read by a system job (an
    `Actor` without an account, named by its label); returns the number of rows written. Each row
    carries the citizen's area as the record has it now, and the reader's police unit as it is now."""
    user = actor.user if isinstance(actor, Actor) else actor
    label = actor.label if isinstance(actor, Actor) else actor.username
    purpose, detail = purpose[:200], detail[:200]
    accessed_at = connection.ops.adapt_datetimefield_value(timezone.now())
    values = (
        accessed_at,
        user.pk if user is not None else None,
        label,
        action,
        channel,
        purpose,
        detail,
        user.police_unit_id if user is not None else None,
    )
    ids = iter(citizen_ids)
    batch = list(islice(ids, ACCESS_LOG_BATCH))
    if len(batch) == 1:
        # One record shown, the most common read: one statement, atomic by itself.
        _access_log_insert(values, batch)
        return 1
    written = 0
    while batch:
        # Each batch is atomic by itself; a caller's transaction, when there is one, holds them all, and
        # a savepoint inside it would cost two more statements on every page read.
        with transaction.atomic(savepoint=False):
            _access_log_insert(values, batch)
        written += len(batch)
        batch = list(islice(ids, ACCESS_LOG_BATCH))
    return written


def access_log_area_follow(*, citizen_id: int, area: dict[str, int | None]) -> int:
    """Give the access-log rows of a citizen who moved their new area (`area` names the citizen's
    area_commune, area_province and area_legacy_commune), so that the reads of them go to the auditors
    of the area they live in now. Only the rows that differ are written: most residence changes leave
    the area as it was. Called inside the transaction of the residence change, whose audit event records
    the move; returns the number of rows changed."""
    return AccessLog.objects.filter(citizen_id=citizen_id).exclude(**area).update(**area)
