"""The comparison levels on crafted pairs: each usual confusion of Vietnamese records lands in the level
meant for it, so that its weight is learnt and shown apart from the others."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from dancu.geo.address import parse_address
from dancu.matching.engine import explain_pair
from dancu.matching.prepare import AddressUnits, prepare_records, prepare_row

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
        # Given names one letter apart are alike only when they begin alike: "Uyên" and "Huyền", "Trí"
        # and "Triết" are different names of sisters and brothers.
        ("Nguyễn Phương Uyên", "Nguyễn Bảo Huyền", "same family name, rest different"),
        ("Vũ Thiên Trí", "Vũ Anh Triết", "same family name, rest different"),
        # The initial consonant is one to three letters: "Tiến" and "Thiện" begin alike to the eye and are
        # a Jaro-Winkler of 0.95 apart, and are two names.
        ("Nguyễn Văn Tiến", "Nguyễn Quốc Thiện", "same family name, rest different"),
        ("Trần Thị Nhung", "Trần Thị Nung", "same family name, rest different"),
        # A name that is no Vietnamese syllable keeps the first-letter rule, slips in its onset included.
        ("Campbell Thomas", "Campbell Tomas", "Jaro-Winkler ≥ 0.92 without marks, given name alike"),
        # Brothers named apart by the middle name alone: not a slip in each of family and given name.
        ("Ngô Tuấn Hùng", "Ngô Hữu Hưng", "same given name, rest different"),
        ("Lê Bảo Quyên", "Lê Phương Quyên", "same given name, rest different"),
        # Thị and Văn, which old registers leave out and add, do not count as a middle name that differs.
        ("Nguyễn Hồng Lan", "Nguyễm Thị Hồng Lann", "family and given name each alike"),
        # Brothers and sisters named with the same words in turn are not a name written in another order.
        ("Nguyễn Quang Minh", "Nguyễn Minh Quang", "same family name, rest different"),
        ("Nguyễn Ngọc Thảo", "Nguyễn Thảo Ngọc", "same family name, rest different"),
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
    # Two strangers of one province, sex and year whose random digits happen to be the same digits in
    # another order (one pair in a few thousand): no slip of the keyboard makes one from the other.
    assert level_of("pin", "id_number", "012198441327", "012198714432") == "different"
    # Two digits far apart exchanged is still a slip.
    assert level_of("pin", "id_number", "001090012345", "001090052341") == "two digits swapped"
    # A CMND whose leading zero a spreadsheet dropped is the same number.
    assert level_of("cmnd", "old_id_number", "012345678", "12345678") == "exact"


def test_parents_are_one_comparison() -> None:
    def parents(left: dict[str, str], right: dict[str, str]) -> str:
        return levels(left, right)["parents"]

    same = {"father_name": "Nguyễn Văn Bình", "mother_name": "Trần Thị Hòa"}
    assert parents(same, same) == "both the same (NFC, canonical spelling)"
    assert parents(same, {"father_name": "NGUYEN VAN BINH", "mother_name": "Tran Thi Hoa"}) == (
        "both the same without tone marks"
    )
    assert parents(same, {"mother_name": ""}) == "one the same, the other unknown on one side"
    assert parents(same, {"mother_name": "Lê Thị Thu"}) == "one the same, the other different"
    assert parents(same, {"father_name": "Nguyễn Văn Bìnn", "mother_name": "Trần Thị Hoàa"}) == (
        "both alike (Jaro-Winkler ≥ 0.90 without marks)"
    )
    assert parents(same, {"father_name": "Lê Văn Tám", "mother_name": "Phạm Thị Mai"}) == "different"
    assert parents(same, {"father_name": "", "mother_name": ""}) == "null"
    # Parents of one village share family and middle names, which Jaro-Winkler rewards (0.91 here): their
    # given names must be alike too.
    other_village = {"father_name": "Trần Văn Tường", "mother_name": "Hoàng Thị Tâm"}
    assert (
        parents(other_village, {"father_name": "Trần Văn Lộc", "mother_name": "Hoàng Thị Thắm"})
        == "different"
    )
    assert parents(other_village, {"father_name": "Tran Van Tuonq", "mother_name": "Hoang Thi Tam"}) == (
        "both alike (Jaro-Winkler ≥ 0.90 without marks)"
    )


SIBLINGS = "the same known parents, born in other years: brothers and sisters"


def test_the_same_parents_with_dates_of_other_years_are_brothers_and_sisters() -> None:
    """A registry run proposed "H'Biêr Hwing" of 2014 and of 2016, daughters of one father and mother:
    the parents counted +17 bits for what only makes them sisters."""

    def parents(left_date: str, right_date: str) -> str:
        return levels({"birth_date": left_date}, {"birth_date": right_date})["parents"]

    assert parents("2014-06-20", "2016-07-13") == SIBLINGS
    assert parents("2014-06-20", "2019-03-02") == SIBLINGS
    # A slip of one digit in the year is one person's date typed wrong, not a second child (and a
    # child born on the same day four years later cannot be told from it).
    assert parents("1973-05-17", "1933-05-17") == "both the same (NFC, canonical spelling)"
    assert parents("2014-06-20", "2018-06-20") == "both the same (NFC, canonical spelling)"
    # Twins share the date; day and month swapped keep the year; a year alone cannot tell.
    assert parents("1990-05-17", "1990-05-17") == "both the same (NFC, canonical spelling)"
    assert parents("1990-05-07", "1990-07-05") == "both the same (NFC, canonical spelling)"
    assert parents("1990", "1994-05-17") == "both the same (NFC, canonical spelling)"


def test_a_parent_left_out_on_one_side_still_names_the_family() -> None:
    """At a million people half of the brothers proposed as one person had one parent recorded on one side
    only ("Y Wơn Mlô" of 2010 and of 2013: the mother the same, the father unknown on one side)."""
    no_father = {"father_name": "", "birth_date": "2013-12-16"}
    assert levels({"birth_date": "2010-01-21"}, no_father)["parents"] == SIBLINGS
    assert levels({"birth_date": "2010-01-21"}, {**no_father, "birth_date": "2010-01-21"})["parents"] == (
        "one the same, the other unknown on one side"
    )
    here = "Số 12 phố Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội"
    assert levels({"address": here}, {"address": here, "father_name": ""})["address"] == (
        "same place, and the same known parents: one household"
    )
    # A parent who differs is not a family the records share.
    other_father = {"address": here, "father_name": "Lê Văn Tám", "birth_date": "2013-12-16"}
    assert (
        levels({"address": here}, other_father)["address"] == "same place: same 2025 commune and same detail"
    )
    assert levels({"address": here}, other_father)["parents"] == "one the same, the other different"


def test_siblings_are_not_one_person() -> None:
    """Two children of one family share their parents, address, birth place and family name: evidence
    that must not add up to one person when the given name, the date and the PIN all differ."""
    from dancu.matching.engine import run_matcher
    from dancu.matching.prepare import prepare_records

    # Each child has a PIN of their own and no old ID card.
    family = {
        key: value
        for key, value in BASE.items()
        if key not in ("record_id", "full_name", "birth_date", "old_id_number")
    }
    rows = [
        {
            **family,
            "record_id": "a",
            "full_name": "Nguyễn Gia Giang",
            "birth_date": "2016-02-13",
            "id_number": "001316012345",
            "gender": "Nữ",
        },
        {
            **family,
            "record_id": "b",
            "full_name": "Nguyễn Gia Hân",
            "birth_date": "2018-07-21",
            "id_number": "001318054321",
            "gender": "Nữ",
        },
        {
            **family,
            "record_id": "c",
            "full_name": "Nguyễn Gia Giang",
            "birth_date": "13/02/2016",
            "id_number": "001316012345",
            "gender": "Nữ",
        },
    ]
    prepared = prepare_records(rows, today=TODAY, units=AddressUnits(parse_address))
    result = run_matcher(prepared, keep_above=0.0)
    assert result.clusters["a"] == result.clusters["c"]
    assert result.clusters["b"] != result.clusters["a"]


def test_addresses_are_compared_in_2025_units() -> None:
    here = "Số 12 phố Hàng Bạc, Phường Hoàn Kiếm, Thành phố Hà Nội"
    # The same place and the same father and mother: one household, which the parents already count.
    assert level_of("address", "address", here, "so 12 pho hang bac, phuong hoan kiem, tp ha noi") == (
        "same place, and the same known parents: one household"
    )
    other_parents = {"father_name": "Lê Văn Tám", "mother_name": "Phạm Thị Mai"}
    assert (
        levels(
            {"address": here}, {"address": "so 12 pho hang bac, phuong hoan kiem, tp ha noi", **other_parents}
        )["address"]
        == "same place: same 2025 commune and same detail"
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
        "parents",
        "birth_place",
        "address",
    }


def _blocked_pairs(rows: list[dict[str, str]]) -> tuple[set[tuple[str, str]], dict[str, int]]:
    from dancu.matching.engine import run_matcher
    from dancu.matching.prepare import prepare_records

    prepared = prepare_records(rows, today=TODAY, units=AddressUnits(None))
    result = run_matcher(prepared, keep_above=0.0)
    pairs: set[tuple[str, str]] = set()
    for left, right in zip(result.pairs["unique_id_l"], result.pairs["unique_id_r"], strict=True):
        pairs.add((min(str(left), str(right)), max(str(left), str(right))))
    counts = {rule["rule"]: rule["pairs"] for rule in result.summary["blocking_rules"]}
    return pairs, counts


def test_records_with_name_and_pin_all_mistyped_are_still_compared() -> None:
    """A duplicate whose name, PIN and part of its address were all retyped wrongly shares no name or
    identifier key with its original; its date with its locality or its house number, or its house
    number with its town (an address that resolves to no commune), still bring the two together."""
    original = {
        "record_id": "org",
        "full_name": "Rhiannon Bishop",
        "birth_date": "1908-05-13",
        "id_number": "6284110",
        "address": "39 Rossarden Street, Oakdale, Clayton, 2037 QLD",
    }
    rows = [
        original,
        # Same date and last part of the address (postcode and state), the rest retyped.
        {
            **original,
            "record_id": "dob-locality",
            "full_name": "Nichoqlas Hope",
            "id_number": "1209261",
            "address": "93 Rossardne Street, Oakdale, Clayt Ln, 2037 QLD",
        },
        # Same date and house number, postcode mistyped.
        {
            **original,
            "record_id": "dob-house",
            "full_name": "Zara Hope",
            "id_number": "3122448",
            "address": "39 Rossarden Street, Oakdale, Clayton, 2073 QLD",
        },
        # Same house number and postcode, date retyped.
        {
            **original,
            "record_id": "house-town",
            "full_name": "Jessica Hanna",
            "birth_date": "1980-01-01",
            "id_number": "9277788",
            "address": "39 Rosarden Stret, Oakdle, Clayton, 2037 QLD",
        },
        # Nothing in common but the date: never compared.
        {
            **original,
            "record_id": "stranger",
            "full_name": "Amber Lodge",
            "id_number": "5555555",
            "address": "7 Smiths Road, Kinglake, 4560 NSW",
        },
    ]
    pairs, counts = _blocked_pairs(rows)
    assert ("dob-locality", "org") in pairs
    assert ("dob-house", "org") in pairs
    assert ("house-town", "org") in pairs
    assert ("org", "stranger") not in pairs
    assert counts["dob_locality"] >= 1
    assert counts["dob_house"] >= 1
    assert counts["house_town"] >= 1


def test_scored_pairs_carry_each_fields_level_and_not_the_blocking_keys() -> None:
    """The pairs are scored without the blocking keys (which Splink retains with the matching columns), and
    still with each field's level, its weight and the rule that blocked them."""
    from dancu.matching.engine import BLOCKING_RULES, run_matcher

    rows = [
        {**BASE, "record_id": "a"},
        {**BASE, "record_id": "b", "full_name": "Nguyen Van Hung", "id_number": ""},
        {**BASE, "record_id": "c", "full_name": "Lê Thị Mai", "id_number": "001190054321", "gender": "Nữ"},
    ]
    prepared = prepare_records(rows, today=TODAY, units=AddressUnits(None))
    result = run_matcher(prepared, keep_above=0.0)
    assert not [column for column in result.pairs.columns if column.startswith("bk_")]
    fields = list(result.level_labels)
    assert {f"gamma_{name}" for name in fields} <= set(result.pairs.columns)
    assert {f"w_{name}" for name in fields} <= set(result.pairs.columns)
    pair = result.pairs[(result.pairs["unique_id_l"] == "a") & (result.pairs["unique_id_r"] == "b")].iloc[0]
    assert result.level_labels["full_name"][int(pair["gamma_full_name"])] == FOLDED
    assert result.level_labels["pin"][int(pair["gamma_pin"])] == "null"
    assert 0 <= int(pair["match_key"]) < len(BLOCKING_RULES)
    assert result.summary["candidate_pairs"] == len(result.pairs)


