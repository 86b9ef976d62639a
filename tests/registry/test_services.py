"""The registry's writes: PINs, personal data, residences, households, family links and their trail.

Each test reads like a case an officer of Phường Hoàn Kiếm meets at the desk: a newborn gets a PIN that
says who they are, a legacy record keeps the date it knows, a move ends the old permanent residence, a
household never has two heads. Refusals name the field and the rule, and leave nothing half-written.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.lib import pin as pin_codec
from dancu.lib.errors import DomainError, FieldError
from dancu.lib.partial_date import PartialDate
from dancu.registry import selectors, services
from dancu.registry.models import (
    Citizen,
    FamilyLink,
    Household,
    HouseholdMember,
    PinRecord,
    RecordVersion,
    Relation,
    Residence,
)
from dancu.registry.services import NewCitizen, NewResidence
from tests.conftest import HOAN_KIEM, HONG_HA, SAI_GON, SYSTEM, Personas, commune, counts, legacy_commune
from tests.races import race

pytestmark = pytest.mark.django_db

TODAY = date(2025, 9, 1)
REASON = "Thu thập thông tin dân cư"
DOCUMENT = "Phiếu DC01 số 12/2025"


# Helpers -------------------------------------------------------------------------------------------


def person(**overrides: Any) -> NewCitizen:
    fields: dict[str, Any] = {
        "full_name": "Nguyễn Văn Hùng",
        "birth_date": "17/05/1990",
        "sex": "M",
        "birth_registration_place": "001",
    }
    return NewCitizen(**(fields | overrides))


def home(code: str = HOAN_KIEM, **overrides: Any) -> NewResidence:
    fields: dict[str, Any] = {
        "kind": "permanent",
        "commune": commune(code),
        "address_detail": "Số 1 phố Hàng Trống",
        "registered_on": date(2015, 1, 1),
    }
    return NewResidence(**(fields | overrides))


def create(data: NewCitizen | None = None, residence: NewResidence | None = None, **kwargs: Any) -> Citizen:
    return services.citizen_create(
        actor=kwargs.pop("actor", SYSTEM),
        data=data or person(),
        residence=residence if residence is not None else home(),
        reason=kwargs.pop("reason", REASON),
        source_document=kwargs.pop("source_document", DOCUMENT),
        today=kwargs.pop("today", TODAY),
    )


def refused(call: Callable[[], Any]) -> list[FieldError]:
    """Run a write that must be refused; check nothing was written and every error is complete."""
    before = counts()
    with pytest.raises(DomainError) as caught:
        call()
    assert counts() == before, "a refused write left rows behind"
    for error in caught.value.errors:
        assert error.field, error
        assert "." in error.code, error
        assert error.message_vi.strip(), error
        assert error.message_en.strip(), error
        assert error.message_vi != error.message_en, error
    return caught.value.errors


def rules(errors: list[FieldError]) -> set[tuple[str, str]]:
    return {(e.field, e.code) for e in errors}


def events_of(subject_type: str, subject_id: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(subject_type=subject_type, subject_id=str(subject_id))
        .order_by("pk")
        .values_list("event_type", flat=True)
    )


def versions_of(entity: str, entity_id: int) -> list[int]:
    return list(
        RecordVersion.objects.filter(entity=entity, entity_id=entity_id)
        .order_by("version")
        .values_list("version", flat=True)
    )


def reissue(citizen: Citizen, new_sex: str) -> Citizen:
    return services.pin_reissue(
        actor=SYSTEM,
        citizen=citizen,
        new_sex=new_sex,
        reason="Xác định lại giới tính",
        source_document="Quyết định 45/QĐ-UBND",
    )


class ScriptedSerials:
    """A random source that first yields the given serials, then counts up from 500000."""

    def __init__(self, *serials: int) -> None:
        self.queue = list(serials)
        self.next_fallback = 500_000

    def randrange(self, start: int, stop: int) -> int:
        if self.queue:
            return self.queue.pop(0)
        self.next_fallback += 1
        return self.next_fallback


# citizen_create: the PIN -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sex", "birth", "place", "digit"),
    [
        ("M", "17/05/1990", "001", "0"),
        ("F", "1985", "079", "1"),
        ("M", "2003-11-02", "046", "2"),
        ("F", "03/2010", "096", "3"),
        ("M", "1999", "704", "0"),  # a birth registered abroad carries the country code
    ],
)
def test_allocated_pin_encodes_sex_birth_year_and_place(sex: str, birth: str, place: str, digit: str) -> None:
    citizen = create(person(sex=sex, birth_date=birth, birth_registration_place=place))

    info = pin_codec.decode(citizen.pin)
    assert citizen.pin[3] == digit
    assert (info.sex, info.birth_year, info.place_code) == (sex, PartialDate.parse(birth).year, place)
    ledger = PinRecord.objects.get(pin=citizen.pin)
    assert ledger.citizen_id == citizen.pk
    assert ledger.cancelled_at is None
    created = AuditEvent.objects.get(event_type=EventType.CITIZEN_CREATED, subject_id=str(citizen.pk))
    assert created.data == {"pin": citizen.pin, "pin_allocated": True}


def test_a_pin_from_the_source_document_is_kept() -> None:
    pin = pin_codec.compose(place_code="001", sex="F", birth_year=1985, serial="123456")

    citizen = create(person(full_name="Lê Thị Mai", sex="F", birth_date="1985", pin=f" {pin} "))

    assert citizen.pin == pin
    assert PinRecord.objects.filter(pin=pin, citizen=citizen).exists()
    created = AuditEvent.objects.get(event_type=EventType.CITIZEN_CREATED, subject_id=str(citizen.pk))
    assert created.data["pin_allocated"] is False


@pytest.mark.parametrize(
    ("pin", "code"),
    [
        ("001190123456", "pin.sex_mismatch"),  # G=1 says female; the record says male
        ("001091123456", "pin.year_mismatch"),  # YY=91; born 1990
        ("079090123456", "pin.place_mismatch"),  # registered in 079; the record says 001
        ("001290123456", "pin.year_mismatch"),  # G=2 is the 2000s: born 2090
        ("00109012345", "pin.format"),
        ("00109012345X", "pin.format"),
        ("003090123456", "pin.place"),  # 003 is no province
        ("001090000000", "pin.serial"),
    ],
)
def test_a_pin_that_disagrees_with_the_record_is_refused(pin: str, code: str) -> None:
    errors = refused(lambda: create(person(pin=pin)))

    assert ("pin", code) in rules(errors)


def test_a_pin_already_issued_is_refused() -> None:
    first = create()
    errors = refused(lambda: create(person(full_name="Nguyễn Văn Hưng", pin=first.pin)))

    assert rules(errors) == {("pin", "pin.duplicate")}


def test_allocation_draws_again_when_the_serial_was_already_issued(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_rng", ScriptedSerials(123456, 123456, 654321))
    first = create()
    second = create(person(full_name="Nguyễn Văn Hưng"))

    assert first.pin == "001090123456"
    assert second.pin == "001090654321"


def test_allocation_gives_up_when_every_serial_drawn_was_issued(monkeypatch: pytest.MonkeyPatch) -> None:
    """After fifty draws of issued serials the officer is told to try again; nothing is written."""
    first = create()
    monkeypatch.setattr(services, "_rng", ScriptedSerials(*[int(first.pin[6:])] * 50))

    errors = refused(lambda: create(person(full_name="Nguyễn Văn Hưng")))

    assert rules(errors) == {("pin", "pin.exhausted")}
    assert "try again" in errors[0].message_en


def test_a_serial_taken_by_another_registration_at_the_same_moment_is_drawn_again(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two officers register two men born in 1990 in Hà Nội at once, and the second draws the serial the
    first one is being given. On PostgreSQL the second finds no such PIN in the ledger (the first has not
    committed), waits on the unique index, and draws again once the first commits; SQLite plays them one
    after the other, where the ledger already holds it. Both end with two PINs."""
    taken = pin_codec.compose(place_code="001", sex="M", birth_year=1990, serial="424242")
    monkeypatch.setattr(services, "_rng", ScriptedSerials(424242, 515151))

    second = race(lambda: create(person(pin=taken)), lambda: create(person(full_name="Nguyễn Văn Hưng")))

    assert isinstance(second, Citizen), second
    assert second.pin == "001090515151"
    assert set(PinRecord.objects.values_list("pin", flat=True)) == {taken, "001090515151"}
    assert Citizen.objects.get(pin=taken).full_name == "Nguyễn Văn Hùng"


