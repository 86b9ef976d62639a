"""The loader's checks on reference data, run against small hand-cut copies of the package's files."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from dancu.geo.models import AdminUnit
from dancu.geo.services import UnitDataError, admin_units_load, package_data_dir, split_unit_name

Structure = AdminUnit.Structure
Level = AdminUnit.Level


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Phường Hồng Hà", ("Phường Hồng Hà", "Hồng Hà", "Phường")),
        ("Thị Trấn  Ái Tử", ("Thị trấn Ái Tử", "Ái Tử", "Thị trấn")),
        ("Phường 5", ("Phường 5", "Phường 5", "Phường")),
        ("Quận 10", ("Quận 10", "Quận 10", "Quận")),
        ("Đặc khu Côn Đảo", ("Đặc khu Côn Đảo", "Côn Đảo", "Đặc khu")),
        # Decomposed input (e + combining marks) is stored composed.
        ("Xã Ye\u0302n Vie\u0302n", ("Xã Yên Viên", "Yên Viên", "Xã")),
    ],
)
def test_split_unit_name(raw: str, expected: tuple[str, str, str]) -> None:
    assert split_unit_name(raw) == expected


def test_split_unit_name_refuses_a_name_without_kind() -> None:
    with pytest.raises(ValueError, match="does not start with a known kind"):
        split_unit_name("Hồng Hà")


def _tiny_data(directory: Path, *, converter: dict[str, object], whole_legacy_hanoi: bool = False) -> Path:
    """A copy of the package's dataset cut down to two communes of Hà Nội in each structure (or, if
    asked, every legacy commune of Hà Nội), with a converter of our choosing."""
    shutil.copy(package_data_dir() / "dataset.db", directory / "dataset.db")
    with sqlite3.connect(directory / "dataset.db") as db:
        db.execute("DELETE FROM admin_units WHERE wardCode NOT IN ('00004', '00008')")
        if whole_legacy_hanoi:
            db.execute("DELETE FROM admin_units_legacy WHERE provinceCode != '01'")
        else:
            db.execute(
                "DELETE FROM admin_units_legacy WHERE wardCode IS NULL OR wardCode NOT IN ('00001', '00007')"
            )
    (directory / "converter_2025.json").write_text(json.dumps(converter), encoding="utf-8")
    return directory


@pytest.mark.usefixtures("no_units")
def test_reports_unmapped_communes_and_unresolved_keys(tmp_path: Path) -> None:
    converter = {
        "DICT_PROVINCE": {"thanhphohanoi": ["thanhphohanoi", "tinhhatay"]},
        "DICT_PROVINCE_WARD_NO_DIVIDED": {
            "thanhphohanoi": {"phuongbadinh": ["thanhphohanoi_quanbadinh_x", "thanhphohanoi_x"]}
        },
        "DICT_PROVINCE_WARD_DIVIDED": {
            "thanhphohanoi": {
                "thanhphohanoi_quanbadinh_phuongcongvi": [
                    {"newWardKey": "phuongngocha", "isDefaultNewWard": False},
                ]
            }
        },
    }

    report = admin_units_load(data_dir=_tiny_data(tmp_path, converter=converter))

    assert report.unit_counts == {
        (Structure.CURRENT, Level.PROVINCE): 1,
        (Structure.CURRENT, Level.COMMUNE): 2,
        (Structure.LEGACY, Level.PROVINCE): 1,
        (Structure.LEGACY, Level.DISTRICT): 1,
        (Structure.LEGACY, Level.COMMUNE): 2,
    }
    assert report.unresolved_keys == [
        "DICT_PROVINCE thanhphohanoi <- tinhhatay",
        "DICT_PROVINCE_WARD_NO_DIVIDED thanhphohanoi/phuongbadinh <- thanhphohanoi_quanbadinh_x",
        "DICT_PROVINCE_WARD_NO_DIVIDED thanhphohanoi/phuongbadinh <- thanhphohanoi_x",
    ]
    assert report.unmapped_communes == [
        "00001 Phường Phúc Xá: absent from converter_2025.json",
        "00007 Phường Cống Vị: split between several communes, none marked default",
    ]


@pytest.mark.usefixtures("no_units")
def test_command_warns_about_unmapped_communes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = {"DICT_PROVINCE": {}, "DICT_PROVINCE_WARD_NO_DIVIDED": {}, "DICT_PROVINCE_WARD_DIVIDED": {}}
    data_dir = _tiny_data(tmp_path, converter=empty, whole_legacy_hanoi=True)
    monkeypatch.setattr("dancu.geo.services.package_data_dir", lambda: data_dir)
    stdout, stderr = io.StringIO(), io.StringIO()

    call_command("load_units", stdout=stdout, stderr=stderr)

    assert "legacy communes without a default successor: 526" in stdout.getvalue()
    assert "  00001 Phường Phúc Xá: absent from converter_2025.json" in stdout.getvalue()
    # The list stops after twenty; the rest are counted, not printed.
    assert "(506 more communes not shown)" in stdout.getvalue()
    assert "could not be mapped" in stderr.getvalue()


@pytest.mark.usefixtures("no_units")
def test_refuses_two_defaults_for_one_legacy_commune(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    converter = {
        "DICT_PROVINCE": {},
        "DICT_PROVINCE_WARD_NO_DIVIDED": {
            "thanhphohanoi": {
                "phuongbadinh": ["thanhphohanoi_quanbadinh_phuongphucxa"],
                "phuongngocha": ["thanhphohanoi_quanbadinh_phuongphucxa"],
            }
        },
        "DICT_PROVINCE_WARD_DIVIDED": {},
    }
    data_dir = _tiny_data(tmp_path, converter=converter)
    monkeypatch.setattr("dancu.geo.services.package_data_dir", lambda: data_dir)

    with pytest.raises(CommandError, match="more than one default successor"):
        call_command("load_units", stdout=io.StringIO())
    assert not AdminUnit.objects.exists()


@pytest.mark.usefixtures("no_units")
def test_refuses_contradictory_rows(tmp_path: Path) -> None:
    data_dir = _tiny_data(tmp_path, converter={})
    with sqlite3.connect(data_dir / "dataset.db") as db:
        db.execute("UPDATE admin_units SET province = 'Thành phố Hà Nội Mới' WHERE wardCode = '00008'")

    with pytest.raises(UnitDataError, match="conflicting data for unit"):
        admin_units_load(data_dir=data_dir)


def test_package_data_dir_holds_the_data_files() -> None:
    assert (package_data_dir() / "dataset.db").is_file()
    assert (package_data_dir() / "converter_2025.json").is_file()


def test_package_data_dir_requires_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(UnitDataError, match="not installed"):
        package_data_dir()
