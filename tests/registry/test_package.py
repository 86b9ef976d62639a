"""Population packages: `dancu generate --package` writes a population to files, `dancu load_package`
loads them into an empty registry in one transaction (registry/package.py).

The reference for what a package load must write is the batch loader (`load_population`), whose rows are
checked in tests/registry/test_bulk.py: the same generated people loaded either way give the same rows,
apart from the ids the batch loader takes from the sequences and the time, actor and audit event of the
load.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models, transaction
from hypothesis import given
from hypothesis import strategies as st

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.lib.errors import DomainError
from dancu.lib.pgcopy import copy_text, read_copy_rows
from dancu.registry.bulk import STAMP_COLUMNS, LoadStats, load_population, placement_choices
from dancu.registry.generator import generate_population
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
from dancu.registry.package import load_package, write_package
from tests.conftest import make_citizen

pytestmark = pytest.mark.django_db

TODAY = date(2025, 7, 1)
LOADER = Actor(system="load_package")
MODELS: dict[str, type[models.Model]] = {
    "citizen": Citizen,
    "pin": PinRecord,
    "household": Household,
    "member": HouseholdMember,
    "link": FamilyLink,
    "residence": Residence,
    "card": IdentityCardRecord,
    "version": RecordVersion,
}
# The ids a snapshot holds, by the key it holds them under, and the table they are ids of.
SNAPSHOT_IDS = {"id": Residence, "household_id": Household, "citizen_id": Citizen, "relative_id": Citizen}


class _RolledBackError(Exception):
    pass


def _households(people: int, seed: int, **placement: Any) -> list[Any]:
    communes = placement_choices(**placement)
    return list(generate_population(people=people, seed=seed, communes=communes, today=TODAY))


def _write(directory: Path, people: int, seed: int, **placement: Any) -> LoadStats:
    return write_package(_households(people, seed, **placement), directory, description={"seed": seed})


def _indexes(*, predicates: bool = True) -> list[str]:
    """The registry tables' index and constraint definitions, and the foreign keys of other tables that
    point at them (a load sets those aside too), to see that a load left them all.

    An index a load built again from its definition may print its condition in another form than the
    one the migration made (PostgreSQL parses the cast of `kind IN ('father', 'mother')` back as a cast of
    the array, not of each value): `predicates=False` gives for each index its table, name, kind and
    columns, and whether it has a condition, not the condition's text."""
    tables = [model._meta.db_table for model in MODELS.values()]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            indexes = (
                "SELECT indexdef FROM pg_indexes WHERE tablename = ANY(%s)"
                if predicates
                else "SELECT concat_ws(' ', indrelid::regclass, indexrelid::regclass, indisunique, indkey, "
                "indexprs IS NOT NULL, indpred IS NOT NULL) "
                "FROM pg_index WHERE indrelid::regclass::text = ANY(%s)"
            )
            cursor.execute(
                f"{indexes} UNION ALL "  # noqa: S608 - one of two fixed texts
                "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) "
                "FROM pg_constraint "
                "WHERE conrelid::regclass::text = ANY(%s) OR confrelid::regclass::text = ANY(%s) "
                "ORDER BY 1",
                [tables, tables, tables],
            )
        else:
            marks = ", ".join(["%s"] * len(tables))
            cursor.execute(
                f"SELECT sql FROM sqlite_master WHERE tbl_name IN ({marks}) AND sql IS NOT NULL ORDER BY 1",  # noqa: S608 - marks only
                tables,
            )
        return [row[0] for row in cursor.fetchall()]


