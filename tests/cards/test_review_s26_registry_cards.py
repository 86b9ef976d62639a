"""Most adults hold a chip card issued before the cards app took over the issuing: the registry knows it
only by its record (IdentityCardRecord, kind CCCD or thẻ căn cước). The officer at the counter must be able
to take a re-issue for such a card when it is lost, a change when the data changed, and a renewal when
it is due; before, every kind of application was refused for them, the first issue included."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.cards import services
from dancu.cards.models import Application, Card, IntakeDevice, IntakePoint
from dancu.lib.errors import DomainError
from dancu.registry.models import Citizen, IdentityCardRecord
from tests.cards.conftest import take
from tests.conftest import SYSTEM, People, Personas

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def _chip_card_record(citizen: Citizen, *, issued_on: date, expires_on: date) -> IdentityCardRecord:
    """A CCCD handed to the citizen before the cards app: the registry's record is all that is known."""
    return IdentityCardRecord.objects.create(
        citizen=citizen,
        kind=IdentityCardRecord.Kind.CCCD,
        number=citizen.pin,
        issued_on=issued_on,
        issued_by="Cục Cảnh sát quản lý hành chính về trật tự xã hội",
        expires_on=expires_on,
    )


@pytest.fixture
def lan(personas: Personas, client: Client, sign_in: SignIn) -> Client:
    """Lan, signed in: the officer at the Hoàn Kiếm counter."""
    return sign_in(client, personas.lan)


def _kinds(page: str) -> list[str]:
    listed = re.search(r'<ul class="kinds" id="intake-kinds">(.*?)</ul>', page, re.S)
    assert listed is not None, "the check sheet lists the kinds"
    items = re.findall(r"<li[^>]*>(.*?)</li>", listed[1], re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_a_lost_cccd_known_only_to_the_registry_is_reissued(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    # Hùng (born 17-05-1990) got his CCCD at 31; it is valid until his 40th birthday.
    _chip_card_record(people.hung, issued_on=date(2021, 6, 1), expires_on=date(2030, 5, 17))

    application = take(
        personas.lan, people.hung, station, device, kind="lost_or_damaged", reason="Mất ví ngày 01/03/2026"
    )

    assert application.status == Application.Status.TAKEN
    assert application.kind == "lost_or_damaged"


def test_a_change_of_data_is_taken_for_a_card_known_only_to_the_registry(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    _chip_card_record(people.hung, issued_on=date(2021, 6, 1), expires_on=date(2030, 5, 17))

    application = take(
        personas.lan, people.hung, station, device, kind="change_of_data", reason="Đổi nơi thường trú"
    )

    assert application.kind == "change_of_data"


def test_an_expired_card_known_only_to_the_registry_is_renewed(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    # Issued at 21, the card ended on his 25th birthday, long before the application.
    _chip_card_record(people.hung, issued_on=date(2011, 6, 1), expires_on=date(2015, 5, 17))

    application = take(personas.lan, people.hung, station, device, kind="renewal")

    assert application.kind == "renewal"


def test_the_check_sheet_offers_what_a_registry_card_allows(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice, lan: Client
) -> None:
    _chip_card_record(people.hung, issued_on=date(2021, 6, 1), expires_on=date(2030, 5, 17))

    kinds = _kinds(lan.get(f"/cards/new/?pin={people.hung.pin}").content.decode())

    assert kinds[0] == "✗ Cấp lần đầu: Công dân đã được cấp thẻ: không cấp lần đầu"
    assert kinds[1].startswith("✗ Cấp đổi khi đủ tuổi: Chưa đến tuổi đổi thẻ")
    assert "✓ Cấp đổi do thay đổi thông tin" in kinds
    assert "✓ Cấp lại do mất, hư hỏng" in kinds
    assert kinds[3] == "✗ Cấp đổi do xác lập lại số định danh: Số định danh không thay đổi so với thẻ"


def test_the_refusal_of_a_second_application_says_where_the_first_one_is(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice, lan: Client
) -> None:
    # "Where is my card?" at the counter: the officer types the PIN, and the check sheet names the
    # application in progress, its state and the day the card is promised, rather than only that one exists.
    first = take(personas.lan, people.hung, station, device)

    page = lan.get(f"/cards/new/?pin={people.hung.pin}").content.decode()

    assert f"hồ sơ {first.number} (Đã thu nhận, chờ duyệt), hẹn trả {first.due_on:%d/%m/%Y}" in page
    lan.cookies["django_language"] = "en"
    english = lan.get(f"/cards/new/?pin={people.hung.pin}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"{first.number} (Taken, waiting for approval), due {first.due_on:%d/%m/%Y}" in english


def test_a_pin_typed_in_groups_finds_the_citizen_at_intake(
    people: People, station: IntakePoint, lan: Client
) -> None:
    # PINs are read aloud and copied in groups of three ("001 090 123 456"), as the portal's sign-in
    # already accepts; the search box used to answer that no such citizen lives in the area.
    pin = people.hung.pin
    grouped = f"{pin[:3]} {pin[3:6]}.{pin[6:9]}-{pin[9:]}"

    page = lan.get("/cards/new/", {"pin": grouped}).content.decode()

    assert "Không tìm thấy công dân" not in page
    assert people.hung.full_name in page
    assert 'maxlength="12"' not in page


def test_a_card_the_nightly_job_marked_expired_is_renewed(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice, delivered: Card
) -> None:
    # The card ran out and the nightly job marked it expired: a renewal (cấp đổi) is exactly what the
    # holder needs, and was refused with "no card in use to change".
    Card.objects.filter(pk=delivered.pk).update(issued_on=date(2011, 6, 1), expires_on=date(2015, 5, 17))
    assert services.cards_expire_due(actor=SYSTEM, today=date(2026, 3, 1)) == 1

    application = take(personas.lan, people.hung, station, device, kind="renewal")

    assert application.kind == "renewal"


def test_an_expired_card_is_renewed_rather_than_changed_for_new_data(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    _chip_card_record(people.hung, issued_on=date(2011, 6, 1), expires_on=date(2015, 5, 17))

    with pytest.raises(DomainError) as refused:
        take(personas.lan, people.hung, station, device, kind="change_of_data", reason="Đổi nơi thường trú")

    assert [error.code for error in refused.value.errors] == ["application.no_current_card"]
