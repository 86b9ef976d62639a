import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dancu.lib.errors import FieldError
from dancu.lib.pin import (
    COUNTRY_CODES,
    PROVINCE_CODES,
    SEX_FEMALE,
    SEX_MALE,
    PinError,
    PinInfo,
    century_sex_digit,
    compose,
    consistency_errors,
    decode,
    is_valid,
    prefix,
    province_code_for_name,
)

# The 63 two-digit province codes of the statistics office, as TT 07/2016 annex I lists them.
GSO_PROVINCE_CODES = [
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37, 38, 40,
    42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83,
    84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
]  # fmt: skip

place_codes = st.sampled_from([*sorted(PROVINCE_CODES), "100", "704", "999"])
sexes = st.sampled_from([SEX_MALE, SEX_FEMALE])
birth_years = st.integers(1900, 2399)
serials = st.from_regex(r"[0-9]{6}", fullmatch=True).filter(lambda s: s != "000000")


def error_code(pin: str) -> str:
    with pytest.raises(PinError) as caught:
        decode(pin)
    return caught.value.error.code


# Tables ------------------------------------------------------------------------------------------------


def test_province_table_holds_the_63_pre_2025_provinces():
    assert sorted(PROVINCE_CODES) == [f"{code:03d}" for code in GSO_PROVINCE_CODES]
    assert PROVINCE_CODES["001"] == "Hà Nội"
    assert PROVINCE_CODES["002"] == "Hà Giang"
    assert PROVINCE_CODES["004"] == "Cao Bằng"
    assert PROVINCE_CODES["046"] == "Thừa Thiên Huế"
    assert PROVINCE_CODES["079"] == "TP Hồ Chí Minh"
    assert PROVINCE_CODES["096"] == "Cà Mau"
    assert all(name == unicodedata.normalize("NFC", name) for name in PROVINCE_CODES.values())


def test_country_codes_are_the_codes_with_a_non_zero_first_digit():
    assert len(COUNTRY_CODES) == 900
    assert all(len(code) == 3 and code[0] != "0" for code in COUNTRY_CODES)
    assert not set(COUNTRY_CODES) & set(PROVINCE_CODES)


# century_sex_digit -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "sex", "digit"),
    [
        (1900, SEX_MALE, 0),
        (1999, SEX_FEMALE, 1),
        (2000, SEX_MALE, 2),
        (2099, SEX_FEMALE, 3),
        (2100, SEX_MALE, 4),
        (2150, SEX_FEMALE, 5),
        (2200, SEX_MALE, 6),
        (2299, SEX_FEMALE, 7),
        (2300, SEX_MALE, 8),
        (2399, SEX_FEMALE, 9),
    ],
)
def test_century_sex_digit(year, sex, digit):
    assert century_sex_digit(year, sex) == digit


@pytest.mark.parametrize(("year", "sex"), [(1899, SEX_MALE), (2400, SEX_FEMALE), (1990, "Nam"), (1990, "m")])
def test_century_sex_digit_refuses_what_a_pin_cannot_encode(year, sex):
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the argument refused
        century_sex_digit(year, sex)


# decode ------------------------------------------------------------------------------------------------


def test_decode_reads_every_part():
    assert decode("001090123456") == PinInfo(
        pin="001090123456",
        place_code="001",
        place_name="Hà Nội",
        registered_abroad=False,
        sex=SEX_MALE,
        century=1900,
        birth_year=1990,
        serial="123456",
    )


def test_decode_a_woman_born_in_the_2000s_in_ho_chi_minh_city():
    info = decode("079305012345")
    assert (info.place_name, info.sex, info.century, info.birth_year) == (
        "TP Hồ Chí Minh",
        SEX_FEMALE,
        2000,
        2005,
    )


def test_decode_ignores_surrounding_whitespace():
    assert decode("  038195555555\n").pin == "038195555555"


def test_decode_a_birth_registered_abroad():
    info = decode("704285000001")
    assert info.registered_abroad
    assert info.place_code == "704"
    assert "704" in info.place_name
    assert (info.sex, info.birth_year) == (SEX_MALE, 2085)


@pytest.mark.parametrize(
    "pin",
    [
        "",
        "00109012345",
        "0010901234567",
        "00109012345X",
        "001 090123456",
        "001-090-123456",
        "００１０９０１２３４５６",
        "٠٠١٠٩٠١٢٣٤٥٦",
        "00109012345²",
        "+01090123456",
    ],
)
def test_anything_but_twelve_ascii_digits_is_a_format_error(pin):
    assert error_code(pin) == "pin.format"


@pytest.mark.parametrize(
    "pin", ["000090123456", "003090123456", "097090123456", "099090123456", "050190123456"]
)
def test_unknown_province_codes_are_place_errors(pin):
    assert error_code(pin) == "pin.place"


def test_all_zero_serial_is_refused():
    assert error_code("001090000000") == "pin.serial"


def test_pin_error_is_a_value_error_carrying_a_bilingual_field_error():
    with pytest.raises(ValueError, match=r"pin\.format") as caught:
        decode("12345")
    error = caught.value.error
    assert isinstance(error, FieldError)
    assert error.field == "pin"
    assert error.message_vi == "Số định danh cá nhân phải gồm đúng 12 chữ số."
    assert error.message_en == "The personal identification number must be exactly 12 digits."
    assert "12345" not in error.message_vi


def test_is_valid():
    assert is_valid("001090123456")
    assert not is_valid("003090123456")


