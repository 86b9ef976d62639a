"""`dancu match --registry`: the registry's citizens and the staged legacy rows matched as one population,
the pairs written to the review queue of the left side's commune, and a settled pair never proposed
again."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from dancu.audit import services as audit_services
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection.models import ImportRun, StagingRecord
from dancu.lib.errors import DomainError
from dancu.lib.vntext import fold
from dancu.matching.models import CandidatePair, MatchRun
from dancu.matching.services.runs import MATCH_READ_PURPOSE, match_run_registry, pair_key
from dancu.registry.bulk import load_population, placement_choices
from dancu.registry.generator import generate_population
from dancu.registry.models import Citizen

pytestmark = pytest.mark.django_db

TODAY = date(2025, 7, 1)
SYSTEM = Actor(system="test")


def _population() -> list[Citizen]:
    households = generate_population(
        people=120, seed=7, communes=placement_choices(communes=["00070", "00097"]), today=TODAY
    )
    load_population(households, actor=Actor(system="generate"))
    return list(Citizen.objects.order_by("pk"))


def _stage(citizens: list[Citizen]) -> list[StagingRecord]:
    """The same people again as rows of an old household register: names in capitals without marks,
    dates written DD/MM/YYYY, no PIN (the old books predate it)."""
    run = ImportRun.objects.create(
        source="Sổ hộ khẩu 2015",
        file_name="hk2015.csv",
        file_sha256="0" * 64,
        file_size=1,
        file_format=ImportRun.Format.CSV,
        started_label="system:test",
        status=ImportRun.Status.DONE,
    )
    rows = []
    for number, citizen in enumerate(citizens, start=1):
        birth = citizen.birth_date
        raw = {
            "record_id": f"HK-{number}",
            "full_name": fold(citizen.full_name).upper(),
            "gender": "Nam" if citizen.sex == "M" else "Nữ",
            "birth_date": f"{birth.day:02d}/{birth.month:02d}/{birth.year}" if birth.day else str(birth.year),
            "old_id_number": citizen.old_id_number or "",
        }
        normalized = {
            "full_name": raw["full_name"],
            "sex": citizen.sex,
            "birth_date": birth.to_storage(),
            "old_id_number": raw["old_id_number"],
            "address": "",
        }
        rows.append(
            StagingRecord.objects.create(
                run=run, row_number=number, status=StagingRecord.Status.REVIEW, raw=raw, normalized=normalized
            )
        )
    # Counted as the import counts its rows: read, and waiting for review.
    ImportRun.objects.filter(pk=run.pk).update(rows_read=len(rows), rows_review=len(rows))
    return rows


def test_registry_run_proposes_each_staged_copy_in_its_citizens_commune() -> None:
    citizens = _population()
    twins = citizens[:3]
    staged = _stage(twins)

    run = match_run_registry(actor=SYSTEM, today=TODAY)

    assert run.status == MatchRun.Status.FINISHED
    assert run.records == len(citizens) + len(staged)
    assert run.candidate_pairs >= run.proposed_pairs >= len(staged)
    for citizen, row in zip(twins, staged, strict=True):
        pair = CandidatePair.objects.get(pair_key=pair_key(f"s:{row.pk}", f"c:{citizen.pk}"))
        assert pair.left_citizen == citizen
        assert pair.right_staging == row
        assert pair.unit == citizen.area_commune
        assert pair.status == CandidatePair.Status.PENDING
        assert pair.match_probability >= run.threshold
        evidence = {entry["field"]: entry for entry in pair.comparisons}
        assert evidence["full_name"]["level"] == "same letters without tone marks and đ"
        assert evidence["full_name"]["left"] == citizen.full_name
        assert evidence["full_name"]["weight"] > 0
        assert sum(entry["weight"] for entry in pair.comparisons) == pytest.approx(
            pair.match_weight - run.summary["prior_weight"], abs=0.01
        )
    event = AuditEvent.objects.get(event_type=EventType.MATCH_RUN_FINISHED, subject_id=str(run.pk))
    assert event.data["proposed_pairs"] == run.proposed_pairs


def test_every_citizen_the_run_reads_is_in_the_access_log_under_the_jobs_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    citizens = _population()
    # More citizens than one batch of rows, so the log is written in several.
    monkeypatch.setattr(audit_services, "ACCESS_LOG_BATCH", 50)
    run = match_run_registry(actor=Actor(system="dancu match --registry"), today=TODAY)

    rows = AccessLog.objects.filter(detail=f"lượt đối chiếu #{run.pk}")
    assert sorted(rows.values_list("citizen_id", flat=True)) == [c.pk for c in citizens]
    assert set(rows.values_list("actor_id", "actor_label", "action", "channel", "purpose")) == {
        (None, "system:dancu match --registry", "process", "job", MATCH_READ_PURPOSE)
    }
    assert run.summary["citizens_logged"] == len(citizens)
    event = AuditEvent.objects.get(event_type=EventType.MATCH_RUN_FINISHED, subject_id=str(run.pk))
    assert event.data["citizens_logged"] == len(citizens)
    # A citizen reads the job's read in their own log, named.
    log = AccessLog.objects.get(citizen=citizens[0], detail=f"lượt đối chiếu #{run.pk}")
    assert log.get_action_display() == "Xử lý tự động"
    assert "system:dancu match --registry" in str(log)


def test_a_staged_row_already_written_to_the_registry_is_not_matched_again() -> None:
    citizens = _population()
    staged = _stage(citizens[:3])
    # The first row reached the registry as the first citizen (an approved row, or its applied form).
    StagingRecord.objects.filter(pk=staged[0].pk).update(citizen=citizens[0])

    match_run_registry(actor=SYSTEM, today=TODAY)

    assert not CandidatePair.objects.filter(left_staging=staged[0]).exists()
    assert not CandidatePair.objects.filter(right_staging=staged[0]).exists()
    for citizen, row in zip(citizens[1:3], staged[1:3], strict=True):
        assert CandidatePair.objects.filter(pair_key=pair_key(f"c:{citizen.pk}", f"s:{row.pk}")).exists()


def test_a_decided_pair_is_never_proposed_again_and_a_pending_one_is_refreshed() -> None:
    citizens = _population()
    staged = _stage(citizens[:2])
    first = match_run_registry(actor=SYSTEM, today=TODAY)
    settled = CandidatePair.objects.get(pair_key=pair_key(f"c:{citizens[0].pk}", f"s:{staged[0].pk}"))
    waiting = CandidatePair.objects.get(pair_key=pair_key(f"c:{citizens[1].pk}", f"s:{staged[1].pk}"))
    # An officer said "not the same person" (the review's service records it the same way).
    CandidatePair.objects.filter(pk=settled.pk).update(
        status=CandidatePair.Status.DIFFERENT,
        decided_at=timezone.now(),
        decision_reason="hai người khác nhau",
    )
    pairs_before = CandidatePair.objects.count()

    second = match_run_registry(actor=SYSTEM, today=TODAY)

    assert CandidatePair.objects.count() == pairs_before
    settled.refresh_from_db()
    assert (settled.run, settled.status) == (first, CandidatePair.Status.DIFFERENT)
    waiting.refresh_from_db()
    assert (waiting.run, waiting.status) == (second, CandidatePair.Status.PENDING)
    assert second.summary["already_decided"] >= 1
    assert second.summary["refreshed"] == second.proposed_pairs


def test_pairs_above_the_configured_certainty_are_merged_at_the_end_of_the_run(settings: Any) -> None:
    settings.DANCU_MATCH_AUTO_MERGE = 0.999
    citizens = _population()
    staged = _stage(citizens[:2])

    run = match_run_registry(actor=SYSTEM, today=TODAY)

    assert run.auto_merge_threshold == 0.999
    pairs = CandidatePair.objects.filter(right_staging__in=staged)
    certain = [pair for pair in pairs if pair.match_probability >= 0.999]
    assert certain
    assert all(pair.status != CandidatePair.Status.PENDING for pair in certain)
    assert run.summary["auto_merged"] == len(certain)


def test_without_a_configured_certainty_every_pair_waits_for_an_officer() -> None:
    citizens = _population()
    _stage(citizens[:1])
    run = match_run_registry(actor=SYSTEM, today=TODAY)
    assert run.auto_merge_threshold is None
    assert run.summary["auto_merged"] == 0
    assert not CandidatePair.objects.exclude(status=CandidatePair.Status.PENDING).exists()


def test_command_runs_over_the_registry() -> None:
    citizens = _population()
    _stage(citizens[:1])
    out = io.StringIO()
    call_command("match", "--registry", "--today", "2025-07-01", stdout=out, stderr=io.StringIO())
    run = MatchRun.objects.get()
    assert f"run {run.pk}" in out.getvalue()
    assert run.proposed_pairs >= 1


def test_an_empty_registry_is_a_finished_run_with_nothing_proposed() -> None:
    run = match_run_registry(actor=SYSTEM, today=TODAY)
    assert (run.status, run.records, run.proposed_pairs) == (MatchRun.Status.FINISHED, 0, 0)


def test_the_command_merges_the_most_certain_pairs_when_configured(settings: object) -> None:
    settings.DANCU_MATCH_AUTO_MERGE = 0.999  # type: ignore[attr-defined]
    citizens = _population()
    _stage(citizens[:3])
    out = io.StringIO()
    call_command("match", "--registry", "--today", "2025-07-01", stdout=out, stderr=io.StringIO())
    run = MatchRun.objects.get()
    assert run.auto_merge_threshold == 0.999
    pairs = CandidatePair.objects.filter(run=run)
    # A staged copy the matcher is certain of is linked to its citizen without an officer.
    certain_links = pairs.filter(
        match_probability__gte=0.999, left_citizen__isnull=False, right_staging__isnull=False
    )
    assert certain_links.exists()
    assert set(certain_links.values_list("status", flat=True)) == {CandidatePair.Status.SAME}
    decided = AuditEvent.objects.filter(event_type=EventType.PAIR_DECIDED)
    assert decided.count() == pairs.exclude(status=CandidatePair.Status.PENDING).count()
    assert all(event.data["automatic"] for event in decided)
    # Everything below the threshold waits for an officer.
    assert not pairs.filter(match_probability__lt=0.999).exclude(status=CandidatePair.Status.PENDING).exists()
    assert "pairs decided" in out.getvalue()


def test_a_pending_pair_the_next_run_no_longer_proposes_leaves_the_queue_and_a_decided_one_stays() -> None:
    citizens = _population()
    staged = _stage(citizens[:3])
    match_run_registry(actor=SYSTEM, today=TODAY)
    keys = [
        pair_key(f"c:{citizen.pk}", f"s:{row.pk}") for citizen, row in zip(citizens, staged, strict=False)
    ]
    pairs = [CandidatePair.objects.get(pair_key=key) for key in keys]
    assert {pair.status for pair in pairs} == {CandidatePair.Status.PENDING}
    # An officer decided the first pair; then the second staged row is corrected to another person, and
    # the third's citizen is re-proposed as before.
    CandidatePair.objects.filter(pk=pairs[0].pk).update(
        status=CandidatePair.Status.DIFFERENT,
        decided_at=timezone.now(),
        decision_reason="hai người khác nhau",
    )
    corrected = staged[1]
    staged_before = (dict(corrected.normalized), dict(corrected.raw))
    other = {"full_name": "HOANG THI MY LE", "birth_date": "1931-12-30", "old_id_number": ""}
    corrected.normalized = {**corrected.normalized, **other}
    corrected.raw = {**corrected.raw, **other, "birth_date": "30/12/1931"}
    corrected.save(update_fields=["normalized", "raw"])

    second = match_run_registry(actor=SYSTEM, today=TODAY)

    for pair in pairs:
        pair.refresh_from_db()
    assert pairs[0].status == CandidatePair.Status.DIFFERENT  # an officer's decision stands
    assert pairs[1].status == CandidatePair.Status.WITHDRAWN
    assert pairs[1].decided_by is None
    assert pairs[2].status == CandidatePair.Status.PENDING
    assert pairs[2].run == second
    assert second.summary["withdrawn"] == 1
    event = AuditEvent.objects.filter(
        event_type=EventType.MATCH_RUN_FINISHED, subject_id=str(second.pk)
    ).get()
    assert event.data["withdrawn"] == 1

    # The correction was a slip, taken back: the next run believes the pair again, and it waits in the
    # queue once more (withdrawn is no one's decision).
    corrected.normalized, corrected.raw = staged_before
    corrected.save(update_fields=["normalized", "raw"])
    third = match_run_registry(actor=SYSTEM, today=TODAY)
    pairs[1].refresh_from_db()
    assert (pairs[1].status, pairs[1].run, pairs[1].decided_at) == (CandidatePair.Status.PENDING, third, None)
    assert third.summary["returned"] == 1
    pairs[0].refresh_from_db()
    assert pairs[0].status == CandidatePair.Status.DIFFERENT


def test_a_record_merged_away_is_not_read_and_its_pending_pairs_leave_the_queue() -> None:
    citizens = _population()
    staged = _stage(citizens[:1])
    match_run_registry(actor=SYSTEM, today=TODAY)
    pair = CandidatePair.objects.get(pair_key=pair_key(f"c:{citizens[0].pk}", f"s:{staged[0].pk}"))
    # The citizen was merged into another record since (as citizen_merge leaves it).
    Citizen.objects.filter(pk=citizens[0].pk).update(merged_into=citizens[1])

    second = match_run_registry(actor=SYSTEM, today=TODAY)

    assert second.records == len(citizens) - 1 + 1
    assert not CandidatePair.objects.filter(run=second, left_citizen=citizens[0]).exists()
    assert not CandidatePair.objects.filter(run=second, right_citizen=citizens[0]).exists()
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.WITHDRAWN


def test_the_registry_run_prepares_in_worker_processes_with_the_same_result(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dancu.matching import prepare
    from dancu.matching.services.runs import _citizen_rows, _Population, _prepare, _staged_rows

    forks: list[int] = []
    parallel = prepare._prepare_parallel

    def counted(*args: Any, **kwargs: Any) -> Any:
        forks.append(kwargs["workers"])
        return parallel(*args, **kwargs)

    monkeypatch.setattr(prepare, "_prepare_parallel", counted)

    citizens = _population()
    _stage(citizens[:5])
    population = _Population(rows={}, communes={}, provinces={}, details={})
    _citizen_rows(population)
    _staged_rows(population)

    settings.DANCU_MATCH_WORKERS = 1
    serial = _prepare(population, TODAY, parallel_above=10)
    settings.DANCU_MATCH_WORKERS = 2
    forked = _prepare(population, TODAY, parallel_above=10)

    assert forks == [2]  # the serial run started no worker, the other two
    assert len(serial.columns["unique_id"]) == len(citizens) + 5
    assert forked.columns == serial.columns


@pytest.mark.parametrize("threshold", [0.0, 1.0, -0.5, 1.5])
def test_a_threshold_that_is_no_probability_is_refused_before_a_run_is_recorded(threshold: float) -> None:
    with pytest.raises(DomainError) as exc:
        match_run_registry(actor=SYSTEM, today=TODAY, threshold=threshold)
    assert [(e.field, e.code) for e in exc.value.errors] == [("threshold", "threshold.range")]
    assert not MatchRun.objects.exists()


def test_a_run_that_fails_is_recorded_as_failed_with_its_error_and_proposes_nothing() -> None:
    citizens = _population()
    _stage(citizens[:2])

    with pytest.raises(ValueError, match="unknown backend"):
        match_run_registry(actor=SYSTEM, today=TODAY, backend="no such engine")

    run = MatchRun.objects.get()
    assert run.status == MatchRun.Status.FAILED
    assert run.summary["error"] == "ValueError: unknown backend 'no such engine'"
    assert not CandidatePair.objects.exists()


def test_a_run_stopped_by_ctrl_c_is_recorded_as_stopped_not_left_running() -> None:
    citizens = _population()
    _stage(citizens[:2])

    def stop(message: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        match_run_registry(actor=SYSTEM, today=TODAY, progress=stop)

    run = MatchRun.objects.get()
    assert run.status == MatchRun.Status.FAILED
    assert run.summary["error"] == "stopped (Ctrl-C or SIGTERM)"
    assert run.finished_at is not None
    assert not CandidatePair.objects.exists()


def test_two_copies_of_a_person_in_legacy_rows_without_an_address_are_counted_not_queued() -> None:
    # Rows with no address name no commune, so no commune's officers review a pair of two of them; each
    # row's pair with the citizen it copies goes to that citizen's commune, and the next run, after the
    # rows reached the registry, sees the two as records of a commune.
    citizens = _population()
    first = _stage(citizens[:1])
    ImportRun.objects.update(file_sha256="1" * 64)  # the second book is another file
    second = _stage(citizens[:1])

    run = match_run_registry(actor=SYSTEM, today=TODAY)

    assert run.summary["unrouted"] == 1
    assert not CandidatePair.objects.filter(left_staging=first[0], right_staging=second[0]).exists()
    assert not CandidatePair.objects.filter(left_staging=second[0], right_staging=first[0]).exists()
    for row in (first[0], second[0]):
        assert CandidatePair.objects.filter(pair_key=pair_key(f"c:{citizens[0].pk}", f"s:{row.pk}")).exists()