def test_the_blocking_rules_are_back_in_the_model_after_scoring_even_after_an_error() -> None:
    from splink import DuckDBAPI, Linker

    from dancu.matching.engine import BLOCKING_RULES, _blocking_keys_left_behind, _frame, _settings

    prepared = prepare_records([BASE], today=TODAY, units=AddressUnits(None))
    linker = Linker(DuckDBAPI().register(_frame(prepared.columns)), _settings(BLOCKING_RULES, trained=False))
    rules = linker._settings_obj._blocking_rules_to_generate_predictions
    assert len(rules) == len(BLOCKING_RULES)
    seen = []

    def scoring_fails() -> None:
        with _blocking_keys_left_behind(linker):
            seen.append(linker._settings_obj._blocking_rules_to_generate_predictions)
            raise RuntimeError("scoring failed")

    with pytest.raises(RuntimeError):
        scoring_fails()
    assert seen == [[]]
    assert linker._settings_obj._blocking_rules_to_generate_predictions is rules


def test_a_house_number_shared_by_a_whole_village_is_no_key() -> None:
    """ "Thôn 2" numbers a village, not a house: a house number shared by more records of one town than
    `HOUSE_CAP` is left out of its rule, so its villagers are not all compared with each other."""
    from dancu.matching.engine import HOUSE_CAP

    rows = [
        {
            "record_id": f"r{index}",
            "full_name": f"Person {chr(ord('a') + index)}{chr(ord('a') + index)}",
            "birth_date": f"19{50 + index}-01-{10 + index}",
            "address": "Thôn 2, Somewhere, 5068 SA",
        }
        for index in range(HOUSE_CAP + 1)
    ]
    _pairs, counts = _blocked_pairs(rows)
    assert counts["house_town"] == 0
    _pairs, counts = _blocked_pairs(rows[:HOUSE_CAP])
    assert counts["house_town"] == HOUSE_CAP * (HOUSE_CAP - 1) // 2


