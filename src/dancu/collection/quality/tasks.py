"""The scheduled passes of the quality assessment, run by the `dancu qcluster` workers (django-q2).

Migration collection 0005 schedules `assess_changed` every 15 minutes, so that a change to the registry
reaches the scorecard within minutes, and `assess_all` every night, for the rules that depend on the date
alone (a temporary residence that expired today, a birthday past 120). Both can also be queued by hand
through `dancu.lib.tasks.enqueue`.
"""

from __future__ import annotations

from dancu.audit.services import Actor
from dancu.collection.quality.models import QualityPass
from dancu.collection.quality.services import quality_pass_run

ACTOR = Actor(system="quality")


def assess_changed() -> int:
    """Assess the records changed since the last pass; returns the id of the pass."""
    return quality_pass_run(actor=ACTOR, scope=QualityPass.Scope.CHANGED).pk


def assess_all() -> int:
    """Assess every record; returns the id of the pass."""
    return quality_pass_run(actor=ACTOR, scope=QualityPass.Scope.ALL).pk
