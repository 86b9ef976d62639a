"""An account refused a police unit outside the administrator's area names the unit and the area (27b).

An administrator of Hà Nội's police who types the unit of TP Hồ Chí Minh for a new officer was told only
"Đơn vị công an này ngoài địa bàn của đơn vị bạn": with units of the same name in several provinces, not
which one the page had found. The refusal now names the unit with its code, and the administrator's area,
as the registry and the imports do, under the same rule code.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import officer_add_refusals
from dancu.audit.services import Actor
from tests.conftest import Personas, officer_before_the_rule

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]
NEW_PASSWORD = "Mật-khẩu-mới-của-cán-bộ-2026"


def test_a_police_unit_outside_the_administrators_area_is_named_with_the_area(
    client: Client, personas: Personas, sign_in: SignIn
) -> None:
    hanoi_unit = personas.cuong.police_unit
    saigon_unit = personas.dung.police_unit
    assert hanoi_unit is not None
    assert hanoi_unit.admin_unit is not None
    assert saigon_unit is not None
    hanoi_admin = officer_before_the_rule(
        "quantri.hanoi", User.Role.MINISTRY_ADMIN, hanoi_unit, "Trần Văn Quản"
    )
    area = hanoi_unit.admin_unit.name
    vi = f"{saigon_unit.name} (mã {saigon_unit.code}) nằm ngoài địa bàn quản lý của bạn ({area})."
    en = f"{saigon_unit.name} (code {saigon_unit.code}) is outside your jurisdiction ({area})."

    [refusal] = officer_add_refusals(
        actor=Actor(hanoi_admin),
        username="canbo.moi",
        password=NEW_PASSWORD,
        role=User.Role.SUPERVISOR,
        police_unit=saigon_unit,
        full_name="Phạm Thị Mới",
    )
    assert (refusal.field, refusal.code) == ("police_unit", "unit.outside_jurisdiction")
    assert (refusal.message_vi, refusal.message_en) == (vi, en)

    # The page shows it beside the field, and creates no account.
    sign_in(client, hanoi_admin)
    response = client.post(
        "/officers/new/",
        {
            "username": "canbo.moi",
            "full_name": "Phạm Thị Mới",
            "role": User.Role.SUPERVISOR,
            "police_unit": saigon_unit.code,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert f"{vi} [unit.outside_jurisdiction]" in response.context["form"].errors["police_unit"]
    assert not User.objects.filter(username="canbo.moi").exists()