def _linker() -> Any:
    import copy

    from splink import DuckDBAPI, Linker

    from dancu.matching.engine import BLOCKING_RULES, PREPARED_COLUMNS, _frame, _settings

    units = AddressUnits(parse_address)
    rows = [prepare_row({**BASE, "record_id": str(n)}, today=TODAY, units=units) for n in range(2)]
    frame = _frame({name: [row[name] for row in rows] for name in PREPARED_COLUMNS})
    for rule in BLOCKING_RULES:
        frame[rule.key_column] = None
    linker = Linker(DuckDBAPI().register(frame), _settings(BLOCKING_RULES, trained=True), log_level=None)
    return linker, copy.deepcopy(linker._settings_obj)


def _levels_of(linker: Any, name: str) -> list[Any]:
    comparison = next(c for c in linker._settings_obj.comparisons if c.output_column_name == name)
    return [level for level in comparison.comparison_levels if not level.is_null_level]


def test_a_describing_comparison_trained_to_call_a_different_value_a_match_keeps_its_priors() -> None:
    """Training on a registry with few duplicates learns "born the same day" or "named alike" instead of
    "the same person": then most of its matches have wholly different parents or birth dates."""
    from dancu.matching.engine import _priors_where_training_went_astray

    linker, priors = _linker()
    prior_dates = [level.m_probability for level in _levels_of(linker, "birth_date")]
    prior_names = [level.m_probability for level in _levels_of(linker, "full_name")]
    # As the demo registry's training left them: dates "different" for 97 % of the matches...
    for level in _levels_of(linker, "birth_date"):
        level.m_probability = 0.9728 if level._is_else_level else 0.003
    # ...a name trained sensibly: most matches spelt alike, a few wholly different...
    for level in _levels_of(linker, "full_name"):
        level.m_probability = 0.1
    # ...and PINs "different" for nearly every match, which is right in a registry: a person's second
    # record has a PIN of its own.
    for level in _levels_of(linker, "pin"):
        level.m_probability = 0.9986 if level._is_else_level else 0.0005
    notes: list[str] = []
    _priors_where_training_went_astray(linker, priors, notes)
    assert [level.m_probability for level in _levels_of(linker, "birth_date")] == prior_dates
    assert len(notes) == 1
    assert notes[0].startswith("birth_date: training gave 98% of the matches to levels that are no evidence")
    assert "'different'" in notes[0]
    assert "'same year only'" in notes[0]
    names = [level.m_probability for level in _levels_of(linker, "full_name")]
    assert names != prior_names
    assert names[-1] == 0.1
    assert _levels_of(linker, "pin")[-1].m_probability == 0.9986


