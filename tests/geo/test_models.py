"""AdminUnit and UnitSuccession: names for display and the rules the database enforces."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from dancu.geo.models import AdminUnit, UnitSuccession
from dancu.geo.selectors import province_get, unit_get

Structure = AdminUnit.Structure
Level = AdminUnit.Level


def test_str_names_the_province(units: None) -> None:
    hong_ha = unit_get(structure=Structure.CURRENT, level=Level.COMMUNE, code="00097")
    assert str(hong_ha) == "Phường Hồng Hà, Thành phố Hà Nội"
    assert str(province_get("01")) == "Thành phố Hà Nội"
    phuc_xa = unit_get(structure=Structure.LEGACY, level=Level.COMMUNE, code="00001")
    assert str(phuc_xa) == "Phường Phúc Xá, Thành phố Hà Nội"


def test_full_name_walks_up_to_the_province(units: None) -> None:
    phuc_xa = unit_get(structure=Structure.LEGACY, level=Level.COMMUNE, code="00001")
    assert phuc_xa.full_name() == "Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội"
    assert phuc_xa.is_legacy
    hong_ha = unit_get(structure=Structure.CURRENT, level=Level.COMMUNE, code="00097")
    assert hong_ha.full_name() == "Phường Hồng Hà, Thành phố Hà Nội"
    assert not hong_ha.is_legacy


def test_succession_str(units: None) -> None:
    succession = UnitSuccession.objects.get(legacy__code="00001", legacy__level=Level.COMMUNE)
    assert str(succession) == "Phường Phúc Xá → Phường Hồng Hà (mặc định)"
    alternative = UnitSuccession.objects.filter(legacy__code="00019", is_default=False).first()
    assert alternative is not None
    assert "(mặc định)" not in str(alternative)


def test_one_default_successor_per_legacy_unit(units: None) -> None:
    phuc_xa = unit_get(structure=Structure.LEGACY, level=Level.COMMUNE, code="00001")
    ba_dinh = unit_get(structure=Structure.CURRENT, level=Level.COMMUNE, code="00004")
    with pytest.raises(IntegrityError), transaction.atomic():
        UnitSuccession.objects.create(legacy=phuc_xa, successor=ba_dinh, is_default=True)
    # As an alternative the same pair is fine.
    UnitSuccession.objects.create(legacy=phuc_xa, successor=ba_dinh, is_default=False)


def test_units_are_unique_per_structure_level_and_code(units: None) -> None:
    hanoi = province_get("01")
    with pytest.raises(IntegrityError), transaction.atomic():
        AdminUnit.objects.create(
            structure=Structure.CURRENT,
            level=Level.COMMUNE,
            code="00097",
            name="Phường Khác",
            short_name="Khác",
            kind="Phường",
            parent=hanoi,
            province_code="01",
            search_key="phuong khac",
            path="2025/01/00097-bis",
        )


def _unit(**fields: object) -> AdminUnit:
    """A made-up unit with codes no real one has, so only the rule under test can refuse it."""
    defaults: dict[str, object] = {
        "code": "999",
        "name": "Quận Thử",
        "short_name": "Thử",
        "kind": "Quận",
        "province_code": "01",
        "search_key": "quan thu",
        "path": "test/999",
    }
    return AdminUnit(**(defaults | fields))


def test_districts_exist_only_in_the_legacy_structure(units: None) -> None:
    district = _unit(structure=Structure.CURRENT, level=Level.DISTRICT, parent=province_get("01"))
    with pytest.raises(IntegrityError, match="district_only_legacy"), transaction.atomic():
        district.save()
    # The same district in the legacy structure is fine.
    _unit(
        structure=Structure.LEGACY,
        level=Level.DISTRICT,
        parent=province_get("01", structure=Structure.LEGACY),
    ).save()


def test_only_provinces_have_no_parent(units: None) -> None:
    with pytest.raises(IntegrityError, match="parent_unless_province"), transaction.atomic():
        _unit(structure=Structure.LEGACY, level=Level.DISTRICT).save()
    with pytest.raises(IntegrityError, match="parent_unless_province"), transaction.atomic():
        _unit(structure=Structure.LEGACY, level=Level.PROVINCE, code="99", parent=province_get("01")).save()


def test_a_unit_does_not_succeed_itself(units: None) -> None:
    hong_ha = unit_get(structure=Structure.CURRENT, level=Level.COMMUNE, code="00097")
    with pytest.raises(IntegrityError, match="not_self"), transaction.atomic():
        UnitSuccession.objects.create(legacy=hong_ha, successor=hong_ha)
