"""Give the access-log rows written before `reader_unit` existed their reader's police unit.

Best effort: what unit an officer belonged to on the day of an old read was not recorded, so each row
takes the unit the account belongs to now, the same answer the citizen's page gave before the column
existed. Rows written from now on carry the unit of the day (audit/models.py, AccessLog.reader_unit).
One UPDATE with a subquery, on the server, as for the labels (0005). Reversible: the column is emptied.
"""

from typing import Any

from django.db import migrations
from django.db.models import OuterRef, Subquery


def fill_reader_units(apps: Any, schema_editor: Any) -> None:
    access_log = apps.get_model("audit", "AccessLog")
    user = apps.get_model("accounts", "User")
    unit = user.objects.filter(pk=OuterRef("actor_id")).values("police_unit")[:1]
    access_log.objects.filter(actor__isnull=False, reader_unit__isnull=True).update(reader_unit=Subquery(unit))


def empty_reader_units(apps: Any, schema_editor: Any) -> None:
    apps.get_model("audit", "AccessLog").objects.update(reader_unit=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0011_access_log_reader_unit"),
        ("accounts", "0002_citizen_accounts_have_no_police_unit"),
    ]

    operations = [migrations.RunPython(fill_reader_units, empty_reader_units)]
