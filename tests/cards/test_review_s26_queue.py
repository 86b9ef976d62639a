"""The card counter's queue answers "where is my card?" (review session 26).

Lan (Phường Hoàn Kiếm) looks Hùng's application up by his PIN, read out in groups, by the number on his
receipt, or by his name with or without tone marks, and pages through the whole queue. Bình (Phường Hồng
Hà) types the same and finds nothing of Hoàn Kiếm's, on the page and on the API, and nothing of it is
logged as read by him; Lan finds nothing of Mai's (Hồng Hà) either.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog
from dancu.cards import selectors
from dancu.cards.models import Application, Card, IntakeDevice, IntakePoint
from tests.cards.conftest import capture, take
from tests.conftest import People, Personas, make_citizen

pytestmark = pytest.mark.django_db
SignIn = Callable[[Client, User], Client]


def grouped(pin: str) -> str:
    """A PIN as it is read out over the counter: "001 090 123 456"."""
    return " ".join(pin[i : i + 3] for i in range(0, 12, 3))


def api(officer: User) -> Client:
    _token, secret = api_token_create(user=officer, name="máy trạm")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def rows(html: str) -> list[int]:
    """The applications listed on a queue page, by id, in order."""
    return [int(pk) for pk in re.findall(r'data-application="(\d+)"', html)]


@pytest.fixture
def hungs(personas: Personas, people: People, station: IntakePoint, device: IntakeDevice) -> Application:
    return take(personas.lan, people.hung, station, device)


@pytest.fixture
def mais(personas: Personas, people: People, hong_ha_station: IntakePoint) -> Application:
    device = IntakeDevice.objects.get(point=hong_ha_station)
    return take(personas.binh, people.mai, hong_ha_station, device, shift="2", images=capture(iris=True))


def searches(application: Application) -> list[str]:
    """Every way an officer may type what the citizen at the counter says."""
    pin = application.citizen.pin
    number = application.number
    return [
        pin,
        grouped(pin),
        f"{pin[:3]}.{pin[3:6]}.{pin[6:9]}-{pin[9:]}",
        number,
        number.lower(),
        number[2:],  # the receipt's digits alone
        f"HS{application.pk}",
    ]


def test_lan_finds_hungs_application_by_pin_number_and_name(
    client: Client, sign_in: SignIn, personas: Personas, hungs: Application, three: list[int]
) -> None:
    sign_in(client, personas.lan)
    names = ["Nguyễn Văn Hùng", "nguyen van hung", "NGUYEN VAN HU", "nguyễn văn hù", "hùng", "hung"]
    for text in [*searches(hungs), *names]:
        response = client.get("/cards/", {"q": text})
        assert response.status_code == 200, text
        assert rows(response.content.decode()) == [hungs.pk], text
    # A name's beginning finds everyone it begins, most urgent first: Hùng and Hải, not Hoa.
    hai = Application.objects.get(citizen__full_name="Nguyễn Văn Hải")
    assert rows(client.get("/cards/", {"q": "nguyen van"}).content.decode()) == [
        pk for pk in three if pk in {hungs.pk, hai.pk}
    ]
    # Each result says the application's number, the citizen, the kind, the status and the promised date.
    page = client.get("/cards/", {"q": grouped(hungs.citizen.pin)}).content.decode()
    for shown in ("Nguyễn Văn Hùng", hungs.number, "Cấp lần đầu", "Đã thu nhận, chờ duyệt"):
        assert shown in page
    assert hungs.due_on.strftime("%d/%m/%Y") in page
    # The search box keeps what was typed.
    assert f'value="{grouped(hungs.citizen.pin)}"' in page


def test_a_search_is_logged_with_the_words_typed(
    client: Client, sign_in: SignIn, personas: Personas, hungs: Application
) -> None:
    sign_in(client, personas.lan)
    client.get("/cards/", {"q": "nguyen van hung"})
    read = AccessLog.objects.get(actor=personas.lan, citizen=hungs.citizen)
    assert read.action == AccessLog.Action.SEARCH
    assert read.detail == "hàng chờ hồ sơ cấp thẻ: mọi trạng thái; từ khoá: nguyen van hung"


@pytest.mark.parametrize("api_too", [False, True])
def test_a_search_never_returns_an_application_outside_the_officers_area(
    sign_in: SignIn,
    personas: Personas,
    hungs: Application,
    mais: Application,
    api_too: bool,
) -> None:
    names = {hungs: ["nguyen van hung", "Nguyễn Văn Hùng", "hung"], mais: ["le thi mai", "Lê Thị Mai", "mai"]}
    # Each officer signs in once: a code of the authenticator app is taken once.
    callers = {
        officer: api(officer) if api_too else sign_in(Client(), officer)
        for officer in (personas.binh, personas.lan)
    }
    for officer, outside in ((personas.binh, hungs), (personas.lan, mais)):
        caller = callers[officer]
        for text in [*searches(outside), *names[outside]]:
            for status in ("", "all", outside.status):
                if api_too:
                    response = caller.get("/api/v1/cards/applications", {"q": text, "status": status})
                    assert response.status_code == 200, (text, response.content[:300])
                    assert response.json()["results"] == [], text
                    assert response.json()["total"] == 0, text
                else:
                    response = caller.get("/cards/", {"q": text, "status": status})
                    assert response.status_code == 200, text
                    assert rows(response.content.decode()) == [], text
                    assert 'id="applications"' not in response.content.decode(), text
        assert not AccessLog.objects.filter(actor=officer, citizen=outside.citizen).exists()
    # The same searches find each officer's own.
    binh = callers[personas.binh]
    if api_too:
        found = binh.get("/api/v1/cards/applications", {"q": grouped(mais.citizen.pin)})
        assert [row["id"] for row in found.json()["results"]] == [mais.pk]
    else:
        assert rows(binh.get("/cards/", {"q": "le thi mai"}).content.decode()) == [mais.pk]


def test_a_search_finds_the_card_already_handed_over(
    client: Client, sign_in: SignIn, personas: Personas, delivered: Card
) -> None:
    """ "Where is my card?" is asked of cards delivered too: a search looks through every status unless
    one is chosen, while the queue without a search stays the work in progress."""
    sign_in(client, personas.lan)
    application = delivered.application
    assert rows(client.get("/cards/").content.decode()) == []
    found = client.get("/cards/", {"q": "nguyen van hung"}).content.decode()
    assert rows(found) == [application.pk]
    assert "Đã trả thẻ" in found
    # The status box shows what was searched: every status.
    assert '<option value="all" selected>' in found
    assert rows(client.get("/cards/", {"q": "hung", "status": "delivered"}).content.decode()) == [
        application.pk
    ]
    assert rows(client.get("/cards/", {"q": "hung", "status": "taken"}).content.decode()) == []


@pytest.fixture
def three(personas: Personas, hungs: Application, station: IntakePoint, device: IntakeDevice) -> list[int]:
    """Three applications of Phường Hoàn Kiếm, most urgent first (the queue's order)."""
    others = [
        take(personas.lan, make_citizen(full_name=name), station, device)
        for name in ("Nguyễn Văn Hải", "Phạm Thị Hoa")
    ]
    return [
        a.pk
        for a in Application.objects.filter(pk__in=[hungs.pk, *[a.pk for a in others]]).order_by(
            "due_on", "pk"
        )
    ]


def test_lan_pages_through_the_whole_queue(
    client: Client, sign_in: SignIn, personas: Personas, three: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "QUEUE_PAGE", 2)
    sign_in(client, personas.lan)
    first = client.get("/cards/").content.decode()
    assert rows(first) == three[:2]
    assert "Trang 1/2" in first
    assert 'href="?page=2" rel="next"' in first
    second = client.get("/cards/", {"page": "2"}).content.decode()
    assert rows(second) == three[2:]
    assert 'href="?page=1" rel="prev"' in second
    # The pager keeps the search: "nguyen" finds two of the three, on one page then two.
    searched = client.get("/cards/", {"q": "nguyen", "status": "all"}).content.decode()
    assert len(rows(searched)) == 2
    monkeypatch.setattr(selectors, "QUEUE_PAGE", 1)
    searched = client.get("/cards/", {"q": "nguyen", "status": "all"}).content.decode()
    assert 'href="?q=nguyen&amp;status=all&amp;page=2" rel="next"' in searched


@pytest.mark.parametrize("page", ["abc", "-1", "0", "1.5", "９", "99999999999999999999"])
def test_a_page_that_is_not_a_number_is_the_first(
    client: Client, sign_in: SignIn, personas: Personas, three: list[int], page: str
) -> None:
    sign_in(client, personas.lan)
    response = client.get("/cards/", {"page": page})
    assert response.status_code == 200
    assert rows(response.content.decode()) == three


def test_a_page_past_the_end_says_so(
    client: Client, sign_in: SignIn, personas: Personas, three: list[int]
) -> None:
    sign_in(client, personas.lan)
    response = client.get("/cards/", {"page": "7"})
    assert response.status_code == 200
    page = response.content.decode()
    assert rows(page) == []
    assert 'id="empty-page"' in page
    assert 'href="?page=1"' in page
    assert not AccessLog.objects.filter(actor=personas.lan).exclude(detail__startswith="đăng").exists()


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE cards_application; --",
        "<script>alert(1)</script>",
        "nguyen\x00van",
        "hung\u200b",
        "a" * 101,
        "123",
        "00109012345",
        "nguyen 7",
        "...",
    ],
)
def test_a_search_the_rules_refuse_is_answered_on_the_page_and_the_api(
    client: Client, sign_in: SignIn, personas: Personas, hungs: Application, text: str
) -> None:
    sign_in(client, personas.lan)
    response = client.get("/cards/", {"q": text})
    assert response.status_code == 200
    page = response.content.decode()
    assert rows(page) == []
    assert re.search(r'<ul class="errorlist"[^>]*data-field="q">', page)
    answer = api(personas.lan).get("/api/v1/cards/applications", {"q": text})
    assert answer.status_code == 422, answer.content[:300]
    assert answer.json()["errors"][0]["field"] == "q"
    assert not AccessLog.objects.filter(actor=personas.lan, citizen=hungs.citizen).exists()