# citizen_create: the personal data --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored", "precision", "shown"),
    [
        ("1985", "1985", "year", "1985"),
        ("03/1970", "1970-03", "month", "03/1970"),
        ("1970-03", "1970-03", "month", "03/1970"),
        ("7/5/1990", "1990-05-07", "day", "07/05/1990"),
        ("1990-05-17", "1990-05-17", "day", "17/05/1990"),
    ],
)
def test_partial_birth_dates_keep_their_precision(
    typed: str, stored: str, precision: str, shown: str
) -> None:
    citizen = create(person(birth_date=typed))

    reloaded = Citizen.objects.get(pk=citizen.pk)
    assert reloaded.birth_date.to_storage() == stored
    assert reloaded.birth_date.precision == precision
    assert str(reloaded.birth_date) == shown
    assert Citizen.objects.filter(birth_date=stored).count() == 1


@pytest.mark.parametrize(
    ("birth", "code"),
    [
        ("2025-09-02", "date.future"),  # tomorrow
        ("10/2025", "date.future"),  # the month has not started
        ("2026", "date.future"),
        ("2023-02-30", "date.day_range"),
        ("31/13/1990", "date.month_range"),
        ("17.05.1990", "date.format"),
        ("", "date.required"),
    ],
)
def test_impossible_or_future_birth_dates_are_refused(birth: str, code: str) -> None:
    errors = refused(lambda: create(person(birth_date=birth)))

    assert ("birth_date", code) in rules(errors)


def test_a_birth_date_in_the_current_month_is_not_in_the_future() -> None:
    # "09/2025" may mean 1 September, which is today: a partial date is refused only when all of it is
    # after today.
    citizen = create(person(birth_date="09/2025"), home(registered_on=date(2025, 9, 1)))

    assert citizen.birth_date == PartialDate(2025, 9)
    assert pin_codec.decode(citizen.pin).birth_year == 2025


@pytest.mark.parametrize(
    "typed",
    [
        "  nguyễn   VĂN  hùng ",
        "NGUYỄN VĂN HÙNG",
        unicodedata.normalize("NFD", "Nguyễn Văn Hùng"),
    ],
)
def test_names_are_stored_in_title_case_nfc_with_a_folded_key(typed: str) -> None:
    citizen = create(person(full_name=typed))

    reloaded = Citizen.objects.get(pk=citizen.pk)
    assert reloaded.full_name == "Nguyễn Văn Hùng"
    assert unicodedata.is_normalized("NFC", reloaded.full_name)
    assert reloaded.name_key == "nguyen van hung"


def test_ethnic_minority_names_keep_apostrophes_and_hyphens() -> None:
    citizen = create(person(full_name="h'hen niê", sex="F", birth_date="1990"))

    assert citizen.full_name == "H'hen Niê"
    assert citizen.name_key == "h'hen nie"


def test_every_broken_rule_is_reported_at_once_with_field_code_and_both_languages() -> None:
    data = person(
        full_name="Nguyễn Văn 3",
        sex="X",
        birth_registration_place="003",
        ethnicity="99",
        religion="77",
        nationality="Viet Nam",
        blood_type="A",
        old_id_number="12345",
        marital_status="complicated",
        phone="12345",
        email="not-an-email",
    )

    errors = refused(lambda: create(data))

    assert rules(errors) >= {
        ("full_name", "name.digits"),
        ("sex", "sex.invalid"),
        ("birth_registration_place", "place.unknown"),
        ("ethnicity", "ethnicity.unknown"),
        ("religion", "religion.unknown"),
        ("nationality", "nationality.format"),
        ("blood_type_source", "blood_type.no_source"),
        ("old_id_number", "cmnd.format"),
        ("marital_status", "marital_status.invalid"),
        ("phone", "phone.format"),
        ("email", "email.format"),
    }


def test_a_blood_type_is_kept_with_the_medical_result_it_comes_from() -> None:
    citizen = create(person(blood_type="O", blood_type_source="Phiếu xét nghiệm BV Bạch Mai 2020"))

    assert (citizen.blood_type, citizen.blood_type_source) == ("O", "Phiếu xét nghiệm BV Bạch Mai 2020")


@pytest.mark.parametrize("old_id", ["12345678", "1234567890", "12345678a", "١٢٣٤٥٦٧٨٩"])
def test_old_cmnd_numbers_must_be_nine_ascii_digits(old_id: str) -> None:
    errors = refused(lambda: create(person(old_id_number=old_id)))

    assert ("old_id_number", "cmnd.format") in rules(errors)


def test_an_old_cmnd_number_belongs_to_one_citizen() -> None:
    create(person(old_id_number="012345678"))

    errors = refused(lambda: create(person(full_name="Trần Văn Nam", old_id_number=" 012345678 ")))

    assert rules(errors) == {("old_id_number", "cmnd.duplicate")}


def test_several_citizens_may_have_no_old_cmnd() -> None:
    first = create(person(old_id_number=""))
    second = create(person(full_name="Trần Văn Nam", old_id_number=""))

    assert first.old_id_number is None
    assert second.old_id_number is None


@pytest.mark.parametrize("place", ["١٢٣", "１２３", "000", "01", "0001", "abc"])
def test_the_place_of_birth_registration_is_a_province_or_country_code(place: str) -> None:
    errors = refused(lambda: create(person(birth_registration_place=place)))

    assert ("birth_registration_place", "place.unknown") in rules(errors)


def test_a_birth_year_no_pin_can_encode_is_refused_not_crashed() -> None:
    # A PIN's century digit starts with the 1900s; a legacy record of someone born in 1850 cannot be
    # given a new one.
    errors = refused(lambda: create(person(birth_date="1850")))

    assert ("birth_date", "pin.birth_year_range") in rules(errors)


def test_a_reason_is_required_for_every_write() -> None:
    errors = refused(lambda: create(reason="   "))

    assert ("reason", "reason.required") in rules(errors)


def test_an_officer_must_give_the_place_of_residence(personas: Personas) -> None:
    errors = refused(
        lambda: services.citizen_create(
            actor=Actor(personas.lan), data=person(), residence=None, reason=REASON, source_document=DOCUMENT
        )
    )

    assert rules(errors) == {("residence", "residence.required")}


def test_an_officer_registers_only_inside_their_area(personas: Personas) -> None:
    errors = refused(lambda: create(residence=home(SAI_GON), actor=Actor(personas.lan)))

    assert rules(errors) == {("commune", "unit.outside_jurisdiction")}
    own = create(residence=home(HOAN_KIEM), actor=Actor(personas.lan))
    assert own.area_commune == commune(HOAN_KIEM)


# citizen_create: all or nothing, with its trail -------------------------------------------------------


