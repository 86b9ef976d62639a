"""The workers expire the cards past their date every night: no operator's cron job is needed for it."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

from dancu.audit.models import AuditEvent
from dancu.cards.models import Card


def test_the_nightly_schedule_expires_an_active_card_past_its_date(delivered: Card) -> None:
    schedule = Schedule.objects.get(func="dancu.cards.tasks.expire_due")
    assert (schedule.schedule_type, schedule.repeats) == (Schedule.DAILY, -1)
    yesterday = timezone.localdate() - timedelta(days=1)
    Card.objects.filter(pk=delivered.pk).update(issued_on=date(2015, 5, 20), expires_on=yesterday)

    # What the worker runs: the schedule's function by its dotted name.
    assert import_string(schedule.func)() == 1

    delivered.refresh_from_db()
    assert delivered.state == Card.State.EXPIRED
    event = AuditEvent.objects.get(subject_type="card", subject_id=str(delivered.pk), data__to="expired")
    assert event.actor_label == "system:cards-expire"
    # A card valid through today stays active.
    assert import_string(schedule.func)() == 0
