"""The synthetic population generator: deterministic, internally consistent, realistic in aggregate.

These tests need no database: the generator is pure. Places are given as hand-made `CommuneChoice`s
(two lowland communes of Hà Nội, one of Gia Lai in the Central Highlands, one legacy-only placement).
"""

from __future__ import annotations

import csv
import re
import statistics
from collections import Counter
from datetime import date, timedelta
from itertools import islice
from pathlib import Path

import pytest

from dancu.lib import pin as pin_codec
from dancu.lib.partial_date import PartialDate
from dancu.registry.generator import (
    EARLIEST_TODAY,
    LATEST_TODAY,
    OLDEST_AGE,
    CommuneChoice,
    HouseholdRecord,
    PersonRecord,
    card_expiry,
    generate_population,
    write_person_records_csv,
)
from dancu.registry.normalize import COLUMNS
from dancu.registry.reference import ETHNICITIES, RELIGIONS

TODAY = date(2025, 7, 1)

HA_NOI = [
    CommuneChoice(
        commune_id=1,
        province_id=100,
        code="00097",
        name="Phường Hồng Hà",
        province_name="Thành phố Hà Nội",
        province_code="01",
        birth_province_code="001",
        origin_commune_name="Phường Phúc Xá",
        origin_district_name="Quận Ba Đình",
        origin_province_name="Thành phố Hà Nội",
    ),
    CommuneChoice(
        commune_id=2,
        province_id=100,
        code="09853",
        name="Xã Dương Hòa",
        province_name="Thành phố Hà Nội",
        province_code="01",
        birth_province_code="001",
    ),
]
GIA_LAI = CommuneChoice(
    commune_id=3,
    province_id=101,
    code="23500",
    name="Xã Ia Băng",
    province_name="Tỉnh Gia Lai",
    province_code="52",
    birth_province_code="064",
)
LEGACY = CommuneChoice(
    commune_id=4,
    province_id=102,
    code="13675",
    name="Xã Hải Hậu",
    province_name="Tỉnh Ninh Bình",
    province_code="37",
    birth_province_code="036",
    legacy_commune_id=40,
    origin_commune_name="Thị trấn Yên Định",
    origin_district_name="Huyện Hải Hậu",
    origin_province_name="Tỉnh Nam Định",
)


def _age(birth: date, on: date = TODAY) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _people(households: list[HouseholdRecord]) -> list[PersonRecord]:
    return [person for household in households for person in household.members]


@pytest.fixture(scope="module")
def households() -> list[HouseholdRecord]:
    """About 5,000 people in lowland Hà Nội, where the national surname table applies in full."""
    return list(generate_population(people=5000, seed=20250701, communes=HA_NOI, today=TODAY))


@pytest.fixture(scope="module")
def people(households: list[HouseholdRecord]) -> list[PersonRecord]:
    return _people(households)


# Determinism and the stream -------------------------------------------------------------------------------


def test_same_seed_gives_the_same_csv_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    paths = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        path = tmp_path / f"{name}.csv"
        write_person_records_csv(
            generate_population(people=800, seed=seed, communes=HA_NOI, today=TODAY), path
        )
        paths.append(path.read_bytes())
    assert paths[0] == paths[1]
    assert paths[0] != paths[2]


def test_the_population_is_as_of_the_date_given_not_the_clock() -> None:
    """In 2011 (the earliest day a population can be as of: see the test below) nobody alive was born
    later, nobody held a 12-digit card yet, and no one had a PIN prefix of a 2025 province born after the
    mergers."""
    then = date(2011, 1, 1)
    people = _people(list(generate_population(people=600, seed=3, communes=HA_NOI, today=then)))
    assert max(p.true_birth for p in people) <= then
    assert all(card.kind == "cmnd" for p in people for card in p.cards)
    assert all(p.date_of_death is None or p.date_of_death < then for p in people)


@pytest.mark.parametrize("count", [1, 2, 7, 501])
def test_exactly_the_requested_number_of_people(count: int) -> None:
    households = list(generate_population(people=count, seed=count, communes=HA_NOI, today=TODAY))
    assert sum(len(h.members) for h in households) == count


def test_households_stream_without_generating_the_whole_population() -> None:
    stream = generate_population(people=10**9, seed=1, communes=HA_NOI, today=TODAY)
    first = list(islice(stream, 3))
    assert len(first) == 3
    assert [h.key for h in first] == [0, 1, 2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"people": 0}, "positive"),
        ({"people": -5}, "positive"),
        ({"communes": []}, "commune"),
        ({"partial_birth_share": 1.5}, "between 0 and 1"),
        ({"legacy_share": -0.1}, "between 0 and 1"),
        # The oldest person would be born before 1900, which no PIN can encode.
        ({"today": date(2010, 12, 31)}, "today must be from 2011-01-01 to 2399-12-31"),
        ({"today": date(2400, 1, 1)}, "today must be from 2011-01-01 to 2399-12-31"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"people": 10, "seed": 1, "communes": HA_NOI, "today": TODAY, **kwargs}
    with pytest.raises(ValueError, match=message):
        next(generate_population(**arguments))  # type: ignore[arg-type]


