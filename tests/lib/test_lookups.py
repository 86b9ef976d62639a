"""The `one_of` lookup: membership in a large set of values, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest

from dancu.geo.models import AdminUnit

pytestmark = pytest.mark.django_db


def _codes(values: object) -> set[str]:
    return set(
        AdminUnit.objects.filter(structure=AdminUnit.Structure.CURRENT, code__one_of=values).values_list(
            "code", flat=True
        )
    )


def test_one_of_finds_the_values_present_as_in_does() -> None:
    codes = list(
        AdminUnit.objects.filter(structure=AdminUnit.Structure.CURRENT).values_list("code", flat=True)[:3000]
    )
    asked = {*codes[::2], "99999", "abc'; DROP TABLE x; --"}
    assert _codes(asked) == set(codes[::2])
    assert _codes(asked) == set(
        AdminUnit.objects.filter(structure=AdminUnit.Structure.CURRENT, code__in=asked).values_list(
            "code", flat=True
        )
    )


def test_one_of_nothing_is_nothing() -> None:
    assert _codes(set()) == set()
    assert _codes([]) == set()


def test_one_of_refuses_a_single_string() -> None:
    with pytest.raises(TypeError, match="collection"):
        _codes("00070")


@pytest.mark.parametrize(
    "hostile",
    ['Hàng "Trống"', "a\\b", "a,b", "{a}", "NULL", "", " lề ", '\\"', "it's"],
)
def test_one_of_finds_values_that_an_array_must_quote_or_escape(hostile: str) -> None:
    # On PostgreSQL the values travel as the text of an array (`lookups.text_array`); quotes, backslashes,
    # commas, braces and the word NULL mean something there.
    unit = AdminUnit.objects.filter(structure=AdminUnit.Structure.CURRENT).order_by("code").first()
    assert unit is not None
    AdminUnit.objects.filter(pk=unit.pk).update(name=hostile)
    found = AdminUnit.objects.filter(name__one_of=[hostile, "khác", 'x"y']).values_list("code", flat=True)
    assert list(found) == [unit.code]
    assert not AdminUnit.objects.filter(name__one_of=[hostile + "x", hostile[:-1] or "y"]).exists()
