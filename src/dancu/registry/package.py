"""Population packages: a generated population written to files, then loaded into an empty registry at once.

`dancu generate --package DIR` writes the registry rows of a generated population (citizens, the PIN
ledger, households, memberships, family links, residences, card records and the first version of every
record) as one file per table in PostgreSQL's COPY text format, with a manifest. `dancu load_package DIR`
loads such a package into an empty registry in one transaction.

Why a second way in: `load_population` writes into a live registry batch by batch, and PostgreSQL then
keeps every index up to date row by row, which at a million citizens costs the server more than the
whole load of files without them (bench/RESULTS.md, "what the database server alone takes"). The first
load of a country's population goes into an empty registry that nobody uses yet, so the load here sets
the secondary indexes and the foreign keys aside, copies the files in, and builds the indexes and checks
the foreign keys once at the end, which is several times cheaper. The tables are emptied again in the
load's transaction, so that COPY writes into new files, its rows frozen, and a server run with
`wal_level = minimal` for the load (docs/operations.md) writes them without the WAL. It is all one
transaction: the DDL of PostgreSQL is transactional, so a failure anywhere (a damaged file, a duplicate PIN
found by the unique index, a unit the registry does not have) leaves the registry as it was, indexes
included.

The rows leave out when, by whom and under which audit event they were written (`STAMP_COLUMNS`): the load
fills those in with its own time, actor and event, as if it had written the rows itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.geo.models import AdminUnit
from dancu.lib.errors import DomainError, FieldError
from dancu.lib.partial_date import PartialDate, PartialDateError, PartialDateField
from dancu.lib.pgcopy import copy_text, read_copy_rows
from dancu.registry.bulk import (
    DEFAULT_BATCH_SIZE,
    REASON,
    STAMP_COLUMNS,
    WRITE_ORDER,
    LoadStats,
    PackageRows,
    analyze_tables,
    household_batches,
)
from dancu.registry.generator import HouseholdRecord
from dancu.registry.models import Citizen

FORMAT = "dancu-population-package"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Bytes read from a table's file at a time: large enough that the server, not this process, is busy.
_READ_CHUNK = 1 << 20
# Rows per statement when the database is SQLite (which has no COPY).
_SQLITE_ROWS = 2_000
# The memory PostgreSQL may use to sort the entries of one index while it builds it.
_INDEX_BUILD_MEMORY = "512MB"


@dataclass
class PackageLoadStats:
    people: int = 0
    households: int = 0
    rows: int = 0
    bytes: int = 0
    # Seconds per phase: "copy" (the rows in) and "indexes" (indexes built, foreign keys checked); and
    # per table and statement.
    phases: dict[str, float] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def people_per_second(self) -> float:
        return self.people / self.seconds if self.seconds > 0 else 0.0


def _error(code: str, message_vi: str, message_en: str) -> DomainError:
    return DomainError(FieldError("package", code, message_vi, message_en))


def units_fingerprint() -> str:
    """A digest of the administrative units' ids and codes: rows point at units by id, so a package
    loads only into a registry whose units were loaded the same way."""
    digest = hashlib.sha256()
    for row in AdminUnit.objects.order_by("pk").values_list("pk", "structure", "level", "code"):
        digest.update(("\t".join(map(str, row)) + "\n").encode())
    return digest.hexdigest()


# Writing ------------------------------------------------------------------------------------------------


def write_package(
    households: Iterable[HouseholdRecord],
    directory: Path,
    *,
    description: dict[str, Any],
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[LoadStats], None] | None = None,
) -> LoadStats:
    """Write the registry rows of `households` into `directory` (new or empty); returns what was written.

    The manifest is written last, under its final name only once complete, so that a package whose
    writing stopped half-way is recognised as such and never loaded. `description` (the generator's seed
    and placement) goes into the manifest and, at load, into the audit event.
    """
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise _error(
            "package.directory_not_empty",
            f"Thư mục {directory} đã có tệp: hãy chọn một thư mục mới hoặc rỗng.",
            f"{directory} is not an empty directory: choose a new or empty one.",
        )
    directory.mkdir(parents=True, exist_ok=True)
    builder = PackageRows()
    names = {key: builder.tables[key].name for key in WRITE_ORDER}
    digests = {key: hashlib.sha256() for key in WRITE_ORDER}
    counts = dict.fromkeys(WRITE_ORDER, 0)
    stats = LoadStats()
    started = time.perf_counter()
    files = {key: (directory / f"{names[key]}.copy").open("wb") for key in WRITE_ORDER}
    try:
        for batch in household_batches(households, batch_size):
            rows = builder.batch(batch)
            for key in WRITE_ORDER:
                data = copy_text(rows[key]).encode()
                files[key].write(data)
                digests[key].update(data)
                counts[key] += len(rows[key])
            stats.people += sum(len(household.members) for household in batch)
            stats.households += len(batch)
            stats.batches += 1
            stats.seconds = time.perf_counter() - started
            if on_batch is not None:
                on_batch(stats)
        # On disk before the manifest names them: after a power cut, a package with a manifest has every
        # byte its manifest counts. It also leaves the kernel nothing of the package still to write back
        # when the load reads it: a load started right after the writing shared the disk with that
        # writing-back, and was the slowest of the loads measured (bench/RESULTS.md, session 28).
        for handle in files.values():
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        for handle in files.values():
            handle.close()
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "written_at": timezone.now().isoformat(),
        "people": stats.people,
        "households": stats.households,
        "description": description,
        "units": units_fingerprint(),
        "tables": {
            key: {
                "table": names[key],
                "file": f"{names[key]}.copy",
                "columns": builder.columns(key),
                "rows": counts[key],
                "sha256": digests[key].hexdigest(),
            }
            for key in WRITE_ORDER
        },
    }
    partial = directory / f"{MANIFEST}.partial"
    with partial.open("w", encoding="utf-8") as text:
        text.write(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        text.flush()
        os.fsync(text.fileno())
    os.replace(partial, directory / MANIFEST)
    # The new name itself is an entry of the directory, on disk once the directory is.
    _fsync_directory(directory)
    stats.seconds = time.perf_counter() - started
    return stats


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# Loading ------------------------------------------------------------------------------------------------


def read_manifest(directory: Path) -> dict[str, Any]:
    """The package's manifest, checked against this registry's tables; raises DomainError."""
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _error(
            "package.no_manifest",
            f"Không có {path}: đây không phải gói dữ liệu dân cư, hoặc gói chưa ghi xong.",
            f"There is no {path}: this is not a population package, or its writing did not finish.",
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _error(
            "package.bad_manifest",
            f"Không đọc được {path}: {exc}",
            f"{path} cannot be read: {exc}",
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _error(
            "package.bad_manifest",
            f"{path} không phải bản kê của gói dữ liệu dân cư.",
            f"{path} is not the manifest of a population package.",
        )
    if manifest.get("version") != FORMAT_VERSION:
        raise _error(
            "package.version",
            f"Gói ở phiên bản {manifest.get('version')!r}; phần mềm này đọc phiên bản {FORMAT_VERSION}.",
            f"The package is version {manifest.get('version')!r}; this software reads version "
            f"{FORMAT_VERSION}.",
        )
    for count in ("people", "households"):
        if type(manifest.get(count)) is not int or manifest[count] < 0:
            raise _error(
                "package.bad_manifest",
                f"Bản kê thiếu số {'người' if count == 'people' else 'hộ'} (một số nguyên không âm).",
                f"The manifest lacks the number of {count} (a whole number, not negative).",
            )
    tables = manifest.get("tables")
    expected = PackageRows.expected_columns()
    table_names = PackageRows.table_names()
    if not isinstance(tables, dict) or set(tables) != set(WRITE_ORDER):
        raise _error(
            "package.bad_manifest",
            f"Bản kê phải liệt kê đúng các bảng {', '.join(WRITE_ORDER)}.",
            f"The manifest must list exactly the tables {', '.join(WRITE_ORDER)}.",
        )
    for key in WRITE_ORDER:
        entry = tables[key]
        if not isinstance(entry, dict) or entry.get("columns") != expected[key]:
            raise _error(
                "package.columns",
                f"Các cột của bảng {key} trong gói khác với cơ sở dữ liệu này (gói cũ hơn hoặc mới hơn).",
                f"The package's columns of table {key} differ from this database's "
                "(an older or newer package).",
            )
        if entry.get("table") != table_names[key] or entry.get("file") != f"{table_names[key]}.copy":
            raise _error(
                "package.bad_manifest",
                f"Tên bảng hoặc tên tệp của bảng {key} trong bản kê không đúng.",
                f"The manifest's table or file name for table {key} is not the expected one.",
            )
        if not isinstance(entry.get("rows"), int) or not isinstance(entry.get("sha256"), str):
            raise _error(
                "package.bad_manifest",
                f"Bản kê thiếu số dòng hoặc mã kiểm tra của bảng {key}.",
                f"The manifest lacks the row count or checksum of table {key}.",
            )
    return manifest


def load_package(
    directory: Path,
    *,
    actor: Actor,
    on_progress: Callable[[int], None] | None = None,
) -> PackageLoadStats:
    """Load the population package in `directory` into the empty registry, in one transaction with one
    audit event; returns what was loaded. Raises DomainError naming what is wrong (the manifest, a file,
    a row, the registry not being empty) and then nothing is written. `on_progress` gets the bytes read
    since its last call."""
    manifest = read_manifest(directory)
    if manifest.get("units") != units_fingerprint():
        raise _error(
            "package.units",
            "Gói được ghi với một bộ đơn vị hành chính khác bộ của cơ sở dữ liệu này "
            "(mã số đơn vị khác nhau).",
            "The package was written against other administrative units than this database's "
            "(their ids differ).",
        )
    stats = PackageLoadStats(people=int(manifest["people"]), households=int(manifest["households"]))
    started = time.perf_counter()
    names = [manifest["tables"][key]["table"] for key in WRITE_ORDER]
    with transaction.atomic():
        stamps = _stamps(_load_event(manifest, actor, stats), actor)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                _load_tables(
                    cursor.cursor,
                    directory,
                    manifest,
                    keys=WRITE_ORDER,
                    stamps=stamps,
                    stats=stats,
                    on_progress=on_progress,
                )
            else:
                _lock_empty_tables(cursor, names, lock=False)
                _load_sqlite(directory, manifest, stamps, stats, on_progress)
        _check_partial_dates()
    analyze_tables(names)
    stats.seconds = time.perf_counter() - started
    return stats


def _load_event(manifest: dict[str, Any], actor: Actor, stats: PackageLoadStats) -> AuditEvent:
    return audit_event_record(
        actor=actor,
        event_type=EventType.POPULATION_GENERATED,
        subject_type="population",
        subject_id=f"citizens 1-{stats.people}",
        data={
            "package": manifest.get("description", {}),
            "written_at": manifest.get("written_at", ""),
            "people": stats.people,
            "households": stats.households,
        },
        reason=REASON,
    )


def _stamps(event: AuditEvent, actor: Actor) -> dict[str, Any]:
    """The values of the stamp columns (`STAMP_COLUMNS`): the load's time, actor and event."""
    now = connection.ops.adapt_datetimefield_value(event.occurred_at)
    return {
        "created_at": now,
        "updated_at": now,
        "issued_at": now,
        "recorded_at": now,
        "actor_id": actor.user.pk if actor.user is not None else None,
        "actor_label": actor.label,
        "event_id": event.pk,
        "reason": REASON,
    }