def test_training_that_learnt_the_province_keeps_the_address_priors() -> None:
    """Trained on a registry of 100,000 people with nobody twice, 94 % of the "matches" lived in another
    commune of the same province: a class of namesakes, which then counted +4.9 for any two people of
    one province and -16 for one person who moved away."""
    from dancu.matching.engine import _priors_where_training_went_astray

    linker, priors = _linker()
    prior_address = [level.m_probability for level in _levels_of(linker, "address")]
    trained = {"same 2025 province": 0.936, "same 2025 commune": 0.013, "different": 0.00001}
    for level in _levels_of(linker, "address"):
        level.m_probability = trained.get(level.label_for_charts, 0.01)
    notes: list[str] = []
    _priors_where_training_went_astray(linker, priors, notes)
    assert [level.m_probability for level in _levels_of(linker, "address")] == prior_address
    assert len(notes) == 1
    assert notes[0].startswith("address: training gave 94% of the matches")
    # The household level weighs what the parents have counted, not the person: it is no part of the share.
    assert "one household" not in notes[0]


def test_training_that_learnt_one_parent_of_namesakes_keeps_the_parents_priors() -> None:
    """Trained on a registry of a million people with nobody twice in the sessions of one commune and of one
    name, 98.7 % of the "matches" shared one parent's name and not the other's: namesakes of one clan,
    whose "one the same, the other different" then counted +9.4 bits and brought 160 more pairs of two
    people over the threshold (RESULTS.md, session 37). The priors weigh that level at 2.8 bits."""
    from dancu.matching.engine import _priors_where_training_went_astray

    linker, priors = _linker()
    prior_parents = [level.m_probability for level in _levels_of(linker, "parents")]
    trained = {"one the same, the other different": 0.9867, "both the same (NFC, canonical spelling)": 0.0019}
    for level in _levels_of(linker, "parents"):
        level.m_probability = trained.get(level.label_for_charts, 0.003)
    notes: list[str] = []
    _priors_where_training_went_astray(linker, priors, notes)
    assert [level.m_probability for level in _levels_of(linker, "parents")] == prior_parents
    assert len(notes) == 1
    assert notes[0].startswith("parents: training gave 99% of the matches")
    assert "'one the same, the other different'" in notes[0]


