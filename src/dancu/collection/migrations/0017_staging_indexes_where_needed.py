# The staged rows' two foreign-key indexes that an import paid for on every row: the run's, which the unique
# (run, row_number) index already serves, and the citizen's, now indexed only where a row has one. The
# indexes are dropped by name rather than by altering the fields, which would drop and add again both
# foreign keys and check every staged row against them.

import django.db.models.deletion
from django.db import migrations, models

RUN_INDEX = "collection_stagingrecord_run_id_836104e9"
CITIZEN_INDEX = "collection_stagingrecord_citizen_id_5bfebb4d"


class Migration(migrations.Migration):

    dependencies = [
        ("collection", "0016_importrun_discarded"),
        ("registry", "0014_version_snapshot_json"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="stagingrecord",
                    name="citizen",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="registry.citizen",
                    ),
                ),
                migrations.AlterField(
                    model_name="stagingrecord",
                    name="run",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="records",
                        to="collection.importrun",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{RUN_INDEX}"',
                    f'CREATE INDEX "{RUN_INDEX}" ON "collection_stagingrecord" ("run_id")',
                ),
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{CITIZEN_INDEX}"',
                    f'CREATE INDEX "{CITIZEN_INDEX}" ON "collection_stagingrecord" ("citizen_id")',
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="stagingrecord",
            index=models.Index(
                condition=models.Q(("citizen__isnull", False)),
                fields=["citizen"],
                name="staging_citizen",
            ),
        ),
    ]
