import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dancu.lib import vntext
from dancu.lib.vntext import (
    TONED_VOWELS,
    VOWEL_TONES,
    _fold_slow,
    canonical_tone_placement,
    fold,
    fold_name,
    folded_onset,
    is_syllable,
    name_errors,
    nfc,
    normalize_name,
    text_errors,
)

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
        # The eth looks exactly like Đ, and the apostrophes of ethnic-minority names have several forms.
        ("\u00d0\u1eb7ng Th\u1ecb \u00d0\u00e0o", "dang thi dao"),
        ("\u00f0\u00e0o", "dao"),
        ("H\u2019Hen Ni\u00ea", "h'hen nie"),
        ("H\u02bchen", "h'hen"),
        ("Y\u2010Moan", "y-moan"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_fold_examples(text, key):
    assert fold(text) == key


@given(st.text())
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Y-Moan Ênuôl", "y moan enuol"),
        ("Y Moan Ênuôl", "y moan enuol"),
        ("Y\u2010Moan", "y moan"),
        ("Y - Moan", "y moan"),
        ("-Moan-", "moan"),
        ("H'hen Niê", "h'hen nie"),
    ],
)
def test_the_key_of_a_name_reads_a_hyphen_as_a_space(text, key):
    assert fold_name(text) == key


@given(st.text())
def test_fold_name_is_fold_with_hyphens_as_spaces(text):
    key = fold_name(text)
    assert key == " ".join(fold(text).replace("-", " ").split())
    assert fold_name(key) == key


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
        ("\u00d0\u1eb7ng th\u1ecb \u00f0\u00e0o", "Đặng Thị Đào"),
        ("\u00d0\u1eb6NG", "Đặng"),
        ("H\u2019Hen Ni\u00ea", "H'Hen Niê"),
        ("Ksor H\u02bcPhin", "Ksor H'Phin"),
        ("Y\u2010Moan", "Y-Moan"),
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


@pytest.mark.parametrize("name", ["H'Krông Ayun", "Siu H'Đoan", "Y-Moan Ênuôl", "Rơ Mah H'Dũng"])
def test_a_name_in_deliberate_mixed_case_keeps_its_capitals(name):
    assert normalize_name(name) == name
    assert normalize_name(f"  {name}  ") == name


def test_only_the_first_letter_of_a_mixed_case_word_is_raised():
    assert normalize_name("h'Krông") == "H'Krông"


# Tone placement and syllables -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("hoà", "hòa"),
        ("hòa", "hòa"),
        ("Hoà", "Hòa"),
        ("HOÀ", "HÒA"),
        ("hOÀ", "hÒA"),
        ("thuý", "thúy"),
        ("Thuỳ Dương", "Thùy Dương"),
        ("khoẻ", "khỏe"),
        ("KHOẺ", "KHỎE"),
        ("xoè", "xòe"),
        ("Nguỵ", "Ngụy"),
        ("Oà", "Òa"),
        ("Uỷ ban", "Ủy ban"),
        ("Thanh Hoá", "Thanh Hóa"),
        ("Phường Hoà Bình, tỉnh Khánh Hoà", "Phường Hòa Bình, tỉnh Khánh Hòa"),
        ("hoa\u0300", "hòa"),  # decomposed input comes back composed
    ],
)
def test_the_tone_of_oa_oe_uy_goes_on_the_first_vowel(text, canonical):
    assert canonical_tone_placement(text) == canonical


@pytest.mark.parametrize(
    "word",
    [
        "quý", "Quý", "QUÝ", "quỳ", "gìn", "già", "giữ", "thuở", "khuỷu", "người", "tuyển", "Nguyễn", "hoàn",
        "Toàn", "Huỳnh", "Quỳnh", "ngoài", "khoáy", "khuya", "thuế", "của", "mùa", "quà", "Hoàng", "hòa",
        "Thúy", "Khỏe", "Trường", "Nghĩa", "H'hen Niê", "Nguyen Van Hung", "",
    ],
)  # fmt: skip
def test_words_with_one_possible_placement_are_left_alone(word):
    assert canonical_tone_placement(word) == word


def new_style(text: str) -> str:
    """`text` written in the other convention: the tone of open oa, oe, uy on the second vowel."""
    out = list(text)
    for i in range(len(out) - 1):
        first, second = out[i], out[i + 1]
        base, tone = VOWEL_TONES.get(first, ("", 0))
        pair = base.lower() + second.lower()
        at_end = i + 2 == len(out) or not out[i + 2].isalpha()
        after_q = i > 0 and out[i - 1] in "qQ"
        if tone and pair in ("oa", "oe", "uy") and at_end and not after_q:
            out[i] = TONED_VOWELS[base, 0]
            out[i + 1] = TONED_VOWELS[VOWEL_TONES[second][0], tone]
    return "".join(out)