def test_training_that_learnt_the_person_is_kept() -> None:
    from dancu.matching.engine import _priors_where_training_went_astray

    linker, priors = _linker()
    trained = {"same place: same 2025 commune and same detail": 0.6, "same 2025 commune": 0.2}
    for level in _levels_of(linker, "address"):
        level.m_probability = trained.get(level.label_for_charts, 0.04)
    kept = [level.m_probability for level in _levels_of(linker, "address")]
    notes: list[str] = []
    _priors_where_training_went_astray(linker, priors, notes)
    assert [level.m_probability for level in _levels_of(linker, "address")] == kept
    assert notes == []


def test_the_prior_is_capped_by_the_share_of_records_that_may_be_a_second_record() -> None:
    """A registry of a million people with nobody twice kept the prior its near-certain rules gave (about
    one pair in a million: namesakes born the same day) and proposed 13,228 pairs, every one two people."""
    from dancu.matching.engine import _cap_prior

    linker, _priors = _linker()
    linker._settings_obj._probability_two_random_records_match = 1e-6
    notes: list[str] = []
    _cap_prior(linker, 1_000_000, 0.01, notes)
    # At most 10,000 pairs of one person among 499,999,500,000.
    assert linker._settings_obj._probability_two_random_records_match == pytest.approx(2e-8, rel=1e-5)
    assert notes == [
        "prior lowered from 1e-06 to 2e-08: at most 1.00% of the records a second record of someone"
    ]
    # An estimate under the ceiling (a file of a few thousand records) is left as it is.
    linker._settings_obj._probability_two_random_records_match = 1e-6
    notes = []
    _cap_prior(linker, 5_000, 0.01, notes)
    assert linker._settings_obj._probability_two_random_records_match == 1e-6
    assert notes == []


def _generated_records(tmp_path: Path) -> Any:
    """The prepared records of a generated dirty file of 1,200 people, enough to train on."""
    source = tmp_path / "people.csv"
    call_command(
        "generate", "--out", str(source), "--dirty", "--people", "1200", "--seed", "5", stdout=io.StringIO()
    )
    with source.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return prepare_records(rows, today=TODAY, units=AddressUnits(parse_address))


def _generated_frame(tmp_path: Path) -> Any:
    """The prepared table of `_generated_records`, without blocking keys."""
    from dancu.matching.engine import BLOCKING_RULES, _frame

    frame = _frame(_generated_records(tmp_path).columns)
    for rule in BLOCKING_RULES:
        frame[rule.key_column] = None
    return frame


# The estimate is DuckDB's; the database gives only the address units of the preparation, so the test runs in
# the SQLite pass only.
@pytest.mark.one_database
def test_u_estimated_in_two_threads_is_splinks_own_estimate(tmp_path: Path) -> None:
    """The u probabilities counted a part of the comparisons per thread, in one query each over the sample
    Splink draws (`_estimate_u`), are those of Splink's own estimate over the same random pairs, the
    levels no random pair reached included; and every comparison is estimated."""
    import duckdb
    from splink import DuckDBAPI, Linker
    from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT

    from dancu.matching.engine import BLOCKING_RULES, SEED, U_THREADS, _estimate_u, _settings

    frame = _generated_frame(tmp_path)
    api = DuckDBAPI(duckdb.connect())
    table = api.register(frame)

    def u_values(linker: Any) -> dict[str, list[float]]:
        return {
            comparison.output_column_name: [
                level.u_probability for level in comparison._comparison_levels_excluding_null
            ]
            for comparison in linker._settings_obj.comparisons
        }

    def linker() -> Any:
        return Linker(table, _settings(BLOCKING_RULES, trained=True), log_level=None, validate_settings=False)

    priors = u_values(linker())
    one = linker()
    one.training.estimate_u_using_random_sampling(max_pairs=40 * len(frame), seed=SEED, num_chunks=1)
    threaded = linker()
    _estimate_u(threaded, frame, api, max_pairs=40 * len(frame))

    assert u_values(threaded) == u_values(one)
    assert set(priors) == {name for names in U_THREADS for name in names}
    assert sum(len(names) for names in U_THREADS) == len(priors)
    changed = [name for name in priors if u_values(threaded)[name] != priors[name]]
    assert len(changed) == len(priors), "every comparison's u must have been estimated"
    # Some levels are never reached by random pairs (a PIN with two digits swapped): Splink marks them as not
    # observed, and so must the threads, leaving their prior u in place rather than a share of zero.
    unobserved = {
        (comparison.output_column_name, level.comparison_vector_value)
        for comparison in threaded._settings_obj.comparisons
        for level in comparison._comparison_levels_excluding_null
        if level._trained_u_probabilities[-1]["probability"] == LEVEL_NOT_OBSERVED_TEXT
    }
    assert ("pin", 1) in unobserved  # two digits swapped


