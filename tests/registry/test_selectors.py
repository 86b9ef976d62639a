"""The registry's reads: search as officers type it, one record, its history and its state on a past date.

Officers type names with or without tone marks, in capitals, from phones that send decomposed Unicode;
legacy records know a birth year only. Every read is scoped and logged (the scoping itself is proven in
test_jurisdiction.py; here Minh of the ministry sees the whole country unless a test says otherwise).
"""

from __future__ import annotations

import itertools
import unicodedata
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dancu.audit.models import AccessLog
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry import services
from dancu.registry.models import Citizen, RecordVersion
from dancu.registry.selectors import (
    CitizenQuery,
    area_summary,
    arrival_candidate,
    citizen_current_id,
    citizen_get,
    citizen_history,
    citizen_merged_history,
    citizen_search,
    citizen_state_on,
    household_get,
    household_history,
    relative_for_link,
    stay_get,
)
from tests.conftest import (
    DUONG_LIEU_LEGACY,
    HONG_HA,
    SYSTEM,
    People,
    Personas,
    household_of,
    make_citizen,
    move,
)

pytestmark = pytest.mark.django_db

HANOI_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
PURPOSE = "Kiểm tra dữ liệu"


def found(actor: Any, page: int = 1, page_size: int = 20, **query: Any) -> list[str]:
    result = citizen_search(
        actor=actor, query=CitizenQuery(**query), page=page, page_size=page_size, purpose=PURPOSE
    )
    return [c.full_name for c in result.results]


def search_error(actor: Any, **query: Any) -> tuple[str, str]:
    with pytest.raises(DomainError) as caught:
        citizen_search(actor=actor, query=CitizenQuery(**query), purpose=PURPOSE)
    [error] = caught.value.errors
    assert error.message_vi
    assert error.message_en
    return error.field, error.code


# Names ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "nguyen van hung",
        "NGUYỄN VĂN HÙNG",
        "Nguyễn Văn Hùng",
        unicodedata.normalize("NFD", "Nguyễn Văn Hùng"),
        "  nguyen   van  hung ",
        "Nguyen Van H",
        "nguyễn",
    ],
)
def test_a_name_is_found_however_it_is_typed(personas: Personas, people: People, typed: str) -> None:
    assert found(personas.minh, text=typed) == ["Nguyễn Văn Hùng"]


@pytest.mark.parametrize("typed", ["hung", "Hùng", "HÙNG", "mai", "Mai"])
def test_a_given_name_alone_is_found(personas: Personas, people: People, typed: str) -> None:
    expected = "Nguyễn Văn Hùng" if typed.lower().startswith("h") else "Lê Thị Mai"
    assert found(personas.minh, text=typed) == [expected]


def test_names_differing_only_in_tone_marks_are_all_found(personas: Personas, people: People) -> None:
    make_citizen(full_name="Nguyễn Văn Hưng", birth_date="1991")

    assert found(personas.minh, text="nguyen van hung") == ["Nguyễn Văn Hùng", "Nguyễn Văn Hưng"]


@pytest.mark.parametrize("typed", ["Y-Moan Ênuôl", "y moan enuol", "Y Moan", "y-moan"])
def test_a_hyphen_and_a_space_between_the_parts_of_a_name_are_one(
    personas: Personas, people: People, typed: str
) -> None:
    """An ethnic-minority name is written "Y-Moan" on one paper and "Y Moan" on another: either finds
    the record, however it was stored."""
    make_citizen(full_name="Y-Moan Ênuôl", birth_date="1994")
    make_citizen(full_name="Y Moan Ênuôl", birth_date="1996")

    assert found(personas.minh, text=typed) == ["Y-Moan Ênuôl", "Y Moan Ênuôl"]


def test_a_middle_part_of_a_name_does_not_match(personas: Personas, people: People) -> None:
    assert found(personas.minh, text="van hung") == []
    assert found(personas.minh, text="ung") == []


