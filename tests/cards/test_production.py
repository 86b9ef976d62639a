"""From approval to the citizen's pocket: Cường (Hà Nội police) approves, batches and imports the
production result; Lan hands the card over; the card's QR, MRZ and chip verify; the old card ends."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.cards import chip, services
from dancu.cards.models import Application, Card, IntakeDevice, IntakePoint, IssuerKey, ProductionBatch
from dancu.cards.printing import mrz_lines, qr_payload
from dancu.cards.verify import verify_text
from dancu.lib.errors import DomainError, NotFoundError
from dancu.registry.models import IdentityCardRecord
from tests.cards.conftest import centre_answers, produce, take
from tests.conftest import People, Personas


def test_the_whole_path_of_a_card(
    application: Application, personas: Personas, people: People, station: IntakePoint
) -> None:
    with pytest.raises(DomainError):
        services.application_approve(actor=Actor(personas.lan), application=application)
    services.application_approve(actor=Actor(personas.cuong), application=application)
    batch = services.batch_create(actor=Actor(personas.cuong))
    assert batch.size == 1
    export = services.batch_export_file(batch).decode()
    line = json.loads(export.splitlines()[0])
    assert line["application"] == application.number
    assert line["printed"]["full_name"] == "Nguyễn Văn Hùng"
    assert line["face_png"]
    # The manifest is signed and names the export's digest.
    manifest, problems = chip.verify(
        json.dumps(batch.manifest), public_keys=services.public_key_set(), required=("export_sha256",)
    )
    assert problems == []
    assert manifest is not None
    assert manifest.payload["export_sha256"] == hashlib.sha256(export.encode()).hexdigest()
    assert manifest.payload["applications"] == [application.number]

    centre_answers(personas, batch, application)
    card = Card.objects.get(application=application)
    assert card.state == Card.State.PRODUCED
    batch.refresh_from_db()
    assert batch.status == ProductionBatch.Status.IMPORTED

    services.application_deliver(
        actor=Actor(personas.lan), application=application, received_by="Nguyễn Văn Hùng"
    )
    card.refresh_from_db()
    assert card.state == Card.State.ACTIVE
    record = IdentityCardRecord.objects.get(citizen=people.hung, kind="can_cuoc")
    assert record.number == people.hung.pin
    assert record.expires_on == date(2030, 5, 17)  # Hùng turns 40 on 17-5-2030
    milestones = list(
        AuditEvent.objects.filter(event_type__startswith="cards.")
        .exclude(
            event_type__in=[
                "cards.intake_point.created",
                "cards.intake_device.registered",
                "cards.issuer_key.created",
            ]
        )
        .values_list("event_type", flat=True)
        .order_by("pk")
    )
    assert milestones == [
        EventType.CARD_APPLICATION_TAKEN,
        EventType.CARD_APPLICATION_APPROVED,
        EventType.CARD_BATCH_EXPORTED,
        EventType.CARD_PRODUCED,
        EventType.CARD_BATCH_IMPORTED,
        EventType.CARD_DELIVERED,
    ]
    for event in AuditEvent.objects.filter(
        event_type__in=[EventType.CARD_PRODUCED, EventType.CARD_DELIVERED]
    ):
        assert event.unit == station.commune
        assert event.data["shift"] == "1"
        assert event.data["intake_point_id"] == station.pk

    # Everything the card carries verifies.
    keys = services.public_key_set()
    today = timezone.localdate()
    assert verify_text(card.chip_document, public_keys=keys, today=today).valid
    assert verify_text(qr_payload(card.printed, card.issued_on), public_keys=keys, today=today).valid
    assert verify_text(
        "\n".join(mrz_lines(card.printed, card.expires_on)), public_keys=keys, today=today
    ).valid


def test_a_result_naming_an_unknown_card_changes_nothing(
    application: Application, personas: Personas
) -> None:
    services.application_approve(actor=Actor(personas.cuong), application=application)
    batch = services.batch_create(actor=Actor(personas.cuong))
    text = f"application,serial,error\n{application.number},VN00000001,\nHS9999999999,VN00000002,\n"
    with pytest.raises(DomainError) as exc:
        services.batch_import_result(actor=Actor(personas.cuong), batch=batch, text=text)
    assert [(e.field, e.code) for e in exc.value.errors] == [("line 3", "result.unknown_application")]
    assert not Card.objects.exists()
    application.refresh_from_db()
    assert application.status == Application.Status.IN_PRODUCTION
    for bad, code in [
        ("serial,application\n", "result.columns"),
        (f"application,serial,error\n{application.number},,\n", "result.serial_or_error"),
        (f"application,serial,error\n{application.number},vn-1,\n", "result.serial"),
        # A field past the csv module's limit: refused by name, not a server error.
        (f"application,serial,error\n{application.number},,{'x' * 200_000}\n", "result.unreadable"),
    ]:
        with pytest.raises(DomainError) as exc:
            services.batch_import_result(actor=Actor(personas.cuong), batch=batch, text=bad)
        assert exc.value.errors[0].code == code


def test_a_rejected_card_closes_the_application(
    application: Application, personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    services.application_approve(actor=Actor(personas.cuong), application=application)
    batch = services.batch_create(actor=Actor(personas.cuong))
    services.batch_import_result(
        actor=Actor(personas.cuong),
        batch=batch,
        text=f"application,serial,error\n{application.number},,Ảnh mờ\n",
    )
    application.refresh_from_db()
    assert application.status == Application.Status.PRODUCTION_FAILED
    assert application.production_error == "Ảnh mờ"
    # The citizen may apply again.
    take(personas.lan, people.hung, station, device, shift="2")


def test_a_new_card_replaces_the_old_one_and_one_active_card_is_a_database_rule(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    first = produce(personas, take(personas.lan, people.hung, station, device))
    services.application_deliver(actor=Actor(personas.lan), application=first.application, received_by="Hùng")
    services.card_change_state(actor=Actor(personas.lan), card=first, state="lost", note="Công dân báo mất")
    second_application = take(
        personas.lan, people.hung, station, device, kind="lost_or_damaged", reason="Mất ví"
    )
    assert second_application.fee_amount == 70_000
    second = produce(personas, second_application, serial="VN00000002")
    services.application_deliver(
        actor=Actor(personas.lan), application=second_application, received_by="Hùng"
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (Card.State.LOST, Card.State.ACTIVE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Card.objects.filter(pk=first.pk).update(state=Card.State.ACTIVE)


def test_revocation_needs_legal_grounds_and_officers_of_the_area(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    card = produce(personas, take(personas.lan, people.hung, station, device))
    services.application_deliver(actor=Actor(personas.lan), application=card.application, received_by="Hùng")
    with pytest.raises(DomainError) as exc:
        services.card_change_state(actor=Actor(personas.cuong), card=card, state="revoked", grounds="whim")
    assert exc.value.errors[0].code == "card.revocation_grounds"
    with pytest.raises(NotFoundError):
        services.card_change_state(
            actor=Actor(personas.dung), card=card, state="revoked", grounds="nationality_lost"
        )
    services.card_change_state(
        actor=Actor(personas.cuong), card=card, state="revoked", grounds="nationality_lost"
    )
    card.refresh_from_db()
    assert card.state == Card.State.REVOKED
    assert "quốc tịch" in card.state_reason


def test_key_rotation_keeps_old_cards_verifying(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    card = produce(personas, take(personas.lan, people.hung, station, device))
    services.issuer_key_create(actor=Actor(personas.minh))
    assert IssuerKey.objects.filter(retired_at__isnull=True).count() == 1
    assert IssuerKey.objects.count() == 2
    assert verify_text(
        card.chip_document, public_keys=services.public_key_set(), today=timezone.localdate()
    ).valid


def test_card_verify_command(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice, tmp_path: object
) -> None:
    from pathlib import Path

    card = produce(personas, take(personas.lan, people.hung, station, device))
    folder = Path(str(tmp_path))
    good = folder / "chip.json"
    good.write_text(card.chip_document, encoding="utf-8")
    out = io.StringIO()
    call_command("card", "verify", str(good), stdout=out)
    assert out.getvalue().startswith("OK chip")
    tampered = folder / "tampered.json"
    tampered.write_text(card.chip_document.replace("Nguyễn Văn Hùng", "Nguyễn Văn Hưng"), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("card", "verify", str(tampered), stdout=io.StringIO(), stderr=err)
    assert exit_info.value.code == 1
    assert "chip.signature" in err.getvalue()
    # Offline: with an exported key set and no key in it for this card.
    keys = folder / "keys.json"
    keys.write_text(json.dumps({"other": "AAAA"}), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("card", "verify", str(good), "--keys", str(keys), stdout=io.StringIO(), stderr=err)
    assert "chip.unknown_key" in err.getvalue()
    mrz_file = folder / "mrz.txt"
    lines = mrz_lines(card.printed, card.expires_on)
    lines[1] = lines[1][:6] + str((int(lines[1][6]) + 1) % 10) + lines[1][7:]
    mrz_file.write_text("\n".join(lines), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("card", "verify", str(mrz_file), stdout=io.StringIO(), stderr=err)
    assert "birth_date: mrz.check_digit" in err.getvalue()


def test_cards_past_expiry_expire_and_card_images_render(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    from dancu.cards import render

    card = produce(personas, take(personas.lan, people.hung, station, device))
    services.application_deliver(actor=Actor(personas.lan), application=card.application, received_by="Hùng")
    front, back = render.card_front_png(card), render.card_back_png(card)
    assert front.startswith(b"\x89PNG")
    assert back.startswith(b"\x89PNG")
    assert render.receipt_pdf(card.application).startswith(b"%PDF")
    out = io.StringIO()
    call_command("card", "expire", stdout=out)
    assert out.getvalue().startswith("0 ")
    Card.objects.filter(pk=card.pk).update(expires_on=date(2026, 1, 1), issued_on=date(2020, 1, 1))
    call_command("card", "expire", stdout=out)
    card.refresh_from_db()
    assert card.state == Card.State.EXPIRED
    assert AuditEvent.objects.filter(
        event_type=EventType.CARD_STATE_CHANGED, subject_id=str(card.pk)
    ).exists()


def test_a_held_card_is_released_and_bad_input_to_verify_is_named(
    personas: Personas, delivered: Card, tmp_path: object
) -> None:
    from pathlib import Path

    services.card_change_state(actor=Actor(personas.cuong), card=delivered, state="held", grounds="detained")
    with pytest.raises(DomainError) as exc:
        services.card_change_state(
            actor=Actor(personas.cuong), card=delivered, state="held", grounds="detained"
        )
    assert exc.value.errors[0].code == "card.transition"
    services.card_change_state(
        actor=Actor(personas.cuong), card=delivered, state="active", note="Hết tạm giữ"
    )
    delivered.refresh_from_db()
    assert delivered.state == Card.State.ACTIVE
    binary = Path(str(tmp_path)) / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0garbage")
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("card", "verify", str(binary))
    hostile = Path(str(tmp_path)) / "qr.txt"
    hostile.write_text("001090012345||Nguyễn\x00Văn Hùng|17051990|Nam|Hà Nội|20032026", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("card", "verify", str(hostile), stdout=io.StringIO(), stderr=err)
    assert "full_name: name.control_chars" in err.getvalue()


def test_the_campaign_tallies_count_the_card_milestones_by_point_team_and_shift(
    personas: Personas, delivered: Card
) -> None:
    from dancu.campaigns.models import Metric
    from dancu.campaigns.tally import count_from_scratch

    point = delivered.application.point
    for code in ("cards_taken", "cards_delivered"):
        counts = count_from_scratch(Metric.objects.get(code=code))
        assert counts.events == 1
        [(key, count)] = counts.detail.items()
        assert count == 1
        # (metric, commune, day, officer, point, team, shift)
        assert key[1] == point.commune_id
        assert key[3:] == (personas.lan.pk, point.name, "", "1")


def test_a_batch_is_numbered_with_the_day_in_viet_nam(
    personas: Personas,
    people: People,
    station: IntakePoint,
    device: IntakeDevice,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    application = take(personas.lan, people.hung, station, device)
    services.application_approve(actor=Actor(personas.cuong), application=application)
    # 22:00 UTC on 3 December is 05:00 on 4 December in Hà Nội, where the batch is made.
    evening_utc = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: evening_utc)
    batch = services.batch_create(actor=Actor(personas.cuong))
    assert batch.number == "LO-01-20261204-0001"


def test_the_whole_mrz_fits_on_the_back_of_the_card(personas: Personas, delivered: Card) -> None:
    from PIL import Image, ImageOps

    from dancu.cards import render

    back = Image.open(io.BytesIO(render.card_back_png(delivered))).convert("L")
    width, height = back.size
    # The MRZ is printed on the white band at the bottom; where its ink starts and ends.
    band = ImageOps.invert(back.crop((0, height - 170, width, height)))
    left, _top, right, _bottom = band.point(lambda v: 255 if v > 64 else 0).getbbox() or (0, 0, 0, 0)
    # Thirty characters a line, from margin to margin: the last check digit is inside the card, not cut.
    assert 30 < left < 80
    assert width - 80 < right < width - 30