def _registry_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the eight tables, ids counted from the first row of each table, without the stamps."""
    offsets = {
        model: (model._default_manager.aggregate(first=models.Min("pk"))["first"] or 1) - 1
        for model in MODELS.values()
    }

    def shifted(value: Any, model: type[models.Model]) -> Any:
        return None if value is None else value - offsets[model]

    def snapshot(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: shifted(item, SNAPSHOT_IDS[key]) if key in SNAPSHOT_IDS else snapshot(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [snapshot(item) for item in value]
        return value

    rows = {}
    for key, model in MODELS.items():
        stamps = STAMP_COLUMNS.get(key, ())
        fields = [f for f in model._meta.concrete_fields if f.column not in stamps]
        table = []
        for values in model._default_manager.order_by("pk").values_list(*(f.attname for f in fields)):
            row = []
            for field, value in zip(fields, values, strict=True):
                if field.primary_key:
                    row.append(shifted(value, model))
                elif isinstance(field, models.ForeignKey) and field.related_model in offsets:
                    row.append(shifted(value, field.related_model))
                elif field.name == "entity_id":
                    row.append(shifted(value, Citizen if values[1] == "citizen" else Household))
                elif field.name == "snapshot":
                    row.append(snapshot(value))
                else:
                    row.append(value)
            table.append(tuple(row))
        rows[key] = table
    return rows


# Writing and loading ----------------------------------------------------------------------------------------


def test_a_package_load_writes_the_rows_the_batch_loader_writes(tmp_path: Path) -> None:
    households = _households(400, seed=21, provinces=["01"], legacy_province="36")
    expected: dict[str, list[tuple[Any, ...]]] = {}

    def load_and_read() -> None:
        with transaction.atomic():
            load_population(households, actor=Actor(system="generate"), batch_size=150)
            expected.update(_registry_rows())
            raise _RolledBackError

    with pytest.raises(_RolledBackError):
        load_and_read()
    assert not Citizen.objects.exists()

    written = write_package(households, tmp_path / "p", description={"seed": 21}, batch_size=150)
    loaded = load_package(tmp_path / "p", actor=LOADER)

    assert (
        (written.people, written.households) == (loaded.people, loaded.households) == (400, len(households))
    )
    assert loaded.rows == sum(len(rows) for rows in expected.values())
    assert _registry_rows() == expected
    assert len(expected["citizen"]) == 400
    assert expected["link"]
    assert expected["card"]


def test_the_load_is_one_audit_event_that_every_version_points_at(tmp_path: Path) -> None:
    _write(tmp_path / "p", 120, seed=22, communes=["00097"])
    before = AuditEvent.objects.count()
    load_package(tmp_path / "p", actor=LOADER)

    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("pk")
    assert event.event_type == EventType.POPULATION_GENERATED
    assert event.actor_label == "system:load_package"
    assert event.data["package"] == {"seed": 22}
    assert event.data["people"] == 120
    versions = RecordVersion.objects.all()
    assert versions.count() == Citizen.objects.count() + Household.objects.count()
    assert set(versions.values_list("event_id", "actor_label", "recorded_at")) == {
        (event.pk, "system:load_package", event.occurred_at)
    }
    assert set(Citizen.objects.values_list("created_at", "updated_at")) == {
        (event.occurred_at, event.occurred_at)
    }
    assert set(PinRecord.objects.values_list("issued_at", flat=True)) == {event.occurred_at}


def test_rows_written_after_a_load_take_the_next_ids(tmp_path: Path) -> None:
    _write(tmp_path / "p", 80, seed=23, communes=["00097"])
    indexes = _indexes(predicates=False)
    load_package(tmp_path / "p", actor=LOADER)
    # Every index and constraint set aside is back, the other tables' foreign keys into the registry too.
    assert _indexes(predicates=False) == indexes
    last_version = RecordVersion.objects.aggregate(last=models.Max("pk"))["last"]
    assert Citizen.objects.aggregate(last=models.Max("pk"))["last"] == 80

    newcomer = make_citizen(full_name="Đặng Thị Hoà")
    assert newcomer.pk == 81
    assert PinRecord.objects.get(citizen=newcomer).pk == 81
    assert (
        min(RecordVersion.objects.filter(entity="citizen", entity_id=81).values_list("pk", flat=True))
        == last_version + 1
    )


# Refusals ---------------------------------------------------------------------------------------------------


def _refusal(directory: Path) -> str:
    indexes = _indexes()
    events = AuditEvent.objects.count()
    with pytest.raises(DomainError) as caught:
        load_package(directory, actor=LOADER)
    # Nothing of the load stays: no row, no event, and every index and constraint is back.
    assert not Citizen.objects.exists()
    assert not RecordVersion.objects.exists()
    assert AuditEvent.objects.count() == events
    assert _indexes() == indexes
    (error,) = caught.value.errors
    assert error.field == "package"
    return error.code


def _rewrite(directory: Path, key: str, change: Any) -> None:
    """Change the file of table `key`, and the manifest's checksum to match, as a forger would."""
    manifest = json.loads((directory / "manifest.json").read_text())
    path = directory / manifest["tables"][key]["file"]
    path.write_bytes(change(path.read_bytes()))
    manifest["tables"][key]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_a_registry_with_citizens_is_not_loaded_into(tmp_path: Path) -> None:
    _write(tmp_path / "p", 50, seed=24, communes=["00097"])
    make_citizen(full_name="Đặng Văn Bình")
    with pytest.raises(DomainError) as caught:
        load_package(tmp_path / "p", actor=LOADER)
    assert caught.value.errors[0].code == "package.registry_not_empty"
    assert Citizen.objects.count() == 1


