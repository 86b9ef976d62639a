"""The migration operation that builds an index without locking a large table (dancu.lib.migration_ops),
run both ways: a migration is reversible, and its index goes and comes back on either database."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.migrations.loader import MigrationLoader

from dancu.lib.migration_ops import AddIndexConcurrentlyOnPostgres
from dancu.registry.models import Residence

_MIGRATION = ("registry", "0013_residence_current_stay_expiry")
_INDEX = "residence_current_stay_expiry"


def _indexes() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, Residence._meta.db_table))


def _run(operation: AddIndexConcurrentlyOnPostgres, direction: str, before: Any, after: Any) -> None:
    # Outside any transaction: PostgreSQL builds and drops an index concurrently only there.
    with connection.schema_editor(atomic=False) as editor:
        if direction == "backwards":
            operation.database_backwards("registry", editor, after, before)
        else:
            operation.database_forwards("registry", editor, before, after)


def test_the_index_is_dropped_and_built_again(transactional_db: None) -> None:
    loader = MigrationLoader(connection)
    migration = loader.get_migration(*_MIGRATION)
    [operation] = migration.operations
    assert isinstance(operation, AddIndexConcurrentlyOnPostgres)
    assert migration.atomic is False
    [parent] = migration.dependencies
    before, after = loader.project_state(parent), loader.project_state(_MIGRATION)
    assert _INDEX in _indexes()

    try:
        _run(operation, "backwards", before, after)
        assert _INDEX not in _indexes()
    finally:
        _run(operation, "forwards", before, after)

    assert _INDEX in _indexes()