# The sessions run on DuckDB; the database gives only the address units of the preparation.
@pytest.mark.one_database
def test_em_session_of_most_pairs_starts_first_and_estimates_keep_their_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session whose rule gives the most pairs is not left to start last behind the others
    (`_expectation_maximisation`): the one of the fewest pairs is. The estimates reach the run's model in
    the order of `EM_SESSIONS` all the same."""
    import threading

    import duckdb
    from splink import DuckDBAPI, Linker, block_on
    from splink.internals.linker_components.training import LinkerTraining

    from dancu.matching.engine import (
        BLOCKING_RULES,
        EM_SESSIONS,
        _em_sessions,
        _expectation_maximisation,
        _settings,
    )

    frame = _generated_frame(tmp_path)
    # A file of 1,200 people is too small for the sessions of a population.
    pairs = _em_sessions(frame)
    assert tuple(pairs) == EM_SESSIONS
    fewest = min(EM_SESSIONS, key=pairs.__getitem__)
    # In the order written, the session of the most pairs would start last: the test would then fail.
    assert max(EM_SESSIONS, key=pairs.__getitem__) == EM_SESSIONS[-1]
    assert fewest != EM_SESSIONS[-1]
    started: list[str] = []
    lock = threading.Lock()
    estimate = LinkerTraining.estimate_parameters_using_expectation_maximisation

    def watched(self: Any, blocking_rule: Any, **options: Any) -> Any:
        with lock:
            started.append(blocking_rule.get_blocking_rule("duckdb").blocking_rule_sql)
        return estimate(self, blocking_rule, **options)

    monkeypatch.setattr(LinkerTraining, "estimate_parameters_using_expectation_maximisation", watched)
    api = DuckDBAPI(duckdb.connect())
    linker = Linker(
        api.register(frame), _settings(BLOCKING_RULES, trained=True), log_level=None, validate_settings=False
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=40 * len(frame), seed=1, num_chunks=1)

    _expectation_maximisation(linker, frame, api, [])

    rules = {
        session: block_on(*session.columns).get_blocking_rule("duckdb").blocking_rule_sql
        for session in EM_SESSIONS
    }
    assert started[-1] == rules[fewest]
    # Sex is in no session's rule, and pairs of the same sex are in every session: each estimates it.
    (sex,) = [c for c in linker._settings_obj.comparisons if c.output_column_name == "sex"]
    level = sex._comparison_levels_excluding_null[0]
    descriptions = [entry["description"] for entry in level._trained_m_probabilities]
    assert descriptions == [f"EM, blocked on: {rules[session]}" for session in EM_SESSIONS]


# The sessions run on DuckDB; the database gives only the address units of the preparation.
@pytest.mark.one_database
def test_em_sessions_side_by_side_each_give_their_estimates_and_a_failed_one_is_named(tmp_path: Path) -> None:
    """The sessions run side by side (`_expectation_maximisation`): each one's estimates reach the run's
    model, and a session that cannot train (here no two records share a date of birth) is named in the
    notes while the others' estimates are kept."""
    import duckdb
    from splink import DuckDBAPI, Linker

    from dancu.matching.engine import (
        BLOCKING_RULES,
        EM_SESSIONS,
        M_FLOOR,
        _expectation_maximisation,
        _settings,
    )

    frame = _generated_frame(tmp_path)
    frame["dob"] = [f"unique-{index}" for index in range(len(frame))]
    api = DuckDBAPI(duckdb.connect())
    linker = Linker(
        api.register(frame), _settings(BLOCKING_RULES, trained=True), log_level=None, validate_settings=False
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=40 * len(frame), seed=1, num_chunks=1)
    notes: list[str] = []

    _expectation_maximisation(linker, frame, api, notes)

    assert len(notes) == 1
    assert notes[0].startswith('EM session l."dob" = r."dob" skipped')
    trained = {
        entry["description"]
        for comparison in linker._settings_obj.comparisons
        for level in comparison._comparison_levels_excluding_null
        for entry in level._trained_m_probabilities
    }
    # The two other sessions trained, each naming its blocking rule; the failed one gave nothing.
    assert trained == {
        'EM, blocked on: (l."name_folded" = r."name_folded") AND (l."dob_y" = r."dob_y")',
        'EM, blocked on: l."name_folded" = r."name_folded"',
    }
    assert {session.columns for session in EM_SESSIONS} == {
        ("name_folded", "dob_y"),
        ("dob",),
        ("name_folded",),
    }
    # Every m at least the floor, the levels no session's matches reached too.
    assert all(
        level.m_probability >= M_FLOOR
        for comparison in linker._settings_obj.comparisons
        for level in comparison._comparison_levels_excluding_null
    )


