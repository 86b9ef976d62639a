"""The key of the page that sent a new form, so that a second press of its button makes no second form."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('collection', '0010_import_run_unit_backfill'),
        ('geo', '0001_administrative_units'),
        ('registry', '0013_residence_current_stay_expiry'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='collectionform',
            name='submission_key',
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddConstraint(
            model_name='collectionform',
            constraint=models.UniqueConstraint(fields=('created_by', 'submission_key'), name='form_submitted_once'),
        ),
    ]
