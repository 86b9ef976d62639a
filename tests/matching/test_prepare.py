"""The keys `matching.prepare` computes for blocking and comparison: each survives the typing error it
is meant for."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

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


@pytest.mark.parametrize(
    ("full_name", "family", "given", "onset"),
    [
        ("Nguyễn Văn Hùng", "nguyen", "hung", "h"),
        # The Ê-đê put the person first and the clan last, with Y for men and H' for women.
        ("Y Ngơn Byă", "bya", "ngon", "ng"),
        ("Y Ngông Niê Kdăm", "kdam", "ngong", "ng"),
        ("H'Biêr Hwing", "hwing", "h'bier", "b"),
        ("H' Biêr Hwing", "hwing", "h'bier", "b"),
        # The Jrai write the family name first, as the Kinh do.
        ("Siu H'Hnil", "siu", "h'hnil", "h"),
        ("Rơ Mah H'Kim", "ro", "h'kim", "k"),
    ],
)
def test_the_family_and_given_name_follow_the_order_of_the_people(
    full_name: str, family: str, given: str, onset: str
) -> None:
    row = prepared(full_name=full_name)
    assert (row["family_folded"], row["given_folded"], row["given_onset"]) == (family, given, onset)


def test_brothers_of_one_ede_clan_do_not_share_a_given_name() -> None:
    """Read the Kinh way, "Y Ngơn Byă" and "Y Thu Byă" had the same given name (the clan) and a registry
    run proposed them as one person."""
    assert prepared(full_name="Y Ngơn Byă")["given_folded"] != prepared(full_name="Y Thu Byă")["given_folded"]
    assert prepared(father_name="Y Ngơn Byă")["father_given"] == "ngon"


def test_an_address_detail_is_a_place_only_with_its_commune() -> None:
    # Without units loaded nothing resolves: the place is the detail alone, marked as having no commune.
    row = prepared(address="10 Wellsl Road, Rosehill, Auburn, 5068 SA")
    assert row["commune"] is None
    assert row["place"] == "|" + str(row["address_detail"])
    assert row["address_words"] == ["10", "5068", "auburn", "road", "rosehill", "sa", "wellsl"]
    assert prepared()["place"] is None


def test_one_house_written_with_and_without_commas_is_one_place() -> None:
    """The registry keeps a residence's detail as the officer typed it; the address parser gives a legacy
    book's line without its commas. A demo person recorded in both was missed for it."""
    from dancu.matching.prepare import address_columns

    typed = address_columns("00097", "01", "Số 201, đường Phong, tổ dân phố 23")
    parsed = address_columns("00097", "01", "so 201 duong phong to dan pho 23")
    assert typed["address_detail"] == parsed["address_detail"] == "so 201 duong phong to dan pho 23"
    assert typed["place"] == parsed["place"] == "00097|so 201 duong phong to dan pho 23"
    # A house number written with a slash keeps both of its numbers.
    assert address_columns("00097", "01", "306/6 đường Láng")["address_detail"] == "306 6 duong lang"


def test_town_and_locality_of_an_unresolved_address_are_its_last_part() -> None:
    # Nothing resolves without units: the last part, folded, names the town or postcode.
    row = prepared(address="10 Wellsl Road, Rosehill, Auburn, 5068 SA")
    assert row["town"] == row["locality"] == "5068 sa"
    assert prepared(address="Xóm 6, Xã Tân Thành, Tỉnh Lâm Đồng")["town"] == "tinh lam dong"
    assert prepared()["locality"] is None
    assert prepared()["town"] is None


def test_locality_of_a_resolved_address_is_its_2025_commune_and_it_has_no_town() -> None:
    from dancu.matching.prepare import address_columns

    columns = address_columns("00070", "01", "so 12 pho hang bac", text="Số 12 phố Hàng Bạc, Hà Nội")
    assert columns["locality"] == "00070"
    # The house number with the commune would group households (brothers and sisters): no town key.
    assert columns["town"] is None
    assert columns["house_number"] == "12"


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("Số 20, Ấp 7, Xã Phụng Hiệp, Thành phố Cần Thơ", "20"),
        ("25/35 đường Hàng Bạc, khu phố 5", "25"),
        ("45 Legge Street, Lashbrooke, Mount Low, 3163 QLD", "45"),
        # A village number is still the first number; the rule blocking on it alone caps its blocks.
        ("Thôn 2, Xã Đồng Phúc", "2"),
        ("Bản Nà Lừa, Xã Trần Phú", None),
    ],
)
def test_house_number_is_the_first_number_of_the_detail(address: str, expected: str | None) -> None:
    assert prepared(address=address)["house_number"] == expected


