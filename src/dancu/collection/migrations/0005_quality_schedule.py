"""Schedule the quality passes in django-q2: the changed records every 15 minutes, everything nightly."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db import migrations
from django.utils import timezone

SCHEDULES = (
    ("quality: changed records", "dancu.collection.quality.tasks.assess_changed", "I", 15),
    ("quality: all records", "dancu.collection.quality.tasks.assess_all", "D", None),
)


def _first_run(kind: str) -> datetime:
    now = timezone.now()
    if kind == "D":
        # Nightly at 01:30 local time, when the officers are not working.
        tomorrow = timezone.localdate() + timedelta(days=1)
        return timezone.make_aware(datetime.combine(tomorrow, time(1, 30)))
    return now


def schedule(apps: Any, schema_editor: Any) -> None:
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, kind, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": kind,
                "minutes": minutes,
                "repeats": -1,
                "next_run": _first_run(kind),
            },
        )


def unschedule(apps: Any, schema_editor: Any) -> None:
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("collection", "0004_quality_assessments"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
