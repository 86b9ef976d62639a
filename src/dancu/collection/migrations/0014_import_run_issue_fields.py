"""The import's counts by rule kept field by field too, so that the report names the field of a rule that
is about its field alone ("Chưa điền «Quê quán»").

Runs made before are left without them: their report says such a rule without its field, as before."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("collection", "0013_import_run_header"),
    ]

    operations = [
        migrations.AddField(
            model_name="importrun",
            name="issue_fields",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
