"""Give the records whose name holds a hyphen the search key it now folds to.

The key of a name (`name_key`, see `fold_name` in lib/vntext.py) now reads a hyphen as a space, so that
"Y-Moan Ênuôl" and "Y Moan Ênuôl", one person spelled two ways on two papers, are one name to the
search, the duplicate checks, the card check of an arrival and record linkage. Only the keys, which
are derived data, are rewritten; the names stay as declared. The new keys are those of the text as
stored, so undoing this migration has nothing to restore that a later save would not recompute; the
reverse writes the old keys back all the same, for a rollback to the code before it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import migrations
from django.db.models import Q

from dancu.lib.vntext import fold, fold_name


def _rekey(apps: Any, key_of: Callable[[str], str]) -> None:
    Citizen = apps.get_model("registry", "Citizen")
    hyphenated = Citizen.objects.filter(Q(full_name__contains="-") | Q(full_name__contains="\u2010"))
    for citizen in hyphenated.only("full_name", "name_key").iterator():
        key = key_of(citizen.full_name)
        if key != citizen.name_key:
            citizen.name_key = key
            citizen.save(update_fields=["name_key"])


def rekey(apps: Any, schema_editor: Any) -> None:
    _rekey(apps, fold_name)


def restore(apps: Any, schema_editor: Any) -> None:
    _rekey(apps, fold)


class Migration(migrations.Migration):
    dependencies = [("registry", "0008_absence_returned_on")]

    operations = [migrations.RunPython(rekey, restore)]
