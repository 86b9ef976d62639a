"""Every operation of the officer API, walked from its own OpenAPI schema with generated and hostile input.

The schema is read from the running Django app (`GET /api/v1/openapi.json` through the test client), and
schemathesis turns each operation into a Hypothesis strategy: input that fits the schema, input that
breaks it, and a known-good request of the operation with one part of it replaced by something hostile
(SQL, HTML and script, 10,000 characters, control characters, NUL, a lone surrogate, other scripts,
numbers too big for any column, the wrong JSON type, a body that is not JSON). Path parameters name
records that exist (in the caller's area and outside it) as often as made-up ones, so the handlers are
reached, not only the router. Lan (a collector of Phường Hoàn Kiếm) and Minh (the ministry's
administrator) call it with their real API tokens.

For every answer: no 5xx; a refusal is the API's error shape, naming the field and the rule in both
languages; and a refusal leaves every table of the platform as it was (the access log aside, since
reading a record on the way to a refused write is a read that happened).

Each example runs in a savepoint that is rolled back, so every example starts from the same records and
a run is reproducible: Hypothesis is derandomized, with a fixed number of examples per operation.
`DANCU_API_FUZZ_EXAMPLES=500 pytest tests/config/test_api_fuzz.py` digs deeper on demand.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pytest_django import DjangoDbBlocker
from schemathesis import GenerationMode
from schemathesis.core import NotSet

from dancu.accounts.services import api_token_create
from dancu.audit.services import Actor
from dancu.campaigns import services as campaign_services
from dancu.campaigns.models import Metric
from dancu.cards import services as card_services
from dancu.cards.models import IntakePoint
from dancu.cards.printing import qr_payload
from dancu.collection import services as collection_services
from dancu.collection import workflow
from dancu.registry import services as registry_services
from tests.cards.conftest import capture, load_fee_table, produce, take
from tests.collection.forms_support import dc01, dc01_data
from tests.conftest import (
    HOAN_KIEM,
    HONG_HA,
    SYSTEM,
    commune,
    household_of,
    make_citizen,
    people_create,
    personas_create,
)
from tests.matching.factories import candidate_pair, staged_row
from tests.registry.test_api import errors_of, new_person

SCHEMA_URL = "/api/v1/openapi.json"
IMPORTED_BOOK = (
    "record_id,full_name,gender,birth_date,birth_place,id_number,old_id_number,address\n"
    'R1,Trần Văn 3,Nam,1990,,,,"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"\n'
).encode()
EXAMPLES = int(os.environ.get("DANCU_API_FUZZ_EXAMPLES", "8"))


def _live_schema() -> dict[str, Any]:
    response = Client().get(SCHEMA_URL)
    assert response.status_code == 200, response.content[:500]
    document: dict[str, Any] = response.json()
    return document


SCHEMA_DOCUMENT = _live_schema()
SCHEMA = schemathesis.openapi.from_dict(SCHEMA_DOCUMENT)
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}

# Tables a refused request may change: reading a record on the way to a refusal is logged (AccessLog),
# a token records when it was last used, and the units are reference data no endpoint writes.
UNWATCHED = {"audit.AccessLog", "accounts.ApiToken", "accounts.User", "geo.AdminUnit", "geo.UnitSuccession"}
WATCHED = [
    model
    for model in apps.get_models()
    if model._meta.app_config.name.startswith("dancu.") and model._meta.label not in UNWATCHED
]


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every watched table, as the database holds it: equal before and after a refused write.

    Read with plain SQL rather than the ORM, which would decode every JSON column and copy every image
    for a comparison that only needs the stored values (fifteen times slower, most of the fuzz's time).
    """
    quote_name = connection.ops.quote_name
    rows = {}
    with connection.cursor() as cursor:
        for model in WATCHED:
            table, key = quote_name(model._meta.db_table), quote_name(model._meta.pk.column)
            cursor.execute(f"SELECT * FROM {table} ORDER BY {key}")  # noqa: S608 (names from the models)
            rows[model._meta.label] = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cursor.fetchall()
            ]
    return rows


