"""The review queue endpoints of /api/v1/: the queue, a pair, a decision and its undo, and every refusal.

Refusals are `{"errors": [...]}`: 422 for a broken rule or a bad body, 404 for a pair outside the
caller's area (the same as one that does not exist), 401 without a token.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.collection.models import StagingRecord
from dancu.matching.models import CandidatePair
from dancu.registry import services
from dancu.registry.models import Citizen, CitizenMerge, RecordVersion
from tests.conftest import HONG_HA, SYSTEM, Personas, make_citizen
from tests.matching.factories import candidate_pair, staged_row
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db
REASON = "Cùng họ tên, ngày sinh và địa chỉ"


def api(user: User) -> Client:
    _token, secret = api_token_create(user=user, name="máy tính bảng")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def post(client: Client, path: str, body: Any) -> Any:
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, payload, content_type="application/json")


def refusal(response: Any, status: int) -> list[tuple[str, str]]:
    assert response.status_code == status, response.content[:800]
    body = response.json()
    assert set(body) == {"errors"}
    for error in body["errors"]:
        assert set(error) == {"field", "code", "message_vi", "message_en"}
        assert error["message_vi"]
        assert error["message_en"]
    return [(e["field"], e["code"]) for e in body["errors"]]


def test_queue_pair_decision_and_undo(thu: User, hung: Citizen, duplicate: Citizen) -> None:
    pair = candidate_pair(duplicate, hung, probability=0.98)
    client = api(thu)

    queue = client.get("/api/v1/matching/pairs").json()
    assert (queue["total"], [r["id"] for r in queue["results"]]) == (1, [pair.pk])
    assert queue["results"][0]["left"] == {
        "kind": "citizen",
        "id": duplicate.pk,
        "full_name": "Nguyen Van Hung",
        "pin": duplicate.pin,
        "source": None,
    }
    detail = client.get(f"/api/v1/matching/pairs/{pair.pk}").json()
    assert detail["kept_pin"] == hung.pin
    assert detail["pin_rule"] == "pin.on_card"
    assert detail["evidence"][0]["field"] == "full_name"
    assert {r["field"]: r["differs"] for r in detail["rows"]}["full_name"] is True

    decided = post(client, f"/api/v1/matching/pairs/{pair.pk}/decision", {"same": True, "reason": REASON})
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "merged"
    assert decided.json()["merge_id"] == CitizenMerge.objects.get().pk
    assert [h["event_type"] for h in decided.json()["history"]] == ["matching.pair.decided"]
    assert client.get("/api/v1/matching/pairs").json()["total"] == 0
    # The decided pairs are listed apart, to find one and undo it.
    listed = client.get("/api/v1/matching/pairs?status=decided").json()
    assert [(r["id"], r["status"]) for r in listed["results"]] == [(pair.pk, "merged")]

    undone = post(client, f"/api/v1/matching/pairs/{pair.pk}/undo", {"reason": "Xác minh lại"})
    assert undone.json()["status"] == "pending"
    assert Citizen.objects.get(pk=duplicate.pk).merged_into_id is None


def test_a_staged_row_with_a_death(thu: User, hung: Citizen) -> None:
    row = staged_row(death_date="2023-04-05")
    StagingRecord.objects.filter(pk=row.pk).update(source_row=57)
    pair = candidate_pair(hung, row)
    client = api(thu)
    [listed] = client.get("/api/v1/matching/pairs").json()["results"]
    assert listed["deceased"] is True
    # The row as the officer finds it in the file (its 57th line), not the import's count of data rows.
    assert [side["source"] for side in (listed["left"], listed["right"]) if side["kind"] == "staging"] == [
        "Sổ hộ khẩu Hoàn Kiếm 2019, dòng 57"
    ]
    response = post(client, f"/api/v1/matching/pairs/{pair.pk}/decision", {"same": True, "reason": REASON})
    assert response.json()["status"] == "same"
    assert Citizen.objects.get(pk=hung.pk).is_deceased
    # The registry's history names the same line as the source of the date of death.
    assert RecordVersion.objects.filter(
        entity="citizen",
        entity_id=hung.pk,
        source_document__startswith="Sổ hộ khẩu Hoàn Kiếm 2019, dòng 57 (",
    ).exists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"same": True}, [("reason", "schema.missing")]),
        ({"reason": REASON}, [("same", "schema.missing")]),
        # A JSON boolean only (strict since session 27): any string is of the wrong type, not misread.
        ({"same": "perhaps", "reason": REASON}, [("same", "schema.bool_type")]),
        ({"same": False, "reason": ""}, [("reason", "reason.required")]),
        ({"same": False, "reason": "x\u0000y"}, [("reason", "text.control_chars")]),
        (
            {"same": True, "reason": REASON, "choices": {"permanent": "both"}},
            [("choices.permanent", "merge.choice_invalid")],
        ),
        ({"same": True, "reason": REASON, "choices": ["keep"]}, [("choices", "schema.dict_type")]),
    ],
)
def test_bad_decisions_are_refused(
    thu: User, hung: Citizen, duplicate: Citizen, body: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    pair = candidate_pair(hung, duplicate)
    response = post(api(thu), f"/api/v1/matching/pairs/{pair.pk}/decision", body)
    assert refusal(response, 422) == expected
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING


def test_a_body_that_is_not_json(thu: User, hung: Citizen, duplicate: Citizen) -> None:
    pair = candidate_pair(hung, duplicate)
    response = post(api(thu), f"/api/v1/matching/pairs/{pair.pk}/decision", b"{not json")
    assert refusal(response, 400)[0][1] == "request.http_400"


def test_a_merge_needing_a_choice_says_which(thu: User, hung: Citizen) -> None:
    elsewhere = make_citizen(full_name="Nguyen Van Hung", address="Số 9 phố Hàng Bông")
    pair = candidate_pair(hung, elsewhere)
    client = api(thu)
    assert refusal(
        post(client, f"/api/v1/matching/pairs/{pair.pk}/decision", {"same": True, "reason": REASON}), 422
    ) == [("choices.permanent", "merge.choice_required")]
    response = post(
        client,
        f"/api/v1/matching/pairs/{pair.pk}/decision",
        {"same": True, "reason": REASON, "choices": {"permanent": "keep"}},
    )
    assert response.json()["status"] == "merged"


def test_jurisdiction_of_every_endpoint(personas: Personas, hung: Citizen, duplicate: Citizen) -> None:
    pair = candidate_pair(hung, duplicate)
    outsiders = [
        personas.binh,
        personas.dung,
        personas.hoa,
        reviewer(username="rv", commune_code=HONG_HA),
    ]
    for outsider in outsiders:
        client = api(outsider)
        listed = client.get("/api/v1/matching/pairs")
        assert listed.status_code == 200, (outsider, listed.content)
        assert listed.json()["results"] == []
        for pk in (pair.pk, pair.pk + 999):
            assert refusal(client.get(f"/api/v1/matching/pairs/{pk}"), 404) == [("", "not_found")]
            decision = {"same": False, "reason": REASON}
            assert refusal(post(client, f"/api/v1/matching/pairs/{pk}/decision", decision), 404) == [
                ("", "not_found")
            ]
            assert refusal(post(client, f"/api/v1/matching/pairs/{pk}/undo", {"reason": "x"}), 404) == [
                ("", "not_found")
            ]
    # The auditor reads the access log, not records: the API does not let the token in at all.
    auditor = api(personas.an)
    assert refusal(auditor.get(f"/api/v1/matching/pairs/{pair.pk}"), 401) == [
        ("Authorization", "auth.required")
    ]
    # A collector of the ward sees the pair but may not decide.
    collector = api(personas.lan)
    assert collector.get(f"/api/v1/matching/pairs/{pair.pk}").status_code == 200
    response = post(
        collector, f"/api/v1/matching/pairs/{pair.pk}/decision", {"same": False, "reason": REASON}
    )
    assert refusal(response, 422) == [("actor", "role.not_allowed")]
    # The city's supervisor and the ministry may.
    assert api(personas.minh).get(f"/api/v1/matching/pairs/{pair.pk}").status_code == 200
    response = post(
        api(personas.cuong), f"/api/v1/matching/pairs/{pair.pk}/decision", {"same": False, "reason": REASON}
    )
    assert response.json()["status"] == "different"


def test_without_a_token(hung: Citizen, duplicate: Citizen) -> None:
    pair = candidate_pair(hung, duplicate)
    assert refusal(Client().get("/api/v1/matching/pairs"), 401) == [("Authorization", "auth.required")]
    assert refusal(Client().get(f"/api/v1/matching/pairs/{pair.pk}"), 401) == [
        ("Authorization", "auth.required")
    ]


@pytest.mark.parametrize("query", ["page=0", "page_size=1000", "page=abc"])
def test_bad_paging(thu: User, query: str) -> None:
    assert refusal(api(thu).get(f"/api/v1/matching/pairs?{query}"), 422)[0][1].startswith("schema.")


def test_a_row_settled_against_a_record_merged_since_is_refused_naming_the_kept_record(
    thu: User, hung: Citizen, duplicate: Citizen
) -> None:
    pair = candidate_pair(duplicate, staged_row(full_name="Nguyen Van Hung"))
    services.citizen_merge(
        actor=SYSTEM, keep=hung, absorb=duplicate, reason="Cùng một người", source_document="Biên bản 7"
    )
    response = post(api(thu), f"/api/v1/matching/pairs/{pair.pk}/decision", {"same": True, "reason": REASON})
    assert refusal(response, 422) == [("citizen", "citizen.merged")]
    assert hung.pin in response.json()["errors"][0]["message_vi"]
    pair.refresh_from_db()
    assert pair.status == CandidatePair.Status.PENDING