def _lock_empty_tables(cursor: Any, names: Sequence[str], *, lock: bool) -> None:
    """Lock the tables `names` against everyone else (PostgreSQL) and check that they are empty."""
    quote = connection.ops.quote_name
    if lock:
        # Nobody reads or writes the tables while their indexes are set aside.
        cursor.execute(f"LOCK TABLE {', '.join(map(quote, names))} IN ACCESS EXCLUSIVE MODE")
    for name in names:
        cursor.execute(f"SELECT 1 FROM {quote(name)} LIMIT 1")  # noqa: S608 - names from the models
        if cursor.fetchone() is not None:
            raise _error(
                "package.registry_not_empty",
                f"Bảng {name} đã có dữ liệu: gói chỉ nạp vào một cơ sở dữ liệu dân cư còn trống.",
                f"Table {name} already holds rows: a package loads only into an empty registry.",
            )


def _chunks(
    directory: Path, key: str, entry: dict[str, Any], on_progress: Callable[[int], None] | None
) -> Iterator[bytes]:
    """The file of one table in pieces, checked against the manifest's checksum once read through."""
    digest = hashlib.sha256()
    path = directory / entry["file"]
    try:
        handle: IO[bytes] = path.open("rb")
    except OSError as exc:
        raise _error(
            "package.file", f"Không mở được {path}: {exc}", f"{path} cannot be opened: {exc}"
        ) from None
    with handle:
        while chunk := handle.read(_READ_CHUNK):
            digest.update(chunk)
            if on_progress is not None:
                on_progress(len(chunk))
            yield chunk
    if digest.hexdigest() != entry["sha256"]:
        raise _error(
            "package.checksum",
            f"Tệp {path} đã bị thay đổi hoặc hỏng (mã kiểm tra khác bản kê).",
            f"{path} was changed or damaged since it was written (its checksum differs from the manifest's).",
        )


