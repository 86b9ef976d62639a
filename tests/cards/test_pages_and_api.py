"""The card pages and endpoints in use: Lan takes Hùng's application on the intake page and through the
API, Cường approves it and batches it, anyone checks a card on the verification page, and the report
counts the milestones per point, shift and officer."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.services import Actor
from dancu.cards.models import Application, Card, IntakeDevice, IntakePoint
from dancu.cards.printing import mrz_lines, qr_payload
from dancu.registry.models import Citizen
from tests.cards.conftest import capture, take
from tests.conftest import People, Personas

SignIn = Callable[[Client, User], Client]


def api_client(user: User) -> Client:
    _token, secret = api_token_create(user=user, name="thử")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_lan_takes_an_application_on_the_intake_page(  # noqa: PLR0917 (fixtures)
    personas: Personas,
    people: People,
    station: IntakePoint,
    device: IntakeDevice,
    client: Client,
    sign_in: SignIn,
) -> None:
    sign_in(client, personas.lan)
    page = client.get(f"/cards/new/?pin={people.hung.pin}")
    assert page.status_code == 200
    assert "Nguyễn Văn Hùng" in page.content.decode()
    form = {
        "pin": people.hung.pin,
        "kind": "first_issue",
        "point": station.pk,
        "shift": "2",
        "device": device.pk,
        "delivery": "station",
    }
    files = {f"image_{kind}": SimpleUploadedFile(f"{kind}.png", data) for kind, data in capture().items()}
    # A photo that is not one: refused, named, nothing written.
    bad = files | {"image_face": SimpleUploadedFile("face.png", b"not an image")}
    response = client.post("/cards/new/", form | bad, follow=True)
    assert "image.not_image" in response.content.decode()
    assert not Application.objects.exists()
    files = {f"image_{kind}": SimpleUploadedFile(f"{kind}.png", data) for kind, data in capture().items()}
    response = client.post("/cards/new/", form | files)
    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cards/applications/{application.pk}/"
    assert application.shift == "2"
    assert application.biometrics.count() == 12
    assert client.get(f"/cards/applications/{application.pk}/receipt.pdf").content.startswith(b"%PDF")


def test_the_api_takes_and_refuses_applications(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    api = api_client(personas.lan)
    body = {
        "citizen_pin": people.hung.pin,
        "kind": "first_issue",
        "intake_point_id": station.pk,
        "shift": "1",
        "device_id": device.pk,
        "images": {kind: base64.b64encode(data).decode() for kind, data in capture().items()},
    }
    bad = api.post(
        "/api/v1/cards/applications",
        json.dumps(body | {"images": {"face": "%%%"}}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["code"] == "image.base64"
    elsewhere = api.post(
        "/api/v1/cards/applications",
        json.dumps(body | {"citizen_pin": people.mai.pin}),
        content_type="application/json",
    )
    assert elsewhere.status_code == 404
    # A 404 names the id that was not found, the same whether it is missing or outside Lan's area.
    assert [(e["field"], e["code"]) for e in elsewhere.json()["errors"]] == [("citizen_pin", "not_found")]
    for change, field in [
        ({"intake_point_id": 999_999}, "intake_point_id"),
        ({"device_id": 999_999}, "device_id"),
        ({"correction_form_id": 999_999}, "correction_form_id"),
    ]:
        missing = api.post(
            "/api/v1/cards/applications", json.dumps(body | change), content_type="application/json"
        )
        assert missing.status_code == 404
        assert [(e["field"], e["code"]) for e in missing.json()["errors"]] == [(field, "not_found")]
    created = api.post("/api/v1/cards/applications", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["days_left"] >= 0
    again = api.post("/api/v1/cards/applications", json.dumps(body), content_type="application/json")
    assert again.status_code == 422
    assert "application.pending" in {e["code"] for e in again.json()["errors"]}
    Citizen.objects.filter(pk=people.hung.pk).update(date_of_death="2026-01-01")
    Application.objects.all().update(status="rejected")
    dead = api.post("/api/v1/cards/applications", json.dumps(body), content_type="application/json")
    assert dead.status_code == 422
    assert dead.json()["errors"][0]["code"] == "citizen.deceased"
    assert dead.json()["errors"][0]["message_en"]


def test_cuong_approves_and_batches_through_the_api(personas: Personas, delivered: Card) -> None:
    api = api_client(personas.cuong)
    batches = api.get("/api/v1/cards/batches").json()
    assert [b["size"] for b in batches] == [1]
    assert api.post("/api/v1/cards/batches").status_code == 422  # nothing approved is waiting
    result = api.post(
        f"/api/v1/cards/batches/{batches[0]['id']}/result",
        json.dumps({"csv": "application,serial,error\nHS0000000999,ABC123,\n"}),
        content_type="application/json",
    )
    assert result.status_code == 422
    assert result.json()["errors"][0]["code"] == "result.unknown_application"


def test_verification_page_and_endpoint(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    sign_in(client, personas.binh)  # anyone may check a card they hold in their hand
    response = client.post("/cards/verify/", {"text": delivered.chip_document})
    assert 'data-valid="1"' in response.content.decode()
    lines = mrz_lines(delivered.printed, delivered.expires_on)
    broken = "\n".join(
        [lines[0][:-1] + "9" if lines[0][-1] != "9" else lines[0][:-1] + "8", lines[1], lines[2]]
    )
    response = client.post("/cards/verify/", {"text": broken})
    assert 'data-valid="0"' in response.content.decode()
    api = api_client(personas.binh)
    answer = api.post(
        "/api/v1/cards/verify", json.dumps({"text": "\n".join(lines)}), content_type="application/json"
    )
    assert answer.json()["valid"] is True
    assert answer.json()["kind"] == "mrz"


def test_the_report_counts_milestones_per_point_shift_and_officer(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    api = api_client(personas.cuong)
    rows = api.get("/api/v1/cards/report").json()
    taken = [r for r in rows if r["taken"]]
    assert [(r["officer"], r["shift"], r["intake_point"]) for r in taken] == [
        ("lan", "1", delivered.application.point.name)
    ]
    assert sum(r["approved"] for r in rows) == 1
    assert sum(r["produced"] for r in rows) == 1
    assert sum(r["delivered"] for r in rows) == 1
    # Hồ Chí Minh's supervisor counts nothing of Hà Nội.
    assert api_client(personas.dung).get("/api/v1/cards/report").json() == []
    sign_in(client, personas.cuong)
    page = client.get("/cards/report/")
    assert page.status_code == 200
    assert 'id="total-taken">1<' in page.content.decode()


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("end=0001-01-03", "end", "date.year_range"),  # the week before it starts before year 1
        ("start=9999-12-25&end=9999-12-31", "start", "date.year_range"),  # the day after it is past 9999
        ("start=2026-03-10&end=2026-03-01", "start", "report.range"),
        ("start=2026-01-01&end=2026-12-31", "start", "report.range"),
    ],
)
def test_a_report_range_out_of_the_calendar_is_refused_by_name(  # noqa: PLR0917 (fixtures)
    personas: Personas, client: Client, sign_in: SignIn, query: str, field: str, code: str
) -> None:
    # Found by the API fuzz: the first two were a 500 (OverflowError) on the API and on the page.
    response = api_client(personas.cuong).get(f"/api/v1/cards/report?{query}")

    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]
    assert all(e["message_vi"] and e["message_en"] for e in response.json()["errors"])
    sign_in(client, personas.cuong)
    page = client.get(f"/cards/report/?{query}")
    assert page.status_code == 200
    # The page shows the week it falls back to, and says why on top of it.
    assert f"[{code}]" in page.content.decode()


def test_cuong_opens_a_mobile_team_and_registers_its_device(
    personas: Personas, client: Client, sign_in: SignIn
) -> None:
    sign_in(client, personas.cuong)
    form = {
        "action": "point",
        "code": "HK-LD-1",
        "name": "Tổ lưu động Hoàn Kiếm",
        "kind": "mobile",
        "commune": "00070",
        "shifts": ["1", "3"],
    }
    response = client.post("/cards/points/", form | {"team": ""}, follow=True)
    assert "point.team_required" in response.content.decode()
    response = client.post("/cards/points/", form | {"team": "Tổ 3 - KCN"}, follow=True)
    assert "Đã lưu" in response.content.decode(), response.content.decode()[-3000:]
    point = IntakePoint.objects.get()
    assert (point.kind, point.team, point.shifts) == ("mobile", "Tổ 3 - KCN", "13")
    client.post(
        "/cards/points/", {"action": "device", "point": point.pk, "serial": "IRIS-1", "has_iris": "on"}
    )
    assert point.devices.get().has_iris
    # Sài Gòn is not Cường's: the same answer as a commune that does not exist.
    response = client.post(
        "/cards/points/", form | {"code": "SG", "commune": "26740", "kind": "station"}, follow=True
    )
    assert IntakePoint.objects.count() == 1
    assert "Không tìm thấy" in response.content.decode()


def test_the_check_sheet_shows_why_a_record_needs_a_dc02_first(
    personas: Personas, people: People, station: IntakePoint, client: Client, sign_in: SignIn
) -> None:
    Citizen.objects.filter(pk=people.hung.pk).update(sex="F")  # the PIN says male
    sign_in(client, personas.lan)
    page = client.get(f"/cards/new/?pin={people.hung.pin}").content.decode()
    assert 'id="record-problems"' in page
    assert "[pin.sex_mismatch]" in page
    # Another commune's citizen is not found, and nothing of him is shown.
    page = client.get(f"/cards/new/?pin={people.mai.pin}").content.decode()
    assert "Lê Thị Mai" not in page


def test_the_home_page_counts_the_applications_in_progress_and_those_overdue(
    personas: Personas,
    people: People,
    station: IntakePoint,
    device: IntakeDevice,
    sign_in: Callable[..., Client],
) -> None:
    # Taken on 10/03/2026: its working days ran out long before today.
    take(personas.lan, people.hung, station, device)

    lan = sign_in(Client(), personas.lan).get("/").content.decode()
    binh = sign_in(Client(), personas.binh).get("/").content.decode()

    assert re.search(r'data-work="applications"><a [^>]*>[^<]*: <strong>1</strong>', lan)
    assert 'data-work="overdue">1 quá hạn<' in lan
    assert re.search(r'data-work="applications"><a [^>]*>[^<]*: <strong>0</strong>', binh)
    assert 'data-work="overdue"' not in binh


def test_the_card_page_shows_the_mrz_lines(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    sign_in(client, personas.lan)
    page = client.get(f"/cards/cards/{delivered.pk}/").content.decode()
    shown = re.search(r'<pre class="mrz" id="mrz">(.*?)</pre>', page, re.DOTALL)
    assert shown is not None
    # The template escapes the fillers ("<") of each line, one line of 30 characters under another.
    lines = mrz_lines(delivered.printed, delivered.expires_on)
    assert shown.group(1).replace("&lt;", "<").split("\n") == lines


def test_the_result_api_reads_a_csv_that_starts_with_a_byte_order_mark(
    application: Application, personas: Personas
) -> None:
    api = api_client(personas.cuong)
    assert api.post(f"/api/v1/cards/applications/{application.pk}/approve").status_code == 200
    batch = api.post("/api/v1/cards/batches").json()
    result = api.post(
        f"/api/v1/cards/batches/{batch['id']}/result",
        json.dumps({"csv": f"\ufeffapplication,serial,error\n{application.number},VN00000001,\n"}),
        content_type="application/json",
    )
    assert result.status_code == 200, result.content
    assert Card.objects.get(application=application).serial == "VN00000001"


def test_online_verification_asks_the_registry_and_the_offline_command_does_not(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn, tmp_path: Path
) -> None:
    from dancu.cards import services

    services.card_change_state(
        actor=Actor(personas.cuong), card=delivered, state="revoked", grounds="nationality_lost"
    )
    lines = mrz_lines(delivered.printed, delivered.expires_on)
    api = api_client(personas.binh)
    for text in (
        delivered.chip_document,
        "\n".join(lines),
        qr_payload(delivered.printed, delivered.issued_on),
    ):
        answer = api.post("/api/v1/cards/verify", json.dumps({"text": text}), content_type="application/json")
        assert answer.json()["valid"] is False
        assert [e["code"] for e in answer.json()["errors"]] == ["card.not_in_use"]
        assert "quốc tịch" in answer.json()["errors"][0]["message_vi"]
    sign_in(client, personas.binh)
    page = client.post("/cards/verify/", {"text": delivered.chip_document}).content.decode()
    assert 'data-valid="0"' in page
    assert "card.not_in_use" in page
    # The offline command checks what the card carries: the signature is still good.
    chip_file = tmp_path / "chip.json"
    chip_file.write_text(delivered.chip_document, encoding="utf-8")
    call_command("card", "verify", str(chip_file), stdout=io.StringIO())
    # A card in use whose holder is recorded dead (a record from before deaths revoked cards).
    Card.objects.filter(pk=delivered.pk).update(state=Card.State.ACTIVE)
    Citizen.objects.filter(pk=delivered.citizen_id).update(date_of_death="2026-03-20")
    answer = api.post(
        "/api/v1/cards/verify", json.dumps({"text": delivered.chip_document}), content_type="application/json"
    )
    assert [e["code"] for e in answer.json()["errors"]] == ["citizen.deceased"]


def test_a_qr_or_mrz_forged_from_a_real_pin_and_date_is_not_valid(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    """A QR is not signed: one written with the PIN and the issue date of a real card but another name,
    birth date, CMND or address is refused, naming the field that differs and never the card's value."""
    from dancu.cards import mrz, qr
    from dancu.lib.partial_date import PartialDate

    printed = delivered.printed
    real = qr.parse(qr_payload(printed, delivered.issued_on), today=delivered.issued_on)[0]
    assert real is not None
    birth = PartialDate.from_storage(printed["birth_date"])
    other_day = PartialDate(birth.year, 1 if birth.month != 1 else 2, 1)
    forgeries = {
        "full_name": qr.compose(replace(real, full_name="Ai Đó")),
        "birth_date": qr.compose(replace(real, birth_date=other_day)),
        "cmnd": qr.compose(replace(real, cmnd="987654321" if real.cmnd != "987654321" else "123456789")),
        "address": qr.compose(replace(real, address="Số 1 phố Giả, Phường Hoàn Kiếm, Hà Nội")),
    }
    api = api_client(personas.binh)
    for field_name, text in forgeries.items():
        answer = api.post("/api/v1/cards/verify", json.dumps({"text": text}), content_type="application/json")
        body = answer.json()
        assert body["valid"] is False, field_name
        assert [(e["field"], e["code"]) for e in body["errors"]] == [(field_name, "card.data_mismatch")]
        assert printed["full_name"] not in json.dumps(body["errors"], ensure_ascii=False)
    # Spacing and case are not data: the real card read by an app that changes them is still valid.
    loose = qr.compose(replace(real, full_name=real.full_name.upper()))
    answer = api.post("/api/v1/cards/verify", json.dumps({"text": loose}), content_type="application/json")
    assert answer.json()["valid"] is True, answer.json()
    # The MRZ's check digits are no signature either.
    forged_mrz = mrz.compose(
        mrz.MrzData(
            pin=printed["pin"],
            full_name="Ai Đó",
            sex=printed["sex"],
            birth=mrz_lines(printed, delivered.expires_on)[1][:6],
            expiry=mrz.date_field(delivered.expires_on),
        )
    )
    answer = api.post(
        "/api/v1/cards/verify", json.dumps({"text": "\n".join(forged_mrz)}), content_type="application/json"
    )
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [("full_name", "card.data_mismatch")]
    sign_in(client, personas.binh)
    page = client.post("/cards/verify/", {"text": forgeries["full_name"]}).content.decode()
    assert 'data-valid="0"' in page
    assert "card.data_mismatch" in page
    assert printed["full_name"] not in page


