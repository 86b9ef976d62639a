"""The campaign work the background workers do on a schedule (django-q2 `Schedule` rows).

Every minute the tallies catch up on the trail, so that a dashboard finds them warm; every day at 05:00
(Asia/Ho_Chi_Minh) the eligible populations are counted again and the daily reports of the running
campaigns are made for the country and every province.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import migrations

SCHEDULES = (
    ("campaigns: tally catch-up", "dancu.campaigns.tasks.tally_keep_warm", "I", 1),
    ("campaigns: daily reports", "dancu.campaigns.tasks.daily_reports", "D", None),
)


def _next_morning() -> datetime:
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    now = datetime.now(zone)
    morning = datetime.combine(now.date(), time(5, 0), tzinfo=zone)
    return morning if morning > now else morning + timedelta(days=1)


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, kind, minutes in SCHEDULES:
        Schedule.objects.get_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": kind,
                "minutes": minutes,
                "repeats": -1,
                "next_run": _next_morning() if kind == "D" else datetime.now(ZoneInfo("UTC")),
            },
        )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_builtin_metrics"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create, remove)]