@pytest.mark.parametrize("today", [EARLIEST_TODAY, LATEST_TODAY])
def test_the_first_and_last_day_of_the_range_give_a_population(today: date) -> None:
    # Outside the range the generator stopped half-way with a PIN it could not make (born before 1900) or
    # a date no record can hold (after 2399); on its edges everyone is within OLDEST_AGE and has a PIN.
    people = _people(list(generate_population(people=3000, seed=2, communes=HA_NOI, today=today)))
    assert len(people) == 3000
    assert all(today.year - p.true_birth.year <= OLDEST_AGE + 1 for p in people)
    assert all(pin_codec.decode(p.pin) for p in people)


# Distributions ---------------------------------------------------------------------------------------------


def test_nguyen_is_the_surname_of_about_38_percent(people: list[PersonRecord]) -> None:
    surnames = Counter(person.full_name.split()[0] for person in people)
    assert 0.33 <= surnames["Nguyễn"] / len(people) <= 0.43
    top = [name for name, _ in surnames.most_common(4)]
    assert top[0] == "Nguyễn"
    assert set(top[1:]) == {"Trần", "Lê", "Phạm"}


def test_sex_ratio_is_close_to_one(people: list[PersonRecord]) -> None:
    sexes = Counter(person.sex for person in people)
    assert 0.9 <= sexes["M"] / sexes["F"] <= 1.1


def test_households_have_a_realistic_size(households: list[HouseholdRecord]) -> None:
    living = [sum(1 for p in h.members if not p.is_deceased) for h in households]
    assert 3.0 <= statistics.mean(living) <= 4.5
    sizes = Counter(min(size, 6) for size in living)
    # Singles, couples, nuclear families and large three-generation households all occur.
    assert all(sizes[size] > 0.03 * len(households) for size in range(1, 7))


def test_age_structure_follows_the_pyramid(people: list[PersonRecord]) -> None:
    ages = [_age(p.true_birth) for p in people if not p.is_deceased]
    children = sum(age < 15 for age in ages) / len(ages)
    working = sum(15 <= age < 65 for age in ages) / len(ages)
    elderly = sum(age >= 65 for age in ages) / len(ages)
    assert 0.18 <= children <= 0.30
    assert 0.60 <= working <= 0.75
    assert 0.04 <= elderly <= 0.14
    assert max(ages) < 110


def test_names_are_vietnamese_with_tone_marks_and_vary(people: list[PersonRecord]) -> None:
    given = Counter(person.full_name.split()[-1] for person in people)
    assert len(given) > 150
    assert any(ch in "ăâđêôơưàảãáạ" for ch in "".join(given).lower())
    women = [p.full_name.split() for p in people if p.sex == "F" and p.true_birth.year < 1965]
    # "Thị" was the middle name of most women born before 1965.
    assert sum("Thị" in name for name in women) / len(women) > 0.6


def test_ethnicities_and_religions_use_the_reference_codes(people: list[PersonRecord]) -> None:
    assert {p.ethnicity for p in people} <= set(ETHNICITIES)
    assert {p.religion for p in people} <= set(RELIGIONS)
    assert Counter(p.religion for p in people)["00"] / len(people) > 0.7


def test_the_central_highlands_have_their_own_groups_and_customs() -> None:
    people = _people(list(generate_population(people=3000, seed=5, communes=[GIA_LAI], today=TODAY)))
    groups = Counter(p.ethnicity for p in people)
    assert 0.45 <= groups["01"] / len(people) <= 0.85
    assert groups["10"] + groups["12"] > 0.08 * len(people)  # Gia-rai and Ê-đê
    # Ê-đê names put the person's name first: "Y Moan Ênuôl", "H'Hen Niê".
    ede = [p.full_name for p in people if p.ethnicity == "12" and p.full_name.startswith(("Y ", "H'"))]
    assert ede


# Internal consistency ----------------------------------------------------------------------------------


def test_every_household_has_one_living_head_listed_first(households: list[HouseholdRecord]) -> None:
    for household in households:
        heads = [p for p in household.members if p.relation_to_head == "head"]
        assert len(heads) == 1
        assert household.members[0] is heads[0]
        assert not heads[0].is_deceased
        assert _age(heads[0].true_birth) >= 18