@pytest.mark.django_db
def test_preparing_in_worker_processes_gives_the_serial_result(tmp_path: Path) -> None:
    """Large inputs are prepared in forked workers, chunk by chunk, dealt by the end of their address;
    the prepared table, the blank records and the deceased must come back exactly as one process makes
    them, in input order."""
    from django.core.management import call_command

    from dancu.geo.address import parse_address
    from dancu.matching.prepare import _CELLS, CELL_COST, prepare_records

    source = tmp_path / "people.csv"
    call_command(
        "generate", "--out", str(source), "--dirty", "--people", "300", "--seed", "5", stdout=io.StringIO()
    )
    with source.open(encoding="utf-8") as handle:
        rows: list[dict[str, str | None]] = [row for row in csv.DictReader(handle) if row["record_id"]]
    rows[3] = {"record_id": "blank-1", "full_name": "", "birth_date": ""}
    rows[7] = {**rows[7], "death_date": "2024-11-02"}
    rows[9] = {**rows[9], "death_date": "not a date"}
    rows[250] = {"record_id": "blank-2", "full_name": "", "birth_date": ""}

    serial = prepare_records(rows, today=TODAY, units=AddressUnits(parse_address))
    seen: list[int] = []
    parallel = prepare_records(
        rows,
        today=TODAY,
        units=AddressUnits(parse_address),
        workers=2,
        parallel_above=100,
        chunk_cells=40,
        progress=seen.append,
    )
    assert serial.columns["commune"].count(None) < len(rows) // 2, "addresses must resolve to mean anything"
    assert parallel.columns == serial.columns
    # Progress is told as the cells are worked out, not only at the end, and a line every twentieth of
    # the rows at most, however many tasks there were (here dozens).
    assert seen == sorted(seen)
    assert 2 < len(seen) <= 21
    assert parallel.blank == serial.blank == ["blank-1", "blank-2"]
    assert parallel.deceased == serial.deceased == {rows[7]["record_id"]}
    assert parallel.unreadable_death_dates == serial.unreadable_death_dates == [rows[9]["record_id"]]
    assert seen[-1] == len(rows)
    # The progress weighs each input column's cells by what they cost: every column has its weight.
    assert set(CELL_COST) == set(_CELLS)
    # Below the size that pays for the workers, one process prepares.
    small = prepare_records(rows[:50], today=TODAY, units=AddressUnits(parse_address), workers=2)
    assert small.columns == {name: values[:50] for name, values in serial.columns.items()}


@pytest.mark.django_db
def test_an_old_address_is_parsed_once_from_its_commune_and_a_new_one_from_its_last_two_parts() -> None:
    from dancu.geo.address import parse_address

    asked: list[str] = []

    def counting(text: str) -> object:
        asked.append(text)
        return parse_address(text)

    units = AddressUnits(counting)
    old = units("Số 5, thôn Thượng, Xã Dương Liễu, Huyện Hoài Đức, Hà Nội")
    # "Huyện Hoài Đức, Hà Nội" names no commune: not asked.
    assert asked == ["Xã Dương Liễu, Huyện Hoài Đức, Hà Nội"]
    new = units("Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội")
    assert asked[1:] == ["Phường Hoàn Kiếm, Thành phố Hà Nội"]
    assert old.commune is not None
    assert new.commune is not None
    assert (old.detail, new.detail) == ("so 5 thon thuong", "so 1 pho hang trong")
    # Nor does an old city before its province ("TP." abbreviated or not).
    city = units("Số 2, Phường Tân Dân, Thành phố Việt Trì, Tỉnh Phú Thọ")
    abbreviated = units("Số 3, P. Tân Dân, TP. Việt Trì, T. Phú Thọ")
    assert asked[2:] == [
        "Phường Tân Dân, Thành phố Việt Trì, Tỉnh Phú Thọ",
        "P. Tân Dân, TP. Việt Trì, T. Phú Thọ",
    ]
    assert city.commune is not None
    assert city.commune == abbreviated.commune
    # An address of two parts is read as it is, whatever its first part.
    island = units("Huyện Côn Đảo, Bà Rịa - Vũng Tàu")
    assert asked[-1] == "Huyện Côn Đảo, Bà Rịa - Vũng Tàu"
    assert island.commune is not None


