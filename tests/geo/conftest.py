"""Fixtures of the geo tests: the real reference data, loaded from scratch once per test module.

The session already holds the units (tests/conftest.py loads them for every app). A module that asks
for `load_output` empties the tables and loads them again, so that it sees what a first load on a
fresh database prints; the units stay loaded afterwards for the tests that follow.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import connection
from pytest_django import DjangoDbBlocker

from dancu.geo.models import AdminUnit, UnitSuccession


def units_emptied() -> None:
    """Delete every unit and succession in four statements. Django's `delete()` first asks each of the
    dozens of tables that refer to a unit for the rows of every batch of units (1,166 queries, 8 s on a slow
    machine); at this point only the units' own parent links and the successions refer to a unit, and they
    go in order: the successions, then children before parents."""
    # The table names are the models' own, never input: hence the S608 waivers.
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {UnitSuccession._meta.db_table}")  # noqa: S608
        for level in (AdminUnit.Level.COMMUNE, AdminUnit.Level.DISTRICT, AdminUnit.Level.PROVINCE):
            cursor.execute(f"DELETE FROM {AdminUnit._meta.db_table} WHERE level = %s", [level])  # noqa: S608
    assert not AdminUnit.objects.exists()


@pytest.fixture(scope="module")
def load_output(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[str]:
    """Load the units; yield what `dancu load_units` printed."""
    with django_db_blocker.unblock():
        units_emptied()
        stdout = io.StringIO()
        call_command("load_units", stdout=stdout)
        yield stdout.getvalue()


@pytest.fixture
def units(load_output: str, db: None) -> None:
    """The real units and successions, for a test that runs in a rolled-back transaction."""


@pytest.fixture
def no_units(db: None) -> None:
    """An empty unit table inside the test's transaction (rolled back after it), for loads of tiny data."""
    units_emptied()
