"""What Lan, a collector of Phường Hoàn Kiếm working on her phone, met on the registry's pages in a day of
her queue (review session 21): a tired officer's typing, and the defaults and wordings that cost her time.

Hùng lives in Hoàn Kiếm, Tuấn in Phường Sài Gòn (TP Hồ Chí Minh); Bình is the collector of Phường Hồng Hà.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from dancu.registry import services
from dancu.registry.models import AbsenceDeclaration, HouseholdMember
from tests.conftest import (
    HOAN_KIEM,
    SESSION_TODAY,
    SYSTEM,
    People,
    Personas,
    counts,
    household_of,
    make_citizen,
)
from tests.pages import field_errors, html
from tests.registry.test_arrivals import card_of as arrival_card_of
from tests.registry.test_stays import card_of as stay_card_of
from tests.registry.test_stays import stay_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_pinned")]

TODAY = SESSION_TODAY


def input_value(page: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert match is not None, name
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


# A refusal names the field as the page does, never by its code name ----------------------------------------


def test_a_return_dated_in_the_future_names_the_date_of_return_not_returned_on(
    lan: Client, people: People
) -> None:
    hung = people.hung
    absence = services.absence_declare(
        actor=SYSTEM,
        citizen=hung,
        starts_on=TODAY - timedelta(days=5),
        ends_on=TODAY + timedelta(days=60),
        destination="Thành phố Huế",
        reason="Thăm gia đình",
    )

    page = html(
        lan.post(
            f"/citizens/{hung.pk}/absences/{absence.pk}/return/",
            {"returned_on": (TODAY + timedelta(days=3)).isoformat(), "reason": "Trở về nơi cư trú"},
        )
    )

    errors = field_errors(page, "returned_on")
    assert "Ngày trở về không được ở tương lai. [date.future]" in errors
    assert "returned_on" not in errors
    assert AbsenceDeclaration.objects.get(pk=absence.pk).returned_on is None


def test_a_name_with_a_digit_on_the_arrival_form_is_refused_in_the_words_of_every_other_page(
    binh: Client, people: People
) -> None:
    before = counts()

    page = html(binh.post("/arrivals/new/", arrival_card_of(people.hung, full_name="nguyen van hun9")))

    errors = field_errors(page, "full_name")
    assert "Họ, chữ đệm và tên không được chứa chữ số. [name.digits]" in errors
    assert "full_name" not in errors
    assert "Trường «" not in errors
    assert counts() == before


def test_a_name_with_a_digit_on_the_stay_form_is_refused_in_english_too(binh: Client, people: People) -> None:
    binh.post("/i18n/setlang/", {"language": "en", "next": "/"})

    page = html(binh.post("/stays/new/", stay_card_of(people.tuan, full_name="tran minh tu4n")))

    assert "Full name must not contain digits. [name.digits]" in field_errors(page, "full_name")
    assert "Field &#x27;full_name&#x27;" not in page
    assert "Field 'full_name'" not in page


# A PIN of 11 digits is a typo, not a person missing ---------------------------------------------------------


def test_a_member_typed_with_an_eleven_digit_pin_is_refused_as_a_mistyped_number(
    lan: Client, people: People
) -> None:
    household = household_of(people.hung)
    child = make_citizen(full_name="Nguyễn Minh Khang", birth_date="2020-03-01")
    before = counts()

    page = html(
        lan.post(
            f"/households/{household.pk}/members/new/",
            {
                "pin": child.pin[:11],
                "relation_to_head": "child",
                "joined_on": TODAY.isoformat(),
                "reason": "Nhập hộ",
            },
        )
    )

    errors = field_errors(page, "pin")
    assert "Số định danh cá nhân phải gồm đúng 12 chữ số. [pin.format]" in errors
    assert "citizen.not_found" not in errors
    assert counts() == before


def test_a_member_typed_with_a_trailing_newline_joins_the_household(lan: Client, people: People) -> None:
    household = household_of(people.hung)
    child = make_citizen(full_name="Nguyễn Minh Khang", birth_date="2020-03-01")

    response = lan.post(
        f"/households/{household.pk}/members/new/",
        {
            "pin": f"{child.pin}\n",
            "relation_to_head": "child",
            "joined_on": TODAY.isoformat(),
            "reason": "Nhập hộ",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert HouseholdMember.objects.filter(household=household, citizen=child, left_on__isnull=True).exists()


# Sensible defaults: her own commune and today ---------------------------------------------------------------


def test_the_new_citizen_form_starts_with_her_commune_and_today(lan: Client) -> None:
    page = html(lan.get("/citizens/new/"))

    assert input_value(page, "commune_code") == HOAN_KIEM
    assert input_value(page, "registered_on") == TODAY.isoformat()


def test_the_residence_and_member_forms_start_with_today(lan: Client, people: People) -> None:
    household = household_of(people.hung)

    residence = html(lan.get(f"/citizens/{people.hung.pk}/residences/new/"))
    member = html(lan.get(f"/households/{household.pk}/members/new/"))

    assert input_value(residence, "commune_code") == HOAN_KIEM
    assert input_value(residence, "registered_on") == TODAY.isoformat()
    assert input_value(member, "joined_on") == TODAY.isoformat()


def test_an_officer_of_a_province_gets_no_commune_by_default(personas: Personas, sign_in: Any) -> None:
    cuong = sign_in(Client(), personas.cuong)

    page = html(cuong.get("/citizens/new/"))

    assert input_value(page, "commune_code") in (None, "")
    assert input_value(page, "registered_on") == TODAY.isoformat()


# A long form refused says so on top, where the phone shows it --------------------------------------------


def test_a_refused_new_citizen_says_so_above_the_first_field(lan: Client) -> None:
    before = counts()

    page = html(
        lan.post(
            "/citizens/new/",
            {
                "full_name": "Lê Minh Khang",
                "birth_date": "01/12/2020",
                "sex": "M",
                "birth_registration_place": "001",
                "ethnicity": "01",
                "religion": "00",
                "residence_kind": "permanent",
                "commune_code": HOAN_KIEM,
                "address_detail": "Số 52 phố Bà Triệu",
                "registered_on": (TODAY + timedelta(days=30)).isoformat(),
                "reason": "Thu thập thông tin dân cư",
            },
        )
    )

    summary = page.find('class="error-summary"')
    assert summary != -1
    assert "Chưa lưu: sửa các trường đánh dấu đỏ bên dưới." in page
    assert summary < page.find('name="full_name"')
    assert "[date.future]" in field_errors(page, "registered_on")
    assert counts() == before


def test_a_blank_new_citizen_form_has_no_refusal_on_top(lan: Client) -> None:
    assert 'class="error-summary"' not in html(lan.get("/citizens/new/"))


# The stays list names the commune of the permanent residence once -----------------------------------------


def test_the_stays_list_and_page_name_the_home_commune_and_its_province_once(
    lan: Client, people: People
) -> None:
    stay = stay_of(people.tuan, commune_code=HOAN_KIEM)

    listed = html(lan.get("/stays/"))
    page = html(lan.get(f"/stays/{stay.pk}/"))

    assert "Phường Sài Gòn, Thành phố Hồ Chí Minh" in listed
    assert "Thành phố Hồ Chí Minh, Thành phố Hồ Chí Minh" not in listed
    assert "12 Lê Lợi, Phường Sài Gòn, Thành phố Hồ Chí Minh" in page
    assert "Thành phố Hồ Chí Minh, Thành phố Hồ Chí Minh" not in page
