from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """Build the index without locking the residences against writes on PostgreSQL (CREATE INDEX
    CONCURRENTLY): on a national registry the table holds well over a hundred million rows, and a plain
    build would stop every residence write for the minutes it takes. Other databases build it plainly."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    # A concurrent build cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("geo", "0001_administrative_units"),
        ("registry", "0011_absence_withdrawn_on"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="residence",
            index=models.Index(
                condition=models.Q(("ended_on__isnull", True), ("kind", "temporary")),
                fields=["commune", "expires_on"],
                name="residence_current_stay",
            ),
        ),
    ]
