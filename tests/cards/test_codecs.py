"""The card's codecs and rules without a database: MRZ check digits (property tests), the QR payload, the
chip signature, the working-day calendar and card validity."""

from __future__ import annotations

import json
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from dancu.cards import chip, mrz, policy, qr
from dancu.cards.verify import recognize, verify_text
from dancu.cards.workdays import add_working_days, holiday_name, is_working_day
from dancu.lib import pin as pin_codec
from dancu.lib.partial_date import PartialDate

TODAY = date(2026, 12, 2)


def test_check_digits_of_the_icao_9303_td1_example() -> None:
    # ICAO Doc 9303 part 5, the TD1 specimen of "Utopia".
    line1, line2 = "I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6"
    assert mrz.check_digit("D23145890") == "7"
    assert mrz.check_digit("740812") == "2"
    assert mrz.check_digit("120415") == "9"
    assert mrz.check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]) == "6"


def test_vietnamese_names_in_the_mrz_alphabet() -> None:
    assert mrz.name_field("Nguyễn Văn Hùng") == "NGUYEN<<VAN<HUNG".ljust(30, "<")
    assert mrz.name_field("Đặng Thị Ngọc Ánh") == "DANG<<THI<NGOC<ANH".ljust(30, "<")
    assert mrz.name_field("Ksor H'Phin") == "KSOR<<H<PHIN".ljust(30, "<")
    assert len(mrz.name_field("Tôn Nữ Thị Hoàng Phương Thảo Nguyên Bảo Châu Anh")) == 30


names = st.lists(
    st.text(
        alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ",
        min_size=1,
        max_size=8,
    ),
    min_size=1,
    max_size=6,
).map(lambda words: " ".join(w.capitalize() for w in words))


@st.composite
def card_data(draw: st.DrawFn) -> mrz.MrzData:
    sex = draw(st.sampled_from(["M", "F"]))
    birth = draw(st.dates(min_value=date(1920, 1, 1), max_value=date(2099, 12, 31)))
    expiry = draw(st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))))
    province = draw(st.sampled_from(["001", "031", "079", "096"]))
    serial = draw(st.integers(min_value=1, max_value=999_999))
    pin = pin_codec.compose(place_code=province, sex=sex, birth_year=birth.year, serial=f"{serial:06d}")
    return mrz.MrzData(
        pin=pin, full_name=draw(names), sex=sex, birth=mrz.date_field(birth), expiry=mrz.date_field(expiry)
    )


@given(card_data())
def test_composed_mrz_is_valid_and_reads_back(data: mrz.MrzData) -> None:
    lines = mrz.compose(data)
    assert [len(line) for line in lines] == [30, 30, 30]
    parsed, problems = mrz.validate(lines)
    assert problems == []
    assert parsed is not None
    assert parsed.pin == data.pin
    assert parsed.birth == data.birth
    assert parsed.sex == data.sex


@given(
    card_data(),
    st.integers(min_value=0, max_value=2),
    st.integers(min_value=0, max_value=29),
    st.integers(1, 9),
)
def test_any_changed_digit_in_a_checked_field_is_caught(
    data: mrz.MrzData, line_index: int, position: int, shift: int
) -> None:
    lines = mrz.compose(data)
    checked = {0: range(5, 30), 1: [*range(0, 7), *range(8, 15), 29]}.get(line_index, [])
    if position not in checked or not lines[line_index][position].isdigit():
        return
    line = lines[line_index]
    changed = str((int(line[position]) + shift) % 10)
    lines[line_index] = line[:position] + changed + line[position + 1 :]
    _parsed, problems = mrz.validate(lines)
    assert problems


def test_a_bad_mrz_says_which_line_and_field() -> None:
    _parsed, problems = mrz.validate(["IDVNM", "x", "y"])
    assert {p.field for p in problems} == {"mrz.line1", "mrz.line2", "mrz.line3"}
    _parsed, problems = mrz.validate(["a"])
    assert problems[0].code == "mrz.lines"


