"""The review queue and a pair side by side: scoped to the officer's area, every citizen read logged."""

from __future__ import annotations

import pytest

from dancu.accounts.models import PoliceUnit, User
from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.lib.errors import NotFoundError
from dancu.matching import selectors
from dancu.matching.scope import visible_pairs
from dancu.matching.services import decisions
from dancu.registry import services as registry
from dancu.registry.models import Citizen
from tests.conftest import (
    DUONG_LIEU_LEGACY,
    HOAN_KIEM,
    HONG_HA,
    SAI_GON,
    SYSTEM,
    Personas,
    commune,
    legacy_commune,
    make_citizen,
)
from tests.matching.factories import candidate_pair, match_run, staged_row
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db
PURPOSE = "Kiểm tra, phúc tra dữ liệu"


def queue_ids(actor: User, **kwargs: int) -> list[int]:
    return [p.pk for p in selectors.pair_queue(actor=actor, purpose=PURPOSE, **kwargs).pairs]


def test_the_queue_is_the_areas_pending_pairs_most_certain_first(
    personas: Personas, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    run = match_run()
    likely = candidate_pair(hung, duplicate, run=run, probability=0.91)
    certain = candidate_pair(hung, staged_row(), run=run, probability=0.99)
    mai = make_citizen(full_name="Lê Thị Mai", sex="F", commune_code=HONG_HA, address="Số 5 ngõ Gạch")
    in_hong_ha = candidate_pair(mai, staged_row(full_name="Le Thi Mai", gender="Nữ"), run=run)
    tuan = make_citizen(full_name="Trần Minh Tuấn", commune_code=SAI_GON, place="079", address="12 Lê Lợi")
    across_provinces = candidate_pair(hung, tuan, run=run, probability=0.95)
    decided = candidate_pair(duplicate, staged_row(), run=run, probability=0.999)
    decisions.candidate_pair_decide(actor=Actor(thu), pair=decided, same=False, reason="Khác cha mẹ")

    assert queue_ids(thu) == [certain.pk, likely.pk]
    assert queue_ids(thu, page_size=1) == [certain.pk]
    page_two = selectors.pair_queue(actor=thu, purpose=PURPOSE, page=2, page_size=1)
    assert ([p.pk for p in page_two.pairs], page_two.has_next, page_two.total) == ([likely.pk], False, 2)
    assert queue_ids(personas.lan) == [certain.pk, likely.pk]  # collectors see; they cannot decide
    assert queue_ids(personas.binh) == [in_hong_ha.pk]
    assert queue_ids(personas.cuong) == [certain.pk, in_hong_ha.pk, likely.pk]
    assert queue_ids(personas.minh) == [certain.pk, in_hong_ha.pk, across_provinces.pk, likely.pk]
    for outsider in (personas.dung, personas.an, personas.hoa):
        assert queue_ids(outsider) == []


def test_reading_the_queue_logs_each_citizen_shown(thu: User, hung: Citizen, duplicate: Citizen) -> None:
    candidate_pair(hung, duplicate)
    selectors.pair_queue(actor=thu, purpose=PURPOSE)
    logged = set(AccessLog.objects.filter(actor=thu, action="search").values_list("citizen_id", flat=True))
    assert logged == {hung.pk, duplicate.pk}


def test_a_pair_side_by_side(thu: User, hung: Citizen) -> None:
    elsewhere = make_citizen(full_name="Nguyen Van Hung", address="Số 9 phố Hàng Bông", phone="0912345678")
    pair = candidate_pair(elsewhere, hung)

    detail = selectors.pair_get(actor=thu, pk=pair.pk, purpose=PURPOSE)

    rows = {row.name: row for row in detail.rows}
    assert (rows["full_name"].left, rows["full_name"].right) == ("Nguyen Van Hung", "Nguyễn Văn Hùng")
    assert rows["address"].differs
    assert not rows["birth_date"].differs
    assert rows["phone"].right == ""
    assert [e.share for e in detail.evidence] == [100, 83, 10, 0, 37]
    assert [e.agreed for e in detail.evidence] == [True, True, True, False, False]
    assert detail.kept == hung
    assert detail.pin_rule == "pin.on_card"
    assert [c.field for c in detail.conflicts] == ["choices.permanent"]
    assert detail.can_decide
    viewed = set(AccessLog.objects.filter(actor=thu, action="view").values_list("citizen_id", flat=True))
    assert viewed == {hung.pk, elsewhere.pk}


def test_the_parents_named_on_each_record_are_compared(thu: User, hung: Citizen, duplicate: Citizen) -> None:
    """Two records of one person name the same mother, and fathers spelled differently: the officer sees
    both names side by side, the difference marked."""
    for citizen, father in ((hung, "Nguyễn Văn Cha"), (duplicate, "Nguyễn Văn Bố")):
        for kind, name in (("father", father), ("mother", "Lê Thị Mẹ")):
            registry.family_link_add(
                actor=SYSTEM,
                citizen=citizen,
                kind=kind,
                relative_name=name,
                reason="Khai báo DC01",
                source_document="DC01",
            )
    pair = candidate_pair(hung, duplicate)

    rows = {row.name: row for row in selectors.pair_get(actor=thu, pk=pair.pk, purpose=PURPOSE).rows}

    assert (rows["father_name"].left, rows["father_name"].right) == ("Nguyễn Văn Cha", "Nguyễn Văn Bố")
    assert rows["father_name"].differs
    assert (rows["mother_name"].left, rows["mother_name"].right) == ("Lê Thị Mẹ", "Lê Thị Mẹ")
    assert not rows["mother_name"].differs


def test_the_deceased_flag_shows_before_the_decision(thu: User, hung: Citizen) -> None:
    pair = candidate_pair(hung, staged_row(death_date="2024-11-02"))
    assert selectors.pair_get(actor=thu, pk=pair.pk, purpose=PURPOSE).deceased
    assert selectors.pair_queue(actor=thu, purpose=PURPOSE).deceased == {pair.pk}


def test_a_pair_outside_the_area_is_not_found(personas: Personas, hung: Citizen, duplicate: Citizen) -> None:
    pair = candidate_pair(hung, duplicate)
    for outsider in (
        personas.binh,
        personas.dung,
        personas.an,
        reviewer(username="rv3", commune_code=HONG_HA),
    ):
        with pytest.raises(NotFoundError):
            selectors.pair_get(actor=outsider, pk=pair.pk, purpose=PURPOSE)
        with pytest.raises(NotFoundError):
            selectors.pair_get(actor=outsider, pk=pair.pk + 1000, purpose=PURPOSE)
    assert not AccessLog.objects.exists()


def test_a_linked_row_leaves_the_import_review(thu: User, hung: Citizen) -> None:
    row = staged_row()
    other = staged_row()
    linked = candidate_pair(hung, row)
    candidate_pair(other, staged_row(), unit=commune("00070"))
    decisions.candidate_pair_decide(actor=Actor(thu), pair=linked, same=True, reason="Cùng một người")
    assert list(selectors.staging_rows_settled_as_duplicates()) == [linked]


def test_a_pair_of_staged_rows_in_two_provinces_is_the_ministrys(personas: Personas, thu: User) -> None:
    # One person in two books: Hoàn Kiếm's and Sài Gòn's. The matcher routes the pair by its left side.
    here = staged_row(commune_code=HOAN_KIEM)
    there = staged_row(full_name="Nguyễn Văn Hùng", commune_code=SAI_GON, address="Số 5 Lê Lợi, Sài Gòn")
    pair = candidate_pair(here, there, unit=commune(HOAN_KIEM))
    for officer in (thu, personas.cuong, personas.dung, personas.lan):
        with pytest.raises(NotFoundError):
            selectors.pair_get(actor=officer, pk=pair.pk, purpose="test")
        with pytest.raises(NotFoundError):
            decisions.candidate_pair_decide(actor=Actor(officer), pair=pair, same=False, reason="Khác người")
    assert selectors.pair_get(actor=personas.minh, pk=pair.pk, purpose="test").pair == pair
    # Two rows of one ward stay the ward's.
    neighbour = staged_row(full_name="Nguyễn Văn Hùng", commune_code=HOAN_KIEM)
    local = candidate_pair(here, neighbour, unit=commune(HOAN_KIEM))
    assert selectors.pair_get(actor=thu, pk=local.pk, purpose="test").pair == local


def test_a_district_unit_of_the_old_structure_sees_the_pairs_of_its_records(personas: Personas) -> None:
    from dancu.geo.selectors import successor_of

    successor = successor_of(legacy_commune(DUONG_LIEU_LEGACY))
    nga = make_citizen(
        full_name="Phạm Thị Nga",
        sex="F",
        commune_code=successor.code,
        legacy_code=DUONG_LIEU_LEGACY,
        address="Thôn Thượng",
    )
    row = staged_row(
        full_name="Pham Thi Nga",
        commune_code=successor.code,
        legacy_commune_code=DUONG_LIEU_LEGACY,
        address="Thôn Thượng, Xã Dương Liễu, Huyện Hoài Đức",
    )
    pair = candidate_pair(nga, row)
    # Hoa collects for the police of Huyện Hoài Đức (before 2025), whose records Nga's is.
    queue = selectors.pair_queue(actor=personas.hoa, purpose="test")
    assert [p.pk for p in queue.pairs] == [pair.pk]
    assert selectors.pair_get(actor=personas.hoa, pk=pair.pk, purpose="test").pair == pair
    # A pair of Hoàn Kiếm is not the district's.
    other = candidate_pair(make_citizen(full_name="Lê Văn Tám"), staged_row(full_name="Le Van Tam"))
    with pytest.raises(NotFoundError):
        selectors.pair_get(actor=personas.hoa, pk=other.pk, purpose="test")


def test_a_unit_without_a_known_area_sees_no_pair(thu: User, hung: Citizen, duplicate: Citizen) -> None:
    """Fail closed. A check constraint gives every unit but the ministry an area, so this unit is built in
    memory: were one ever to exist, its officers would see no pair rather than every pair."""
    candidate_pair(hung, duplicate)
    no_area = PoliceUnit(code="CA-x", name="Công an không địa bàn", level=PoliceUnit.Level.COMMUNE)
    officer = User(username="khong_ai", role=User.Role.COMMUNE_REVIEWER, police_unit=no_area, is_active=True)

    assert not visible_pairs(officer).exists()
    assert visible_pairs(thu).count() == 1
