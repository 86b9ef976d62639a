"""The scorecard of a province with many communes stays a page a phone can read: its communes come a page
at a time, the worst first, beside the records that need work, 20 a page; the files and the API still
give every commune."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.collection.quality.models import QualityPass
from dancu.collection.quality.selectors import RECORDS_PER_PAGE, UNITS_PER_PAGE
from dancu.collection.quality.services import quality_pass_run
from dancu.geo.models import AdminUnit
from tests.collection.quality_support import QUALITY, complete_citizen
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

SignIn = Callable[[Client, User], Client]
HANOI = "01"
COMMUNES = 13


@pytest.fixture
def hanoi_communes(db: None) -> list[str]:
    """13 communes of Hà Nội, one clean record in each; the last three also hold records that need work
    (the very last the most, so that it fares worst, then the one before it)."""
    codes = list(
        AdminUnit.objects.filter(
            structure=AdminUnit.Structure.CURRENT, level=AdminUnit.Level.COMMUNE, parent__code=HANOI
        )
        .order_by("code")
        .values_list("code", flat=True)[:COMMUNES]
    )
    for n, code in enumerate(codes):
        complete_citizen(f"Nguyễn Văn Một {chr(65 + n)}", commune_code=code, address=f"Số {n} phố Huế")
    for n in range(RECORDS_PER_PAGE + 2):
        # 12 in the last commune, 8 in the one before, 2 in the one before that: 22 records need work.
        code = codes[-1] if n < 12 else codes[-2] if n < 20 else codes[-3]
        complete_citizen(f"Trần Văn Hai {chr(65 + n)}", commune_code=code, household=False, address=f"Số {n}")
    quality_pass_run(actor=QUALITY, scope=QualityPass.Scope.ALL)
    return codes


def units_listed(response: object) -> list[str]:
    return [row["unit"].code for row in response.context["sub_units"]]  # type: ignore[attr-defined]


def test_a_provinces_communes_come_a_page_at_a_time_worst_first(
    client: Client, personas: Personas, hanoi_communes: list[str], sign_in: SignIn
) -> None:
    sign_in(client, personas.cuong)

    first = client.get("/quality/")

    assert first.status_code == 200
    assert len(units_listed(first)) == UNITS_PER_PAGE == 10
    assert first.context["units"].paginator.count == COMMUNES
    # The lowest share of records passing all four first; the clean communes after them, by code.
    worst = [hanoi_communes[-1], hanoi_communes[-2], hanoi_communes[-3]]
    assert units_listed(first) == [*worst, *hanoi_communes[:7]]
    html = first.content.decode()
    assert f"({COMMUNES})" in html
    pager = re.search(r'<nav class="pager" id="units-pager".*?</nav>', html, re.S)
    assert pager is not None
    assert 'href="?units_page=2" data-pager="next"' in pager.group()
    assert "Trang 1/2" in pager.group()

    second = client.get("/quality/?units_page=2")
    assert units_listed(second) == hanoi_communes[7:10]
    assert units_listed(second) + units_listed(first) == [*hanoi_communes[7:10], *worst, *hanoi_communes[:7]]
    assert 'href="?units_page=1" data-pager="prev"' in second.content.decode()
    assert len(set(units_listed(first)) | set(units_listed(second))) == COMMUNES


def test_the_records_stay_bounded_and_each_pager_keeps_the_others_page(
    client: Client, personas: Personas, hanoi_communes: list[str], sign_in: SignIn
) -> None:
    sign_in(client, personas.cuong)

    response = client.get("/quality/?units_page=2")

    assert len(response.context["records"]) == RECORDS_PER_PAGE
    assert response.context["page"].paginator.count == RECORDS_PER_PAGE + 2
    html = response.content.decode()
    # The next page of records keeps the page of communes, and the next page of communes would keep the
    # records' page; a filter starts the records over and keeps the communes' page.
    assert 'href="?units_page=2&amp;page=2" rel="next"' in html
    assert 'href="?units_page=2&amp;indicator=du"' in html
    later = client.get("/quality/?units_page=1&page=2")
    assert len(later.context["records"]) == 2
    assert 'href="?units_page=2&amp;page=2" data-pager="next"' in later.content.decode()


@pytest.mark.parametrize("units_page", ["abc", "0", "-1", "99999", "1e9", "%00", "9" * 5000])
def test_any_page_of_units_gives_a_page(
    client: Client, personas: Personas, hanoi_communes: list[str], sign_in: SignIn, units_page: str
) -> None:
    sign_in(client, personas.cuong)
    response = client.get(f"/quality/?units_page={units_page}")
    assert response.status_code == 200
    assert 1 <= len(units_listed(response)) <= UNITS_PER_PAGE


def test_the_files_and_the_api_still_give_every_commune_by_code(
    client: Client, personas: Personas, hanoi_communes: list[str], sign_in: SignIn
) -> None:
    sign_in(client, personas.cuong)
    download = client.get("/quality/export/scorecard.csv?units_page=2")
    lines = b"".join(download.streaming_content).decode("utf-8-sig").splitlines()  # type: ignore[attr-defined]
    # The province's own row, then each commune.
    assert [line.split(",")[0] for line in lines[2:]] == hanoi_communes
