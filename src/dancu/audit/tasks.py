"""The audit app's scheduled task, run by the `dancu qcluster` workers (django-q2).

Migration audit 0006 schedules `seal_access_log` every hour (audit/seals.py).
"""

from __future__ import annotations

from dancu.audit.seals import access_log_seal_all


def seal_access_log() -> list[int]:
    """Seal what is old enough; returns the new seals' ids."""
    return [seal.pk for seal in access_log_seal_all()]
