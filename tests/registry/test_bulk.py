"""Loading a generated population into the registry, and the `dancu generate` command.

The units are the real ones (loaded once per test session by tests/conftest.py). Populations are small:
these tests check what is written, not how fast (that is bench/'s job).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.geo.models import AdminUnit, UnitSuccession
from dancu.lib import pgcopy
from dancu.lib import pin as pin_codec
from dancu.lib.errors import DomainError
from dancu.lib.vntext import fold
from dancu.registry import bulk
from dancu.registry.bulk import LoadStats, load_population, placement_choices
from dancu.registry.generator import generate_population
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

pytestmark = pytest.mark.django_db

TODAY = date(2025, 7, 1)
GENERATOR = Actor(system="generate")


def _load(people: int, seed: int, *, batch_size: int = 250, **placement: Any) -> LoadStats:
    communes = placement_choices(**placement)
    households = generate_population(people=people, seed=seed, communes=communes, today=TODAY)
    return load_population(households, actor=GENERATOR, batch_size=batch_size, event_data={"seed": seed})


# Placement ----------------------------------------------------------------------------------------------


def test_placement_in_a_2025_province_uses_its_communes_and_old_birth_provinces() -> None:
    choices = placement_choices(provinces=["79"])
    communes = AdminUnit.objects.filter(structure="2025", level="commune", province_code="79")
    assert len(choices) == communes.count()
    assert {choice.province_code for choice in choices} == {"79"}
    assert all(not choice.is_legacy for choice in choices)
    # TP Hồ Chí Minh took in Bình Dương and Bà Rịa - Vũng Tàu in 2025: their people keep their PIN prefixes.
    assert {choice.birth_province_code for choice in choices} == {"074", "077", "079"}


def test_placement_by_commune_codes() -> None:
    choices = placement_choices(communes=["00097", "26740", "00097"])
    assert [choice.name for choice in choices] == ["Phường Hồng Hà", "Phường Sài Gòn"]


def test_placement_legacy_province_maps_each_old_commune_to_its_default_successor() -> None:
    choices = placement_choices(legacy_province="036")
    assert choices == placement_choices(legacy_province="36")
    assert all(choice.is_legacy for choice in choices)
    sample = choices[len(choices) // 2]
    succession = UnitSuccession.objects.get(legacy_id=sample.legacy_commune_id, is_default=True)
    assert succession.successor_id == sample.commune_id
    assert sample.origin_province_name == "Tỉnh Nam Định"
    assert sample.birth_province_code == "036"


@pytest.mark.parametrize(
    ("placement", "field", "code"),
    [
        ({"provinces": ["01", "99"]}, "provinces", "placement.unknown_province"),
        ({"communes": ["99999"]}, "communes", "placement.unknown_commune"),
        ({"legacy_province": "00"}, "legacy_province", "placement.unknown_legacy_province"),
    ],
)
def test_unknown_codes_are_named(placement: dict[str, Any], field: str, code: str) -> None:
    with pytest.raises(DomainError) as caught:
        placement_choices(**placement)
    [error] = caught.value.errors
    assert (error.field, error.code) == (field, code)
    assert "99" in error.message_en or "00" in error.message_en


# Loading ------------------------------------------------------------------------------------------------


def test_counts_match_what_was_generated(monkeypatch: pytest.MonkeyPatch) -> None:
    # COPY text goes in pieces of a few rows, so that rows split across pieces are read whole.
    monkeypatch.setattr(pgcopy, "CHUNK_ROWS", 7)
    stats = _load(700, seed=1, provinces=["01"])
    households = list(
        generate_population(people=700, seed=1, communes=placement_choices(provinces=["01"]), today=TODAY)
    )
    people = [p for h in households for p in h.members]
    assert (stats.people, stats.households) == (700, len(households))
    assert stats.batches == 3
    assert Citizen.objects.count() == PinRecord.objects.count() == 700
    assert Household.objects.count() == len(households)
    assert HouseholdMember.objects.count() == 700
    assert FamilyLink.objects.count() == sum(len(h.family_links()) for h in households)
    assert Residence.objects.count() == 700 + sum(p.temporary is not None for p in people)
    assert IdentityCardRecord.objects.count() == sum(len(p.cards) for p in people)
    assert set(Citizen.objects.values_list("pin", flat=True)) == {p.pin for p in people}


def test_registry_invariants_hold_after_loading() -> None:
    _load(600, seed=2, provinces=["01", "79"])
    living = Citizen.objects.filter(date_of_death__isnull=True)
    assert living.count() > 550
    # One current permanent residence and one current household per living citizen.
    permanent = Residence.objects.filter(kind="permanent", ended_on__isnull=True)
    assert permanent.count() == living.count()
    assert not living.exclude(pk__in=permanent.values("citizen_id")).exists()
    assert HouseholdMember.objects.filter(left_on__isnull=True).count() == living.count()
    # One current head per household, alive.
    heads = HouseholdMember.objects.filter(relation_to_head="head", left_on__isnull=True)
    assert heads.count() == Household.objects.count()
    assert not heads.filter(citizen__date_of_death__isnull=False).exists()
    # The deceased keep their record; their residence and membership ended on the day they died.
    for citizen in Citizen.objects.filter(date_of_death__isnull=False):
        residence = citizen.residences.get(kind="permanent")
        assert residence.ended_on is not None
        assert citizen.date_of_death is not None
        assert residence.ended_on.isoformat() == citizen.date_of_death.to_storage()
        assert citizen.household_memberships.get().left_on == residence.ended_on
    # The area is the permanent residence's commune and that commune's province.
    for citizen in Citizen.objects.select_related("area_commune"):
        residence = citizen.residences.get(kind="permanent")
        assert citizen.area_commune_id == residence.commune_id
        assert citizen.area_commune is not None
        assert citizen.area_province_id == citizen.area_commune.parent_id
        assert citizen.area_legacy_commune_id is None
        assert citizen.name_key == fold(citizen.full_name)
        assert citizen.birth_date is not None
        info = pin_codec.decode(citizen.pin)
        assert (info.sex, info.birth_year) == (citizen.sex, citizen.birth_date.year)
        assert citizen.birth_registration_place == info.place_code
    # Temporary residence elsewhere, within two years.
    for stay in Residence.objects.filter(kind="temporary"):
        assert stay.expires_on is not None
        assert (stay.expires_on - stay.registered_on).days <= 731


def test_family_links_point_both_ways_with_pins() -> None:
    _load(400, seed=3, communes=["00097"])
    linked = FamilyLink.objects.filter(relative__isnull=False).select_related("relative")
    assert linked.exists()
    for link in linked:
        assert link.relative is not None
        assert link.relative_pin == link.relative.pin
        assert link.relative_name == link.relative.full_name
        back = {"father": "child", "mother": "child", "spouse": "spouse"}.get(link.kind)
        if back:
            assert FamilyLink.objects.filter(citizen=link.relative, kind=back, relative=link.citizen).exists()
    named_only = FamilyLink.objects.filter(relative__isnull=True)
    assert named_only.exists()
    assert not named_only.filter(relative_name="").exists()


def test_cards_are_numbered_by_pin_or_cmnd() -> None:
    _load(400, seed=4, communes=["00097"])
    for card in IdentityCardRecord.objects.select_related("citizen"):
        expected = card.citizen.old_id_number if card.kind == "cmnd" else card.citizen.pin
        assert card.number == expected


def test_every_record_has_version_1_with_the_snapshot_the_services_would_write() -> None:
    stats = _load(500, seed=5, provinces=["01"], batch_size=200)
    events = AuditEvent.objects.filter(event_type=EventType.POPULATION_GENERATED).order_by("pk")
    assert events.count() == stats.batches == 3
    assert sum(event.data["people"] for event in events) == 500
    assert {event.data["seed"] for event in events} == {5}
    assert {event.actor_label for event in events} == {"system:generate"}

    versions = RecordVersion.objects.all()
    assert versions.filter(entity="citizen").count() == Citizen.objects.count()
    assert versions.filter(entity="household").count() == Household.objects.count()
    assert set(versions.values_list("version", flat=True)) == {1}
    assert set(versions.values_list("event_id", flat=True)) == set(events.values_list("pk", flat=True))
    # Compare with the snapshots built from the database rows, as the services read them.
    for citizen in Citizen.objects.order_by("?")[:60]:
        expected = citizen_snapshot(
            citizen,
            residences=list(citizen.residences.filter(ended_on__isnull=True).order_by("kind", "pk")),
            membership=citizen.household_memberships.filter(left_on__isnull=True).first(),
            family=list(citizen.family_links.order_by("kind", "pk")),
        )
        assert versions.get(entity="citizen", entity_id=citizen.pk).snapshot == expected
    for household in Household.objects.order_by("?")[:20]:
        expected = household_snapshot(household, members=household.memberships.order_by("pk"))
        assert versions.get(entity="household", entity_id=household.pk).snapshot == expected


def test_household_numbers_follow_the_commune_sequence() -> None:
    _load(300, seed=6, communes=["00097"])
    _load(300, seed=7, communes=["00097"])
    numbers = sorted(Household.objects.values_list("number", flat=True))
    assert numbers[0] == "00097-00000001"
    assert numbers == [f"00097-{n:08d}" for n in range(1, len(numbers) + 1)]


def test_legacy_province_placement() -> None:
    _load(400, seed=8, legacy_province="36")
    households = Household.objects.select_related("legacy_commune__parent", "commune")
    assert households.exists()
    for household in households:
        legacy = household.legacy_commune
        assert legacy is not None
        assert legacy.structure == "legacy"
        assert legacy.province_code == "36"
        assert UnitSuccession.objects.filter(
            legacy=legacy, successor=household.commune, is_default=True
        ).exists()
        assert legacy.parent is not None
        assert household.address_original.endswith(f"{legacy.name}, {legacy.parent.name}, Tỉnh Nam Định")
        assert household.address_original.startswith(household.address_detail)
    citizens = Citizen.objects.all()
    assert not citizens.filter(area_legacy_commune__isnull=True).exists()
    assert set(citizens.values_list("area_province__code", flat=True)) == {"37"}  # Nam Định joined Ninh Bình
    permanent = Residence.objects.filter(kind="permanent")
    assert not permanent.filter(legacy_commune__isnull=True).exists()
    assert Counter(pin[:3] for pin in citizens.values_list("pin", flat=True)).most_common(1)[0][0] == "036"


def test_loading_twice_with_different_seeds_gives_no_pin_collision() -> None:
    _load(500, seed=9, communes=["00097"])
    _load(500, seed=10, communes=["00097"])
    assert Citizen.objects.count() == PinRecord.objects.count() == 1000
    assert Citizen.objects.values("pin").distinct().count() == 1000


def test_loading_the_same_seed_twice_draws_every_number_again() -> None:
    first = _load(300, seed=11, communes=["00097"])
    second = _load(300, seed=11, communes=["00097"])
    assert first.pins_redrawn == 0
    assert second.pins_redrawn == 300
    assert second.cmnd_redrawn == Citizen.objects.filter(old_id_number__isnull=False).count() // 2
    pins = list(Citizen.objects.values_list("pin", flat=True))
    assert len(set(pins)) == 600
    # A redrawn PIN keeps what it says about the person; only the random serial changed.
    for citizen in Citizen.objects.all():
        assert citizen.birth_date is not None
        assert not pin_codec.consistency_errors(
            citizen.pin, sex=citizen.sex, birth_year=citizen.birth_date.year
        )
    # Links and cards use the new PIN.
    for link in FamilyLink.objects.filter(relative__isnull=False).select_related("relative"):
        assert link.relative is not None
        assert link.relative_pin == link.relative.pin


def test_a_pin_in_the_ledger_is_never_given_again() -> None:
    """A cancelled PIN stays in the ledger (PinRecord) after its citizen got a new one."""
    _load(50, seed=12, communes=["00097"])
    citizen = Citizen.objects.order_by("pk").first()
    assert citizen is not None
    old_pin = citizen.pin
    citizen.pin = f"{old_pin[:6]}{(int(old_pin[6:]) % 999_999) + 1:06d}"
    citizen.save(update_fields=["pin"])
    PinRecord.objects.create(pin=citizen.pin, citizen=citizen)
    stats = _load(50, seed=12, communes=["00097"])
    assert stats.pins_redrawn == 50
    assert not Citizen.objects.filter(pin=old_pin).exists()
    assert PinRecord.objects.filter(pin=old_pin).count() == 1


def test_a_failing_batch_leaves_no_half_written_household(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first batch commits; the second fails while writing its tables and leaves nothing behind."""
    written: list[str] = []
    original = bulk._write

    def failing_write(table: bulk._Table) -> None:
        if written.count("registry_citizen") == 2 and table.name == "registry_familylink":
            raise RuntimeError("disk full")
        written.append(table.name)
        original(table)

    monkeypatch.setattr(bulk, "_write", failing_write)
    with pytest.raises(RuntimeError, match="disk full"):
        _load(600, seed=13, communes=["00097"], batch_size=300)
    assert Citizen.objects.count() == HouseholdMember.objects.count()
    assert 300 <= Citizen.objects.count() < 600
    assert not Household.objects.annotate(n=Count("memberships")).filter(n=0).exists()
    assert AuditEvent.objects.filter(event_type=EventType.POPULATION_GENERATED).count() == 1


