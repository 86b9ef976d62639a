"""Writing the trail. Called by every service inside its own transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction

from dancu.accounts.models import User
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.geo.models import AdminUnit


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


def access_log_record(
    *,
    actor: User,
    citizen_ids: Iterable[int],
    action: AccessLog.Action,
    channel: AccessLog.Channel,
    purpose: str,
    detail: str = "",
) -> None:
    """One row per citizen whose personal data was shown to the actor."""
    rows: Sequence[AccessLog] = [
        AccessLog(
            actor=actor,
            citizen_id=citizen_id,
            action=action,
            channel=channel,
            purpose=purpose[:200],
            detail=detail[:200],
        )
        for citizen_id in citizen_ids
    ]
    if len(rows) == 1:
        # One row is one INSERT, atomic by itself; bulk_create would wrap it in a transaction of its
        # own, two more round trips on every record read.
        rows[0].save(force_insert=True)
    elif rows:
        AccessLog.objects.bulk_create(rows)
