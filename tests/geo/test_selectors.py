"""Reads of the geo app against the real reference data: look-ups, the 2025 succession, subtrees, search."""

from __future__ import annotations

import pytest

from dancu.geo.models import AdminUnit, UnitSuccession
from dancu.geo.selectors import (
    communes_of,
    predecessors_of,
    province_get,
    subtree,
    successor_of,
    successors_of,
    unit_get,
    unit_search,
)

Structure = AdminUnit.Structure
Level = AdminUnit.Level


def _legacy_commune(code: str) -> AdminUnit:
    return unit_get(structure=Structure.LEGACY, level=Level.COMMUNE, code=code)


def _commune(code: str) -> AdminUnit:
    return unit_get(structure=Structure.CURRENT, level=Level.COMMUNE, code=code)


def test_unit_get(units: None) -> None:
    hong_ha = _commune("00097")
    assert hong_ha.name == "Phường Hồng Hà"
    assert hong_ha.parent == province_get("01")


def test_unit_get_raises_for_an_unknown_code(units: None) -> None:
    with pytest.raises(AdminUnit.DoesNotExist):
        unit_get(structure=Structure.CURRENT, level=Level.COMMUNE, code="99999")
    # Districts exist only in the legacy structure.
    with pytest.raises(AdminUnit.DoesNotExist):
        unit_get(structure=Structure.CURRENT, level=Level.DISTRICT, code="001")


def test_province_get_in_both_structures(units: None) -> None:
    assert province_get("01").name == "Thành phố Hà Nội"
    assert province_get("30", structure=Structure.LEGACY).name == "Tỉnh Hải Dương"
    # Hải Dương merged into Hải Phòng; code 30 is not a 2025 province.
    with pytest.raises(AdminUnit.DoesNotExist):
        province_get("30")


def test_communes_of_a_2025_province(units: None) -> None:
    communes = communes_of(province_get("01"))
    assert communes.count() == 126
    assert {unit.structure for unit in communes} == {Structure.CURRENT}


def test_communes_of_a_legacy_province_spans_its_districts(units: None) -> None:
    communes = communes_of(province_get("01", structure=Structure.LEGACY))
    assert communes.count() == 526
    assert communes.first() == _legacy_commune("00001")


def test_communes_of_refuses_a_commune(units: None) -> None:
    with pytest.raises(ValueError, match="not a province"):
        communes_of(_commune("00097"))


def test_successor_of_an_absorbed_commune(units: None) -> None:
    # Phường Phúc Xá (Quận Ba Đình) went whole into the 2025 Phường Hồng Hà.
    phuc_xa = _legacy_commune("00001")
    assert successor_of(phuc_xa) == _commune("00097")
    assert successors_of(phuc_xa) == [(_commune("00097"), True)]


def test_successors_of_a_divided_commune(units: None) -> None:
    # Phường Điện Biên (Quận Ba Đình) was split four ways; the converter names Phường Ba Đình default.
    dien_bien = _legacy_commune("00019")
    successors = successors_of(dien_bien)
    assert successors[0] == (_commune("00004"), True)
    assert sorted(unit.name for unit, is_default in successors[1:] if not is_default) == [
        "Phường Hoàn Kiếm",
        "Phường Văn Miếu - Quốc Tử Giám",
        "Phường Ô Chợ Dừa",
    ]
    assert successor_of(dien_bien) == _commune("00004")


def test_communes_whose_keys_differ_only_by_tone_marks_stay_apart(units: None) -> None:
    # Hải Phòng has both Xã Cẩm Giang and Xã Cẩm Giàng; the package keeps tone marks in their keys
    # ("xãcẩmgiang", "xãcẩmgiàng") and the loader matches keys exactly, so neither absorbs the other.
    cam_giang = _commune("10888")
    cam_giang_grave = _commune("10903")
    assert (cam_giang.name, cam_giang_grave.name) == ("Xã Cẩm Giang", "Xã Cẩm Giàng")
    assert successor_of(_legacy_commune("10888")) == cam_giang  # Thị trấn Cẩm Giang
    assert successor_of(_legacy_commune("10903")) == cam_giang_grave  # Xã Ngọc Liên


def test_successor_of_a_merged_province(units: None) -> None:
    hai_duong = province_get("30", structure=Structure.LEGACY)
    assert successor_of(hai_duong) == province_get("31")
    assert set(predecessors_of(province_get("31")).values_list("name", flat=True)) == {
        "Tỉnh Hải Dương",
        "Thành phố Hải Phòng",
    }


@pytest.mark.parametrize(
    ("district_code", "zone_code", "zone_name"),
    [
        ("318", "11948", "Đặc khu Bạch Long Vĩ"),
        ("471", "19742", "Đặc khu Cồn Cỏ"),
        ("498", "20333", "Đặc khu Hoàng Sa"),
        ("536", "21548", "Đặc khu Lý Sơn"),
        ("755", "26732", "Đặc khu Côn Đảo"),
    ],
)
def test_island_districts_without_communes_become_special_zones(
    units: None, district_code: str, zone_code: str, zone_name: str
) -> None:
    district = unit_get(structure=Structure.LEGACY, level=Level.DISTRICT, code=district_code)
    assert not district.children.exists()
    zone = successor_of(district)
    assert (zone.code, zone.name, zone.kind) == (zone_code, zone_name, "Đặc khu")