def test_a_changed_file_loads_nothing(tmp_path: Path) -> None:
    _write(tmp_path / "p", 60, seed=25, communes=["00097"])
    path = tmp_path / "p" / "registry_recordversion.copy"
    path.write_bytes(path.read_bytes().replace(b"Th\xe1\xbb\x8b", b"Thi", 1))
    assert _refusal(tmp_path / "p") == "package.checksum"


def _set_citizen_value(directory: Path, column: str, value: bytes) -> None:
    """Give the first citizen of the package another value in `column`, checksum and all."""
    manifest = json.loads((directory / "manifest.json").read_text())
    position = manifest["tables"]["citizen"]["columns"].index(column)

    def change(data: bytes) -> bytes:
        first, rest = data.split(b"\n", 1)
        values = first.split(b"\t")
        values[position] = value
        return b"\t".join(values) + b"\n" + rest

    _rewrite(directory, "citizen", change)


def test_a_file_damaged_into_other_bytes_than_utf8_is_named_changed(tmp_path: Path) -> None:
    _write(tmp_path / "p", 40, seed=31, communes=["00097"])
    path = tmp_path / "p" / "registry_citizen.copy"
    path.write_bytes(path.read_bytes().replace("ễ".encode(), b"\xff\xfe", 1))
    assert _refusal(tmp_path / "p") == "package.checksum"


def test_rows_that_are_not_utf8_load_nothing(tmp_path: Path) -> None:
    _write(tmp_path / "p", 40, seed=32, communes=["00097"])
    _set_citizen_value(tmp_path / "p", "full_name", b"Nguy\xff\xfen")
    # PostgreSQL's COPY names the byte sequence as a broken rule of its own.
    assert _refusal(tmp_path / "p") == (
        "package.rows" if connection.vendor == "postgresql" else "package.encoding"
    )


def test_a_row_naming_a_unit_that_does_not_exist_loads_nothing(tmp_path: Path) -> None:
    _write(tmp_path / "p", 40, seed=33, communes=["00097"])
    _set_citizen_value(tmp_path / "p", "area_commune_id", b"99999999")
    assert _refusal(tmp_path / "p") == "package.rows"


@pytest.mark.parametrize("value", [b"2025-02-30", b"1990-13", b"199O", b"9999999"])
def test_a_birth_date_that_is_no_date_loads_nothing(tmp_path: Path, value: bytes) -> None:
    _write(tmp_path / "p", 40, seed=34, communes=["00097"])
    _set_citizen_value(tmp_path / "p", "birth_date", value)
    with pytest.raises(DomainError) as caught:
        load_package(tmp_path / "p", actor=LOADER)
    assert caught.value.errors[0].code == "package.rows"
    assert "birth_date" in caught.value.errors[0].message_en
    assert not Citizen.objects.exists()


def test_two_citizens_with_one_pin_load_nothing(tmp_path: Path) -> None:
    _write(tmp_path / "p", 60, seed=26, communes=["00097"])
    lines = (tmp_path / "p" / "registry_citizen.copy").read_bytes().split(b"\n")
    pins = [line.split(b"\t")[1] for line in lines[:2]]
    _rewrite(tmp_path / "p", "citizen", lambda data: data.replace(pins[1], pins[0]))
    assert _refusal(tmp_path / "p") == "package.rows"


def test_a_package_without_its_manifest_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "p", 30, seed=27, communes=["00097"])
    (tmp_path / "p" / "manifest.json").rename(tmp_path / "p" / "manifest.json.partial")
    assert _refusal(tmp_path / "p") == "package.no_manifest"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda m: m.update(units="0" * 64), "package.units"),
        (lambda m: m.update(version=2), "package.version"),
        (lambda m: m.update(format="something else"), "package.bad_manifest"),
        (lambda m: m.update(people="a million"), "package.bad_manifest"),
        (lambda m: m.update(households=-1), "package.bad_manifest"),
        (lambda m: m["tables"]["citizen"]["columns"].remove("email"), "package.columns"),
        (lambda m: m["tables"]["citizen"].update(file="../../etc/passwd"), "package.bad_manifest"),
        (lambda m: m["tables"]["citizen"].update(table="accounts_user"), "package.bad_manifest"),
        (lambda m: m["tables"].pop("card"), "package.bad_manifest"),
        (
            lambda m: m["tables"]["household"].update(rows=m["tables"]["household"]["rows"] + 1),
            "package.rows_count",
        ),
    ],
    ids=[
        "units",
        "version",
        "format",
        "people",
        "households",
        "columns",
        "file",
        "table-name",
        "table",
        "rows",
    ],
)
def test_a_manifest_that_does_not_fit_is_refused(tmp_path: Path, change: Any, code: str) -> None:
    _write(tmp_path / "p", 30, seed=28, communes=["00097"])
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    change(manifest)
    (tmp_path / "p" / "manifest.json").write_text(json.dumps(manifest))
    assert _refusal(tmp_path / "p") == code


