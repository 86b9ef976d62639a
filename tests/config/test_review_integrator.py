"""What an integrator met with the API as a whole, reading docs/api.md and the OpenAPI document (review
session 21): the 401 says which scheme it takes, and the document declares the refusals every operation
can answer, in the `Errors` shape, so that a client generated from it expects them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dancu.accounts.services import api_token_create, api_token_revoke
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db

ERRORS = {"$ref": "#/components/schemas/Errors"}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    document = Client().get("/api/v1/openapi.json").json()
    return [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


# The 401 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer dcu_not-a-token", "Token abc", "Basic bGFuOnB3"])
@pytest.mark.parametrize("path", ["/api/v1/citizens?q=Hùng", "/api/v1/audit/access"])
def test_a_401_names_the_bearer_scheme(header: str | None, path: str) -> None:
    client = Client(headers={"Authorization": header} if header else {})

    response = client.get(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["code"] == "auth.required"


def test_a_revoked_token_gets_the_same_401(personas: Personas, people: People) -> None:
    token, secret = api_token_create(user=personas.lan, name="máy trạm")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    assert client.get(f"/api/v1/citizens/{people.hung.pin}").status_code == 200
    api_token_revoke(user=personas.lan, token=token)

    response = client.get(f"/api/v1/citizens/{people.hung.pin}")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_answer_that_is_not_a_401_names_no_scheme(personas: Personas, people: People) -> None:
    _token, secret = api_token_create(user=personas.lan, name="máy trạm")

    response = Client(headers={"Authorization": f"Bearer {secret}"}).get(
        f"/api/v1/citizens/{people.tuan.pin}"
    )

    assert response.status_code == 404
    assert "WWW-Authenticate" not in response


# The OpenAPI document ------------------------------------------------------------------------------


def test_every_operation_declares_its_401_and_422_in_the_errors_shape() -> None:
    for method, path, operation in operations():
        responses = operation["responses"]
        assert operation.get("security"), (method, path)
        assert responses["401"]["content"]["application/json"]["schema"] == ERRORS, (method, path)
        has_input = method != "GET" or operation.get("parameters")
        if has_input:
            assert responses["422"]["content"]["application/json"]["schema"] == ERRORS, (method, path)


def test_an_operation_naming_a_record_declares_its_404() -> None:
    named = 0
    for method, path, operation in operations():
        in_path = any(p["in"] == "path" for p in operation.get("parameters", []))
        if in_path or method != "GET":
            named += 1
            assert "404" in operation["responses"], (method, path)
    assert named >= 40


def test_an_operation_reading_json_declares_the_400_of_a_body_that_does_not_parse() -> None:
    with_body = [
        (m, p, o)
        for m, p, o in operations()
        if "application/json" in o.get("requestBody", {}).get("content", {})
    ]
    assert len(with_body) >= 20
    for method, path, operation in with_body:
        declared = operation["responses"]["400"]
        assert "request.http_400" in declared["description"], (method, path)
        assert declared["content"]["application/json"]["schema"] == ERRORS


def test_a_404_a_handler_declares_itself_has_the_errors_shape_too() -> None:
    # GET /citizens/{pin}/state raises its own 404 (a date before the record existed): ninja declared it as
    # "Not Found", any object.
    state = next(o for _m, p, o in operations() if p == "/api/v1/citizens/{pin}/state")
    export = next(o for _m, p, o in operations() if p == "/api/v1/quality/export/records.{file_format}")

    assert state["responses"]["404"]["content"]["application/json"]["schema"] == ERRORS
    assert export["responses"]["404"]["content"]["application/json"]["schema"] == ERRORS
    assert export["responses"]["422"]["content"]["application/json"]["schema"] == ERRORS


def test_an_operation_without_a_body_declares_no_400() -> None:
    for method, path, operation in operations():
        if "requestBody" not in operation:
            assert "400" not in operation["responses"], (method, path)
