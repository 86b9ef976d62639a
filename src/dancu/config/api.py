"""The JSON API under /api/v1/ (OpenAPI at /api/v1/docs): routers of each app mounted here."""

from __future__ import annotations

import codecs
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.parser import Parser
from ninja.types import DictStrAny

from dancu.accounts.api import OfficerToken
from dancu.audit.api import router as audit_router
from dancu.campaigns.api import router as campaigns_router
from dancu.cards.api import router as cards_router
from dancu.collection.api import router as collection_router
from dancu.collection.quality.api import router as quality_router
from dancu.lib.errors import ConflictError, DomainError, NotFoundError, PreconditionFailedError
from dancu.matching.api import router as matching_router
from dancu.registry.api import router as registry_router

JSON = "application/json"


class UnsupportedMediaTypeError(Exception):
    """A request body sent as something other than JSON, to an operation that reads a JSON body."""

    def __init__(self, content_type: str) -> None:
        super().__init__(content_type)
        self.content_type = content_type


class JsonBodyParser(Parser):
    """Reads an operation's body only when it is declared as JSON: `application/json`, with a charset of
    UTF-8 if it names one (the only encoding of JSON between systems, RFC 8259).

    ninja's own parser reads any body as JSON, whatever its Content-Type: a body sent as `text/plain` or as
    a form (`curl -d` without a header) was accepted when it happened to parse, refused as unreadable when
    it did not, and a client never learnt that its header was the fault. ninja calls `parse_body` only for
    an operation that takes a JSON body and only when the request carries one: an operation without a body
    (a GET), an empty body (a workflow step such as /submit sent without its optional body) and the query
    string are never checked. ninja turns whatever the parser raises into its 400, raised `from` it:
    `http_error` below answers a refused Content-Type with 415.
    """

    def parse_body(self, request: HttpRequest) -> DictStrAny:
        charset = (request.content_params or {}).get("charset")
        if request.content_type != JSON or (charset is not None and not _is_utf8(charset)):
            raise UnsupportedMediaTypeError(request.META.get("CONTENT_TYPE", ""))
        return super().parse_body(request)


def _is_utf8(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:
        return False


# The API's error shape, as every refusal writes it (`lib.errors.FieldError.as_dict`).
_ERRORS_SCHEMA = {
    "title": "Errors",
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "code", "message_vi", "message_en"],
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message_vi": {"type": "string"},
                    "message_en": {"type": "string"},
                },
            },
        }
    },
}


class DancuAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: DictStrAny | None = None
    ) -> OpenAPISchema:
        """ninja's document, with the refusals every operation can answer (`_refusals`: the 415 that
        `JsonBodyParser` gives every operation taking a JSON body, the 401, 404 and 422) declared on each of
        them: ninja knows only the answers a handler declares, and a client generated from the document did
        not expect the others."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Errors"] = _ERRORS_SCHEMA
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                takes_json = JSON in operation.get("requestBody", {}).get("content", {})
                refusals = _refusals(operation, takes_json=takes_json, writes=method.lower() != "get")
                for status, description in refusals:
                    # Over a handler's own declaration of the status too (a 404 it raises itself): ninja
                    # writes that one as "Not Found" with any object, and the answer has the Errors shape.
                    responses[status] = {
                        "description": description,
                        "content": {JSON: {"schema": {"$ref": "#/components/schemas/Errors"}}},
                    }
        return schema


def _refusals(operation: DictStrAny, *, takes_json: bool, writes: bool) -> list[tuple[str, str]]:
    """The refusals an operation can answer besides those its handler declares, each in the `Errors` shape:
    what the token check, the body parser, the schema validation and the rules answer for every operation
    (docs/api.md, "Errors"). ninja declares only a handler's own answers, and a client generated from the
    document treated the others as unexpected."""
    refusals = []
    if takes_json:
        refusals.append(("400", "The body is not JSON that parses: request.http_400, on the body field"))
    if operation.get("security"):
        refusals.append(
            ("401", "No valid API token of the kind this path takes: auth.required, on Authorization")
        )
    if writes or any(p.get("in") == "path" for p in operation.get("parameters", [])):
        # A write's body names records too (a PIN, a household number): its 404 names that field.
        refusals.append(
            ("404", "A record named does not exist or is outside your area (the same answer): not_found")
        )
    if takes_json:
        refusals.append(
            (
                "415",
                f"The body was not sent as Content-Type: {JSON} (UTF-8): "
                "request.content_type, on the Content-Type field",
            )
        )
    if writes or takes_json or operation.get("parameters"):
        refusals.append(("422", "A rule or the schema refused a value: one entry per broken rule, by field"))
    return refusals


api = DancuAPI(
    title="dancu API",
    version="1",
    description=(
        "Cơ sở dữ liệu quốc gia về dân cư — officer API. "
        "Authenticate with `Authorization: Bearer <token>` (create one under Account → API tokens)."
    ),
    auth=OfficerToken(),
    urls_namespace="api",
    parser=JsonBodyParser(),
)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, {"errors": [e.as_dict() for e in exc.errors]}, status=422)


@api.exception_handler(ConflictError)
def conflict_error(request: HttpRequest, exc: ConflictError) -> HttpResponse:
    # A write over a record changed since the client read it: the request was sound, the state moved on.
    return api.create_response(request, {"errors": [e.as_dict() for e in exc.errors]}, status=409)


@api.exception_handler(PreconditionFailedError)
def precondition_failed(request: HttpRequest, exc: PreconditionFailedError) -> HttpResponse:
    # The same stale write, named by the request's If-Match header: HTTP's answer to a failed precondition.
    return api.create_response(request, {"errors": [e.as_dict() for e in exc.errors]}, status=412)


@api.exception_handler(NotFoundError)
def not_found(request: HttpRequest, exc: NotFoundError) -> HttpResponse:
    # The same answer whether the record is missing or outside the caller's jurisdiction.
    return api.create_response(
        request,
        {
            "errors": [
                {
                    "field": exc.field,
                    "code": "not_found",
                    "message_vi": "Không tìm thấy",
                    "message_en": "Not found",
                }
            ]
        },
        status=404,
    )


# Vietnamese messages for the errors pydantic reports most (by its error type; the placeholders are its
# context values). pydantic words its messages in English only; a type not listed here says in Vietnamese
# that the value is invalid and names the rule's code, and the English message keeps pydantic's words.
_SCHEMA_MESSAGES_VI = {
    "missing": "Thiếu giá trị bắt buộc",
    "int_parsing": "Phải là một số nguyên",
    "int_type": "Phải là một số nguyên",
    "int_from_float": "Phải là một số nguyên, không có phần thập phân",
    "int_parsing_size": "Số quá lớn",
    "float_parsing": "Phải là một số",
    "float_type": "Phải là một số",
    "decimal_parsing": "Phải là một số",
    "bool_parsing": "Phải là true hoặc false",
    "bool_type": "Phải là true hoặc false",
    "string_type": "Phải là một chuỗi ký tự",
    "string_too_long": "Dài tối đa {max_length} ký tự",
    "string_too_short": "Phải có ít nhất {min_length} ký tự",
    "string_pattern_mismatch": "Không đúng dạng quy định",
    "less_than_equal": "Phải nhỏ hơn hoặc bằng {le}",
    "less_than": "Phải nhỏ hơn {lt}",
    "greater_than_equal": "Phải lớn hơn hoặc bằng {ge}",
    "greater_than": "Phải lớn hơn {gt}",
    "date_parsing": "Phải là một ngày có thật, dạng YYYY-MM-DD",
    "date_from_datetime_parsing": "Phải là một ngày có thật, dạng YYYY-MM-DD",
    "date_from_datetime_inexact": "Phải là một ngày, không kèm giờ",
    "date_type": "Phải là một ngày, dạng YYYY-MM-DD",
    "datetime_parsing": "Phải là một thời điểm, dạng YYYY-MM-DDTHH:MM:SS",
    "datetime_from_date_parsing": "Phải là một thời điểm, dạng YYYY-MM-DDTHH:MM:SS",
    "datetime_type": "Phải là một thời điểm, dạng YYYY-MM-DDTHH:MM:SS",
    "literal_error": "Phải là một trong các giá trị: {expected}",
    "enum": "Phải là một trong các giá trị: {expected}",
    "dict_type": "Phải là một đối tượng JSON",
    "model_type": "Phải là một đối tượng JSON",
    "model_attributes_type": "Phải là một đối tượng JSON",
    "list_type": "Phải là một danh sách",
    "too_long": "Có tối đa {max_length} phần tử",
    "too_short": "Phải có ít nhất {min_length} phần tử",
    "json_invalid": "Nội dung JSON không đọc được",
    "uuid_parsing": "Phải là một UUID",
}


def _schema_message_vi(kind: str, context: object) -> str:
    template = _SCHEMA_MESSAGES_VI.get(kind)
    if template is None:
        return f"Giá trị không hợp lệ (quy tắc {kind})"
    values = dict(context) if isinstance(context, dict) else {}
    if isinstance(values.get("expected"), str):
        # pydantic lists the values a literal or enum takes in English ("'csv' or 'xlsx'"): the last
        # "or" is its word, the values around it are the API's codes.
        head, joined, last = values["expected"].rpartition(" or ")
        if joined:
            values["expected"] = f"{head} hoặc {last}"
    try:
        return "Giá trị không hợp lệ: " + template.format_map(values)
    except (KeyError, IndexError, ValueError):
        # A context without the value the message names: the rule without the number.
        return f"Giá trị không hợp lệ (quy tắc {kind})"


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for item in exc.errors:
        kind = str(item.get("type", "invalid"))
        where = [str(part) for part in item.get("loc", ())]
        location = [part for part in where if part not in ("body", "payload", "query", "path")]
        # A body that is missing or not an object as a whole has no field of its own: the error names
        # where it is ("body"), never an empty field.
        field = ".".join(location) or (where[0] if where else "body")
        if kind == "extra_forbidden":
            errors.append(_unknown_field(field))
            continue
        errors.append(
            {
                "field": field,
                "code": f"schema.{kind}",
                "message_vi": _schema_message_vi(kind, item.get("ctx")),
                "message_en": f"Invalid value: {item.get('msg', '')}",
            }
        )
    return api.create_response(request, {"errors": errors}, status=422)


def _unknown_field(field: str) -> dict[str, str]:
    """A field of a body that the operation does not declare (`lib.schemas.BodySchema`): refused rather
    than dropped, since a misspelt optional field was never stored and the client never knew. The name
    is the client's text, of any length: the messages cut it short, `field` keeps it whole."""
    shown = field if len(field) <= 60 else field[:60] + "…"
    return {
        "field": field,
        "code": "schema.unknown_field",
        "message_vi": f"Trường không xác định: {shown} (kiểm tra chính tả của tên trường theo tài liệu "
        "OpenAPI, /api/v1/openapi.json)",
        "message_en": f"Unknown field: {shown} (check the spelling of the field's name against the OpenAPI "
        "document, /api/v1/openapi.json)",
    }


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # Ninja raises HttpError itself, e.g. 400 for a body that is not JSON; answer in the same shape as
    # every other refusal instead of its default {"detail": ...}.
    if isinstance(exc.__cause__, UnsupportedMediaTypeError):
        return unsupported_media_type(request, exc.__cause__)
    return api.create_response(
        request,
        {
            "errors": [
                {
                    "field": "body" if exc.status_code == 400 else "",
                    "code": f"request.http_{exc.status_code}",
                    "message_vi": "Không đọc được yêu cầu (nội dung phải là JSON hợp lệ)",
                    "message_en": f"The request cannot be processed: {exc}",
                }
            ]
        },
        status=exc.status_code,
    )


