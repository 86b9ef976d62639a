"""The header's cells as the imported file wrote them, which the rejected rows' workbook is titled with.

Runs made before are left without them: their workbook keeps the registry's column names."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("collection", "0012_staging_source_row"),
    ]

    operations = [
        migrations.AddField(
            model_name="importrun",
            name="header",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