@given(st.from_regex(r"[0-9]{12}", fullmatch=True))
def test_every_twelve_digit_string_decodes_consistently_or_breaks_a_named_rule(pin):
    known_place = pin[0] != "0" or int(pin[:3]) in GSO_PROVINCE_CODES
    if not known_place:
        assert error_code(pin) == "pin.place"
        return
    if pin[6:] == "000000":
        assert error_code(pin) == "pin.serial"
        return
    info = decode(pin)
    assert info.birth_year % 100 == int(pin[4:6])
    assert century_sex_digit(info.birth_year, info.sex) == int(pin[3])
    assert info.registered_abroad == (pin[0] != "0")
    assert info.place_code + pin[3:6] + info.serial == pin


# prefix and compose ------------------------------------------------------------------------------------


def test_prefix():
    assert prefix(place_code="001", sex=SEX_MALE, birth_year=1990) == "001090"
    assert prefix(place_code="096", sex=SEX_FEMALE, birth_year=2007) == "096307"


@pytest.mark.parametrize("place_code", ["000", "003", "97", "1", "0001", "abc", "０７９"])
def test_prefix_refuses_unknown_places(place_code):
    with pytest.raises(PinError) as caught:
        prefix(place_code=place_code, sex=SEX_MALE, birth_year=1990)
    assert caught.value.error.code == "pin.place"


@pytest.mark.parametrize("serial", ["000000", "12345", "1234567", "12345a", "１２３４５６"])
def test_compose_refuses_bad_serials(serial):
    with pytest.raises(PinError) as caught:
        compose(place_code="001", sex=SEX_MALE, birth_year=1990, serial=serial)
    assert caught.value.error.code == "pin.serial"


@given(place_codes, sexes, birth_years, serials)
def test_compose_then_decode_gives_back_every_part(place_code, sex, birth_year, serial):
    pin = compose(place_code=place_code, sex=sex, birth_year=birth_year, serial=serial)
    info = decode(pin)
    assert (info.place_code, info.sex, info.birth_year, info.serial) == (place_code, sex, birth_year, serial)
    assert consistency_errors(pin, sex=sex, birth_year=birth_year, place_code=place_code) == []


# consistency_errors ------------------------------------------------------------------------------------


def test_consistent_record_has_no_errors():
    assert consistency_errors("001090123456", sex=SEX_MALE, birth_year=1990, place_code="001") == []


def test_unknown_record_values_are_not_compared():
    assert consistency_errors("001090123456", sex=None, birth_year=None) == []


def test_each_mismatch_has_its_own_rule():
    errors = consistency_errors("001090123456", sex=SEX_FEMALE, birth_year=2090, place_code="079")
    assert [e.code for e in errors] == ["pin.sex_mismatch", "pin.year_mismatch", "pin.place_mismatch"]
    assert all(e.field == "pin" for e in errors)
    sex_error, year_error, place_error = errors
    assert "nam" in sex_error.message_vi
    assert "male" in sex_error.message_en
    assert "1990" in year_error.message_en
    assert "2090" in year_error.message_vi
    assert "Hà Nội" in place_error.message_vi


def test_same_two_digits_in_another_century_is_a_year_mismatch():
    assert [e.code for e in consistency_errors("001090123456", sex=SEX_MALE, birth_year=2090)] == [
        "pin.year_mismatch"
    ]


def test_unreadable_pin_gives_the_decode_error_alone():
    errors = consistency_errors("0010901234", sex=SEX_FEMALE, birth_year=1800)
    assert [e.code for e in errors] == ["pin.format"]


@given(place_codes, sexes, birth_years, serials, birth_years)
def test_a_different_birth_year_is_always_caught(place_code, sex, birth_year, serial, other_year):
    pin = compose(place_code=place_code, sex=sex, birth_year=birth_year, serial=serial)
    codes = [e.code for e in consistency_errors(pin, sex=sex, birth_year=other_year)]
    assert codes == ([] if other_year == birth_year else ["pin.year_mismatch"])


# province_code_for_name --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Hà Nội", "001"),
        ("Thành phố Hà Nội", "001"),
        ("ha noi", "001"),
        ("HANOI", "001"),
        ("TP Hồ Chí Minh", "079"),
        ("Thành phố Hồ Chí Minh", "079"),
        ("TP. Hồ Chí Minh", "079"),
        ("TP.HCM", "079"),
        ("tphcm", "079"),
        ("Hồ Chí Minh", "079"),
        ("Sài Gòn", "079"),
        ("Tỉnh Thừa Thiên Huế", "046"),
        ("Thừa Thiên - Huế", "046"),
        ("Thành phố Huế", "046"),
        ("Tỉnh Bà Rịa - Vũng Tàu", "077"),
        ("Bà Rịa-Vũng Tàu", "077"),
        ("tinh hoa binh", "017"),
        ("Hoà Bình", "017"),
        ("Đăk Lăk", "066"),
        ("Bắc Cạn", "006"),
        ("  cà   mau ", "096"),
        ("Nguye\u0302\u0303n", None),
        ("Tỉnh", None),
        ("", None),
        ("Hà Tây", None),
        ("79", "079"),
        ("079", "079"),
        ("097", None),
    ],
)
def test_province_code_for_name(name, code):
    assert province_code_for_name(name) == code


def test_every_province_is_found_by_its_own_name_with_and_without_a_unit_word():
    for code, name in PROVINCE_CODES.items():
        assert province_code_for_name(name) == code
        assert province_code_for_name(f"Tỉnh {name}") == code
        assert province_code_for_name(name.upper()) == code
