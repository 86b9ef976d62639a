"""Approved rows promoted in batches (collection/services.py, `_promote_chunk`, and
registry.citizens_create_bulk): the registry ends as the row-by-row promotion leaves it.

The row-by-row path is `_promote` called on each row in file order, which is all `import_promote` did
before the batches. Both paths draw the new PINs from the same seeded generator, so that the records
can be compared number for number; everything else is compared as written, but for ids and times.
"""

from __future__ import annotations

import contextlib
import csv
import io
import random
from collections import Counter
from collections.abc import Collection
from datetime import date, timedelta
from itertools import zip_longest
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dancu.audit.models import AuditEvent
from dancu.audit.services import Actor
from dancu.collection import services, workflow
from dancu.collection.models import CollectionForm, ImportRun, StagingRecord
from dancu.collection.services import ImportPolicy, import_promote, import_rows, import_start
from dancu.lib.errors import DomainError
from dancu.matching.models import CandidatePair
from dancu.registry import services as registry
from dancu.registry.models import Citizen, FamilyLink, PinRecord, RecordVersion, Residence
from tests.conftest import HOAN_KIEM, commune, make_citizen
from tests.matching.factories import candidate_pair, staged_row

pytestmark = pytest.mark.django_db

TODAY = date(2025, 7, 1)
# The run's last event, which the row-by-row loop of these tests does not write.
PROMOTED = "collection.import.promoted"
HEADER = ",".join(
    (
        "record_id",
        "full_name",
        "gender",
        "birth_date",
        "birth_place",
        "id_number",
        "old_id_number",
        "address",
        "father_name",
        "mother_name",
    )
)
DUONG_LIEU_ADDRESS = '"Thôn 3, Xã Dương Liễu, Huyện Hoài Đức, Thành phố Hà Nội"'
HOAN_KIEM_ADDRESS = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'


class _RollbackError(Exception):
    """Undoes the row-by-row promotion once its state is read."""


@pytest.fixture
def seeded_pins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same PINs drawn by both paths, in the same order: the registry's generator, seeded."""
    monkeypatch.setattr(registry, "_rng", random.Random(56))


def _dirty_file(tmp_path: Path) -> Path:
    """A generated dirty file, plus rows that only a check made in file order settles: the same person
    twice (the second waits for an officer, as a possible duplicate of the first) and a row for review
    between approved ones."""
    path = tmp_path / "people.csv"
    call_command(
        "generate",
        "--people",
        "300",
        "--seed",
        "3",
        "--today",
        TODAY.isoformat(),
        "--out",
        str(path),
        "--dirty",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    pin = header.index("id_number")
    # Most generated rows carry their PIN; every seventh loses it, so that PINs are allocated too.
    for row in body[::7]:
        if len(row) > pin:
            row[pin] = ""
    first = next(row for row in body[1::7] if len(row) == len(header) and row[header.index("father_name")])
    twice = list(first)
    twice[header.index("record_id")] = "TWICE-1"
    twice[pin] = twice[header.index("old_id_number")] = ""
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *body[:150], twice, *body[150:]])
    return path


def _stage(path: Path) -> ImportRun:
    actor = Actor(system="import")
    run, source = import_start(path=path, source_name="Sổ hộ khẩu Hoài Đức", actor=actor)
    return import_rows(run=run, source=source, actor=actor, policy=ImportPolicy())


def _promote_row_by_row(run: ImportRun) -> None:
    """The promotion as it was before the batches: one transaction per row, in file order."""
    actor, units = Actor(system="import"), services._Units()
    pending = (
        StagingRecord.objects.filter(run=run, promoted_at__isnull=True)
        .exclude(status=StagingRecord.Status.REJECTED)
        .order_by("row_number")
    )
    for record in pending:
        services._promote(record=record, actor=actor, units=units, today=TODAY)


def _without(values: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name not in names}