def _check_partial_dates() -> None:
    """Refuse a load whose citizens hold a partial date that is no date ("2025-02-30", "1990-13").

    The database keeps partial dates as text, so neither COPY nor an insert can tell, and every page and
    answer reading such a record would then fail. Each distinct value is read once, as the raw text (the
    field would fail on the very value to be named): a few tens of thousands for a country.
    """
    quote = connection.ops.quote_name
    table = Citizen._meta.db_table
    columns = [
        field_.attname for field_ in Citizen._meta.concrete_fields if isinstance(field_, PartialDateField)
    ]
    with connection.cursor() as cursor:
        for name in columns:
            column = quote(name)
            cursor.execute(
                f"SELECT DISTINCT {column} FROM {quote(table)} WHERE {column} IS NOT NULL"  # noqa: S608 - names from the model
            )
            for (text,) in cursor.fetchall():
                try:
                    PartialDate.from_storage(text)
                except PartialDateError as exc:
                    raise _error(
                        "package.rows",
                        f"Bảng {table}, cột {name}: {exc.message_vi}",
                        f"Table {table}, column {name}: {exc.message_en}",
                    ) from None


def _row_error(table: str, exc: Exception) -> DomainError:
    # The server's message names the rule, and for a bad value the line and column of the file too.
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    diag = getattr(cause, "diag", None)
    detail = " ".join(
        part
        for part in (
            getattr(diag, "message_primary", None),
            getattr(diag, "message_detail", None),
            getattr(diag, "context", None),
        )
        if part
    ) or str(cause)
    return _error(
        "package.rows",
        f"Dữ liệu của bảng {table} vi phạm quy tắc của cơ sở dữ liệu: {detail}",
        f"The rows of table {table} break a rule of the database: {detail}",
    )


