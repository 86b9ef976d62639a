"""The campaigns API: the same figures and scoping as the pages, refusals naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from tests.campaigns.conftest import Country
from tests.conftest import Personas

pytestmark = pytest.mark.django_db


def api(user: User) -> Client:
    _token, secret = api_token_create(user=user, name="máy tính bảng")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def post(client: Client, path: str, body: Any) -> Any:
    payload = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, payload, content_type="application/json")


def test_figures_of_a_province(country: Country, personas: Personas) -> None:
    response = api(personas.cuong).get(f"/api/v1/campaigns/{country.campaign.pk}/figures/01?day=2025-07-03")
    assert response.status_code == 200
    body = response.json()
    cards = body["metrics"][0]
    assert (cards["code"], cards["achieved"], cards["target"], cards["pct"]) == ("cards_taken", 8, 10, 80.0)
    assert (cards["units_met"], cards["units_with_target"]) == (2, 3)
    assert [u["rank"] for u in cards["units"][:3]] == [1, 2, 3]
    assert cards["units"][0]["pct"] == 200.0
    assert [d["cumulative"] for d in cards["days"]] == [4, 8, 8]


def test_figures_of_a_commune_down_to_the_shift(country: Country, personas: Personas) -> None:
    path = (
        f"/api/v1/campaigns/{country.campaign.pk}/figures/{country.hoan_kiem.code}?day=2025-07-03&language=en"
    )
    body = api(personas.lan).get(path).json()
    cards = body["metrics"][0]
    assert cards["name"] == "Card applications taken"
    assert {b["label"]: b["achieved"] for b in cards["breakdowns"]["shift"]} == {"sáng": 3, "chiều": 1}


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("since=2030-01-01&day=2020-01-01", "since", "figures.since_after_day"),
        ("since=2025-07-04&day=2025-07-03", "since", "figures.since_after_day"),
        ("since=2399-12-31", "since", "figures.since_after_day"),  # after today, the default day
        ("day=0001-01-01", "day", "date.year_range"),
        ("since=2025-07-01&day=9999-12-31", "day", "date.year_range"),
    ],
)
def test_a_range_that_is_not_one_is_refused_by_name(
    country: Country, personas: Personas, query: str, field: str, code: str
) -> None:
    # An empty range would answer target 0 and "met"; the page refuses the same range.
    response = api(personas.minh).get(f"/api/v1/campaigns/{country.campaign.pk}/figures/vn?{query}")
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]


def test_other_units_look_missing(country: Country, personas: Personas) -> None:
    client = api(personas.cuong)
    for scope in ("vn", "79", country.sai_gon.code, "zz"):
        response = client.get(f"/api/v1/campaigns/{country.campaign.pk}/figures/{scope}")
        assert response.status_code == 404, scope
        assert response.json()["errors"][0]["code"] == "not_found"
    assert client.get("/api/v1/campaigns/424242/figures/01").status_code == 404
    assert Client().get(f"/api/v1/campaigns/{country.campaign.pk}/figures/01").status_code == 401
    assert api(personas.an).get("/api/v1/campaigns").status_code == 401


def test_targets_through_the_api(country: Country, personas: Personas) -> None:
    client = api(personas.cuong)
    path = f"/api/v1/campaigns/{country.campaign.pk}/targets"
    response = post(
        client, path, {"metric": "cards_taken", "unit": country.hoan_kiem.code, "total": 6, "reason": "Tăng"}
    )
    assert response.status_code == 201
    assert (response.json()["old_total"], response.json()["new_total"]) == (4, 6)
    history = client.get(f"{path}/01").json()
    assert history[0]["reason"] == "Tăng"
    # Hà Nội's own target and its communes', newest first.
    assert [(h["unit"], h["new_total"]) for h in history] == [
        (country.hoan_kiem.code, 6),
        (country.hong_ha.code, 3),
        (country.hong_ha.code, 5),
        (country.hoan_kiem.code, 4),
        ("01", 10),
    ]
    refused = post(client, path, {"metric": "cards_taken", "unit": "01", "total": 6, "reason": "x"})
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (422, "target.not_your_level")
    refused = post(
        client, path, {"metric": "forms_approved", "unit": country.hoan_kiem.code, "total": 6, "reason": "x"}
    )
    assert refused.json()["errors"][0]["field"] == "metric"
    refused = post(
        client,
        path,
        {"metric": "cards_taken", "unit": country.hoan_kiem.code, "total": "nhiều", "reason": "x"},
    )
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "total")
    # A boolean or a number in quotes is not a whole number: it is refused, not read as 1 or 12.
    for field, value in (("total", True), ("per_day", False), ("total", "12"), ("total", 12.0)):
        refused = post(
            client,
            path,
            {"metric": "cards_taken", "unit": country.hoan_kiem.code, field: value, "reason": "x"},
        )
        assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, field), value
    assert post(client, path, "{not json").status_code == 400
    refused = post(
        client, path, {"metric": "cards_taken", "unit": country.sai_gon.code, "total": 6, "reason": "x"}
    )
    assert refused.status_code == 404


def test_the_ministry_defines_a_metric_and_a_campaign(country: Country, personas: Personas) -> None:
    client = api(personas.minh)
    response = post(
        client,
        "/api/v1/campaigns/metrics",
        {
            "code": "cards_at_point",
            "name": "Thẻ tại điểm UBND",
            "name_en": "Cards at the ward office",
            "event_types": ["cards.application.taken"],
            "data_filter": {"intake_point": "Điểm UBND phường"},
        },
    )
    assert response.status_code == 201
    response = post(
        client,
        "/api/v1/campaigns",
        {
            "name": "Đợt điểm UBND",
            "starts_on": "2025-07-01",
            "ends_on": "2025-07-10",
            "metrics": [{"metric": "cards_at_point"}, {"metric": "nope"}],
        },
    )
    assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "metrics.1.metric")
    response = post(
        client,
        "/api/v1/campaigns",
        {
            **CAMPAIGN,
            "starts_on": "9999-12-30",
            "ends_on": "9999-12-31",
            "metrics": [{"metric": "cards_taken"}],
        },
    )
    assert response.status_code == 422
    assert {(e["field"], e["code"]) for e in response.json()["errors"]} == {
        ("starts_on", "campaign.date_range"),
        ("ends_on", "campaign.date_range"),
    }
    response = post(
        client,
        "/api/v1/campaigns",
        {
            "name": "Đợt điểm UBND",
            "starts_on": "2025-07-01",
            "ends_on": "2025-07-10",
            "metrics": [{"metric": "cards_at_point"}],
        },
    )
    assert response.status_code == 201
    figures = client.get(f"/api/v1/campaigns/{response.json()['id']}/figures/vn?day=2025-07-10").json()
    assert figures["metrics"][0]["achieved"] == 4  # Hoàn Kiếm's four at the ward office
    assert (
        post(
            api(personas.cuong), "/api/v1/campaigns/metrics", {"code": "x", "name": "x", "name_en": "x"}
        ).status_code
        == 422
    )


METRIC = {"code": "cards_evening", "name": "Thẻ ca tối", "name_en": "Evening cards"}
CAMPAIGN = {"name": "Đợt tháng 8", "starts_on": "2025-08-01", "ends_on": "2025-08-10"}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "metrics",
            {**METRIC, "event_types": ["cards.application.taken"], "data_filter": {"shift": "\x00"}},
            "data_filter",
        ),
        (
            "metrics",
            {**METRIC, "event_types": ["cards.application.taken"], "data_filter": {"a\x00": "1"}},
            "data_filter",
        ),
        ("metrics", {**METRIC, "name": "Thẻ\x00", "event_types": ["cards.application.taken"]}, "name"),
        ("metrics", {**METRIC, "name_en": "<script>", "event_types": ["cards.application.taken"]}, "name_en"),
        ("", {**CAMPAIGN, "name": "Đợt\x00", "metrics": [{"metric": "cards_taken"}]}, "name"),
        ("targets", {"metric": "cards_taken", "unit": "01", "total": 5, "reason": "Giao\x00"}, "reason"),
    ],
)
def test_nul_and_control_characters_are_refused_by_name(
    country: Country, personas: Personas, path: str, body: dict[str, Any], field: str
) -> None:
    # Found by the API fuzz: a NUL reached PostgreSQL, which refuses it in text and JSON (a 500 there).
    url = (
        f"/api/v1/campaigns/{country.campaign.pk}/targets"
        if path == "targets"
        else f"/api/v1/campaigns/{path}"
    )
    response = post(api(personas.minh), url.rstrip("/"), body)

    assert response.status_code == 422, response.content[:300]
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert errors[0]["code"] in {"text.control_chars", "text.characters"}
    assert errors[0]["message_vi"]
    assert errors[0]["message_en"]


@pytest.mark.parametrize(
    ("path", "body", "rule"),
    [
        ("", {**CAMPAIGN, "metrics": [{"metric": "cards\x00"}]}, ("metrics.0.metric", "metric.unknown")),
        (
            "",
            {**CAMPAIGN, "metrics": [{"metric": "cards_taken", "denominator": "\x00"}]},
            ("metrics.0.denominator", "metric.unknown"),
        ),
        (
            "targets",
            {"metric": "\x00", "unit": "01", "total": 5, "reason": "Giao"},
            ("metric", "target.metric_not_in_campaign"),
        ),
    ],
)
def test_a_metric_code_with_a_nul_names_no_metric(
    country: Country, personas: Personas, path: str, body: dict[str, Any], rule: tuple[str, str]
) -> None:
    # Found by the API fuzz: the look-up itself sent the NUL to PostgreSQL, which refused it (a 500).
    url = f"/api/v1/campaigns/{country.campaign.pk}/targets" if path == "targets" else "/api/v1/campaigns"
    response = post(api(personas.minh), url, body)

    assert response.status_code == 422, response.content[:300]
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [rule]
