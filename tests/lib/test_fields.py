"""JSONDocumentField: a record version's snapshot, kept as `json` on PostgreSQL, reads back as written."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from dancu.registry.models import RecordVersion

# Values that a decoder could get wrong: Vietnamese text, escapes, nulls, nesting, numbers, and strings
# that look like numbers or JSON (decoded twice they would come back as a number or an object).
DOCUMENTS = [
    {"full_name": "Nguyễn Thị Thuỷ", "note": 'a\\b\t"c"\n', "none": None, "list": [1, 2.5, "đ", [], {}]},
    {"pin": "001090000123", "version": "2", "json": '{"a": 1}', "true": "true"},
    ["một", 1, None],
    "123",
    "Hà Nội",
    17,
]


def _version(snapshot: object, number: int) -> RecordVersion:
    return RecordVersion.objects.create(
        entity=RecordVersion.Entity.CITIZEN,
        entity_id=10_000 + number,
        version=1,
        recorded_at=timezone.now(),
        actor_label="system:test",
        snapshot=snapshot,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("number", range(len(DOCUMENTS)))
def test_a_snapshot_reads_back_as_it_was_written(number: int) -> None:
    pk = _version(DOCUMENTS[number], number).pk

    assert RecordVersion.objects.get(pk=pk).snapshot == DOCUMENTS[number]
    assert RecordVersion.objects.filter(pk=pk).values_list("snapshot", flat=True).get() == DOCUMENTS[number]


@pytest.mark.django_db
def test_an_update_rewrites_the_whole_snapshot() -> None:
    version = _version({"a": 1}, 0)
    RecordVersion.objects.filter(pk=version.pk).update(snapshot={"b": ["Đ"]})

    assert RecordVersion.objects.get(pk=version.pk).snapshot == {"b": ["Đ"]}


@pytest.mark.django_db
def test_on_postgresql_the_snapshot_column_is_json_kept_as_sent() -> None:
    # `json`, not `jsonb`: the server checks the text and keeps it, instead of parsing it into its binary
    # form, which is what made the first load of a registry's history slow. On SQLite the column is
    # Django's JSONField unchanged (text), and this test shows what that database stores instead.
    version = _version({"z": 1, "a": "Lê"}, 0)
    table = RecordVersion._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT data_type FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
                [table, "snapshot"],
            )
            assert cursor.fetchone() == ("json",)
            cursor.execute(f"SELECT snapshot::text FROM {table} WHERE id = %s", [version.pk])  # noqa: S608
            # jsonb would have reordered the keys ({"a": ..., "z": ...}); json keeps the document as sent,
            # and it is sent with its letters as they are, not escaped ("L\u00ea").
            assert cursor.fetchone() == ('{"z": 1, "a": "Lê"}',)
        else:
            cursor.execute(f"SELECT snapshot FROM {table} WHERE id = %s", [version.pk])  # noqa: S608
            assert cursor.fetchone() == ('{"z": 1, "a": "L\\u00ea"}',)
