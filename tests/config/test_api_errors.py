"""Refusals the API's handlers never see (unknown path, wrong method) come in the API's error shape."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dancu.accounts.services import api_token_create
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(personas: Personas) -> Client:
    _token, secret = api_token_create(user=personas.lan, name="máy tính bảng")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def _only_error(response: Any) -> dict[str, str]:
    assert response["Content-Type"].startswith("application/json")
    errors = response.json()["errors"]
    assert len(errors) == 1
    assert set(errors[0]) == {"field", "code", "message_vi", "message_en"}
    return dict(errors[0])


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nothing-here", "/api/v1/citizens/001090123456/nothing", "/api/v1/<script>", "/api/v1/%00"],
)
@pytest.mark.parametrize("signed_in", [True, False])
def test_an_unknown_path_is_a_json_404(api: Client, path: str, signed_in: bool) -> None:
    response = (api if signed_in else Client()).get(path)

    assert response.status_code == 404
    error = _only_error(response)
    assert error["code"] == "request.unknown_path"
    assert error["message_vi"]
    assert error["message_en"]


def test_a_method_the_path_does_not_take_is_a_json_405_naming_the_allowed_ones(api: Client) -> None:
    response = api.delete("/api/v1/citizens")

    assert response.status_code == 405
    error = _only_error(response)
    assert error["code"] == "request.method_not_allowed"
    assert "DELETE" in error["message_en"]
    allowed = {m.strip() for m in response["Allow"].split(",")}
    assert "GET" in allowed
    assert all(m in error["message_en"] for m in allowed)


def test_a_body_over_the_size_limit_is_a_json_400_naming_the_limit(api: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    body = '{"kind": "DC01", "data": {"full_name": "' + "A" * (1024 * 1024) + '"}}'
    response = api.post("/api/v1/forms", body, content_type="application/json")

    assert response.status_code == 400
    error = _only_error(response)
    assert error["code"] == "request.too_large"
    assert "1.0 MB" in error["message_en"]


def test_a_missing_record_keeps_its_own_answer(api: Client, people: People) -> None:
    # Outside Lan's commune: the selector's NotFoundError, the same as for a record that does not exist.
    response = api.get(f"/api/v1/citizens/{people.tuan.pin}")

    assert response.status_code == 404
    assert _only_error(response)["code"] == "not_found"


def test_pages_outside_the_api_keep_django_s_answers() -> None:
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("method", ["post", "put"])
def test_an_empty_body_names_the_body(api: Client, method: str) -> None:
    # Found by the API fuzz: ninja locates this error at ("body", "body"), which named no field at all.
    response = getattr(api, method)(
        "/api/v1/forms" + ("/1" if method == "put" else ""), b"", content_type="application/json"
    )

    assert response.status_code == 422
    error = _only_error(response)
    assert error["field"] == "body"
    assert error["code"] == "schema.missing"
    assert error["message_vi"]
    assert error["message_en"]
