"""An officer of a pre-2025 unit is refused an absence for what the refusal is about (review 27c).

Hòa of Công an huyện Hoài Đức (a district police before the 2025 reform) reads the records declared in her
old units, but writes no residence: every residence is written in a 2025 commune. An absence she tried to
record for Nga, who lives in her old area, was refused with `unit.outside_jurisdiction`, "the citizen has no
residence in your area": she would check Nga's address, which is right. The refusal now names her unit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from dancu.audit.services import Actor
from dancu.lib.errors import DomainError
from dancu.registry import services
from dancu.registry.models import AbsenceDeclaration
from tests.conftest import SESSION_TODAY, People, Personas, counts
from tests.registry.test_pages import html

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_pinned")]


def _declaration() -> dict[str, Any]:
    return {
        "starts_on": SESSION_TODAY - timedelta(days=5),
        "ends_on": SESSION_TODAY + timedelta(days=90),
        "destination": "Thành phố Đà Nẵng",
        "reason": "Đi làm việc theo hợp đồng",
        "source_document": "Tờ khai CT01",
    }


def test_a_pre_2025_unit_is_refused_an_absence_because_it_writes_no_residence(
    people: People, personas: Personas
) -> None:
    assert not personas.hoa.writes_registry
    before = counts() | {"absences": AbsenceDeclaration.objects.count()}

    with pytest.raises(DomainError) as caught:
        services.absence_declare(actor=Actor(user=personas.hoa), citizen=people.nga, **_declaration())

    [refusal] = caught.value.errors
    assert refusal.code == "role.not_allowed"
    assert refusal.field == "actor"
    assert "trước năm 2025" in refusal.message_vi
    assert "pre-2025 unit" in refusal.message_en
    assert counts() | {"absences": AbsenceDeclaration.objects.count()} == before


def test_the_page_tells_the_officer_of_a_pre_2025_unit_why(
    people: People, personas: Personas, sign_in: Any
) -> None:
    hoa = sign_in(Client(), personas.hoa)
    form = {key: str(value) for key, value in _declaration().items()}

    page = html(hoa.post(f"/citizens/{people.nga.pk}/absences/new/", form))

    assert "[role.not_allowed]" in page
    assert "trước năm 2025, không ghi nơi cư trú" in page
    assert "[unit.outside_jurisdiction]" not in page
