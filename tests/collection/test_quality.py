"""The quality scorecard: which indicator and which rule each faulty record fails, the unit figures, the
daily snapshots, and the audit event written once when a record becomes clean.

The people live in Phường Hoàn Kiếm unless a test says otherwise; each starts complete and consistent
(see quality_support) and a test breaks exactly what it is about.
"""

from __future__ import annotations

import io
import unicodedata
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import audit_event_record
from dancu.collection.models import ImportRun, StagingRecord
from dancu.collection.quality.checks import Indicator, failure_message
from dancu.collection.quality.models import QualityAssessment, QualityPass, QualitySnapshot
from dancu.collection.quality.services import (
    QUALITY_READ_PURPOSE,
    changed_citizen_ids,
    quality_pass_run,
    quality_records_assess,
    quality_snapshot_take,
)
from dancu.lib.tasks import enqueue
from dancu.matching.models import CandidatePair, MatchRun
from dancu.registry import services
from dancu.registry.models import Citizen, HouseholdMember, Residence
from tests.collection.quality_support import QUALITY, complete_citizen, failures_of, force, join
from tests.conftest import HOAN_KIEM, HONG_HA, SYSTEM, commune, legacy_commune
from tests.matching.factories import candidate_pair, staged_row
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db


def today() -> date:
    """The day the services count in, read when a test needs it: a date taken when the module was
    imported is yesterday's for the tests that run after midnight in Hà Nội (17:00 UTC)."""
    return timezone.localdate()


def assess(*citizens: Citizen, on: date | None = None) -> None:
    quality_records_assess(actor=QUALITY, citizen_ids=[c.pk for c in citizens], today=on or today())


def current_residence(citizen: Citizen) -> Residence:
    return citizen.residences.get(ended_on__isnull=True)


def verdict(citizen: Citizen) -> QualityAssessment:
    return QualityAssessment.objects.get(citizen=citizen)


# A complete record ------------------------------------------------------------------------------------------


def test_a_complete_consistent_record_passes_all_four_indicators_with_a_score_of_100():
    hung = complete_citizen("Nguyễn Văn Hùng", old_id_number="012345678")
    assess(hung)
    assessment = verdict(hung)
    assert (assessment.dung, assessment.du, assessment.sach, assessment.song) == (True, True, True, True)
    assert assessment.passed_all
    assert assessment.score == 100
    assert assessment.failures == []
    assert assessment.citizen_version == hung.version


# đúng ---------------------------------------------------------------------------------------------------


def test_a_pin_that_disagrees_with_the_birth_year_sex_and_registration_place_fails_dung():
    hung = complete_citizen("Nguyễn Văn Hùng")
    force(hung, birth_date="1991-05-17", sex="F", birth_registration_place="079")
    assess(hung)
    assert failures_of(hung) == [
        ("dung", "pin", "pin.sex_mismatch"),
        ("dung", "pin", "pin.year_mismatch"),
        ("dung", "pin", "pin.place_mismatch"),
    ]
    assessment = verdict(hung)
    assert (assessment.dung, assessment.du, assessment.sach, assessment.song) == (False, True, True, True)
    assert assessment.score == 75


def test_a_place_of_birth_registration_that_is_no_code_fails_dung():
    hung = complete_citizen("Nguyễn Văn Hùng")
    force(hung, birth_registration_place="099")
    assess(hung)
    assert ("dung", "birth_registration_place", "place.unknown") in failures_of(hung)


def test_a_parent_too_young_fails_dung_on_both_records():
    # Twelve years apart by the calendar year, which is all the registry's link service compares; eleven
    # and a half by the dates.
    father = complete_citizen("Nguyễn Văn Cha", birth_date="1978-06-01")
    son = complete_citizen("Nguyễn Văn Con", birth_date="1990-01-01", address="Số 2 phố Hàng Trống")
    services.family_link_add(
        actor=SYSTEM, citizen=son, kind="father", relative=father, reason="Khai sinh", source_document="GKS"
    )
    assess(father, son)
    assert failures_of(son) == [("dung", "father_birth_date", "family.parent_too_young")]
    assert failures_of(father) == [("dung", "birth_date", "family.parent_too_young")]