# Hostile values ------------------------------------------------------------------------------------

HOSTILE_TEXT = (
    "' OR '1'='1' --",
    "1; DROP TABLE registry_citizen; --",
    "<script>alert('xss')</script>",
    '"><img src=x onerror=alert(1)>',
    "A" * 10_000,
    "Nguyễn Văn " * 1000,
    "\x00",
    "Nguyễn\x00Văn",
    "\x01\x02\x07\x08\x1b[2J\x7f",
    "\r\n\t\v\f",
    "\u202eevil\u202c",  # right-to-left override
    "\ufeff\u200b\u00a0",  # byte order mark, zero-width space, no-break space
    "\ud800",  # a lone surrogate: valid in JSON text, not encodable in UTF-8
    "Nguye\u0302\u0303n",  # tone marks decomposed (NFD)
    "山田太郎",
    "محمد عبد الله",
    "Ελληνικά",
    "ភាសាខ្មែរ",
    "👨‍👩‍👧‍👦🇻🇳",
    "0001-01-01",  # the first and last days Python's calendar has: a day before or after them overflows
    "9999-12-31",
    "2025-02-29",
    "0000-00-00",
    "../../../etc/passwd",
    "%00%2e%2e%2f",
    "{{7*7}}${7*7}",
    "null",
    "-1",
    "1e309",
    "99999999999999999999999999",
    "",
    " ",
)
HOSTILE_OTHER = (
    10**30,
    -(10**30),
    2**63,
    -(2**63) - 1,
    2**31,
    -1,
    0,
    1.5,
    1e308,
    True,
    None,
    [],
    [None, "x" * 100],
    {},
    {"$gt": ""},
)
HOSTILE_VALUES = st.sampled_from(HOSTILE_TEXT + HOSTILE_OTHER)
HOSTILE_BODIES = st.sampled_from(
    (
        b"",
        b"{not json",
        b"\xff\xfe\x00\x00",
        b'{"a": "\xed\xa0\x80"}',  # a surrogate in raw UTF-8 bytes
        b'{"a": NaN, "b": Infinity}',
        b"[" * 100_000 + b"]" * 100_000,  # nesting deep enough to exhaust a recursive parser
        b"null",
        b"[]",
        b'"text"',
        b"12",
    )
)


# The records the requests name ---------------------------------------------------------------------


@dataclass
class Request:
    """An HTTP request before it is sent: path parameters not yet quoted, the body still a value."""

    method: str
    template: str
    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    raw_body: bytes | None = None
    has_body: bool = False

    def url(self) -> str:
        # A lone surrogate goes on the wire as the bytes a careless client would send: invalid UTF-8.
        path = self.template.format(
            **{k: quote(str(v).encode("utf-8", "surrogatepass"), safe="") for k, v in self.path.items()}
        )
        query = urlencode({k: _text(v) for k, v in self.query.items()}, doseq=True, errors="surrogatepass")
        return f"{path}?{query}" if query else path

    def send(self, client: Client) -> Any:
        if self.raw_body is not None:
            payload: bytes | str = self.raw_body
        elif self.has_body:
            payload = json.dumps(self.body)
        else:
            payload = b""
        return client.generic(self.method, self.url(), payload, content_type="application/json")


def _text(value: Any) -> Any:
    if isinstance(value, list):
        return [_text(v) for v in value]
    return json.dumps(value) if isinstance(value, dict | bool) or value is None else value


@dataclass
class World:
    officers: dict[str, Client]
    path_values: dict[str, list[Any]]
    seeds: dict[str, Request]