def _count_error(entry: dict[str, Any], count: int) -> DomainError:
    return _error(
        "package.rows_count",
        f"Bảng {entry['table']}: {count} dòng, bản kê ghi {entry['rows']}.",
        f"Table {entry['table']}: {count} rows, the manifest says {entry['rows']}.",
    )


def _omitted(key: str, stamps: dict[str, Any]) -> dict[str, Any]:
    """The stamp columns the package's rows of table `key` leave out, with the load's values."""
    return {column: stamps[column] for column in STAMP_COLUMNS.get(key, ())}


def _load_tables(
    cursor: Any,
    directory: Path,
    manifest: dict[str, Any],
    *,
    keys: Sequence[str],
    stamps: dict[str, Any],
    stats: PackageLoadStats,
    on_progress: Callable[[int], None] | None,
) -> None:
    """Lock, check empty, set the indexes aside, copy in and rebuild the tables `keys` on PostgreSQL,
    through `cursor` (a psycopg cursor), inside its connection's transaction."""
    from psycopg import Error as PostgresError
    from psycopg import sql

    tables = manifest["tables"]
    names = [tables[key]["table"] for key in keys]
    _lock_empty_tables(cursor, names, lock=True)
    # Foreign keys are checked at commit (Django makes them deferred), and PostgreSQL refuses to alter
    # the constraints of a table while such checks are pending: the audit event written before (the
    # versions point at the events) has some. They are run now.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    rebuild = _set_indexes_aside(cursor, names)
    # The tables are empty, but emptied again here: a table truncated in the transaction that fills it
    # gets new files, which COPY may fill with rows already frozen (FREEZE: no second write of every page
    # when they are first read or vacuumed), and which a server run with `wal_level = minimal` (the bulk
    # load setting of PostgreSQL's manual, docs/operations.md) copies into and indexes without writing
    # them to the WAL as well. A failure rolls the truncation back with the rest.
    cursor.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, names))))
    step = time.perf_counter()
    for key in keys:
        table_step = time.perf_counter()
        entry = tables[key]
        table = sql.Identifier(entry["table"])
        omitted = _omitted(key, stamps)
        # COPY fills a column it is not given with the column's default: the stamps become the
        # defaults for the length of the load (and of this transaction only).
        for column, value in omitted.items():
            cursor.execute(
                sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}").format(
                    table, sql.Identifier(column), sql.Literal(value)
                )
            )
        columns = sql.SQL(", ").join(map(sql.Identifier, entry["columns"]))
        try:
            with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN WITH (FREEZE)").format(table, columns)) as copy:
                for chunk in _chunks(directory, key, entry, on_progress):
                    copy.write(chunk)
                    stats.bytes += len(chunk)
        except PostgresError as exc:
            raise _row_error(entry["table"], exc) from None
        if cursor.rowcount != entry["rows"]:
            raise _count_error(entry, cursor.rowcount)
        stats.rows += entry["rows"]
        stats.steps[f"copy {key}"] = time.perf_counter() - table_step
        for column in omitted:
            cursor.execute(
                sql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT").format(table, sql.Identifier(column))
            )
    stats.phases["copy"] = time.perf_counter() - step
    step = time.perf_counter()
    cursor.execute(sql.SQL("SET LOCAL maintenance_work_mem = {}").format(sql.Literal(_INDEX_BUILD_MEMORY)))
    for table_name, statement in rebuild:
        statement_step = time.perf_counter()
        try:
            cursor.execute(statement)
        except PostgresError as exc:
            raise _row_error(table_name, exc) from None
        text = statement if isinstance(statement, str) else statement.as_string(cursor)
        stats.steps[text[:90]] = time.perf_counter() - statement_step
    # The rows came with their ids: the sequences go on after the last of them.
    for name in names:
        cursor.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {}"
            ).format(sql.Identifier(name)),
            [name],
        )
    stats.phases["indexes"] = time.perf_counter() - step