def test_death_before_birth_fails_dung_and_a_residence_left_after_death_fails_song():
    hung = complete_citizen("Nguyễn Văn Hùng")
    force(hung, date_of_death="1980")
    assess(hung)
    assert failures_of(hung) == [
        ("dung", "date_of_death", "date.death_before_birth"),
        ("song", "residence", "residence.after_death"),
    ]
    assert verdict(hung).score == 50


def test_invalid_fields_of_the_record_fail_dung_with_the_registry_rule():
    hung = complete_citizen("Nguyễn Văn Hùng")
    force(hung, phone="12", ethnicity="99", blood_type="X", blood_type_source="Bệnh viện Bạch Mai")
    assess(hung)
    assert failures_of(hung) == [
        ("dung", "ethnicity", "ethnicity.unknown"),
        ("dung", "blood_type", "blood_type.unknown"),
        ("dung", "phone", "phone.format"),
    ]


def test_a_legacy_commune_that_never_became_the_residence_commune_is_only_a_warning():
    hung = complete_citizen("Nguyễn Văn Hùng")
    force(current_residence(hung), legacy_commune=legacy_commune("09841"))
    assess(hung)
    assert verdict(hung).passed_all


# đủ ---------------------------------------------------------------------------------------------------------


def test_missing_mandatory_fields_fail_du():
    hung = complete_citizen("Nguyễn Văn Hùng", native_place="")
    force(hung, birth_place="", nationality="")
    assess(hung)
    assert failures_of(hung) == [
        ("dung", "nationality", "nationality.format"),
        ("du", "birth_place", "field.required"),
        ("du", "native_place", "field.required"),
        ("du", "nationality", "field.required"),
    ]


def test_a_blank_name_or_sex_fails_du_only():
    hung = complete_citizen("Nguyễn Văn Hùng")
    force(hung, full_name="", sex="")
    assess(hung)
    # The PIN cannot be compared with a sex the record does not give: nothing for đúng.
    assert failures_of(hung) == [("du", "full_name", "name.required"), ("du", "sex", "sex.required")]


def test_a_permanent_resident_in_no_household_fails_du():
    hung = complete_citizen("Nguyễn Văn Hùng", household=False)
    assess(hung)
    assert failures_of(hung) == [("du", "household", "household.none")]


def test_a_household_without_a_head_fails_du_for_every_member():
    hung = complete_citizen("Nguyễn Văn Hùng")
    lan = complete_citizen("Trần Thị Lan", sex="F", household=False, address="Số 1 phố Hàng Trống")
    household = hung.household_memberships.get().household
    join(household, lan, "spouse")
    force(HouseholdMember.objects.get(citizen=hung), relation_to_head="other")
    assess(hung, lan)
    expected = [("du", "household", "household.no_head")]
    assert failures_of(hung) == expected
    assert failures_of(lan) == expected
    message = failure_message(verdict(lan).failures[0], "en")
    assert message == f"The household {household.number} has no head."


def test_a_citizen_without_a_current_residence_fails_du():
    hung = complete_citizen("Nguyễn Văn Hùng", household=False)
    services.residence_end(
        actor=SYSTEM,
        residence=current_residence(hung),
        ended_on=today(),
        reason="Chuyển đi",
        source_document="CT01",
    )
    assess(hung)
    assert failures_of(hung) == [("du", "residence", "residence.required")]


# sạch -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "steps"),
    [
        ("nguyễn văn hùng", "repair.case"),
        ("Nguyễn Văn  Hùng ", "repair.whitespace"),
        ("Nguyễn Văn Hoà", "repair.tone_placement"),
        (unicodedata.normalize("NFD", "Nguyễn Văn Hùng"), "repair.nfc"),
    ],
)
def test_a_name_not_in_canonical_form_fails_sach_naming_the_repairs_it_needs(stored, steps):
    hung = complete_citizen("Nguyễn Văn Hùng")
    force(hung, full_name=stored)
    assess(hung)
    assert failures_of(hung) == [("sach", "full_name", "name.not_canonical")]
    failure = verdict(hung).failures[0]
    assert failure["params"]["steps"] == steps
    canonical = "Nguyễn Văn Hòa" if "Ho" in stored else "Nguyễn Văn Hùng"
    assert failure["params"]["canonical"] == canonical
    assert failure_message(failure, "vi").startswith("Họ, chữ đệm và tên chưa ở dạng chuẩn")


