"""A police unit's level, area and parent fit together on the admin's unit page.

A unit's jurisdiction is its area, and the roles it may hold are those of its level. The admin's page
took any level for any area: a commune's police given a province's area kept its level, and its
collectors, who may only work in a commune's police, read the whole province. Nor did it look at the
units above and below: a commune's police could be put above a province's, or under itself.
"""

from __future__ import annotations

import pytest
from django.test import Client

from dancu.accounts.models import PoliceUnit
from dancu.accounts.services import police_level_for_area
from dancu.geo.models import AdminUnit
from dancu.geo.selectors import unit_get
from tests.accounts.conftest import admin_post
from tests.conftest import DUONG_LIEU_LEGACY, Personas, legacy_commune

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _language_restored(language_restored: None) -> None:
    """Each test here may switch the language."""


def _url(unit: PoliceUnit) -> str:
    return f"/admin/accounts/policeunit/{unit.pk}/change/"


def _errors(response: object) -> dict[str, list[str]]:
    return response.context["adminform"].form.errors  # type: ignore[attr-defined]


def _unit(personas: Personas, name: str) -> PoliceUnit:
    unit = getattr(personas, name).police_unit
    assert unit is not None
    return unit


def test_the_level_of_a_police_unit_is_its_areas() -> None:
    assert police_level_for_area(None) == PoliceUnit.Level.MINISTRY
    assert police_level_for_area(unit_get(structure="2025", level="province", code="01")) == "province"
    hoai_duc = legacy_commune(DUONG_LIEU_LEGACY).parent
    assert police_level_for_area(hoai_duc) == "district"
    assert police_level_for_area(legacy_commune(DUONG_LIEU_LEGACY)) == "commune"


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (
            "vi",
            "Địa bàn Thành phố Hà Nội là địa bàn của cấp Công an tỉnh/thành phố, không phải Công an "
            "xã/phường: cấp của đơn vị là cấp của địa bàn [police_unit.level_area]",
        ),
        (
            "en",
            "The area Thành phố Hà Nội is one of the level Provincial/municipal police, not Commune/ward "
            "police: a unit's level is its area's [police_unit.level_area]",
        ),
    ],
)
def test_a_communes_police_given_a_provinces_area_is_refused(
    operator: Client, personas: Personas, language: str, message: str
) -> None:
    hoan_kiem = _unit(personas, "lan")
    hanoi_area = unit_get(structure="2025", level="province", code="01")

    response = admin_post(operator, _url(hoan_kiem), language=language, admin_unit=hanoi_area.pk)

    assert response.status_code == 200
    assert _errors(response) == {"level": [message]}
    hoan_kiem.refresh_from_db()
    assert hoan_kiem.admin_unit is not None
    assert hoan_kiem.admin_unit.level == AdminUnit.Level.COMMUNE


def test_a_level_that_is_not_its_areas_is_refused_and_a_unit_with_none_needs_one(
    operator: Client, personas: Personas
) -> None:
    hcm = _unit(personas, "dung")

    wrong = admin_post(operator, _url(hcm), level=PoliceUnit.Level.DISTRICT)
    assert [e.rsplit("[", 1)[1] for e in _errors(wrong)["level"]] == ["police_unit.level_area]"]

    none = admin_post(operator, _url(hcm), admin_unit="")
    assert _errors(none) == {
        "admin_unit": [
            "Đơn vị cấp Công an tỉnh/thành phố cần có địa bàn: chỉ Bộ Công an không có "
            "[police_unit.area_required]"
        ]
    }
    hcm.refresh_from_db()
    assert (hcm.level, hcm.admin_unit_id) == (PoliceUnit.Level.PROVINCE, hcm.admin_unit_id)


def test_a_unit_above_of_a_level_not_above_is_refused(operator: Client, personas: Personas) -> None:
    hoan_kiem, hong_ha = _unit(personas, "lan"), _unit(personas, "binh")

    for parent in (hong_ha, hoan_kiem):  # a commune's police above another, or above itself
        response = admin_post(operator, _url(hoan_kiem), parent=parent.pk)
        assert _errors(response) == {
            "parent": [
                "Đơn vị cấp trên phải ở cấp cao hơn đơn vị này, không phải Công an xã/phường "
                "[police_unit.parent_level]"
            ]
        }
    hoan_kiem.refresh_from_db()
    assert hoan_kiem.parent == _unit(personas, "cuong")


def test_a_unit_whose_units_below_would_not_be_lower_is_refused(operator: Client, personas: Personas) -> None:
    # Hà Nội's police has the police of Hoàn Kiếm, Hồng Hà (communes) and Hoài Đức (a legacy district)
    # below it: made a district's police, Hoài Đức's would be below a unit of its own level.
    hanoi = _unit(personas, "cuong")
    hoai_duc_area = legacy_commune(DUONG_LIEU_LEGACY).parent
    assert hoai_duc_area is not None
    code = _unit(personas, "hoa").code

    response = admin_post(operator, _url(hanoi), admin_unit=hoai_duc_area.pk, level=PoliceUnit.Level.DISTRICT)

    assert _errors(response) == {
        "level": [
            f"1 đơn vị cấp dưới không ở cấp thấp hơn cấp mới ({code}): hãy chuyển chúng sang đơn vị khác "
            "trước [police_unit.children_level]"
        ]
    }


def test_a_unit_moved_to_an_area_of_another_level_with_that_level_is_saved(
    operator: Client, personas: Personas
) -> None:
    # Hồ Chí Minh City's police, with no unit below it and a supervisor (who works in a district's police
    # as in a province's), made the police of a legacy district.
    hcm = _unit(personas, "dung")
    hoai_duc_area = legacy_commune(DUONG_LIEU_LEGACY).parent
    assert hoai_duc_area is not None

    response = admin_post(operator, _url(hcm), admin_unit=hoai_duc_area.pk, level=PoliceUnit.Level.DISTRICT)

    assert response.status_code == 302, _errors(response)
    hcm.refresh_from_db()
    assert (hcm.level, hcm.admin_unit) == (PoliceUnit.Level.DISTRICT, hoai_duc_area)
