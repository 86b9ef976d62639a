"""Faults injected into generated person records: realistic, at the stated rates, and recorded exactly.

Twenty thousand people of four provinces are generated and damaged once per module; the tests then check
the damage against the clean rows: every change is in the faults list with its before and after values,
the encodings decode back with tables written here from the published charts (not the ones the code
uses), and the old addresses parse back to the commune the person really lives in.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from pytest_django import DjangoDbBlocker

from dancu.geo.address import address_units_reset, parse_address
from dancu.geo.models import AdminUnit
from dancu.lib import pin as pin_codec
from dancu.lib.vntext import canonical_tone_placement, fold
from dancu.registry.bulk import placement_choices
from dancu.registry.dirty import (
    DEFAULT_RATES,
    DUPLICATE_SOURCES,
    FAULT_COLUMNS,
    FaultCode,
    FaultRates,
    InjectedFault,
    OldPlace,
    UnitAddressBook,
    dirty_rows,
    faults_path_for,
    old_address_text,
    other_tone_placement,
    person_key,
)
from dancu.registry.generator import generate_population, person_csv_rows
from dancu.registry.normalize import COLUMNS

TODAY = date(2025, 7, 1)
PEOPLE = 20_000

Row = dict[str, str]


@dataclass
class Damaged:
    clean: list[Row]
    dirty: list[tuple[Row, list[InjectedFault]]]
    # Record ids of the clean rows whose address has old units to be rewritten in.
    legacy_eligible: set[str]
    # The 2025 commune's primary key by "commune name, province name".
    communes: dict[tuple[str, str], int]


@pytest.fixture(scope="module")
def damaged(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Damaged:
    with django_db_blocker.unblock():
        places = placement_choices(provinces=["01", "38", "79", "66"])
        households = generate_population(people=PEOPLE, seed=11, communes=places, today=TODAY)
        clean = list(person_csv_rows(households, source="test"))
        book = UnitAddressBook()
        dirty = list(dirty_rows(clean, seed=5, today=TODAY, addresses=book))
        eligible = set()
        for row in clean:
            found = book.old_places(row["address"])
            if found is not None and found[1]:
                eligible.add(row["record_id"])
        communes = {
            (name, province or ""): pk
            for name, province, pk in AdminUnit.objects.filter(
                structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.COMMUNE
            ).values_list("name", "parent__name", "pk")
        }
    return Damaged(clean=clean, dirty=dirty, legacy_eligible=eligible, communes=communes)


def _faults(damaged: Damaged, code: str) -> list[InjectedFault]:
    return [fault for _, faults in damaged.dirty for fault in faults if fault.code == code]


def _originals(damaged: Damaged) -> list[tuple[Row, list[InjectedFault]]]:
    """The damaged rows that stand for a generated record (not duplicates, not blank rows)."""
    return [
        (row, faults)
        for row, faults in damaged.dirty
        if row["record_id"] and person_key(row["record_id"]) == row["record_id"]
    ]


# Every change is recorded ------------------------------------------------------------------------------


def test_every_change_is_recorded_with_its_before_and_after(damaged: Damaged) -> None:
    clean = {row["record_id"]: row for row in damaged.clean}
    for row, faults in damaged.dirty:
        if not row["record_id"]:
            assert [fault.code for fault in faults] == [FaultCode.BLANK_ROW]
            assert set(row.values()) == {""}
            continue
        replayed = dict(clean[person_key(row["record_id"])])
        for fault in faults:
            assert fault.record_id == row["record_id"]
            assert replayed[fault.field] == fault.original, fault
            assert fault.injected != fault.original
            replayed[fault.field] = fault.injected
        assert replayed == row


def test_rows_keep_every_column(damaged: Damaged) -> None:
    assert all(list(row) == list(COLUMNS) for row, _ in damaged.dirty)


def test_the_input_rows_are_not_modified() -> None:
    rows = [_row(number) for number in range(1, 1000)]
    before = [dict(row) for row in rows]
    assert any(faults for _, faults in dirty_rows(rows, seed=5, addresses=_OnePlace()))
    assert rows == before


# Rates ------------------------------------------------------------------------------------------------


def _within(observed: int, eligible: int, rate: float) -> bool:
    expected = eligible * rate
    return abs(observed - expected) <= 4 * math.sqrt(expected * (1 - rate)) + 3


def _date_precision(value: str) -> int:
    return len(value.split("-"))


def _eligible(damaged: Damaged) -> dict[str, int]:
    rows = damaged.clean
    full_dates = [row for row in rows if _date_precision(row["birth_date"]) == 3]
    names = ("full_name", "father_name", "mother_name")
    return {
        FaultCode.DUPLICATE: len(rows),
        FaultCode.BLANK_ROW: len(rows),
        FaultCode.ADDRESS_LEGACY: len(damaged.legacy_eligible),
        FaultCode.TONE_PLACEMENT: sum(
            1 for row in rows if any(other_tone_placement(row[name]) != row[name] for name in names)
        ),
        FaultCode.NAME_LOWER: len(rows),
        FaultCode.NAME_UPPER_UNMARKED: len(rows),
        FaultCode.DATE_YEAR_ONLY: sum(1 for row in rows if _date_precision(row["birth_date"]) >= 2),
        FaultCode.DATE_MONTH_YEAR: len(full_dates),
        FaultCode.DATE_DD_MM_YY: len(full_dates),
        FaultCode.DATE_DD_MM_YYYY: len(full_dates),
        FaultCode.DATE_SWAPPED: sum(
            1 for row in full_dates if row["birth_date"][5:7] != row["birth_date"][8:]
        ),
        FaultCode.DATE_IMPOSSIBLE: len(rows),
        FaultCode.DATE_FUTURE: len(rows),
        FaultCode.GENDER_MISSING: len(rows),
        FaultCode.PIN_CENTURY_SEX: len(rows),
        FaultCode.PIN_YEAR: len(rows),
        FaultCode.CMND_EIGHT_DIGITS: sum(1 for row in rows if len(row["old_id_number"]) == 9),
        FaultCode.FIELD_BLANK: len(rows),
        FaultCode.WHITESPACE: len(rows),
        # Nearly every record has some text with Vietnamese letters for an encoding to damage.
        FaultCode.TCVN3: len(rows),
        FaultCode.VNI: len(rows),
        FaultCode.UTF8_CP1252: len(rows),
        FaultCode.CP1258: len(rows),
        FaultCode.NFD: len(rows),
    }


def test_each_fault_comes_at_its_rate(damaged: Damaged) -> None:
    originals = _originals(damaged)
    assert len(originals) == PEOPLE
    records: Counter[str] = Counter()
    for _, faults in originals:
        for code in {fault.code for fault in faults}:
            records[code] += 1
    # Duplicates and blank rows are rows of their own, each naming the record it comes from.
    records[FaultCode.DUPLICATE] = len({fault.original for fault in _faults(damaged, FaultCode.DUPLICATE)})
    records[FaultCode.BLANK_ROW] = len(_faults(damaged, FaultCode.BLANK_ROW))
    # The tone convention is counted where its eligibility is known exactly: on the names.
    records[FaultCode.TONE_PLACEMENT] = len(
        {fault.record_id for fault in _faults(damaged, FaultCode.TONE_PLACEMENT) if fault.field != "address"}
        & {row["record_id"] for row, _ in originals}
    )
    eligible = _eligible(damaged)
    assert set(eligible) == set(DEFAULT_RATES.as_dict())
    for code, rate in DEFAULT_RATES.as_dict().items():
        assert records[code] > 0, code
        assert _within(records[code], eligible[code], rate), (code, records[code], eligible[code] * rate)


def test_rates_can_be_scaled_and_are_checked() -> None:
    assert DEFAULT_RATES.scaled(2).of(FaultCode.NAME_LOWER) == pytest.approx(0.06)
    assert FaultRates(address_legacy=0.5).scaled(3).of(FaultCode.ADDRESS_LEGACY) == 1.0
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultRates(name_lower=-0.1)
    with pytest.raises(ValueError, match="exclude each other"):
        FaultRates(name_lower=0.6, name_upper_unmarked=0.6)
    with pytest.raises(ValueError, match="exclude each other"):
        DEFAULT_RATES.scaled(100)


def test_without_faults_nothing_changes() -> None:
    rows = [_row(number) for number in range(1, 500)]
    none = FaultRates(**dict.fromkeys(DEFAULT_RATES.__dataclass_fields__, 0.0))
    assert list(dirty_rows(rows, seed=1, rates=none)) == [(row, []) for row in rows]


# Determinism and streaming ----------------------------------------------------------------------------


class _NoOldPlaces:
    def old_places(self, address: str) -> None:
        return None


class _OnePlace:
    """Every address becomes one old commune: enough for tests that need no units."""

    def old_places(self, address: str) -> tuple[str, Sequence[OldPlace]]:
        detail = address.rsplit(", ", 2)[0]
        return detail, [OldPlace((("Xã", "Dương Liễu"), ("Huyện", "Hoài Đức"), ("Thành phố", "Hà Nội")))]


def _row(number: int) -> Row:
    return {
        "record_id": f"P{number:09d}",
        "source": "test",
        "full_name": "Nguyễn Thị Thúy Hòa",
        "gender": "Nữ",
        "birth_date": "1968-03-27",
        "birth_place": "Hà Nội",
        "id_number": "001168012345",
        "old_id_number": "012345678",
        "father_name": "Nguyễn Văn Khỏe",
        "mother_name": "Đặng Thị Ánh",
        "address": "Số 5, Thôn Thượng, Xã Dương Hòa, Thành phố Hà Nội",
        "extra column": "kept",
    }


def test_same_seed_same_output_other_seed_other_output() -> None:
    rows = [_row(number) for number in range(1, 3000)]
    first = list(dirty_rows(rows, seed=3, addresses=_OnePlace()))
    again = list(dirty_rows(rows, seed=3, addresses=_OnePlace()))
    other = list(dirty_rows(rows, seed=4, addresses=_OnePlace()))
    assert first == again
    assert first != other


def test_rows_stream_from_an_endless_source() -> None:
    endless = (_row(number) for number in itertools.count(1))
    taken = list(itertools.islice(dirty_rows(endless, seed=2, addresses=_OnePlace()), 5000))
    assert len(taken) == 5000
    assert all(row["extra column"] in ("kept", "") for row, _ in taken)


def test_duplicates_follow_their_original_within_the_delay() -> None:
    rows = [_row(number) for number in range(1, 2001)]
    rates = FaultRates(duplicate=0.2)
    output = [
        row["record_id"]
        for row, _ in dirty_rows(rows, seed=9, rates=rates, duplicate_delay=50, addresses=_NoOldPlaces())
    ]
    duplicates = [record_id for record_id in output if record_id and person_key(record_id) != record_id]
    assert 300 < len(duplicates) < 500
    for duplicate in duplicates:
        gap = output.index(duplicate) - output.index(person_key(duplicate))
        # At most `duplicate_delay` rows of the input later, plus the other duplicates that came out in
        # between (about one in five rows here).
        assert 0 < gap <= 50 + 20


def test_duplicates_keep_the_person_and_differ_a_little(damaged: Damaged) -> None:
    ids = {row["record_id"] for row in damaged.clean}
    not_duplicates = ids | {""}
    duplicates = [(row, faults) for row, faults in damaged.dirty if row["record_id"] not in not_duplicates]
    assert duplicates
    for row, faults in duplicates:
        assert person_key(row["record_id"]) in ids
        assert row["source"] in DUPLICATE_SOURCES
        assert [fault.code for fault in faults[:2]] == [FaultCode.DUPLICATE] * 2
        assert len(faults) > 2  # at least one difference besides the id and the source


# What each fault does ----------------------------------------------------------------------------------


def test_name_faults(damaged: Damaged) -> None:
    for fault in _faults(damaged, FaultCode.NAME_LOWER):
        assert fault.injected == fault.original.lower()
    for fault in _faults(damaged, FaultCode.NAME_UPPER_UNMARKED):
        assert fault.injected == fold(fault.original).upper()
        assert fault.injected.isascii()


def test_tone_placement_faults_are_the_other_convention(damaged: Damaged) -> None:
    faults = _faults(damaged, FaultCode.TONE_PLACEMENT)
    assert faults
    for fault in faults:
        assert canonical_tone_placement(fault.injected) == fault.original
        assert fold(fault.injected) == fold(fault.original)


@pytest.mark.parametrize(
    ("text", "other"),
    [
        ("Hòa", "Hoà"),
        ("Thúy", "Thuý"),
        ("KHỎE", "KHOẺ"),
        ("Ngụy", "Nguỵ"),
        ("Khánh Hòa", "Khánh Hoà"),
        ("quý", "quý"),
        ("Hoàng", "Hoàng"),
        ("Huỳnh", "Huỳnh"),
        ("thuở", "thuở"),
    ],
)
def test_other_tone_placement(text: str, other: str) -> None:
    assert other_tone_placement(text) == other


def test_date_faults(damaged: Damaged) -> None:
    for fault in _faults(damaged, FaultCode.DATE_YEAR_ONLY):
        assert fault.injected == fault.original[:4]
    for fault in _faults(damaged, FaultCode.DATE_MONTH_YEAR):
        year, month, _ = fault.original.split("-")
        assert fault.injected == f"{month}/{year}"
    for fault in _faults(damaged, FaultCode.DATE_DD_MM_YY):
        year, month, day = fault.original.split("-")
        assert fault.injected == f"{day}-{month}-{year[2:]}"
    for fault in _faults(damaged, FaultCode.DATE_DD_MM_YYYY):
        year, month, day = fault.original.split("-")
        assert fault.injected == f"{day}/{month}/{year}"
    for fault in _faults(damaged, FaultCode.DATE_SWAPPED):
        year, month, day = fault.original.split("-")
        assert fault.injected == f"{month}/{day}/{year}"
        assert month != day
    for fault in _faults(damaged, FaultCode.DATE_IMPOSSIBLE):
        day, month, year = (int(part) for part in fault.injected.split("/"))
        assert year == int(fault.original[:4])
        with pytest.raises(ValueError, match="day is out of range"):
            date(year, month, day)
    for fault in _faults(damaged, FaultCode.DATE_FUTURE):
        parts = [int(part) for part in fault.injected.split("-")]
        assert len(parts) == len(fault.original.split("-"))
        assert date(parts[0], *[*parts[1:], 1, 1][:2]) > TODAY or parts[0] > TODAY.year


def test_pin_faults_contradict_the_record(damaged: Damaged) -> None:
    clean = {row["record_id"]: row for row in damaged.clean}
    faults = _faults(damaged, FaultCode.PIN_CENTURY_SEX) + _faults(damaged, FaultCode.PIN_YEAR)
    assert faults
    for fault in faults:
        row = clean[person_key(fault.record_id)]
        assert len(fault.injected) == 12
        assert sum(a != b for a, b in zip(fault.injected, fault.original, strict=True)) == 1
        sex = pin_codec.SEX_MALE if row["gender"] == "Nam" else pin_codec.SEX_FEMALE
        errors = pin_codec.consistency_errors(fault.injected, sex=sex, birth_year=int(row["birth_date"][:4]))
        assert {error.code for error in errors} & {"pin.sex_mismatch", "pin.year_mismatch"}, fault


def test_cmnd_and_gender_and_blank_faults(damaged: Damaged) -> None:
    for fault in _faults(damaged, FaultCode.CMND_EIGHT_DIGITS):
        assert len(fault.injected) == 8
        assert fault.injected in (fault.original[1:], fault.original[:-1])
    for fault in _faults(damaged, FaultCode.GENDER_MISSING):
        assert (fault.field, fault.injected) == ("gender", "")
    blanked = Counter(fault.field for fault in _faults(damaged, FaultCode.FIELD_BLANK))
    assert all(fault.injected == "" for fault in _faults(damaged, FaultCode.FIELD_BLANK))
    assert blanked.most_common(1)[0][0] in ("father_name", "birth_place")


def _tidy(text: str) -> str:
    return re.sub(r"\s+,", ",", " ".join(text.replace("\u00a0", " ").split())).strip(" .,")


def test_whitespace_faults_only_add_spaces_and_punctuation(damaged: Damaged) -> None:
    faults = _faults(damaged, FaultCode.WHITESPACE)
    assert faults
    for fault in faults:
        assert _tidy(fault.injected) == _tidy(fault.original)


def test_nfd_faults_are_the_same_text_decomposed(damaged: Damaged) -> None:
    for fault in _faults(damaged, FaultCode.NFD):
        assert unicodedata.normalize("NFC", fault.injected) == fault.original
        assert unicodedata.is_normalized("NFD", fault.injected)


# Legacy encodings, decoded with tables written from the charts ----------------------------------------


def _cp1252_byte() -> dict[str, int]:
    # The five bytes Windows-1252 leaves undefined come through as the C1 control of the same number.
    table = {}
    for byte in range(256):
        try:
            table[bytes([byte]).decode("cp1252")] = byte
        except UnicodeDecodeError:
            table[chr(byte)] = byte
    return table


CP1252_BYTE = _cp1252_byte()


def _bytes_of(text: str) -> bytes:
    return bytes(CP1252_BYTE[char] for char in text)


# TCVN 5712:1993 VN3 (ABC): per vowel, the byte of the bare vowel when it is not ASCII, then grave, hook
# above, tilde, acute, dot below.
TCVN3_CHART = {
    "a": (None, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ă": (0xA8, 0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xA9, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "e": (None, 0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xAA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "i": (None, 0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (None, 0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ô": (0xAB, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xAC, 0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "u": (None, 0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xAD, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9),
    "y": (None, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
TCVN3_OTHERS = {0xAE: "đ", 0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ"}
MARKS = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")


def _tcvn3_letters() -> dict[int, str]:
    letters = dict(TCVN3_OTHERS)
    for vowel, codes in TCVN3_CHART.items():
        for code, mark in zip(codes, MARKS, strict=True):
            if code is not None:
                letters[code] = unicodedata.normalize("NFC", vowel + mark)
    return letters


TCVN3_LETTERS = _tcvn3_letters()


def tcvn3_decode(text: str) -> str:
    return "".join(TCVN3_LETTERS.get(byte, chr(byte)) for byte in _bytes_of(text))


# VNI Windows: per vowel its forms with no tone, acute, grave, hook above, tilde and dot below.
VNI_CHART = {
    "a á à ả ã ạ": "a aù aø aû aõ aï",
    "â ấ ầ ẩ ẫ ậ": "aâ aá aà aå aã aä",
    "ă ắ ằ ẳ ẵ ặ": "aê aé aè aú aü aë",
    "e é è ẻ ẽ ẹ": "e eù eø eû eõ eï",
    "ê ế ề ể ễ ệ": "eâ eá eà eå eã eä",
    "i í ì ỉ ĩ ị": "i í ì æ ó ò",
    "o ó ò ỏ õ ọ": "o où oø oû oõ oï",
    "ô ố ồ ổ ỗ ộ": "oâ oá oà oå oã oä",
    "ơ ớ ờ ở ỡ ợ": "ô ôù ôø ôû ôõ ôï",
    "u ú ù ủ ũ ụ": "u uù uø uû uõ uï",
    "ư ứ ừ ử ữ ự": "ö öù öø öû öõ öï",
    "y ý ỳ ỷ ỹ ỵ": "y yù yø yû yõ î",
    "đ": "ñ",
}


def _vni_letters() -> dict[str, str]:
    letters = {}
    for unicode_row, vni_row in VNI_CHART.items():
        for letter, vni in zip(unicode_row.split(), vni_row.split(), strict=True):
            if vni != letter:
                letters[vni] = letter
                letters[vni.upper()] = letter.upper()
    return letters


VNI_LETTERS = _vni_letters()
VNI_SEQUENCE = re.compile("|".join(sorted(map(re.escape, VNI_LETTERS), key=len, reverse=True)))


def vni_decode(text: str) -> str:
    return VNI_SEQUENCE.sub(lambda match: VNI_LETTERS[match.group(0)], text)


DECODERS = {
    FaultCode.TCVN3: tcvn3_decode,
    FaultCode.VNI: vni_decode,
    FaultCode.UTF8_CP1252: lambda text: _bytes_of(text).decode("utf-8"),
    FaultCode.CP1258: lambda text: unicodedata.normalize("NFC", codecs.decode(_bytes_of(text), "cp1258")),
}


@pytest.mark.parametrize("code", DECODERS)
def test_encoding_faults_decode_back_to_the_original(damaged: Damaged, code: str) -> None:
    faults = _faults(damaged, code)
    assert len(faults) > 50
    for fault in faults:
        assert not fault.original.isascii()
        assert DECODERS[code](fault.injected) == fault.original, fault
        assert fault.injected != fault.original


def test_the_charts_read_the_classic_examples() -> None:
    assert tcvn3_decode("NguyÔn V¨n Hïng") == "Nguyễn Văn Hùng"
    assert vni_decode("Nguyeãn Vaên Huøng") == "Nguyễn Văn Hùng"


# Old addresses ---------------------------------------------------------------------------------------


def test_old_address_text_styles() -> None:
    place = OldPlace((("Phường", "Phường 5"), ("Quận", "Quận 3"), ("Thành phố", "Hồ Chí Minh")))
    assert (
        old_address_text("45 Võ Văn Tần", place, "full")
        == "45 Võ Văn Tần, Phường 5, Quận 3, Thành phố Hồ Chí Minh"
    )
    assert (
        old_address_text("45 Võ Văn Tần", place, "abbreviated") == "45 Võ Văn Tần, P.5, Q.3, TP. Hồ Chí Minh"
    )
    assert old_address_text("", place, "short_province") == "Phường 5, Quận 3, Hồ Chí Minh"
    village = OldPlace((("Thị trấn", "Yên Định"), ("Huyện", "Hải Hậu"), ("Tỉnh", "Nam Định")))
    assert old_address_text("Xóm 2", village, "abbreviated") == "Xóm 2, TT. Yên Định, H. Hải Hậu, T. Nam Định"
    assert (
        old_address_text("Xóm 2", village, "unmarked")
        == "xom 2, thi tran yen dinh, huyen hai hau, tinh nam dinh"
    )


def test_old_addresses_come_in_every_style_for_addresses_that_have_old_units(damaged: Damaged) -> None:
    faults = _faults(damaged, FaultCode.ADDRESS_LEGACY)
    assert {person_key(fault.record_id) for fault in faults} <= damaged.legacy_eligible
    styles = Counter(
        "unmarked"
        if fault.injected.isascii()
        else "abbreviated"
        if re.search(r"\b(?:X|P|TT)\.", fault.injected)
        else "full"
        for fault in faults
    )
    assert min(styles["abbreviated"], styles["unmarked"], styles["full"]) > 50


@pytest.mark.django_db
def test_old_addresses_parse_back_to_the_original_commune(damaged: Damaged) -> None:
    address_units_reset()
    faults = _faults(damaged, FaultCode.ADDRESS_LEGACY)
    assert len(faults) > 1000
    right = 0
    for fault in faults:
        commune_name, province_name = fault.original.rsplit(", ", 2)[1:]
        parsed = parse_address(fault.injected)
        if (
            parsed is not None
            and parsed.legacy_commune is not None
            and parsed.commune is not None
            and parsed.commune.pk == damaged.communes[(commune_name, province_name)]
        ):
            right += 1
    assert right / len(faults) >= 0.95
    address_units_reset()


def test_the_address_book_reads_generated_addresses(damaged: Damaged) -> None:
    assert len(damaged.legacy_eligible) > PEOPLE * 0.9


@pytest.mark.django_db
def test_the_address_book_gives_each_communes_default_predecessors_in_their_order() -> None:
    # The book reads every succession in one query; what it gives a commune is what the registry's own
    # selector gives, one commune at a time. Hà Nội's and Quảng Ninh's communes include ones made of several
    # old ones, whole and split, and one that no old commune converts to by default.
    from dancu.geo.selectors import predecessors_of

    book = UnitAddressBook()
    communes = AdminUnit.objects.filter(
        structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.COMMUNE, parent__code__in=["01", "22"]
    ).select_related("parent")
    assert communes
    without_default = 0
    for commune in communes:
        expected = tuple(
            OldPlace(tuple((unit.kind, unit.short_name) for unit in legacy.ancestors()))
            for legacy in predecessors_of(commune, default_only=True)
        )
        without_default += not expected
        assert book.old_places(f"Số 1, {commune.name}, {commune.parent.name}") == ("Số 1", expected)
    assert without_default == 1
    assert book.old_places("Số 1, Xã Không Có, Thành phố Hà Nội") is None


# The command ----------------------------------------------------------------------------------------------


def _generate(*args: str) -> str:
    out = io.StringIO()
    call_command("generate", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _read(path: Path) -> tuple[list[str], list[Row]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


@pytest.mark.django_db
def test_command_writes_a_dirty_csv_and_its_faults(tmp_path: Path) -> None:
    common = ("--people", "1500", "--seed", "8", "--provinces", "01,79", "--today", "2025-07-01")
    clean_path, dirty_path = tmp_path / "clean.csv", tmp_path / "dirty.csv"
    _generate(*common, "--out", str(clean_path))
    output = _generate(*common, "--out", str(dirty_path), "--dirty", "--dirty-seed", "3")
    faults_path = tmp_path / "dirty.faults.csv"
    assert faults_path == faults_path_for(dirty_path)
    assert str(faults_path) in output

    header, dirty = _read(dirty_path)
    fault_header, fault_rows = _read(faults_path)
    _, clean = _read(clean_path)
    assert header == list(COLUMNS)
    assert fault_header == list(FAULT_COLUMNS)
    assert all(None not in row and len(row) == len(COLUMNS) for row in dirty)

    # The clean CSV and the faults file together give the dirty CSV back, row for row.
    by_record: dict[str, list[Row]] = {}
    for fault in fault_rows:
        by_record.setdefault(fault["record_id"], []).append(fault)
    originals = {row["record_id"]: row for row in clean}
    blank_rows = 0
    for row in dirty:
        if not row["record_id"]:
            blank_rows += 1
            assert set(row.values()) == {""}
            continue
        replayed = dict(originals[person_key(row["record_id"])])
        for fault in by_record.get(row["record_id"], []):
            assert replayed[fault["field"]] == fault["original"]
            replayed[fault["field"]] = fault["injected"]
        assert replayed == row
    duplicates = {fault["record_id"] for fault in fault_rows if fault["fault"] == FaultCode.DUPLICATE}
    assert len(dirty) == len(clean) + len(duplicates) + blank_rows
    assert blank_rows == sum(1 for fault in fault_rows if fault["fault"] == FaultCode.BLANK_ROW)

    # The same seeds write the same files.
    again = tmp_path / "again.csv"
    _generate(*common, "--out", str(again), "--dirty", "--dirty-seed", "3")
    assert again.read_bytes() == dirty_path.read_bytes()
    assert (tmp_path / "again.faults.csv").read_bytes() == faults_path.read_bytes()


@pytest.mark.django_db
def test_command_refuses_dirty_without_a_file() -> None:
    with pytest.raises(CommandError, match="--dirty needs --out"):
        _generate("--people", "10", "--seed", "1", "--dirty")


def test_faults_path_for() -> None:
    assert faults_path_for("/data/people.csv") == Path("/data/people.faults.csv")
    assert faults_path_for("people.CSV") == Path("people.faults.csv")
    assert faults_path_for("people") == Path("people.faults.csv")
