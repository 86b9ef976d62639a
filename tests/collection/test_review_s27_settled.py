"""A pair the duplicates queue settled is not put to the form's reviewer again (review session 27).

An imported row of "Nguyễn Văn Hùng, 17/05/1990" becomes a DC01 waiting in Phường Hoàn Kiếm, where the
registry already holds a Hùng born that day: the form warns `citizen.possible_duplicate`. Thu, the
commune's reviewer, looks at the pair (the row and the record) in the duplicates queue and decides "not
the same person". Checking the form then asks for no acknowledgement of it, since that question has been
answered; a record of the same name whose pair was not decided still raises it. A pair decided "same
person" is said as such.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.collection.models import CollectionForm, StagingRecord
from dancu.lib.errors import DomainError
from dancu.matching.models import CandidatePair
from dancu.matching.services import decisions
from dancu.registry.models import Citizen
from tests.collection.forms_support import dc01_data
from tests.conftest import HOAN_KIEM, SYSTEM, People, commune, make_citizen
from tests.matching.factories import candidate_pair, staged_row
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db
REASON = "Khác cha mẹ, khác quê quán; đã xác minh với công dân"
HUNG = {"full_name": "Nguyễn Văn Hùng", "birth_date": "17/05/1990"}


@pytest.fixture
def thu(db: None) -> User:
    return reviewer()


@pytest.fixture
def row(people: People) -> StagingRecord:
    return staged_row()


def _form_of(row: StagingRecord) -> CollectionForm:
    """The DC01 the import files for a row that needs an officer."""
    return workflow.form_from_staging(
        actor=SYSTEM, record=row, data=dc01_data(**HUNG), commune=commune(HOAN_KIEM), legacy_commune=None
    )


def _codes(form: CollectionForm) -> list[str]:
    return [warning["code"] for warning in form.warnings]


def test_a_pair_decided_not_the_same_person_is_not_asked_again(
    thu: User, people: People, row: StagingRecord
) -> None:
    form = _form_of(row)
    assert "citizen.possible_duplicate" in _codes(form)
    assert workflow.form_duplicates_compared(user=thu, form=form) == [people.hung.pk]

    decisions.candidate_pair_decide(
        actor=Actor(thu), pair=candidate_pair(people.hung, row), same=False, reason=REASON
    )

    # Thu checks the form without acknowledging the warning: nothing is left to acknowledge.
    checked = workflow.form_check(actor=Actor(thu), form=form)
    assert checked.status == CollectionForm.Status.CHECKED
    assert "citizen.possible_duplicate" not in _codes(checked)
    assert "citizen.possible_duplicate" not in checked.acknowledged_warnings
    assert workflow.form_duplicates_compared(user=thu, form=checked) == []


def test_a_record_whose_pair_was_not_decided_still_raises_the_warning(
    thu: User, people: People, row: StagingRecord
) -> None:
    # Another Hùng born the same day, registered since: the officer settled only the first pair.
    twin = make_citizen(full_name="Nguyễn Văn Hùng", address="Số 3 phố Hàng Gà")
    decisions.candidate_pair_decide(
        actor=Actor(thu), pair=candidate_pair(people.hung, row), same=False, reason=REASON
    )
    form = _form_of(row)
    assert "citizen.possible_duplicate" in _codes(form)
    assert workflow.form_duplicates_compared(user=thu, form=form) == [twin.pk]
    with pytest.raises(DomainError) as exc:
        workflow.form_check(actor=Actor(thu), form=form)
    assert [error.code for error in exc.value.errors] == ["warning.unacknowledged"]


def test_a_decision_on_the_row_the_record_was_made_of_counts(
    thu: User, people: People, row: StagingRecord
) -> None:
    """The queue paired this row with another row, which an officer then wrote to the registry as a
    record: the pair's decision, under the two rows' key, is about the same two people."""
    other = staged_row()
    decisions.candidate_pair_decide(
        actor=Actor(thu),
        pair=candidate_pair(row, other, unit=commune(HOAN_KIEM)),
        same=False,
        reason=REASON,
    )
    # Hùng's record is the one that row became (as form_apply writes the row back).
    StagingRecord.objects.filter(pk=other.pk).update(
        citizen=people.hung, status=StagingRecord.Status.APPROVED
    )
    form = _form_of(row)
    assert "citizen.possible_duplicate" not in _codes(form)
    assert workflow.form_check(actor=Actor(thu), form=form).status == CollectionForm.Status.CHECKED


def test_a_pair_decided_the_same_person_says_so(thu: User, people: People, row: StagingRecord) -> None:
    """A row decided "same person" leaves the review when its form is under review; a form out of it then
    (returned, say) comes back saying what was decided, not asking whether it may be the same person."""
    pair = candidate_pair(people.hung, row)
    CandidatePair.objects.filter(pk=pair.pk).update(
        status=CandidatePair.Status.SAME, decided_by=thu, decided_at=timezone.now(), decision_reason=REASON
    )
    form = _form_of(row)
    assert "citizen.decided_same_person" in _codes(form)
    assert "citizen.possible_duplicate" not in _codes(form)
    # The reviewer is shown the record it was decided to be.
    assert workflow.form_duplicates_compared(user=thu, form=form) == [people.hung.pk]
    assert Citizen.objects.filter(full_name="Nguyễn Văn Hùng").count() == 1
