"""Work the background workers run for cards (scheduled by migration 0007)."""

from __future__ import annotations

from dancu.audit.services import Actor
from dancu.cards.services import cards_expire_due

WORKER = Actor(system="cards-expire")


def expire_due() -> int:
    """Mark the active cards past the date printed on them expired; the number marked."""
    return cards_expire_due(actor=WORKER)