@pytest.mark.django_db
def test_a_province_is_named_only_by_a_whole_word() -> None:
    """The parser is asked only about tails that name a province; a short alias inside a misspelt
    word ("sg", Sài Gòn, in "gunn'sg ully") is no province, and asking costs the parser's start-up."""
    from dancu.matching.prepare import province_pattern

    provinces = province_pattern()

    assert provinces.search("gunn'sg ully, san r emo, 2011 nsw") is None
    assert provinces.search("o’hn street, 2000 nsw") is None
    assert provinces.search("so 5, quan 1, sg") is not None
    assert provinces.search("phuong hoan kiem, thanh pho ha noi") is not None
    assert provinces.search("xa duong lieu,huyen hoai duc,ha noi") is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "city", ["Thành phố Vũng Tàu", "Thành phố Bà Rịa", "Thành phố Phú Mỹ", "Thành phố Yên Bái"]
)
def test_every_commune_of_an_old_city_named_like_its_province_maps_to_its_own_successor(city: str) -> None:
    # The two-part tail of these addresses ("Thành phố Vũng Tàu, Tỉnh Bà Rịa - Vũng Tàu") once read as
    # the 2025 Phường Vũng Tàu (or Phường Phổ Yên of Thái Nguyên), and every old ward of the city with
    # it: one 2025 commune for a dozen, and the address of each record compared against the wrong place.
    from dancu.geo.address import parse_address
    from dancu.geo.models import AdminUnit, UnitSuccession
    from dancu.lib.vntext import fold

    communes = AdminUnit.objects.filter(
        structure=AdminUnit.Structure.LEGACY, level=AdminUnit.Level.COMMUNE, parent__name=city
    ).select_related("parent__parent")
    assert len(communes) >= 9
    units = AddressUnits(parse_address)
    for commune in communes:
        successors = set(
            UnitSuccession.objects.filter(legacy=commune).values_list("successor__code", flat=True)
        )
        district = commune.parent
        assert district is not None
        assert district.parent is not None
        written = f"Số 1, {commune.name}, {district.name}, {district.parent.name}"
        for text in (written, fold(written)):
            assert units(text).commune in successors, text


@pytest.mark.django_db
def test_preparing_column_by_column_gives_each_row_what_prepare_row_gives_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`prepare_records` works out each distinct cell of a slice once and hands its columns to every row
    that has it; a row must end with exactly the columns `prepare_row` makes of it alone, whatever the
    slice it falls in and whoever shares its cells."""
    from django.core.management import call_command

    from dancu.geo.address import parse_address
    from dancu.matching import prepare

    source = tmp_path / "people.csv"
    call_command(
        "generate", "--out", str(source), "--dirty", "--people", "200", "--seed", "9", stdout=io.StringIO()
    )
    with source.open(encoding="utf-8") as handle:
        rows: list[dict[str, str | None]] = [row for row in csv.DictReader(handle) if row["record_id"]]
    # Cells repeated across the slices (a name, an address, a date each met in other rows), cells missing
    # or None, and cells that are hostile or damaged.
    rows += [
        {**rows[0], "record_id": " again-0 ", "id_number": None},
        {
            **rows[1],
            "record_id": "again-1",
            "address": rows[2]["address"],
            "birth_date": rows[3]["birth_date"],
        },
        {"record_id": "bare"},
        {"record_id": "odd", "full_name": "NGUYEN VAN HUNG\u200b", "birth_date": "31/02/1975", "gender": "x"},
        {"record_id": "tcvn3", "full_name": "NguyÔn V¨n Hïng", "address": "Ph­êng Hoµn KiÕm, Hµ Néi"},
        {"record_id": "abroad", "address": "12 Rue de Rivoli, 75001 Paris, France", "birth_place": "Paris"},
    ]
    monkeypatch.setattr(prepare, "SLICE_ROWS", 17)
    units = AddressUnits(parse_address)
    columns = prepare.prepare_records(rows, today=TODAY, units=units).columns

    assert len(columns["unique_id"]) == len(rows)
    for index, raw in enumerate(rows):
        alone = prepare_row(raw, today=TODAY, units=units)
        assert {name: values[index] for name, values in columns.items()} == alone, raw["record_id"]


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["Hà Nội", "TP. Hà Nội", "Tỉnh Nghệ An", "Hà Nội, Việt Nam"])
def test_an_address_that_names_only_a_province_is_no_place(address: str) -> None:
    """Old registers sometimes give nothing but the province. Its name as the address's detail made every
    such record "the same place" as every other of the province (a tenth of a match weight's worth of
    evidence), and 300 namesakes born the same year became one person."""
    from dancu.geo.address import parse_address
    from dancu.matching.engine import explain_pair

    units = AddressUnits(parse_address)
    row = prepare_row(
        {"record_id": "a", "full_name": "Nguyễn Văn A", "address": address}, today=TODAY, units=units
    )
    assert row["province"] is not None
    assert row["address_detail"] is row["place"] is row["address_folded"] is None
    # The province still groups the records for blocking, as the town of an address that resolved no
    # commune does.
    assert row["locality"]
    other = prepare_row(
        {"record_id": "b", "full_name": "Nguyễn Văn A", "address": address}, today=TODAY, units=units
    )
    assert explain_pair(row, other)["address"] == "null"


@pytest.mark.django_db
def test_an_address_that_says_more_than_its_province_keeps_its_text() -> None:
    from dancu.geo.address import parse_address

    units = AddressUnits(parse_address)
    row = prepare_row(
        {"record_id": "a", "address": "Số 5 Hàng Bạc, Hà Nội"}, today=TODAY, units=AddressUnits(parse_address)
    )
    assert row["province"] == "01"
    assert row["address_detail"] == "so 5 hang bac ha noi"
    assert row["address_folded"] == "so 5 hang bac, ha noi"
    abroad = prepare_row({"record_id": "b", "address": "12 Rue de Rivoli, Paris"}, today=TODAY, units=units)
    assert abroad["place"] == "|12 rue de rivoli paris"