def test_parents_are_18_to_45_years_older_than_their_children(households: list[HouseholdRecord]) -> None:
    gaps = []
    for household in households:
        by_key = {p.key: p for p in household.members}
        for child in household.members:
            for parent_key in (child.father_key, child.mother_key):
                if parent_key is not None:
                    gaps.append(_age(by_key[parent_key].true_birth, child.true_birth))
    assert len(gaps) > 2000
    assert min(gaps) >= 18
    assert max(gaps) <= 45


def test_spouses_are_married_to_each_other(households: list[HouseholdRecord]) -> None:
    for household in households:
        by_key = {p.key: p for p in household.members}
        for person in household.members:
            if person.spouse_key is None:
                continue
            spouse = by_key[person.spouse_key]
            assert spouse.spouse_key == person.key
            assert {person.sex, spouse.sex} == {"M", "F"}
            if person.is_deceased:
                assert spouse.marital_status == "widowed"
            elif not spouse.is_deceased:
                assert person.marital_status == spouse.marital_status == "married"
        for person in household.members:
            if _age(person.true_birth) < 18:
                assert person.marital_status == "single"


def test_family_links_go_both_ways(households: list[HouseholdRecord]) -> None:
    for household in households[:500]:
        links = {(link.citizen_key, link.kind, link.relative_key) for link in household.family_links()}
        for citizen, kind, relative in links:
            if relative is None:
                continue
            back = {"father": "child", "mother": "child", "spouse": "spouse"}.get(kind)
            if back is not None:
                assert (relative, back, citizen) in links
        for person in household.members:
            # Everyone knows at least a mother's name; children of a single mother may lack a father's.
            assert person.mother_name


def test_every_pin_agrees_with_the_record_and_is_unique(people: list[PersonRecord]) -> None:
    for person in people:
        errors = pin_codec.consistency_errors(
            person.pin,
            sex=person.sex,
            birth_year=person.birth_date.year,
            place_code=person.birth_registration_place,
        )
        assert errors == [], (person.full_name, person.pin)
    assert len({p.pin for p in people}) == len(people)


def test_most_people_are_registered_where_they_live(people: list[PersonRecord]) -> None:
    local = sum(p.birth_registration_place == "001" for p in people) / len(people)
    assert 0.7 <= local < 1.0  # the rest moved in from other provinces


def test_cmnd_numbers_are_unique_9_digits_and_for_older_people(people: list[PersonRecord]) -> None:
    numbers = [p.old_id_number for p in people if p.old_id_number]
    assert len(numbers) == len(set(numbers))
    assert all(re.fullmatch(r"[0-9]{9}", number) for number in numbers)
    assert all(p.true_birth.year <= 2004 for p in people if p.old_id_number)
    born_before_2000 = [p for p in people if p.true_birth.year < 2000 and not p.is_deceased]
    assert sum(bool(p.old_id_number) for p in born_before_2000) / len(born_before_2000) > 0.7


def test_phones_are_vietnamese_mobiles_for_many_adults(people: list[PersonRecord]) -> None:
    phones = [p.phone for p in people if p.phone]
    assert all(re.fullmatch(r"0[35789][0-9]{8}", phone) for phone in phones)
    adults = [p for p in people if 18 <= _age(p.true_birth) <= 60 and not p.is_deceased]
    assert sum(bool(p.phone) for p in adults) / len(adults) > 0.6
    assert all(_age(p.true_birth) >= 16 for p in people if p.phone)


def test_a_few_are_deceased_and_stay_in_the_data(people: list[PersonRecord]) -> None:
    dead = [p for p in people if p.is_deceased]
    assert 0.003 <= len(dead) / len(people) <= 0.05
    for person in dead:
        assert person.date_of_death is not None
        assert person.joined_on < person.date_of_death < TODAY
        assert _age(person.true_birth, person.date_of_death) >= 40
        assert person.relation_to_head != "head"
        assert not person.phone
        assert not [card for card in person.cards if card.kind != "cmnd"]


def test_only_older_people_have_partial_birth_dates(people: list[PersonRecord]) -> None:
    partial = [p for p in people if p.birth_date.precision != "day"]
    assert partial
    assert all(p.birth_date.year < 1975 for p in partial)
    assert all(p.birth_date.contains(p.true_birth) for p in people)
    none = _people(
        list(generate_population(people=800, seed=1, communes=HA_NOI, today=TODAY, partial_birth_share=0.0))
    )
    assert all(p.birth_date.precision == "day" for p in none)