def test_a_residence_in_a_legacy_unit_fails_sach():
    hung = complete_citizen("Nguyễn Văn Hùng")
    force(current_residence(hung), commune=legacy_commune("09841"))
    assess(hung)
    assert ("sach", "commune", "unit.not_commune") in failures_of(hung)


@pytest.mark.parametrize(
    ("status", "code"),
    [("pending", "record.duplicate_pending"), ("same", "record.duplicate_confirmed"), ("different", None)],
)
def test_a_possible_or_confirmed_duplicate_fails_sach_on_both_records(status, code):
    hung = complete_citizen("Nguyễn Văn Hùng")
    hung2 = complete_citizen("Nguyễn Văn Hùng", address="Số 9 phố Hàng Trống", birth_date="1990-05-18")
    run = MatchRun.objects.create(backend="duckdb", threshold=0.9)
    pair = CandidatePair.objects.create(
        run=run,
        left_citizen=hung,
        right_citizen=hung2,
        pair_key=f"c:{hung.pk}|c:{hung2.pk}",
        unit=commune(HOAN_KIEM),
        match_weight=12.0,
        match_probability=0.97,
        status=status,
        decided_at=None if status == "pending" else timezone.now(),
    )
    assess(hung, hung2)
    expected = [] if code is None else [("sach", "pin", code)]
    assert failures_of(hung) == expected
    assert failures_of(hung2) == expected
    if code is not None:
        assert verdict(hung).failures[0]["params"] == {"pair": pair.pk}


def staged_as(citizen: Citizen, row: int) -> StagingRecord:
    """A row of an import that was written to the registry as `citizen`."""
    run, _created = ImportRun.objects.get_or_create(
        source="Sổ hộ khẩu cũ",
        file_sha256="0" * 64,
        defaults={"file_name": "so.csv", "file_size": 1, "file_format": "csv", "started_label": "test"},
    )
    return StagingRecord.objects.create(
        run=run, row_number=row, status=StagingRecord.Status.APPROVED, raw={}, citizen=citizen
    )


def test_a_pending_pair_of_staged_rows_now_citizens_fails_sach_on_both_records():
    # The matcher paired two rows while they were staged; both were written to the registry since. The pair
    # still says they may be the same person, so neither record is clean.
    hung = complete_citizen("Nguyễn Văn Hùng")
    hung2 = complete_citizen("Nguyễn Văn Hùng", address="Số 9 phố Hàng Trống", birth_date="1990-05-18")
    lan = complete_citizen("Trần Thị Lan")
    left, right = staged_as(hung, 1), staged_as(hung2, 2)
    run = MatchRun.objects.create(backend="duckdb", threshold=0.9)
    pairs = [
        CandidatePair.objects.create(
            run=run,
            pair_key=f"s:{left.pk}|s:{right.pk}",
            left_staging=left,
            right_staging=right,
            unit=commune(HOAN_KIEM),
            match_weight=12.0,
            match_probability=0.97,
        ),
        # A staged side beside a citizen side.
        CandidatePair.objects.create(
            run=run,
            pair_key=f"c:{lan.pk}|s:{right.pk}",
            left_citizen=lan,
            right_staging=right,
            unit=commune(HOAN_KIEM),
            match_weight=12.0,
            match_probability=0.97,
        ),
    ]
    assess(hung, hung2, lan)
    pending = ("sach", "pin", "record.duplicate_pending")
    assert failures_of(hung) == [pending]
    assert failures_of(hung2) == [pending, pending]
    assert failures_of(lan) == [pending]
    # Deciding the pair reassesses the records it names in the next pass over what changed.
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    CandidatePair.objects.filter(pk__in=[p.pk for p in pairs]).update(
        status=CandidatePair.Status.DIFFERENT, decided_at=timezone.now()
    )
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.CHANGED)
    assert failures_of(hung) == failures_of(hung2) == failures_of(lan) == []


