"""Indexes on the numbers of the staged rows still waiting for an officer: an import looks up each chunk's
PINs and CMNDs among them (one query each), to warn of a person already waiting in another import run."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("collection", "0014_import_run_issue_fields"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="stagingrecord",
            index=models.Index(
                condition=models.Q(("citizen__isnull", True), ("status", "review"))
                & ~models.Q(("id_number", "")),
                fields=["id_number"],
                name="staging_waiting_pin",
            ),
        ),
        migrations.AddIndex(
            model_name="stagingrecord",
            index=models.Index(
                condition=models.Q(("citizen__isnull", True), ("status", "review"))
                & ~models.Q(("old_id_number", "")),
                fields=["old_id_number"],
                name="staging_waiting_cmnd",
            ),
        ),
    ]
