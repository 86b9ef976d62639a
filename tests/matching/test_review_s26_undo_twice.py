"""An undo sent twice (a double click on "Huỷ hợp nhất", a resend after a slow answer) is the officer's own
undo: the second is answered as the first was, and nothing is written again. Until session 26 the second
answered "Cặp hồ sơ chưa được quyết định" (pair.not_decided), the page the browser shows last, and the
officer read that the undo had failed."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.lib.errors import DomainError
from dancu.matching.models import CandidatePair
from dancu.matching.services import decisions
from dancu.registry.models import Citizen, CitizenMerge
from tests.conftest import make_citizen
from tests.matching.factories import candidate_pair
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def _merged(thu: User, hung: Citizen, duplicate: Citizen) -> CandidatePair:
    pair = candidate_pair(hung, duplicate)
    return decisions.candidate_pair_decide(
        actor=Actor(thu), pair=pair, same=True, reason="Cùng cha mẹ, cùng ngày sinh"
    )


def test_a_double_click_on_undo_answers_as_the_first_click(
    sign_in: SignIn, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    pair = _merged(thu, hung, duplicate)
    client = sign_in(Client(), thu)
    form = {"reason": "Bấm nhầm hợp nhất"}

    first = client.post(f"/duplicates/{pair.pk}/undo/", form)
    second = client.post(f"/duplicates/{pair.pk}/undo/", form)

    assert first.status_code == 302
    assert second.status_code == 302, second.content.decode()[:2000]
    assert AuditEvent.objects.filter(event_type=EventType.PAIR_DECISION_UNDONE).count() == 1
    assert CitizenMerge.objects.get().undone_at is not None
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING


def test_an_undo_of_a_pair_nobody_decided_is_still_refused(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    # Another reviewer's undo, or an undo with another reason, is no repeat of one's own: the pair waits,
    # and there is no decision to take back.
    pair = _merged(thu, hung, duplicate)
    decisions.candidate_pair_undo(actor=Actor(thu), pair=pair, reason="Bấm nhầm hợp nhất")
    other = reviewer(username="kiemtra-2")

    for actor, reason in ((thu, "Lý do khác"), (other, "Bấm nhầm hợp nhất")):
        with pytest.raises(DomainError) as refused:
            decisions.candidate_pair_undo(actor=Actor(actor), pair=pair, reason=reason)
        assert [e.code for e in refused.value.errors] == ["pair.not_decided"]

    never = candidate_pair(Citizen.objects.get(pk=hung.pk), make_citizen(full_name="Nguyễn Văn Hưng"))
    with pytest.raises(DomainError) as refused:
        decisions.candidate_pair_undo(actor=Actor(thu), pair=never, reason="Bấm nhầm hợp nhất")
    assert [e.code for e in refused.value.errors] == ["pair.not_decided"]


def test_the_undo_reason_is_kept_as_the_decision_reason_is(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    # A reason typed in decomposed Unicode (some phone keyboards) or with a space left at its end reads the
    # same as the composed one, and must compare and search the same: the decision's reason is stored
    # composed and trimmed, and so is its undo's.
    pair = _merged(thu, hung, duplicate)
    typed = unicodedata.normalize("NFD", "  Bấm nhầm hợp nhất ")

    decisions.candidate_pair_undo(actor=Actor(thu), pair=pair, reason=typed)

    undone = AuditEvent.objects.get(event_type=EventType.PAIR_DECISION_UNDONE)
    assert undone.reason == "Bấm nhầm hợp nhất"
    assert CitizenMerge.objects.get().undo_reason == "Bấm nhầm hợp nhất"
    # The same undo sent again, as typed, is the same undo.
    assert decisions.candidate_pair_undo(actor=Actor(thu), pair=pair, reason=typed).pk == pair.pk
