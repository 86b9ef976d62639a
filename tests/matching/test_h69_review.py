"""A commune reviewer's day in the duplicates queue, as found by using it: what the pages must say so that
a tired officer on a phone settles the right pair the right way, and what a later run must not undo."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.matching.models import CandidatePair
from dancu.matching.services.decisions import candidate_pair_decide
from dancu.matching.services.runs import match_run_registry, pair_key
from dancu.registry.models import Citizen
from tests.conftest import make_citizen
from tests.matching.factories import candidate_pair, staged_row
from tests.matching.test_api import api
from tests.matching.test_runs import SYSTEM, TODAY, _population, _stage

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def _hung_again(**extra: str) -> Citizen:
    return make_citizen(full_name="Nguyen Van Hung", **extra)


def test_the_pair_page_names_both_records_where_a_phone_hides_the_tables_head(
    sign_in: SignIn, thu: User, hung: Citizen
) -> None:
    """On a 390 px phone the side-by-side table loses its head row, the only place that said which column
    is the registry's record (name, PIN) and which the legacy book's line: the page names them above."""
    row = staged_row()
    pair = candidate_pair(hung, row)
    page = sign_in(Client(), thu).get(f"/duplicates/{pair.pk}/").content.decode()

    names = re.search(r'<ul class="side-names" id="side-names">(.*?)</ul>', page, re.S)
    assert names is not None
    left, right = re.findall(r'<li data-side="(?:left|right)">(.*?)</li>', names.group(1), re.S)
    assert left.startswith("Hồ sơ trong CSDL: ")
    assert hung.pin in left
    assert f'href="/citizens/{hung.pk}/"' in left  # the officer opens the record to see its household
    assert right.startswith("Bản ghi nhập: ")
    assert "Sổ hộ khẩu Hoàn Kiếm 2019" in right
    assert "dòng 1" in right
    # Shown on phones only (the table's head row says it on a desktop), and long words wrap.
    assert "@media (max-width: 40rem) { ul.side-names { display: block; } }" in page
    assert "#history li { overflow-wrap: anywhere; }" in page


def test_the_history_says_what_each_decision_was(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    """Decided, undone and decided again: each line of the history says which answer was given, where
    before every decision read the same "Quyết định về cặp hồ sơ nghi trùng"."""
    pair = candidate_pair(hung, staged_row())
    client = sign_in(Client(), thu)
    url = f"/duplicates/{pair.pk}"
    assert (
        client.post(f"{url}/decide/", {"decision": "different", "reason": "Khác cha mẹ"}).status_code == 302
    )
    assert client.post(f"{url}/undo/", {"reason": "Nhầm"}).status_code == 302
    assert client.post(f"{url}/decide/", {"decision": "same", "reason": "Cùng cha mẹ"}).status_code == 302

    page = client.get(f"{url}/").content.decode()
    decisions = re.findall(r"<strong data-decision>(.*?)</strong> — (.*?)</li>", page)
    assert decisions == [("Không phải cùng một người", "Khác cha mẹ"), ("Cùng một người", "Cùng cha mẹ")]

    client.cookies["django_language"] = "en"
    english = client.get(f"{url}/").content.decode()
    assert re.findall(r"<strong data-decision>(.*?)</strong>", english) == [
        "Not the same person",
        "Same person",
    ]


def test_a_merge_reads_as_merged_in_the_history_and_links_the_kept_record(
    sign_in: SignIn, thu: User, hung: Citizen
) -> None:
    pair = candidate_pair(_hung_again(), hung)
    client = sign_in(Client(), thu)
    response = client.post(
        f"/duplicates/{pair.pk}/decide/",
        {"decision": "same", "reason": "Trùng", "choice_permanent": "keep"},
        follow=True,
    )
    page = response.content.decode()
    assert re.findall(r"<strong data-decision>(.*?)</strong>", page) == ["Đã hợp nhất"]
    assert f'<a href="/citizens/{hung.pk}/" id="kept-link">' in page


def test_each_merge_choice_names_the_record_it_keeps(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    """ "of the kept record" / "of the record merged into it" made the officer work out which column is which
    before choosing a residence; each option names its record's PIN, as the columns do."""
    duplicate = _hung_again(address="Số 9 phố Hàng Bông")
    pair = candidate_pair(duplicate, hung)
    page = sign_in(Client(), thu).get(f"/duplicates/{pair.pk}/").content.decode()

    select = re.search(r'<select id="choice-permanent" name="choice_permanent">(.*?)</select>', page, re.S)
    assert select is not None
    options = dict(re.findall(r'<option value="(\w+)">([^<]*)</option>', select.group(1)))
    assert options == {
        "keep": f"của hồ sơ được giữ ({hung.pin})",
        "absorb": f"của hồ sơ được hợp nhất vào ({duplicate.pin})",
    }


