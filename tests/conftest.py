"""Shared fixtures: the real administrative units, police units and named personas.

Personas follow healthchecks' Alice/Bob: each test reads like "Lan, a collector of Phường Hoàn Kiếm,
searches for a citizen of Phường Hồng Hà and finds nothing".
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Model
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import settings as hypothesis_settings
from pytest_django import DjangoDbBlocker

from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.services import officer_create, police_unit_for_area
from dancu.audit.models import AuditEvent
from dancu.audit.services import Actor
from dancu.geo.models import AdminUnit
from dancu.geo.selectors import unit_get
from dancu.lib.partial_date import PartialDate
from dancu.registry import services
from dancu.registry.models import (
    Citizen,
    FamilyLink,
    Household,
    HouseholdMember,
    PinRecord,
    RecordVersion,
    Residence,
)
from tests.live_server_gate import gate_installed

# No deadline on property tests: it is a timing assert, and on two cores shared with a browser and a
# database server an example of `repair` took over its 200 ms while nothing was wrong with it.
hypothesis_settings.register_profile("dancu", deadline=None)
hypothesis_settings.load_profile("dancu")

PASSWORD = "Mật-khẩu-thử-nghiệm-2025"
SYSTEM = Actor(system="test")

# The local day the tests were collected on. Modules whose dates count from today (TODAY + 1 day is "in
# the future") read it at import and pin the clock's day to it (`today_pinned`): a run that crosses local
# midnight (17:00 UTC) would otherwise find yesterday's "tomorrow" to be today.
SESSION_TODAY = timezone.localdate()


class _Clock:
    """The real clock behind `today_pinned`: its own test replaces `now` with a moment past local midnight."""

    now = staticmethod(timezone.now)


clock = _Clock()


@pytest.fixture
def today_pinned(monkeypatch: pytest.MonkeyPatch) -> date:
    """`timezone.localdate()` answers SESSION_TODAY for the test: the services, the models' "current" and
    the test's own dates all count from the same day. A date given to it is converted as before.

    `timezone.now()` moves back by whole days to the same day, so that what a service stamps now (a
    record's version, an audit event) falls on the day the test asks about ("the state on TODAY").
    Before local midnight the shift is zero and the clock is the real one."""
    real_localdate = timezone.localdate

    def localdate(value: Any = None, timezone: Any = None) -> date:
        return SESSION_TODAY if value is None else real_localdate(value, timezone)

    def now() -> datetime:
        moment = clock.now()
        return moment - timedelta(days=(real_localdate(moment) - SESSION_TODAY).days)

    monkeypatch.setattr("django.utils.timezone.localdate", localdate)
    monkeypatch.setattr("django.utils.timezone.now", now)
    return SESSION_TODAY


# A fast hasher for every account a test makes. With PBKDF2's million rounds (Django's default, which the
# platform keeps) each officer or citizen account made with a password took 0.1-0.2 s of a slow machine,
# and fixtures make them by the thousand: 8 % of the registry, card and e-ID tests' time went to hashing.
# What is tested of passwords (set, checked, changed, refused) does not depend on the algorithm;
# tests/accounts/test_password_hashing.py checks that the real settings keep the strong one.
TEST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hasher() -> Iterator[None]:
    with override_settings(PASSWORD_HASHERS=TEST_PASSWORD_HASHERS):
        yield


@pytest.fixture(autouse=True)
def _tasks_run_inline(settings: Any) -> None:
    """Background tasks run in the test's own process and transaction (see dancu.lib.tasks)."""
    settings.DANCU_TASKS_INLINE = True


@pytest.fixture(autouse=True)
def _static_files_found_when_asked(settings: Any) -> None:
    """Each test client loads the middleware anew, and WhiteNoise's, made with the finders, reads and
    stats every static file first: 80 ms of each client on a slow machine, in thousands of tests. With
    autorefresh, as in development, it finds a file when one is asked for; `dancu serve` is tested as
    configured (tests/web/test_serve.py)."""
    settings.WHITENOISE_AUTOREFRESH = True


# The reference rows that data migrations write (the dated fee table, the built-in campaign metrics, the
# worker's schedules): a transactional test's flush empties their tables with every other, so they are
# written again after it, by the migrations' own (idempotent) functions.
SEEDING_MIGRATIONS = (
    ("dancu.cards.migrations.0002_fee_table_2024", "add_rates"),
    ("dancu.campaigns.migrations.0002_builtin_metrics", "create"),
    ("dancu.campaigns.migrations.0003_worker_schedules", "create"),
    ("dancu.campaigns.migrations.0006_eid_metrics", "create"),
    ("dancu.cards.migrations.0007_expire_schedule", "schedule"),
    ("dancu.collection.migrations.0005_quality_schedule", "schedule"),
    ("dancu.audit.migrations.0007_seal_schedule", "schedule"),
)


def reference_data_load() -> None:
    """What a migrated database holds before any test writes: the units, then the migrations' rows.

    Copied back from the snapshot the session took of them when there is one (a fraction of a second),
    made again by the command and the migrations' functions otherwise (about ten seconds on PostgreSQL,
    after every one of some fifty transactional tests)."""
    if _REFERENCE_ROWS:
        _reference_rows_restore()
        return
    call_command("load_units", stdout=io.StringIO())
    for module, function in SEEDING_MIGRATIONS:
        getattr(importlib.import_module(module), function)(django_apps, None)


# Every table's rows as the test database held them before the first test: the units, police units and the
# data migrations' rows, by table name; filled by `django_db_setup` below.
_REFERENCE_ROWS: dict[str, Any] = {}


def _reference_rows_snapshot() -> None:
    """Keep every non-empty table's rows, exactly as stored: PostgreSQL's COPY text round-trips every type
    (JSON, dates, arrays) byte for byte, and SQLite hands back only types it takes in again as they are."""
    # The table names below are the database's own, quoted, never input: hence the S608 waivers.
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor, include_views=False):
            quoted = connection.ops.quote_name(table)
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {quoted} TO STDOUT") as copy:
                    data = b"".join(bytes(chunk) for chunk in copy)
                if data:
                    _REFERENCE_ROWS[table] = data
            else:
                cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608
                rows = cursor.fetchall()
                if rows:
                    _REFERENCE_ROWS[table] = rows