def _world_create() -> World:
    """The records of every app that the operations act on, in Lan's commune and outside it."""
    personas = personas_create()
    people = people_create()
    long = make_citizen(full_name="Đỗ Văn Long", birth_date="1988-02-03", address="Số 9 phố Hàng Gai")
    # Ngọc has no card application yet: the known-good intake is hers.
    ngoc = make_citizen(full_name="Vũ Thị Ngọc", sex="F", birth_date="1996-09-30", address="Số 4 phố Hàng Mã")
    household = household_of(people.hung)
    # Quý lives with Hùng: the known-good split takes him out to head his own household.
    quy = make_citizen(full_name="Phan Văn Quý", birth_date="1994-07-12")
    registry_services.household_add_member(
        actor=SYSTEM,
        household=household,
        citizen=quy,
        relation_to_head="sibling",
        joined_on=date(2020, 1, 1),
        reason="Nhập hộ",
        source_document="CT01",
    )
    # Hùng is away on a declared absence, which the return is about.
    away = registry_services.absence_declare(
        actor=SYSTEM,
        citizen=people.hung,
        starts_on=timezone.localdate() - timedelta(days=10),
        ends_on=timezone.localdate() + timedelta(days=100),
        destination="Thành phố Đà Nẵng",
        reason="Đi làm việc",
    )

    draft = dc01(personas.lan)
    submitted = workflow.form_submit(
        actor=Actor(personas.lan), form=dc01(personas.lan, full_name="Phan Thị Hạnh")
    )

    load_fee_table()
    station = card_services.intake_point_create(
        actor=Actor(personas.cuong),
        code="HK-01",
        name="Công an phường Hoàn Kiếm",
        kind=IntakePoint.Kind.STATION,
        commune=commune(HOAN_KIEM),
    )
    device = card_services.intake_device_register(
        actor=Actor(personas.cuong), point=station, serial="TN-0001", has_iris=False
    )
    card = produce(personas, take(personas.lan, people.hung, station, device))
    pending = take(personas.lan, long, station, device)
    batch = card.application.batch

    pair = candidate_pair(people.hung, staged_row())

    cards_taken = Metric.objects.get(code="cards_taken")
    campaign = campaign_services.campaign_create(
        actor=Actor(personas.minh),
        name="Cao điểm cấp thẻ căn cước",
        starts_on=date(2025, 7, 1),
        ends_on=date(2025, 7, 31),
        metrics=[campaign_services.MetricChoice(cards_taken, None)],
    )

    # A legacy book the ministry imported (the background import runs inline in tests): Minh sees its run,
    # Lan's ward holds none.
    run = collection_services.import_upload(
        actor=Actor(personas.minh),
        upload=SimpleUploadedFile("so_ho_khau.csv", IMPORTED_BOOK),
        source_name="Sổ hộ khẩu",
    )

    officers = {}
    # Lan and Minh read records; An audits the access log, whose endpoints take an auditor's token only.
    for persona in (personas.lan, personas.minh, personas.an):
        _token, secret = api_token_create(user=persona, name="kiểm thử API")
        officers[persona.username] = Client(headers={"Authorization": f"Bearer {secret}"})

    path_values: dict[str, list[Any]] = {
        "pin": [people.hung.pin, people.tuan.pin],
        "household_id": [household.pk],
        "residence_id": [people.hung.residences.get(ended_on__isnull=True).pk],
        "absence_id": [away.pk],
        "form_id": [draft.pk, submitted.pk],
        "import_id": [run.pk],
        "application_id": [pending.pk, card.application.pk],
        "batch_id": [batch.pk] if batch else [],
        "card_id": [card.pk],
        "pair_id": [pair.pk],
        "campaign_id": [campaign.pk],
        "scope": ["vn", "01", HOAN_KIEM],
        "file_format": ["csv", "xlsx"],
    }
    reason = {"reason": "Cập nhật theo hồ sơ", "source_document": "Phiếu DC02"}
    images = {kind: base64.b64encode(data).decode() for kind, data in capture().items()}
    bodies: dict[str, dict[str, Any]] = {
        "POST /api/v1/citizens": new_person(),
        "PATCH /api/v1/citizens/{pin}": {"changes": {"phone": "0912345678"}, **reason},
        "POST /api/v1/citizens/{pin}/pin-reissue": {"new_sex": "F", **reason},
        "POST /api/v1/citizens/{pin}/residences": {
            "kind": "temporary",
            "commune_code": HONG_HA,
            "address_detail": "Số 3 ngõ Huế",
            # A stay that runs today: an expired one is refused at registration.
            "registered_on": str(timezone.localdate() - timedelta(days=30)),
            "expires_on": str(timezone.localdate() + timedelta(days=300)),
            **reason,
        },
        "POST /api/v1/citizens/{pin}/residences/{residence_id}/end": {
            "ended_on": str(timezone.localdate()),
            **reason,
        },
        "POST /api/v1/citizens/{pin}/residences/{residence_id}/renew": {
            "expires_on": str(timezone.localdate() + timedelta(days=300)),
            **reason,
        },
        "POST /api/v1/citizens/{pin}/absences": {
            "starts_on": str(timezone.localdate() + timedelta(days=200)),
            "ends_on": str(timezone.localdate() + timedelta(days=260)),
            "destination": "Tỉnh Lâm Đồng",
            "reason": "Đi học",
        },
        "PATCH /api/v1/citizens/{pin}/absences/{absence_id}": {
            "ends_on": str(timezone.localdate() + timedelta(days=150)),
            "destination": "Thành phố Huế",
            **reason,
        },
        "POST /api/v1/citizens/{pin}/absences/{absence_id}/return": {
            "returned_on": str(timezone.localdate()),
            **reason,
        },
        "POST /api/v1/households/{household_id}/head": {
            "new_head_pin": long.pin,
            "previous_head_relation": "spouse",
            "changed_on": "2024-03-01",
            **reason,
        },
        "POST /api/v1/households": {
            "head_pin": long.pin,
            "commune_code": HOAN_KIEM,
            "address_detail": "Số 9 phố Hàng Gai",
            "registered_on": "2024-01-01",
            **reason,
        },
        "POST /api/v1/households/{household_id}/split": {
            "members": [{"pin": quy.pin, "relation_to_head": ""}],
            "new_head_pin": quy.pin,
            "split_on": "2024-03-01",
            **reason,
        },
        "POST /api/v1/households/{household_id}/members": {
            "pin": long.pin,
            "relation_to_head": "child",
            "joined_on": "2024-02-01",
            **reason,
        },
        # Mai of Phường Hồng Hà moves into Lan's ward, a new household at her new address.
        "POST /api/v1/arrivals": {
            "pin": people.mai.pin,
            "full_name": "Lê Thị Mai",
            "birth_date": "1985",
            "registered_on": str(timezone.localdate()),
            "address_detail": "Số 4 phố Hàng Bè",
            "reason": "Chuyển đến đăng ký thường trú",
            "source_document": "CT01",
        },
        "POST /api/v1/forms": {"kind": "DC01", "data": dc01_data(), "document": "Giấy khai sinh"},
        "PUT /api/v1/forms/{form_id}": {"data": dc01_data(), "document": "Giấy khai sinh", "reason": "Sửa"},
        "POST /api/v1/forms/{form_id}/check": {"acknowledged_warnings": ["name.unusual"]},
        "POST /api/v1/forms/{form_id}/recheck": {"acknowledged_warnings": []},
        "POST /api/v1/forms/{form_id}/return": {"reason": "Thiếu giấy tờ"},
        "POST /api/v1/forms/{form_id}/reject": {"reason": "Dòng trùng"},
        "POST /api/v1/matching/pairs/{pair_id}/decision": {
            "same": True,
            "reason": "Cùng một người",
            "choices": {"permanent": "keep"},
            "source_document": "Biên bản xác minh",
        },
        "POST /api/v1/matching/pairs/{pair_id}/undo": {"reason": "Quyết định nhầm"},
        "POST /api/v1/cards/applications": {
            "citizen_pin": ngoc.pin,
            "kind": "first_issue",
            "intake_point_id": station.pk,
            "shift": "1",
            "device_id": device.pk,
            "images": images,
        },
        "POST /api/v1/cards/applications/{application_id}/reject": {"reason": "Ảnh không rõ"},
        "POST /api/v1/cards/applications/{application_id}/deliver": {"received_by": "Đỗ Văn Long"},
        "POST /api/v1/cards/batches/{batch_id}/result": {
            "csv": f"application,serial,error\n{pending.number},VN00000002,\n"
        },
        "POST /api/v1/cards/cards/{card_id}/state": {
            "state": "revoked",
            "grounds": "issued_wrongly",
            "note": "Cấp sai",
        },
        "POST /api/v1/cards/verify": {"text": qr_payload(card.printed, card.issued_on)},
        "POST /api/v1/campaigns": {
            "name": "Cao điểm tháng 8",
            "starts_on": "2025-08-01",
            "ends_on": "2025-08-31",
            "metrics": [{"metric": "cards_taken", "denominator": None}],
        },
        "POST /api/v1/campaigns/metrics": {
            "code": "the_ca_toi",
            "name": "Thẻ nhận ca tối",
            "name_en": "Cards taken in the evening",
            "event_types": ["cards.application.taken"],
            "data_filter": {"shift": ["3"]},
            "population_rule": "",
        },
        "POST /api/v1/campaigns/{campaign_id}/targets": {
            "metric": "cards_taken",
            "unit": "01",
            "total": 10,
            "per_day": None,
            "reason": "Giao chỉ tiêu",
        },
    }
    queries: dict[str, dict[str, Any]] = {
        "GET /api/v1/citizens": {"q": "Hùng", "birth": "1990", "commune": HOAN_KIEM, "page": 1},
        "GET /api/v1/citizens/{pin}/state": {"on": "2100-01-01"},
        "GET /api/v1/forms": {"limit": 10},
        "GET /api/v1/quality/scorecard": {"unit": HOAN_KIEM},
        "GET /api/v1/quality/records": {"unit": HOAN_KIEM, "indicator": "du", "page": 1},
        "GET /api/v1/quality/export/scorecard.{file_format}": {"unit": "01"},
        "GET /api/v1/quality/export/records.{file_format}": {"unit": HOAN_KIEM, "indicator": "dung"},
        "GET /api/v1/matching/pairs": {"page": 1, "page_size": 20},
        "GET /api/v1/cards/applications": {"status": "taken", "overdue": False, "limit": 10},
        "GET /api/v1/cards/report": {"start": "2026-03-01", "end": "2026-03-31"},
        "GET /api/v1/campaigns/{campaign_id}/figures/{scope}": {
            "day": "2025-07-03",
            "since": "2025-07-01",
            "language": "en",
        },
    }
    seeds = {}
    for label, operation in OPERATIONS.items():
        names = [p["name"] for p in _parameters(label) if p["in"] == "path"]
        seeds[label] = Request(
            method=operation.method.upper(),
            template=operation.path,
            path={name: path_values[name][0] for name in names if path_values.get(name)},
            query=queries.get(label, {}),
            body=bodies.get(label),
            has_body=label in bodies,
        )
    return World(officers=officers, path_values=path_values, seeds=seeds)


