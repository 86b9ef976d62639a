"""Schedule the daily expiry of cards in django-q2, shortly after midnight (Asia/Ho_Chi_Minh).

A card is valid through the date printed on it, so it expires the day after. Until this job runs, a card
past that date stays *active* in the registry (a verifier still refuses it, from the date itself); it was
left to an operator's cron job, which a node set up from the guide alone did not have.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import migrations

NAME = "cards: expire the cards past their date"
FUNC = "dancu.cards.tasks.expire_due"


def _next_night() -> datetime:
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    now = datetime.now(zone)
    night = datetime.combine(now.date(), time(0, 10), tzinfo=zone)
    return night if night > now else night + timedelta(days=1)


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name=NAME, defaults={"func": FUNC, "schedule_type": "D", "repeats": -1, "next_run": _next_night()}
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cards", "0006_application_cancelled_has_reason"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(schedule, unschedule)]
