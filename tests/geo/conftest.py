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
from pytest_django import DjangoDbBlocker

from dancu.geo.models import AdminUnit, UnitSuccession


@pytest.fixture(scope="module")
def load_output(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[str]:
    """Load the units; yield what `dancu load_units` printed."""
    with django_db_blocker.unblock():
        UnitSuccession.objects.all().delete()
        # Children before parents: the parent link protects a unit that still has children.
        for level in (AdminUnit.Level.COMMUNE, AdminUnit.Level.DISTRICT, AdminUnit.Level.PROVINCE):
            AdminUnit.objects.filter(level=level).delete()
        stdout = io.StringIO()
        call_command("load_units", stdout=stdout)
        yield stdout.getvalue()


@pytest.fixture
def units(load_output: str, db: None) -> None:
    """The real units and successions, for a test that runs in a rolled-back transaction."""
