"""Officers' decisions on candidate pairs, the automatic merge, and the deceased flag."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from dancu.accounts.models import User
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.config.env import env_probability_or_off
from dancu.lib.errors import DomainError, NotFoundError
from dancu.matching import selectors
from dancu.matching.models import CandidatePair
from dancu.matching.services import decisions
from dancu.registry import services as registry_services
from dancu.registry.models import Citizen, CitizenMerge
from tests.conftest import HONG_HA, SYSTEM, Personas, commune, make_citizen
from tests.matching.factories import candidate_pair, match_run, staged_row
from tests.registry.merge_support import full_snapshot, reviewer

pytestmark = pytest.mark.django_db
REASON = "Cùng họ tên, ngày sinh, địa chỉ; đã xác minh với công dân"


def decide(actor: User, pair: CandidatePair, *, same: bool, **kwargs: object) -> CandidatePair:
    return decisions.candidate_pair_decide(actor=Actor(actor), pair=pair, same=same, reason=REASON, **kwargs)  # type: ignore[arg-type]


def codes(exc: pytest.ExceptionInfo[DomainError]) -> set[str]:
    return {e.code for e in exc.value.errors}


def test_same_person_on_two_citizens_merges_them_and_undo_takes_it_back(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    # The duplicate is on the left: the PIN rule, not the side, decides which record stays.
    pair = candidate_pair(duplicate, hung)
    before = full_snapshot(hung, duplicate)

    pair = decide(thu, pair, same=True)

    assert pair.status == CandidatePair.Status.MERGED
    assert (pair.decided_by, pair.decision_reason) == (thu, REASON)
    merge = CitizenMerge.objects.get(origin=f"matching.pair:{pair.pk}")
    assert (merge.kept, merge.absorbed) == (hung, duplicate)
    event = AuditEvent.objects.get(event_type=EventType.PAIR_DECIDED)
    assert event.unit == commune("00070")
    assert event.data["merge_id"] == merge.pk
    assert Citizen.objects.get(pk=hung.pk).phone == "0912345678"

    pair = decisions.candidate_pair_undo(actor=Actor(thu), pair=pair, reason="Xác minh lại: hai người")

    assert pair.status == CandidatePair.Status.PENDING
    assert full_snapshot(hung, duplicate) == before
    assert AuditEvent.objects.filter(event_type=EventType.PAIR_DECISION_UNDONE).count() == 1


def test_not_the_same_person_is_remembered(thu: User, hung: Citizen, duplicate: Citizen) -> None:
    pair = decide(thu, candidate_pair(hung, duplicate), same=False)
    assert pair.status == CandidatePair.Status.DIFFERENT
    assert not CitizenMerge.objects.exists()
    with pytest.raises(DomainError) as exc:
        decide(thu, pair, same=True)
    assert codes(exc) == {"pair.already_decided"}
    # The matcher cannot propose the pair again: its key holds the decision.
    with pytest.raises(IntegrityError), transaction.atomic():
        candidate_pair(duplicate, hung)
    assert CandidatePair.objects.get(pair_key=pair.pair_key).status == CandidatePair.Status.DIFFERENT


def test_a_withdrawn_pair_is_neither_decided_nor_undone(thu: User, hung: Citizen, duplicate: Citizen) -> None:
    pair = candidate_pair(hung, duplicate)
    # As a later run leaves it (services.runs): withdrawn at the run's end, by no officer.
    CandidatePair.objects.filter(pk=pair.pk).update(
        status=CandidatePair.Status.WITHDRAWN, decided_at=timezone.now()
    )
    pair.refresh_from_db()
    with pytest.raises(DomainError) as exc:
        decide(thu, pair, same=True)
    assert codes(exc) == {"pair.withdrawn"}
    assert "no longer proposed" in exc.value.errors[0].message_en
    with pytest.raises(DomainError) as exc:
        decisions.candidate_pair_undo(actor=Actor(thu), pair=pair, reason="Xác minh lại: hai người")
    assert codes(exc) == {"pair.not_decided"}
    assert not CitizenMerge.objects.exists()
    assert CandidatePair.objects.get(pk=pair.pk).status == CandidatePair.Status.WITHDRAWN


def test_a_merge_that_needs_a_choice_waits_for_it(thu: User, hung: Citizen) -> None:
    elsewhere = make_citizen(full_name="Nguyen Van Hung", address="Số 9 phố Hàng Bông")
    pair = candidate_pair(hung, elsewhere)
    before = full_snapshot(hung, elsewhere)
    with pytest.raises(DomainError) as exc:
        decide(thu, pair, same=True)
    assert [e.field for e in exc.value.errors] == ["choices.permanent"]
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING
    assert full_snapshot(hung, elsewhere) == before
    assert not AuditEvent.objects.filter(event_type=EventType.PAIR_DECIDED).exists()
    assert decide(thu, pair, same=True, choices={"permanent": "keep"}).status == CandidatePair.Status.MERGED


def test_a_staged_row_is_linked_without_overwriting_and_its_death_is_recorded(
    thu: User, hung: Citizen
) -> None:
    row = staged_row(full_name="Nguyen Van Hung", death_date="2024-11-02", father_name="Nguyễn Văn Tâm")
    pair = decide(thu, candidate_pair(hung, row), same=True)

    assert pair.status == CandidatePair.Status.SAME
    hung.refresh_from_db()
    assert hung.full_name == "Nguyễn Văn Hùng"  # the row does not overwrite the registry
    assert hung.is_deceased
    assert hung.date_of_death.to_storage() == "2024-11-02"
    death = AuditEvent.objects.get(event_type=EventType.CITIZEN_DECEASED)
    assert "Sổ hộ khẩu Hoàn Kiếm 2019" in death.source_document
    decided = AuditEvent.objects.get(event_type=EventType.PAIR_DECIDED)
    assert decided.data["row_says"]["father_name"] == {"row": "Nguyễn Văn Tâm", "registry": ""}
    assert "full_name" not in decided.data["row_says"]  # the same name once tone marks are folded
    assert decided.data["deceased"]["date_of_death"] == "2024-11-02"
    assert row.pk in {
        p.left_staging_id or p.right_staging_id for p in CandidatePair.objects.filter(status="same")
    }


def test_two_staged_rows_are_marked_as_one(thu: User) -> None:
    first, second = staged_row(), staged_row(full_name="Nguyễn Văn Hùng")
    pair = decide(thu, candidate_pair(first, second, unit=commune("00070")), same=True)
    assert pair.status == CandidatePair.Status.SAME
    event = AuditEvent.objects.get(event_type=EventType.PAIR_DECIDED)
    assert event.data["staging_ids"] == sorted([first.pk, second.pk])


def test_who_may_decide(personas: Personas, thu: User, hung: Citizen, duplicate: Citizen) -> None:
    pair = candidate_pair(hung, duplicate)
    with pytest.raises(DomainError) as exc:
        decide(personas.lan, pair, same=False)  # a collector of the same ward
    assert codes(exc) == {"role.not_allowed"}
    for outsider in (
        personas.an,
        personas.binh,
        personas.dung,
        reviewer(username="rv2", commune_code=HONG_HA),
    ):
        with pytest.raises(NotFoundError):
            decide(outsider, pair, same=False)
    # Even a bad reason from an outsider answers "not found": nothing about the pair leaks.
    with pytest.raises(NotFoundError):
        decisions.candidate_pair_decide(actor=Actor(personas.binh), pair=pair, same=False, reason="")
    assert decide(personas.cuong, pair, same=False).decided_by == personas.cuong
    with pytest.raises(DomainError) as exc:
        decisions.candidate_pair_undo(actor=Actor(personas.lan), pair=pair, reason="Nhầm")
    assert codes(exc) == {"role.not_allowed"}
    with pytest.raises(DomainError) as exc:
        decisions.candidate_pair_decide(actor=SYSTEM, pair=pair, same=False, reason=REASON)
    assert codes(exc) == {"role.not_allowed"}


@pytest.mark.parametrize("reason", ["", "  ", "nhầm\x00", "\u202eesrever", "x" * 1001])
def test_hostile_reasons_are_refused(thu: User, hung: Citizen, duplicate: Citizen, reason: str) -> None:
    pair = candidate_pair(hung, duplicate)
    with pytest.raises(DomainError) as exc:
        decisions.candidate_pair_decide(actor=Actor(thu), pair=pair, same=False, reason=reason)
    assert {e.field for e in exc.value.errors} == {"reason"}
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING


def test_markup_is_refused_and_quotes_are_kept_as_text(thu: User, hung: Citizen, duplicate: Citizen) -> None:
    pair = candidate_pair(hung, duplicate)
    with pytest.raises(DomainError) as exc:
        decisions.candidate_pair_decide(
            actor=Actor(thu), pair=pair, same=False, reason="<script>alert(1)</script>"
        )
    assert [(e.field, e.code) for e in exc.value.errors] == [("reason", "text.characters")]
    reason = 'Robert\'); DROP TABLE registry_citizen;-- "trùng"'
    decisions.candidate_pair_decide(actor=Actor(thu), pair=pair, same=False, reason=reason)
    pair.refresh_from_db()
    assert pair.decision_reason == reason


def test_auto_merge_respects_the_threshold(hung: Citizen, duplicate: Citizen) -> None:
    run = match_run(auto_merge_threshold=0.999)
    certain = candidate_pair(hung, duplicate, run=run, probability=0.9995)
    other = make_citizen(full_name="Nguyễn Văn Hưng", address="Số 1 phố Hàng Trống")
    likely = candidate_pair(hung, other, run=run, probability=0.995)
    elsewhere = make_citizen(full_name="Nguyen Van Hung", address="Số 7 phố Hàng Bạc")
    needs_choice = candidate_pair(duplicate, elsewhere, run=run, probability=0.9999)

    result = decisions.candidate_pairs_auto_merge(actor=Actor(system="match"), run=run)

    assert result.decided == [certain.pk], result.waiting
    assert result.waiting == {needs_choice.pk: ["merge.choice_required"]}
    certain.refresh_from_db()
    assert certain.status == CandidatePair.Status.MERGED
    assert certain.decided_by is None
    assert certain.decision_reason.startswith("Tự động")
    assert AuditEvent.objects.get(event_type=EventType.PAIR_DECIDED).data["automatic"] is True
    for waiting in (likely, needs_choice):
        waiting.refresh_from_db()
        assert waiting.status == CandidatePair.Status.PENDING


def test_auto_merge_is_off_without_a_threshold(hung: Citizen, duplicate: Citizen) -> None:
    run = match_run(auto_merge_threshold=None)
    pair = candidate_pair(hung, duplicate, run=run, probability=1.0)
    result = decisions.candidate_pairs_auto_merge(actor=Actor(system="match"), run=run)
    assert (result.decided, result.waiting) == ([], {})
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, None), ("off", None), ("0", None), ("0.9999", 0.9999), ("1", 1.0)]
)
def test_the_auto_merge_setting(
    monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: float | None
) -> None:
    if raw is None:
        monkeypatch.delenv("DANCU_MATCH_AUTO_MERGE", raising=False)
    else:
        monkeypatch.setenv("DANCU_MATCH_AUTO_MERGE", raw)
    assert env_probability_or_off("DANCU_MATCH_AUTO_MERGE", minimum=0.999) == expected


@pytest.mark.parametrize("raw", ["0.9", "1.5", "sure", "nan"])
def test_a_risky_auto_merge_setting_stops_the_start(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("DANCU_MATCH_AUTO_MERGE", raw)
    with pytest.raises(ImproperlyConfigured, match="DANCU_MATCH_AUTO_MERGE"):
        env_probability_or_off("DANCU_MATCH_AUTO_MERGE", minimum=0.999)


@pytest.mark.parametrize("death", ["31/02/2026", "1960-01-01", "2090-01-01"])
def test_a_death_date_the_registry_cannot_take_does_not_block_the_link(
    thu: User, hung: Citizen, death: str
) -> None:
    # Not a date, before the birth (1990), in the future: the registry never takes such a value, and the
    # officer who knows the row is Hùng's must still be able to say so.
    row = staged_row(full_name="Nguyen Van Hung", death_date=death)
    pair = decide(thu, candidate_pair(hung, row), same=True)
    assert pair.status == CandidatePair.Status.SAME
    hung.refresh_from_db()
    assert not hung.is_deceased
    assert not AuditEvent.objects.filter(event_type=EventType.CITIZEN_DECEASED).exists()
    deceased = AuditEvent.objects.get(event_type=EventType.PAIR_DECIDED).data["deceased"]
    assert deceased["date_of_death"] == death
    assert deceased["not_recorded"]


def test_a_record_merged_outside_the_area_is_not_named(personas: Personas, thu: User) -> None:
    # Khuê lives in Hồng Hà; two records of her were made in Hoàn Kiếm. The supervisor of Hà Nội merges
    # one of them into her record: Thu, of Hoàn Kiếm, may not read the record it went into.
    khue = make_citizen(full_name="Bùi Khánh Khuê", sex="F", commune_code=HONG_HA, address="Số 3 phố Hồng Hà")
    first = make_citizen(full_name="Bùi Khánh Khuê", sex="F")
    second = make_citizen(full_name="Bui Khanh Khue", sex="F")
    registry_services.citizen_merge(
        actor=Actor(personas.cuong),
        keep=khue,
        absorb=first,
        reason=REASON,
        source_document="",
        choices={"permanent": "keep"},
    )
    pair = candidate_pair(first, second)

    detail = selectors.pair_get(actor=thu, pk=pair.pk, purpose="test")
    merged = [c for c in detail.conflicts if c.code == "citizen.merged"]
    assert merged
    assert all(khue.pin not in c.message_vi + c.message_en for c in merged)
    assert "ngoài địa bàn" in merged[0].message_vi
    with pytest.raises(DomainError) as exc:
        decide(thu, pair, same=True)
    assert codes(exc) == {"citizen.merged"}
    assert khue.pin not in str([e.as_dict() for e in exc.value.errors])
    assert not AccessLog.objects.filter(actor=thu, citizen=khue).exists()

    # The supervisor may read it: the refusal names it, and the page's read of it is logged.
    detail = selectors.pair_get(actor=personas.cuong, pk=pair.pk, purpose="test")
    assert any(khue.pin in c.message_vi for c in detail.conflicts if c.code == "citizen.merged")
    assert AccessLog.objects.filter(actor=personas.cuong, citizen=khue).exists()


def test_a_reason_in_decomposed_unicode_is_kept_composed(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    import unicodedata

    reason = "Lý do trùng hồ sơ"
    decisions.candidate_pair_decide(
        actor=Actor(thu),
        pair=candidate_pair(hung, duplicate),
        same=False,
        reason=unicodedata.normalize("NFD", reason),
    )
    assert CandidatePair.objects.get().decision_reason == unicodedata.normalize("NFC", reason)


def test_the_sides_show_the_sex_as_a_person_reads_it(thu: User, hung: Citizen) -> None:
    pair = candidate_pair(hung, staged_row())
    rows = {row.name: row for row in selectors.pair_get(actor=thu, pk=pair.pk, purpose="test").rows}
    assert (rows["sex"].left, rows["sex"].right, rows["sex"].differs) == ("Nam", "Nam", False)


def test_a_row_already_written_as_the_other_sides_citizen_is_marked_as_one_and_nothing_is_merged(
    thu: User, hung: Citizen
) -> None:
    # The row reached the registry as Hùng (an approved row, or its applied form) after the run proposed
    # it beside him: both sides are one record, and saying so writes no merge.
    row = staged_row(full_name="Nguyen Van Hung")
    pair = candidate_pair(hung, row)
    row.citizen = hung
    row.save(update_fields=["citizen"])

    pair = decide(thu, pair, same=True)

    assert pair.status == CandidatePair.Status.SAME
    assert AuditEvent.objects.get(event_type=EventType.PAIR_DECIDED).data["citizen_id"] == hung.pk
    assert not CitizenMerge.objects.exists()
    assert Citizen.objects.filter(pk=hung.pk, merged_into__isnull=True).exists()


def test_a_row_dated_death_does_not_replace_the_death_the_registry_already_holds(
    thu: User, hung: Citizen
) -> None:
    registry_services.citizen_update(
        actor=SYSTEM,
        citizen=hung,
        changes={"date_of_death": "2024-03-09"},
        reason="Khai tử",
        source_document="Trích lục khai tử",
    )
    hung.refresh_from_db()
    row = staged_row(full_name="Nguyen Van Hung", death_date="2024-11-02")

    pair = decide(thu, candidate_pair(hung, row), same=True)

    assert pair.status == CandidatePair.Status.SAME
    hung.refresh_from_db()
    assert hung.date_of_death.to_storage() == "2024-03-09"
    assert AuditEvent.objects.filter(event_type=EventType.CITIZEN_DECEASED).count() == 1
    assert "deceased" not in AuditEvent.objects.get(event_type=EventType.PAIR_DECIDED).data
