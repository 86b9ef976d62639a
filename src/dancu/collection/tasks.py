"""The collection app's scheduled task, run by the `dancu qcluster` workers (django-q2).

Migration collection 0008 schedules `imports_check` every 5 minutes: an import whose worker died without a
word (killed, out of memory, machine restarted) is marked interrupted with the reason, so its page offers
to continue it instead of showing it "in progress" forever.
"""

from __future__ import annotations

from dancu.audit.services import Actor
from dancu.collection.services import imports_mark_interrupted

ACTOR = Actor(system="import")


def imports_check() -> list[int]:
    """Mark the silent runs interrupted; returns their ids."""
    return [run.pk for run in imports_mark_interrupted(actor=ACTOR)]