def test_a_pin_and_an_old_cmnd_find_their_citizen(personas: Personas, people: People) -> None:
    assert found(personas.minh, text=people.tuan.pin) == ["Trần Minh Tuấn"]
    assert found(personas.minh, text=" 012345678 ") == ["Nguyễn Văn Hùng"]
    assert found(personas.minh, text="001090999999") == []


# Birth dates, including partial ones ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "names"),
    [
        ("1990", ["Nguyễn Văn Hùng", "Trần Minh Tuấn"]),
        ("05/1990", ["Nguyễn Văn Hùng", "Trần Minh Tuấn"]),
        ("17/05/1990", ["Nguyễn Văn Hùng", "Trần Minh Tuấn"]),
        ("1990-05-17", ["Nguyễn Văn Hùng", "Trần Minh Tuấn"]),
        ("18/05/1990", []),
        ("06/1990", []),
        # Mai's record knows only the year 1985: it matches any date in 1985.
        ("1985", ["Lê Thị Mai"]),
        ("06/1985", ["Lê Thị Mai"]),
        ("24/12/1985", ["Lê Thị Mai"]),
        # Nga's record knows March 1970.
        ("1970", ["Phạm Thị Nga"]),
        ("03/1970", ["Phạm Thị Nga"]),
        ("15/03/1970", ["Phạm Thị Nga"]),
        ("04/1970", []),
        ("1991", []),
    ],
)
def test_birth_filters_respect_partial_dates(
    personas: Personas, people: People, birth: str, names: list[str]
) -> None:
    assert found(personas.minh, birth=birth) == names


def test_name_and_birth_year_combine(personas: Personas, people: People) -> None:
    make_citizen(full_name="Nguyễn Văn Hùng", birth_date="1975")

    result = citizen_search(
        actor=personas.minh, query=CitizenQuery(text="nguyen van hung", birth="1975"), purpose=PURPOSE
    )

    assert [str(c.birth_date) for c in result.results] == ["1975"]


@pytest.mark.parametrize("birth", ["199O", "yesterday", "1990/05/17", "05-1990"])
def test_an_unreadable_birth_filter_is_refused(personas: Personas, people: People, birth: str) -> None:
    assert search_error(personas.minh, birth=birth) == ("birth", "date.format")


@pytest.mark.parametrize(
    ("birth", "code"),
    [
        ("31/02/1973", "date.day_range"),
        ("2023-02-30", "date.day_range"),
        ("31/13/1990", "date.month_range"),
        ("1700", "date.year_range"),
        ("9999", "date.future"),
        ("2300", "date.future"),
        ("01/2300", "date.future"),
    ],
)
def test_a_birth_filter_in_the_right_format_names_the_rule_it_breaks(
    personas: Personas, people: People, birth: str, code: str
) -> None:
    assert search_error(personas.minh, birth=birth) == ("birth", code)


# Places ---------------------------------------------------------------------------------------------


def test_a_2025_commune_code_finds_the_people_living_there(personas: Personas, people: People) -> None:
    assert found(personas.minh, commune_code=HONG_HA) == ["Lê Thị Mai"]
    assert found(personas.minh, commune_code=people.tuan.area_commune.code) == ["Trần Minh Tuấn"]


def test_a_legacy_commune_code_finds_the_records_declared_in_it(personas: Personas, people: People) -> None:
    assert found(personas.minh, legacy_commune_code=DUONG_LIEU_LEGACY) == ["Phạm Thị Nga"]
    # The 2025 successor of the legacy commune finds the same record.
    assert found(personas.minh, commune_code=people.nga.area_commune.code) == ["Phạm Thị Nga"]
    # So does the legacy district's officer, whose area is the legacy one.
    assert found(personas.hoa, legacy_commune_code=DUONG_LIEU_LEGACY) == ["Phạm Thị Nga"]
    assert found(personas.hoa, commune_code=people.nga.area_commune.code) == ["Phạm Thị Nga"]


