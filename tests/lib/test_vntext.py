import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dancu.lib.vntext import _fold_slow, fold, name_errors, nfc, normalize_name, text_errors

VIETNAMESE_LETTERS = (
    "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
)
ALPHABET = VIETNAMESE_LETTERS + VIETNAMESE_LETTERS.upper() + " '-"

vietnamese_text = st.text(alphabet=ALPHABET + "\t\n\u00a0", max_size=40)
# Names as people type them: letters of the alphabet in words separated by one or more spaces.
vietnamese_names = st.lists(st.text(alphabet=ALPHABET.strip(" "), min_size=1, max_size=8), max_size=5).map(
    " ".join
)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# nfc / fold --------------------------------------------------------------------------------------------


def test_nfc_composes_decomposed_vietnamese():
    decomposed = "Nguye\u0302\u0303n"
    assert len(decomposed) == 8
    assert nfc(decomposed) == "Nguyễn"
    assert len(nfc(decomposed)) == 6


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Nguyễn Văn Hùng", "nguyen van hung"),
        ("ĐẶNG  thị", "dang thi"),
        ("  Trần\tThị\n  Lan ", "tran thi lan"),
        ("Nguye\u0302\u0303n", "nguyen"),
        ("Ưng Hoàng Phúc", "ung hoang phuc"),
        ("Đỗ Thị Ơn", "do thi on"),
        ("H'hen Niê", "h'hen nie"),
        ("Hoà Bình", "hoa binh"),
        ("Hòa Bình", "hoa binh"),
        ("Müller", "muller"),
        ("Nguyễn\u00a0Văn", "nguyen van"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_fold_examples(text, key):
    assert fold(text) == key


@given(st.text())
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(st.text())
def test_fold_ignores_the_normalization_form(text):
    assert fold(nfc(text)) == fold(nfd(text))


@given(st.text())
def test_fold_has_no_marks_no_upper_case_and_single_spaces(text):
    key = fold(text)
    assert key == key.strip()
    assert "  " not in key
    assert not any(unicodedata.category(c).startswith("M") for c in key)
    assert "đ" not in key
    assert key == key.lower()


@given(vietnamese_text)
def test_fold_of_vietnamese_text_is_plain_ascii(text):
    assert fold(text).isascii()


@given(st.one_of(vietnamese_text, st.text()))
def test_fold_fast_path_agrees_with_the_definition(text):
    assert fold(text) == _fold_slow(text)


# normalize_name ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("nguyễn văn hùng", "Nguyễn Văn Hùng"),
        ("NGUYỄN VĂN HÙNG", "Nguyễn Văn Hùng"),
        ("  nGUYỄN   văn\thùng ", "Nguyễn Văn Hùng"),
        ("nguye\u0302\u0303n thị ánh", "Nguyễn Thị Ánh"),
        ("đặng ĐÌNH ưng", "Đặng Đình Ưng"),
        ("H'HEN NIÊ", "H'hen Niê"),
        ("h'hen niê", "H'hen Niê"),
        ("y-moan ênuôl", "Y-moan Ênuôl"),
        ("", ""),
    ],
)
def test_normalize_name_examples(text, name):
    assert normalize_name(text) == name


def test_letters_that_title_case_into_two_characters_stay_as_they_are():
    # "ß".title() is "Ss" and "ŉ".title() is "ʼN": capitalizing them would not survive a second pass.
    assert normalize_name("ßOLT ŉAM") == "ßolt ŉam"
    assert normalize_name("ßolt ŉam") == "ßolt ŉam"


@given(st.text())
def test_normalize_name_is_idempotent(text):
    once = normalize_name(text)
    assert normalize_name(once) == once


@given(vietnamese_names)
def test_normalize_name_keeps_the_search_key_and_is_nfc(text):
    name = normalize_name(text)
    assert fold(name) == fold(text)
    assert name == nfc(name)
    assert all(word[0] == word[0].upper() for word in name.split())


# name_errors -------------------------------------------------------------------------------------------


def codes(errors):
    return [e.code for e in errors]


@pytest.mark.parametrize(
    "name",
    [
        "Nguyễn Văn Hùng",
        "nguyễn văn hùng",
        "Nguye\u0302\u0303n Thị Ánh",
        "H'hen Niê",
        "Ksor H\u2019Phin",
        "Y-Moan Ênuôl",
        "Nguyễn\u00a0Văn A",
        "  Lê  Thị  Bé  ",
    ],
)
def test_real_names_pass(name):
    assert name_errors(name, field="full_name") == []


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_blank_name_is_required_and_nothing_else(name):
    errors = name_errors(name, field="full_name")
    assert codes(errors) == ["name.required"]
    assert "full_name" in errors[0].message_vi
    assert "full_name" in errors[0].message_en


