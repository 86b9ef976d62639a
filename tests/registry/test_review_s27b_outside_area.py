"""A registry write refused outside the officer's area names the place and the officer's area (review 27b).

The imports and the forms said since session 27 which commune they refused and which area is the officer's;
the registry's own writes still said "Đơn vị này nằm ngoài địa bàn quản lý của bạn", the catalogue's
sentence, which names neither. Lan of Phường Hoàn Kiếm who registers a residence in Phường Sài Gòn, Bình of
Phường Hồng Hà who withdraws an absence of a citizen of Hoàn Kiếm, and Dũng of TP Hồ Chí Minh who ends a
residence in Hà Nội are now told where the place is and what their area is, with the same rule code.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.services import Actor
from dancu.lib.errors import DomainError, FieldError
from dancu.registry import services
from dancu.registry.services import NewCitizen, NewResidence
from tests.conftest import (
    HOAN_KIEM,
    HONG_HA,
    SAI_GON,
    SESSION_TODAY,
    SYSTEM,
    People,
    Personas,
    commune,
    counts,
)

pytestmark = pytest.mark.django_db
OUTSIDE = "unit.outside_jurisdiction"


def _area_name(user: User) -> str:
    unit = user.police_unit
    assert unit is not None
    assert unit.admin_unit is not None
    return unit.admin_unit.name


def _refusal(call: object) -> FieldError:
    """The one refusal of a write that must write nothing."""
    before = counts()
    with pytest.raises(DomainError) as caught:
        call()  # type: ignore[operator]
    assert counts() == before
    [refusal] = caught.value.errors
    assert refusal.code == OUTSIDE
    return refusal


def test_a_registration_in_a_commune_outside_the_area_names_the_commune_and_the_area(
    personas: Personas,
) -> None:
    sai_gon = commune(SAI_GON)
    area = _area_name(personas.lan)
    assert area == commune(HOAN_KIEM).name
    refusal = _refusal(
        lambda: services.citizen_create(
            actor=Actor(personas.lan),
            data=NewCitizen(
                full_name="Trần Thị Hoa", birth_date="02/03/1991", sex="F", birth_registration_place="001"
            ),
            residence=NewResidence(
                kind="permanent",
                commune=sai_gon,
                address_detail="Số 5 đường Lê Lợi",
                registered_on=date(2020, 1, 1),
            ),
            reason="Đăng ký thường trú",
            source_document="CT01",
        )
    )
    assert refusal.field == "commune"
    assert refusal.message_vi == f"{sai_gon.name} (mã {SAI_GON}) nằm ngoài địa bàn quản lý của bạn ({area})."
    assert refusal.message_en == f"{sai_gon.name} (code {SAI_GON}) is outside your jurisdiction ({area})."


def test_a_move_sent_to_the_api_names_the_commune_and_the_area(personas: Personas, people: People) -> None:
    _token, secret = api_token_create(user=personas.lan, name="máy trạm")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    hong_ha = commune(HONG_HA)
    area = _area_name(personas.lan)
    before = counts()
    response = api.post(
        f"/api/v1/citizens/{people.hung.pin}/residences",
        {
            "kind": "current",
            "commune_code": HONG_HA,
            "address_detail": "Số 3 ngõ Gạch",
            "registered_on": "2024-01-01",
            "reason": "Khai báo nơi ở hiện tại",
            "source_document": "CT01",
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "commune_code",
            "code": OUTSIDE,
            "message_vi": f"{hong_ha.name} (mã {HONG_HA}) nằm ngoài địa bàn quản lý của bạn ({area}).",
            "message_en": f"{hong_ha.name} (code {HONG_HA}) is outside your jurisdiction ({area}).",
        }
    ]
    assert counts() == before


def test_ending_a_residence_of_another_province_names_where_it_is(personas: Personas, people: People) -> None:
    home = people.hung.residences.get(kind="permanent", ended_on__isnull=True)
    area = _area_name(personas.dung)
    refusal = _refusal(
        lambda: services.residence_end(
            actor=Actor(personas.dung),
            residence=home,
            ended_on=SESSION_TODAY,
            reason="Chuyển đi",
            source_document="",
        )
    )
    place = home.commune
    assert refusal.field == "residence"
    assert refusal.message_vi == (
        f"Nơi cư trú này nằm ngoài địa bàn quản lý của bạn: {place.name} (mã {place.code}), "
        f"không thuộc {area}."
    )
    assert refusal.message_en == (
        f"This residence is outside your jurisdiction: {place.name} (code {place.code}), not in {area}."
    )


def test_an_absence_of_a_citizen_of_another_commune_names_the_area_not_where_they_live(
    personas: Personas, people: People
) -> None:
    absence = services.absence_declare(
        actor=SYSTEM,
        citizen=people.hung,
        starts_on=SESSION_TODAY + timedelta(days=10),
        ends_on=SESSION_TODAY + timedelta(days=40),
        destination="Thành phố Đà Nẵng",
        reason="Đi làm việc",
    )
    home = people.hung.residences.get(kind="permanent", ended_on__isnull=True).commune
    area = _area_name(personas.binh)
    refusal = _refusal(
        lambda: services.absence_withdraw(actor=Actor(personas.binh), absence=absence, reason="Không đi nữa")
    )
    assert refusal.field == "citizen"
    assert f"trong địa bàn quản lý của bạn ({area}): khai báo tạm vắng" in refusal.message_vi
    assert f"in your jurisdiction ({area}): an absence" in refusal.message_en
    # Where the citizen lives is a record outside the officer's area: the refusal does not read it out.
    assert home.name not in refusal.message_vi
    assert home.code not in refusal.message_vi + refusal.message_en