def unsupported_media_type(request: HttpRequest, exc: UnsupportedMediaTypeError) -> HttpResponse:
    # The header is named as sent, cut short: it is the client's text, of any length.
    sent = exc.content_type.strip()[:100]
    return api.create_response(
        request,
        {
            "errors": [
                {
                    "field": "Content-Type",
                    "code": "request.content_type",
                    "message_vi": f"Nội dung yêu cầu phải là JSON, gửi với Content-Type: {JSON} "
                    f"(bảng mã UTF-8), không phải {sent or '(không có)'}",
                    "message_en": f"The request body must be JSON, sent as Content-Type: {JSON} (UTF-8), "
                    f"not {sent or '(none)'}",
                }
            ]
        },
        status=415,
    )


# The access log's endpoints take an auditor's token, every other endpoint an officer's who reads records:
# the refusal says which one the path needs.
AUDIT_PREFIX = "/api/v1/audit/"


@api.exception_handler(AuthenticationError)
def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    if request.path.startswith(AUDIT_PREFIX):
        vi, en = "Cần mã truy cập hợp lệ của kiểm toán viên", "A valid auditor API token is required"
    else:
        vi, en = "Cần mã truy cập hợp lệ của cán bộ", "A valid officer API token is required"
    response = api.create_response(
        request,
        {"errors": [{"field": "Authorization", "code": "auth.required", "message_vi": vi, "message_en": en}]},
        status=401,
    )
    # A 401 names the scheme that would be accepted (RFC 9110 §15.5.2, RFC 6750 §3): HTTP clients read it.
    response["WWW-Authenticate"] = 'Bearer realm="dancu"'
    return response