def test_a_staged_row_confirmed_as_a_citizens_leaves_no_duplicate_to_merge(sign_in: Any) -> None:
    """Thu decides on the review page that a row of an old household register is Hùng: the row is settled
    as a duplicate of his record (import.duplicate) and no second record exists, so Hùng's record is not
    one of a confirmed duplicate waiting for a merge. A pair of two records decided the same person is."""
    hung = complete_citizen("Nguyễn Văn Hùng")
    row = staged_row(full_name="Nguyen Van Hung")
    pair = candidate_pair(hung, row)
    assess(hung)
    assert failures_of(hung) == [("sach", "pin", "record.duplicate_pending")]
    client = sign_in(Client(), reviewer())

    response = client.post(f"/duplicates/{pair.pk}/decide/", {"decision": "same", "reason": "Cùng một người"})

    assert response.status_code == 302
    pair.refresh_from_db()
    row.refresh_from_db()
    assert (pair.status, row.status, row.citizen_id) == ("same", StagingRecord.Status.REJECTED, None)
    assert row.issues[-1]["code"] == "import.duplicate"
    assess(hung)
    assert failures_of(hung) == []


# sống -------------------------------------------------------------------------------------------------------


def test_an_expired_temporary_residence_still_current_fails_song():
    hung = complete_citizen("Nguyễn Văn Hùng", household=False)
    services.residence_end(
        actor=SYSTEM,
        residence=current_residence(hung),
        ended_on=today() - timedelta(days=400),
        reason="Chuyển đi",
        source_document="CT01",
    )
    expires_on = today() - timedelta(days=10)
    services.residence_register(
        actor=SYSTEM,
        citizen=hung,
        kind="temporary",
        commune=commune(HONG_HA),
        address_detail="Số 5 ngõ Gạch",
        registered_on=today() - timedelta(days=399),
        expires_on=expires_on,
        reason="Tạm trú",
        source_document="CT01",
        # Registered while the stay still ran: an expired stay is refused at registration.
        today=expires_on - timedelta(days=30),
    )
    assess(hung)
    assert failures_of(hung) == [("song", "residence", "residence.expired")]
    assert verdict(hung).failures[0]["params"] == {"expires_on": expires_on.isoformat()}
    # On the day it expired the same residence was still fine.
    assess(hung, on=expires_on)
    assert verdict(hung).passed_all


def test_someone_over_120_without_a_date_of_death_fails_song():
    old = complete_citizen("Nguyễn Văn Cụ", birth_date="1906-06-01")
    assess(old, on=date(2026, 7, 1))
    assert verdict(old).passed_all
    assess(old, on=date(2027, 7, 1))
    assert failures_of(old) == [("song", "birth_date", "date.age_implausible")]


# Every rule message in both languages ----------------------------------------------------------------------


def test_every_stored_failure_has_a_message_in_both_languages():
    hung = complete_citizen("nguyễn văn hùng", household=False, native_place="")
    force(hung, sex="F", date_of_death="1980")
    assess(hung)
    for failure in verdict(hung).failures:
        vietnamese, english = failure_message(failure, "vi"), failure_message(failure, "en")
        assert vietnamese
        assert english
        assert vietnamese != english
        assert "{" not in vietnamese + english


# Units, passes and snapshots -----------------------------------------------------------------------------


def population() -> dict[str, Citizen]:
    """Four people of Hoàn Kiếm (one clean, one failing đúng, one failing đủ and sạch, one failing sống) and
    one clean person of Hồng Hà."""
    people = {
        "clean": complete_citizen("Nguyễn Văn Hùng"),
        "dung": complete_citizen("Lê Văn Đúng", address="Số 2 phố Hàng Trống"),
        "du_sach": complete_citizen("Trần Văn Đủ", household=False, address="Số 3 phố Hàng Trống"),
        "song": complete_citizen("Phạm Văn Sống", address="Số 4 phố Hàng Trống"),
        "hong_ha": complete_citizen("Lê Thị Mai", sex="F", commune_code=HONG_HA, address="Số 5 ngõ Gạch"),
    }
    force(people["dung"], birth_date="1991-05-17")
    force(people["du_sach"], full_name="trần văn đủ")
    force(people["song"], date_of_death="2020")
    return people