def test_creation_writes_one_event_and_version_one() -> None:
    before = counts()

    citizen = services.citizen_create(
        actor=SYSTEM, data=person(), residence=None, reason=REASON, source_document=DOCUMENT, today=TODAY
    )

    after = counts()
    assert after["AuditEvent"] - before["AuditEvent"] == 1
    assert after["RecordVersion"] - before["RecordVersion"] == 1
    event = AuditEvent.objects.get(subject_type="citizen", subject_id=str(citizen.pk))
    assert (event.event_type, event.actor_label, event.reason, event.source_document) == (
        EventType.CITIZEN_CREATED,
        "system:test",
        REASON,
        DOCUMENT,
    )
    version = RecordVersion.objects.get(entity="citizen", entity_id=citizen.pk)
    assert (version.version, version.event_id, citizen.version) == (1, event.pk, 1)
    assert version.snapshot["pin"] == citizen.pin
    assert version.snapshot["full_name"] == "Nguyễn Văn Hùng"
    assert version.snapshot["residences"] == []


def test_creation_with_its_residence_records_the_registration_as_the_next_version() -> None:
    citizen = create()

    assert events_of("citizen", citizen.pk) == [EventType.CITIZEN_CREATED, EventType.RESIDENCE_REGISTERED]
    assert versions_of("citizen", citizen.pk) == [1, 2]
    assert Citizen.objects.get(pk=citizen.pk).version == 2
    latest = RecordVersion.objects.get(entity="citizen", entity_id=citizen.pk, version=2)
    [residence] = latest.snapshot["residences"]
    assert (residence["kind"], residence["address_detail"]) == ("permanent", "Số 1 phố Hàng Trống")
    assert citizen.area_commune == commune(HOAN_KIEM)
    assert citizen.area_province == commune(HOAN_KIEM).parent


@pytest.mark.parametrize(
    ("residence", "rule"),
    [
        # These rules are checked by residence_register, after the citizen, the PIN ledger, the event
        # and version 1 were written in the same transaction: all of it must roll back.
        (lambda: home(registered_on=date(2025, 9, 2)), ("registered_on", "date.future")),
        (lambda: home(kind="temporary"), ("expires_on", "residence.expiry_required")),
        (lambda: home(address_detail="  "), ("address_detail", "address.required")),
        (lambda: home(commune=commune(HOAN_KIEM).parent), ("commune", "unit.not_commune")),
        (lambda: home(legacy_commune=commune(HONG_HA)), ("legacy_commune", "unit.not_legacy_commune")),
    ],
)
def test_a_refused_residence_leaves_no_half_written_citizen(residence: Any, rule: tuple[str, str]) -> None:
    errors = refused(lambda: create(residence=residence()))

    assert rule in rules(errors)


# citizen_update --------------------------------------------------------------------------------------


def update(citizen: Citizen, **changes: Any) -> Citizen:
    return services.citizen_update(
        actor=SYSTEM,
        citizen=citizen,
        changes=changes,
        reason="Đính chính theo giấy khai sinh",
        source_document="Giấy khai sinh số 88",
        today=TODAY,
    )


def test_an_update_records_old_and_new_values_and_a_new_version() -> None:
    citizen = create()
    version_before = citizen.version

    update(citizen, phone="0912345678", marital_status="married", religion="00")

    reloaded = Citizen.objects.get(pk=citizen.pk)
    assert (reloaded.phone, reloaded.marital_status, reloaded.version) == (
        "0912345678",
        "married",
        version_before + 1,
    )
    event = AuditEvent.objects.filter(subject_id=str(citizen.pk)).latest("pk")
    assert event.event_type == EventType.CITIZEN_UPDATED
    # Unchanged values (the religion) are not part of the diff.
    assert event.data == {
        "changes": {
            "phone": {"old": "", "new": "0912345678"},
            "marital_status": {"old": "", "new": "married"},
        }
    }
    assert (event.reason, event.source_document) == ("Đính chính theo giấy khai sinh", "Giấy khai sinh số 88")
    *_, old, new = RecordVersion.objects.filter(entity="citizen", entity_id=citizen.pk).order_by("version")
    assert (old.snapshot["phone"], new.snapshot["phone"]) == ("", "0912345678")
    assert new.event_id == event.pk
    assert new.version == version_before + 1


def test_the_history_shows_each_version_with_its_change(personas: Personas) -> None:
    citizen = create()
    update(citizen, birth_place="Bệnh viện Phụ sản Hà Nội")
    update(citizen, birth_place="Bệnh viện Bạch Mai")

    history = selectors.citizen_history(actor=personas.lan, citizen_id=citizen.pk, purpose="kiểm tra")

    assert [v.version for v in history] == [4, 3, 2, 1]
    assert history[0].event.data["changes"] == {
        "birth_place": {"old": "Bệnh viện Phụ sản Hà Nội", "new": "Bệnh viện Bạch Mai"}
    }
    assert [v.snapshot["birth_place"] for v in history] == [
        "Bệnh viện Bạch Mai",
        "Bệnh viện Phụ sản Hà Nội",
        "",
        "",
    ]


def test_a_name_change_refreshes_the_search_key() -> None:
    citizen = create()

    update(citizen, full_name="  trần   THỊ  bích ")

    reloaded = Citizen.objects.get(pk=citizen.pk)
    assert (reloaded.full_name, reloaded.name_key) == ("Trần Thị Bích", "tran thi bich")
    event = AuditEvent.objects.filter(subject_id=str(citizen.pk)).latest("pk")
    assert event.data["changes"]["full_name"] == {"old": "Nguyễn Văn Hùng", "new": "Trần Thị Bích"}


@pytest.mark.parametrize(
    "changes",
    [
        {"pin": "001090123456"},
        {"sex": "F"},
        {"birth_registration_place": "079"},
        {"name_key": "x"},
        {"area_commune": None},
        {"version": 99},
    ],
)
def test_fields_outside_an_ordinary_update_are_refused(changes: dict[str, Any]) -> None:
    citizen = create()

    errors = refused(lambda: update(citizen, **changes))

    [name] = changes
    assert rules(errors) == {(name, "field.not_updatable")}


def test_an_update_that_changes_nothing_writes_nothing() -> None:
    citizen = create(person(phone="0912345678"))
    before = counts()

    update(citizen, phone="0912345678", full_name="NGUYỄN VĂN HÙNG")

    assert counts() == before


def test_a_date_of_death_marks_the_citizen_deceased() -> None:
    citizen = create()

    update(citizen, date_of_death="2024")

    reloaded = Citizen.objects.get(pk=citizen.pk)
    assert reloaded.is_deceased
    assert reloaded.date_of_death == PartialDate(2024)
    assert events_of("citizen", citizen.pk)[-1] == EventType.CITIZEN_DECEASED


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"date_of_death": "1989"}, ("date_of_death", "date.death_before_birth")),
        ({"date_of_death": "04/1990"}, ("date_of_death", "date.death_before_birth")),
        ({"date_of_death": "2026-01-01"}, ("date_of_death", "date.future")),
        ({"date_of_death": "30/02/2020"}, ("date_of_death", "date.day_range")),
        ({"birth_date": "1991"}, ("pin", "pin.year_mismatch")),
        ({"birth_date": None}, ("birth_date", "date.required")),
        ({"full_name": ""}, ("full_name", "name.required")),
        ({"full_name": None}, ("full_name", "name.required")),
        ({"email": "hung@"}, ("email", "email.format")),
        ({"ethnicity": None}, ("ethnicity", "ethnicity.unknown")),
        ({"blood_type": "B"}, ("blood_type_source", "blood_type.no_source")),
        ({"missing_declared_on": "not a date"}, ("missing_declared_on", "date.format")),
        ({"missing_declared_on": "2030-01-01"}, ("missing_declared_on", "date.future")),
    ],
)
def test_an_update_that_breaks_a_rule_is_refused(changes: dict[str, Any], rule: tuple[str, str]) -> None:
    citizen = create()

    errors = refused(lambda: update(citizen, **changes))

    assert rule in rules(errors)
    assert Citizen.objects.get(pk=citizen.pk).version == citizen.version


