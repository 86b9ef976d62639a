"""`lib.pgjit.jit_off`: a transaction whose queries PostgreSQL does not compile, and nothing left behind."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from dancu.collection.models import ImportRun
from dancu.lib.pgjit import jit_off

# Without the test's own transaction: SET LOCAL ends with the outermost one.
pytestmark = pytest.mark.django_db(transaction=True)


def _jit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        return str(cursor.fetchone()[0])


def test_queries_inside_are_not_compiled_and_the_connection_goes_back_as_it_was() -> None:
    if connection.vendor != "postgresql":
        # SQLite compiles nothing, and a transaction there would take the write lock for a read: the
        # queries run as they would without the block.
        with jit_off():
            assert not transaction.get_connection().in_atomic_block
            assert ImportRun.objects.count() == 0
        return
    before = _jit()
    assert before == "on"  # the server's default: the test would prove nothing otherwise
    with jit_off():
        assert _jit() == "off"
    assert _jit() == before
    # Inside a transaction of the caller's: it lasts until that one ends.
    with transaction.atomic():
        with jit_off():
            assert _jit() == "off"
            assert ImportRun.objects.count() == 0
        assert _jit() == "off"  # SET LOCAL lasts until the outer transaction ends
    assert _jit() == before
