"""An officer never sees another commune's applications or cards: Bình of Phường Hồng Hà looks for Hùng's
(Phường Hoàn Kiếm) application, card and batch through every page and endpoint and gets the same 404 as
for something that does not exist; Dũng of TP Hồ Chí Minh sees no Hà Nội batch. Lan sees them, logged."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog
from dancu.cards.models import Card
from tests.conftest import Personas

SignIn = Callable[[Client, User], Client]


def pages(card: Card) -> list[str]:
    application = card.application
    batch = application.batch
    assert batch is not None
    return [
        f"/cards/applications/{application.pk}/",
        f"/cards/applications/{application.pk}/receipt.pdf",
        f"/cards/applications/{application.pk}/face.png",
        f"/cards/cards/{card.pk}/",
        f"/cards/cards/{card.pk}/front.png",
        f"/cards/cards/{card.pk}/back.png",
        f"/cards/citizens/{card.citizen_id}/",
        f"/cards/batches/{batch.pk}/",
        f"/cards/batches/{batch.pk}/export.jsonl",
        f"/cards/batches/{batch.pk}/manifest.json",
        f"/cards/batches/{batch.pk}/print.pdf",
    ]


def endpoints(card: Card) -> list[str]:
    application = card.application
    assert application.batch is not None
    return [
        f"/api/v1/cards/applications/{application.pk}",
        f"/api/v1/cards/cards/{card.pk}",
        f"/api/v1/cards/citizens/{card.number}/history",
        f"/api/v1/cards/batches/{application.batch.pk}/export",
    ]


def test_lan_sees_her_communes_application_card_and_history(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    sign_in(client, personas.lan)
    for path in pages(delivered):
        status = client.get(path).status_code
        # Batches belong to the province: a commune officer sees none.
        assert status == (404 if "/batches/" in path else 200), path
    response = client.get("/cards/?status=delivered")
    assert delivered.application.number in response.content.decode()
    assert AccessLog.objects.filter(actor=personas.lan, citizen=delivered.citizen).exists()


def test_the_notes_of_lans_reads_are_in_vietnamese_on_an_english_page(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    """The access log is read by auditors in Vietnamese: the photo and the queue are named by their
    Vietnamese labels, not by the codes of the address (face, delivered), whatever the page's language."""
    sign_in(client, personas.lan)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert client.get(f"/cards/applications/{delivered.application.pk}/face.png").status_code == 200
    assert client.get("/cards/?status=delivered").status_code == 200
    assert client.get("/cards/").status_code == 200

    notes = set(AccessLog.objects.filter(actor=personas.lan).values_list("detail", flat=True))
    assert {
        f"hồ sơ cấp thẻ {delivered.application.number}: ảnh sinh trắc: Ảnh chân dung",
        "hàng chờ hồ sơ cấp thẻ: Đã trả thẻ",
    } <= notes
    assert not {note for note in notes if "face" in note or "delivered" in note}


@pytest.mark.parametrize("who", ["binh", "dung", "hoa", "an"])
def test_other_officers_get_404_for_every_page(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn, who: str
) -> None:
    officer = getattr(personas, who)
    sign_in(client, officer)
    for path in pages(delivered):
        assert client.get(path).status_code in (403, 404), path
    missing = client.get("/cards/applications/999999/")
    assert missing.status_code in (403, 404)
    listing = client.get("/cards/?status=delivered")
    assert delivered.citizen.full_name not in listing.content.decode()
    assert not AccessLog.objects.filter(actor=officer, citizen=delivered.citizen).exists()


@pytest.mark.parametrize("who", ["binh", "dung"])
def test_other_officers_get_404_from_every_endpoint(personas: Personas, delivered: Card, who: str) -> None:
    _token, secret = api_token_create(user=getattr(personas, who), name="thử")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    for path in endpoints(delivered):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["errors"][0]["code"] == "not_found"
    listing = api.get("/api/v1/cards/applications?status=delivered").json()
    assert listing["results"] == []
    assert api.get("/api/v1/cards/batches").json() == []


def test_the_province_supervisor_sees_the_batch_and_its_export_is_logged(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    sign_in(client, personas.cuong)
    batch = delivered.application.batch
    assert batch is not None
    response = client.get(f"/cards/batches/{batch.pk}/export.jsonl")
    assert response.status_code == 200
    assert AccessLog.objects.filter(
        actor=personas.cuong, citizen=delivered.citizen, action=AccessLog.Action.EXPORT
    ).exists()
    assert client.get(f"/cards/batches/{batch.pk}/print.pdf").content.startswith(b"%PDF")


def test_other_officers_cannot_act_on_the_application_or_card(personas: Personas, delivered: Card) -> None:
    _token, secret = api_token_create(user=personas.binh, name="thử")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    application = delivered.application
    for path, body in [
        (f"/api/v1/cards/applications/{application.pk}/approve", "{}"),
        (f"/api/v1/cards/applications/{application.pk}/deliver", '{"received_by": "x"}'),
        (f"/api/v1/cards/cards/{delivered.pk}/state", '{"state": "lost"}'),
    ]:
        assert api.post(path, body, content_type="application/json").status_code == 404, path
    delivered.refresh_from_db()
    assert delivered.state == Card.State.ACTIVE


def test_a_batch_handed_to_its_reader_is_checked_again(personas: Personas, delivered: Card) -> None:
    """The batch's applications are read for whoever may see the batch, even when the caller passes the
    batch object itself rather than its id: Dũng of Hồ Chí Minh City is told it does not exist."""
    from dancu.cards import selectors
    from dancu.lib.errors import NotFoundError

    batch = delivered.application.batch
    assert batch is not None
    with pytest.raises(NotFoundError):
        selectors.batch_applications(actor=personas.dung, batch=batch, purpose="in lô")
    assert not AccessLog.objects.filter(actor=personas.dung).exists()
    assert [
        a.pk for a in selectors.batch_applications(actor=personas.cuong, batch=batch, purpose="in lô")
    ] == [delivered.application_id]
