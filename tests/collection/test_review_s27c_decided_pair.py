"""A form whose imported row the duplicates queue decided is the same person as a registry record says so
on its page (review 27c).

The page listed that record under "Hồ sơ trong CSDL có thể là cùng người", the heading of a question still
open, beside the warning that the question was settled: Thu, the reviewer, could take it for one more pair
to judge. The heading now says the queue decided it, and the record carries the decision beside it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dancu.accounts.models import User
from dancu.collection import workflow
from dancu.collection.models import CollectionForm
from dancu.matching.models import CandidatePair
from dancu.registry.models import Citizen
from tests.collection.forms_support import dc01_data
from tests.conftest import HOAN_KIEM, SYSTEM, People, commune
from tests.matching.factories import candidate_pair, staged_row
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db
DECIDED = "hàng chờ trùng lặp đã quyết định là cùng người"


@pytest.fixture
def thu(db: None) -> User:
    return reviewer()


def _form(hung: Citizen, *, decided_by: User | None) -> CollectionForm:
    """A DC01 made from an imported row of Hùng, whose pair with the registry's Hùng is decided "same
    person" by `decided_by`, or waits undecided."""
    row = staged_row()
    pair = candidate_pair(hung, row)
    if decided_by is not None:
        CandidatePair.objects.filter(pk=pair.pk).update(
            status=CandidatePair.Status.SAME,
            decided_by=decided_by,
            decided_at=timezone.now(),
            decision_reason="Cùng cha mẹ, cùng quê quán; đã xác minh với công dân",
        )
    return workflow.form_from_staging(
        actor=SYSTEM,
        record=row,
        data=dc01_data(full_name="Nguyễn Văn Hùng", birth_date="17/05/1990"),
        commune=commune(HOAN_KIEM),
        legacy_commune=None,
    )


def _section(page: Any) -> str:
    assert page.status_code == 200
    return page.content.decode().split('aria-labelledby="h-duplicates"')[1].split("</section>")[0]


def test_a_record_decided_the_same_person_is_not_listed_as_one_that_may_be(
    thu: User, people: People, sign_in: Any
) -> None:
    form = _form(people.hung, decided_by=thu)
    assert [w["code"] for w in form.warnings] == ["citizen.decided_same_person"]

    section = _section(sign_in(Client(), thu).get(f"/forms/{form.pk}/"))

    assert "có thể là cùng người" not in section
    assert "Hồ sơ trong CSDL mà hàng chờ trùng lặp đã quyết định là cùng người" in section
    [line] = section.split('<ul id="duplicates">')[1].split("</ul>")[0].split("</li>")[:-1]
    assert people.hung.pin in line
    assert 'data-decided="same"' in line
    assert DECIDED in line


def test_the_page_says_it_in_english(thu: User, people: People, sign_in: Any) -> None:
    form = _form(people.hung, decided_by=thu)
    client = sign_in(Client(), thu)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    section = _section(client.get(f"/forms/{form.pk}/"))

    assert "decided by the duplicates queue to be the same person" in section
    assert "may be the same person" not in section


def test_an_undecided_pair_still_reads_may_be_the_same_person(
    thu: User, people: People, sign_in: Any
) -> None:
    form = _form(people.hung, decided_by=None)
    assert [w["code"] for w in form.warnings] == ["citizen.possible_duplicate"]

    section = _section(sign_in(Client(), thu).get(f"/forms/{form.pk}/"))

    assert "Hồ sơ trong CSDL có thể là cùng người" in section
    assert people.hung.pin in section
    assert DECIDED not in section
    assert "data-decided" not in section
