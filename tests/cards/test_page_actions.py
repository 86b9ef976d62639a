"""The card pages that change things, walked through as the officers use them: Cường approves, rejects and
batches on the pages, uploads the centre's result and downloads the batch's files, Lan hands the card over,
Cường holds it; what the services refuse comes back on the page, named, and another province's batch or
card is a 404."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.cards import services
from dancu.cards.models import Application, Card, IntakeDevice, IntakePoint, ProductionBatch
from tests.cards.conftest import capture, produce, take
from tests.collection.forms_support import advance, dc02, make_reviewers
from tests.conftest import People, Personas

SignIn = Callable[[Client, User], Client]


def messages_of(response: HttpResponse) -> list[str]:
    """The flash messages shown at the top of the page the officer lands on."""
    html = response.content.decode()
    found = re.search(r'<ul class="messages">(.*?)</ul>', html, re.DOTALL)
    return re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.DOTALL) if found else []


def test_cuong_approves_and_rejects_on_the_application_page(
    application: Application, personas: Personas, client: Client, sign_in: SignIn
) -> None:
    url = f"/cards/applications/{application.pk}"
    sign_in(client, personas.cuong)

    response = client.post(f"{url}/reject/", {"reason": " "}, follow=True)
    assert response.redirect_chain == [(f"{url}/", 302)]
    assert messages_of(response) == ["Cần ghi lý do từ chối [rejection_reason: rejection_reason.required]"]
    # Anything but the four actions is no page at all, and changes nothing.
    assert client.post(f"{url}/archive/").status_code == 404
    application.refresh_from_db()
    assert application.status == Application.Status.TAKEN

    response = client.post(f"{url}/approve/", follow=True)
    assert messages_of(response) == [f"Đã duyệt hồ sơ {application.number}"]
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED
    assert AuditEvent.objects.get(event_type=EventType.CARD_APPLICATION_APPROVED).actor == personas.cuong


def test_a_rejection_on_the_page_keeps_its_reason(
    application: Application, personas: Personas, client: Client, sign_in: SignIn
) -> None:
    sign_in(client, personas.cuong)
    response = client.post(
        f"/cards/applications/{application.pk}/reject/", {"reason": "Ảnh chân dung bị mờ"}, follow=True
    )
    assert messages_of(response) == [f"Đã từ chối hồ sơ {application.number}"]
    application.refresh_from_db()
    assert (application.status, application.rejection_reason) == (
        Application.Status.REJECTED,
        "Ảnh chân dung bị mờ",
    )


def test_lan_resumes_an_application_once_its_dc02_is_applied(  # noqa: PLR0917 (fixtures)
    personas: Personas,
    people: People,
    station: IntakePoint,
    device: IntakeDevice,
    client: Client,
    sign_in: SignIn,
) -> None:
    from dancu.registry.models import Citizen

    reviewers = make_reviewers(personas)
    Citizen.objects.filter(pk=people.hung.pk).update(birth_date="1991-05-17")  # his PIN says 1990
    form = dc02(personas.lan, people.hung, {"birth_date": "17/05/1990"})
    application = take(personas.lan, people.hung, station, device, correction_form=form)
    advance(
        form, "applied", reviewer=reviewers.hang, supervisor=personas.cuong, acknowledged=("change.identity",)
    )
    sign_in(client, personas.lan)
    response = client.post(f"/cards/applications/{application.pk}/resume/", follow=True)
    assert messages_of(response) == [f"Hồ sơ {application.number} tiếp tục sau điều chỉnh"]
    application.refresh_from_db()
    assert application.status == Application.Status.TAKEN


def test_the_intake_page_names_a_missing_device_and_an_unknown_dc02(  # noqa: PLR0917 (fixtures)
    personas: Personas,
    people: People,
    station: IntakePoint,
    device: IntakeDevice,
    client: Client,
    sign_in: SignIn,
) -> None:
    sign_in(client, personas.lan)
    form = {
        "pin": people.hung.pin,
        "kind": "first_issue",
        "point": station.pk,
        "shift": "1",
        "delivery": "station",
    }

    def files() -> dict[str, SimpleUploadedFile]:
        return {f"image_{kind}": SimpleUploadedFile(f"{kind}.png", data) for kind, data in capture().items()}

    # No capture device chosen for an adult.
    response = client.post("/cards/new/", form | files())
    assert response.status_code == 200
    assert messages_of(response) == ["Cần chọn bộ thiết bị thu nhận [device: device.required]"]
    # A DC02 number that is not one of Lan's area: the same answer as one that does not exist.
    response = client.post("/cards/new/", form | files() | {"device": device.pk, "correction_form": 999_999})
    assert response.status_code == 200
    assert messages_of(response) == ["Không tìm thấy (ngoài địa bàn hoặc không tồn tại)"]
    assert not Application.objects.exists()


def test_cuong_batches_uploads_the_result_and_downloads_the_files(
    application: Application, personas: Personas, client: Client, sign_in: SignIn
) -> None:
    services.application_approve(actor=Actor(personas.cuong), application=application)
    sign_in(client, personas.cuong)

    response = client.post("/cards/batches/", follow=True)
    batch = ProductionBatch.objects.get()
    assert response.redirect_chain == [(f"/cards/batches/{batch.pk}/", 302)]
    assert messages_of(response) == [f"Đã lập lô {batch.number}"]
    # Nothing approved is left to batch: said on the batches page, no second batch.
    response = client.post("/cards/batches/", follow=True)
    assert messages_of(response) == ["Không có hồ sơ đã duyệt chờ sản xuất [applications: batch.empty]"]
    assert ProductionBatch.objects.count() == 1

    base = f"/cards/batches/{batch.pk}/"
    manifest = client.get(base + "manifest.json")
    assert manifest["Content-Disposition"] == f'attachment; filename="{batch.number}-manifest.json"'
    assert json.loads(manifest.content)["payload"]["applications"] == [application.number]
    export = client.get(base + "export.jsonl")
    assert json.loads(export.content.decode().splitlines()[0])["application"] == application.number
    assert client.get(base + "print.pdf").content.startswith(b"%PDF")
    assert client.get(base + "secrets.txt").status_code == 404

    # A result file saved in a legacy encoding is refused by name, before any row is read.
    latin = SimpleUploadedFile("result.csv", "application,serial,error\nHS1,,Lỗi in\n".encode("utf-16"))
    response = client.post(base, {"result": latin}, follow=True)
    assert messages_of(response) == ["Tệp kết quả phải là văn bản UTF-8 [file: result.encoding]"]
    wrong = SimpleUploadedFile("result.csv", b"app,serial\n")
    response = client.post(base, {"result": wrong}, follow=True)
    assert [m.rsplit("[", 1)[1] for m in messages_of(response)] == ["file: result.columns]"]
    assert not Card.objects.exists()

    good = SimpleUploadedFile(
        "result.csv", f"application,serial,error\n{application.number},VN00000001,\n".encode()
    )
    response = client.post(base, {"result": good}, follow=True)
    assert response.redirect_chain == [(base, 302)]
    assert messages_of(response) == [f"Đã nhận kết quả sản xuất của lô {batch.number}"]
    assert Card.objects.get().serial == "VN00000001"
    batch.refresh_from_db()
    assert batch.status == ProductionBatch.Status.IMPORTED


def test_another_provinces_batch_is_not_found(
    application: Application, personas: Personas, sign_in: SignIn
) -> None:
    services.application_approve(actor=Actor(personas.cuong), application=application)
    batch = services.batch_create(actor=Actor(personas.cuong))
    dung = sign_in(Client(), personas.dung)
    assert dung.get(f"/cards/batches/{batch.pk}/").status_code == 404
    assert dung.get(f"/cards/batches/{batch.pk}/export.jsonl").status_code == 404
    upload = SimpleUploadedFile(
        "r.csv", f"application,serial,error\n{application.number},VN00000001,\n".encode()
    )
    assert dung.post(f"/cards/batches/{batch.pk}/", {"result": upload}).status_code == 404
    assert not Card.objects.exists()


def test_lan_hands_the_card_over_and_cuong_holds_it_on_the_card_page(  # noqa: PLR0917 (fixtures)
    personas: Personas,
    people: People,
    station: IntakePoint,
    device: IntakeDevice,
    client: Client,
    sign_in: SignIn,
) -> None:
    card = produce(personas, take(personas.lan, people.hung, station, device))
    application = card.application
    sign_in(client, personas.lan)
    response = client.post(f"/cards/applications/{application.pk}/deliver/", {"received_by": ""}, follow=True)
    assert [m.rsplit("[", 1)[1] for m in messages_of(response)] == ["received_by: received_by.required]"]
    response = client.post(
        f"/cards/applications/{application.pk}/deliver/", {"received_by": "Nguyễn Văn Hùng"}, follow=True
    )
    assert messages_of(response) == [f"Đã trả thẻ của hồ sơ {application.number}"]
    card.refresh_from_db()
    assert card.state == Card.State.ACTIVE

    url = f"/cards/cards/{card.pk}/"
    cuong = sign_in(Client(), personas.cuong)
    response = cuong.post(url, {"state": "held", "grounds": "made-up"}, follow=True)
    assert messages_of(response) == [
        "Tạm giữ thẻ cần căn cứ pháp lý trong danh mục [grounds: card.hold_grounds]"
    ]
    response = cuong.post(url, {"state": "held", "grounds": "detained", "note": "QĐ 12"}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert messages_of(response) == ["Đã cập nhật trạng thái thẻ"]
    card.refresh_from_db()
    assert (card.state, card.state_reason) == (
        Card.State.HELD,
        "Bị tạm giữ, tạm giam, chấp hành án phạt tù; QĐ 12",
    )
    # Hồ Chí Minh City's supervisor neither sees nor changes it.
    dung = sign_in(Client(), personas.dung)
    assert dung.post(url, {"state": "active"}).status_code == 404
    card.refresh_from_db()
    assert card.state == Card.State.HELD


def test_the_card_images_are_the_front_and_the_back_only(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    sign_in(client, personas.lan)
    for side in ("front", "back"):
        image = client.get(f"/cards/cards/{delivered.pk}/{side}.png")
        assert (image.status_code, image["Content-Type"]) == (200, "image/png")
        assert image.content.startswith(b"\x89PNG")
    assert client.get(f"/cards/cards/{delivered.pk}/side.png").status_code == 404


def test_a_report_date_that_is_not_one_shows_this_week(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    sign_in(client, personas.cuong)
    typed = client.get("/cards/report/?start=31/02/2026&end=hôm-nay")
    this_week = client.get("/cards/report/")
    assert typed.status_code == 200
    assert typed.context["start"] == this_week.context["start"]
    assert typed.context["end"] == this_week.context["end"]


@pytest.mark.parametrize(
    "form",
    [
        # A commune code that names no 2025 commune, a point number that is not a number, and one that
        # names no point of the area.
        {"action": "point", "code": "X", "name": "X", "kind": "station", "commune": "99999", "shifts": ["1"]},
        {"action": "device", "point": "abc", "serial": "S-1"},
        {"action": "device", "point": "999999", "serial": "S-1"},
    ],
)
def test_the_points_page_answers_not_found_for_what_is_not_there(
    personas: Personas, client: Client, sign_in: SignIn, form: dict[str, object]
) -> None:
    sign_in(client, personas.cuong)
    response = client.post("/cards/points/", form, follow=True)
    assert messages_of(response) == ["Không tìm thấy (ngoài địa bàn hoặc không tồn tại)"]
    assert not IntakePoint.objects.exists()
    assert not IntakeDevice.objects.exists()