def test_a_number_that_is_neither_a_pin_nor_an_application_says_what_to_type(
    client: Client, sign_in: SignIn, personas: Personas, hungs: Application
) -> None:
    sign_in(client, personas.lan)
    # Eight digits: nine would be an old CMND, which the queue finds since review session 27.
    page = client.get("/cards/", {"q": "001 090 12"}).content.decode()
    assert (
        "Nhập số định danh (12 số), số CMND (9 số), số hồ sơ (HS và 10 số) hoặc họ tên [search.text]" in page
    )


def test_a_status_the_page_does_not_know_is_named_not_ignored(
    client: Client, sign_in: SignIn, personas: Personas, hungs: Application
) -> None:
    sign_in(client, personas.lan)
    page = client.get("/cards/", {"status": "bogus"}).content.decode()
    assert rows(page) == []
    assert re.search(r'<ul class="errorlist"[^>]*data-field="status">', page)


def test_the_api_searches_and_pages_the_queue(personas: Personas, three: list[int]) -> None:
    lan = api(personas.lan)
    first = lan.get("/api/v1/cards/applications", {"limit": 2}).json()
    assert [row["id"] for row in first["results"]] == three[:2]
    assert (first["total"], first["page"], first["pages"], first["has_next"]) == (3, 1, 2, True)
    second = lan.get("/api/v1/cards/applications", {"limit": 2, "page": 2}).json()
    assert [row["id"] for row in second["results"]] == three[2:]
    assert (second["page"], second["has_next"]) == (2, False)
    past = lan.get("/api/v1/cards/applications", {"limit": 2, "page": 9}).json()
    assert (past["results"], past["page"], past["pages"], past["has_next"]) == ([], 9, 2, False)
    named = lan.get("/api/v1/cards/applications", {"q": "pham thi hoa", "status": "all"}).json()
    assert [row["full_name"] for row in named["results"]] == ["Phạm Thị Hoa"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "10001"}, "page"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_the_api_refuses_a_page_or_search_out_of_bounds(
    personas: Personas, hungs: Application, params: dict[str, Any], field: str
) -> None:
    response = api(personas.lan).get("/api/v1/cards/applications", params)
    assert response.status_code == 422, response.content[:300]
    assert response.json()["errors"][0]["field"] == field


def test_the_apis_page_of_applications_costs_the_same_queries_for_one_row_as_for_three(
    personas: Personas, three: list[int]
) -> None:
    # Each row read its card and its biometrics by a query of its own: 400 queries for a page of 200.
    lan = api(personas.lan)
    with CaptureQueriesContext(connection) as one:
        assert len(lan.get("/api/v1/cards/applications", {"limit": 1}).json()["results"]) == 1
    with CaptureQueriesContext(connection) as all_three:
        found = lan.get("/api/v1/cards/applications", {"limit": 3}).json()["results"]
    assert [row["id"] for row in found] == three
    assert len(all_three) == len(one)
    assert {row["card_id"] for row in found} == {None}