def test_qr_payload_round_trip_and_refusals() -> None:
    data = qr.QrData(
        pin="001090012345",
        cmnd="012345678",
        full_name="Nguyễn Văn Hùng",
        birth_date=PartialDate(1990, 5, 17),
        sex="M",
        address="Số 1 phố Hàng Trống | Phường Hoàn Kiếm",
        issued_on=date(2026, 3, 20),
    )
    payload = qr.compose(data)
    assert payload == (
        "001090012345|012345678|Nguyễn Văn Hùng|17051990|Nam|Số 1 phố Hàng Trống / Phường Hoàn Kiếm|20032026"
    )
    parsed, errors = qr.parse(payload, today=TODAY)
    assert errors == []
    assert parsed is not None
    assert parsed.birth_date == PartialDate(1990, 5, 17)
    assert qr.parse("a|b", today=TODAY)[1][0].code == "qr.fields"
    wrong_sex = payload.replace("|Nam|", "|Nữ|")
    assert {e.code for e in qr.parse(wrong_sex, today=TODAY)[1]} == {"pin.sex_mismatch"}
    hostile = payload.replace("Nguyễn Văn Hùng", "<script>alert(1)</script>")
    assert {e.field for e in qr.parse(hostile, today=TODAY)[1]} == {"full_name"}
    future = payload.replace("20032026", "20032099")
    assert {e.code for e in qr.parse(future, today=TODAY)[1]} == {"qr.issued_future"}
    legacy = qr.compose(data.__class__(**{**data.__dict__, "birth_date": PartialDate(1990)}))
    assert "|00001990|" in legacy
    assert qr.parse(legacy, today=TODAY)[0] is not None


def test_chip_signature_detects_any_change_and_unknown_keys() -> None:
    key = Ed25519PrivateKey.generate()
    payload = dict.fromkeys(chip.PAYLOAD_FIELDS, "x") | {"full_name": "Lê Thị Mai"}
    document = chip.sign(payload, key_id="C06-1", private_key=key)
    keys = {"C06-1": chip.public_key_text(key)}
    assert chip.verify(document, public_keys=keys)[1] == []
    assert chip.verify(document.replace("Mai", "Mại"), public_keys=keys)[1][0].code == "chip.signature"
    assert chip.verify(document, public_keys={})[1][0].code == "chip.unknown_key"
    assert chip.verify("{not json", public_keys=keys)[1][0].code == "chip.format"
    # Arrays nested deeper than Python's decoder recurses: not JSON we read, not a server error.
    assert chip.verify('{"a":' + "[" * 3_000, public_keys=keys)[1][0].code == "chip.format"
    other = Ed25519PrivateKey.generate()
    assert (
        chip.verify(document, public_keys={"C06-1": chip.public_key_text(other)})[1][0].code
        == "chip.signature"
    )


def test_recognizing_what_was_read() -> None:
    assert recognize('{"format": 1}') == "chip"
    assert recognize("001090012345||Nguyễn Văn Hùng|17051990|Nam|Hà Nội|20032026") == "qr"
    assert recognize("\n".join(["A" * 30] * 3)) == "mrz"
    verdict = verify_text("hello", public_keys={}, today=TODAY)
    assert (verdict.kind, verdict.errors[0].code) == ("unknown", "verify.unrecognized")


def test_the_working_day_calendar_knows_tet() -> None:
    # Tết Bính Ngọ: 16-20 February 2026 are days off.
    assert holiday_name(date(2026, 2, 17)) is not None
    assert not is_working_day(date(2026, 2, 17))
    assert not is_working_day(date(2026, 2, 14))  # Saturday
    assert is_working_day(date(2026, 2, 23))
    # Thursday 12 February: Friday 13 is day 1, then Tết and a weekend, 23-27 are days 2-6, 2 March day 7.
    assert add_working_days(date(2026, 2, 12), 7) == date(2026, 3, 2)
    # 2 September (National Day) and 31 August 2026, swapped for Saturday 22 August.
    assert not is_working_day(date(2026, 9, 2))
    assert is_working_day(date(2026, 8, 22))


