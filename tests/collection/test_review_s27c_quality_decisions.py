"""A decision in the duplicates queue reaches the quality scorecard at once, not at the next pass.

Thu, reviewer of Phường Hoàn Kiếm, clears the queue and opens the scorecard: the records she decided no
longer count as pending duplicates, without the 15-minute pass having run. The decision is taken on the
real pages; the transaction's on-commit work runs as it does in a request (`execute=True`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from dancu.collection.quality.models import QualityAssessment, QualityPass
from dancu.collection.quality.selectors import scorecard_get
from dancu.collection.quality.services import quality_pass_run
from dancu.matching.models import CandidatePair
from tests.collection.quality_support import QUALITY, complete_citizen, failures_of, hoan_kiem_page_count
from tests.conftest import HOAN_KIEM, commune
from tests.matching.factories import candidate_pair, staged_row
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db

PENDING = ("sach", "pin", "record.duplicate_pending")


def sach_count(client: Client) -> int:
    return hoan_kiem_page_count(client, "sach")


def test_not_the_same_person_then_undo_changes_the_scorecard_without_a_pass(
    sign_in: Callable[[Client, Any], Client], django_capture_on_commit_callbacks: Any
) -> None:
    hung = complete_citizen("Nguyễn Văn Hùng")
    hung2 = complete_citizen("Nguyễn Văn Hùng", address="Số 9 phố Hàng Trống", birth_date="1990-05-18")
    pair = candidate_pair(hung, hung2)
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    thu = reviewer()
    client = sign_in(Client(), thu)
    assert failures_of(hung) == failures_of(hung2) == [PENDING]
    assert sach_count(client) == 0
    passes = QualityPass.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/duplicates/{pair.pk}/decide/", {"decision": "different", "reason": "Khác ngày sinh"}
        )
    assert response.status_code == 302

    assert sach_count(client) == 2
    card = scorecard_get(actor=thu, unit=commune(HOAN_KIEM))
    assert card.figures.counts["sach"] == 2
    # The page's "last assessed" is the reassessment's time, not the older pass's.
    newest = QualityAssessment.objects.get(citizen=hung).assessed_at
    assert card.last_pass is not None
    assert newest > card.last_pass.finished_at
    assert card.last_assessed_at == newest

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/duplicates/{pair.pk}/undo/", {"reason": "Nhầm, cần xem lại"})
    assert response.status_code == 302

    assert CandidatePair.objects.get(pk=pair.pk).status == CandidatePair.Status.PENDING
    assert sach_count(client) == 0
    assert failures_of(hung) == failures_of(hung2) == [PENDING]
    # No pass ran: the scorecard moved with the decisions alone.
    assert QualityPass.objects.count() == passes


def test_same_person_on_a_staged_row_clears_the_citizens_pending_duplicate_at_once(
    sign_in: Callable[[Client, Any], Client], django_capture_on_commit_callbacks: Any
) -> None:
    hung = complete_citizen("Nguyễn Văn Hùng")
    row = staged_row(full_name="Nguyen Van Hung")
    pair = candidate_pair(hung, row)
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    client = sign_in(Client(), reviewer())
    assert failures_of(hung) == [PENDING]
    assert sach_count(client) == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/duplicates/{pair.pk}/decide/", {"decision": "same", "reason": "Cùng một người"}
        )
    assert response.status_code == 302

    assert failures_of(hung) == []
    assert sach_count(client) == 1


def test_a_decision_refused_leaves_the_scorecard_as_it_was(
    sign_in: Callable[[Client, Any], Client], django_capture_on_commit_callbacks: Any
) -> None:
    hung = complete_citizen("Nguyễn Văn Hùng")
    hung2 = complete_citizen("Nguyễn Văn Hùng", address="Số 9 phố Hàng Trống", birth_date="1990-05-18")
    pair = candidate_pair(hung, hung2)
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    before = QualityAssessment.objects.get(citizen=hung).assessed_at
    client = sign_in(Client(), reviewer())

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        # No reason given: the decision is refused, and nothing is reassessed.
        response = client.post(f"/duplicates/{pair.pk}/decide/", {"decision": "different", "reason": ""})

    assert response.status_code == 422
    assert callbacks == []
    assert QualityAssessment.objects.get(citizen=hung).assessed_at == before
