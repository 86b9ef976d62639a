"""An application that waits for a DC02: Hùng's record gives a birth year his PIN contradicts; Lan files a
DC02 and takes the application, which waits; once the correction reaches the registry it goes on, with
its 7 working days counted from then."""

from __future__ import annotations

from datetime import date

import pytest

from dancu.audit.services import Actor
from dancu.cards import services
from dancu.cards.models import Application, IntakeDevice, IntakePoint
from dancu.lib.errors import DomainError
from dancu.registry.models import Citizen
from tests.cards.conftest import take
from tests.collection.forms_support import advance, dc02, make_reviewers
from tests.conftest import People, Personas, make_citizen


def test_an_application_waits_for_its_dc02(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    reviewers = make_reviewers(personas)
    Citizen.objects.filter(pk=people.hung.pk).update(birth_date="1991-05-17")  # his PIN says 1990
    form = dc02(personas.lan, people.hung, {"birth_date": "17/05/1990"})
    application = take(personas.lan, people.hung, station, device, correction_form=form)
    assert application.status == Application.Status.WAITING_CORRECTION

    with pytest.raises(DomainError) as exc:
        services.application_resume(actor=Actor(personas.lan), application=application)
    assert exc.value.errors[0].code == "correction.not_applied"
    with pytest.raises(DomainError) as exc:
        services.application_approve(actor=Actor(personas.cuong), application=application)
    assert exc.value.errors[0].code == "application.status"

    advance(
        form, "applied", reviewer=reviewers.hang, supervisor=personas.cuong, acknowledged=("change.identity",)
    )
    application = services.application_resume(
        actor=Actor(personas.lan), application=application, today=date(2026, 4, 27)
    )
    assert application.status == Application.Status.TAKEN
    # Monday 27 April 2026: 30 April and 1 May are holidays, so day 7 is Friday 8 May.
    assert application.due_on == date(2026, 5, 8)


def test_a_dc02_of_someone_else_is_refused(
    personas: Personas, people: People, station: IntakePoint, device: IntakeDevice
) -> None:
    other = dc02(personas.lan, people.hung, {"phone": "0987654321"})
    someone = make_citizen(full_name="Trần Văn Nam", birth_date="1980-01-01", old_id_number="012345679")
    with pytest.raises(DomainError) as exc:
        take(personas.lan, someone, station, device, correction_form=other)
    assert exc.value.errors[0].code == "correction.other"
    assert not Application.objects.exists()