@pytest.mark.parametrize("set_based", [True, False], ids=["checked-per-batch", "checked-per-row"])
def test_rows_pointing_at_a_missing_unit_never_commit(
    monkeypatch: pytest.MonkeyPatch, set_based: bool
) -> None:
    # Per batch: the loader's own check (PostgreSQL, privileged role). Per row: the database's foreign
    # keys, which Django declares deferred, so they are checked at commit: check_constraints() is that
    # check inside the test's transaction.
    monkeypatch.setattr(
        bulk, "_may_switch_off_row_triggers", lambda: set_based and connection.vendor == "postgresql"
    )
    missing = AdminUnit.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    choices = [dataclasses.replace(c, commune_id=missing) for c in placement_choices(communes=["00097"])]
    households = generate_population(people=20, seed=3, communes=choices, today=TODAY)
    with pytest.raises(IntegrityError):
        _commit(lambda: load_population(households, actor=GENERATOR))
    assert not Citizen.objects.exists()


def test_the_per_batch_check_needs_the_right_to_skip_row_triggers(monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "postgresql":
        assert not bulk._may_switch_off_row_triggers()
        return
    # The test server's role is a superuser: it has the right, asked one way from PostgreSQL 15 on and
    # another before.
    assert bulk._may_switch_off_row_triggers()
    monkeypatch.setattr(connection, "pg_version", 140000)
    assert bulk._may_switch_off_row_triggers()


def test_row_triggers_are_on_again_after_a_load() -> None:
    _load(30, seed=5, communes=["00097"])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone()[0] == "origin"
    residence = Residence.objects.order_by("pk").first()
    assert residence is not None
    with pytest.raises(IntegrityError):
        _commit(lambda: Residence.objects.filter(pk=residence.pk).update(commune_id=10**9))


def _commit(write: Callable[[], object]) -> None:
    """Run `write` in a savepoint and check the deferred constraints as a commit would, rolling back on
    failure so that the test's own transaction stays clean."""
    with transaction.atomic():
        write()
        connection.check_constraints()


# The command --------------------------------------------------------------------------------------------


def _generate(*args: str) -> str:
    out = io.StringIO()
    call_command("generate", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_command_loads_the_database_and_reports_speed() -> None:
    output = _generate("--people", "250", "--seed", "1", "--provinces", "01", "--today", "2025-07-01")
    assert "250 people" in output
    assert "people/s" in output
    assert Citizen.objects.count() == 250
    assert set(Citizen.objects.values_list("area_province__code", flat=True)) == {"01"}


def test_command_writes_the_same_csv_for_the_same_seed(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (first, second):
        _generate(
            "--people",
            "120",
            "--seed",
            "4",
            "--communes",
            "00097",
            "--today",
            "2025-07-01",
            "--out",
            str(path),
        )
    assert first.read_bytes() == second.read_bytes()
    with first.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 120
    assert {row["source"] for row in rows} == {"dancu-generate:seed=4"}
    assert not Citizen.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--people", "0"], "--people must be positive"),
        (["--people", "-3"], "--people must be positive"),
        (["--people", "10", "--provinces", "99"], "No 2025 province has the code 99"),
        (["--people", "10", "--communes", "00097,12345"], "No 2025 commune has the code 12345"),
        (["--people", "10", "--legacy-province", "98"], "No pre-2025 province has the code 98"),
        (["--people", "10", "--today", "01/07/2025"], "is not a YYYY-MM-DD date"),
        (["--people", "10", "--batch-size", "0"], "--batch-size must be from 1 to 50,000, not 0"),
        # A batch is held in memory whole: one of the whole population would hold all of it.
        (["--people", "10", "--batch-size", "50001"], "--batch-size must be from 1 to 50,000, not 50001"),
        (["--people", "10", "--batch-size", "99999999999999999999"], "--batch-size must be from 1 to 50,000"),
        (["--people", "10", "--legacy-share", "2"], "--legacy-share must be between 0 and 1"),
        # The generator streams for ever: a few zeros too many would fill the disk or the database.
        (["--people", "200000001"], "--people must be at most 200,000,000"),
        (["--people", "99999999999999999999"], "--people must be at most 200,000,000"),
        (["--people", "10", "--today", "2025-02-30"], r"--today '2025-02-30': no such day"),
        # Days on which the oldest would be born before 1900, or everyone after 2399: no PIN encodes them.
        (["--people", "10", "--today", "2010-12-31"], "must be from 2011-01-01 to 2399-12-31"),
        (["--people", "10", "--today", "1799-12-31"], "must be from 2011-01-01 to 2399-12-31"),
        (["--people", "10", "--today", "0001-01-01"], "must be from 2011-01-01 to 2399-12-31"),
        (["--people", "10", "--today", "9999-12-31"], "must be from 2011-01-01 to 2399-12-31"),
    ],
)
def test_command_refuses_bad_arguments(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _generate("--seed", "1", *args)
    assert not Citizen.objects.exists()


@pytest.mark.parametrize(
    ("case", "rule"),
    [
        ("--out in no folder", r"--out .*the folder .* does not exist \[output\.no_folder\]"),
        ("--out a folder", r"--out .* is a directory, not a file \[output\.directory\]"),
        ("--out a file of /proc", r"--out /proc/version: cannot be written .*\[output\.not_writable\]"),
        (
            "--dirty's faults file a folder",
            r"--dirty .*people\.faults\.csv is a directory.*\[output\.directory\]",
        ),
    ],
)
def test_command_refuses_an_output_it_could_not_write_before_generating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, rule: str
) -> None:
    from dancu.registry.management.commands import generate

    def not_called(**kwargs: Any) -> Any:
        raise AssertionError("the population was generated before the output was checked")

    monkeypatch.setattr(generate, "generate_population", not_called)
    (tmp_path / "people.faults.csv").mkdir()
    args = {
        "--out in no folder": ["--out", str(tmp_path / "nowhere" / "people.csv")],
        "--out a folder": ["--out", str(tmp_path)],
        "--out a file of /proc": ["--out", "/proc/version"],
        "--dirty's faults file a folder": ["--out", str(tmp_path / "people.csv"), "--dirty"],
    }[case]
    with pytest.raises(CommandError, match=rule):
        _generate("--people", "10", "--seed", "1", *args)
    assert not (tmp_path / "people.csv").exists()


def test_command_asks_for_setup_when_units_are_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from dancu.registry.management.commands import generate

    monkeypatch.setattr(generate, "units_loaded", lambda: False)
    with pytest.raises(CommandError, match="run dancu setup first"):
        _generate("--people", "10", "--seed", "1")


def _interrupted(*args: str) -> str:
    """Run the command until the Ctrl-C a test has arranged; what it said on stderr. Before Ctrl-C was
    handled it came through as KeyboardInterrupt, which is caught here too so that the test fails instead
    of stopping the test session."""
    err = io.StringIO()
    with pytest.raises((SystemExit, KeyboardInterrupt)) as stopped:
        call_command("generate", *args, stdout=io.StringIO(), stderr=err)
    assert isinstance(stopped.value, SystemExit), "Ctrl-C ended the command with a traceback"
    assert stopped.value.code == 130
    return err.getvalue()


def test_ctrl_c_while_writing_a_csv_removes_the_unfinished_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dancu.registry.management.commands import generate

    real = generate.write_person_records_csv

    def stopped_half_way(households: Any, path: Path, **kwargs: Any) -> int:
        def households_then_ctrl_c() -> Any:
            for number, household in enumerate(households):
                if number == 20:
                    raise KeyboardInterrupt
                yield household

        return real(households_then_ctrl_c(), path, **kwargs)

    monkeypatch.setattr(generate, "write_person_records_csv", stopped_half_way)
    out = tmp_path / "people.csv"
    said = _interrupted("--people", "500", "--seed", "1", "--out", str(out))
    # A CSV cut short would pass for a smaller population.
    assert not out.exists()
    assert f"Stopped: the unfinished file was removed ({out})" in said
    assert "\n" not in said.strip()


def test_ctrl_c_before_the_csv_is_opened_leaves_the_file_that_was_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dancu.registry.management.commands import generate

    def ctrl_c(*args: Any, **kwargs: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(generate, "write_person_records_csv", ctrl_c)
    out = tmp_path / "people.csv"
    out.write_text("an earlier population\n", encoding="utf-8")
    said = _interrupted("--people", "500", "--seed", "1", "--out", str(out))
    assert out.read_text(encoding="utf-8") == "an earlier population\n"
    assert "Stopped before" in said


def test_ctrl_c_while_loading_says_what_was_committed_and_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = bulk._redraw_cmnds
    calls = 0

    def ctrl_c_in_the_second_batch(people: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        return real(people)

    monkeypatch.setattr(bulk, "_redraw_cmnds", ctrl_c_in_the_second_batch)
    said = _interrupted("--people", "400", "--seed", "1", "--provinces", "01", "--batch-size", "100")
    # The first batch committed and stays; the second, stopped inside its transaction, left nothing.
    committed = Citizen.objects.count()
    assert 100 <= committed < 400
    assert f"Stopped: {committed:,} people in {Household.objects.count():,} households were committed" in said
    assert "the batch in progress was rolled back" in said