def _parameters(label: str) -> list[dict[str, Any]]:
    method, path = label.split(" ", 1)
    parameters: list[dict[str, Any]] = SCHEMA_DOCUMENT["paths"][path][method.lower()].get("parameters", [])
    return parameters


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[World]:
    """One set of records for the whole module, in a transaction rolled back at its end: building it for
    each of the fifty-odd operations would cost more than fuzzing them."""
    with (
        tempfile.TemporaryDirectory() as keys,
        override_settings(
            DANCU_TASKS_INLINE=True,
            DANCU_ISSUER_KEY_DIR=Path(keys),
        ),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        yield _world_create()
        transaction.set_rollback(True)


# What the generated requests look like ---------------------------------------------------------------


def _from_case(case: Any) -> Request:
    """A schemathesis case as a Request; its path parameters arrive quoted and are unquoted here."""
    from urllib.parse import unquote

    body = case.body
    return Request(
        method=case.method.upper(),
        template=case.path,
        path={k: unquote(str(v)) for k, v in case.path_parameters.items()},
        query=dict(case.query or {}),
        body=None if isinstance(body, NotSet | bytes) else body,
        raw_body=body if isinstance(body, bytes) else None,
        has_body=not isinstance(body, NotSet),
    )


def _slots(request: Request, label: str) -> list[tuple[str, ...]]:
    """Every place a hostile value can go: path parameters, query parameters, each leaf of the body."""
    slots: list[tuple[str, ...]] = [("path", name) for name in request.path]
    slots += [("query", p["name"]) for p in _parameters(label) if p["in"] == "query"]

    def walk(value: Any, where: tuple[str, ...]) -> None:
        slots.append(where)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*where, str(key)))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*where, str(index)))

    if request.has_body and request.raw_body is None:
        walk(request.body, ("body",))
    return slots


