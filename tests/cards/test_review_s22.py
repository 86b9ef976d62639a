"""The card pages' reads in the access log: the card work as their purpose, and a note that tells each
request apart.

Lan had chosen "Kiểm tra, phúc tra dữ liệu" on the home page for the registry's pages (or left the default,
collection): the card pages wrote that purpose, not the card work the API's endpoints write. And the card's
page and its two pictures (front and back, separate requests) wrote three rows an auditor could not tell
apart, all "thẻ VN00000001".
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import translation

from dancu.accounts.models import User
from dancu.audit.models import AccessLog
from dancu.cards.models import Application, Card
from dancu.cards.printing import qr_payload
from dancu.web.access import PURPOSE_LABELS
from tests.cards.test_jurisdiction import pages
from tests.conftest import Personas

SignIn = Callable[[Client, User], Client]
CARD_WORK = "Cấp thẻ căn cước"


def _rows(officer: User) -> list[tuple[str, str, str]]:
    return list(
        AccessLog.objects.filter(actor=officer).order_by("pk").values_list("action", "purpose", "detail")
    )


@pytest.mark.django_db
@pytest.mark.parametrize("chosen", ["", "review", "verification"])
def test_every_card_page_logs_the_card_work_as_its_purpose(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn, chosen: str
) -> None:
    sign_in(client, personas.cuong)
    if chosen:
        client.post("/purpose/", {"purpose": chosen, "next": "/"})
    citizen = delivered.citizen
    paths = [
        *pages(delivered),
        "/cards/?status=delivered",
        f"/cards/new/?pin={citizen.pin}",
    ]
    for path in paths:
        assert client.get(path).status_code == 200, path
    assert (
        client.post(
            "/cards/verify/", {"text": qr_payload(delivered.printed, delivered.issued_on)}
        ).status_code
        == 200
    )

    rows = _rows(personas.cuong)
    assert len(rows) >= len(paths)
    assert {purpose for _action, purpose, _detail in rows} == {CARD_WORK}
    assert not set(PURPOSE_LABELS.values()) & {purpose for _action, purpose, _detail in rows}


@pytest.mark.django_db
def test_the_card_page_and_its_two_pictures_are_three_reads_told_apart(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    sign_in(client, personas.lan)
    for side in ("", "front.png", "back.png"):
        response = client.get(f"/cards/cards/{delivered.pk}/{side}")
        assert response.status_code == 200
    front = client.get(f"/cards/cards/{delivered.pk}/front.png")
    assert front["Content-Type"] == "image/png"

    assert [detail for _action, _purpose, detail in _rows(personas.lan)] == [
        "thẻ VN00000001",
        "thẻ VN00000001: ảnh mặt trước",
        "thẻ VN00000001: ảnh mặt sau",
        "thẻ VN00000001: ảnh mặt trước",
    ]
    assert AccessLog.objects.filter(actor=personas.lan, citizen=delivered.citizen).count() == 4


@pytest.mark.django_db
def test_a_side_a_card_does_not_have_is_not_found_and_not_logged(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    sign_in(client, personas.lan)

    assert client.get(f"/cards/cards/{delivered.pk}/inside.png").status_code == 404
    assert not AccessLog.objects.filter(actor=personas.lan).exists()


@pytest.mark.django_db
def test_the_receipt_is_a_read_of_its_own_next_to_the_application_page(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    sign_in(client, personas.lan)
    application = delivered.application
    for path in ("", "receipt.pdf", "face.png"):
        assert client.get(f"/cards/applications/{application.pk}/{path}").status_code == 200

    assert [detail for _action, _purpose, detail in _rows(personas.lan)] == [
        f"hồ sơ cấp thẻ {application.number}",
        f"hồ sơ cấp thẻ {application.number}: giấy hẹn (PDF)",
        # The photo names its application too, as the page and the receipt do.
        f"hồ sơ cấp thẻ {application.number}: ảnh sinh trắc: Ảnh chân dung",
    ]


def test_the_purpose_reads_in_english_on_an_english_page() -> None:
    # Kept in Vietnamese in the log, translated where a page shows it: the English catalogue has it.
    with translation.override("en"):
        assert translation.gettext(CARD_WORK) == "Identity card issuance"


@pytest.mark.django_db
def test_an_action_on_an_application_is_named_in_the_log(
    application: Application, personas: Personas, client: Client, sign_in: SignIn
) -> None:
    sign_in(client, personas.cuong)

    assert client.post(f"/cards/applications/{application.pk}/archive/").status_code == 404
    # No such action: nothing of the application was read, so nothing is logged.
    assert _rows(personas.cuong) == []
    client.post(f"/cards/applications/{application.pk}/approve/")
    assert _rows(personas.cuong) == [("view", CARD_WORK, f"hồ sơ cấp thẻ {application.number}: duyệt")]


@pytest.mark.django_db
def test_a_change_of_a_cards_state_is_named_in_the_log(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    sign_in(client, personas.cuong)
    client.post(f"/cards/cards/{delivered.pk}/", {"state": "held", "grounds": "detained", "note": "QĐ 12"})
    assert _rows(personas.cuong)[0] == ("view", CARD_WORK, f"thẻ {delivered.serial}: đổi trạng thái")
