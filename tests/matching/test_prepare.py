"""The keys `matching.prepare` computes for blocking and comparison: each survives the typing error it
is meant for."""

from __future__ import annotations

from datetime import date

import pytest

from dancu.matching.prepare import AddressUnits, prepare_row

TODAY = date(2025, 7, 1)


def prepared(**row: str) -> dict[str, object]:
    return prepare_row(
        {"record_id": "a", "full_name": "Nguyễn Văn Hùng", **row}, today=TODAY, units=AddressUnits(None)
    )


def test_two_swapped_digits_share_the_digits_key() -> None:
    left = prepared(id_number="001090012345")["pin_sorted"]
    assert left == prepared(id_number="001090012354")["pin_sorted"]
    assert left == prepared(id_number="001090021345")["pin_sorted"]
    # Only the second half is sorted: the first half (province, century and sex, year) keeps the key
    # close to unique.
    assert left != prepared(id_number="010090012345")["pin_sorted"]
    assert (
        prepared(old_id_number="012345678")["cmnd_sorted"]
        == prepared(old_id_number="012348765")["cmnd_sorted"]
    )
    assert prepared()["pin_sorted"] is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # Refused by the registry as impossible, kept for matching as typed.
        ("1949-00-13", (1949, 0, 13, "1949-00-13")),
        ("31/02/1975", (1975, 2, 31, "1975-02-31")),
        ("1962-13-05", (1962, 13, 5, "1962-13-05")),
        # A readable date is the registry's own reading.
        ("17/05/1990", (1990, 5, 17, "1990-05-17")),
        # Known to the year only: no full date.
        ("1990", (1990, None, None, None)),
        # Not a date at all.
        ("không rõ", (None, None, None, None)),
        ("12-05", (None, None, None, None)),
    ],
)
def test_birth_date_parts(typed: str, expected: tuple[object, ...]) -> None:
    row = prepared(birth_date=typed)
    assert (row["dob_y"], row["dob_m"], row["dob_d"], row["dob"]) == expected


def test_name_keys() -> None:
    row = prepared(full_name="Nguyễn Văn Hùng")
    assert row["family_folded"] == "nguyen"
    assert row["given_folded"] == "hung"
    assert row["initials"] == "nvh"
    assert row["name_sorted"] == "hung nguyen van"


def test_an_address_detail_is_a_place_only_with_its_commune() -> None:
    # Without units loaded nothing resolves: the place is the detail alone, marked as having no commune.
    row = prepared(address="10 Wellsl Road, Rosehill, Auburn, 5068 SA")
    assert row["commune"] is None
    assert row["place"] == "|" + str(row["address_detail"])
    assert row["address_words"] == ["10", "5068", "auburn", "road", "rosehill", "sa", "wellsl"]
    assert prepared()["place"] is None