def _replace(request: Request, slot: tuple[str, ...], value: Any) -> None:
    kind, *keys = slot
    if kind == "path":
        request.path[keys[0]] = value
        return
    if kind == "query":
        request.query[keys[0]] = value
        return
    if not keys:
        request.body = value
        return
    container = request.body
    for key in keys[:-1]:
        container = container[int(key)] if isinstance(container, list) else container[key]
    last = keys[-1]
    if isinstance(container, list):
        container[int(last)] = value
    else:
        container[last] = value


def _hostile(data: st.DataObject, request: Request, label: str) -> Request:
    """The request, with a hostile value, a missing field, an unknown field or a hostile body."""
    how = data.draw(st.sampled_from(["leaf", "leaf", "leaf", "drop", "extra", "body", "none"]), label="how")
    if how == "none":
        return request
    if how == "body" and request.method != "GET":
        request.raw_body = data.draw(HOSTILE_BODIES, label="raw body")
        return request
    slots = _slots(request, label)
    body_keys = [s for s in slots if s[0] == "body" and len(s) > 1 and not s[-1].isdigit()]
    if how == "drop" and body_keys:
        *parent_keys, last = data.draw(st.sampled_from(body_keys), label="dropped")[1:]
        container = request.body
        for key in parent_keys:
            container = container[int(key)] if isinstance(container, list) else container[key]
        container.pop(last, None)
        return request
    if how == "extra" and isinstance(request.body, dict):
        request.body[data.draw(st.sampled_from(HOSTILE_TEXT[:8]))] = data.draw(HOSTILE_VALUES)
        return request
    if slots:
        slot = data.draw(st.sampled_from(slots), label="slot")
        _replace(request, slot, data.draw(HOSTILE_VALUES, label="value"))
    return request