def test_a_pass_over_everything_stores_the_figures_of_each_unit_for_the_day():
    people = population()
    run = quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    assert (run.assessed, run.cleaned) == (5, 0)
    assert failures_of(people["du_sach"]) == [
        ("du", "household", "household.none"),
        ("sach", "full_name", "name.not_canonical"),
    ]
    hoan_kiem = QualitySnapshot.objects.get(unit=commune(HOAN_KIEM), day=today())
    counts = (hoan_kiem.records, hoan_kiem.dung, hoan_kiem.du, hoan_kiem.sach, hoan_kiem.song)
    assert counts == (4, 3, 3, 3, 3)
    assert hoan_kiem.passed_all == 1
    hanoi = QualitySnapshot.objects.get(unit=commune(HOAN_KIEM).parent, day=today())
    assert (hanoi.records, hanoi.passed_all) == (5, 2)
    country = QualitySnapshot.objects.get(unit__isnull=True, day=today())
    assert (country.records, country.passed_all) == (5, 2)
    event = AuditEvent.objects.get(event_type=EventType.QUALITY_ASSESSED)
    assert event.data["assessed"] == 5
    assert event.actor_label == "system:quality-test"


def test_the_snapshots_of_each_day_keep_that_days_figures():
    people = population()
    day1, day2 = today() - timedelta(days=2), today() - timedelta(days=1)
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL, today=day1)
    services.citizen_update(
        actor=SYSTEM,
        citizen=Citizen.objects.get(pk=people["dung"].pk),
        changes={"birth_date": "1990-05-17"},
        reason="Sửa ngày sinh theo giấy khai sinh",
        source_document="GKS",
    )
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.CHANGED, today=day2)
    # A second pass on the same day replaces that day's figures instead of adding to them.
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.CHANGED, today=day2)
    rows = QualitySnapshot.objects.filter(unit=commune(HOAN_KIEM)).order_by("day")
    assert [(row.day, row.records, row.dung, row.passed_all) for row in rows] == [
        (day1, 4, 3, 1),
        (day2, 4, 4, 2),
    ]
    # Day 2 was moved from day 1 by what changed, for the units where something changed (the others keep
    # their last figures); a recount from the stored assessments agrees.
    assert snapshot_rows(day2, latest=True) == recounted(day2)


def snapshot_rows(day: date, *, latest: bool = False) -> dict[int | None, tuple[int, ...]]:
    """The figures of each unit on the day, or (latest) as of the day: its last snapshot up to then."""
    rows = QualitySnapshot.objects.filter(day__lte=day) if latest else QualitySnapshot.objects.filter(day=day)
    return {
        row.unit_id: (row.records, row.dung, row.du, row.sach, row.song, row.passed_all)
        for row in rows.order_by("day")
    }


def recounted(day: date) -> dict[int | None, tuple[int, ...]]:
    with transaction.atomic():
        quality_snapshot_take(day=day)
    return snapshot_rows(day)


def test_a_record_that_moves_is_counted_in_its_new_commune_and_no_longer_in_the_old():
    people = population()
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    before = snapshot_rows(today())
    hoan_kiem, hong_ha = commune(HOAN_KIEM), commune(HONG_HA)
    assert (before[hoan_kiem.pk][0], before[hong_ha.pk][0]) == (4, 1)
    services.residence_register(
        actor=SYSTEM,
        citizen=people["du_sach"],
        kind="permanent",
        commune=hong_ha,
        address_detail="Số 9 ngõ Gạch",
        registered_on=today(),
        reason="Chuyển hộ khẩu",
        source_document="CT01",
    )
    run = quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.CHANGED)
    assert run.assessed == 1
    after = snapshot_rows(today())
    # Đủ moved with his two failing indicators: Hoàn Kiếm keeps three records, one passing all four.
    assert before[hoan_kiem.pk] == (4, 3, 3, 3, 3, 1)
    assert after[hoan_kiem.pk] == (3, 2, 3, 3, 2, 1)
    assert after[hong_ha.pk][0] == 2
    assert after[None] == before[None]
    assert after == recounted(today())


def test_records_are_assessed_in_chunks_of_one_transaction_each():
    people = population()
    outcome = quality_records_assess(
        actor=QUALITY, citizen_ids=sorted(c.pk for c in people.values()), chunk_size=2
    )
    assert (outcome.assessed, outcome.cleaned) == (5, 0)
    assert QualityAssessment.objects.count() == 5
    # The day's snapshots were moved chunk by chunk to what a recount finds.
    assert snapshot_rows(today()) == recounted(today())
    assert str(QualitySnapshot.objects.get(unit__isnull=True, day=today())).endswith(": 2/5")
    assert str(verdict(people["clean"])) == f"{people['clean'].pk}: 100"