def test_a_commune_code_is_read_in_one_structure(personas: Personas, people: People) -> None:
    # 00118 is Phường Bồ Đề today and was Phường Ngọc Thụy (Quận Long Biên) before 2025; Châu declared
    # the old Ngọc Thụy and lives in Phường Hồng Hà's area today.
    make_citizen(full_name="Nguyễn Thị Châu", sex="F", commune_code=HONG_HA, legacy_code="00118")

    assert found(personas.minh, commune_code="00118") == []
    assert found(personas.minh, legacy_commune_code="00118") == ["Nguyễn Thị Châu"]
    assert found(personas.minh, commune_code=HONG_HA) == ["Lê Thị Mai", "Nguyễn Thị Châu"]
    assert found(personas.minh, legacy_commune_code=HONG_HA) == []


@pytest.mark.parametrize(
    ("address", "names"),
    [
        ("hàng trống", ["Nguyễn Văn Hùng"]),
        ("hang trong", ["Nguyễn Văn Hùng"]),
        ("HÀNG TRỐNG", ["Nguyễn Văn Hùng"]),
        ("ngõ gạch", ["Lê Thị Mai"]),
        ("ngo gach", ["Lê Thị Mai"]),
        ("le loi", ["Trần Minh Tuấn"]),
        ("thon thuong", ["Phạm Thị Nga"]),
        ("phố huế", []),
    ],
)
def test_addresses_are_found_with_or_without_tone_marks(
    personas: Personas, people: People, address: str, names: list[str]
) -> None:
    assert found(personas.minh, address=address) == names


def test_an_ended_residence_no_longer_finds_its_citizen(personas: Personas, people: People) -> None:
    move(people.hung, HONG_HA)

    assert found(personas.minh, address="hang trong") == []
    assert found(personas.minh, address="pho hue") == ["Nguyễn Văn Hùng"]
    assert found(personas.minh, commune_code=HONG_HA) == ["Lê Thị Mai", "Nguyễn Văn Hùng"]


# Paging, empty and refused queries -------------------------------------------------------------------


def test_results_are_paged_in_name_order(personas: Personas, people: People) -> None:
    for given in ("Ba", "Bốn", "Hai", "Một", "Năm"):
        make_citizen(full_name=f"Đặng Văn {given}", birth_date="1980")

    pages = [
        citizen_search(
            actor=personas.minh, query=CitizenQuery(text="dang van"), page=n, page_size=2, purpose=PURPOSE
        )
        for n in (1, 2, 3, 4)
    ]

    assert [[c.full_name for c in p.results] for p in pages] == [
        ["Đặng Văn Ba", "Đặng Văn Bốn"],
        ["Đặng Văn Hai", "Đặng Văn Một"],
        ["Đặng Văn Năm"],
        [],
    ]
    assert [p.has_next for p in pages] == [True, True, False, False]
    assert [p.has_previous for p in pages] == [False, True, True, True]


def test_page_numbers_and_sizes_are_clamped(personas: Personas, people: People) -> None:
    result = citizen_search(
        actor=personas.minh, query=CitizenQuery(birth="1990"), page=-3, page_size=10_000, purpose=PURPOSE
    )

    assert (result.page, result.page_size) == (1, 100)


def test_an_empty_query_finds_nothing_and_logs_nothing(personas: Personas, people: People) -> None:
    result = citizen_search(actor=personas.minh, query=CitizenQuery(text="   ", address=" "), purpose=PURPOSE)

    assert (result.results, result.has_next) == ([], False)
    assert not AccessLog.objects.exists()


@pytest.mark.parametrize(
    ("query", "rule"),
    [
        ({"text": "n" * 101}, ("q", "search.too_long")),
        ({"address": "a" * 101}, ("q", "search.too_long")),
        ({"text": "nguyen van 3"}, ("q", "search.text")),
        ({"text": "0123"}, ("q", "search.text")),
        ({"text": "001090"}, ("q", "search.text")),
        ({"text": "Nguyễn ١٢"}, ("q", "search.text")),
        ({"text": "' OR 1=1 --"}, ("q", "search.text")),
    ],
)
def test_queries_that_are_neither_names_nor_numbers_are_refused(
    personas: Personas, people: People, query: dict[str, str], rule: tuple[str, str]
) -> None:
    assert search_error(personas.minh, **query) == rule


