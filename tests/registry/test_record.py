"""A record read through `citizen_get` holds exactly what the ORM holds, and reading it costs no query.

On PostgreSQL the record comes back in one statement as JSON (registry/record.py) and is turned into
model instances by hand; these tests hold it to the ORM's own reading of the same rows, field by field,
including the related units and households the pages and the API show.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext

from dancu.accounts.models import User
from dancu.accounts.selectors import citizen_scope
from dancu.audit.models import AccessLog
from dancu.lib.errors import NotFoundError
from dancu.registry import services
from dancu.registry.models import Citizen, IdentityCardRecord
from dancu.registry.selectors import _citizen_with_record, citizen_get
from tests.conftest import SAI_GON, SYSTEM, People, Personas, commune, household_of

pytestmark = pytest.mark.django_db


def _values(obj: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _unit_chain(unit: Any) -> list[dict[str, Any]]:
    chain = []
    while unit is not None:
        chain.append(_values(unit))
        unit = unit.parent
    return chain


def _everything(citizen: Citizen) -> dict[str, Any]:
    """All a record page or the API may read from a loaded record."""
    return {
        "citizen": _values(citizen),
        "area": _unit_chain(citizen.area_commune),
        "residences": [
            (_values(r), _unit_chain(r.commune), _unit_chain(r.legacy_commune), r.citizen_id)
            for r in citizen.residences.all()
        ],
        "memberships": [(_values(m), _values(m.household)) for m in citizen.household_memberships.all()],
        "family": [_values(f) for f in citizen.family_links.all()],
        "cards": [_values(k) for k in citizen.card_records.all()],
        "pins": [_values(p) for p in citizen.pin_records.all()],
    }


def _as_the_orm_reads_it(actor: User, citizen: Citizen) -> dict[str, Any]:
    """The same record through the ORM: select_related and prefetch_related with the selector's order."""
    loaded = _citizen_with_record(actor, pk=citizen.pk, pin=None)
    assert loaded is not None
    return _everything(loaded)


@pytest.fixture
def full_record(people: People) -> Citizen:
    """Nga (legacy address) with a household, a husband, a temporary stay, a card and a re-issued PIN."""
    nga, hung = people.nga, people.hung
    household_of(hung, spouse=nga)
    services.residence_register(
        actor=SYSTEM,
        citizen=nga,
        kind="temporary",
        commune=commune(SAI_GON),
        address_detail="12 Lê Lợi",
        registered_on=date(2025, 8, 1),
        expires_on=date(2026, 7, 31),
        reason="Đăng ký tạm trú",
        source_document="CT01",
        today=date(2025, 8, 1),
    )
    services.family_link_add(
        actor=SYSTEM, citizen=nga, kind="spouse", relative=hung, reason="Kết hôn", source_document="TK"
    )
    services.family_link_add(
        actor=SYSTEM,
        citizen=nga,
        kind="father",
        relative_name="Phạm Văn Tư",
        reason="Khai sinh",
        source_document="GKS",
    )
    IdentityCardRecord.objects.create(
        citizen=nga,
        kind="cccd",
        number=nga.pin,
        issued_on=date(2021, 3, 1),
        issued_by="Cục Cảnh sát QLHC về TTXH",
        expires_on=date(2030, 3, 1),
    )
    services.pin_reissue(
        actor=SYSTEM, citizen=nga, new_sex="M", reason="Xác định lại giới tính", source_document="QĐ 1"
    )
    return Citizen.objects.get(pk=nga.pk)


def test_the_record_holds_what_the_orm_reads(personas: Personas, full_record: Citizen) -> None:
    record = citizen_get(actor=personas.minh, pin=full_record.pin, purpose="t")

    with CaptureQueriesContext(connection) as reading:
        everything = _everything(record)
    assert len(reading.captured_queries) == 0
    assert everything == _as_the_orm_reads_it(personas.minh, full_record)
    # The fixture gave every related set something to hold, so the comparison compares something.
    # Residences: the legacy address ended by the move into Hùng's household, that one, the stay.
    sizes = [len(everything[k]) for k in ("residences", "memberships", "family", "cards", "pins")]
    assert sizes == [3, 1, 2, 1, 2]
    # Current residences first, then the ended one, on either database.
    assert [r["ended_on"] is None for r, _, _, _ in everything["residences"]] == [True, True, False]
    legacy_chains = [legacy for _, _, legacy, _ in everything["residences"] if legacy]
    assert [[u["level"] for u in chain] for chain in legacy_chains] == [["commune", "district", "province"]]


def test_the_one_statement_keeps_the_jurisdiction(personas: Personas, people: People) -> None:
    # Every persona (commune, legacy district, province, ministry, auditor) against every person (three
    # communes and a legacy address): found exactly when the jurisdiction filter admits the person.
    for actor in vars(personas).values():
        for person in vars(people).values():
            visible = Citizen.objects.filter(citizen_scope(actor), pk=person.pk).exists()
            for key in ({"pk": person.pk}, {"pin": person.pin}):
                if visible:
                    assert citizen_get(actor=actor, purpose="t", **key).pk == person.pk
                else:
                    with pytest.raises(NotFoundError):
                        citizen_get(actor=actor, purpose="t", **key)
    # The legacy district's officer sees Nga (legacy address), and only her.
    assert [p.pk for p in vars(people).values() if _seen(personas.hoa, p)] == [people.nga.pk]
    assert not AccessLog.objects.filter(actor=personas.an).exists()


def _seen(actor: User, person: Citizen) -> bool:
    try:
        citizen_get(actor=actor, pk=person.pk, purpose="t")
    except NotFoundError:
        return False
    return True
