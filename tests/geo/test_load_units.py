"""`dancu load_units` against the real reference data: counts, idempotency, and the data quirks."""

from __future__ import annotations

import io

from django.core.management import call_command

from dancu.geo.models import AdminUnit, UnitSuccession
from dancu.geo.services import admin_units_load

Structure = AdminUnit.Structure
Level = AdminUnit.Level


def _count(structure: str, level: str) -> int:
    return AdminUnit.objects.filter(structure=structure, level=level).count()


def _snapshot() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    units = list(AdminUnit.objects.order_by("pk").values_list())
    successions = list(UnitSuccession.objects.order_by("pk").values_list())
    return units, successions


def test_loads_the_2025_structure(units: None) -> None:
    assert _count(Structure.CURRENT, Level.PROVINCE) == 34
    assert _count(Structure.CURRENT, Level.COMMUNE) == 3321
    assert _count(Structure.CURRENT, Level.DISTRICT) == 0


def test_loads_the_legacy_structure(units: None) -> None:
    # The legacy table has 10,040 rows: 10,035 communes and five island districts that had no commune
    # (one row each, with an empty commune), so 10,035 is the commune count, not a loss of five.
    assert _count(Structure.LEGACY, Level.PROVINCE) == 63
    assert _count(Structure.LEGACY, Level.DISTRICT) == 696
    assert _count(Structure.LEGACY, Level.COMMUNE) == 10035


def test_prints_the_counts(load_output: str) -> None:
    assert "2025:   34 provinces, 3321 communes" in load_output
    assert "legacy: 63 provinces, 696 districts, 10035 communes" in load_output
    assert "legacy communes without a default successor: 0" in load_output
    assert "converter keys naming no unit: 0" in load_output
    assert "14149 created" in load_output


def test_second_run_changes_nothing(units: None) -> None:
    before = _snapshot()
    stdout = io.StringIO()

    call_command("load_units", stdout=stdout)

    assert _snapshot() == before
    assert not admin_units_load().changed
    assert "units: 0 created, 0 updated, 14149 unchanged" in stdout.getvalue()
    assert "successions: 0 created, 0 updated, 0 deleted" in stdout.getvalue()


def test_reload_repairs_edited_rows_and_keeps_primary_keys(units: None) -> None:
    commune = AdminUnit.objects.get(structure=Structure.CURRENT, level=Level.COMMUNE, code="00097")
    AdminUnit.objects.filter(pk=commune.pk).update(name="Phường Sai Tên", search_key="x")
    cong_vi = AdminUnit.objects.get(structure=Structure.LEGACY, level=Level.COMMUNE, code="00007")
    # Swap the default of a divided commune and add a succession the data does not have, to see the
    # loader put both back without tripping the one-default constraint on the way.
    UnitSuccession.objects.filter(legacy=cong_vi, is_default=True).update(is_default=False)
    UnitSuccession.objects.filter(legacy=cong_vi).exclude(successor__code="00008").update(is_default=True)
    UnitSuccession.objects.create(legacy=cong_vi, successor=commune, is_default=False)

    report = admin_units_load()

    commune.refresh_from_db()
    assert commune.name == "Phường Hồng Hà"
    assert commune.search_key == "phuong hong ha"
    assert report.changed
    assert (report.units_created, report.units_updated) == (0, 1)
    assert (report.successions_created, report.successions_updated, report.successions_deleted) == (0, 2, 1)
    assert not UnitSuccession.objects.filter(legacy=cong_vi, successor=commune).exists()
    assert UnitSuccession.objects.get(legacy=cong_vi, is_default=True).successor.code == "00008"


def test_canonicalizes_names_from_the_name_not_the_type_column(units: None) -> None:
    # The package types this commune "Xã", but its official name (and the resolution) says phường.
    viet_hoa = AdminUnit.objects.get(structure=Structure.CURRENT, level=Level.COMMUNE, code="10543")
    assert (viet_hoa.name, viet_hoa.kind, viet_hoa.short_name) == ("Phường Việt Hòa", "Phường", "Việt Hòa")
    # "Thành Phố Bắc Kạn" in the data; the kind is written one way everywhere.
    bac_kan = AdminUnit.objects.get(structure=Structure.LEGACY, level=Level.DISTRICT, code="058")
    assert (bac_kan.name, bac_kan.kind) == ("Thành phố Bắc Kạn", "Thành phố")
    # The package disambiguates short names with the kind in brackets; the short name here does not.
    yen_vien = AdminUnit.objects.get(structure=Structure.LEGACY, level=Level.COMMUNE, code="00526")
    assert (yen_vien.name, yen_vien.short_name) == ("Thị trấn Yên Viên", "Yên Viên")


def test_every_commune_kind_is_a_known_one(units: None) -> None:
    kinds = set(AdminUnit.objects.filter(level=Level.COMMUNE).values_list("structure", "kind").distinct())
    assert kinds == {
        (Structure.CURRENT, "Phường"),
        (Structure.CURRENT, "Xã"),
        (Structure.CURRENT, "Đặc khu"),
        (Structure.LEGACY, "Phường"),
        (Structure.LEGACY, "Xã"),
        (Structure.LEGACY, "Thị trấn"),
    }
    assert AdminUnit.objects.filter(structure=Structure.CURRENT, kind="Đặc khu").count() == 13


def test_paths_and_province_codes_follow_the_tree(units: None) -> None:
    phuc_xa = AdminUnit.objects.select_related("parent__parent").get(
        structure=Structure.LEGACY, level=Level.COMMUNE, code="00001"
    )
    assert phuc_xa.path == "legacy/01/001/00001"
    assert phuc_xa.province_code == "01"
    assert phuc_xa.parent is not None
    assert phuc_xa.parent.path == "legacy/01/001"
    hong_ha = AdminUnit.objects.get(structure=Structure.CURRENT, level=Level.COMMUNE, code="00097")
    assert hong_ha.path == "2025/01/00097"
    mismatched = [
        unit.path
        for unit in AdminUnit.objects.select_related("parent")
        if unit.parent is not None
        and (
            unit.path != f"{unit.parent.path}/{unit.code}" or unit.province_code != unit.parent.province_code
        )
    ]
    assert mismatched == []
