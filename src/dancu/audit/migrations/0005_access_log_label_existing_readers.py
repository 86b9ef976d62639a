"""Name the reader of the access-log rows written before `actor_label` existed: the account's username.

One UPDATE with a subquery, on the server: the log may hold many rows, and none needs to reach Python.
Reversible: the labels are emptied again (the rows keep their account).
"""

from typing import Any

from django.db import migrations
from django.db.models import OuterRef, Subquery


def label_readers(apps: Any, schema_editor: Any) -> None:
    access_log = apps.get_model("audit", "AccessLog")
    user = apps.get_model("accounts", "User")
    username = user.objects.filter(pk=OuterRef("actor_id")).values("username")[:1]
    access_log.objects.filter(actor__isnull=False, actor_label="").update(actor_label=Subquery(username))


def unlabel_readers(apps: Any, schema_editor: Any) -> None:
    apps.get_model("audit", "AccessLog").objects.filter(actor__isnull=False).update(actor_label="")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_access_log_system_reader"),
        ("accounts", "0001_officers_and_police_units"),
    ]

    operations = [migrations.RunPython(label_readers, unlabel_readers)]