@pytest.mark.parametrize("typed", ["%", "_", "nguyen%", "' OR 'a'='a", "\\"])
def test_wildcards_and_quotes_match_literally(personas: Personas, people: People, typed: str) -> None:
    assert found(personas.minh, text=typed) == []
    assert found(personas.minh, address=typed) == []


def test_deceased_citizens_can_be_left_out(personas: Personas, people: People) -> None:
    services.citizen_update(
        actor=SYSTEM,
        citizen=people.hung,
        changes={"date_of_death": "2024-02-01"},
        reason="Khai tử",
        source_document="Trích lục khai tử 5",
    )

    assert found(personas.minh, text="nguyen") == ["Nguyễn Văn Hùng"]
    assert found(personas.minh, text="nguyen", include_deceased=False) == []


def test_every_citizen_shown_is_logged_once_per_search(personas: Personas, people: People) -> None:
    found(personas.minh, birth="1990")

    rows = AccessLog.objects.filter(actor=personas.minh)
    assert sorted(rows.values_list("citizen_id", flat=True)) == sorted([people.hung.pk, people.tuan.pk])
    assert {(r.action, r.channel, r.purpose) for r in rows} == {("search", "web", PURPOSE)}
    assert "ngày sinh: 1990" in rows.first().detail


def test_the_log_of_a_search_names_every_criterion_and_the_page(personas: Personas, people: People) -> None:
    for given in ("An", "Bình", "Chi"):
        make_citizen(full_name=f"Vũ Thị {given}", sex="F", birth_date="2001")
    citizen_search(
        actor=personas.minh,
        query=CitizenQuery(address="  hang   trong ", birth="2001", commune_code="00070"),
        page=2,
        page_size=2,
        purpose=PURPOSE,
    )
    citizen_search(
        actor=personas.minh, query=CitizenQuery(legacy_commune_code=DUONG_LIEU_LEGACY), purpose=PURPOSE
    )

    details = set(AccessLog.objects.filter(actor=personas.minh).values_list("detail", flat=True))
    assert details == {
        "ngày sinh: 2001; đơn vị: 00070; địa chỉ: hang trong; trang 2",
        f"đơn vị cũ: {DUONG_LIEU_LEGACY}; trang 1",
    }


# One record -----------------------------------------------------------------------------------------


def test_a_record_is_read_by_pk_or_pin_and_logged(personas: Personas, people: People) -> None:
    by_pk = citizen_get(actor=personas.lan, pk=people.hung.pk, purpose=PURPOSE)
    by_pin = citizen_get(actor=personas.lan, pin=people.hung.pin, purpose=PURPOSE)

    assert by_pk == by_pin == people.hung
    assert [r.kind for r in by_pk.residences.all()] == ["permanent"]
    assert AccessLog.objects.filter(actor=personas.lan, citizen=people.hung, action="view").count() == 2


@pytest.mark.parametrize("pin", ["", "abc", "00109", "001090123456 OR 1=1", "\x00", "1" * 1000])
def test_a_malformed_pin_reads_as_missing(personas: Personas, people: People, pin: str) -> None:
    with pytest.raises(NotFoundError):
        citizen_get(actor=personas.minh, pin=pin, purpose=PURPOSE)


def test_asking_for_both_or_neither_key_is_a_programming_error(personas: Personas, people: People) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        citizen_get(actor=personas.minh, purpose=PURPOSE)
    with pytest.raises(ValueError, match="exactly one"):
        citizen_get(actor=personas.minh, pk=people.hung.pk, pin=people.hung.pin, purpose=PURPOSE)