def test_a_pair_whose_record_was_merged_away_does_not_offer_to_keep_it(
    sign_in: SignIn, thu: User, hung: Citizen
) -> None:
    """The same person recorded three times: once two are merged, the pair of the merged-away record and
    the third said "if one person, record <merged-away PIN> is kept" beside "cannot merge: that record was
    merged into ...". Only the refusal is said, on the page and in the API."""
    second = _hung_again()
    third = _hung_again(address="Số 9 phố Hàng Bông")
    candidate_pair_decide(
        actor=Actor(thu), pair=candidate_pair(second, hung), same=True, reason="Trùng", choices={}
    )
    second.refresh_from_db()
    assert second.merged_into == hung
    stale = candidate_pair(second, third)
    client = sign_in(Client(), thu)

    page = client.get(f"/duplicates/{stale.pk}/").content.decode()
    assert 'id="kept"' not in page
    blocking = re.search(r'<div class="card notice" id="blocking">(.*?)</div>', page, re.S)
    assert blocking is not None
    assert f"Hồ sơ {second.pin} đã được hợp nhất vào hồ sơ {hung.pin}" in blocking.group(1)

    detail = api(thu).get(f"/api/v1/matching/pairs/{stale.pk}").json()
    assert detail["kept_pin"] is None
    assert "citizen.merged" in {c["code"] for c in detail["conflicts"]}


def test_a_pending_pair_keeps_its_number_when_one_of_its_staged_rows_reaches_the_registry() -> None:
    """Two rows of one legacy book, one person: the pair waits. One row is then written to the registry
    (approved, or its DC01 applied). The next run reads it as that citizen and proposes "c:<citizen>|s:<row>":
    the waiting pair must be refreshed, not withdrawn as "no longer proposed" beside a new pair of the same
    two records (the officer who had it open was refused with `pair.withdrawn`, and its history was left
    on the withdrawn pair)."""
    citizens = _population()
    person = citizens[0]
    first_row, second_row = _stage([person, person])
    # Rows of the book of the person's ward, which routes their pair to its queue.
    residence = person.residences.get(ended_on__isnull=True, kind="permanent")
    address = f"{residence.address_detail}, {residence.commune.full_name()}"
    for row in (first_row, second_row):
        row.raw["address"] = row.normalized["address"] = address
        row.save(update_fields=["raw", "normalized"])
    first = match_run_registry(actor=SYSTEM, today=TODAY)
    rows_pair = CandidatePair.objects.get(pair_key=pair_key(f"s:{first_row.pk}", f"s:{second_row.pk}"))
    assert rows_pair.status == CandidatePair.Status.PENDING
    pairs_before = set(CandidatePair.objects.values_list("pk", flat=True))

    # The first row is written to the registry as a new record of the person (the matcher's job is to find
    # the registry's copy of them too).
    promoted = make_citizen(
        full_name=person.full_name,
        birth_date=person.birth_date.to_storage(),
        sex=person.sex,
        commune_code=person.area_commune.code,
    )
    first_row.citizen = promoted
    first_row.save(update_fields=["citizen"])

    second = match_run_registry(actor=SYSTEM, today=TODAY)

    rows_pair.refresh_from_db()
    assert (rows_pair.run, rows_pair.status) == (second, CandidatePair.Status.PENDING)
    assert not CandidatePair.objects.filter(
        pair_key=pair_key(f"c:{promoted.pk}", f"s:{second_row.pk}")
    ).exists()
    assert second.summary["withdrawn"] == 0
    # The pair's evidence is seen from its own sides: the first row's side shows the record it became.
    names = {entry["field"]: entry for entry in rows_pair.comparisons}["full_name"]
    first_side = "left" if rows_pair.left_staging_id == first_row.pk else "right"
    second_side = "right" if first_side == "left" else "left"
    assert (names[first_side], names[second_side]) == (promoted.full_name, second_row.raw["full_name"])
    new_pairs = CandidatePair.objects.exclude(pk__in=pairs_before)
    # The one pair that is new names the two registry records of the person, not the pair already waiting.
    assert {p.pair_key for p in new_pairs} <= {pair_key(f"c:{person.pk}", f"c:{promoted.pk}")}
    assert first.pk != second.pk