def test_a_death_in_the_birth_month_of_a_partial_birth_date_is_accepted() -> None:
    citizen = create(person(birth_date="05/1990"))

    update(citizen, date_of_death="1990-05-01")

    assert Citizen.objects.get(pk=citizen.pk).date_of_death == PartialDate(1990, 5, 1)


def test_a_declaration_of_missing_is_kept_as_a_date() -> None:
    citizen = create()

    update(citizen, missing_declared_on="2024-03-05")

    assert Citizen.objects.get(pk=citizen.pk).missing_declared_on == date(2024, 3, 5)


def test_an_old_cmnd_number_may_be_added_once() -> None:
    other = create(person(full_name="Trần Văn Nam", old_id_number="111111111"))
    citizen = create()

    errors = refused(lambda: update(citizen, old_id_number="111111111"))
    update(other, old_id_number="111111111", phone="0987654321")  # its own number is not a clash

    assert rules(errors) == {("old_id_number", "cmnd.duplicate")}


# pin_reissue -----------------------------------------------------------------------------------------


def test_a_legal_change_of_sex_cancels_the_pin_and_links_the_new_one() -> None:
    citizen = create(person(birth_date="1990", sex="M"))
    old_pin, version_before = citizen.pin, citizen.version

    reissue(citizen, "F")

    reloaded = Citizen.objects.get(pk=citizen.pk)
    assert reloaded.pin != old_pin
    assert reloaded.sex == "F"
    new_info, old_info = pin_codec.decode(reloaded.pin), pin_codec.decode(old_pin)
    assert (new_info.sex, new_info.birth_year, new_info.place_code) == ("F", 1990, "001")
    assert (old_info.birth_year, old_info.place_code) == (1990, "001")
    old_record, new_record = PinRecord.objects.get(pin=old_pin), PinRecord.objects.get(pin=reloaded.pin)
    assert old_record.cancelled_at is not None
    assert old_record.cancel_reason == "Xác định lại giới tính"
    assert old_record.replaced_by == new_record
    assert new_record.cancelled_at is None
    assert old_record.citizen_id == new_record.citizen_id == citizen.pk
    event = AuditEvent.objects.filter(subject_id=str(citizen.pk)).latest("pk")
    assert event.event_type == EventType.PIN_REISSUED
    assert event.data == {"old_pin": old_pin, "new_pin": reloaded.pin, "new_sex": "F"}
    assert reloaded.version == version_before + 1
    assert RecordVersion.objects.get(
        entity="citizen", entity_id=citizen.pk, version=reloaded.version
    ).snapshot["pin"] == (reloaded.pin)


def test_a_cancelled_pin_is_never_given_again(monkeypatch: pytest.MonkeyPatch) -> None:
    citizen = create(person(birth_date="1990", sex="M"))
    old_pin = citizen.pin
    reissue(citizen, "F")

    # Offered the cancelled serial first, allocation for a man born in 1990 in Hà Nội must skip it...
    monkeypatch.setattr(services, "_rng", ScriptedSerials(int(old_pin[6:]), 777777))
    newcomer = create(person(full_name="Đỗ Văn Tâm", birth_date="1990", sex="M"))
    assert newcomer.pin == "001090777777"
    # ...and a source document carrying it is refused.
    errors = refused(lambda: create(person(full_name="Đỗ Văn Tâm", birth_date="1990", pin=old_pin)))
    assert rules(errors) == {("pin", "pin.duplicate")}


@pytest.mark.parametrize(("new_sex", "document"), [("M", "QĐ 45"), ("X", "QĐ 45"), ("F", "  ")])
def test_a_pin_is_reissued_only_for_a_documented_change_of_sex(new_sex: str, document: str) -> None:
    citizen = create()

    errors = refused(
        lambda: services.pin_reissue(
            actor=SYSTEM, citizen=citizen, new_sex=new_sex, reason="Đổi giới tính", source_document=document
        )
    )

    assert {e.field for e in errors} <= {"sex", "source_document"}
    assert PinRecord.objects.get(pin=citizen.pin).cancelled_at is None


def test_a_collector_cannot_reissue_a_pin(personas: Personas) -> None:
    citizen = create()

    errors = refused(
        lambda: services.pin_reissue(
            actor=Actor(personas.lan),
            citizen=citizen,
            new_sex="F",
            reason="Xác định lại giới tính",
            source_document="Quyết định 45/QĐ-UBND",
        )
    )

    assert rules(errors) == {("actor", "role.not_allowed")}
    assert Citizen.objects.get(pk=citizen.pk).pin == citizen.pin
    assert PinRecord.objects.get(pin=citizen.pin).cancelled_at is None


# residence_register ----------------------------------------------------------------------------------


def register(citizen: Citizen, **kwargs: Any) -> Residence:
    fields: dict[str, Any] = {
        "kind": "permanent",
        "commune": commune(HONG_HA),
        "address_detail": "Số 5 ngõ Gạch",
        "registered_on": date(2024, 3, 1),
        "reason": "Chuyển nơi thường trú",
        "source_document": "Hồ sơ CT01",
        "today": TODAY,
    }
    return services.residence_register(actor=SYSTEM, citizen=citizen, **(fields | kwargs))


def test_a_new_permanent_residence_ends_the_previous_one_and_moves_the_area() -> None:
    citizen = create()
    previous = citizen.residences.get()

    moved_to = register(citizen)

    previous.refresh_from_db()
    assert previous.ended_on == date(2024, 3, 1)
    assert previous.end_reason == "Chuyển nơi thường trú"
    assert list(citizen.residences.filter(ended_on__isnull=True)) == [moved_to]
    assert moved_to.address_key == "so 5 ngo gach"
    reloaded = Citizen.objects.get(pk=citizen.pk)
    assert reloaded.area_commune == commune(HONG_HA)
    assert reloaded.area_province == commune(HONG_HA).parent
    event = AuditEvent.objects.filter(subject_id=str(citizen.pk)).latest("pk")
    assert event.event_type == EventType.RESIDENCE_REGISTERED
    assert event.data == {
        "residence_id": moved_to.pk,
        "kind": "permanent",
        "commune": HONG_HA,
        "ended_residence_id": previous.pk,
        "ended_temporary_residence_id": None,
        "left_household_id": None,
        "household_emptied": False,
    }


def test_a_legacy_address_is_kept_with_its_2025_unit() -> None:
    citizen = create(residence=None)
    legacy = legacy_commune("09841")

    residence = register(
        citizen,
        commune=commune(HOAN_KIEM),
        legacy_commune=legacy,
        address_original="Thôn Thượng, xã Dương Liễu, huyện Hoài Đức",
    )

    assert residence.legacy_commune == legacy
    assert residence.address_original == "Thôn Thượng, xã Dương Liễu, huyện Hoài Đức"
    assert Citizen.objects.get(pk=citizen.pk).area_legacy_commune == legacy


def test_a_temporary_residence_lasts_at_most_two_years() -> None:
    citizen = create()

    accepted = register(
        citizen, kind="temporary", registered_on=date(2024, 1, 1), expires_on=date(2026, 1, 1)
    )

    assert accepted.expires_on == date(2026, 1, 1)
    # Temporary residence does not move the area while a permanent one exists.
    assert Citizen.objects.get(pk=citizen.pk).area_commune == commune(HOAN_KIEM)


@pytest.mark.parametrize(
    ("kind", "expires_on", "rule"),
    [
        ("temporary", None, ("expires_on", "residence.expiry_required")),
        ("temporary", date(2026, 3, 5), ("expires_on", "residence.expiry_range")),
        ("temporary", date(2024, 3, 1), ("expires_on", "residence.expiry_range")),
        ("temporary", date(2023, 1, 1), ("expires_on", "residence.expiry_range")),
        ("permanent", date(2025, 1, 1), ("expires_on", "residence.expiry_not_allowed")),
    ],
)
def test_temporary_residence_periods_are_checked(kind: str, expires_on: date | None, rule: Any) -> None:
    citizen = create()

    errors = refused(lambda: register(citizen, kind=kind, expires_on=expires_on))

    assert rule in rules(errors)