def _reference_rows_restore() -> None:
    """Put the snapshot back into the tables a flush emptied. A table that is not empty was left alone by
    the flush (the migration records) or filled again by it (content types and permissions, which the
    flush's post_migrate signal makes anew): it keeps what it has."""
    by_table: dict[str, list[type[Model]]] = {}
    for model in django_apps.get_models(include_auto_created=True):
        by_table.setdefault(model._meta.db_table, []).append(model)
    restored: list[type[Model]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for table, data in _REFERENCE_ROWS.items():
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT 1 FROM {quoted} LIMIT 1")  # noqa: S608
            if cursor.fetchone() is not None:
                continue
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {quoted} FROM STDIN") as copy:
                    copy.write(data)
                restored.extend(by_table.get(table, []))
            else:
                marks = ", ".join(["%s"] * len(data[0]))
                cursor.executemany(f"INSERT INTO {quoted} VALUES ({marks})", data)  # noqa: S608
        # A flush asked for by name (`call_command("flush")`) restarts the tables' id sequences: they are
        # moved past the ids copied back, or the next row written would take the id of a restored one.
        for statement in connection.ops.sequence_reset_sql(no_style(), restored):
            cursor.execute(statement)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> None:
    """Every test database holds the real 2025 and legacy units: they are reference data, never mocked."""
    with django_db_blocker.unblock():
        call_command("load_units", stdout=io.StringIO())
        _reference_rows_snapshot()


# A transactional test (the browser tests' live server, the concurrency tests' second connection) commits
# its data, and Django empties every table when it ends, the units and the migrations' rows with them.
_BLOCKER = pytest.StashKey[DjangoDbBlocker]()


@pytest.fixture(scope="session", autouse=True)
def _remember_db_blocker(request: pytest.FixtureRequest, django_db_blocker: DjangoDbBlocker) -> None:
    """Keep the blocker where the teardown hook below can reach it (hooks cannot ask for fixtures)."""
    request.config.stash[_BLOCKER] = django_db_blocker


def _flushes_database(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    if "transactional_db" in names or "live_server" in names:
        return True
    marker = item.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After a transactional test has been torn down (its tables flushed), load the reference data again."""
    try:
        return (yield)
    finally:
        # The last test of the session needs no reload: the test database is destroyed next.
        if nextitem is not None and _flushes_database(item) and _BLOCKER in item.config.stash:
            with item.config.stash[_BLOCKER].unblock():
                reference_data_load()


@pytest.fixture(autouse=True)
def _live_server_idle_at_the_end(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test with the live server ends with no request of its browser still being answered
    (tests/live_server_gate.py). pytest-django's own autouse fixture asked for `transactional_db` before
    this one runs, so this teardown, registered later, runs before the flush."""
    if "live_server" not in request.fixturenames:
        yield
        return
    gate = gate_installed(request.getfixturevalue("live_server").thread.httpd)
    gate.open()
    yield
    gate.close()


def commune(code: str) -> AdminUnit:
    return unit_get(structure="2025", level="commune", code=code)


def legacy_commune(code: str) -> AdminUnit:
    return unit_get(structure="legacy", level="commune", code=code)


HOAN_KIEM = "00070"  # Phường Hoàn Kiếm, Hà Nội
HONG_HA = "00097"  # Phường Hồng Hà, Hà Nội
SAI_GON = "26740"  # Phường Sài Gòn, TP Hồ Chí Minh
DUONG_LIEU_LEGACY = "09841"  # Xã Dương Liễu, Huyện Hoài Đức (before 2025)


@dataclass
class Personas:
    lan: User  # collector, Công an phường Hoàn Kiếm
    binh: User  # collector, Công an phường Hồng Hà
    cuong: User  # supervisor, Công an thành phố Hà Nội
    dung: User  # supervisor, Công an TP Hồ Chí Minh
    hoa: User  # collector, Công an huyện Hoài Đức (legacy district)
    minh: User  # ministry administrator (C06)
    an: User  # auditor of the ministry


def _officer(username: str, role: str, unit: PoliceUnit, full_name: str) -> User:
    user, _device = officer_create(
        actor=SYSTEM,
        username=username,
        password=PASSWORD,
        role=role,
        police_unit=unit,
        full_name=full_name,
        otp_secret_hex="3132333435363738393031323334353637383930",
    )
    return user


def officer_before_the_rule(username: str, role: str, unit: PoliceUnit, full_name: str) -> User:
    """An officer whose role does not work at their police unit's level (`accounts.services.ROLE_LEVELS`):
    a collector of a legacy district's police, an administrator of a province's. Every path that makes an
    account or changes its role or unit refuses them now (`role.unit_level`), but databases hold such
    accounts, made before the rule, and every page must still scope them by their unit's area: Hoa's is
    that of a legacy district, whose records a collector reads and for which she fills in forms, and which
    no commune's police or supervisor stands for. The rows are written here as those accounts were, with
    no service and so no `accounts.officer.created` event."""
    first, _, last = full_name.rpartition(" ")
    user = User.objects.create_user(
        username=username,
        password=PASSWORD,
        role=role,
        police_unit=unit,
        first_name=first,
        last_name=last,
    )
    TOTPDevice.objects.create(
        user=user, name="default", confirmed=True, key="3132333435363738393031323334353637383930"
    )
    return user


@pytest.fixture
def personas(db: None) -> Personas:
    return personas_create()


def personas_create() -> Personas:
    """The officers of the personas, with their police units (and the units' parents)."""
    ministry = police_unit_for_area(area=None)
    hanoi = police_unit_for_area(
        area=unit_get(structure="2025", level="province", code="01"), parent=ministry
    )
    hcm = police_unit_for_area(area=unit_get(structure="2025", level="province", code="79"), parent=ministry)
    hoai_duc = police_unit_for_area(area=legacy_commune(DUONG_LIEU_LEGACY).parent, parent=hanoi)
    return Personas(
        lan=_officer(
            "lan",
            User.Role.COLLECTOR,
            police_unit_for_area(area=commune(HOAN_KIEM), parent=hanoi),
            "Trần Thị Lan",
        ),
        binh=_officer(
            "binh",
            User.Role.COLLECTOR,
            police_unit_for_area(area=commune(HONG_HA), parent=hanoi),
            "Lê Văn Bình",
        ),
        cuong=_officer("cuong", User.Role.SUPERVISOR, hanoi, "Phạm Quốc Cường"),
        dung=_officer("dung", User.Role.SUPERVISOR, hcm, "Võ Minh Dũng"),
        hoa=officer_before_the_rule("hoa", User.Role.COLLECTOR, hoai_duc, "Đỗ Thị Hoa"),
        minh=_officer("minh", User.Role.MINISTRY_ADMIN, ministry, "Nguyễn Văn Minh"),
        an=_officer("an", User.Role.AUDITOR, ministry, "Hoàng Thị An"),
    )


def make_citizen(
    *,
    full_name: str,
    birth_date: str = "1990-05-17",
    sex: str = "M",
    commune_code: str = HOAN_KIEM,
    legacy_code: str | None = None,
    place: str = "001",
    address: str = "Số 1 phố Hàng Trống",
    **extra: str,
) -> Citizen:
    legacy = legacy_commune(legacy_code) if legacy_code else None
    target = commune(commune_code)
    # Registered at the address in 2015, or at birth for a child born later.
    registered_on = max(date(2015, 1, 1), PartialDate.parse(birth_date).earliest())
    return services.citizen_create(
        actor=SYSTEM,
        data=services.NewCitizen(
            full_name=full_name, birth_date=birth_date, sex=sex, birth_registration_place=place, **extra
        ),
        residence=services.NewResidence(
            kind="permanent",
            commune=target,
            address_detail=address,
            registered_on=registered_on,
            legacy_commune=legacy,
            address_original=f"{address}, {legacy.full_name()}" if legacy else "",
        ),
        reason="Thu thập dữ liệu thử nghiệm",
        source_document="DC01 thử nghiệm",
    )


def move(citizen: Citizen, commune_code: str, address: str = "Số 9 phố Huế") -> Residence:
    """`citizen` registers a new permanent residence in the commune: a move, which ends the old one."""
    return services.residence_register(
        actor=SYSTEM,
        citizen=citizen,
        kind="permanent",
        commune=commune(commune_code),
        address_detail=address,
        registered_on=date(2024, 1, 1),
        reason="Chuyển nơi thường trú",
        source_document="CT01",
    )


@dataclass
class People:
    hung: Citizen  # Phường Hoàn Kiếm
    mai: Citizen  # Phường Hồng Hà
    tuan: Citizen  # Phường Sài Gòn (TP HCM)
    nga: Citizen  # legacy address in Xã Dương Liễu, mapped to its 2025 successor


@pytest.fixture
def people(db: None) -> People:
    return people_create()


def people_create() -> People:
    return People(
        hung=make_citizen(full_name="Nguyễn Văn Hùng", old_id_number="012345678"),
        mai=make_citizen(
            full_name="Lê Thị Mai", sex="F", birth_date="1985", commune_code=HONG_HA, address="Số 5 ngõ Gạch"
        ),
        tuan=make_citizen(full_name="Trần Minh Tuấn", commune_code=SAI_GON, place="079", address="12 Lê Lợi"),
        nga=_legacy_citizen(),
    )


def _legacy_citizen() -> Citizen:
    from dancu.geo.selectors import successor_of

    successor = successor_of(legacy_commune(DUONG_LIEU_LEGACY))
    return make_citizen(
        full_name="Phạm Thị Nga",
        sex="F",
        birth_date="03/1970",
        commune_code=successor.code,
        legacy_code=DUONG_LIEU_LEGACY,
        address="Thôn Thượng",
    )


def otp_now(user: User) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


@pytest.fixture
def sign_in() -> Callable[[Client, User], Client]:
    """Sign an officer in through the real pages: password, then the TOTP code."""

    def _sign_in(client: Client, user: User) -> Client:
        response = client.post("/login/", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.content[:500]
        response = client.post("/login/otp/", {"token": otp_now(user)})
        assert response.status_code == 302, response.content[:500]
        return client

    return _sign_in


@pytest.fixture
def lan(personas: Personas, sign_in: Callable[[Client, User], Client]) -> Client:
    """Lan, collector of Phường Hoàn Kiếm, signed in through the pages."""
    return sign_in(Client(), personas.lan)


@pytest.fixture
def binh(personas: Personas, sign_in: Callable[[Client, User], Client]) -> Client:
    """Bình, collector of Phường Hồng Hà, signed in through the pages."""
    return sign_in(Client(), personas.binh)


def household_of(
    head: Citizen,
    *,
    spouse: Citizen | None = None,
    commune_code: str = HOAN_KIEM,
    address: str = "Số 1 phố Hàng Trống",
    registered_on: date = date(2016, 1, 1),
) -> Household:
    """The household of `head` at `address` of the commune (Số 1 phố Hàng Trống, Hoàn Kiếm, opened in
    2016 unless told otherwise), with `spouse` joining in 2017."""
    household = services.household_create(
        actor=SYSTEM,
        head=head,
        commune=commune(commune_code),
        address_detail=address,
        registered_on=registered_on,
        reason="Lập hộ",
        source_document="CT01",
    )
    if spouse is not None:
        services.household_add_member(
            actor=SYSTEM,
            household=household,
            citizen=spouse,
            relation_to_head="spouse",
            joined_on=date(2017, 1, 1),
            reason="Nhập hộ",
            source_document="CT01",
        )
    return household


def counts() -> dict[str, int]:
    """Rows in the registry's tables and the audit trail: equal before and after a refused write."""
    models = (
        Citizen,
        PinRecord,
        Residence,
        AuditEvent,
        RecordVersion,
        Household,
        HouseholdMember,
        FamilyLink,
    )
    return {model.__name__: model.objects.count() for model in models}


# Fixtures through which a test reaches the database; a test whose fixtures include none of them (the
# closure pytest computes, so a fixture that needs the database counts) runs no query.
_DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that touch no database are marked `one_database`: PostgreSQL could change nothing they
    prove, so the PostgreSQL pass of `make test` leaves them to the SQLite pass (Makefile).

    So are the browser tests (tests/web, the `browser` fixture): what they prove is what Chromium makes of
    the pages (layout on a phone, scripts, the forms' round trips), while the views they reach and the
    services behind those are tested on both databases through Django's test client. Each browser test
    empties and refills the test database when it ends, which cost the PostgreSQL pass some three minutes."""
    quick: set[str] = set()
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        no_database = item.get_closest_marker("django_db") is None and not fixtures & _DATABASE_FIXTURES
        if no_database or "browser" in fixtures:
            item.add_marker(pytest.mark.one_database)
        if no_database and not fixtures & _PROCESS_FIXTURES and not _shares_module_fixture(item):
            quick.add(item.nodeid)
    # pytest-xdist hands the tests out in this order, a chunk at a time, and the last chunks are what one
    # process may still be running while the other has nothing left. So the slow tests go first, for the
    # processes to share them from the start, and the quick ones last: some 1,900 that touch no database
    # and start no process, a minute in all, where the file order ended on tests that start `dancu`
    # processes, a minute of one process's work while the other was done.
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None, item.nodeid in quick))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist's `load` scheduling with a short queue per process.

    Its own keeps about an eighth of the tests not yet handed out queued at each process, hundreds of
    them until the end: when none is left to hand out, one process may still hold a queue of browser
    tests while the other has nothing (two to three minutes of one core idle at the end of the SQLite
    pass on a slow machine). Here a process holds at most four: the one it runs, the next (which pytest
    must know to tear down the fixtures of the one before) and two more, and is given more as each ends.
    `--dist` other than `load` keeps pytest-xdist's own."""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScheduling

    class ShortQueueLoadScheduling(LoadScheduling):
        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            # The first tests too are handed out in fours, the slow ones (first in the order) in turn.
            self.maxschedchunk = 4

        def check_schedule(self, node: Any, duration: float = 0) -> None:
            if node.shutting_down:
                return
            if not self.pending:
                node.shutdown()
                return
            queued = len(self.node2pending[node])
            if queued < 2:
                self._send_tests(node, 4 - queued)

    return ShortQueueLoadScheduling(config, log)


# Fixtures of tests that start processes (a `dancu` command in a directory of its own) or a browser.
_PROCESS_FIXTURES = frozenset({"tmp_path", "tmp_path_factory", "browser", "live_server"})


def _shares_module_fixture(item: pytest.Item) -> bool:
    """Whether the test uses a fixture made once for its module: moved away from the module's other tests,
    it would be made a second time. pytest keeps the fixtures' definitions in a private attribute; without
    it, every test counts as sharing one and keeps its place."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return True
    return any(d.scope in {"module", "package"} for defs in info.name2fixturedefs.values() for d in defs)
