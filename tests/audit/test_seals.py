"""The access log's seals: a chain of digests over its rows that shows any row changed, removed or
slipped in, and any seal changed or removed between others (audit/seals.py)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from dancu.accounts.models import User
from dancu.audit.models import AccessLog, AccessLogSeal, AuditEvent, EventType
from dancu.audit.seals import SETTLE, access_log_seal, access_log_verify
from dancu.audit.services import Actor, access_log_record
from dancu.audit.tasks import seal_access_log
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db
READER = Actor(system="test reader")


def _read(people: People, times: int = 1) -> None:
    for _ in range(times):
        access_log_record(
            actor=READER,
            citizen_ids=[people.hung.pk, people.mai.pk],
            action=AccessLog.Action.VIEW,
            channel=AccessLog.Channel.WEB,
            purpose="Kiểm tra, phúc tra dữ liệu",
            detail="tab\there, and a line\nbreak",
        )


def _later() -> timezone.datetime:
    return timezone.now() + SETTLE + timedelta(minutes=1)


def _codes() -> list[str]:
    return [problem.code for problem in access_log_verify()]


def _execute(sql: str, params: list[object]) -> None:
    # The tampering an attacker with database access would do, bypassing every service.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_rows_old_enough_are_sealed_and_verify(people: People) -> None:
    AccessLog.objects.all().delete()
    _read(people, 3)
    assert access_log_seal() is None  # nothing is an hour old yet
    seal = access_log_seal(now=_later())
    assert seal is not None
    assert seal.rows == 6
    assert seal.last_id == AccessLog.objects.order_by("-pk").first().pk  # type: ignore[union-attr]
    assert seal.previous_digest == ""
    event = AuditEvent.objects.get(event_type=EventType.ACCESS_LOG_SEALED)
    assert event.data["digest"] == seal.digest
    assert access_log_seal(now=_later()) is None
    assert _codes() == []


def test_each_seal_chains_to_the_one_before(people: People) -> None:
    _read(people)
    first = access_log_seal(now=_later())
    _read(people, 2)
    second = access_log_seal(now=_later())
    assert first is not None
    assert second is not None
    assert second.previous_digest == first.digest
    assert second.first_id == first.last_id + 1
    assert second.rows == 4
    assert _codes() == []


def test_a_seal_holds_at_most_its_rows_and_the_task_catches_up(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    AccessLog.objects.all().delete()
    _read(people, 5)
    monkeypatch.setattr("dancu.audit.seals.MAX_ROWS", 4)
    later = _later()
    monkeypatch.setattr("dancu.audit.seals.timezone.now", lambda: later)
    assert len(seal_access_log()) == 3
    assert list(AccessLogSeal.objects.order_by("pk").values_list("rows", flat=True)) == [4, 4, 2]
    assert _codes() == []


def test_a_row_newer_than_the_settling_time_stops_the_seal_before_it(people: People) -> None:
    _read(people)
    old = list(AccessLog.objects.order_by("pk").values_list("pk", flat=True))
    _read(people)
    # The later rows are an hour younger; an older row after them (a clock's jump) waits with them.
    AccessLog.objects.filter(pk__gt=old[-1]).update(accessed_at=timezone.now() + timedelta(hours=2))
    seal = access_log_seal(now=_later())
    assert seal is not None
    assert seal.last_id == old[-1]


@pytest.mark.parametrize("tampering", ["change", "remove", "slip in"])
def test_tampering_with_a_sealed_row_is_found(people: People, tampering: str) -> None:
    _read(people, 2)
    seal = access_log_seal(now=_later())
    assert seal is not None
    row = AccessLog.objects.filter(pk__lte=seal.last_id).order_by("pk").first()
    assert row is not None
    table = AccessLog._meta.db_table
    if tampering == "change":
        _execute(f"UPDATE {table} SET purpose = %s WHERE id = %s", ["Giải quyết thủ tục hành chính", row.pk])  # noqa: S608
    elif tampering == "remove":
        _execute(f"DELETE FROM {table} WHERE id = %s", [row.pk])  # noqa: S608
    else:
        # A row with an id inside the sealed range (which starts at 1 for the first seal), where no row
        # was; when the range has no free id, the first row is taken out to make one.
        free = row.pk - 1
        if free < 1:
            _execute(f"DELETE FROM {table} WHERE id = %s", [row.pk])  # noqa: S608
            free = row.pk
        AccessLog.objects.create(
            pk=free,
            actor_label="system:forger",
            citizen_id=people.tuan.pk,
            action="view",
            channel="web",
            purpose="x",
            # A careful forger gives it the citizen's area, as the rows of the citizen have it.
            area_commune_id=people.tuan.area_commune_id,
            area_province_id=people.tuan.area_province_id,
            area_legacy_commune_id=people.tuan.area_legacy_commune_id,
        )
    problems = access_log_verify()
    assert [(p.code, p.seal.pk) for p in problems] == [("seal.rows_changed", seal.pk)]
    assert f"#{seal.first_id}–#{seal.last_id}" in problems[0].message_en
    # The row itself is named, by the fingerprints the seal keeps.
    said = {"change": "changed", "remove": "removed", "slip in": "slipped in"}[tampering]
    named = row.pk if tampering != "slip in" else free
    if named == row.pk and tampering == "slip in":
        said = "changed"  # the first row was taken out and another put in its place
    assert f"rows {said}: #{named}" in problems[0].message_en


def test_a_seal_changed_or_removed_breaks_the_chain(people: People) -> None:
    _read(people)
    first = access_log_seal(now=_later())
    _read(people)
    second = access_log_seal(now=_later())
    _read(people)
    third = access_log_seal(now=_later())
    assert first is not None
    assert second is not None
    assert third is not None
    AccessLogSeal.objects.filter(pk=second.pk).delete()
    # The third seal now follows the first: its link and its range (which now starts after the first's)
    # both show it.
    assert set(_codes()) == {"seal.chain_broken", "seal.rows_changed"}


def test_commands_seal_and_verify(people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    _read(people)
    later = _later()
    monkeypatch.setattr("dancu.audit.seals.timezone.now", lambda: later)
    out = io.StringIO()
    call_command("audit_seal", stdout=out)
    seal = AccessLogSeal.objects.get()
    assert seal.digest in out.getvalue()
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert f"#{seal.last_id}" in out.getvalue()

    _execute(f"UPDATE {AccessLog._meta.db_table} SET detail = %s", ["đã sửa"])  # noqa: S608
    with pytest.raises(CommandError) as caught:
        call_command("audit_verify", stdout=io.StringIO())
    assert "were changed, removed or added" in str(caught.value)
    assert "đã bị sửa, xoá hoặc chèn thêm" in str(caught.value)


def test_the_sealing_is_scheduled_hourly() -> None:
    schedule = Schedule.objects.get(name="audit: seal the access log")
    assert schedule.func == "dancu.audit.tasks.seal_access_log"
    assert schedule.schedule_type == Schedule.HOURLY


def test_the_auditors_page_shows_how_far_the_chain_reaches(
    client: Client, sign_in: Callable[[Client, User], Client], personas: Personas, people: People
) -> None:
    _read(people)
    seal = access_log_seal(now=_later())
    assert seal is not None
    sign_in(client, personas.an)
    html = client.get("/audit/access/").content.decode()
    assert f"Niêm phong đến dòng #{seal.last_id}" in html


def test_the_reader_unit_is_sealed_and_the_area_checked(people: People, personas: Personas) -> None:
    """A read blamed on another unit in the citizen's portal, or moved out of its area's auditors' sight,
    is found: the reader's unit is in the digest (version 2), the area is checked against the citizen's."""
    AccessLog.objects.all().delete()
    _read(people, 2)
    seal = access_log_seal(now=_later())
    assert seal is not None
    assert seal.version == 2
    rows = list(AccessLog.objects.order_by("pk").values_list("pk", flat=True))
    table = AccessLog._meta.db_table
    _execute(f"UPDATE {table} SET reader_unit_id = %s WHERE id = %s", [personas.minh.police_unit_id, rows[0]])  # noqa: S608
    _execute(f"UPDATE {table} SET area_commune_id = NULL, area_province_id = NULL WHERE id = %s", [rows[1]])  # noqa: S608
    problems = access_log_verify()
    assert [p.code for p in problems] == ["seal.rows_changed", "seal.area_changed"]
    assert f"rows changed: #{rows[0]}" in problems[0].message_en
    assert f"#{rows[1]}" in problems[1].message_en
    assert f"#{rows[1]}" in problems[1].message_vi
    # A citizen who moves takes the area of their rows along: nothing is wrong then.
    _execute(f"UPDATE {table} SET reader_unit_id = NULL WHERE id = %s", [rows[0]])  # noqa: S608
    citizen = AccessLog.objects.get(pk=rows[1]).citizen
    _execute(
        f"UPDATE {table} SET area_commune_id = %s, area_province_id = %s WHERE id = %s",  # noqa: S608
        [citizen.area_commune_id, citizen.area_province_id, rows[1]],
    )
    assert access_log_verify() == []


def test_seals_made_before_the_reader_unit_was_sealed_still_verify(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    _read(people)
    monkeypatch.setattr("dancu.audit.seals.VERSION", 1)
    old = access_log_seal(now=_later())
    assert old is not None
    AccessLogSeal.objects.filter(pk=old.pk).update(fingerprints=b"")  # as the seals of version 1 were
    monkeypatch.undo()
    _read(people)
    new = access_log_seal(now=_later())
    assert new is not None
    assert (old.version, new.version) == (1, 2)
    assert access_log_verify() == []
    # A version 1 seal still finds a changed row, by its range.
    _execute(f"UPDATE {AccessLog._meta.db_table} SET purpose = %s WHERE id = %s", ["x", old.last_id])  # noqa: S608
    [problem] = access_log_verify()
    assert (problem.code, problem.seal.pk) == ("seal.rows_changed", old.pk)