onsets = st.sampled_from(["", "h", "th", "kh", "ng", "t", "x", "l", "qu", "gi", "tr", "nh"])
rhymes = st.sampled_from(
    ["oa", "oe", "uy", "a", "uyên", "oan", "uynh", "ươi", "uơ", "uyu", "ia", "ua", "oai"]
)


@st.composite
def syllables(draw):
    onset, rhyme = draw(onsets), draw(rhymes)
    if onset in ("qu", "gi") and rhyme[0] in "ou":
        # After qu the u belongs to the onset: "quoa" is no syllable.
        onset = "h"
    vowels = [i for i, c in enumerate(rhyme) if VOWEL_TONES.get(c)]
    tone = draw(st.integers(0, 5))
    position = draw(st.sampled_from(vowels))
    letters = list(rhyme)
    letters[position] = TONED_VOWELS[VOWEL_TONES[letters[position]][0], tone]
    word = onset + "".join(letters)
    return draw(st.sampled_from([word, word.upper(), word.capitalize()]))


syllable_text = st.lists(syllables(), min_size=1, max_size=4).map(" ".join)


@given(st.one_of(syllable_text, vietnamese_text, st.text()))
def test_tone_placement_is_idempotent_and_keeps_key_case_and_length(text):
    once = canonical_tone_placement(text)
    assert canonical_tone_placement(once) == once
    composed = nfc(text)
    assert fold(once) == fold(composed)
    assert len(once) == len(composed)
    assert [c.isupper() for c in once] == [c.isupper() for c in composed]


@given(syllable_text)
def test_both_conventions_have_one_canonical_form(text):
    canonical = canonical_tone_placement(text)
    assert canonical_tone_placement(new_style(canonical)) == canonical


@given(syllable_text)
def test_canonical_placement_moves_tones_only_within_oa_oe_uy(text):
    canonical = canonical_tone_placement(text)
    for before, after in zip(text.split(), canonical.split(), strict=True):
        if before != after:
            assert fold(before)[-2:] in ("oa", "oe", "uy")


@pytest.mark.parametrize(
    "word",
    ["Nguyễn", "Văn", "hùng", "HÙNG", "giữ", "gìn", "quý", "Quỳnh", "khuya", "khuỷu", "người", "thuở",
     "hòa", "hoà", "xoong", "Niê", "ý", "yến", "Trường", "ngoằn", "oách", "quýt"],
)  # fmt: skip
def test_vietnamese_syllables_are_recognized(word):
    assert is_syllable(word)


@pytest.mark.parametrize(
    "word", ["NguyÔn", "Nguyeãn", "V¨n", "Hïng", "Ksor", "đ", "hòan", "muà", "ngòai", "Vuơ", "hoàà", "xyz"]
)
def test_other_words_are_not_syllables(word):
    assert not is_syllable(word)


@pytest.mark.parametrize("word", ["nghiêng", "NGHIÊNG", "nghiệp", "khuếch", "nguyệt", "thuyền"])
def test_the_longest_syllables_are_recognized(word):
    # The answers are remembered, and a word is measured against the longest syllable first: these are
    # the words the measure must let through.
    assert is_syllable(word)
    assert is_syllable(word)  # remembered


def test_a_long_word_is_no_syllable_and_is_not_remembered():
    remembered = vntext._is_syllable.cache_info().currsize
    for length in (8, 1_000, 100_000):
        assert not is_syllable("nghiêng" + "g" * (length - 7))
    assert vntext._is_syllable.cache_info().currsize == remembered


def test_tone_tables_cover_every_vowel_in_both_cases():
    assert len(VOWEL_TONES) == len(TONED_VOWELS) == 12 * 6 * 2
    assert all(TONED_VOWELS[VOWEL_TONES[letter]] == letter for letter in VOWEL_TONES)


@pytest.mark.parametrize(
    ("word", "onset"),
    [
        ("thien", "th"),
        ("tien", "t"),
        ("nguyen", "ng"),
        ("nghia", "ng"),  # ngh is how ng is spelt before i, e and ê
        ("ghi", "g"),
        ("giang", "gi"),
        ("gin", "g"),  # gì-n: the i belongs to the rhyme
        ("quang", "qu"),
        ("trang", "tr"),
        ("nhung", "nh"),
        ("anh", ""),
        ("uyen", ""),
        ("joshua", None),
        ("campbell", None),
        ("", None),
    ],
)
def test_the_onset_of_a_folded_syllable(word: str, onset: str | None) -> None:
    assert folded_onset(word) == onset