@pytest.mark.parametrize(
    ("birth", "issued", "expires"),
    [
        (date(1990, 5, 17), date(2026, 3, 20), date(2030, 5, 17)),  # 35: valid to 40
        (date(1986, 5, 17), date(2026, 3, 20), date(2046, 5, 17)),  # 39.8, within 2 years of 40: to 60
        (date(1960, 1, 1), date(2026, 3, 20), None),  # 66: no expiry
        (date(2014, 1, 1), date(2026, 3, 20), date(2039, 1, 1)),  # 12.2, within 2 years of 14: to 25
        (date(2020, 2, 29), date(2026, 3, 20), date(2034, 2, 28)),  # born on 29 February
    ],
)
def test_card_validity_follows_the_renewal_ages_and_the_two_year_rule(
    birth: date, issued: date, expires: date | None
) -> None:
    assert policy.card_expiry(birth, issued) == expires


def test_renewal_is_due_within_two_years_of_expiry() -> None:
    assert policy.renewal_due(date(2027, 5, 1), TODAY)
    assert not policy.renewal_due(date(2030, 5, 1), TODAY)
    assert not policy.renewal_due(None, TODAY)


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({1: "12345678"}, "cmnd", "cmnd.format"),
        ({0: "00109001234"}, "pin", "pin.format"),  # eleven digits
        ({3: "1990"}, "birth_date", "qr.birth_date"),  # not eight digits
        ({3: "17131990"}, "birth_date", "qr.birth_date"),  # no 13th month
        ({4: "Male"}, "sex", "qr.sex"),
        ({5: "  "}, "address", "qr.address"),
        ({6: "2026"}, "issued_on", "qr.issued_on"),  # not eight digits
        ({6: "31022026"}, "issued_on", "qr.issued_on"),  # no 31 February
        ({6: "01011989"}, "issued_on", "qr.issued_before_birth"),
    ],
)
def test_a_qr_field_that_is_wrong_is_named(change: dict[int, str], field: str, code: str) -> None:
    fields = [
        "001090012345",
        "012345678",
        "Nguyễn Văn Hùng",
        "17051990",
        "Nam",
        "Số 1 phố Hàng Trống",
        "20032026",
    ]
    for index, value in change.items():
        fields[index] = value
    data, errors = qr.parse("|".join(fields), today=TODAY)
    assert data is None
    assert [(e.field, e.code) for e in errors] == [(field, code)]


def test_a_qr_birth_known_to_the_month_reads_back_and_an_overlong_payload_is_refused() -> None:
    payload = "001090012345||Nguyễn Văn Hùng|00051990|Nam|Hà Nội|20032026"
    data, errors = qr.parse(payload, today=TODAY)
    assert errors == []
    assert data is not None
    assert data.birth_date == PartialDate(1990, 5)
    _data, errors = qr.parse(payload + "x" * qr.MAX_PAYLOAD, today=TODAY)
    assert [(e.field, e.code) for e in errors] == [("qr", "qr.too_long")]


def test_a_malformed_chip_document_says_what_is_wrong() -> None:
    key = Ed25519PrivateKey.generate()
    keys = {"C06-1": chip.public_key_text(key)}
    good = json.loads(chip.sign(dict.fromkeys(chip.PAYLOAD_FIELDS, "x"), key_id="C06-1", private_key=key))

    def refusal(document: object) -> str:
        text = document if isinstance(document, str) else json.dumps(document)
        parsed, errors = chip.verify(text, public_keys=keys)
        assert parsed is None
        assert [e.code for e in errors] == ["chip.format"]
        return errors[0].message_en

    assert refusal(" " * (chip.MAX_DOCUMENT + 1)) == "Malformed chip data: too long"
    assert "exactly the members" in refusal([good])
    assert "exactly the members" in refusal(good | {"extra": 1})
    assert refusal(good | {"format": "other"}) == f"Malformed chip data: the format must be {chip.FORMAT}"
    assert refusal(good | {"payload": "x"}) == "Malformed chip data: wrong member types"
    assert refusal(good | {"kid": 1}) == "Malformed chip data: wrong member types"
    payload = {k: v for k, v in good["payload"].items() if k not in {"serial", "pin"}}
    assert refusal(good | {"payload": payload}) == "Malformed chip data: missing pin, serial"


