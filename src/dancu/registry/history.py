"""Snapshots of records for the immutable history (RecordVersion).

A snapshot is plain JSON: what the record page needs to show the state of a record on a past date.
Services write one after every change, in the same transaction as the change; the bulk loader builds
the same shape from the rows it inserts, without reading them back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dancu.registry.models import (
    AbsenceDeclaration,
    Citizen,
    FamilyLink,
    Household,
    HouseholdMember,
    Residence,
)

CITIZEN_FIELDS = (
    "pin",
    "full_name",
    "other_names",
    "birth_date",
    "sex",
    "birth_place",
    "birth_registration_place",
    "native_place",
    "ethnicity",
    "religion",
    "nationality",
    "blood_type",
    "blood_type_source",
    "old_id_number",
    "marital_status",
    "date_of_death",
    "missing_declared_on",
    "phone",
    "email",
)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, str | int | bool):
        return value
    if hasattr(value, "to_storage"):
        return value.to_storage()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def residence_snapshot(residence: Residence) -> dict[str, Any]:
    return {
        "id": residence.pk,
        "kind": residence.kind,
        "commune_id": residence.commune_id,
        "legacy_commune_id": residence.legacy_commune_id,
        "address_detail": residence.address_detail,
        "address_original": residence.address_original,
        "household_id": residence.household_id,
        "registered_on": _json_value(residence.registered_on),
        "expires_on": _json_value(residence.expires_on),
        "ended_on": _json_value(residence.ended_on),
    }


def membership_snapshot(membership: HouseholdMember | None) -> dict[str, Any] | None:
    if membership is None:
        return None
    return {
        "household_id": membership.household_id,
        "relation_to_head": membership.relation_to_head,
        "joined_on": _json_value(membership.joined_on),
    }


def family_snapshot(link: FamilyLink) -> dict[str, Any]:
    return {
        "kind": link.kind,
        "relative_id": link.relative_id,
        "relative_name": link.relative_name,
        "relative_pin": link.relative_pin,
    }


def absence_snapshot(absence: AbsenceDeclaration) -> dict[str, Any]:
    return {
        "id": absence.pk,
        "starts_on": _json_value(absence.starts_on),
        "ends_on": _json_value(absence.ends_on),
        "destination": absence.destination,
        "reason": absence.reason,
    }


def citizen_snapshot(
    citizen: Citizen,
    *,
    residences: Iterable[Residence],
    membership: HouseholdMember | None,
    family: Iterable[FamilyLink],
    absences: Iterable[AbsenceDeclaration] = (),
) -> dict[str, Any]:
    """The citizen's own fields plus their current residences, household and family links, and the
    declared absences not yet over (current or to come)."""
    data: dict[str, Any] = {name: _json_value(getattr(citizen, name)) for name in CITIZEN_FIELDS}
    data["residences"] = [residence_snapshot(r) for r in residences if r.ended_on is None]
    data["household"] = membership_snapshot(membership)
    data["family"] = [family_snapshot(link) for link in family]
    # Only when there is one: the snapshots of the many records never declared absent (and those the
    # bulk loader writes) keep the shape they always had.
    declared = [absence_snapshot(a) for a in absences]
    if declared:
        data["absences"] = declared
    return data


def household_snapshot(household: Household, *, members: Iterable[HouseholdMember]) -> dict[str, Any]:
    return {
        "number": household.number,
        "commune_id": household.commune_id,
        "legacy_commune_id": household.legacy_commune_id,
        "address_detail": household.address_detail,
        "address_original": household.address_original,
        "members": [
            {
                "citizen_id": m.citizen_id,
                "relation_to_head": m.relation_to_head,
                "joined_on": _json_value(m.joined_on),
            }
            for m in members
            if m.left_on is None
        ],
    }
