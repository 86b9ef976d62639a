"""Review session 22, the registry: a PIN of the wrong shape is the member form's to refuse, and a relation
to the head left blank is a field not filled in (`field.required`), not a relation that is none
(`relation.invalid`), on the pages, in the API and in the household checks alike.

Hùng heads a household in Phường Hoàn Kiếm; Mai one in Phường Hồng Hà, where Bình is the collector.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from dancu.lib.errors import DomainError
from dancu.registry import services
from dancu.registry.forms import MemberForm
from dancu.registry.rules import MemberInput, check_household
from tests.conftest import HONG_HA, SYSTEM, People, Personas, counts, household_of, make_citizen
from tests.registry.test_api import api, household_body, member_body, rules, send  # noqa: F401 (fixture)
from tests.registry.test_arrivals import card_of as arrival_card_of
from tests.registry.test_arrivals import field_errors, html
from tests.registry.test_split import Family, api_body, family, lan_api, post_json  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

REQUIRED_VI = "Chưa điền «Quan hệ với chủ hộ». [field.required]"


# The member form refuses a PIN of the wrong shape itself ---------------------------------------------------


def member_form(pin: str) -> MemberForm:
    return MemberForm(
        {"pin": pin, "relation_to_head": "child", "joined_on": "2024-03-01", "reason": "Nhập hộ"}
    )


@pytest.mark.parametrize("pin", ["00109012345", "00109012345x", "0010901234567", "001 090 123 456"])
def test_the_member_form_names_a_mistyped_pin(pin: str) -> None:
    form = member_form(pin)

    assert not form.is_valid()
    assert form.errors["pin"] == ["Số định danh cá nhân phải gồm đúng 12 chữ số. [pin.format]"]
    assert form.has_error("pin", "pin.format")
    assert set(form.errors) == {"pin"}


def test_the_member_form_speaks_the_pages_language() -> None:
    with translation.override("en"):
        form = member_form("00109012345")
        assert not form.is_valid()

    assert form.errors["pin"] == ["Personal identification number must be exactly 12 digits. [pin.format]"]


def test_the_member_form_takes_a_pin_with_stray_spaces_as_typed() -> None:
    form = member_form(" 001090123456\n")

    assert form.is_valid(), form.errors
    assert form.cleaned_data["pin"] == "001090123456"


# A relation to the head left blank is a field not filled in -------------------------------------------------


def test_the_service_refuses_a_blank_relation_as_required(people: People) -> None:
    household = household_of(people.hung)
    child = make_citizen(full_name="Nguyễn Minh Khang", birth_date="2020-03-01")
    before = counts()

    with pytest.raises(DomainError) as refused:
        services.household_add_member(
            actor=SYSTEM,
            household=household,
            citizen=child,
            relation_to_head="",
            joined_on=child.birth_date,
            reason="Nhập hộ",
            source_document="Giấy khai sinh",
        )

    [error] = refused.value.errors
    assert (error.field, error.code) == ("relation_to_head", "field.required")
    assert (error.message_vi, error.message_en) == (
        "Chưa điền «Quan hệ với chủ hộ».",
        "Relation to the household head is required.",
    )
    assert counts() == before


@pytest.mark.parametrize(
    ("relation", "rule"),
    [
        ("", ("relation_to_head", "field.required")),
        ("lodger", ("relation_to_head", "relation.invalid")),
    ],
)
def test_the_api_tells_a_blank_relation_from_an_unknown_one(
    api: Client,  # noqa: F811 (the fixture imported above)
    people: People,
    relation: str,
    rule: tuple[str, str],
) -> None:
    household_id = send(api, "post", "/api/v1/households", household_body(people.hung.pin)).json()["id"]
    wife = make_citizen(full_name="Đỗ Thị Hạnh", sex="F", birth_date="1992")
    before = counts()

    response = send(
        api,
        "post",
        f"/api/v1/households/{household_id}/members",
        member_body(wife.pin, relation_to_head=relation),
    )

    assert rules(response) == {rule}
    assert counts() == before


def test_a_split_member_without_a_relation_is_told_to_choose_one(
    family: Family,  # noqa: F811 (the fixture imported above)
    lan_api: Client,  # noqa: F811
) -> None:
    body = api_body(family)
    body["members"][1]["relation_to_head"] = ""

    response = post_json(lan_api, f"/api/v1/households/{family.household.pk}/split", body)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("members.1.relation_to_head", "field.required")
    assert error["message_vi"] == "Chọn quan hệ với chủ hộ mới"


def test_an_arrival_joining_a_household_without_a_relation_is_told_to_fill_it_in(
    personas: Personas, people: People, sign_in: Any
) -> None:
    household = household_of(people.mai, commune_code=HONG_HA, address="Số 5 ngõ Gạch")
    binh = sign_in(Client(), personas.binh)
    before = counts()

    page = html(
        binh.post(
            "/arrivals/new/",
            arrival_card_of(
                people.hung, household_number=household.number, relation_to_head="", address_detail=""
            ),
        )
    )

    errors = field_errors(page, "relation_to_head")
    assert REQUIRED_VI in errors
    assert "relation.invalid" not in errors
    assert counts() == before


def test_the_household_check_tells_a_blank_relation_from_an_unknown_one() -> None:
    members = [MemberInput("a", "head"), MemberInput("b", ""), MemberInput("c", "cousin")]

    issues = check_household(members, household="H1")

    assert [(i.field, i.rule_code, i.params.get("record_id")) for i in issues] == [
        ("relation_to_head", "field.required", "b"),
        ("relation_to_head", "relation.invalid", "c"),
    ]
    assert issues[0].message("vi") == "Chưa điền «Quan hệ với chủ hộ»."