def test_the_home_page_summary_counts_the_area(personas: Personas, people: People) -> None:
    services.citizen_update(
        actor=SYSTEM,
        citizen=people.mai,
        changes={"date_of_death": "2024"},
        reason="Khai tử",
        source_document="Trích lục khai tử 6",
    )

    commune_summary, province_summary = area_summary(actor=personas.lan), area_summary(actor=personas.cuong)

    assert (commune_summary.citizens, commune_summary.deceased, commune_summary.households) == (1, 0, 0)
    assert (province_summary.citizens, province_summary.deceased, province_summary.households) == (3, 1, 0)


# History and the state on a date --------------------------------------------------------------------


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=HANOI_TIME)


@pytest.fixture
def hung_over_time(people: People) -> Citizen:
    """Hùng was registered on 10-1-2020 (versions 1 and 2) and gave his phone on 1-6-2024 (version 3)."""
    services.citizen_update(
        actor=SYSTEM,
        citizen=people.hung,
        changes={"phone": "0912345678"},
        reason="Bổ sung số điện thoại",
        source_document="Phiếu DC02",
    )
    # There is no clock to freeze: the versions are moved to the past, as if written then.
    versions = RecordVersion.objects.filter(entity="citizen", entity_id=people.hung.pk)
    versions.filter(version__in=[1, 2]).update(recorded_at=at(date(2020, 1, 10), 10))
    versions.filter(version=3).update(recorded_at=at(date(2024, 6, 1), 9))
    return people.hung


@pytest.mark.parametrize(
    ("when", "version", "phone"),
    [
        (date(2020, 1, 9), None, None),
        (date(2020, 1, 10), 2, ""),
        (date(2024, 5, 31), 2, ""),
        (date(2024, 6, 1), 3, "0912345678"),
        (date(2030, 1, 1), 3, "0912345678"),
        (at(date(2024, 6, 1), 8), 2, ""),
        (at(date(2024, 6, 1), 9), 3, "0912345678"),
        (at(date(2020, 1, 10), 9), None, None),
    ],
)
def test_the_state_on_a_date_is_the_last_version_recorded_by_then(
    personas: Personas, hung_over_time: Citizen, when: Any, version: int | None, phone: str | None
) -> None:
    state = citizen_state_on(actor=personas.lan, citizen_id=hung_over_time.pk, when=when, purpose=PURPOSE)

    if version is None:
        assert state is None
    else:
        assert (state.version, state.snapshot["phone"]) == (version, phone)
        assert state.snapshot["residences"][0]["address_detail"] == "Số 1 phố Hàng Trống"


def test_state_and_history_reads_are_logged_and_scoped(personas: Personas, hung_over_time: Citizen) -> None:
    citizen_state_on(actor=personas.lan, citizen_id=hung_over_time.pk, when=date(2024, 6, 1), purpose=PURPOSE)
    history = citizen_history(actor=personas.lan, citizen_id=hung_over_time.pk, purpose=PURPOSE)

    assert [v.version for v in history] == [3, 2, 1]
    assert [v.event.event_type for v in history] == [
        "registry.citizen.updated",
        "registry.residence.registered",
        "registry.citizen.created",
    ]
    logged = AccessLog.objects.filter(actor=personas.lan, citizen=hung_over_time, action="history")
    assert logged.count() == 2
    assert "hồ sơ tại thời điểm 2024-06-01T23:59:59" in logged.order_by("pk").first().detail
    for read in (citizen_history, citizen_state_on):
        kwargs = {"when": date(2024, 6, 1)} if read is citizen_state_on else {}
        with pytest.raises(NotFoundError):
            read(actor=personas.binh, citizen_id=hung_over_time.pk, purpose=PURPOSE, **kwargs)


# Households -----------------------------------------------------------------------------------------


