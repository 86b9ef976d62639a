"""What the cards app prints and names: the receipt of an application that waits for its DC02 says so, a
record with no current address prints none, each record is named in the admin by its number, and an
officer who may not read records (the ministry's auditor) is shown no application, point or batch."""

from __future__ import annotations

import re
import zlib

from dancu.cards import printing, render, selectors
from dancu.cards.models import Application, Biometric, Card, FeeRate, IntakeDevice, IntakePoint, IssuerKey
from dancu.registry.models import Citizen
from tests.cards.conftest import take
from tests.collection.forms_support import dc02
from tests.conftest import People, Personas


def text_operations(pdf: bytes) -> int:
    """How many runs of text the PDF's pages draw (its content streams are compressed)."""
    count = 0
    # The end of line before "endstream" is taken with the stream and left to the decompressor, which
    # keeps what follows the compressed data apart: stripped by the pattern, a stream whose last byte is a
    # carriage return lost it, failed to decompress and was skipped (one receipt in 256, by its content).
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.DOTALL):
        try:
            content = zlib.decompressobj().decompress(stream)
        except zlib.error:
            continue  # an embedded font or image, not a page
        count += len(re.findall(rb"\bT[jJ]\b", content))
    return count


def test_the_receipt_of_an_application_waiting_for_its_dc02_says_the_date_moves(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    Citizen.objects.filter(pk=people.hung.pk).update(birth_date="1991-05-17")  # his PIN says 1990
    form = dc02(personas.lan, people.hung, {"birth_date": "17/05/1990"})
    waiting = take(personas.lan, people.hung, station, device, correction_form=form)
    assert waiting.status == Application.Status.WAITING_CORRECTION
    plain = render.receipt_pdf(waiting)
    Application.objects.filter(pk=waiting.pk).update(status=Application.Status.TAKEN)
    waiting.refresh_from_db()
    # The same receipt, less the paragraph saying the appointment is counted again after the DC02.
    assert text_operations(plain) > text_operations(render.receipt_pdf(waiting)) > 0


def test_a_record_with_no_current_address_prints_none(people: People) -> None:
    people.hung.residences.update(ended_on="2025-12-31")
    citizen = Citizen.objects.prefetch_related("residences__commune").get(pk=people.hung.pk)
    assert printing.card_printed_data(citizen)["residence"] == ""


def test_each_record_is_named_by_what_officers_read_on_it(personas: Personas, delivered: Card) -> None:
    application = delivered.application
    batch = application.batch
    assert batch is not None
    assert str(application.device) == "TN-0001"
    assert str(application) == application.number
    assert str(Biometric.objects.get(application=application, kind="face")) == f"{application.pk}:face"
    assert str(batch) == batch.number
    key = IssuerKey.objects.get()
    assert str(key) == key.key_id
    assert str(delivered) == f"{delivered.number} ({delivered.serial})"
    assert (
        str(FeeRate.objects.filter(kind="conversion").earliest("valid_from"))
        == "conversion 2019-08-30: 30000"
    )


def test_the_ministry_auditor_is_shown_no_card_work(personas: Personas, delivered: Card) -> None:
    auditor = personas.an
    queue = selectors.application_queue(actor=auditor, purpose="kiểm toán", status="")
    assert (queue.rows, queue.total) == ([], 0)
    assert selectors.point_list(actor=auditor) == []
    assert selectors.batch_list(actor=auditor) == []
    # The ministry's administrator, at the same level, sees the country's.
    assert [b.pk for b in selectors.batch_list(actor=personas.minh)] == [delivered.application.batch_id]