def test_the_household_level_says_why_it_weighs_nothing(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    """ "Same place and same parents: one household", marked "leans to different people" with a red bar,
    reads to an officer as the matcher's mistake: the row says why, in the page's language."""
    pair = candidate_pair(hung, staged_row())
    household = "same place, and the same known parents: one household"
    pair.comparisons = [
        *pair.comparisons,
        {"field": "address", "level": household, "weight": -0.68, "left": "Số 1", "right": "Số 1"},
    ]
    pair.save(update_fields=["comparisons"])
    client = sign_in(Client(), thu)

    page = client.get(f"/duplicates/{pair.pk}/").content.decode()
    row = re.search(r'<tr data-field="address" data-agreed="no">(.*?)</tr>', page, re.S)
    assert row is not None
    assert "cùng nơi ở và cùng cha mẹ: một hộ" in row.group(1)
    assert "cha mẹ đã được tính ở dòng «Cha mẹ»" in row.group(1)
    assert page.count("data-note") == 1  # the other levels need no note

    client.cookies["django_language"] = "en"
    english = client.get(f"/duplicates/{pair.pk}/").content.decode()
    assert "the parents are counted in the «Parents» row" in english


def test_one_house_written_in_the_old_units_is_not_marked_as_a_difference(
    sign_in: SignIn, thu: User, hung: Citizen
) -> None:
    """The registry writes the residence in the 2025 units ("Số 1 phố Hàng Trống, Phường Hoàn Kiếm"), a
    legacy book in the old ones with the city: every such pair showed "≠" on the address, one house or
    not, so the mark said nothing. It marks only another place."""
    old_units = "Số 1 phố Hàng Trống, Phường Hàng Trống, Quận Hoàn Kiếm, Thành phố Hà Nội"
    same_house = candidate_pair(hung, staged_row(address=old_units))
    other_house = candidate_pair(hung, staged_row(address=old_units.replace("Số 1 ", "Số 19 ")))
    client = sign_in(Client(), thu)

    def address_cells(pair: CandidatePair) -> str:
        page = client.get(f"/duplicates/{pair.pk}/").content.decode()
        row = re.search(r'<tr data-field="address">(.*?)</tr>', page, re.S)
        assert row is not None
        return row.group(1)

    assert "Phường Hàng Trống, Quận Hoàn Kiếm" in address_cells(same_house)
    assert 'class="differs"' not in address_cells(same_house)
    assert address_cells(other_house).count('class="differs"') == 2
    rows = api(thu).get(f"/api/v1/matching/pairs/{same_house.pk}").json()["rows"]
    assert {r["field"]: r["differs"] for r in rows}["address"] is False
