"""Which applications, cards, batches and intake points an officer may see: the citizen's area decides.

An application or a card belongs to the citizen it is for, so it is seen by exactly the officers who may
see that citizen's record (accounts.selectors.citizen_scope); a production batch spans a province and is
seen by the officers of that province and of the ministry; an intake point by the officers whose area
holds its commune.
"""

from __future__ import annotations

from django.db.models import Q

from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.selectors import citizen_scope, officer_can_read_records
from dancu.geo.selectors import within
from dancu.registry.models import Citizen

_NOTHING = Q(pk__in=[])


def _unit(user: User) -> PoliceUnit | None:
    """The unit whose area bounds what `user` sees; None when they see nothing."""
    return user.police_unit if officer_can_read_records(user) else None


def application_scope(user: User) -> Q:
    """A filter on Application (and, with the same field name, on Card)."""
    unit = _unit(user)
    if unit is None:
        return _NOTHING
    if unit.level == PoliceUnit.Level.MINISTRY:
        return Q()
    return Q(citizen__in=Citizen.objects.filter(citizen_scope(user)).values("pk"))


card_scope = application_scope


def point_scope(user: User) -> Q:
    """A filter on IntakePoint: points whose commune lies in the user's area."""
    unit = _unit(user)
    if unit is None:
        return _NOTHING
    if unit.level == PoliceUnit.Level.MINISTRY:
        return Q()
    area = unit.admin_unit
    if area is None:
        return _NOTHING
    return within("commune", area)


def batch_scope(user: User) -> Q:
    """A filter on ProductionBatch: the province's officers above commune level, and the ministry."""
    unit = _unit(user)
    if unit is None:
        return _NOTHING
    if unit.level == PoliceUnit.Level.MINISTRY:
        return Q()
    if unit.level != PoliceUnit.Level.PROVINCE or unit.admin_unit_id is None:
        return _NOTHING
    return Q(province_id=unit.admin_unit_id)
