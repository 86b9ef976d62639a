"""The comparison levels on crafted pairs: each usual confusion of Vietnamese records lands in the level
meant for it, so that its weight is learnt and shown apart from the others."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

import pytest

from dancu.geo.address import parse_address
from dancu.matching.engine import explain_pair
from dancu.matching.prepare import AddressUnits, prepare_row

pytestmark = pytest.mark.django_db

TODAY = date(2025, 7, 1)
BASE = {
    "record_id": "a",
    "full_name": "Nguyễn Văn Hùng",
    "gender": "Nam",
    "birth_date": "1990-05-17",
    "id_number": "001090012345",
    "old_id_number": "012345678",
    "father_name": "Nguyễn Văn Bình",
    "mother_name": "Trần Thị Hòa",
    "birth_place": "Hà Nội",
    "address": "Số 12 phố Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội",
}


def levels(left: dict[str, str], right: dict[str, str]) -> dict[str, str]:
    units = AddressUnits(parse_address)
    return explain_pair(
        prepare_row({**BASE, **left}, today=TODAY, units=units),
        prepare_row({**BASE, "record_id": "b", **right}, today=TODAY, units=units),
    )


def level_of(field: str, column: str, left: str, right: str) -> str:
    return levels({column: left}, {column: right})[field]


EXACT = "exact (NFC, canonical spelling)"
FOLDED = "same letters without tone marks and đ"


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("Nguyễn Văn Hùng", "Nguyễn Văn Hùng", EXACT),
        # Decomposed Unicode: letters and marks as separate code points.
        ("Nguyễn Văn Hùng", unicodedata.normalize("NFD", "Nguyễn Văn Hùng"), EXACT),
        ("Nguyễn Văn Hùng", "nguyễn văn hùng", EXACT),
        # The other tone-placement convention is the same spelling.
        ("Trần Thị Thúy", "Trần Thị Thuý", EXACT),
        # Huyền and sắc confused.
        ("Nguyễn Văn Hùng", "Nguyễn Văn Húng", FOLDED),
        # Hỏi and ngã confused.
        ("Lê Thị Thủy", "Lê Thị Thũy", FOLDED),
        # Marks dropped, and upper case without marks, đ included.
        ("Nguyễn Văn Hùng", "Nguyen Van Hung", FOLDED),
        ("Đặng Văn Đức", "DANG VAN DUC", FOLDED),
        # Given name first, as some forms made abroad ask.
        ("Nguyễn Văn Hùng", "Hùng Nguyễn Văn", "same words in another order"),
        # A typing slip in one letter.
        ("Nguyễn Văn Hùng", "Nguyễn Văn Hùnh", "Jaro-Winkler ≥ 0.92 without marks, given name alike"),
        # Siblings share the beginning of the name, which Jaro-Winkler rewards; their given names differ.
        ("Nguyễn Gia Giang", "Nguyễn Gia Tuấn", "same family name, rest different"),
        ("Huỳnh Thị Hà", "Huỳnh Minh Hạnh", "same family name, rest different"),
        ("Phạm Thị Thư", "Phạm Thị Tú", "same family name, rest different"),
        # A slip in the family name and another in the given name.
        ("Nguyễn Văn Hùng", "Nguyến Thanh Hùnh", "family and given name each alike"),
        # The given name kept, the rest of the name replaced (a married name, a form filled by others).
        ("Nguyễn Thị Lan", "Trần Lan", "same given name, rest different"),
        ("Nguyễn Văn Hùng", "Trần Thị Mai", "different"),
        ("Nguyễn Văn Hùng", "", "null"),
    ],
)
def test_name_confusions_land_in_their_level(left: str, right: str, expected: str) -> None:
    assert level_of("full_name", "full_name", left, right) == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1990-05-17", "17/05/1990", "exact"),
        ("1990-05-17", "1990", "agrees as far as the less precise date is known"),
        ("1990-05-17", "1990-05", "agrees as far as the less precise date is known"),
        ("1990-05-07", "1990-07-05", "day and month swapped"),
        ("1990-05-17", "1990-05-20", "same year and month"),
        ("1990-05-17", "1990-11-02", "same year only"),
        # One digit mistyped anywhere in the date.
        ("1990-05-17", "1991-05-17", "one digit different"),
        ("1990-05-17", "1990-05-11", "one digit different"),
        ("1990-05-17", "1985-05-17", "same day and month, other year"),
        # An impossible date, as typed, is still one digit from the real one.
        ("1990-05-17", "1990-15-17", "one digit different"),
        ("1990-05-17", "31/02/1975", "different"),
        ("1990-05-17", "1975-01-02", "different"),
        ("1990-05-17", "", "null"),
    ],
)
def test_birth_date_levels_keep_the_precision(left: str, right: str, expected: str) -> None:
    assert level_of("birth_date", "birth_date", left, right) == expected


def test_identifiers_exact_one_digit_or_different() -> None:
    assert level_of("pin", "id_number", "001090012345", "001090012345") == "exact"
    assert level_of("pin", "id_number", "001090012345", "001190012345") == "one digit different"
    assert level_of("pin", "id_number", "001090012345", "001090012354") == "two digits swapped"
    assert level_of("pin", "id_number", "001090012345", "079185000111") == "different"
    # A CMND whose leading zero a spreadsheet dropped is the same number.
    assert level_of("cmnd", "old_id_number", "012345678", "12345678") == "exact"


def test_parents_names_are_compared_like_names() -> None:
    assert level_of("father", "father_name", "Nguyễn Văn Bình", "NGUYEN VAN BINH") == (
        "same letters without tone marks"
    )
    assert level_of("mother", "mother_name", "Trần Thị Hòa", "Trần Thị Hoà") == EXACT


def test_addresses_are_compared_in_2025_units() -> None:
    here = "Số 12 phố Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội"
    assert level_of("address", "address", here, "so 12 pho hang bac, phuong hoan kiem, tp ha noi") == (
        "same place: same 2025 commune and same detail"
    )
    assert level_of("address", "address", here, "Số 40 phố Hàng Gai, Phường Hoàn Kiếm, Hà Nội") == (
        "same 2025 commune"
    )
    assert level_of("address", "address", here, "Số 3 phố Hàng Bông, Phường Hồng Hà, Hà Nội") == (
        "same 2025 province"
    )


def test_every_field_is_explained() -> None:
    same: dict[str, Any] = {}
    assert set(levels(same, same)) == {
        "full_name",
        "birth_date",
        "sex",
        "pin",
        "cmnd",
        "father",
        "mother",
        "birth_place",
        "address",
    }