def _trained_in(linker: Any) -> dict[str, set[str]]:
    """Each comparison's sessions: the rules whose estimates its first level holds."""
    return {
        comparison.output_column_name: {
            entry["description"].removeprefix("EM, blocked on: ")
            for entry in comparison._comparison_levels_excluding_null[0]._trained_m_probabilities
        }
        for comparison in linker._settings_obj.comparisons
    }


def _sessions_expected() -> dict[str, set[str]]:
    """What each comparison should learn from `EM_LOCAL_SESSIONS`: every session whose rule's columns it
    does not read and that does not leave it."""
    from splink import block_on

    from dancu.matching.engine import EM_LOCAL_SESSIONS, _comparisons

    expected: dict[str, set[str]] = {}
    for comparison in _comparisons(term_frequencies=True):
        name = comparison._output_column_name
        reads = {
            column.input_name
            for column in comparison.get_comparison("duckdb")._input_columns_used_by_case_statement
        }
        expected[name] = {
            block_on(*session.columns).get_blocking_rule("duckdb").blocking_rule_sql
            for session in EM_LOCAL_SESSIONS
            if name not in session.leaves and not reads & set(session.columns)
        }
    return expected


# The sessions run on DuckDB; the database gives only the address units of the preparation.
@pytest.mark.one_database
def test_a_population_learns_in_the_sessions_of_a_commune_and_a_small_file_in_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sessions of a population (`EM_LOCAL_SESSIONS`) are used when each gives enough pairs to learn
    from, and the general ones otherwise: the file of 1,200 people has too few pairs of one date of birth
    in one commune; with the least lowered to its fewest, it has enough."""
    from dancu.matching import engine
    from dancu.matching.engine import (
        EM_LOCAL_MIN_PAIRS,
        EM_LOCAL_SESSIONS,
        EM_SESSIONS,
        _em_sessions,
        _pairs_sharing,
    )

    frame = _generated_frame(tmp_path)
    local = {session: _pairs_sharing(frame, session.columns) for session in EM_LOCAL_SESSIONS}
    fewest = min(local.values())
    assert 0 < fewest < EM_LOCAL_MIN_PAIRS
    assert tuple(_em_sessions(frame)) == EM_SESSIONS
    monkeypatch.setattr(engine, "EM_LOCAL_MIN_PAIRS", fewest)
    assert _em_sessions(frame) == local
    monkeypatch.setattr(engine, "EM_LOCAL_MIN_PAIRS", fewest + 1)
    assert tuple(_em_sessions(frame)) == EM_SESSIONS
    # The run says which sessions it learnt in.
    monkeypatch.setattr(engine, "EM_LOCAL_MIN_PAIRS", fewest)
    summary = engine.run_matcher(_generated_records(tmp_path)).summary
    assert summary["trained"]
    assert summary["em_sessions"] == [list(session.columns) for session in EM_LOCAL_SESSIONS]


# The sessions run on DuckDB; the database gives only the address units of the preparation.
@pytest.mark.one_database
@pytest.mark.parametrize("side_by_side", [True, False], ids=["side by side", "in turn"])
def test_a_session_does_not_train_the_comparisons_it_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, side_by_side: bool
) -> None:
    """Among the pairs of one commune most were born in its province, among those of one name most are of
    one sex: the sessions of a population leave those comparisons to the others. Each comparison holds the
    estimates of exactly the sessions that neither read its columns nor leave it, side by side on DuckDB and
    one after another as on Spark (`_sessions_in_turn`), and the model keeps every comparison in its order."""
    import duckdb
    from splink import DuckDBAPI, Linker

    from dancu.matching import engine
    from dancu.matching.engine import (
        BLOCKING_RULES,
        EM_LOCAL_SESSIONS,
        _em_sessions,
        _expectation_maximisation,
        _sessions_in_turn,
        _settings,
    )

    frame = _generated_frame(tmp_path)
    monkeypatch.setattr(engine, "EM_LOCAL_MIN_PAIRS", 1)
    api = DuckDBAPI(duckdb.connect())
    linker = Linker(
        api.register(frame), _settings(BLOCKING_RULES, trained=True), log_level=None, validate_settings=False
    )
    order = [comparison.output_column_name for comparison in linker._settings_obj.comparisons]
    linker.training.estimate_u_using_random_sampling(max_pairs=40 * len(frame), seed=1, num_chunks=1)
    notes: list[str] = []

    if side_by_side:
        assert _expectation_maximisation(linker, frame, api, notes) == EM_LOCAL_SESSIONS
    else:
        _sessions_in_turn(linker, _em_sessions(frame), notes)

    assert notes == []
    assert [comparison.output_column_name for comparison in linker._settings_obj.comparisons] == order
    trained = _trained_in(linker)
    expected = _sessions_expected()
    assert trained == expected
    # What the test is about: sex and the place of birth miss the sessions that leave them, and each is
    # still learnt in another.
    assert 0 < len(trained["sex"]) < len(EM_LOCAL_SESSIONS) - 1
    assert 0 < len(trained["birth_place"]) < len(EM_LOCAL_SESSIONS) - 1


# The sessions run on DuckDB; the database gives only the address units of the preparation.
@pytest.mark.one_database
def test_a_session_learns_from_the_records_of_its_pairs_what_it_learns_from_all(tmp_path: Path) -> None:
    """A session is given the records of its pairs alone (`_paired`): those equal to another record in
    each of its rule's columns, none blank. Its pairs are the same, and so are the m values it learns."""
    import duckdb
    from splink import DuckDBAPI, Linker

    from dancu.matching.engine import (
        BLOCKING_RULES,
        EM_LOCAL_SESSIONS,
        _em_session,
        _Numbers,
        _paired,
        _pairs_sharing,
        _part_model,
        _settings,
    )

    frame = _generated_frame(tmp_path)
    numbers = _Numbers(frame)
    api = DuckDBAPI(duckdb.connect())
    linker = Linker(
        api.register(frame), _settings(BLOCKING_RULES, trained=True), log_level=None, validate_settings=False
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=40 * len(frame), seed=1, num_chunks=1)
    model = linker.misc.save_model_to_json()

    def learnt(records: Any, session: Any) -> list[float]:
        with _part_model(api, records, model) as part:
            assert _em_session(part, session, _pairs_sharing(records, session.columns)) is None
            return [
                level.m_probability
                for comparison in part._settings_obj.comparisons
                for level in comparison._comparison_levels_excluding_null
            ]

    for session in EM_LOCAL_SESSIONS:
        paired = _paired(numbers, session.columns)
        grouped = frame[list(session.columns)].dropna().groupby(list(session.columns)).size()
        shared = {key for key, size in grouped.items() if size > 1}
        expected = [tuple(row) in shared for row in frame[list(session.columns)].itertuples(index=False)]
        assert paired.tolist() == expected
        assert 0 < paired.sum() < len(frame) / 2
        assert _pairs_sharing(frame[paired], session.columns) == _pairs_sharing(frame, session.columns)
        assert learnt(frame[paired], session) == pytest.approx(learnt(frame, session), rel=1e-9)


