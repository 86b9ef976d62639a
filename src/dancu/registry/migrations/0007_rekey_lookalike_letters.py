"""Give the records spelled with a look-alike letter or apostrophe the search keys they now fold to.

`fold` now reads "Ð"/"ð" (the eth) as "đ" and the typographic and modifier apostrophes as "'" (see
LOOKALIKE_LETTERS and NAME_PUNCTUATION_VARIANTS in lib/vntext.py), so the folded name (`name_key`) of a
citizen written "Ðặng Thị Ðào" or "H’Hen Niê", and the folded address (`address_key`) of a residence
written with them, change: without this the new keys would find every record but those. Only the keys,
which are derived data, are rewritten. The names themselves are personal data and change only through a
correction with its reason and audit event; the "sạch" quality check flags them (`name.not_canonical`,
with the repair `repair.letters` or `repair.punctuation`). The keys are those of the text as stored, so
undoing this migration has nothing to restore: the old keys were of the same text.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Any

from django.db import migrations
from django.db.models import Q

from dancu.lib.vntext import LOOKALIKE_LETTERS, NAME_PUNCTUATION_VARIANTS, fold

_CHARACTERS = [chr(code) for code in {**LOOKALIKE_LETTERS, **NAME_PUNCTUATION_VARIANTS}]


def _containing_any(field: str) -> Q:
    return reduce(operator.or_, (Q(**{f"{field}__contains": char}) for char in _CHARACTERS))


def rekey(apps: Any, schema_editor: Any) -> None:
    Citizen = apps.get_model("registry", "Citizen")
    for citizen in (
        Citizen.objects.filter(_containing_any("full_name")).only("full_name", "name_key").iterator()
    ):
        key = fold(citizen.full_name)
        if key != citizen.name_key:
            citizen.name_key = key
            citizen.save(update_fields=["name_key"])
    Residence = apps.get_model("registry", "Residence")
    found = Residence.objects.filter(_containing_any("address_detail")).only("address_detail", "address_key")
    for residence in found.iterator():
        key = fold(residence.address_detail)
        if key != residence.address_key:
            residence.address_key = key
            residence.save(update_fields=["address_key"])


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_join_merges_and_trigram_index")]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
