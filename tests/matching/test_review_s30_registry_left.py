"""A pair of a registry record and a staged import row shows the registry record on the left and the row on
the right, however the pair was stored: in the queue, on the pair's page (its table and the evidence) and
on the API. The reviewer reads the registered person in one place and the newcomer in the other; until
session 30 the row was on the left of a pair stored row first (a pair kept under the key an earlier run
gave it, before its other row was written to the registry)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.collection.models import StagingRecord
from dancu.matching.models import CandidatePair
from dancu.registry.models import Citizen
from tests.matching.factories import candidate_pair, staged_row
from tests.matching.test_api import api
from tests.matching.test_pages import SignIn

pytestmark = pytest.mark.django_db


def _row_first(hung: Citizen) -> tuple[CandidatePair, StagingRecord]:
    """A pair stored with the staged row on its left, as an earlier run keyed it."""
    row = staged_row(full_name="Nguyen Van Hung", old_id_number="099999999")
    pair = candidate_pair(row, hung, unit=hung.area_commune)
    assert pair.left_staging_id == row.pk  # stored row first: the case under test
    return pair, row


def _promoted_row_first(hung: Citizen) -> tuple[CandidatePair, StagingRecord]:
    """Two staged rows paired by an earlier run, the right one written to the registry since as Hùng."""
    row = staged_row(full_name="Nguyen Van Hung", old_id_number="099999999")
    written = staged_row(full_name="Nguyễn Văn Hùng")
    StagingRecord.objects.filter(pk=written.pk).update(citizen=hung, status=StagingRecord.Status.APPROVED)
    pair = candidate_pair(row, StagingRecord.objects.get(pk=written.pk), unit=hung.area_commune)
    return pair, row


def _cells(html: str, start: str) -> list[str]:
    body = html[html.index(start) :]
    body = body[: body.index("</tr>")]
    return re.split(r"<t[dh]\b", body)[1:]


@pytest.mark.parametrize("stored", [_row_first, _promoted_row_first], ids=["citizen", "row written since"])
def test_the_api_shows_the_registry_record_left(
    thu: User, hung: Citizen, stored: Callable[[Citizen], tuple[CandidatePair, StagingRecord]]
) -> None:
    pair, row = stored(hung)
    client = api(thu)

    [summary] = client.get("/api/v1/matching/pairs").json()["results"]
    assert (summary["left"]["kind"], summary["right"]["kind"]) == ("citizen", "staging")
    assert (summary["left"]["pin"], summary["right"]["id"]) == (hung.pin, row.pk)

    detail = client.get(f"/api/v1/matching/pairs/{pair.pk}").json()
    assert detail["left"]["pin"] == hung.pin
    rows = {r["field"]: (r["left"], r["right"]) for r in detail["rows"]}
    assert rows["full_name"] == ("Nguyễn Văn Hùng", "Nguyen Van Hung")
    assert rows["old_id_number"] == ("012345678", "099999999")
    # The evidence's values follow their records: the matcher stored them in the pair's stored order.
    evidence = {e["field"]: (e["left"], e["right"]) for e in detail["evidence"]}
    assert evidence["full_name"] == ("Nguyễn Văn Hùng", "Nguyen Van Hung")


def test_the_queue_shows_the_registry_record_left(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    pair, _row = _row_first(hung)

    page = sign_in(Client(), thu).get("/duplicates/").content.decode()

    cells = _cells(page, f'data-pair="{pair.pk}"')
    assert hung.pin in cells[1]
    assert "Sổ hộ khẩu Hoàn Kiếm 2019" in cells[2]


def test_the_pair_page_shows_the_registry_record_left(sign_in: SignIn, thu: User, hung: Citizen) -> None:
    pair, _row = _row_first(hung)

    page = sign_in(Client(), thu).get(f"/duplicates/{pair.pk}/").content.decode()

    head = _cells(page, '<table class="responsive side-by-side" id="sides">')
    assert f'data-citizen="{hung.pk}"' in head[1]
    assert "Sổ hộ khẩu Hoàn Kiếm 2019" in head[2]
    names = _cells(page, '<tr data-field="full_name">')
    assert "Nguyễn Văn Hùng" in names[1]
    assert "Nguyen Van Hung" in names[2]
    cmnd = _cells(page, '<tr data-field="old_id_number">')
    assert ("012345678" in cmnd[1], "099999999" in cmnd[2]) == (True, True)
    side_names = page[page.index('id="side-names"') :]
    assert side_names.index(f'data-citizen="{hung.pk}"') < side_names.index("Sổ hộ khẩu Hoàn Kiếm 2019")
    # What "same person" does still names the citizen, whichever side it was stored on.
    assert f"Nguyễn Văn Hùng ({hung.pin})" in page