def _set_indexes_aside(cursor: Any, names: list[str]) -> list[tuple[str, Any]]:
    """Drop the secondary indexes, unique constraints and foreign keys of the tables `names`, and the
    foreign keys of other tables that point at them (TRUNCATE refuses a table that one points at); returns
    (table, statement) pairs that make them again, in the order to run them.

    Primary keys stay (their index takes the ids in order, which costs little, and other tables' foreign
    keys depend on them), as do unique constraints that another table's foreign key depends on, and
    check constraints (cheap, row by row). The definitions are read from the catalogue, so they are
    exactly what the migrations made.
    """
    from psycopg import sql

    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE (c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('f', 'u')
               AND NOT EXISTS (
                 SELECT 1 FROM pg_constraint r
                 WHERE r.contype = 'f' AND c.contype = 'u' AND r.conindid = c.conindid
                   AND NOT r.conrelid = ANY(%s::regclass[])))
           OR (c.contype = 'f' AND c.confrelid = ANY(%s::regclass[]))
        ORDER BY c.contype, c.conname
        """,
        [names, names, names],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """
        SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
          AND NOT EXISTS (
            SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
        ORDER BY 2
        """,
        [names],
    )
    indexes = cursor.fetchall()
    # Foreign keys go first (a unique constraint may be what one of them points at), and come back last.
    # Table and index names come as regclass text, quoted where they need it; constraint names do not.
    for kind in ("f", "u"):
        for table, name, constraint_kind, _definition in constraints:
            if constraint_kind == kind:
                cursor.execute(
                    sql.SQL(f"ALTER TABLE {table} DROP CONSTRAINT {{}}").format(sql.Identifier(name))
                )
    for _table, index, _definition in indexes:
        cursor.execute(f"DROP INDEX {index}")
    rebuild = [(table, definition) for table, _index, definition in indexes]
    for kind in ("u", "f"):
        rebuild += [
            (
                table,
                sql.SQL(f"ALTER TABLE {table} ADD CONSTRAINT {{}} {definition}").format(sql.Identifier(name)),
            )
            for table, name, constraint_kind, definition in constraints
            if constraint_kind == kind
        ]
    return rebuild


def _load_sqlite(
    directory: Path,
    manifest: dict[str, Any],
    stamps: dict[str, Any],
    stats: PackageLoadStats,
    on_progress: Callable[[int], None] | None,
) -> None:
    """SQLite has no COPY and no index to gain from setting aside at a demo's size: plain inserts."""
    quote = connection.ops.quote_name
    step = time.perf_counter()
    with connection.cursor() as cursor:
        for key in WRITE_ORDER:
            entry = manifest["tables"][key]
            omitted = _omitted(key, stamps)
            columns = [*entry["columns"], *omitted]
            extra = tuple(omitted.values())
            statement = (
                f"INSERT INTO {quote(entry['table'])} ({', '.join(map(quote, columns))}) "  # noqa: S608 - names from the manifest, checked against the models
                f"VALUES ({', '.join(['%s'] * len(columns))})"
            )
            batch: list[tuple[Any, ...]] = []
            count = 0

            def counted(size: int) -> None:
                stats.bytes += size
                if on_progress is not None:
                    on_progress(size)

            chunks = _chunks(directory, key, entry, counted)
            try:
                for row in read_copy_rows(chunks):
                    if len(row) != len(entry["columns"]):
                        width = len(entry["columns"])
                        raise _error(
                            "package.rows",
                            f"Bảng {entry['table']}, dòng {count + 1}: {len(row)} cột, bản kê ghi {width}.",
                            f"Table {entry['table']}, line {count + 1}: {len(row)} columns, "
                            f"the manifest lists {width}.",
                        )
                    batch.append((*row, *extra))
                    count += 1
                    if len(batch) == _SQLITE_ROWS:
                        cursor.executemany(statement, batch)
                        batch = []
                if batch:
                    cursor.executemany(statement, batch)
            except DatabaseError as exc:
                raise _row_error(entry["table"], exc) from None
            except UnicodeDecodeError:
                # Text that is not UTF-8 is most often a file damaged since it was written: read it to
                # its end, where a checksum other than the manifest's says so (package.checksum).
                for _rest in chunks:
                    pass
                raise _error(
                    "package.encoding",
                    f"Bảng {entry['table']}, dòng {count + 1}: không phải văn bản UTF-8.",
                    f"Table {entry['table']}, line {count + 1}: not UTF-8 text.",
                ) from None
            if count != entry["rows"]:
                raise _count_error(entry, count)
            stats.rows += count
        try:
            # SQLite checks foreign keys when the transaction commits, where a failure names nothing;
            # checked here, the refusal names the table, the row and the key that leads nowhere.
            connection.check_constraints(
                table_names=[manifest["tables"][key]["table"] for key in WRITE_ORDER]
            )
        except IntegrityError as exc:
            raise _error(
                "package.rows",
                f"Dữ liệu vi phạm ràng buộc khoá ngoại của cơ sở dữ liệu: {exc}",
                f"The rows break a foreign key of the database: {exc}",
            ) from None
    stats.phases["copy"] = time.perf_counter() - step
