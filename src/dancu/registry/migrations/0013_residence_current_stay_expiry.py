from django.db import migrations, models

from dancu.lib.migration_ops import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    # The index is built concurrently on PostgreSQL, which cannot happen inside a transaction.
    atomic = False

    dependencies = [
        ("registry", "0012_residence_current_stay"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="residence",
            index=models.Index(
                condition=models.Q(("ended_on__isnull", True), ("kind", "temporary")),
                fields=["expires_on", "id"],
                name="residence_current_stay_expiry",
            ),
        ),
    ]
