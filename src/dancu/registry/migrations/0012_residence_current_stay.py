from django.db import migrations, models

from dancu.lib.migration_ops import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    # The index is built concurrently on PostgreSQL, which cannot happen inside a transaction.
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