def _state(run: ImportRun, registry_held: Collection[int] = ()) -> dict[str, Any]:
    """What promotion wrote, each row keyed by the staged row it came from rather than by its ids. The
    records the registry held before the promotion (`registry_held`) are named by their ids, negated, so
    that none is taken for a row's number."""
    records = list(StagingRecord.objects.filter(run=run).order_by("row_number"))
    row_of_citizen = {record.citizen_id: record.row_number for record in records if record.citizen_id}
    row_of_citizen |= {pk: -pk for pk in registry_held}
    row_of_record = {record.pk: record.row_number for record in records}
    forms = {form.pk: form for form in CollectionForm.objects.filter(staging_record__run=run)}
    row_of_form = {pk: row_of_record[form.staging_record_id] for pk, form in forms.items()}
    assert set(Citizen.objects.values_list("pk", flat=True)) == set(row_of_citizen)

    def citizen_row(pk: Any) -> Any:
        return row_of_citizen.get(pk, pk)

    def snapshot(data: dict[str, Any]) -> dict[str, Any]:
        return data | {"residences": [_without(r, "id") for r in data["residences"]]}

    def event_data(data: dict[str, Any]) -> dict[str, Any]:
        ids = {"citizen_id": citizen_row(data.get("citizen_id")), "residence_id": None}
        return data | {name: value for name, value in ids.items() if name in data}

    def subject(event: AuditEvent) -> Any:
        by_type = {"citizen": row_of_citizen, "staging_record": row_of_record, "collection_form": row_of_form}
        found = by_type.get(event.subject_type)
        return found.get(int(event.subject_id)) if found is not None else event.subject_id

    citizens = {
        citizen_row(values["id"]): _without(values, "id", "created_at", "updated_at")
        for values in Citizen.objects.values()
    }
    events = Counter(
        (
            event.event_type,
            event.subject_type,
            subject(event),
            repr(sorted(event_data(event.data).items())),
            event.reason,
            # A form's label carries its id ("DC01 #12"), which PostgreSQL does not give twice.
            event.source_document.replace(f"#{event.subject_id}", f"of row {subject(event)}")
            if event.subject_type == "collection_form"
            else event.source_document,
            event.unit_id,
            event.actor_label,
        )
        for event in AuditEvent.objects.exclude(event_type=PROMOTED)
    )
    run.refresh_from_db()
    return {
        "records": [
            (r.row_number, r.status, r.promoted_at is not None, citizen_row(r.citizen_id), r.issues)
            for r in records
        ],
        "citizens": citizens,
        "pins": sorted(
            (citizen_row(p["citizen_id"]), p["pin"], p["cancelled_at"], p["cancel_reason"])
            for p in PinRecord.objects.values()
        ),
        "residences": sorted(
            (citizen_row(r["citizen_id"]), repr(_without(r, "id", "citizen_id")))
            for r in Residence.objects.values()
        ),
        "links": sorted(
            (citizen_row(link["citizen_id"]), repr(_without(link, "id", "citizen_id")))
            for link in FamilyLink.objects.values()
        ),
        "versions": sorted(
            (
                citizen_row(v.entity_id),
                v.version,
                v.event.event_type,
                v.actor_label,
                v.reason,
                v.source_document,
                repr(snapshot(v.snapshot)),
            )
            for v in RecordVersion.objects.filter(entity=RecordVersion.Entity.CITIZEN).select_related("event")
        ),
        "event_types": Counter(
            AuditEvent.objects.exclude(event_type=PROMOTED).values_list("event_type", flat=True)
        ),
        "events": events,
        "forms": sorted(
            (
                row_of_form[pk],
                form.status,
                repr(form.data),
                repr(form.errors),
                repr(form.warnings),
                form.commune_id,
            )
            for pk, form in forms.items()
        ),
        "counters": (
            run.rows_accepted,
            run.rows_review,
            run.rows_rejected,
            run.rows_applied,
            run.rows_queued,
        ),
    }


def _row_by_row_state(run: ImportRun, registry_held: Collection[int] = ()) -> dict[str, Any]:
    """The state the row-by-row promotion leaves, rolled back once read."""
    with contextlib.suppress(_RollbackError), transaction.atomic():
        _promote_row_by_row(run)
        state = _state(run, registry_held)
        raise _RollbackError
    return state


