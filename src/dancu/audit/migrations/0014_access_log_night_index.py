"""The index of the reads made at night (audit.models.AT_NIGHT), which the auditor's filter of them reads
newest first (audit/selectors.py).

Written by hand: the condition names Vietnam's time zone, which Django cannot write into a migration.
Made on PostgreSQL only: on SQLite the condition is a function Django registers on its own connections,
and every other program that writes to the table (the sqlite3 shell, a restore) would be refused.
"""

import zoneinfo

import django.db.models.functions.datetime
import django.db.models.lookups
from django.db import migrations, models

_LOCAL_HOUR = django.db.models.functions.datetime.ExtractHour(
    "accessed_at", tzinfo=zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
)


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """AddIndex in the state of every database, in the schema of PostgreSQL only."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0013_access_log_seal_version"),
    ]

    operations = [
        AddIndexOnPostgreSQL(
            model_name="accesslog",
            index=models.Index(
                condition=models.Q(django.db.models.lookups.GreaterThanOrEqual(_LOCAL_HOUR, 22))
                | models.Q(django.db.models.lookups.LessThan(_LOCAL_HOUR, 6)),
                fields=["id"],
                name="accesslog_night_id",
            ),
        ),
    ]