def test_clusters_are_the_connected_records_named_as_splinks_own_clustering_names_them() -> None:
    """`_clusters` joins records through chains of pairs at or above the threshold, not below, and names a
    cluster by its least record id as text ("10" before "9"): the clusters Splink's connected components
    give for the same records and pairs, which it replaces."""
    import duckdb
    import pandas as pd
    from splink import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    from dancu.matching.engine import _clusters

    ids = pd.Series(["9", "10", "11", "A-1", "a-1", "Đ-7", "z", "3", "30", "alone"], dtype=object)
    pairs = pd.DataFrame(
        [
            ("9", "11", 0.95),  # a chain 9 - 11 - 10: one cluster, named "10"
            ("11", "10", 0.7),  # at the threshold itself
            ("A-1", "a-1", 0.69),  # just below: apart
            ("z", "Đ-7", 0.99),  # named "z": "Đ" is after "z" in Unicode
            ("3", "30", 0.8),
            ("30", "3", 0.9),  # the same pair both ways
            ("a-1", "z", 0.2),
        ],
        columns=["unique_id_l", "unique_id_r", "match_probability"],
    )

    ours = _clusters(ids, pairs, 0.7)

    assert ours == {
        "9": "10",
        "10": "10",
        "11": "10",
        "A-1": "A-1",
        "a-1": "a-1",
        "Đ-7": "z",
        "z": "z",
        "3": "3",
        "30": "3",
        "alone": "alone",
    }
    clustered = cluster_pairwise_predictions_at_threshold(
        pd.DataFrame({"unique_id": ids}),
        pairs,
        DuckDBAPI(duckdb.connect()),
        node_id_column_name="unique_id",
        threshold_match_probability=0.7,
    ).as_pandas_dataframe()
    assert dict(zip(clustered["unique_id"], clustered["cluster_id"], strict=True)) == ours
    # No pair at all: every record is a cluster of its own.
    assert _clusters(ids, pairs.iloc[:0], 0.7) == {record: record for record in ids}
    # A record id given twice is one record (Splink's clustering joins the pairs by id), and every id and
    # cluster is plain text.
    twice = _clusters(pd.concat([ids, pd.Series(["9"])], ignore_index=True), pairs, 0.7)
    assert twice == ours
    assert {type(value) for pair in twice.items() for value in pair} == {str}