def test_cards_follow_the_renewal_ages(people: list[PersonRecord]) -> None:
    holders = [p for p in people if not p.is_deceased and _age(p.true_birth) >= 14]
    current = [(p, c) for p in holders for c in p.cards if c.kind in {"cccd", "can_cuoc"}]
    assert len(current) / len(holders) > 0.8
    for person, card in current:
        assert card.issued_on >= date(person.true_birth.year + 14, 1, 1)
        assert card.issued_on <= TODAY
        assert (card.kind == "can_cuoc") == (card.issued_on >= date(2024, 7, 1))
        # The card in hand is valid today.
        assert card.expires_on is None or card.expires_on > TODAY
        assert card.expires_on == card_expiry(person.true_birth, card.issued_on)
    for person in people:
        for card in person.cards:
            if card.kind == "cmnd":
                assert person.old_id_number
                # A CMND was valid for 15 years (a card of 29 February runs to 28 February).
                issued = card.issued_on
                day = 28 if (issued.month, issued.day) == (2, 29) else issued.day
                assert card.expires_on == date(issued.year + 15, issued.month, day)
    assert all(p.cards == [] for p in people if _age(p.true_birth) < 14)


@pytest.mark.parametrize(
    ("issued", "expires"),
    [
        (date(2016, 3, 1), date(2025, 5, 10)),  # at 15: renew at 25
        (date(2023, 6, 1), date(2040, 5, 10)),  # within two years before 25: lasts to 40
        (date(2023, 5, 10), date(2040, 5, 10)),  # exactly two years before 25 still counts
        (date(2023, 5, 9), date(2025, 5, 10)),  # a day earlier does not
        (date(2022, 6, 1), date(2025, 5, 10)),  # more than two years before 25
        (date(2041, 1, 1), date(2060, 5, 10)),
        (date(2058, 6, 1), None),  # within two years before 60: never expires
        (date(2061, 1, 1), None),  # issued after 60
    ],
)
def test_card_expiry_rule(issued: date, expires: date | None) -> None:
    assert card_expiry(date(2000, 5, 10), issued) == expires


def test_temporary_residence_lasts_at_most_two_years_and_runs_today(people: list[PersonRecord]) -> None:
    stays = [p.temporary for p in people if p.temporary is not None]
    assert 0.01 <= len(stays) / len(people) <= 0.1
    for stay in stays:
        assert stay.registered_on < TODAY < stay.expires_on
        assert stay.expires_on - stay.registered_on <= timedelta(days=731)


def test_addresses_look_like_the_place(households: list[HouseholdRecord]) -> None:
    urban = [h.address_detail for h in households if h.commune.name.startswith("Phường")]
    rural = [h.address_detail for h in households if h.commune.name.startswith("Xã")]
    assert all(re.match(r"Số [0-9]+", address) for address in urban)
    assert any(word in address for address in rural for word in ("Thôn", "Xóm"))
    assert all(h.address_original == "" for h in households)
    native = {p.native_place for h in households if h.commune.code == "00097" for p in h.members}
    assert "Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội" in native


def test_legacy_placement_keeps_the_old_three_level_address() -> None:
    households = list(generate_population(people=300, seed=2, communes=[LEGACY], today=TODAY))
    for household in households:
        assert household.address_original == (
            f"{household.address_detail}, Thị trấn Yên Định, Huyện Hải Hậu, Tỉnh Nam Định"
        )
        assert household.address_text == household.address_original
    assert Counter(p.pin[:3] for p in _people(households)).most_common(1)[0][0] == "036"


def test_legacy_share_splits_households_between_old_and_new_addresses() -> None:
    mixed = [*HA_NOI, LEGACY]
    for share in (0.0, 0.5, 1.0):
        households = list(
            generate_population(people=4000, seed=4, communes=mixed, today=TODAY, legacy_share=share)
        )
        legacy = sum(h.commune.is_legacy for h in households) / len(households)
        assert abs(legacy - share) < 0.07
    # Without a share, households spread evenly over the communes given: one in three here.
    households = list(generate_population(people=2000, seed=4, communes=mixed, today=TODAY))
    assert 0.25 < sum(h.commune.is_legacy for h in households) / len(households) < 0.42


# The person-records CSV -----------------------------------------------------------------------------------


def test_csv_has_the_interchange_columns_and_formats(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    households = list(generate_population(people=400, seed=11, communes=HA_NOI, today=TODAY))
    count = write_person_records_csv(households, path, source="test")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert count == len(rows) == 400
    assert tuple(rows[0]) == COLUMNS
    assert len({row["record_id"] for row in rows}) == 400
    for row, person in zip(rows, _people(households), strict=True):
        assert row["source"] == "test"
        assert row["gender"] in {"Nam", "Nữ"}
        assert PartialDate.parse(row["birth_date"]) == person.birth_date
        assert pin_codec.province_code_for_name(row["birth_place"]) == person.birth_registration_place
        assert re.fullmatch(r"[0-9]{12}", row["id_number"])
        assert row["old_id_number"] == "" or re.fullmatch(r"[0-9]{9}", row["old_id_number"])
        assert row["address"].endswith("Thành phố Hà Nội")
        assert row["mother_name"] == person.mother_name