def _requests(label: str, world: World) -> st.SearchStrategy[Request]:
    """Generated requests of one operation: valid and invalid by the schema, and the operation's known-good
    request; path parameters drawn from the records that exist as often as made up."""
    operation = OPERATIONS[label]
    seed = world.seeds[label]
    known = {name: world.path_values.get(name, []) for name in seed.path}
    fixed = [
        {name: values[i % len(values)] for name, values in known.items()}
        for i in range(max((len(v) for v in known.values()), default=1))
    ]
    generated = [
        operation.as_strategy(mode, path_parameters=path or None)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for path in [*fixed, {}]
    ]

    def copy_of_seed(path: dict[str, Any]) -> Request:
        return Request(
            method=seed.method,
            template=seed.template,
            path=dict(path),
            query=dict(seed.query),
            body=json.loads(json.dumps(seed.body)),
            has_body=seed.has_body,
        )

    # Two in three examples start from the known-good request: a hostile value in one of its fields
    # reaches the services' rules, where a made-up request mostly stops at the first look-up.
    seeds = st.sampled_from(fixed).map(copy_of_seed)
    return st.one_of(st.one_of(generated).map(_from_case), seeds, seeds)


# The property -------------------------------------------------------------------------------------


def _check_refusal(response: Any) -> None:
    """The API's error shape; a 422 names the field it is about."""
    errors = errors_of(response, response.status_code)
    if response.status_code == 422:
        assert all(error["field"] for error in errors), errors


