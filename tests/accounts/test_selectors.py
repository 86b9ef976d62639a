"""Jurisdiction as the selectors read it: the area of an officer's police unit, in the 2025 units or the
legacy ones, and nothing at all for a unit whose area is unknown or for a role that reads no records."""

from __future__ import annotations

import pytest

from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.selectors import citizen_scope, household_scope, unit_in_area
from dancu.accounts.services import officer_create, police_unit_for_area
from dancu.geo.models import AdminUnit
from dancu.registry.models import Citizen, Household
from tests.conftest import (
    DUONG_LIEU_LEGACY,
    HOAN_KIEM,
    PASSWORD,
    SYSTEM,
    People,
    Personas,
    commune,
    household_of,
    legacy_commune,
)

pytestmark = pytest.mark.django_db


def officer_of(username: str, area: AdminUnit) -> User:
    user, _device = officer_create(
        actor=SYSTEM,
        username=username,
        password=PASSWORD,
        # The role that works at the unit's level (accounts.services.ROLE_LEVELS); what is seen is the area's.
        role=User.Role.COLLECTOR if area.level == "commune" else User.Role.SUPERVISOR,
        police_unit=police_unit_for_area(area=area),
    )
    return user


def visible(user: User) -> set[str]:
    return set(Citizen.objects.filter(citizen_scope(user)).values_list("full_name", flat=True))


def test_the_police_of_a_legacy_commune_see_the_records_declared_in_it(people: People) -> None:
    """A commune police of the old structure answers for the records whose address names that commune."""
    duong_lieu = legacy_commune(DUONG_LIEU_LEGACY)
    officer = officer_of("cu_duong_lieu", duong_lieu)

    assert visible(officer) == {people.nga.full_name}
    assert unit_in_area(officer, duong_lieu)
    assert not unit_in_area(officer, commune(HOAN_KIEM))


def test_the_police_of_a_legacy_province_see_the_records_declared_in_its_old_units(people: People) -> None:
    """A province of the old structure answers for every record declared in one of its legacy communes,
    and not for the records written in the 2025 units only, even in the same city."""
    old_hanoi = legacy_commune(DUONG_LIEU_LEGACY).parent.parent
    assert (old_hanoi.structure, old_hanoi.level) == ("legacy", "province")
    officer = officer_of("cu_ha_noi", old_hanoi)

    assert visible(officer) == {people.nga.full_name}


def test_a_role_that_reads_no_records_sees_no_household_and_no_unit(
    personas: Personas, people: People
) -> None:
    """The auditor reads the access log, not the records: no household, no commune lies in their area."""
    household_of(people.hung)
    hoan_kiem = commune(HOAN_KIEM)

    assert Household.objects.filter(household_scope(personas.lan)).count() == 1
    assert not Household.objects.filter(household_scope(personas.an)).exists()
    assert unit_in_area(personas.lan, hoan_kiem)
    assert not unit_in_area(personas.an, hoan_kiem)


def test_a_unit_without_a_known_area_answers_for_nobody(people: People) -> None:
    """Fail closed. The database holds no such unit (a check constraint gives every unit but the ministry
    an area, and no 2025 unit is a district), so the units are built in memory: were one ever to exist,
    its officers would see nothing rather than everything."""
    no_area = PoliceUnit(code="CA-x", name="Công an không địa bàn", level=PoliceUnit.Level.COMMUNE)
    district_2025 = AdminUnit(structure="2025", level="district", code="999", name="Quận không có", path="x")
    odd_area = PoliceUnit(code="CA-y", name="Công an quận", level=PoliceUnit.Level.DISTRICT)
    odd_area.admin_unit = district_2025

    for unit in (no_area, odd_area):
        officer = User(username="khong_ai", role=User.Role.COLLECTOR, police_unit=unit, is_active=True)
        assert visible(officer) == set()
    officer = User(username="khong_ai", role=User.Role.COLLECTOR, police_unit=no_area, is_active=True)
    assert not unit_in_area(officer, commune(HOAN_KIEM))