def test_the_scheduled_tasks_run_a_pass_each():
    population()
    # The migration schedules them; the workers would import them by these names.
    schedules = dict(Schedule.objects.values_list("name", "func"))
    assert schedules["quality: changed records"] == "dancu.collection.quality.tasks.assess_changed"
    assert schedules["quality: all records"] == "dancu.collection.quality.tasks.assess_all"
    enqueue("dancu.collection.quality.tasks.assess_all")
    enqueue("dancu.collection.quality.tasks.assess_changed")
    passes = list(QualityPass.objects.order_by("pk").values_list("scope", "assessed", "actor_label"))
    assert passes == [("all", 5, "system:quality"), ("changed", 0, "system:quality")]
    assert str(QualityPass.objects.first()).startswith("all ")
    # The pass read each record's personal data: each citizen has one access-log row naming the job.
    logged = AccessLog.objects.values_list(
        "citizen_id", "actor_id", "actor_label", "action", "channel", "purpose"
    )
    assert sorted(logged) == sorted(
        (pk, None, "system:quality", "process", "job", QUALITY_READ_PURPOSE)
        for pk in Citizen.objects.values_list("pk", flat=True)
    )


def test_a_record_merged_into_another_is_no_longer_assessed_or_counted():
    people = population()
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL, today=today() - timedelta(days=1))
    # As a merge leaves it: the duplicate points at the record that stayed, its events name it.
    force(people["du_sach"], merged_into=people["clean"])
    services.citizen_update(
        actor=SYSTEM,
        citizen=Citizen.objects.get(pk=people["clean"].pk),
        changes={"phone": "0912345678"},
        reason="Hợp nhất hồ sơ trùng",
        source_document="QĐ hợp nhất",
    )
    audit_event_record_for(people["du_sach"])
    run = quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.CHANGED)
    assert run.assessed == 1
    assert not QualityAssessment.objects.filter(citizen=people["du_sach"]).exists()
    latest = snapshot_rows(today(), latest=True)
    assert latest[commune(HOAN_KIEM).pk] == (3, 2, 3, 3, 2, 1)
    assert latest == recounted(today())


def audit_event_record_for(citizen: Citizen) -> None:
    """The event a merge writes on the record it absorbs."""
    with transaction.atomic():
        audit_event_record(
            actor=SYSTEM,
            event_type=EventType.CITIZEN_UPDATED,
            subject_type="citizen",
            subject_id=citizen.pk,
            data={"merged_into": "x"},
        )


def test_a_unit_pass_assesses_only_that_units_records():
    people = population()
    run = quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.UNIT, unit=commune(HONG_HA))
    assert run.assessed == 1
    assert set(QualityAssessment.objects.values_list("citizen_id", flat=True)) == {people["hong_ha"].pk}


def test_a_record_that_becomes_clean_is_counted_once_toward_its_commune():
    people = population()
    dung = Citizen.objects.get(pk=people["dung"].pk)
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    assert not AuditEvent.objects.filter(event_type=EventType.RECORD_CLEANED).exists()
    services.citizen_update(
        actor=SYSTEM,
        citizen=dung,
        changes={"birth_date": "1990-05-17"},
        reason="Sửa ngày sinh",
        source_document="GKS",
    )
    run = quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.CHANGED)
    assert (run.assessed, run.cleaned) == (1, 1)
    # Assessed again, by every kind of pass: still clean, no second event.
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    assess(dung)
    events = AuditEvent.objects.filter(event_type=EventType.RECORD_CLEANED)
    assert [(e.subject_type, e.subject_id, e.unit_id) for e in events] == [
        ("citizen", str(dung.pk), commune(HOAN_KIEM).pk)
    ]
    assert verdict(dung).passed_all
    assert verdict(dung).citizen_version == Citizen.objects.get(pk=dung.pk).version