def _same_name_and_birth_in_the_registry(run: ImportRun) -> tuple[list[int], list[int]]:
    """Records of the same name and birth as some of the run's approved rows without a PIN (the rows the
    check asks that of), already in the registry, and the duplicates queue's word on some of the pairs:
    "not the same person" (the row is clean again), "same person" (held saying so), or none yet (held as
    a possible duplicate). One row is settled twice, under its pair with the record and under its pair
    with the row the record was written from, the later decision being the one that counts. Returns the
    records, and the rows settled "not the same person" whose word is the last."""
    rows = [
        row
        for row in StagingRecord.objects.filter(run=run, status=StagingRecord.Status.APPROVED).order_by(
            "row_number"
        )
        if not row.normalized.get("id_number") and row.normalized.get("birth_date")
    ][:14]
    assert len(rows) == 14
    held: list[int] = []
    statuses = [CandidatePair.Status.SAME] * 2 + [CandidatePair.Status.DIFFERENT] * 7
    earlier = staged_row(full_name="Người Trong Sổ Cũ")
    for row, status in zip_longest(rows, statuses):
        citizen = make_citizen(
            full_name=row.normalized["full_name"], birth_date=row.normalized["birth_date"], sex="F"
        )
        held.append(citizen.pk)
        if status is not None:
            decided = timezone.now()
            pair = candidate_pair(citizen, row)
            CandidatePair.objects.filter(pk=pair.pk).update(status=status, decided_at=decided)
    # The last row settled "not the same person" with its record, then "same person" with the row of an
    # earlier book the record was written from.
    last = rows[len(statuses) - 1]
    StagingRecord.objects.filter(pk=earlier.pk).update(citizen_id=held[len(statuses) - 1])
    pair = candidate_pair(earlier, last, unit=commune(HOAN_KIEM))
    CandidatePair.objects.filter(pk=pair.pk).update(
        status=CandidatePair.Status.SAME, decided_at=timezone.now() + timedelta(minutes=1)
    )
    return held, [row.pk for row in rows[2 : len(statuses) - 1]]


@pytest.mark.slow
def test_batches_write_exactly_what_the_row_by_row_promotion_writes(
    tmp_path: Path, seeded_pins: None
) -> None:
    run = _stage(_dirty_file(tmp_path))
    held, different = _same_name_and_birth_in_the_registry(run)
    registry._rng.seed(56)
    before = _row_by_row_state(run, held)
    registry._rng.seed(56)
    import_promote(run=run, batch_size=40, today=TODAY)
    after = _state(run, held)
    # The file holds what the batches handle and what they hand back to the row-by-row path.
    assert after["counters"][3] > 200  # rows applied
    assert after["counters"][4] > 0  # rows queued for an officer
    assert before["event_types"]["registry.family.linked"] > 100
    for part in before:
        assert after[part] == before[part], part
    # The rows settled "not the same person" reached the registry (but one, which lacks its place of birth
    # registration); the others with a record of their name and birth wait for an officer, saying why.
    assert StagingRecord.objects.filter(pk__in=different, citizen__isnull=False).count() == 5
    forms = CollectionForm.objects.filter(staging_record__run=run)
    warned = Counter(warning["code"] for form in forms for warning in form.warnings)
    assert warned["citizen.decided_same_person"] == 3
    assert warned["citizen.possible_duplicate"] >= 5
    assert not any(form.warnings for form in forms.filter(staging_record_id__in=different))


def test_a_row_whose_checks_read_a_row_of_the_same_batch_is_judged_after_it(
    tmp_path: Path, seeded_pins: None
) -> None:
    path = tmp_path / "so.csv"
    rows = [
        f"R1,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,,,{DUONG_LIEU_ADDRESS},Nguyễn Văn Bình,Lê Thị Lan",
        f"R2,Trần Thị Mai,Nữ,02/03/1970,Hà Nội,,,{HOAN_KIEM_ADDRESS},,",
        # The same person again: a possible duplicate of row 1, once row 1 is in the registry.
        f"R3,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,,,{DUONG_LIEU_ADDRESS},,",
        f"R4,Phạm Văn An,Nam,01/01/1980,Hà Nội,,,{HOAN_KIEM_ADDRESS},,",
    ]
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    run = _stage(path)
    import_promote(run=run, today=TODAY)
    statuses = list(StagingRecord.objects.order_by("row_number").values_list("status", "citizen__full_name"))
    assert statuses == [
        ("approved", "Nguyễn Văn Hùng"),
        ("approved", "Trần Thị Mai"),
        ("review", None),
        ("approved", "Phạm Văn An"),
    ]
    form = CollectionForm.objects.get()
    assert [w["code"] for w in form.warnings] == ["citizen.possible_duplicate"]
    hung = Citizen.objects.get(pk=StagingRecord.objects.get(row_number=1).citizen_id)
    # Four versions, as the services write them one step at a time: created, residence, father, mother.
    versions = list(
        RecordVersion.objects.filter(entity_id=hung.pk, entity=RecordVersion.Entity.CITIZEN).order_by(
            "version"
        )
    )
    assert [v.event.event_type for v in versions] == [
        "registry.citizen.created",
        "registry.residence.registered",
        "registry.family.linked",
        "registry.family.linked",
    ]
    assert hung.version == 4
    assert [len(v.snapshot["residences"]) for v in versions] == [0, 1, 1, 1]
    assert [[f["kind"] for f in v.snapshot["family"]] for v in versions] == [
        [],
        [],
        ["father"],
        ["father", "mother"],
    ]
    residence = Residence.objects.get(citizen=hung)
    assert residence.legacy_commune is not None
    assert (hung.area_commune_id, hung.area_legacy_commune_id) == (
        residence.commune_id,
        residence.legacy_commune_id,
    )
    assert hung.area_province_id == residence.commune.parent_id
    run.refresh_from_db()
    assert (run.rows_applied, run.rows_queued, run.rows_accepted, run.rows_review) == (3, 1, 3, 1)


