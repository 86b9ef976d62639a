"""A merge of two records, and its undo, reach the quality scorecard at once, not at the next pass.

Nguyễn Văn Hùng of Phường Hoàn Kiếm was recorded twice: once without his native place (quê quán), once
without a household. Each record fails "đủ" (complete). Thu, reviewer of the commune, merges them: the
record kept takes the native place and passes all four indicators, the other no longer counts. The
scorecard says so as soon as the merge commits, without the 15-minute pass having run; when she undoes
the merge, both records count again, each failing "đủ" as before. The transaction's on-commit work runs
as it does in a request (`execute=True`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.collection.quality.models import QualityAssessment, QualityPass
from dancu.collection.quality.selectors import Scorecard, scorecard_get
from dancu.collection.quality.services import REFRESH_ACTOR, quality_pass_run
from dancu.lib.errors import DomainError
from dancu.matching.models import CandidatePair
from dancu.registry import services
from dancu.registry.models import Citizen, CitizenMerge
from tests.collection.quality_support import QUALITY, complete_citizen, failures_of, hoan_kiem_page_count
from tests.conftest import HOAN_KIEM, commune
from tests.matching.factories import candidate_pair
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db

REASON = "Hai hồ sơ cùng một người: trùng họ tên, ngày sinh, nơi ở"
NO_NATIVE_PLACE = ("du", "native_place", "field.required")
NO_HOUSEHOLD = ("du", "household", "household.none")


@pytest.fixture
def thu(db: None) -> User:
    return reviewer()


@pytest.fixture
def records() -> tuple[Citizen, Citizen]:
    """(kept, absorbed): the first record, head of his household without a native place, keeps its PIN
    (the earlier one); the second, at the same address, has the native place but no household."""
    kept = complete_citizen("Nguyễn Văn Hùng", native_place="")
    absorbed = complete_citizen("Nguyễn Văn Hùng", household=False)
    assert services.merge_pin_rule(absorbed, kept)[:2] == (kept, absorbed)
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    assert failures_of(kept) == [NO_NATIVE_PLACE]
    assert failures_of(absorbed) == [NO_HOUSEHOLD]
    return kept, absorbed


def hoan_kiem(actor: User) -> Scorecard:
    return scorecard_get(actor=actor, unit=commune(HOAN_KIEM))


def figures(card: Scorecard) -> tuple[int, int, int]:
    """(records, passing "đủ", passing all four) of the commune, as the scorecard counts them."""
    return card.figures.records, card.figures.counts["du"], card.figures.passed_all


def merge(thu: User, kept: Citizen, absorbed: Citizen) -> CitizenMerge:
    return services.citizen_merge(
        actor=Actor(thu), keep=kept, absorb=absorbed, reason=REASON, source_document="Biên bản xác minh 7"
    )


def test_a_registry_merge_moves_the_scorecard_as_soon_as_it_commits(
    thu: User, records: tuple[Citizen, Citizen], django_capture_on_commit_callbacks: Any
) -> None:
    kept, absorbed = records
    assert figures(hoan_kiem(thu)) == (2, 0, 0)
    passes = QualityPass.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        merge(thu, kept, absorbed)

    card = hoan_kiem(thu)
    # The kept record took the native place and passes all four; the absorbed one counts no more, in the
    # figures nor in the day's snapshot the trend draws.
    assert figures(card) == (1, 1, 1)
    assert card.trend[-1].records == 1
    assert card.trend[-1].passed_all == 1
    assert failures_of(kept) == []
    assert not QualityAssessment.objects.filter(citizen=absorbed).exists()
    # No pass ran: the scorecard moved with the merge alone.
    assert QualityPass.objects.count() == passes


def test_undoing_a_registry_merge_brings_both_records_back_at_once(
    thu: User, records: tuple[Citizen, Citizen], django_capture_on_commit_callbacks: Any
) -> None:
    kept, absorbed = records
    with django_capture_on_commit_callbacks(execute=True):
        done = merge(thu, kept, absorbed)
    assert figures(hoan_kiem(thu)) == (1, 1, 1)
    passes = QualityPass.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        services.citizen_merge_undo(actor=Actor(thu), merge=done, reason="Nhầm: hai người khác nhau")

    card = hoan_kiem(thu)
    assert figures(card) == (2, 0, 0)
    assert card.trend[-1].records == 2
    assert failures_of(kept) == [NO_NATIVE_PLACE]
    assert failures_of(absorbed) == [NO_HOUSEHOLD]
    assert QualityPass.objects.count() == passes


def test_a_refused_merge_reassesses_nothing(
    thu: User, records: tuple[Citizen, Citizen], django_capture_on_commit_callbacks: Any
) -> None:
    kept, absorbed = records
    before = QualityAssessment.objects.get(citizen=kept).assessed_at

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(DomainError):
        # The PIN that must stay is the kept record's: the other way round is refused (merge.pin_rule).
        merge(thu, absorbed, kept)

    assert callbacks == []
    assert QualityAssessment.objects.get(citizen=kept).assessed_at == before


def quality_reads(citizen: Citizen) -> int:
    """How many times the scorecard's reassessment read the record, as the citizen's access log says."""
    return AccessLog.objects.filter(citizen=citizen, actor_label=REFRESH_ACTOR.label).count()


def du_count(client: Client) -> int:
    return hoan_kiem_page_count(client, "du")


def test_a_merge_from_the_duplicates_queue_and_its_undo_reassess_the_records_once(
    thu: User,
    records: tuple[Citizen, Citizen],
    sign_in: Callable[[Client, Any], Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The queue's decision merges through the registry's merge, which reassesses its records: the
    decision must not reassess them a second time (each reassessment is a read in the citizen's log)."""
    kept, absorbed = records
    pair = candidate_pair(kept, absorbed)
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    client = sign_in(Client(), thu)
    assert du_count(client) == 0
    reads = quality_reads(kept), quality_reads(absorbed)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/duplicates/{pair.pk}/decide/", {"decision": "same", "reason": REASON})
    assert response.status_code == 302
    assert CandidatePair.objects.get(pk=pair.pk).status == CandidatePair.Status.MERGED

    assert du_count(client) == 1
    assert failures_of(kept) == []
    # Read once by the reassessment; the absorbed record, merged away, is no longer read at all.
    assert (quality_reads(kept), quality_reads(absorbed)) == (reads[0] + 1, reads[1])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/duplicates/{pair.pk}/undo/", {"reason": "Nhầm, cần xem lại"})
    assert response.status_code == 302

    assert du_count(client) == 0
    assert (quality_reads(kept), quality_reads(absorbed)) == (reads[0] + 2, reads[1] + 1)