def test_an_expired_chip_or_mrz_is_not_valid() -> None:
    key = Ed25519PrivateKey.generate()
    keys = {"C06-1": chip.public_key_text(key)}
    payload = dict.fromkeys(chip.PAYLOAD_FIELDS, "x") | {"expires_on": "2026-12-01"}
    verdict = verify_text(chip.sign(payload, key_id="C06-1", private_key=key), public_keys=keys, today=TODAY)
    assert [(e.field, e.code) for e in verdict.errors] == [("expires_on", "card.expired")]
    assert verdict.summary["key_id"] == "C06-1"

    def mrz_verdict(expiry: str) -> list[tuple[str, str]]:
        data = mrz.MrzData(
            pin="001090012345", full_name="Nguyễn Văn Hùng", sex="M", birth="900517", expiry=expiry
        )
        verdict = verify_text("\n".join(mrz.compose(data)), public_keys={}, today=TODAY)
        assert verdict.kind == "mrz"
        return [(e.field, e.code) for e in verdict.errors]

    assert mrz_verdict("261201") == [("expiry_date", "card.expired")]
    assert mrz_verdict("301705") == [("expiry_date", "mrz.date")]  # no 17th month
    assert mrz_verdict("30<<<<") == [("expiry_date", "mrz.date")]  # fillers are for "never", all six
    assert mrz_verdict("<<<<<<") == []
    assert mrz_verdict("300517") == []


def test_the_mrz_names_a_foreign_document_and_a_sex_it_does_not_know() -> None:
    data = mrz.MrzData(
        pin="001090012345", full_name="Nguyễn Văn Hùng", sex="M", birth="900517", expiry="300517"
    )
    lines = mrz.compose(data)
    # Neither the document code nor the sex is under a check digit: each is checked on its own.
    foreign = ["IDUTO" + lines[0][5:], lines[1], lines[2]]
    assert [(p.field, p.code) for p in mrz.validate(foreign)[1]] == [("document_code", "mrz.document_code")]
    unknown_sex = [lines[0], lines[1][:7] + "X" + lines[1][8:], lines[2]]
    assert [(p.field, p.code) for p in mrz.validate(unknown_sex)[1]] == [("sex", "mrz.sex")]
    with pytest.raises(ValueError, match="not an MRZ character"):
        mrz.check_digit("abc")


def test_an_mrz_date_of_a_legacy_birth_keeps_what_is_known() -> None:
    assert mrz.date_field(None, year=1985) == "85<<<<"
    assert mrz.date_field(None, year=1970, month=3) == "7003<<"
    assert mrz.date_field(None) == "<<<<<<"


def test_an_image_is_checked_before_its_facts_are_read() -> None:
    from dancu.cards import biometrics

    with pytest.raises(biometrics.ImageRefusedError) as exc:
        biometrics.check_image("face", b"")
    assert [(e.field, e.code) for e in exc.value.errors] == [("face", "image.required")]
    assert str(exc.value) == "image.required"
    assert [(e.field, e.code) for e in biometrics.image_errors("tattoo", b"x")] == [
        ("tattoo", "biometric.kind")
    ]
    assert [(e.field, e.code) for e in biometrics.image_errors("", b"x")] == [("kind", "biometric.kind")]


def test_a_gif_is_not_a_capture() -> None:
    import io

    from PIL import Image

    from dancu.cards import biometrics

    out = io.BytesIO()
    Image.new("L", (600, 800), 128).save(out, format="GIF")
    assert [e.code for e in biometrics.image_errors("face", out.getvalue())] == ["image.not_image"]


def test_working_days_count_forward_only() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        add_working_days(date(2026, 3, 10), -1)
    assert add_working_days(date(2026, 3, 10), 0) == date(2026, 3, 10)