def test_a_batch_the_registry_refuses_is_written_row_by_row(
    tmp_path: Path, seeded_pins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another transaction takes a PIN of the batch between the checks and the write: the batch fails
    whole, and its rows go the row-by-row way, where that row waits for an officer and the others are
    written."""
    path = tmp_path / "so.csv"
    rows = [
        f"R1,Nguyễn Văn Hùng,Nam,17/05/1990,Hà Nội,001090012345,,{DUONG_LIEU_ADDRESS},,",
        f"R2,Trần Thị Mai,Nữ,02/03/1970,Hà Nội,,,{HOAN_KIEM_ADDRESS},,",
    ]
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    run = _stage(path)
    real_gather, real_write = services._approved_for_bulk, workflow.dc01_write_bulk
    calls = []

    def taken_meanwhile(**kwargs: Any) -> Any:
        gathered = real_gather(**kwargs)
        if kwargs["record"].row_number == 1:
            # The other transaction, once row 1 is judged: an officer registers someone under its PIN.
            registry.citizen_create(
                actor=Actor(system="other"),
                data=registry.NewCitizen(
                    full_name="Lê Văn Khác",
                    birth_date="1990-01-01",
                    sex="M",
                    birth_registration_place="001",
                    pin="001090012345",
                ),
                residence=None,
                reason="Thử",
                source_document="Thử",
            )
        return gathered

    def write(*, actor: Actor, entries: Any) -> list[Citizen]:
        calls.append(len(entries))
        return real_write(actor=actor, entries=entries)

    monkeypatch.setattr(services, "_approved_for_bulk", taken_meanwhile)
    monkeypatch.setattr(workflow, "dc01_write_bulk", write)
    import_promote(run=run, today=TODAY)
    assert calls == [2]
    first, second = StagingRecord.objects.order_by("row_number")
    assert (first.status, first.citizen_id, second.status) == ("review", None, "approved")
    form = CollectionForm.objects.get()
    assert form.staging_record == first
    assert [e["code"] for e in form.errors] == ["pin.duplicate"]
    assert Citizen.objects.get(pk=second.citizen_id).full_name == "Trần Thị Mai"
    run.refresh_from_db()
    assert (run.rows_applied, run.rows_queued) == (1, 1)


def test_the_bulk_write_refuses_a_number_the_registry_holds_and_writes_nothing(seeded_pins: None) -> None:
    hanoi = commune(HOAN_KIEM)
    entry = registry.NewCitizenEntry(
        data=registry.NewCitizen(
            full_name="Nguyễn Văn Hùng",
            birth_date="1990-05-17",
            sex="M",
            birth_registration_place="001",
            old_id_number="012345678",
        ),
        residence=registry.NewResidence(
            kind="permanent", commune=hanoi, address_detail="Số 1", registered_on=TODAY
        ),
        reason="Nhập",
        source_document="Tệp",
    )
    actor = Actor(system="import")
    with transaction.atomic():
        registry.citizens_create_bulk(actor=actor, entries=[entry])
    before = (Citizen.objects.count(), AuditEvent.objects.count(), RecordVersion.objects.count())
    with pytest.raises(DomainError) as refused, transaction.atomic():
        registry.citizens_create_bulk(actor=actor, entries=[entry])
    assert [e.code for e in refused.value.errors] == ["cmnd.duplicate"]
    assert (Citizen.objects.count(), AuditEvent.objects.count(), RecordVersion.objects.count()) == before
    # A refusal of the rules is told before any write, as citizen_create tells it.
    bad = registry.NewCitizenEntry(
        data=registry.NewCitizen(
            full_name="Nguyễn Văn 3", birth_date="1990", sex="M", birth_registration_place="001"
        ),
        residence=entry.residence,
        reason="Nhập",
        source_document="Tệp",
        relatives=(("father", "Trần 7"),),
    )
    refusals = registry.citizen_bulk_refusals(actor=actor, entry=bad)
    assert {e.field for e in refusals} == {"full_name", "relative_name"}
    with pytest.raises(DomainError), transaction.atomic():
        registry.citizens_create_bulk(actor=actor, entries=[bad])
    assert Citizen.objects.count() == before[0]


@pytest.mark.slow
def test_a_crash_mid_batch_loses_and_doubles_no_row_when_the_import_resumes(
    tmp_path: Path, seeded_pins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = _stage(_dirty_file(tmp_path))
    registry._rng.seed(56)
    expected = _row_by_row_state(run)
    registry._rng.seed(56)
    real = workflow.dc01_write_bulk
    written: list[int] = []

    class Killed(BaseException):
        """The process killed: nothing of the transaction under way commits."""

    def killed_in_the_third_chunk(*, actor: Actor, entries: Any) -> list[Citizen]:
        # A chunk holds 40 rows at most: past 80 rows written, two chunks have committed.
        if sum(written) >= 90:
            raise Killed
        written.append(len(entries))
        return real(actor=actor, entries=entries)

    monkeypatch.setattr(workflow, "dc01_write_bulk", killed_in_the_third_chunk)
    with pytest.raises(Killed):
        import_promote(run=run, batch_size=40, today=TODAY)
    run.refresh_from_db()
    promoted = StagingRecord.objects.filter(run=run, promoted_at__isnull=False)
    # The chunks committed before the kill are promoted whole, their rows counted once; nothing of the
    # chunk under way is.
    assert promoted.count() == run.rows_applied + run.rows_queued + promoted.filter(status="rejected").count()
    assert Citizen.objects.count() == run.rows_applied
    assert 0 < run.rows_applied < expected["counters"][3]

    monkeypatch.setattr(workflow, "dc01_write_bulk", real)
    import_promote(run=run, batch_size=40, today=TODAY)
    after = _state(run)
    # The PINs drawn differ from the uninterrupted run's (the draws of the lost chunk are not replayed);
    # everything else is as the row-by-row promotion writes it.
    for part in ("records", "links", "event_types", "forms", "counters"):
        assert after[part] == expected[part], part
    assert len(after["pins"]) == len({pin for _row, pin, *_rest in after["pins"]}) == len(expected["pins"])
    assert sorted(after["citizens"]) == sorted(expected["citizens"])
    assert len(after["versions"]) == len(expected["versions"])


def test_a_batch_of_approved_rows_costs_a_few_statements_per_row(tmp_path: Path) -> None:
    path = tmp_path / "so.csv"
    rows = [
        f"R{n},Nguyễn Văn Hùng {chr(65 + n % 26)},Nam,17/05/{1950 + n},Hà Nội,,,{DUONG_LIEU_ADDRESS},"
        f"Nguyễn Văn Bình,Lê Thị Lan"
        for n in range(40)
    ]
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    run = _stage(path)
    with CaptureQueriesContext(connection) as queries:
        import_promote(run=run, today=TODAY)
    run.refresh_from_db()
    assert run.rows_applied == 40
    # Row by row this was ~65 statements per row. The checks' questions to the registry (the holders of
    # a PIN, a CMND, a name and birth) are read once per chunk and again after each write, each table is
    # written in one statement per batch, and the rows are marked promoted by one statement run over them
    # (counted once here): 43 statements for the 40 rows, in two batches (the names repeat after 26).
    assert len(queries) < 2 * 40
