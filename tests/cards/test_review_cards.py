"""What Lan, at the Hoàn Kiếm station, met taking card applications through the pages: the receipt's
time, the fee as Vietnamese write it, a check sheet that says before the captures why no application can
be taken, a PIN merged into another record, and the verdict of the card check in words she reads."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from datetime import date

import pytest
from django.conf import settings
from django.test import Client

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.cards import render, services
from dancu.cards.models import Application, Card, IntakeDevice, IntakePoint
from dancu.cards.printing import qr_payload
from dancu.registry import services as registry
from dancu.registry.models import Citizen
from tests.cards.conftest import take
from tests.conftest import People, Personas, make_citizen
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def _pdf_text(pdf: bytes) -> str:
    """The text the PDF shows, decoded through each font's ToUnicode map: fpdf2 writes glyph ids of font
    subsets, one per font, so a glyph id means a character only with the font it is shown in."""
    objects = {int(n): body for n, body in re.findall(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S)}

    def stream(number: int) -> bytes:
        match = re.search(rb"stream\r?\n(.*?)endstream", objects[number], re.S)
        assert match is not None
        try:
            return zlib.decompress(match.group(1))
        except zlib.error:  # a stream written without compression
            return match.group(1)

    fonts: dict[bytes, dict[int, str]] = {}
    for body in objects.values():
        for name, ref in re.findall(rb"/(F\d+)\s+(\d+) 0 R", body):
            to_unicode = re.search(rb"/ToUnicode\s+(\d+) 0 R", objects[int(ref)])
            if to_unicode:
                fonts[name] = {
                    int(glyph, 16): bytes.fromhex(text.decode()).decode("utf-16-be")
                    for block in re.findall(
                        rb"beginbfchar(.*?)endbfchar", stream(int(to_unicode.group(1))), re.S
                    )
                    for glyph, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block)
                }
    shown: list[str] = []
    for body in objects.values():
        for ref in re.findall(rb"/Contents\s+(\d+) 0 R", body):
            font: dict[int, str] = {}
            for token in re.finditer(rb"/(F\d+)\s+[\d.]+\s+Tf|\(((?:\\.|[^\\)])*)\)\s*Tj", stream(int(ref))):
                if token.group(1):
                    font = fonts.get(token.group(1), {})
                    continue
                data = re.sub(rb"\\(.)", lambda m: m.group(1), token.group(2))
                shown.append(
                    "".join(
                        font.get(int.from_bytes(data[i : i + 2], "big"), "?") for i in range(0, len(data), 2)
                    )
                )
    return "\n".join(shown)


def test_the_receipt_gives_the_time_of_intake_on_vietnams_clock(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    # Taken at 9:30 in Hà Nội (2:30 UTC): the slip the citizen takes home said 02:30.
    application = take(personas.lan, people.hung, station, device)
    text = _pdf_text(render.receipt_pdf(application))
    assert "10/03/2026 09:30" in text
    assert "02:30" not in text


def test_the_application_page_writes_the_fee_with_the_thousands_grouped(  # noqa: PLR0917 (fixtures)
    personas: Personas,
    people: People,
    station: IntakePoint,
    device: IntakeDevice,
    delivered: Card,
    client: Client,
    sign_in: SignIn,
) -> None:
    services.card_change_state(actor=Actor(personas.lan), card=delivered, state="lost", note="Mất ví")
    application = take(personas.lan, people.hung, station, device, kind="lost_or_damaged", reason="Mất thẻ")
    assert application.fee_amount == 70000
    sign_in(client, personas.lan)
    page = client.get(f"/cards/applications/{application.pk}/").content.decode()
    assert "70.000 đồng" in page
    assert "70000" not in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(f"/cards/applications/{application.pk}/").content.decode()
    assert "VND 70,000" in english


@pytest.mark.parametrize("state", ["deceased", "missing", "pending"])
def test_the_check_sheet_says_why_no_application_can_be_taken_before_the_captures(  # noqa: PLR0917 (fixtures)
    state: str,
    personas: Personas,
    people: People,
    station: IntakePoint,
    device: IntakeDevice,
    client: Client,
    sign_in: SignIn,
) -> None:
    code = {"deceased": "citizen.deceased", "missing": "citizen.missing", "pending": "application.pending"}[
        state
    ]
    if state == "deceased":
        Citizen.objects.filter(pk=people.hung.pk).update(date_of_death="2026-01-05")
    elif state == "missing":
        Citizen.objects.filter(pk=people.hung.pk).update(missing_declared_on=date(2026, 1, 5))
    else:
        take(personas.lan, people.hung, station, device)
    sign_in(client, personas.lan)
    page = client.get(f"/cards/new/?pin={people.hung.pin}").content.decode()
    # Said on the check sheet, with the rule, and no form to attach twelve captures to.
    assert 'id="intake-refusals"' in page
    assert f"[{code}]" in page
    assert 'id="intake-form"' not in page
    assert Application.objects.filter(citizen=people.hung).count() == (1 if state == "pending" else 0)


def test_a_citizen_who_may_apply_gets_the_form_and_no_refusal(  # noqa: PLR0917 (fixtures)
    personas: Personas,
    people: People,
    station: IntakePoint,
    device: IntakeDevice,
    client: Client,
    sign_in: SignIn,
) -> None:
    sign_in(client, personas.lan)
    page = client.get(f"/cards/new/?pin={people.hung.pin}").content.decode()
    assert 'id="intake-form"' in page
    assert 'id="intake-refusals"' not in page
    assert services.intake_refusals(people.hung) == []


def test_a_pin_merged_into_another_record_is_named_with_the_record_the_card_is_for(  # noqa: PLR0917 (fixtures)
    personas: Personas,
    people: People,
    station: IntakePoint,
    device: IntakeDevice,
    client: Client,
    sign_in: SignIn,
) -> None:
    duplicate = make_citizen(full_name="Nguyen Van Hung")
    registry.citizen_merge(
        actor=Actor(reviewer()),
        keep=people.hung,
        absorb=duplicate,
        reason="Cùng một người",
        source_document="BB 1",
    )
    sign_in(client, personas.lan)
    page = client.get(f"/cards/new/?pin={duplicate.pin}").content.decode()
    assert (
        f"Hồ sơ số định danh {duplicate.pin} đã được hợp nhất vào hồ sơ số định danh {people.hung.pin}"
        in page
    )
    assert 'id="intake-form"' in page
    # The PIN of the record itself: nothing to explain.
    page = client.get(f"/cards/new/?pin={people.hung.pin}").content.decode()
    assert "đã được hợp nhất" not in page


def test_the_card_check_names_the_fields_of_the_card_in_the_pages_language(
    personas: Personas, delivered: Card, client: Client, sign_in: SignIn
) -> None:
    payload = qr_payload(delivered.printed, delivered.issued_on)
    sign_in(client, personas.lan)
    page = client.post("/cards/verify/", {"text": payload}).content.decode()
    assert 'data-valid="1"' in page
    verdict = page[page.index('id="verdict"') :]
    for label in (
        "Số định danh cá nhân",
        "Họ, chữ đệm và tên",
        "Ngày sinh",
        "Giới tính",
        "Nơi cư trú",
        "Ngày cấp",
    ):
        assert f"<dt>{label}</dt>" in verdict
    for key in ("full_name", "birth_date", "issued_on", "cmnd"):
        assert f"<dt>{key}</dt>" not in verdict
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.post("/cards/verify/", {"text": payload}).content.decode()
    assert "<dt>Personal identification number</dt>" in english
    assert "<dt>Date of issue</dt>" in english
