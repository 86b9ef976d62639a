"""What merge tests share: a commune reviewer persona, a duplicate of a citizen, and a full snapshot of
records with every row linked to them, to prove that an undone merge left no trace in the data."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import models

from dancu.accounts.models import User
from dancu.accounts.services import officer_create, police_unit_for_area
from dancu.geo.selectors import unit_get
from dancu.registry.models import (
    AbsenceDeclaration,
    Citizen,
    FamilyLink,
    HouseholdMember,
    IdentityCardRecord,
    PinRecord,
    Residence,
)
from tests.conftest import HOAN_KIEM, PASSWORD, SYSTEM, commune

# Bookkeeping that a merge and its undo advance on purpose: both are recorded in the history.
_BOOKKEEPING = {"version", "updated_at"}


def reviewer(*, username: str = "thu", commune_code: str = HOAN_KIEM) -> User:
    """A commune reviewer (cán bộ kiểm tra cấp xã): the role that settles duplicates in a commune."""
    ministry = police_unit_for_area(area=None)
    hanoi = police_unit_for_area(
        area=unit_get(structure="2025", level="province", code="01"), parent=ministry
    )
    user, _device = officer_create(
        actor=SYSTEM,
        username=username,
        password=PASSWORD,
        role=User.Role.COMMUNE_REVIEWER,
        police_unit=police_unit_for_area(area=commune(commune_code), parent=hanoi),
        full_name="Đinh Thị Thu",
        otp_secret_hex="3132333435363738393031323334353637383930",
    )
    return user


def card(citizen: Citizen, *, kind: str = "cccd", issued_on: date = date(2021, 6, 1)) -> IdentityCardRecord:
    return IdentityCardRecord.objects.create(
        citizen=citizen,
        kind=kind,
        number=citizen.pin if kind != "cmnd" else (citizen.old_id_number or "000000001"),
        issued_on=issued_on,
        issued_by="Cục Cảnh sát QLHC về TTXH",
        expires_on=date(2030, 5, 17),
    )


def _row(obj: models.Model) -> dict[str, Any]:
    values = {}
    for field in obj._meta.concrete_fields:
        if field.attname in _BOOKKEEPING:
            continue
        value = getattr(obj, field.attname)
        values[field.attname] = value.to_storage() if hasattr(value, "to_storage") else value
    return values


def full_snapshot(*citizens: Citizen) -> dict[str, list[dict[str, Any]]]:
    """Every row of the records and of everything linked to them, as plain values, ordered by id."""
    ids = [c.pk for c in citizens]

    def rows(queryset: models.QuerySet[Any]) -> list[dict[str, Any]]:
        return [_row(obj) for obj in queryset.order_by("pk")]

    return {
        "citizens": rows(Citizen.objects.filter(pk__in=ids)),
        "pins": rows(PinRecord.objects.filter(citizen_id__in=ids)),
        "residences": rows(Residence.objects.filter(citizen_id__in=ids)),
        "memberships": rows(
            HouseholdMember.objects.filter(
                household_id__in=HouseholdMember.objects.filter(citizen_id__in=ids).values("household_id")
            )
        ),
        "family": rows(
            FamilyLink.objects.filter(models.Q(citizen_id__in=ids) | models.Q(relative_id__in=ids))
        ),
        "cards": rows(IdentityCardRecord.objects.filter(citizen_id__in=ids)),
        "absences": rows(AbsenceDeclaration.objects.filter(citizen_id__in=ids)),
    }