def test_a_second_current_temporary_residence_is_refused() -> None:
    citizen = create()
    register(citizen, kind="temporary", expires_on=date(2026, 3, 1))

    errors = refused(
        lambda: register(
            citizen,
            kind="temporary",
            commune=commune(SAI_GON),
            registered_on=date(2024, 6, 1),
            expires_on=date(2026, 6, 1),
        )
    )

    assert rules(errors) == {("kind", "residence.overlap")}


def test_a_permanent_residence_at_the_place_of_the_temporary_one_ends_it() -> None:
    """Luật Cư trú 2020 art. 29: a person who registers permanent residence at the very place of their
    temporary residence has the temporary one deleted; it no longer counts them there twice."""
    citizen = create()
    stay = register(citizen, kind="temporary", registered_on=date(2024, 1, 1), expires_on=date(2026, 1, 1))

    # The same place typed another way (case and tone marks): the address is compared folded.
    moved_to = register(citizen, address_detail="số 5 ngo gach", registered_on=date(2025, 6, 1))

    stay.refresh_from_db()
    assert stay.ended_on == date(2025, 6, 1)
    assert "điều 29" in stay.end_reason
    assert set(citizen.residences.filter(ended_on__isnull=True)) == {moved_to}
    event = AuditEvent.objects.filter(subject_id=str(citizen.pk)).latest("pk")
    assert event.data["ended_temporary_residence_id"] == stay.pk


def test_a_permanent_residence_elsewhere_in_the_commune_keeps_the_temporary_one() -> None:
    citizen = create()
    stay = register(citizen, kind="temporary", registered_on=date(2024, 1, 1), expires_on=date(2026, 1, 1))

    moved_to = register(citizen, address_detail="Số 9 ngõ Gạch", registered_on=date(2025, 6, 1))

    assert set(citizen.residences.filter(ended_on__isnull=True)) == {moved_to, stay}


def test_a_temporary_residence_at_the_permanent_one_is_refused() -> None:
    """A temporary residence is a place other than the permanent one (art. 2 of the law)."""
    citizen = create()

    errors = refused(
        lambda: register(
            citizen,
            kind="temporary",
            commune=commune(HOAN_KIEM),
            address_detail="SỐ 1 PHỐ HÀNG TRỐNG",
            expires_on=date(2026, 1, 1),
        )
    )

    assert rules(errors) == {("address_detail", "residence.temporary_at_permanent")}


def test_a_move_to_the_address_the_citizen_already_has_is_refused() -> None:
    citizen = create()
    register(citizen)

    # The same commune and address, typed another way: a form sent twice, or a move that is none.
    errors = refused(
        lambda: register(citizen, address_detail="  số 5 NGÕ GẠCH ", registered_on=date(2024, 4, 1))
    )

    assert rules(errors) == {("address_detail", "residence.unchanged")}
    assert register(citizen, address_detail="Số 7 ngõ Gạch", registered_on=date(2024, 4, 1))


def test_a_permanent_registration_dated_before_the_current_one_is_refused() -> None:
    citizen = create()

    errors = refused(lambda: register(citizen, registered_on=date(2014, 12, 31)))

    assert rules(errors) == {("registered_on", "residence.overlap")}


@pytest.mark.parametrize("kind", ["", "holiday", "PERMANENT"])
def test_an_unknown_kind_of_residence_is_refused(kind: str) -> None:
    citizen = create()

    errors = refused(lambda: register(citizen, kind=kind))

    assert ("kind", "residence.kind_invalid") in rules(errors)


def test_the_database_holds_one_current_permanent_residence_even_if_code_is_bypassed() -> None:
    citizen = create()

    with pytest.raises(IntegrityError), transaction.atomic():
        Residence.objects.create(
            citizen=citizen,
            kind="permanent",
            commune=commune(HONG_HA),
            address_detail="Số 9 phố Huế",
            registered_on=date(2024, 1, 1),
        )

    assert citizen.residences.filter(kind="permanent", ended_on__isnull=True).count() == 1


def test_the_database_refuses_a_temporary_residence_without_expiry() -> None:
    citizen = create()

    with pytest.raises(IntegrityError), transaction.atomic():
        Residence.objects.create(
            citizen=citizen,
            kind="temporary",
            commune=commune(HONG_HA),
            address_detail="Số 9 phố Huế",
            registered_on=date(2024, 1, 1),
        )


def test_ending_the_last_residence_leaves_the_record_without_an_area() -> None:
    citizen = create()
    residence = citizen.residences.get()

    services.residence_end(
        actor=SYSTEM,
        residence=residence,
        ended_on=date(2024, 1, 1),
        reason="Xoá đăng ký thường trú",
        source_document="QĐ 7",
    )

    reloaded = Citizen.objects.get(pk=citizen.pk)
    assert (reloaded.area_commune, reloaded.area_province) == (None, None)
    assert events_of("citizen", citizen.pk)[-1] == EventType.RESIDENCE_ENDED
    errors = refused(
        lambda: services.residence_end(
            actor=SYSTEM, residence=residence, ended_on=date(2024, 2, 1), reason="Lần nữa", source_document=""
        )
    )
    assert rules(errors) == {("residence", "residence.already_ended")}


def stay(citizen: Citizen, *, until: date = date(2026, 1, 1)) -> Residence:
    return register(
        citizen,
        kind="temporary",
        commune=commune(HOAN_KIEM),
        registered_on=date(2025, 1, 1),
        expires_on=until,
    )


def renew(residence: Residence, until: date, **kwargs: Any) -> Residence:
    fields: dict[str, Any] = {
        "actor": SYSTEM,
        "reason": "Gia hạn tạm trú",
        "source_document": "CT01",
        "today": TODAY,
    }
    return services.residence_renew(residence=residence, expires_on=until, **(fields | kwargs))


def test_a_temporary_residence_already_over_is_not_registered() -> None:
    citizen = create()

    errors = refused(lambda: stay(citizen, until=date(2025, 8, 31)))

    assert rules(errors) == {("expires_on", "residence.already_expired")}
    # Its last day still counts.
    assert stay(citizen, until=TODAY).expires_on == TODAY


def test_a_temporary_residence_is_renewed_for_at_most_two_more_years() -> None:
    citizen = create()
    residence = stay(citizen)
    version = Citizen.objects.get(pk=citizen.pk).version

    renew(residence, date(2027, 12, 31))

    residence.refresh_from_db()
    assert (residence.expires_on, residence.ended_on) == (date(2027, 12, 31), None)
    event = AuditEvent.objects.latest("pk")
    assert event.event_type == EventType.RESIDENCE_RENEWED
    assert event.data == {
        "residence_id": residence.pk,
        "old_expires_on": "2026-01-01",
        "new_expires_on": "2027-12-31",
    }
    assert Citizen.objects.get(pk=citizen.pk).version == version + 1


@pytest.mark.parametrize(
    ("until", "today", "rule"),
    [
        (date(2025, 12, 31), TODAY, ("expires_on", "residence.renew_not_later")),
        (date(2028, 1, 5), TODAY, ("expires_on", "residence.expiry_range")),
        # The stay ran out in January; a renewal in March counts from March, and must end after it.
        (date(2026, 2, 1), date(2026, 3, 1), ("expires_on", "residence.renew_not_later")),
        (date(2028, 3, 5), date(2026, 3, 1), ("expires_on", "residence.expiry_range")),
    ],
)
def test_bad_renewals_are_refused(until: date, today: date, rule: tuple[str, str]) -> None:
    residence = stay(create())

    errors = refused(lambda: renew(residence, until, today=today))

    assert rules(errors) == {rule}


