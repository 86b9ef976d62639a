"""COPY's text format, as the bulk writers (population loader, import staging) send it to PostgreSQL, and
model instances inserted by COPY (an import's promotion)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dancu.audit.models import AuditEvent, EventType
from dancu.lib.partial_date import PartialDate
from dancu.lib.pgcopy import copy_text, insert_instances, read_copy_rows
from dancu.registry.models import Citizen, PinRecord, RecordVersion
from tests.conftest import People


def test_copy_text_escapes_what_copy_would_misread() -> None:
    rows = [(1, "a\\b\tc\nd\re", None, True, "Nguyễn Văn Hùng"), (2, "", "\\N", False, "x")]

    assert copy_text(rows) == ("1\ta\\\\b\\tc\\nd\\re\t\\N\tTrue\tNguyễn Văn Hùng\n2\t\t\\\\N\tFalse\tx\n")


def test_json_with_escapes_survives_the_copy_format() -> None:
    # A staged row's JSON holds backslashes of its own ("\\n" for a line break in a cell): each is doubled
    # for COPY, which halves them again on the way in.
    assert copy_text([('{"a":"x\\ny"}',)]) == '{"a":"x\\\\ny"}\n'


def test_a_last_row_without_its_line_feed_is_still_read() -> None:
    # A file whose last line feed was lost (cut by hand, written by another tool): its last row counts,
    # so a row count checked against the manifest sees every row there is.
    assert list(read_copy_rows([b"1\tL\xc3\xaa V\xc4", b"\x83n\n2\t\\N"])) == [["1", "Lê Văn"], ["2", None]]


@pytest.mark.django_db(transaction=False)
def test_inserted_instances_read_back_as_the_orm_writes_them(people: People) -> None:
    # JSON with the characters COPY escapes, a null inside it, Vietnamese text, a choices member, a
    # foreign key and an auto_now_add time: what bulk_create would store, on both databases.
    data = {"note": "Số 1\tngõ 2\nphố \\Huế", "none": None, "list": [1, "đ"]}
    events = [
        AuditEvent(
            actor=None,
            actor_label="system:test",
            event_type=EventType.CITIZEN_CREATED,
            subject_type="citizen",
            subject_id=str(n),
            data=data | {"n": n},
            unit=people.hung.area_commune,
        )
        for n in range(3)
    ]
    before = timezone.now()
    written = insert_instances(events)

    assert written == events
    assert [event.pk for event in events] == sorted(event.pk for event in events)
    stored = list(AuditEvent.objects.filter(pk__in=[event.pk for event in events]).order_by("pk"))
    assert [(e.pk, e.event_type, e.subject_id, e.data, e.unit_id, e.actor_id) for e in stored] == [
        (e.pk, EventType.CITIZEN_CREATED.value, str(n), data | {"n": n}, people.hung.area_commune_id, None)
        for n, e in enumerate(events)
    ]
    assert all(before <= e.occurred_at <= timezone.now() for e in stored)
    # The ids were taken from the table's own sequence: a row the ORM inserts next comes after them.
    later = AuditEvent.objects.create(actor_label="x", event_type="x", subject_type="x", subject_id="x")
    assert later.pk > max(event.pk for event in events)


@pytest.mark.django_db(transaction=False)
def test_inserted_instances_store_a_partial_date_and_nulls(people: People) -> None:
    citizen = Citizen.objects.get(pk=people.hung.pk)
    citizen.pk, citizen.pin, citizen.old_id_number, citizen.birth_date = (
        None,
        "001090000123",
        None,
        PartialDate(1990),
    )
    insert_instances([citizen])
    pins = insert_instances([PinRecord(pin="001090000123", citizen=citizen)])
    versions = insert_instances(
        [
            RecordVersion(
                entity=RecordVersion.Entity.CITIZEN,
                entity_id=citizen.pk,
                version=99,
                recorded_at=timezone.now(),
                actor=None,
                actor_label="system:test",
                snapshot={"birth_date": "1990", "ghi_chú": "a\\b"},
            )
        ]
    )

    record = PinRecord.objects.get(pk=pins[0].pk)
    assert (record.pin, record.citizen_id, record.cancelled_at, record.replaced_by_id) == (
        "001090000123",
        citizen.pk,
        None,
        None,
    )
    assert record.issued_at is not None
    version = RecordVersion.objects.get(pk=versions[0].pk)
    assert version.snapshot == {"birth_date": "1990", "ghi_chú": "a\\b"}
    stored = Citizen.objects.get(pk=citizen.pk)
    assert (stored.pin, stored.birth_date, stored.full_name) == (
        "001090000123",
        PartialDate(1990),
        "Nguyễn Văn Hùng",
    )
    # Stored as its storage string, "1990": the one record known to the year only.
    assert list(Citizen.objects.filter(birth_date=PartialDate(1990)).values_list("pk", flat=True)) == [
        citizen.pk
    ]
