"""Small populations with known faults for the quality scorecard tests.

Every person starts as a complete, consistent record (head of their own household, places of birth and
native place filled in); a test then breaks exactly what it is about. Faults the registry's services
refuse (a lower-case name, a PIN that disagrees with the sex) are written straight into the table, as a
legacy load would have left them.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.db.models import Model
from django.test import Client

from dancu.audit.services import Actor
from dancu.collection.quality.models import QualityAssessment
from dancu.registry import services
from dancu.registry.models import Citizen, Household
from tests.conftest import HOAN_KIEM, SYSTEM, commune, make_citizen

QUALITY = Actor(system="quality-test")


def complete_citizen(
    full_name: str,
    *,
    commune_code: str = HOAN_KIEM,
    address: str = "Số 1 phố Hàng Trống",
    household: bool = True,
    **extra: str,
) -> Citizen:
    """A record that passes all four indicators: art. 9 fields filled, head of its own household."""
    extra.setdefault("birth_place", "Bệnh viện Bạch Mai, Hà Nội")
    extra.setdefault("native_place", "Xã Dương Liễu, Hà Nội")
    citizen = make_citizen(full_name=full_name, commune_code=commune_code, address=address, **extra)
    if household:
        services.household_create(
            actor=SYSTEM,
            head=citizen,
            commune=commune(commune_code),
            address_detail=address,
            registered_on=date(2016, 1, 1),
            reason="Lập hộ",
            source_document="CT01",
        )
    return Citizen.objects.get(pk=citizen.pk)


def join(household: Household, citizen: Citizen, relation: str) -> None:
    services.household_add_member(
        actor=SYSTEM,
        household=household,
        citizen=citizen,
        relation_to_head=relation,
        joined_on=date(2020, 1, 1),
        reason="Nhập hộ",
        source_document="CT01",
    )


def force(record: Model, **values: Any) -> None:
    """Write values the services would refuse, as a legacy load left them (and bump the version)."""
    type(record).objects.filter(pk=record.pk).update(**values)


def failures_of(citizen: Citizen) -> list[tuple[str, str, str]]:
    """(indicator, field, rule code) of each failing check of the stored assessment."""
    assessment = QualityAssessment.objects.get(citizen=citizen)
    return [(f["indicator"], f["field"], f["code"]) for f in assessment.failures]


def hoan_kiem_page_count(client: Client, indicator: str) -> int:
    """The number of records passing `indicator` ("dung", "du", "sach", "song") as the scorecard page of
    Hoàn Kiếm shows it to the client's officer."""
    response = client.get("/quality/", {"unit": HOAN_KIEM})
    assert response.status_code == 200
    found = re.search(rf'data-count="{indicator}">(\d+)<', response.content.decode())
    assert found is not None
    return int(found.group(1))