def test_a_household_is_read_head_first_and_each_member_is_logged(personas: Personas, people: People) -> None:
    spouse = make_citizen(full_name="Đỗ Thị Hạnh", sex="F", birth_date="1992")
    household = household_of(spouse, commune_code="00070")
    services.household_add_member(
        actor=SYSTEM,
        household=household,
        citizen=people.hung,
        relation_to_head="spouse",
        joined_on=date(2017, 1, 1),
        reason="Nhập hộ",
        source_document="CT01",
    )
    services.household_change_head(
        actor=SYSTEM,
        household=household,
        new_head=people.hung,
        previous_head_relation="spouse",
        changed_on=date(2018, 1, 1),
        reason="Đổi chủ hộ",
        source_document="Đơn",
    )

    read, members = household_get(actor=personas.lan, pk=household.pk, purpose=PURPOSE)

    assert read == household
    assert [(m.citizen.full_name, m.relation_to_head) for m in members] == [
        ("Nguyễn Văn Hùng", "head"),
        ("Đỗ Thị Hạnh", "spouse"),
    ]
    logged = AccessLog.objects.filter(actor=personas.lan, detail=f"hộ {household.number}")
    assert sorted(logged.values_list("citizen_id", flat=True)) == sorted([people.hung.pk, spouse.pk])
    with pytest.raises(NotFoundError):
        household_get(actor=personas.binh, pk=household.pk, purpose=PURPOSE)


# Lookups that lead nowhere --------------------------------------------------------------------------


def test_a_pin_merged_along_a_long_chain_still_leads_to_the_record_kept(personas: Personas) -> None:
    """Fifteen records of one Quý merged one into the next: the lookup by the first PIN follows the
    fourteen merges to the record that still holds him (it once stopped after eleven)."""
    records = [make_citizen(full_name="Đinh Văn Quý", birth_date="1965-03-03") for _ in range(15)]
    for keep, absorb in reversed(list(itertools.pairwise(records))):
        services.citizen_merge(
            actor=SYSTEM,
            keep=Citizen.objects.get(pk=keep.pk),
            absorb=Citizen.objects.get(pk=absorb.pk),
            reason="Cùng một người",
            source_document="Biên bản xác minh",
        )

    found_by_pin = citizen_get(actor=personas.minh, pin=records[-1].pin, purpose=PURPOSE)
    found_by_pk = citizen_current_id(actor=personas.minh, pk=records[-1].pk)

    assert found_by_pin.pk == records[0].pk
    assert found_by_pin.merged_into_id is None
    assert found_by_pk == records[0].pk
    assert relative_for_link(records[-1].pin) == records[0]


@pytest.mark.parametrize("pin", ["", "00109012345", "0010901234567", "00109012345X", "001090\x0012345"])
def test_a_card_number_that_is_no_pin_leads_to_no_arrival(people: People, pin: str) -> None:
    assert arrival_candidate(pin) is None


def test_a_stay_asked_for_by_nothing_is_not_found(personas: Personas, people: People) -> None:
    with pytest.raises(NotFoundError):
        stay_get(actor=personas.binh, purpose=PURPOSE)
    assert not AccessLog.objects.exists()


def test_the_history_of_a_household_or_of_merges_outside_the_area_is_not_found(
    personas: Personas, people: People
) -> None:
    """Lan of Hoàn Kiếm asks for Mai's household and Mai's merges, in Hồng Hà: the answer is the one a
    missing record gets, and nothing is logged."""
    household = household_of(people.mai, commune_code=HONG_HA, address="Số 5 ngõ Gạch")
    assert household_history(actor=personas.binh, pk=household.pk)

    with pytest.raises(NotFoundError):
        household_history(actor=personas.lan, pk=household.pk)
    with pytest.raises(NotFoundError):
        household_history(actor=personas.minh, pk=household.pk + 1000)
    with pytest.raises(NotFoundError):
        citizen_merged_history(actor=personas.lan, citizen_id=people.mai.pk, purpose=PURPOSE)
    assert not AccessLog.objects.filter(actor=personas.lan).exists()