def test_only_a_current_temporary_residence_is_renewed() -> None:
    citizen = create()

    errors = refused(lambda: renew(citizen.residences.get(), date(2026, 1, 1)))
    assert rules(errors) == {("residence", "residence.renew_not_temporary")}
    residence = stay(citizen)
    services.residence_end(
        actor=SYSTEM, residence=residence, ended_on=TODAY, reason="Xoá đăng ký tạm trú", source_document=""
    )
    errors = refused(lambda: renew(residence, date(2027, 1, 1)))
    assert rules(errors) == {("residence", "residence.already_ended")}


def test_ending_a_temporary_residence_frees_the_place_for_another(personas: Personas) -> None:
    citizen = create()
    residence = stay(citizen)

    services.residence_end(
        actor=Actor(personas.lan),
        residence=residence,
        ended_on=date(2025, 6, 1),
        reason="Xoá đăng ký tạm trú",
        source_document="Đơn",
        today=TODAY,
    )

    residence.refresh_from_db()
    assert (residence.ended_on, residence.end_reason) == (date(2025, 6, 1), "Xoá đăng ký tạm trú")
    event = AuditEvent.objects.latest("pk")
    assert event.data == {"residence_id": residence.pk, "kind": "temporary", "on": "2025-06-01"}
    assert register(citizen, kind="temporary", registered_on=date(2025, 6, 2), expires_on=date(2026, 6, 1))


@pytest.mark.parametrize(
    ("ended_on", "actor", "rule"),
    [
        (date(2024, 12, 31), "lan", ("ended_on", "residence.end_before_start")),
        (date(2025, 9, 2), "lan", ("ended_on", "date.future")),
        (date(2025, 6, 1), "binh", ("residence", "unit.outside_jurisdiction")),
    ],
)
def test_bad_ends_of_a_residence_are_refused(
    personas: Personas, ended_on: date, actor: str, rule: tuple[str, str]
) -> None:
    residence = stay(create(), until=date(2026, 1, 1))

    errors = refused(
        lambda: services.residence_end(
            actor=Actor(getattr(personas, actor)),
            residence=residence,
            ended_on=ended_on,
            reason="Xoá đăng ký tạm trú",
            source_document="",
            today=TODAY,
        )
    )

    assert rules(errors) == {rule}


# Households ------------------------------------------------------------------------------------------


def open_household(head: Citizen, *, on: date = date(2020, 6, 1), code: str = HOAN_KIEM) -> Household:
    return services.household_create(
        actor=SYSTEM,
        head=head,
        commune=commune(code),
        address_detail="Số 10 phố Hàng Bông",
        registered_on=on,
        reason="Đăng ký thường trú, lập hộ mới",
        source_document="Hồ sơ CT01",
    )


def add(household: Household, citizen: Citizen, relation: str = "child", on: date = date(2021, 1, 1)) -> Any:
    return services.household_add_member(
        actor=SYSTEM,
        household=household,
        citizen=citizen,
        relation_to_head=relation,
        joined_on=on,
        reason="Nhập hộ",
        source_document="Hồ sơ CT01",
    )


@pytest.fixture
def family() -> dict[str, Citizen]:
    return {
        "father": create(person(full_name="Nguyễn Văn Ba", birth_date="1960")),
        "mother": create(person(full_name="Lê Thị Tư", sex="F", birth_date="03/1962")),
        "son": create(person(full_name="Nguyễn Văn Hùng", birth_date="1990-05-17")),
        "neighbour": create(person(full_name="Phạm Văn Sáu", birth_date="1980")),
    }


def test_a_household_opens_with_its_head_living_at_its_address(family: dict[str, Citizen]) -> None:
    head = family["father"]

    household = open_household(head)

    assert household.number == f"{HOAN_KIEM}-00000001"
    [membership] = household.memberships.all()
    assert (membership.citizen, membership.relation_to_head, membership.joined_on) == (
        head,
        Relation.HEAD,
        date(2020, 6, 1),
    )
    residence = head.residences.get(ended_on__isnull=True, kind="permanent")
    assert (residence.household, residence.address_detail) == (household, "Số 10 phố Hàng Bông")
    assert events_of("household", household.pk) == [EventType.HOUSEHOLD_CREATED]
    assert events_of("citizen", head.pk)[-1] == EventType.RESIDENCE_REGISTERED
    assert versions_of("household", household.pk) == [1]
    assert Household.objects.get(pk=household.pk).version == 1
    assert open_household(family["neighbour"]).number == f"{HOAN_KIEM}-00000002"


def test_a_member_joins_and_moves_to_the_household_address(family: dict[str, Citizen]) -> None:
    household = open_household(family["father"])

    membership = add(household, family["son"], "child")

    assert membership.relation_to_head == "child"
    son_home = family["son"].residences.get(ended_on__isnull=True, kind="permanent")
    assert (son_home.household, son_home.address_detail) == (household, "Số 10 phố Hàng Bông")
    assert family["son"].residences.get(ended_on__isnull=False).ended_on == date(2021, 1, 1)
    assert events_of("household", household.pk) == [
        EventType.HOUSEHOLD_CREATED,
        EventType.HOUSEHOLD_MEMBER_ADDED,
    ]
    assert versions_of("household", household.pk) == [1, 2]


def test_a_household_has_one_head_by_service(family: dict[str, Citizen]) -> None:
    household = open_household(family["father"])

    errors = refused(lambda: add(household, family["mother"], "head"))

    assert rules(errors) == {("relation_to_head", "household.second_head")}


def test_a_household_has_one_head_by_database_constraint(family: dict[str, Citizen]) -> None:
    household = open_household(family["father"])

    with pytest.raises(IntegrityError), transaction.atomic():
        HouseholdMember.objects.create(
            household=household, citizen=family["mother"], relation_to_head="head", joined_on=date(2021, 1, 1)
        )

    assert household.memberships.filter(relation_to_head="head").count() == 1


def test_a_citizen_belongs_to_one_current_household_by_database_constraint(
    family: dict[str, Citizen],
) -> None:
    first = open_household(family["father"])
    second = open_household(family["neighbour"])
    add(first, family["son"])

    with pytest.raises(IntegrityError), transaction.atomic():
        HouseholdMember.objects.create(
            household=second, citizen=family["son"], relation_to_head="other", joined_on=date(2022, 1, 1)
        )


@pytest.mark.parametrize(
    ("relation", "code"),
    # A relation left blank is a field not filled in (tests/registry/test_review_s22.py).
    [("cousin", "relation.invalid"), ("", "field.required"), ("HEAD", "relation.invalid")],
)
def test_an_unknown_relation_to_the_head_is_refused(
    family: dict[str, Citizen], relation: str, code: str
) -> None:
    household = open_household(family["father"])

    errors = refused(lambda: add(household, family["son"], relation))

    assert rules(errors) == {("relation_to_head", code)}


def test_a_member_of_another_household_is_refused(family: dict[str, Citizen]) -> None:
    first = open_household(family["father"])
    second = open_household(family["neighbour"])
    add(first, family["son"])

    errors = refused(lambda: add(second, family["son"], "other"))
    assert rules(errors) == {("citizen", "household.already_member")}
    errors = refused(lambda: open_household(family["son"]))
    assert rules(errors) == {("head", "household.already_member")}