def test_too_long_name_counts_nfc_characters():
    decomposed = nfd("Ễ") * 10
    assert name_errors(decomposed, field="full_name", max_length=10) == []
    errors = name_errors("A" * 11, field="full_name", max_length=10)
    assert codes(errors) == ["name.too_long"]
    assert errors[0].params == {"max_length": 10, "length": 11}
    assert "10" in errors[0].message_vi
    assert "10" in errors[0].message_en


@pytest.mark.parametrize("name", ["Nguyễn\x00Văn", "Lê\u200bThị", "Trần\u202eAn", "Phạm\ue000", "Hà\u0378"])
def test_control_format_private_and_unassigned_characters_are_refused(name):
    errors = name_errors(name, field="full_name")
    assert codes(errors) == ["name.control_chars"]
    assert "U+" in errors[0].message_en


def test_newline_inside_a_name_is_a_control_character():
    assert codes(name_errors("Nguyễn\nVăn", field="full_name")) == ["name.control_chars"]


@pytest.mark.parametrize("name", ["Nguyễn Văn 2", "Lê Thị Ba3", "Trần ٣", "Phạm ２"])
def test_digits_are_refused(name):
    assert codes(name_errors(name, field="full_name")) == ["name.digits"]


@pytest.mark.parametrize(
    "name",
    [
        "<script>",
        "Robert'); DROP TABLE",
        "Иван Петров",
        "王小明",
        "محمد",
        "Nguyễn@Văn",
        "Ａｎ",
        "Lê \u0301Thị",
    ],
)
def test_anything_but_latin_letters_spaces_apostrophes_and_hyphens_is_refused(name):
    errors = name_errors(name, field="full_name")
    assert codes(errors) == ["name.letters"]
    assert "full_name" in errors[0].message_vi
    assert "full_name" in errors[0].message_en


def test_letters_error_names_the_offending_characters():
    (error,) = name_errors("Nguyễn <b>", field="full_name")
    assert error.params["characters"] == "< >"
    assert error.message_en.endswith("not allowed: < >")


def test_every_broken_rule_is_reported_once():
    errors = name_errors("Ivan\x00 Иван 7" + "x" * 20, field="father_name", max_length=10)
    assert codes(errors) == ["name.too_long", "name.control_chars", "name.digits", "name.letters"]
    assert all(e.field == "father_name" for e in errors)


# text_errors -------------------------------------------------------------------------------------------


def test_ordinary_address_passes():
    assert (
        text_errors("Số 12, ngõ 34/5 Lý Thường Kiệt (tầng 2) - P. Hàng Bài", field="address", max_length=200)
        == []
    )


@pytest.mark.parametrize("text", ["Số 12\nLý Thường Kiệt", "Số 12\tLý", "Số 12\r", "Số\u200e 12", "\x1b[31m"])
def test_text_refuses_line_breaks_tabs_and_invisible_characters(text):
    errors = text_errors(text, field="address", max_length=200)
    assert codes(errors) == ["text.control_chars"]
    assert "address" in errors[0].message_vi


def test_text_length_is_counted_after_nfc():
    assert text_errors(nfd("Hà Nội"), field="address", max_length=6) == []
    errors = text_errors("Hà Nội.", field="address", max_length=6)
    assert codes(errors) == ["text.too_long"]
    assert errors[0].params == {"max_length": 6, "length": 7}


def test_text_reports_both_rules():
    assert codes(text_errors("a\nb" * 5, field="address", max_length=3)) == [
        "text.too_long",
        "text.control_chars",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Robert'); DROP TABLE citizens;--",
        "<script>alert(1)</script>",
        "Москва",
        "北京市",
        "شارع",
        "phố 😀",
        "a\\b",
    ],
)
def test_text_refuses_characters_foreign_to_vietnamese_text(text):
    errors = text_errors(text, field="address", max_length=300)
    assert codes(errors) == ["text.characters"]
    assert "address" in errors[0].message_vi
    assert "address" in errors[0].message_en


@pytest.mark.parametrize(
    "text",
    ["Số 12/3, ngõ 4, tổ 5 (cũ)", "QĐ số 123/QĐ-UBND", "Km 7+500", 'Số 1 & 3 "Ea Tam"', "Thôn Đông #2"],
)
def test_text_accepts_the_punctuation_of_vietnamese_addresses(text):
    assert text_errors(text, field="address", max_length=300) == []


def test_prose_allows_the_punctuation_of_a_sentence():
    reason = "Cập nhật theo đơn ngày 12/5; đúng 100%? Có!"
    assert codes(text_errors(reason, field="reason", max_length=300)) == ["text.characters"]
    assert text_errors(reason, field="reason", max_length=300, prose=True) == []
