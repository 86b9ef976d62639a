"""Data migrations of the cards app, run on rows written the way older code wrote them."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core.management import call_command

from dancu.audit.services import Actor
from dancu.cards import services
from dancu.cards.models import Application, IntakeDevice, IntakePoint
from dancu.registry.services import citizen_update
from tests.cards.conftest import produce, take
from tests.conftest import SYSTEM, People, Personas, make_citizen

# The database's own rule that a cancelled application says why is added after the backfill: without it,
# rows as older code wrote them can be made again.
pytestmark = pytest.mark.django_db(transaction=True)


def test_applications_cancelled_before_the_reason_was_kept_get_the_reason_of_their_path(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    revoked = produce(personas, take(personas.lan, people.hung, station, device))
    services.card_change_state(
        actor=Actor(personas.cuong), card=revoked, state="revoked", grounds="issued_wrongly"
    )
    long = make_citizen(full_name="Đỗ Văn Long", birth_date="1988-02-03", address="Số 9 phố Hàng Gai")
    waiting = take(personas.lan, long, station, device, shift="2")
    citizen_update(
        actor=SYSTEM,
        citizen=long,
        changes={"date_of_death": "2026-03-20"},
        reason="Giấy chứng tử",
        source_document="GCT 1",
    )
    written = dict(Application.objects.values_list("pk", "cancellation_reason"))
    call_command("migrate", "cards", "0005", verbosity=0)
    try:
        # As the code before the migration left them: cancelled, and no reason.
        Application.objects.update(cancellation_reason="")

        importlib.import_module("dancu.cards.migrations.0005_cancellation_reason_backfill").backfill(
            apps, None
        )

        # The same reasons the services now write on each path.
        assert dict(Application.objects.values_list("pk", "cancellation_reason")) == written
        assert written == {
            revoked.application_id: "Thẻ đã sản xuất bị thu hồi trước khi trả cho công dân: Cấp sai quy định",
            waiting.pk: "Công dân đã chết",
        }
    finally:
        call_command("migrate", "cards", verbosity=0)
