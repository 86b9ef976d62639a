"""Each staged row's own number in its file (spreadsheet row, CSV line), what the rejected rows cite.

Rows staged before are left without one: the file is not kept, and they are cited by their data row."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('collection', '0011_form_submission_key'),
    ]

    operations = [
        migrations.AddField(
            model_name='stagingrecord',
            name='source_row',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
