"""Review of session 26: an officer finds a household by its address the way people say it.

People give their address as "149 Ngô Quyền" or "Hàng Trống số 1", not as the record writes it ("Số 149,
phố Ngô Quyền"): the search takes every word typed, in any order, without the words the record adds.
"""

from __future__ import annotations

from typing import Any

import pytest

from dancu.registry.selectors import CitizenQuery, citizen_search
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db


def found(actor: Any, **query: Any) -> list[str]:
    result = citizen_search(actor=actor, query=CitizenQuery(**query), purpose="Kiểm tra dữ liệu")
    return [c.full_name for c in result.results]


@pytest.mark.parametrize(
    ("address", "names"),
    [
        # The record says "Số 1 phố Hàng Trống" and "Số 5 ngõ Gạch".
        ("1 Hàng Trống", ["Nguyễn Văn Hùng"]),
        ("1 hang trong", ["Nguyễn Văn Hùng"]),
        ("Hàng Trống, số 1", ["Nguyễn Văn Hùng"]),
        ("5 ngõ gạch", ["Lê Thị Mai"]),
        ("so 5, ngo gach", ["Lê Thị Mai"]),
    ],
)
def test_an_address_is_found_by_its_words_as_people_say_them(
    personas: Personas, people: People, address: str, names: list[str]
) -> None:
    assert found(personas.minh, address=address) == names


@pytest.mark.parametrize("address", ["1 hàng bạc", "9 hang trong", "5 ngo hue"])
def test_every_word_typed_must_be_in_the_address(personas: Personas, people: People, address: str) -> None:
    assert found(personas.minh, address=address) == []
