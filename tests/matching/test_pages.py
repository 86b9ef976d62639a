"""The review pages: the queue, a pair side by side, the decision with its choices, and the undo."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.matching import engine
from dancu.matching.models import CandidatePair
from dancu.matching.views import LEVEL_LABELS
from dancu.registry.models import Citizen
from tests.conftest import HONG_HA, Personas, make_citizen
from tests.matching.factories import candidate_pair, staged_row
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def test_queue_and_pair_side_by_side(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    elsewhere = make_citizen(full_name="Nguyen Van Hung", address="Số 9 phố Hàng Bông")
    pair = candidate_pair(elsewhere, hung, probability=0.973)
    dead = candidate_pair(hung, staged_row(death_date="2024-11-02"), probability=0.9)
    client = sign_in(Client(), thu)

    queue = client.get("/duplicates/").content.decode()
    assert f'data-pair="{pair.pk}"' in queue
    assert "97%" in queue
    assert queue.index(f'data-pair="{pair.pk}"') < queue.index(f'data-pair="{dead.pk}"')
    assert queue.count("data-deceased") == 1
    assert 'href="/duplicates/"' in queue  # the navigation link

    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    assert "Nguyen Van Hung" in page
    assert "Nguyễn Văn Hùng" in page
    assert 'class="differs"' in page
    assert 'style="width: 100%"' in page  # the strongest evidence fills its bar
    assert 'name="choice_permanent"' in page
    assert hung.pin in page  # the record whose PIN stays


def test_deciding_with_the_choice_then_undoing(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    elsewhere = make_citizen(full_name="Nguyen Van Hung", address="Số 9 phố Hàng Bông")
    pair = candidate_pair(elsewhere, hung)
    client = sign_in(Client(), thu)

    missing = client.post(f"/duplicates/{pair.pk}/decide/", {"reason": "Trùng"})
    assert missing.status_code == 422
    assert "decision.required" in missing.content.decode()
    no_choice = client.post(f"/duplicates/{pair.pk}/decide/", {"decision": "same", "reason": "Trùng"})
    assert no_choice.status_code == 422
    assert "merge.choice_required" in no_choice.content.decode()
    # A refusal for another field keeps the residence the officer picked.
    no_reason = client.post(
        f"/duplicates/{pair.pk}/decide/", {"decision": "same", "reason": "", "choice_permanent": "absorb"}
    )
    assert no_reason.status_code == 422
    assert '<option value="absorb" selected>' in no_reason.content.decode()

    response = client.post(
        f"/duplicates/{pair.pk}/decide/",
        {"decision": "same", "reason": "Trùng", "choice_permanent": "keep", "source_document": "BB 3"},
        follow=True,
    )
    page = response.content.decode()
    assert 'data-status="merged"' in page
    assert 'id="merge"' in page
    assert 'data-event="matching.pair.decided"' in page
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.MERGED
    # The same decision sent again (a double click) lands on the decided pair, not on a refusal.
    again = client.post(
        f"/duplicates/{pair.pk}/decide/",
        {"decision": "same", "reason": "Trùng", "choice_permanent": "keep", "source_document": "BB 3"},
    )
    assert (again.status_code, again["Location"]) == (302, f"/duplicates/{pair.pk}/")
    # Another answer is refused: the pair is decided.
    other = client.post(f"/duplicates/{pair.pk}/decide/", {"decision": "different", "reason": "Khác"})
    assert other.status_code == 422
    assert "pair.already_decided" in other.content.decode()
    # The kept record's history shows the record merged into it, with that record's own versions.
    history = client.get(f"/citizens/{hung.pk}/history/").content.decode()
    assert 'id="merged-records"' in history
    assert elsewhere.pin in history
    # The cancelled PIN's record leads to the kept one.
    # The merged record's old address moves to the kept record (registry.views.citizen_view).
    moved = client.get(f"/citizens/{elsewhere.pk}/", follow=True)
    assert moved.redirect_chain == [(f"/citizens/{hung.pk}/", 302)]
    assert moved.content.decode().count(hung.pin) >= 1

    undone = client.post(f"/duplicates/{pair.pk}/undo/", {"reason": "Xác minh lại"}, follow=True)
    assert 'data-status="pending"' in undone.content.decode()
    assert 'data-event="matching.pair.decision_undone"' in undone.content.decode()
    # The absorbed PIN is live again: the merge's section no longer calls it cancelled.
    assert "số định danh đã huỷ" not in undone.content.decode()
    assert Citizen.objects.get(pk=elsewhere.pk).merged_into_id is None
    # Nor does the kept record's history, which still tells of the merge and of its undoing.
    history = client.get(f"/citizens/{hung.pk}/history/").content.decode()
    assert "số định danh đã huỷ" not in history
    assert "hợp nhất đã huỷ: hồ sơ và số định danh này dùng lại" in history


def test_hostile_reason_comes_back_escaped(
    sign_in: SignIn, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    pair = candidate_pair(hung, duplicate)
    client = sign_in(Client(), thu)
    response = client.post(
        f"/duplicates/{pair.pk}/decide/", {"decision": "different", "reason": "<script>alert(1)</script>"}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "text.characters" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_english(sign_in: SignIn, thu: User, hung: Citizen, duplicate: Citizen) -> None:
    pair = candidate_pair(hung, duplicate)
    client = sign_in(Client(), thu)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Duplicate records" in client.get("/duplicates/").content.decode()
    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    assert "Same person" in page
    assert "Not the same person" in page


def test_jurisdiction_of_every_page(
    sign_in: SignIn, personas: Personas, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    pair = candidate_pair(hung, duplicate)
    for outsider in (
        personas.binh,
        personas.dung,
        personas.hoa,
        reviewer(username="rv", commune_code=HONG_HA),
    ):
        client = sign_in(Client(), outsider)
        assert f'data-pair="{pair.pk}"' not in client.get("/duplicates/").content.decode()
        for pk in (pair.pk, pair.pk + 999):
            assert client.get(f"/duplicates/{pk}/").status_code == 404
            assert (
                client.post(f"/duplicates/{pk}/decide/", {"decision": "same", "reason": "x"}).status_code
                == 404
            )
            assert client.post(f"/duplicates/{pk}/undo/", {"reason": "x"}).status_code == 404
    auditor = sign_in(Client(), personas.an)
    assert auditor.get("/duplicates/").status_code == 403
    assert auditor.get(f"/duplicates/{pair.pk}/").status_code == 403
    # A collector of the ward sees the pair without the decision form, and cannot post one.
    collector = sign_in(Client(), personas.lan)
    assert 'id="decide-form"' not in collector.get(f"/duplicates/{pair.pk}/").content.decode()
    refused = collector.post(f"/duplicates/{pair.pk}/decide/", {"decision": "same", "reason": "Trùng"})
    assert refused.status_code == 422
    assert "role.not_allowed" in refused.content.decode()
    assert Client().get("/duplicates/").status_code == 302  # signed out: to the login page


def test_a_decided_pair_is_found_again_to_undo_it(
    sign_in: SignIn, thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    pair = candidate_pair(hung, duplicate)
    waiting = candidate_pair(hung, staged_row(), probability=0.8)
    client = sign_in(Client(), thu)
    client.post(f"/duplicates/{pair.pk}/decide/", {"decision": "different", "reason": "Hai anh em"})

    queue = client.get("/duplicates/").content.decode()
    assert f'data-pair="{pair.pk}"' not in queue
    assert 'id="view-decided"' in queue
    decided = client.get("/duplicates/?status=decided").content.decode()
    assert f'data-pair="{pair.pk}"' in decided
    assert f'data-pair="{waiting.pk}"' not in decided
    assert 'data-status="different"' in decided
    assert f'href="/duplicates/{pair.pk}/"' in decided
    # An unknown list is the queue.
    assert f'data-pair="{waiting.pk}"' in client.get("/duplicates/?status=merged").content.decode()


def _engine_levels(pair: CandidatePair, levels: dict[str, str]) -> None:
    """The pair's evidence with the comparison levels the matcher writes (engine.py's English labels)."""
    pair.comparisons = [c | {"level": levels.get(c["field"], c["level"])} for c in pair.comparisons]
    pair.save(update_fields=["comparisons"])


def test_the_evidence_names_the_matchers_levels_in_the_pages_language(
    sign_in: SignIn, thu: User, hung: Citizen
) -> None:
    elsewhere = make_citizen(full_name="Nguyen Van Hung", address="Số 9 phố Hàng Bông")
    pair = candidate_pair(elsewhere, hung)
    _engine_levels(
        pair,
        {
            "full_name": "same letters without tone marks and đ",
            "birth_date": "day and month swapped",
            "sex": "exact",
            "pin": "null",
            "old_id_number": "different",
        },
    )
    client = sign_in(Client(), thu)

    evidence = (
        client.get(f"/duplicates/{pair.pk}/").content.decode().split('id="evidence"')[1].split("</table>")[0]
    )
    for vietnamese in ("cùng chữ cái khi bỏ dấu và đ", "đảo ngày và tháng", "trùng khớp", "thiếu ở một bên"):
        assert vietnamese in evidence
    for english in ("same letters without tone marks", "day and month swapped", "exact", "null", "different"):
        assert english not in evidence

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    evidence = (
        client.get(f"/duplicates/{pair.pk}/").content.decode().split('id="evidence"')[1].split("</table>")[0]
    )
    assert "same letters without tone marks and đ" in evidence
    assert "day and month swapped" in evidence
    assert "cùng chữ cái" not in evidence


def test_every_level_of_the_matcher_has_a_vietnamese_name() -> None:
    levels = {
        level["label_for_charts"]
        for comparison in engine._comparisons(term_frequencies=True)
        for level in comparison.get_comparison("duckdb").as_dict()["comparison_levels"]
        if not level.get("is_null_level")
    }
    assert levels - set(LEVEL_LABELS) == set()


def test_a_place_of_birth_by_its_province_code_is_the_same_place_as_by_its_name(
    sign_in: SignIn, thu: User
) -> None:
    """The person-records CSV allows a province's code or its name as the place of birth; the import keeps
    the code it found beside the text. Hùng's record says Hà Nội; a row that said Hà Nội, or 001, is
    the same place, shown by its name, and a row that said Nam Định is another."""
    hung = make_citizen(full_name="Nguyễn Văn Hùng", birth_place="Hà Nội")
    said_name = staged_row(birth_place="Hà Nội")
    said_code = staged_row(birth_place="001")
    elsewhere = staged_row(birth_place="Nam Định")
    for row, text in ((said_name, "Hà Nội"), (said_code, "001"), (elsewhere, "Nam Định")):
        code = "036" if text == "Nam Định" else "001"
        row.normalized = row.normalized | {"birth_place": code, "birth_place_text": text}
        row.save(update_fields=["normalized"])
    client = sign_in(Client(), thu)

    for row, differs in ((said_name, False), (said_code, False), (elsewhere, True)):
        page = client.get(f"/duplicates/{candidate_pair(hung, row).pk}/").content.decode()
        place = page.split('<tr data-field="birth_place">')[1].split("</tr>")[0]
        assert ('class="differs"' in place) is differs, row.raw
        assert "001" not in place
        assert place.count("Nam Định" if differs else "Hà Nội") == (1 if differs else 2)
