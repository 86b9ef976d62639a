"""Which candidate pairs an officer may see and decide: the one rule the review's reads and writes share.

A pair is in an officer's area when every record in it is: each citizen side (and each staged row that
became a citizen) by the citizens' own scope (`accounts.selectors.citizen_scope`), each staged row by the
commune its address was read as (`normalized.commune_code`, or `legacy_commune_code` for a unit of the
old structure). A pair whose sides lie in two provinces is therefore the ministry's alone, whether its
sides are citizens or staged rows. A staged row whose address named no commune is placed by the pair's
own commune (the run routes it there); for a unit of the old structure, which the 2025 commune of a pair
cannot name, at least one side must be positively in its area.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.selectors import citizen_scope, officer_can_read_records
from dancu.geo.models import AdminUnit
from dancu.geo.selectors import within
from dancu.matching.models import CandidatePair
from dancu.registry.models import Citizen

_NOTHING = Q(pk__in=[])
_SIDES = ("left", "right")


def _row_codes(area: AdminUnit) -> tuple[str, list[str]]:
    """The key of a staged row's normalized address that places it in `area`, and the codes that do."""
    structure = str(area.structure)
    key = "commune_code" if structure == AdminUnit.Structure.CURRENT else "legacy_commune_code"
    if area.level == AdminUnit.Level.COMMUNE:
        return key, [area.code]
    codes = AdminUnit.objects.filter(
        structure=structure, level=AdminUnit.Level.COMMUNE, path__startswith=area.path + "/"
    ).values_list("code", flat=True)
    return key, list(codes)


def visible_pairs(actor: User) -> QuerySet[CandidatePair]:
    if not officer_can_read_records(actor):
        return CandidatePair.objects.none()
    police_unit = actor.police_unit
    assert police_unit is not None  # officer_can_read_records
    if police_unit.level == PoliceUnit.Level.MINISTRY:
        # The whole country: no need to ask, for 100 million citizens, whether each is in it.
        return CandidatePair.objects.all()
    area = police_unit.admin_unit
    if area is None:
        return CandidatePair.objects.none()
    citizens = Citizen.objects.filter(citizen_scope(actor)).values("pk")
    key, codes = _row_codes(area)
    every_side = Q()
    some_side = _NOTHING
    for side in _SIDES:
        citizen, row = f"{side}_citizen", f"{side}_staging"
        row_in_area = Q(**{f"{row}__citizen__isnull": True, f"{row}__normalized__{key}__in": codes})
        row_unplaced = Q(**{f"{row}__citizen__isnull": True}) & (
            Q(**{f"{row}__normalized__{key}__isnull": True}) | Q(**{f"{row}__normalized__{key}": ""})
        )
        # A staged row written to the registry since is that citizen, and is scoped as the citizen is.
        row_as_citizen = Q(**{f"{row}__citizen__in": citizens})
        every_side &= Q(**{f"{citizen}__in": citizens}) | Q(**{f"{row}__isnull": False}) & (
            row_as_citizen | row_in_area | row_unplaced
        )
        some_side |= Q(**{f"{citizen}__in": citizens}) | row_as_citizen | row_in_area
    # A pair carries its 2025 commune, which places a row whose address named none.
    anchor = within("unit", area) if area.structure == AdminUnit.Structure.CURRENT else some_side
    return CandidatePair.objects.filter(anchor, every_side)