api.add_router("/", registry_router)
api.add_router("/", collection_router)
api.add_router("/", quality_router)
api.add_router("/", matching_router)
api.add_router("/", cards_router)
api.add_router("/", campaigns_router)
api.add_router("/", audit_router)


API_PREFIX = "/api/v1/"


class ApiErrorShapeMiddleware:
    """Answers under /api/v1/ that no handler above writes, in the API's error shape.

    An unknown path is answered by Django's URL resolver (an HTML 404), a method the path does not take
    by ninja (a plain-text 405), and a body over Django's size limit by Django (an HTML 400), before any
    operation runs. A client should not have to parse
    three kinds of refusal: both become `{"errors": [...]}` like every other one, and the 405 keeps
    its Allow header. JSON answers (a record not found, for instance) pass unchanged.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not request.path.startswith(API_PREFIX)
            or response.status_code not in (400, 404, 405)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        if response.status_code == 400:
            error = _bad_request(request)
        elif response.status_code == 404:
            error = {
                "field": "",
                "code": "request.unknown_path",
                "message_vi": "Không có chức năng API nào ở địa chỉ này",
                "message_en": "There is no API endpoint at this path",
            }
        else:
            allowed = response.get("Allow", "")
            error = {
                "field": "",
                "code": "request.method_not_allowed",
                "message_vi": f"Địa chỉ này không nhận phương thức {request.method} (chỉ nhận: {allowed})",
                "message_en": f"This path does not take {request.method} (it takes: {allowed})",
            }
        shaped = JsonResponse({"errors": [error]}, status=response.status_code)
        if "Allow" in response:
            shaped["Allow"] = response["Allow"]
        return shaped


def _bad_request(request: HttpRequest) -> dict[str, str]:
    """What an HTML 400 under the API was: most often a body over `DATA_UPLOAD_MAX_MEMORY_SIZE`."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if limit is not None and length > limit:
        megabytes = f"{limit / 1024 / 1024:.1f}"
        return {
            "field": "",
            "code": "request.too_large",
            "message_vi": f"Nội dung yêu cầu lớn hơn giới hạn {megabytes} MB",
            "message_en": f"The request body is over the {megabytes} MB limit",
        }
    return {
        "field": "",
        "code": "request.bad",
        "message_vi": "Yêu cầu không hợp lệ",
        "message_en": "The request is not valid",
    }