def test_a_package_is_written_only_into_a_new_or_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "notes.txt").write_text("keep me")
    with pytest.raises(DomainError) as caught:
        _write(tmp_path / "p", 10, seed=29, communes=["00097"])
    assert caught.value.errors[0].code == "package.directory_not_empty"
    assert [path.name for path in (tmp_path / "p").iterdir()] == ["notes.txt"]


def test_every_file_of_a_package_is_on_disk_before_its_manifest_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power cut must not leave a manifest naming data the disk never got: the files are synced, then
    the manifest under its temporary name, then the rename, then the directory that holds the name."""
    steps: list[str] = []
    sync, rename = os.fsync, os.replace

    def synced(descriptor: int) -> None:
        steps.append("sync " + Path(os.readlink(f"/proc/self/fd/{descriptor}")).name)
        sync(descriptor)

    def renamed(source: Any, target: Any) -> None:
        steps.append(f"rename {Path(source).name}")
        rename(source, target)

    monkeypatch.setattr(os, "fsync", synced)
    monkeypatch.setattr(os, "replace", renamed)
    _write(tmp_path / "p", 20, seed=30, communes=["00097"])

    files = sorted(path.name for path in (tmp_path / "p").glob("*.copy"))
    assert len(files) == 8
    assert sorted(steps[:8]) == [f"sync {name}" for name in files]
    assert steps[8:] == ["sync manifest.json.partial", "rename manifest.json.partial", "sync p"]


# The COPY text reader (SQLite has no COPY: the package's rows are read back in Python) ----------------------

_cell = st.one_of(st.none(), st.text(alphabet=st.sampled_from(["a", "ễ", "\\", "\t", "\n", "\r", "N", " "])))


@given(rows=st.lists(st.lists(_cell, min_size=1, max_size=4), max_size=6), cut=st.integers(1, 9))
def test_copy_text_is_read_back_whatever_the_pieces(rows: list[list[str | None]], cut: int) -> None:
    # Rows of one shape, as a table's are.
    width = max((len(row) for row in rows), default=1)
    rows = [row + [""] * (width - len(row)) for row in rows]
    data = copy_text(rows).encode()
    pieces = [data[start : start + cut] for start in range(0, len(data), cut)]
    assert list(read_copy_rows(pieces)) == rows


# Commands ---------------------------------------------------------------------------------------------------


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_commands_write_and_load_a_package(tmp_path: Path) -> None:
    written = _command(
        "generate", "--people", "70", "--seed", "30", "--communes", "00097", "--package", str(tmp_path / "p")
    )
    assert "70 người" in written
    assert str(tmp_path / "p") in written
    loaded = _command("load_package", str(tmp_path / "p"))
    assert "70 people" in loaded
    assert "people/s" in loaded
    assert Citizen.objects.count() == 70

    with pytest.raises(CommandError) as caught:
        _command("load_package", str(tmp_path / "p"))
    assert "a package loads only into an empty registry" in str(caught.value)
    assert "gói chỉ nạp vào một cơ sở dữ liệu dân cư còn trống" in str(caught.value)


def test_commands_refuse_what_cannot_be_done(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--out and --package exclude each other"):
        _command("generate", "--people", "5", "--seed", "1", "--out", "x.csv", "--package", str(tmp_path))
    with pytest.raises(CommandError, match="this is not a population package"):
        _command("load_package", str(tmp_path / "nothing"))


@pytest.mark.django_db(transaction=True)
def test_the_load_commits_and_refreshes_the_statistics_outside_a_transaction(tmp_path: Path) -> None:
    # As an operator runs it: no test transaction around it, so the load commits and ends with ANALYZE
    # (which each database spells its own way).
    _command(
        "generate", "--people", "40", "--seed", "31", "--communes", "00097", "--package", str(tmp_path / "p")
    )
    loaded = _command("load_package", str(tmp_path / "p"))
    assert "40 people" in loaded
    assert Citizen.objects.count() == 40
    assert RecordVersion.objects.filter(entity="citizen").count() == 40
