"""Refusals the API's handlers never see (unknown path, wrong method) come in the API's error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from dancu.accounts.services import api_token_create
from dancu.collection.models import CollectionForm
from tests.collection.forms_support import dc01_data
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


DC01 = json.dumps({"kind": "DC01", "data": dc01_data(), "document": "Giấy khai sinh số 12/1992"})


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        # JSON that parses, under a type that is not JSON's: accepted before, whatever the header said.
        ("text/plain", DC01),
        ("text/plain; charset=utf-8", DC01),
        # `curl -d` without a header sends a form.
        ("application/x-www-form-urlencoded", DC01),
        ("application/x-www-form-urlencoded", "kind=DC01&document=x"),
        ("multipart/form-data; boundary=BoUnDaRy", "--BoUnDaRy\r\n"),
        ("application/xml", "<form/>"),
        ("", DC01),
        # JSON is UTF-8 between systems (RFC 8259): another charset is not read as one.
        ("application/json; charset=iso-8859-1", DC01),
        ("application/json; charset=no-such-charset", DC01),
    ],
)
def test_a_body_that_is_not_json_is_a_415_naming_the_content_type(
    api: Client, content_type: str, body: str
) -> None:
    response = api.generic("POST", "/api/v1/forms", body.encode(), content_type=content_type)

    assert response.status_code == 415, response.content[:500]
    error = _only_error(response)
    assert (error["field"], error["code"]) == ("Content-Type", "request.content_type")
    assert "application/json" in error["message_en"]
    assert f"not {content_type or '(none)'}" in error["message_en"]
    assert error["message_vi"]
    assert not CollectionForm.objects.exists()


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON; charset=UTF-8",
        "application/json;charset=utf8",
    ],
)
def test_a_json_body_is_read_with_or_without_a_utf8_charset(api: Client, content_type: str) -> None:
    response = api.generic("POST", "/api/v1/forms", DC01.encode(), content_type=content_type)

    assert response.status_code == 201, response.content[:500]
    assert CollectionForm.objects.count() == 1


def test_every_kind_of_write_with_a_body_checks_its_type(api: Client) -> None:
    draft = api.post("/api/v1/forms", DC01, content_type="application/json").json()
    path = f"/api/v1/forms/{draft['id']}"
    for method, where in [("PUT", path), ("PATCH", "/api/v1/citizens/001090123456")]:
        response = api.generic(method, where, b'{"changes": {}}', content_type="text/plain")
        assert response.status_code == 415, (method, response.content[:500])
        assert _only_error(response)["code"] == "request.content_type"


def test_the_openapi_document_declares_the_415_of_every_operation_that_reads_a_json_body(api: Client) -> None:
    document = Client().get("/api/v1/openapi.json").json()
    operations = [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    with_body = [(m, p, o) for m, p, o in operations if "requestBody" in o]
    assert ("POST", "/api/v1/forms") in {(m, p) for m, p, _o in with_body}
    assert len(with_body) >= 20
    for method, path, operation in operations:
        declared = operation["responses"].get("415")
        if "requestBody" not in operation:
            assert declared is None, (method, path)
            continue
        assert declared is not None, (method, path)
        if "application/json" not in operation["requestBody"]["content"]:
            # The upload of an import takes a multipart form, and says so in its 415.
            assert "multipart/form-data" in operation["requestBody"]["content"], (method, path)
            assert "multipart/form-data" in declared["description"], (method, path)
        else:
            assert "application/json" in declared["description"]
        assert declared["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Errors"}
    errors = document["components"]["schemas"]["Errors"]
    item = errors["properties"]["errors"]["items"]
    # The answer the document declares is the answer given.
    refused = api.generic("POST", "/api/v1/forms", DC01.encode(), content_type="text/plain")
    assert refused.status_code == 415
    assert set(refused.json()) == set(errors["required"])
    assert set(refused.json()["errors"][0]) == set(item["required"]) == set(item["properties"])


def test_a_request_without_a_body_to_read_is_not_checked(api: Client) -> None:
    draft = api.post("/api/v1/forms", DC01, content_type="application/json").json()
    # A GET, and a step that takes no body, whatever the header says.
    assert api.get("/api/v1/forms", content_type="text/plain").status_code == 200
    submitted = api.post(f"/api/v1/forms/{draft['id']}/submit", b"", content_type="text/plain")
    assert submitted.status_code == 200, submitted.content[:500]
    # An operation that takes a body, sent none: the body is missing (422), not of the wrong type.
    response = api.post("/api/v1/forms", b"", content_type="text/plain")
    assert response.status_code == 422
    assert _only_error(response)["code"] == "schema.missing"


def test_json_that_does_not_parse_is_still_a_400(api: Client) -> None:
    response = api.post("/api/v1/forms", b'{"kind": ', content_type="application/json")

    assert response.status_code == 400
    assert _only_error(response)["code"] == "request.http_400"


@pytest.mark.parametrize(
    ("path", "field", "code", "message_vi"),
    [
        (
            "/api/v1/citizens?q=nguyen&page=99999999999999999999999",
            "page",
            "schema.less_than_equal",
            "Giá trị không hợp lệ: Phải nhỏ hơn hoặc bằng 10000",
        ),
        (
            "/api/v1/citizens?page=0",
            "page",
            "schema.greater_than_equal",
            "Giá trị không hợp lệ: Phải lớn hơn hoặc bằng 1",
        ),
        (
            "/api/v1/households/1e3",
            "household_id",
            "schema.int_parsing",
            "Giá trị không hợp lệ: Phải là một số nguyên",
        ),
        (
            "/api/v1/citizens?q=" + "n" * 201,
            "q",
            "schema.string_too_long",
            "Giá trị không hợp lệ: Dài tối đa 200 ký tự",
        ),
        (
            "/api/v1/citizens/001090123456/state?on=2023-02-30",
            "on",
            "schema.date_from_datetime_parsing",
            "Giá trị không hợp lệ: Phải là một ngày có thật, dạng YYYY-MM-DD",
        ),
        (
            "/api/v1/citizens/001090123456/state",
            "on",
            "schema.missing",
            "Giá trị không hợp lệ: Thiếu giá trị bắt buộc",
        ),
    ],
)
def test_schema_refusals_are_worded_in_vietnamese_too(
    api: Client, path: str, field: str, code: str, message_vi: str
) -> None:
    # pydantic words its messages in English only; the Vietnamese one is the API's own.
    response = api.get(path)

    assert response.status_code == 422
    error = _only_error(response)
    assert (error["field"], error["code"], error["message_vi"]) == (field, code, message_vi)
    assert error["message_en"].startswith("Invalid value: ")
    assert "Input should" not in error["message_vi"]


def test_a_schema_refusal_of_an_unlisted_kind_names_its_rule_in_vietnamese() -> None:
    from dancu.config.api import _schema_message_vi

    assert _schema_message_vi("url_scheme", {"expected_schemes": "'https'"}) == (
        "Giá trị không hợp lệ (quy tắc url_scheme)"
    )
    assert _schema_message_vi("less_than_equal", {}) == "Giá trị không hợp lệ (quy tắc less_than_equal)"


def test_more_query_parameters_than_django_takes_is_a_json_400(api: Client) -> None:
    # Django refuses a request of over DATA_UPLOAD_MAX_NUMBER_FIELDS parameters with an HTML 400 before
    # any operation reads them.
    query = "&".join(f"f{number}=1" for number in range(1001))
    response = api.get(f"/api/v1/citizens?{query}")

    assert response.status_code == 400
    error = _only_error(response)
    assert (error["code"], error["message_en"]) == ("request.bad", "The request is not valid")
    assert error["message_vi"] == "Yêu cầu không hợp lệ"


def test_a_content_length_that_is_no_number_is_not_taken_for_a_body_over_the_limit(
    api: Client, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    query = "&".join(f"f{number}=1" for number in range(1001))
    response = api.get(f"/api/v1/citizens?{query}", CONTENT_LENGTH="a lot")

    assert response.status_code == 400
    assert _only_error(response)["code"] == "request.bad"