def test_a_record_clean_from_its_first_assessment_is_not_counted_as_cleaned():
    hung = complete_citizen("Nguyễn Văn Hùng")
    assess(hung)
    assess(hung)
    assert not AuditEvent.objects.filter(event_type=EventType.RECORD_CLEANED).exists()


def test_a_record_that_fails_again_and_is_cleaned_again_is_counted_again():
    hung = complete_citizen("Nguyễn Văn Hùng")
    force(hung, full_name="nguyễn văn hùng")
    assess(hung)
    force(hung, full_name="Nguyễn Văn Hùng")
    assess(hung)
    force(hung, full_name="nguyễn văn hùng")
    assess(hung)
    force(hung, full_name="Nguyễn Văn Hùng")
    assess(hung)
    assert AuditEvent.objects.filter(event_type=EventType.RECORD_CLEANED).count() == 2


def test_the_changed_pass_picks_the_records_the_registry_changed_and_their_household():
    people = population()
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    last = QualityPass.objects.get()
    assert changed_citizen_ids(since=last.started_at) == []
    newcomer = complete_citizen("Đỗ Văn Mới", household=False, address="Số 8 phố Hàng Trống")
    household = people["clean"].household_memberships.get().household
    join(household, newcomer, "child")
    changed = changed_citizen_ids(since=last.started_at)
    assert changed == sorted([people["clean"].pk, newcomer.pk])


def test_the_changed_pass_assesses_a_bulk_loaded_population():
    population()
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    assert quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.CHANGED).assessed == 0
    call_command("generate", people=30, seed=3, stdout=io.StringIO())
    loaded = Citizen.objects.count() - 5
    assert loaded >= 30
    assert quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.CHANGED).assessed == loaded
    assert QualityAssessment.objects.count() == loaded + 5


def test_the_changed_pass_picks_both_sides_of_a_new_candidate_pair():
    people = population()
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    run = MatchRun.objects.create(backend="duckdb", threshold=0.9)
    CandidatePair.objects.create(
        run=run,
        left_citizen=people["clean"],
        right_citizen=people["hong_ha"],
        pair_key="x",
        unit=commune(HOAN_KIEM),
        match_weight=1.0,
        match_probability=0.95,
    )
    pass_ = quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.CHANGED)
    assert pass_.assessed == 2
    assert failures_of(people["hong_ha"]) == [("sach", "pin", "record.duplicate_pending")]


def test_a_unit_pass_needs_a_2025_unit():
    with pytest.raises(ValueError, match="2025 province or commune"):
        quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.UNIT, unit=legacy_commune("09841"))
    with pytest.raises(ValueError, match="needs a unit"):
        quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.UNIT)


# The command ------------------------------------------------------------------------------------------------


def test_the_command_assesses_a_unit_and_prints_its_figures():
    population()
    out = io.StringIO()
    call_command("quality", "assess", "--unit", HOAN_KIEM, stdout=out)
    text = out.getvalue()
    assert "assessed) 4 hồ sơ" in text
    assert "Phường Hoàn Kiếm: 4 hồ sơ" in text
    assert "Đúng (Correct): 3 (75.0%)" in text
    assert "Cả bốn (all four): 1 (25.0%)" in text


def test_the_command_assesses_everything_then_what_changed():
    population()
    out = io.StringIO()
    call_command("quality", "assess", stdout=out)
    assert "assessed) 5 hồ sơ" in out.getvalue()
    out = io.StringIO()
    call_command("quality", "assess", "--changed", stdout=out)
    assert "assessed) 0 hồ sơ" in out.getvalue()
    assert "Cả nước (country): 5 hồ sơ" in out.getvalue()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("99999", "No 2025 province or commune has the code '99999'"),
        ("0007", "is not valid: give a 2025 province code"),
        ("'; DROP TABLE x;--", "is not valid"),
        ("\x00\u202e", "is not valid"),
    ],
)
def test_the_command_refuses_a_unit_code_it_cannot_use(code, message):
    with pytest.raises(CommandError, match=message):
        call_command("quality", "assess", "--unit", code, stdout=io.StringIO())
    assert not QualityPass.objects.exists()


def test_indicators_have_names_in_both_languages():
    assert [i.label for i in Indicator] == ["Đúng", "Đủ", "Sạch", "Sống"]
