"""RecordLookups: the registry's answers to many DC01 checks read at once (an import's chunk of rows), the
same as the per-form questions would get, in a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dancu.lib.partial_date import PartialDate
from dancu.lib.vntext import fold_name
from dancu.registry.selectors import (
    POSSIBLE_DUPLICATES_READ,
    RecordLookups,
    old_id_holder,
    pin_holder,
    possible_duplicates,
)
from tests.conftest import People, make_citizen

pytestmark = pytest.mark.django_db

BIRTH = PartialDate.parse("1990-05-17")


def test_the_answers_are_those_of_the_per_form_questions(people: People) -> None:
    twin = make_citizen(full_name="Nguyễn Văn Hùng")  # the same name and birth as people.hung
    pins = [people.hung.pin, people.mai.pin, "001090999999", "bad"]
    old_ids = ["012345678", "987654321", "12"]
    names = [(fold_name("Nguyễn Văn Hùng"), BIRTH), (fold_name("Nguyễn Văn Hùng"), PartialDate(1990))]
    names += [(fold_name("Không Ai Cả"), BIRTH)]

    lookups = RecordLookups(pins=pins, old_ids=old_ids, names=names)

    with CaptureQueriesContext(connection) as asked:
        assert [lookups.pin_holder(pin) for pin in pins[:3]] == [pin_holder(pin) for pin in pins[:3]]
        assert [lookups.pin_holder(pin) for pin in pins[:3]] == [people.hung.pk, people.mai.pk, None]
        assert lookups.old_id_holder("012345678") == people.hung.pk
        assert lookups.old_id_holder("987654321") is None
        assert lookups.possible_duplicates(*names[0]) == [people.hung.pk, twin.pk]
        assert lookups.possible_duplicates(*names[1]) == []  # born in 1990, not known to the day
        assert lookups.possible_duplicates(*names[2]) == []
    # The per-form functions above asked the database; the lookups' own answers did not.
    assert len(asked) == 3
    assert lookups.possible_duplicates(*names[0]) == possible_duplicates(*names[0])
    assert lookups.old_id_holder("012345678") == old_id_holder("012345678")


def test_a_question_not_given_up_front_goes_to_the_database(people: People) -> None:
    lookups = RecordLookups(pins=[people.hung.pin])

    with CaptureQueriesContext(connection) as asked:
        assert lookups.pin_holder(people.mai.pin) == people.mai.pk
        assert lookups.old_id_holder("012345678") == people.hung.pk
        assert lookups.possible_duplicates(fold_name("Nguyễn Văn Hùng"), BIRTH) == [people.hung.pk]
    assert len(asked) == 3


def test_many_forms_cost_the_same_few_queries(people: People) -> None:
    pins = [f"0010900{n:05d}" for n in range(700)] + [people.hung.pin]
    names = [(fold_name(f"Người Thứ {n}"), BIRTH) for n in range(300)] + [(people.hung.name_key, BIRTH)]

    with CaptureQueriesContext(connection) as read:
        lookups = RecordLookups(pins=pins, old_ids=[f"{n:09d}" for n in range(600)], names=names)

    # Two queries per kind for the lists over 500 values (SQLite's parameters), and the names' batches.
    assert len(read) == 2 + 2 + 2
    assert lookups.pin_holder(people.hung.pin) == people.hung.pk
    assert lookups.possible_duplicates(people.hung.name_key, BIRTH) == [people.hung.pk]


def test_a_common_name_gives_the_first_records_as_the_question_does(people: People) -> None:
    for _ in range(POSSIBLE_DUPLICATES_READ + 2):
        make_citizen(full_name="Trần Thị Lan", birth_date="1985-01-02", sex="F")
    key = fold_name("Trần Thị Lan")
    birth = PartialDate.parse("1985-01-02")

    found = RecordLookups(names=[(key, birth)]).possible_duplicates(key, birth)

    assert found == possible_duplicates(key, birth)
    assert len(found) == POSSIBLE_DUPLICATES_READ


def test_reread_sees_the_records_written_since(people: People) -> None:
    key = fold_name("Lê Văn Mới")
    lookups = RecordLookups(
        pins=["001090000123"], old_ids=["111222333"], names=[(key, BIRTH), (key, PartialDate(1990))]
    )
    assert lookups.possible_duplicates(key, BIRTH) == []

    new = make_citizen(full_name="Lê Văn Mới", pin="001090000123", old_id_number="111222333")
    # Still the answers of the moment they were read, until the caller says what it wrote.
    assert lookups.pin_holder("001090000123") is None
    with CaptureQueriesContext(connection) as read:
        lookups.reread(pins=["001090000123"], old_ids=["111222333"], name_keys=[key])
    assert len(read) == 3

    assert lookups.pin_holder("001090000123") == new.pk
    assert lookups.old_id_holder("111222333") == new.pk
    assert lookups.possible_duplicates(key, BIRTH) == [new.pk]
    assert lookups.possible_duplicates(key, PartialDate(1990)) == []