def _send_and_check(request: Request, client: Client, before: dict[str, Any], note: str) -> None:
    """Send the request in a savepoint rolled back after it: no 5xx, and a refusal in the API's shape
    that left every watched table as it was."""
    with transaction.atomic():
        response = request.send(client)
        assert response.status_code < 500, note
        if response.status_code >= 400:
            _check_refusal(response)
            assert snapshot() == before, f"a refused request changed the records: {note}"
        transaction.set_rollback(True)


def _senders(label: str, world: World) -> list[str]:
    """Whose tokens send an operation's requests: the officers', and the auditor's for the access log,
    so that each operation is reached by accounts it serves as well as refused to the others."""
    if label.startswith("GET /api/v1/audit/"):
        return sorted(world.officers)
    return sorted(name for name in world.officers if name != "an")


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_input_breaks_an_operation(label: str, world: World) -> None:
    before = snapshot()
    strategy = _requests(label, world)
    officers = _senders(label, world)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(request=strategy, data=st.data(), who=st.sampled_from(officers))
    def send_one(request: Request, data: st.DataObject, who: str) -> None:
        request = _hostile(data, request, label)
        note = f"{who}: {request.method} {request.url()[:300]} body={str(request.body)[:300]}"
        _send_and_check(request, world.officers[who], before, note)

    send_one()


def test_the_fuzz_walks_every_operation_of_the_schema() -> None:
    # The parametrization above comes from the schema itself; this guards against an empty walk (a schema
    # that failed to load would give no test at all rather than a failing one).
    assert len(OPERATIONS) == sum(len(ops) for ops in SCHEMA_DOCUMENT["paths"].values())
    assert len(OPERATIONS) >= 50
    assert {p["in"] for label in OPERATIONS for p in _parameters(label)} >= {"path", "query"}


# Every field of the known-good requests, with the values that break storage -------------------------------

# A random walk reaches a given field with a given value rarely; these two break a write that lets them
# through (PostgreSQL refuses NUL in text and JSON, no column holds 10^30), so each field of each
# known-good request gets each of them. Length is the schema's first check, and the random part's.
WORST = ("\x00", 10**30)
# The officer whose known-good request is accepted: Lan collects and takes applications, Minh does the rest.
SENDER = {
    "POST /api/v1/arrivals": "lan",
    "POST /api/v1/forms": "lan",
    "PUT /api/v1/forms/{form_id}": "lan",
    "POST /api/v1/cards/applications": "lan",
    "POST /api/v1/cards/applications/{application_id}/deliver": "lan",
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "label", sorted(label for label, op in OPERATIONS.items() if op.method.upper() != "GET")
)
def test_every_field_of_a_write_survives_the_worst_values(label: str, world: World) -> None:
    before = snapshot()
    seed = world.seeds[label]
    client = world.officers[SENDER.get(label, "minh")]
    for slot in _slots(seed, label):
        if slot[0] == "path":
            continue
        for value in WORST:
            request = Request(
                method=seed.method,
                template=seed.template,
                path=dict(seed.path),
                query=dict(seed.query),
                body=json.loads(json.dumps(seed.body)),
                has_body=seed.has_body,
            )
            _replace(request, slot, value)
            _send_and_check(request, client, before, f"{label} {'.'.join(slot)} = {str(value)[:20]!r}")