def test_cuong_rejects_and_lan_resumes_through_the_api(
    application: Application, personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    rejected = api_client(personas.cuong).post(
        f"/api/v1/cards/applications/{application.pk}/reject",
        json.dumps({"reason": "Ảnh chân dung bị mờ"}),
        content_type="application/json",
    )
    assert rejected.status_code == 200, rejected.content
    assert rejected.json()["status"] == "rejected"
    # An application that waits for nothing is not resumed: the refusal names its status.
    again = take(personas.lan, people.hung, station, device)
    refused = api_client(personas.lan).post(f"/api/v1/cards/applications/{again.pk}/resume")
    assert refused.status_code == 422
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [("status", "application.status")]


def test_the_api_resumes_an_application_whose_dc02_is_applied(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    from tests.collection.forms_support import advance, dc02, make_reviewers

    reviewers = make_reviewers(personas)
    Citizen.objects.filter(pk=people.hung.pk).update(birth_date="1991-05-17")  # his PIN says 1990
    form = dc02(personas.lan, people.hung, {"birth_date": "17/05/1990"})
    application = take(personas.lan, people.hung, station, device, correction_form=form)
    advance(
        form, "applied", reviewer=reviewers.hang, supervisor=personas.cuong, acknowledged=("change.identity",)
    )
    resumed = api_client(personas.lan).post(f"/api/v1/cards/applications/{application.pk}/resume")
    assert resumed.status_code == 200, resumed.content
    assert resumed.json()["status"] == "taken"


def test_the_api_exports_a_batch_changes_a_card_and_tells_its_history(
    personas: Personas, delivered: Card
) -> None:
    batch = delivered.application.batch
    assert batch is not None
    export = api_client(personas.cuong).get(f"/api/v1/cards/batches/{batch.pk}/export")
    assert export.status_code == 200
    assert export["Content-Type"] == "application/x-ndjson"
    assert json.loads(export.content.decode().splitlines()[0])["application"] == delivered.application.number

    api = api_client(personas.lan)
    lost = api.post(
        f"/api/v1/cards/cards/{delivered.pk}/state",
        json.dumps({"state": "lost", "note": "Mất khi đi chợ"}),
        content_type="application/json",
    )
    assert lost.status_code == 200, lost.content
    assert (lost.json()["serial"], lost.json()["state"]) == (delivered.serial, "lost")
    delivered.refresh_from_db()
    assert (delivered.state, delivered.state_reason) == (Card.State.LOST, "Mất khi đi chợ")

    history = api.get(f"/api/v1/cards/citizens/{delivered.number}/history")
    assert history.status_code == 200
    body = history.json()
    assert body["citizen_pin"] == delivered.number
    assert [(c["serial"], c["state"]) for c in body["cards"]] == [(delivered.serial, "lost")]
    # The registry recorded the card when it was handed over.
    assert ("can_cuoc", delivered.number) in {(r["kind"], r["number"]) for r in body["records"]}