def test_the_head_changes_and_the_previous_head_stays_a_member(family: dict[str, Citizen]) -> None:
    household = open_household(family["father"])
    add(household, family["mother"], "spouse")
    father_version = Citizen.objects.get(pk=family["father"].pk).version
    mother_version = Citizen.objects.get(pk=family["mother"].pk).version

    services.household_change_head(
        actor=SYSTEM,
        household=household,
        new_head=family["mother"],
        previous_head_relation="spouse",
        changed_on=date(2023, 1, 1),
        reason="Chủ hộ cũ đề nghị",
        source_document="Đơn đề nghị",
    )

    relations = dict(household.memberships.values_list("citizen_id", "relation_to_head"))
    assert relations == {family["mother"].pk: "head", family["father"].pk: "spouse"}
    event = AuditEvent.objects.filter(subject_type="household").latest("pk")
    assert event.event_type == EventType.HOUSEHOLD_HEAD_CHANGED
    assert event.data == {
        "old_head_id": family["father"].pk,
        "new_head_id": family["mother"].pk,
        "new_head_previous_relation": "spouse",
        "on": "2023-01-01",
    }
    assert versions_of("household", household.pk) == [1, 2, 3]
    assert Citizen.objects.get(pk=family["father"].pk).version == father_version + 1
    assert Citizen.objects.get(pk=family["mother"].pk).version == mother_version + 1


@pytest.mark.parametrize(
    ("who", "previous_relation", "changed_on", "rule"),
    [
        ("neighbour", "spouse", date(2023, 1, 1), ("new_head", "household.not_member")),
        ("father", "spouse", date(2023, 1, 1), ("new_head", "household.already_head")),
        ("mother", "head", date(2023, 1, 1), ("previous_head_relation", "household.second_head")),
        ("mother", "boss", date(2023, 1, 1), ("previous_head_relation", "household.second_head")),
        ("mother", "spouse", date(2020, 12, 31), ("changed_on", "household.change_before_join")),
        ("mother", "spouse", date(2999, 1, 1), ("changed_on", "date.future")),
    ],
)
def test_a_change_of_head_keeps_one_head(
    family: dict[str, Citizen], who: str, previous_relation: str, changed_on: date, rule: tuple[str, str]
) -> None:
    household = open_household(family["father"])
    add(household, family["mother"], "spouse")

    errors = refused(
        lambda: services.household_change_head(
            actor=SYSTEM,
            household=household,
            new_head=family[who],
            previous_head_relation=previous_relation,
            changed_on=changed_on,
            reason="Thay đổi chủ hộ",
            source_document="",
        )
    )

    assert rule in rules(errors)


def test_a_change_of_head_outside_the_officers_area_is_refused(
    personas: Personas, family: dict[str, Citizen]
) -> None:
    household = open_household(family["father"])
    add(household, family["mother"], "spouse")

    errors = refused(
        lambda: services.household_change_head(
            actor=Actor(personas.binh),
            household=household,
            new_head=family["mother"],
            previous_head_relation="spouse",
            changed_on=date(2023, 1, 1),
            reason="Thay đổi chủ hộ",
            source_document="",
        )
    )

    assert rules(errors) == {("household", "unit.outside_jurisdiction")}


def move_away(citizen: Citizen, on: date = date(2024, 3, 1)) -> Residence:
    return services.residence_register(
        actor=SYSTEM,
        citizen=citizen,
        kind="permanent",
        commune=commune(HONG_HA),
        address_detail="Số 5 ngõ Gạch",
        registered_on=on,
        reason="Chuyển nơi thường trú",
        source_document="CT01",
    )


def test_a_household_left_by_its_last_member_is_no_longer_counted_and_takes_a_new_head(
    personas: Personas, family: dict[str, Citizen]
) -> None:
    household = open_household(family["father"])
    assert selectors.area_summary(actor=personas.lan).households == 1

    move_away(family["father"])

    event = AuditEvent.objects.filter(event_type=EventType.RESIDENCE_REGISTERED).latest("pk")
    assert (event.data["left_household_id"], event.data["household_emptied"]) == (household.pk, True)
    assert selectors.household_history(actor=personas.lan, pk=household.pk)[0].snapshot["members"] == []
    assert selectors.area_summary(actor=personas.lan).households == 0
    # Nobody is the head: a member is not "the child" of nobody, and the first to join is its head.
    errors = refused(lambda: add(household, family["son"], "child", on=date(2024, 4, 1)))
    assert rules(errors) == {("relation_to_head", "household.no_head")}
    add(household, family["neighbour"], "head", on=date(2024, 4, 1))
    add(household, family["son"], "child", on=date(2024, 4, 1))

    relations = dict(
        household.memberships.filter(left_on__isnull=True).values_list("citizen_id", "relation_to_head")
    )
    assert relations == {family["neighbour"].pk: "head", family["son"].pk: "child"}
    assert selectors.area_summary(actor=personas.lan).households == 1
    errors = refused(lambda: add(household, family["mother"], "head", on=date(2024, 5, 1)))
    assert rules(errors) == {("relation_to_head", "household.second_head")}


def test_a_household_without_a_head_takes_one_of_its_members_as_head(family: dict[str, Citizen]) -> None:
    household = open_household(family["father"])
    add(household, family["mother"], "spouse")
    # The head's membership ends without a new head (as a merge or an old import may leave it).
    HouseholdMember.objects.filter(citizen=family["father"]).update(left_on=date(2023, 1, 1))

    services.household_change_head(
        actor=SYSTEM,
        household=household,
        new_head=family["mother"],
        previous_head_relation="",
        changed_on=date(2023, 1, 2),
        reason="Chủ hộ mất",
        source_document="Trích lục khai tử",
    )

    assert household.memberships.get(left_on__isnull=True).relation_to_head == "head"
    event = AuditEvent.objects.filter(event_type=EventType.HOUSEHOLD_HEAD_CHANGED).latest("pk")
    assert (event.data["old_head_id"], event.data["new_head_id"]) == (None, family["mother"].pk)


def test_ending_the_permanent_residence_leaves_the_household(family: dict[str, Citizen]) -> None:
    household = open_household(family["father"])
    add(household, family["son"], "child")

    errors = refused(
        lambda: services.residence_end(
            actor=SYSTEM,
            residence=family["father"].residences.get(ended_on__isnull=True, kind="permanent"),
            ended_on=date(2024, 1, 1),
            reason="Xoá đăng ký thường trú",
            source_document="QĐ 7",
        )
    )
    assert rules(errors) == {("household", "household.head_leaving")}
    services.residence_end(
        actor=SYSTEM,
        residence=family["son"].residences.get(ended_on__isnull=True, kind="permanent"),
        ended_on=date(2024, 1, 1),
        reason="Xoá đăng ký thường trú",
        source_document="QĐ 7",
    )

    assert household.memberships.get(citizen=family["son"]).left_on == date(2024, 1, 1)
    event = AuditEvent.objects.latest("pk")
    assert (event.data["left_household_id"], event.data["household_emptied"]) == (household.pk, False)
    assert versions_of("household", household.pk)[-1] == 3


def test_a_dead_citizen_is_given_no_residence_and_joins_no_household(family: dict[str, Citizen]) -> None:
    household = open_household(family["father"])
    mother = family["mother"]
    services.citizen_update(
        actor=SYSTEM,
        citizen=mother,
        changes={"date_of_death": "2024-10-03"},
        reason="Khai tử",
        source_document="Trích lục khai tử",
    )

    errors = refused(lambda: move_away(mother, on=date(2024, 12, 1)))
    assert rules(errors) == {("citizen", "citizen.deceased")}
    errors = refused(
        lambda: services.residence_register(
            actor=SYSTEM,
            citizen=mother,
            kind="temporary",
            commune=commune(HOAN_KIEM),
            address_detail="Số 1 phố Hàng Mã",
            registered_on=date(2026, 1, 1),
            expires_on=date(2027, 6, 1),
            reason="Tạm trú",
            source_document="",
            today=date(2026, 2, 1),
        )
    )
    assert rules(errors) == {("citizen", "citizen.deceased")}
    errors = refused(lambda: add(household, mother, "spouse", on=date(2024, 12, 1)))
    assert ("citizen", "citizen.deceased") in rules(errors)


