"""Give each import run made before `ImportRun.unit` the area it was made for.

The starter's police unit of today is the best record there is of it (the runs were scoped by it until
now); a run of the ministry or of the server keeps None, as a new one would.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def backfill(apps: Any, schema_editor: Any) -> None:
    ImportRun = apps.get_model("collection", "ImportRun")
    runs = ImportRun.objects.filter(unit__isnull=True, started_by__police_unit__admin_unit__isnull=False)
    for run in runs.select_related("started_by__police_unit").iterator():
        run.unit_id = run.started_by.police_unit.admin_unit_id
        run.save(update_fields=["unit"])


class Migration(migrations.Migration):
    dependencies = [("collection", "0009_import_run_unit")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