def test_successor_of_a_district_with_communes_does_not_exist(units: None) -> None:
    # Quận Ba Đình's communes went to several 2025 communes; the district as a whole maps nowhere.
    ba_dinh = unit_get(structure=Structure.LEGACY, level=Level.DISTRICT, code="001")
    with pytest.raises(AdminUnit.DoesNotExist):
        successor_of(ba_dinh)
    assert successors_of(ba_dinh) == []


def test_successor_of_refuses_a_2025_unit(units: None) -> None:
    with pytest.raises(ValueError, match="already a 2025 unit"):
        successor_of(_commune("00097"))


def test_every_legacy_commune_has_exactly_one_default_successor(units: None) -> None:
    legacy_communes = AdminUnit.objects.filter(structure=Structure.LEGACY, level=Level.COMMUNE)
    defaults = UnitSuccession.objects.filter(legacy__in=legacy_communes, is_default=True)
    assert defaults.count() == legacy_communes.count() == 10035
    assert not legacy_communes.exclude(successions__is_default=True).exists()


def test_every_legacy_province_has_its_2025_province(units: None) -> None:
    provinces = UnitSuccession.objects.filter(legacy__level=Level.PROVINCE)
    assert provinces.filter(is_default=True).count() == provinces.count() == 63
    assert not provinces.exclude(
        successor__structure=Structure.CURRENT, successor__level=Level.PROVINCE
    ).exists()


def test_successions_point_from_legacy_to_2025_at_the_same_level(units: None) -> None:
    communes = UnitSuccession.objects.filter(legacy__level=Level.COMMUNE)
    assert not communes.exclude(legacy__structure=Structure.LEGACY).exists()
    assert not communes.exclude(
        successor__structure=Structure.CURRENT, successor__level=Level.COMMUNE
    ).exists()


def test_predecessors_of_a_2025_commune(units: None) -> None:
    hong_ha = _commune("00097")
    absorbed = {
        "Phường Phúc Xá",
        "Phường Phúc Tân",
        "Phường Chương Dương",
        "Phường Tứ Liên",
        "Phường Yên Phụ",
    }
    assert absorbed <= set(predecessors_of(hong_ha).values_list("name", flat=True))
    defaults = set(predecessors_of(hong_ha, default_only=True).values_list("name", flat=True))
    assert absorbed <= defaults
    # Phường Bồ Đề sent only part of its territory here; its default successor is elsewhere.
    assert "Phường Bồ Đề" not in defaults
    assert "Phường Bồ Đề" in set(predecessors_of(hong_ha).values_list("name", flat=True))


def test_subtree_of_a_legacy_district(units: None) -> None:
    ba_dinh = unit_get(structure=Structure.LEGACY, level=Level.DISTRICT, code="001")
    units_under = list(subtree(ba_dinh))
    assert units_under[0] == ba_dinh
    assert len(units_under) == 1 + 13
    assert all(unit.parent_id == ba_dinh.pk for unit in units_under[1:])


def test_subtree_of_provinces(units: None) -> None:
    assert subtree(province_get("01")).count() == 1 + 126
    assert subtree(province_get("01", structure=Structure.LEGACY)).count() == 1 + 30 + 526


def test_subtree_of_a_commune_is_itself(units: None) -> None:
    hong_ha = _commune("00097")
    assert list(subtree(hong_ha)) == [hong_ha]


def test_search_ignores_tone_marks_and_ranks_exact_names_first(units: None) -> None:
    results = unit_search("hong ha")
    assert results[0] == _commune("00097")
    exact = [unit for unit in results if unit.short_name == "Hồng Hà"]
    assert len(exact) == 4
    # "Hồng Hạ" folds to the same key and is just as exact; "Phong Hải" merely contains the letters.
    ranked_names = [unit.short_name for unit in results]
    assert ranked_names.index("Phong Hải") > ranked_names.index("Hồng Hạ")


def test_search_by_full_name_with_marks(units: None) -> None:
    assert unit_search("Phường Hồng Hà", structure=Structure.CURRENT) == [_commune("00097")]


def test_search_filters_by_structure_and_level(units: None) -> None:
    provinces = unit_search("ha noi", level=Level.PROVINCE)
    assert [(unit.structure, unit.name) for unit in provinces] == [
        (Structure.CURRENT, "Thành phố Hà Nội"),
        (Structure.LEGACY, "Thành phố Hà Nội"),
    ]
    legacy = unit_search("hong ha", structure=Structure.LEGACY, level=Level.COMMUNE, limit=2)
    assert len(legacy) == 2
    assert all(unit.is_legacy for unit in legacy)


def test_search_of_a_blank_query_finds_nothing(units: None) -> None:
    assert unit_search("   ") == []
