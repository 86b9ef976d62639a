"""Session 31 review: "Thay đổi chủ hộ" sent twice, or from a page opened before a member left.

Hạnh makes Hùng's wife the head of their household and, the answer slow, taps the button again. The first
tap made the change; the second was answered with Django's "Hãy chọn một lựa chọn hợp lệ. 0011… không
phải là một trong các lựa chọn khả thi": no rule, a bare PIN, and nothing to say the change was made. The
same came back when the member chosen had moved out since the page was opened. The registry's own rules
now answer both: the person is the head already (`household.already_head`), or is no member any more
(`household.not_member`); nothing is written twice.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from dancu.audit.models import AuditEvent
from dancu.registry import services
from dancu.registry.models import Citizen, Household
from tests.conftest import HOAN_KIEM, SYSTEM, People, counts, household_of, make_citizen, move
from tests.pages import field_errors, html

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(people: People) -> tuple[Household, Citizen]:
    wife = make_citizen(full_name="Đỗ Thị Hạnh", sex="F", birth_date="1992")
    return household_of(people.hung, spouse=wife), wife


def _change(wife: Citizen) -> dict[str, str]:
    return {
        "new_head": wife.pin,
        "previous_head_relation": "spouse",
        "changed_on": "2023-01-01",
        "reason": "Chủ hộ cũ đề nghị",
        "source_document": "Đơn đề nghị",
    }


def test_a_change_of_head_sent_twice_is_made_once_and_says_so(
    family: tuple[Household, Citizen], lan: Client
) -> None:
    household, wife = family
    url = f"/households/{household.pk}/head/"
    assert lan.post(url, _change(wife)).status_code == 302
    after_first = counts()

    page = html(lan.post(url, _change(wife)))

    assert "[household.already_head]" in field_errors(page, "new_head")
    assert "lựa chọn hợp lệ" not in page
    assert counts() == after_first
    assert AuditEvent.objects.filter(event_type="registry.household.head_changed").count() == 1


def test_a_member_who_left_since_the_page_was_opened_is_named_as_no_member(
    family: tuple[Household, Citizen], lan: Client
) -> None:
    household, wife = family
    # A third member keeps the form on the page once the wife has left.
    services.household_add_member(
        actor=SYSTEM,
        household=household,
        citizen=make_citizen(full_name="Nguyễn Văn Đức", birth_date="1996-03-10"),
        relation_to_head="sibling",
        joined_on=date(2018, 1, 1),
        reason="Nhập hộ",
        source_document="CT01",
    )
    move(wife, HOAN_KIEM, address="Số 3 phố Hàng Bạc")
    before = counts()

    page = html(lan.post(f"/households/{household.pk}/head/", _change(wife)))

    assert "[household.not_member]" in field_errors(page, "new_head")
    assert "lựa chọn hợp lệ" not in page
    assert counts() == before


def test_a_pin_of_no_one_in_the_area_is_not_found(family: tuple[Household, Citizen], lan: Client) -> None:
    household, _wife = family
    before = counts()

    page = html(lan.post(f"/households/{household.pk}/head/", _change(Citizen(pin="079090413733"))))

    assert "[citizen.not_found]" in field_errors(page, "new_head")
    assert counts() == before