def test_a_dead_citizen_neither_opens_nor_takes_over_a_household(family: dict[str, Citizen]) -> None:
    household = open_household(family["father"])
    add(household, family["mother"], "spouse")
    for citizen in (family["mother"], family["neighbour"]):
        services.citizen_update(
            actor=SYSTEM,
            citizen=citizen,
            changes={"date_of_death": "2024-10-03"},
            reason="Khai tử",
            source_document="Trích lục khai tử",
        )

    errors = refused(lambda: open_household(family["neighbour"], on=date(2024, 12, 1)))
    assert rules(errors) == {("head", "citizen.deceased")}
    errors = refused(
        lambda: services.household_change_head(
            actor=SYSTEM,
            household=household,
            new_head=family["mother"],
            previous_head_relation="spouse",
            changed_on=date(2024, 12, 1),
            reason="Thay đổi chủ hộ",
            source_document="",
        )
    )
    assert rules(errors) == {("new_head", "citizen.deceased")}
    head = HouseholdMember.objects.get(household=household, left_on__isnull=True, relation_to_head="head")
    assert head.citizen_id == family["father"].pk


def test_household_history_keeps_every_membership_state(
    personas: Personas, family: dict[str, Citizen]
) -> None:
    household = open_household(family["father"])
    add(household, family["mother"], "spouse")
    add(household, family["son"], "child", on=date(2022, 1, 1))

    history = selectors.household_history(actor=personas.lan, pk=household.pk)

    assert [v.version for v in history] == [3, 2, 1]
    assert [len(v.snapshot["members"]) for v in history] == [3, 2, 1]
    assert history[-1].snapshot["members"] == [
        {"citizen_id": family["father"].pk, "relation_to_head": "head", "joined_on": "2020-06-01"}
    ]
    assert history[0].snapshot["address_detail"] == "Số 10 phố Hàng Bông"


# family_link_add -------------------------------------------------------------------------------------


def link(citizen: Citizen, kind: str, relative: Citizen | None = None, **kwargs: Any) -> FamilyLink:
    return services.family_link_add(
        actor=SYSTEM,
        citizen=citizen,
        kind=kind,
        relative=relative,
        reason="Bổ sung quan hệ gia đình",
        source_document="Giấy khai sinh",
        **kwargs,
    )


def links_of(citizen: Citizen) -> set[tuple[str, int | None]]:
    return set(citizen.family_links.values_list("kind", "relative_id"))


def test_a_parent_link_is_recorded_on_both_sides(family: dict[str, Citizen]) -> None:
    son, father, mother = family["son"], family["father"], family["mother"]
    versions = {c.pk: Citizen.objects.get(pk=c.pk).version for c in (son, father)}

    created = link(son, "father", father)
    link(son, "mother", mother)

    assert (created.relative_name, created.relative_pin) == (father.full_name, father.pin)
    assert links_of(son) == {("father", father.pk), ("mother", mother.pk)}
    assert links_of(father) == {("child", son.pk)}
    assert links_of(mother) == {("child", son.pk)}
    assert Citizen.objects.get(pk=son.pk).version == versions[son.pk] + 2
    assert Citizen.objects.get(pk=father.pk).version == versions[father.pk] + 1
    event = AuditEvent.objects.filter(event_type=EventType.FAMILY_LINKED).order_by("pk").first()
    assert event.data == {"kind": "father", "relative_id": father.pk, "relative_name": "Nguyễn Văn Ba"}


def test_a_child_link_gives_the_child_a_parent(family: dict[str, Citizen]) -> None:
    link(family["mother"], "child", family["son"])

    assert links_of(family["mother"]) == {("child", family["son"].pk)}
    assert links_of(family["son"]) == {("mother", family["mother"].pk)}


def test_spouses_and_representatives_are_reciprocal(family: dict[str, Citizen]) -> None:
    link(family["father"], "spouse", family["mother"])
    link(family["neighbour"], "representative", family["son"])

    assert links_of(family["mother"]) == {("spouse", family["father"].pk)}
    assert links_of(family["son"]) == {("represented", family["neighbour"].pk)}


@pytest.mark.parametrize(
    ("child", "kind", "parent", "rule"),
    [
        ("son", "father", "neighbour", ("relative", "family.parent_too_young")),  # 1980 -> 1990
        ("father", "father", "son", ("relative", "family.parent_too_young")),
        ("son", "mother", "father", ("relative", "family.parent_sex")),
        ("son", "father", "mother", ("relative", "family.parent_sex")),
        ("son", "father", "son", ("relative", "family.self")),
        ("son", "sibling", "father", ("kind", "family.kind_invalid")),
        ("son", "child", "father", ("relative", "family.parent_too_young")),  # a child older than parent
    ],
)
def test_implausible_family_links_are_refused(
    family: dict[str, Citizen], child: str, kind: str, parent: str, rule: tuple[str, str]
) -> None:
    errors = refused(lambda: link(family[child], kind, family[parent]))

    assert rule in rules(errors)


def test_a_second_father_is_refused(family: dict[str, Citizen]) -> None:
    link(family["son"], "father", relative_name="nguyễn văn ba")

    errors = refused(lambda: link(family["son"], "father", family["father"]))

    assert rules(errors) == {("kind", "family.parent_exists")}


def test_a_parent_with_a_recorded_father_cannot_gain_a_second_one_through_a_child_link(
    family: dict[str, Citizen],
) -> None:
    link(family["son"], "father", family["father"])
    grandfather = create(person(full_name="Hoàng Văn Bảy", birth_date="1940"))

    errors = refused(lambda: link(grandfather, "child", family["son"]))

    assert ("relative", "family.parent_exists") in rules(errors)


def test_a_relative_known_only_by_name_is_normalized(family: dict[str, Citizen]) -> None:
    created = link(family["son"], "mother", relative_name="  lê   THỊ tư ", relative_pin="")

    assert (created.relative, created.relative_name) == (None, "Lê Thị Tư")
    errors = refused(lambda: link(family["son"], "father", relative_name="Ba 123"))
    assert ("relative_name", "name.digits") in rules(errors)


# family_link_replace ---------------------------------------------------------------------------------


def replace(citizen: Citizen, kind: str, **kwargs: Any) -> FamilyLink | None:
    return services.family_link_replace(
        actor=SYSTEM,
        citizen=citizen,
        kind=kind,
        reason="Đính chính quan hệ gia đình",
        source_document="Phiếu DC02 số 5",
        **kwargs,
    )


@pytest.mark.parametrize("kind", ["child", "represented", "uncle", ""])
def test_only_a_father_mother_spouse_or_representative_is_replaced(
    family: dict[str, Citizen], kind: str
) -> None:
    link(family["son"], "father", family["father"])

    errors = refused(lambda: replace(family["son"], kind, relative=family["neighbour"]))

    assert rules(errors) == {("kind", "family.kind_invalid")}
    assert links_of(family["son"]) == {("father", family["father"].pk)}


def test_replacing_a_relative_with_the_same_one_writes_nothing(family: dict[str, Citizen]) -> None:
    """A DC02 naming the parent the record already names (by record, or by a name typed differently)
    leaves the record as it is: no event, no version, the same link."""
    by_record = link(family["son"], "father", family["father"])
    by_name = link(family["son"], "mother", relative_name="Lê Thị Tư")
    before = counts()

    assert replace(family["son"], "father", relative=family["father"]) == by_record
    assert replace(family["son"], "mother", relative_name="  lê thị   TƯ ") == by_name

    assert counts() == before
    assert FamilyLink.objects.get(pk=by_name.pk).relative_name == "Lê Thị Tư"
