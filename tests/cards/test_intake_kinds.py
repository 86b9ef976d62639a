"""The check sheet lists the kinds of application the citizen's cards allow today, and why not the others,
before the officer picks one and attaches a dozen captures: a first issue for a holder of a card was
refused only once everything had been sent."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.cards.models import Card, IntakeDevice, IntakePoint
from dancu.registry.models import Citizen
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


@pytest.fixture
def lan(
    personas: Personas, station: IntakePoint, device: IntakeDevice, client: Client, sign_in: SignIn
) -> Client:
    """Lan, signed in, at the Hoàn Kiếm station and its capture device."""
    return sign_in(client, personas.lan)


def _kinds(page: str) -> list[str]:
    listed = re.search(r'<ul class="kinds" id="intake-kinds">(.*?)</ul>', page, re.S)
    assert listed is not None, "the check sheet lists the kinds"
    items = re.findall(r"<li[^>]*>(.*?)</li>", listed[1], re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_a_citizen_without_a_chip_card_may_have_a_first_issue_or_a_conversion(
    people: People, lan: Client
) -> None:
    kinds = _kinds(lan.get(f"/cards/new/?pin={people.hung.pin}").content.decode())

    assert kinds == [
        "✓ Cấp lần đầu",
        "✗ Cấp đổi khi đủ tuổi: Công dân không có thẻ đang sử dụng để cấp đổi",
        "✗ Cấp đổi do thay đổi thông tin: Công dân không có thẻ đang sử dụng để cấp đổi",
        "✗ Cấp đổi do xác lập lại số định danh: Công dân không có thẻ đang sử dụng để cấp đổi",
        "✗ Cấp lại do mất, hư hỏng: Công dân chưa có thẻ để cấp lại",
        "✓ Chuyển đổi từ CMND/thẻ cũ",
    ]


def test_a_holder_of_a_card_is_told_a_first_issue_is_not_for_them(
    people: People, delivered: Card, lan: Client
) -> None:
    kinds = _kinds(lan.get(f"/cards/new/?pin={people.hung.pin}").content.decode())

    assert kinds[0] == "✗ Cấp lần đầu: Công dân đã được cấp thẻ: không cấp lần đầu"
    assert kinds[1].startswith("✗ Cấp đổi khi đủ tuổi: Chưa đến tuổi đổi thẻ")
    assert "✓ Cấp lại do mất, hư hỏng" in kinds
    assert kinds[-1] == "✗ Chuyển đổi từ CMND/thẻ cũ: Công dân đã có thẻ căn cước gắn chip"


def test_the_kinds_are_listed_in_english_on_an_english_page(people: People, lan: Client) -> None:
    lan.cookies["django_language"] = "en"

    kinds = _kinds(lan.get(f"/cards/new/?pin={people.hung.pin}", HTTP_ACCEPT_LANGUAGE="en").content.decode())

    assert kinds[4] == "✗ Re-issue (lost or damaged): The citizen has no card to re-issue"


def test_no_kinds_are_listed_when_nothing_may_be_taken(people: People, lan: Client) -> None:
    Citizen.objects.filter(pk=people.hung.pk).update(date_of_death="2026-01-05")

    page = lan.get(f"/cards/new/?pin={people.hung.pin}").content.decode()

    assert 'id="intake-refusals"' in page
    assert 'id="intake-kinds"' not in page


def test_the_shifts_are_named_in_the_pages_language(people: People, lan: Client) -> None:
    # Formatted once at import, the shifts' names were fixed in the language the process started in.
    vietnamese = lan.get(f"/cards/new/?pin={people.hung.pin}").content.decode()
    lan.cookies["django_language"] = "en"
    english = lan.get(f"/cards/new/?pin={people.hung.pin}", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<option value="1">Ca 1 (7:00–12:00)</option>' in vietnamese
    assert '<option value="1">Shift 1 (7:00–12:00)</option>' in english
    assert "Ca 1" not in english
