"""Review items of the DC01/DC02 workflow (h66): the API's guard against a stale write, the returned forms
leading a collector's queue, the officers' names in a form's steps, the duplicate rules in the workflow.

Lan collects in Phường Hoàn Kiếm on two tablets; Hằng and Thu review the commune's forms, Cường re-checks.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection import selectors, views, workflow
from dancu.collection.forms import seen_of
from dancu.collection.models import CollectionForm
from dancu.registry.models import Citizen
from dancu.registry.rules import RULES
from tests.collection.forms_support import Reviewers, advance, dc01, reviewer
from tests.conftest import HOAN_KIEM, Personas
from tests.pages import html

pytestmark = pytest.mark.django_db

Status = CollectionForm.Status


@pytest.fixture
def thu(staff: Reviewers) -> User:
    """A second commune reviewer of Phường Hoàn Kiếm, Hằng's colleague."""
    return reviewer("thu", HOAN_KIEM, "Phan Thị Thu")


def api(user: User) -> Client:
    _token, secret = api_token_create(user=user, name="máy tính bảng")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def post(client: Client, path: str, body: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def put(client: Client, path: str, body: Any) -> Any:
    return client.put(path, json.dumps(body), content_type="application/json")


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content[:800]
    return response.json()


def refusal(response: Any, status: int) -> list[dict[str, str]]:
    assert response.status_code == status, response.content[:800]
    return response.json()["errors"]


def events(form: CollectionForm, event_type: str) -> int:
    return AuditEvent.objects.filter(
        subject_type="collection_form", subject_id=str(form.pk), event_type=event_type
    ).count()


# 1. The API refuses a write over a form changed since the client read it --------------------------------


def test_the_form_answer_carries_the_value_the_page_sends_back(personas: Personas, sign_in: Any) -> None:
    form = dc01(personas.lan)
    answer = ok(api(personas.lan).get(f"/api/v1/forms/{form.pk}"))
    form.refresh_from_db()
    assert answer["seen"] == seen_of(form) == form.updated_at.isoformat()
    page = html(sign_in(Client(), personas.lan).get(f"/forms/{form.pk}/"))
    assert f'name="seen" value="{answer["seen"]}"' in page


def test_two_tablets_editing_one_draft_do_not_overwrite_each_other(personas: Personas) -> None:
    first, second = api(personas.lan), api(personas.lan)
    form = dc01(personas.lan)
    path = f"/api/v1/forms/{form.pk}"
    read_first, read_second = ok(first.get(path)), ok(second.get(path))

    saved = ok(put(first, path, {"data": {**form.data, "phone": "0911111111"}, "seen": read_first["seen"]}))
    assert saved["seen"] != read_first["seen"]
    updates = events(form, EventType.FORM_UPDATED)

    stale = put(second, path, {"data": {**form.data, "phone": "0922222222"}, "seen": read_second["seen"]})
    [error] = refusal(stale, 409)
    assert (error["field"], error["code"]) == ("form", "form.changed")
    assert error["message_vi"].startswith(f"Phiếu DC01 #{form.pk} đã thay đổi sau khi bạn mở trang")
    assert error["message_en"].startswith(f"Form DC01 #{form.pk} changed after you opened the page")
    form.refresh_from_db()
    assert form.data["phone"] == "0911111111"  # the first tablet's correction stands
    assert events(form, EventType.FORM_UPDATED) == updates  # nothing written

    # Read again, the second tablet's write goes through.
    fresh = ok(second.get(path))
    assert fresh["seen"] == saved["seen"]
    ok(put(second, path, {"data": {**form.data, "phone": "0922222222"}, "seen": fresh["seen"]}))
    form.refresh_from_db()
    assert form.data["phone"] == "0922222222"


def test_two_reviewers_acting_on_one_form_do_not_overrule_each_other(
    personas: Personas, staff: Reviewers, thu: User
) -> None:
    form = workflow.form_submit(actor=Actor(personas.lan), form=dc01(personas.lan))
    path = f"/api/v1/forms/{form.pk}"
    hang, thu_api = api(staff.hang), api(thu)
    seen_hang, seen_thu = ok(hang.get(path))["seen"], ok(thu_api.get(path))["seen"]

    returned = ok(post(thu_api, f"{path}/return", {"reason": "Thiếu số nhà", "seen": seen_thu}))
    assert returned["status"] == "returned"

    # Hằng confirms the form as she read it: it was returned meanwhile, so nothing is confirmed.
    [error] = refusal(post(hang, f"{path}/check", {"seen": seen_hang}), 409)
    assert error["code"] == "form.changed"
    form.refresh_from_db()
    assert (form.status, form.checked_by, form.return_reason) == (Status.RETURNED, None, "Thiếu số nhà")
    assert events(form, EventType.FORM_CHECKED) == 0
    # Nor may she return it again over Thu's reason.
    [error] = refusal(post(hang, f"{path}/return", {"reason": "Sai ngày sinh", "seen": seen_hang}), 409)
    assert error["code"] == "form.changed"
    form.refresh_from_db()
    assert form.return_reason == "Thiếu số nhà"


def _back_to(form: CollectionForm, status: str, staff: Reviewers, personas: Personas) -> CollectionForm:
    """Return the form and bring it back to `status`: the same step, over data nobody re-read."""
    returner = staff.hang if form.status == Status.SUBMITTED else personas.cuong
    form = workflow.form_return(actor=Actor(returner), form=form, reason="Kiểm tra lại")
    if status == Status.DRAFT:
        return form
    return advance(form, status, reviewer=staff.hang, supervisor=personas.cuong)


@pytest.mark.parametrize(
    "case",
    [
        ("submitted", "check", "hang", {}, EventType.FORM_CHECKED),
        ("checked", "recheck", "cuong", {}, EventType.FORM_RECHECKED),
        ("rechecked", "apply", "cuong", {}, EventType.FORM_APPLIED),
        ("rechecked", "return", "cuong", {"reason": "Sai địa chỉ"}, EventType.FORM_RETURNED),
    ],
    ids=["check", "recheck", "apply", "return"],
)
def test_every_step_refuses_a_form_changed_since_it_was_read(
    personas: Personas, staff: Reviewers, case: tuple[str, str, str, dict[str, Any], str]
) -> None:
    status, step, who, body, event = case
    officer = {"hang": staff.hang, "cuong": personas.cuong}[who]
    client = api(officer)
    form = advance(dc01(personas.lan), status, reviewer=staff.hang, supervisor=personas.cuong)
    path = f"/api/v1/forms/{form.pk}"
    seen = ok(client.get(path))["seen"]
    form = _back_to(form, status, staff, personas)
    assert form.status == status  # where it was, but not as it was read
    before = events(form, event)

    [error] = refusal(post(client, f"{path}/{step}", {**body, "seen": seen}), 409)
    assert error["code"] == "form.changed"
    form.refresh_from_db()
    assert form.status == status
    assert events(form, event) == before
    assert not Citizen.objects.filter(full_name="Đỗ Minh Khang").exists()

    # The same step with the form as it is now goes through.
    ok(post(client, f"{path}/{step}", {**body, "seen": ok(client.get(path))["seen"]}))


def test_submitting_from_a_stale_read_is_refused(personas: Personas) -> None:
    first, second = api(personas.lan), api(personas.lan)
    form = dc01(personas.lan)
    path = f"/api/v1/forms/{form.pk}"
    seen = ok(second.get(path))["seen"]
    ok(put(first, path, {"data": {**form.data, "full_name": "Đỗ Minh Khoa"}}))

    [error] = refusal(post(second, f"{path}/submit", {"seen": seen}), 409)
    assert error["code"] == "form.changed"
    form.refresh_from_db()
    assert (form.status, form.submitted_at) == (Status.DRAFT, None)


def test_seen_is_optional_and_a_step_may_still_be_sent_without_a_body(personas: Personas) -> None:
    client = api(personas.lan)
    form = dc01(personas.lan)
    path = f"/api/v1/forms/{form.pk}"
    # A client written before `seen` existed: a PUT without it, a step with no body at all.
    ok(put(client, path, {"data": {**form.data, "phone": "0933333333"}}))
    assert ok(client.generic("POST", f"{path}/submit"))["status"] == "submitted"


@pytest.mark.parametrize(
    ("seen", "code"),
    [("hôm qua", "schema.datetime_from_date_parsing"), ("2026-12-05T08:00:00", "schema.timezone_aware")],
)
def test_a_seen_that_is_no_time_of_day_is_refused_by_the_schema(
    personas: Personas, seen: str, code: str
) -> None:
    client = api(personas.lan)
    form = dc01(personas.lan)
    [error] = refusal(post(client, f"/api/v1/forms/{form.pk}/submit", {"seen": seen}), 422)
    assert (error["field"], error["code"]) == ("seen", code)
    form.refresh_from_db()
    assert form.status == Status.DRAFT


def test_the_openapi_document_declares_the_409_of_each_write(personas: Personas) -> None:
    document = ok(api(personas.lan).get("/api/v1/openapi.json"))
    paths = document["paths"]
    writes = [("/api/v1/forms/{form_id}", "put")] + [
        (f"/api/v1/forms/{{form_id}}/{step}", "post")
        for step in ("submit", "check", "recheck", "return", "apply", "reject")
    ]
    for path, method in writes:
        operation = paths[path][method]
        assert "409" in operation["responses"], path
        assert operation["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/Refusal"
        )
        body = json.dumps(operation["requestBody"]["content"]["application/json"]["schema"])
        [name] = re.findall(r'"#/components/schemas/(\w+)"', body)
        assert "seen" in document["components"]["schemas"][name]["properties"], path
    # A step that needs nothing else may still be sent without a body.
    assert paths["/api/v1/forms/{form_id}/submit"]["post"]["requestBody"]["required"] is False
    assert "seen" in document["components"]["schemas"]["FormOut"]["required"]


# 2. A collector sees first what was sent back to them ---------------------------------------------------


def _returned(form: CollectionForm, staff: Reviewers, reason: str, *, days_ago: int) -> CollectionForm:
    form = workflow.form_submit(actor=Actor(form.created_by), form=form)
    form = workflow.form_return(actor=Actor(staff.hang), form=form, reason=reason)
    CollectionForm.objects.filter(pk=form.pk).update(status_since=timezone.now() - timedelta(days=days_ago))
    return form


@pytest.fixture
def lan_queue(personas: Personas, staff: Reviewers) -> dict[str, CollectionForm]:
    """Lan's work: an old draft, and two forms returned to her since, the older returned last."""
    draft = dc01(personas.lan, full_name="Nguyễn Văn An")
    CollectionForm.objects.filter(pk=draft.pk).update(status_since=timezone.now() - timedelta(days=9))
    recent = _returned(dc01(personas.lan, full_name="Lê Thị Bích"), staff, "Thiếu số nhà", days_ago=1)
    older = _returned(dc01(personas.lan, full_name="Trần Văn Cường"), staff, "Sai ngày sinh", days_ago=3)
    newer_draft = dc01(personas.lan, full_name="Phạm Thị Dung")
    return {"draft": draft, "recent": recent, "older": older, "newer_draft": newer_draft}


def test_returned_forms_lead_the_queue_oldest_first(
    personas: Personas, lan_queue: dict[str, CollectionForm]
) -> None:
    queue = selectors.form_queue(actor=personas.lan, purpose="test")
    order = ["older", "recent", "draft", "newer_draft"]
    assert [form.pk for form in queue.forms] == [lan_queue[name].pk for name in order]
    assert [form.pk for form in queue.returned] == [lan_queue["older"].pk, lan_queue["recent"].pk]
    assert queue.oldest_age is not None
    assert queue.oldest_age >= timedelta(days=9)  # the draft, though listed after the returned forms
    # Cut at its limit, the queue keeps what was sent back.
    cut = selectors.form_queue(actor=personas.lan, purpose="test", limit=2)
    assert [form.status for form in cut.forms] == [Status.RETURNED, Status.RETURNED]
    # The next form from a form's page follows the same order.
    assert selectors.form_queue_next(actor=personas.lan, after=lan_queue["draft"]) == (
        lan_queue["older"].pk,
        3,
    )
    assert (
        selectors.form_queue_next(actor=personas.lan, after=lan_queue["older"])[0] == lan_queue["recent"].pk
    )


def test_the_queue_page_shows_the_returned_forms_first_with_their_reason(
    personas: Personas, lan_queue: dict[str, CollectionForm], sign_in: Any
) -> None:
    page = html(sign_in(Client(), personas.lan).get("/forms/"))
    returned = page[page.index('id="returned"') : page.index("</table>", page.index('id="returned"'))]
    rows = re.findall(r'<tr data-form="(\d+)">(.*?)</tr>', returned, re.S)
    assert [int(pk) for pk, _row in rows] == [lan_queue["older"].pk, lan_queue["recent"].pk]
    assert "Sai ngày sinh" in rows[0][1]
    assert "Thiếu số nhà" in rows[1][1]
    assert "Vũ Thị Hằng" in rows[0][1]  # who returned it
    assert page.index('id="returned"') < page.index('id="queue"')
    rest = page[page.index('id="queue"') :]
    assert re.findall(r'<tr data-form="(\d+)">', rest) == [
        str(lan_queue["draft"].pk),
        str(lan_queue["newer_draft"].pk),
    ]


def test_the_queue_page_in_english(
    personas: Personas, lan_queue: dict[str, CollectionForm], sign_in: Any
) -> None:
    client = sign_in(Client(), personas.lan)
    page = html(client.get("/forms/", headers={"accept-language": "en"}))
    assert "Returned forms to correct" in page
    assert "Reason for returning" in page


def test_the_api_lists_the_returned_forms_first_with_their_reason(
    personas: Personas, lan_queue: dict[str, CollectionForm]
) -> None:
    results = ok(api(personas.lan).get("/api/v1/forms"))["results"]
    assert [(r["id"], r["return_reason"]) for r in results] == [
        (lan_queue["older"].pk, "Sai ngày sinh"),
        (lan_queue["recent"].pk, "Thiếu số nhà"),
        (lan_queue["draft"].pk, ""),
        (lan_queue["newer_draft"].pk, ""),
    ]


# 3. A form's steps name the officers as the queue does ------------------------------------------------


def _steps(page: str) -> list[str]:
    steps = page[page.index('id="steps"') :]
    return re.findall(r'<span class="actor">(.*?)</span>', steps)


def test_the_steps_show_the_officers_full_names(personas: Personas, staff: Reviewers, sign_in: Any) -> None:
    form = advance(dc01(personas.lan), "checked", reviewer=staff.hang, supervisor=personas.cuong)
    client = sign_in(Client(), personas.cuong)
    page = html(client.get(f"/forms/{form.pk}/"))
    assert _steps(page) == ["Trần Thị Lan", "Trần Thị Lan", "Vũ Thị Hằng"]

    # An account with no full name is shown by its username, as in the queue.
    User.objects.filter(pk=staff.hang.pk).update(first_name="", last_name="")
    page = html(client.get(f"/forms/{form.pk}/"))
    assert _steps(page) == ["Trần Thị Lan", "Trần Thị Lan", "hang"]


def test_the_steps_cost_no_query_per_step(personas: Personas, staff: Reviewers, sign_in: Any) -> None:
    client: Client = sign_in(Client(), personas.lan)

    def returned(times: int) -> CollectionForm:
        form = dc01(personas.lan)
        for _ in range(times):
            form = workflow.form_submit(actor=Actor(personas.lan), form=form)
            form = workflow.form_return(actor=Actor(staff.hang), form=form, reason="Sửa lại")
        return form

    def queries(form: CollectionForm) -> int:
        with CaptureQueriesContext(connection) as captured:
            html(client.get(f"/forms/{form.pk}/"))
        return len(captured.captured_queries)

    once, thrice = returned(1), returned(3)
    assert len(_steps(html(client.get(f"/forms/{thrice.pk}/")))) == 7
    assert queries(once) == queries(thrice)


# 4. The duplicate rules are the workflow's ------------------------------------------------------------


def test_the_rules_that_name_a_possible_duplicate_are_the_workflows() -> None:
    codes = sorted(workflow.DUPLICATE_CODES)
    assert codes == [
        "citizen.decided_same_person",
        "citizen.possible_duplicate",
        "cmnd.duplicate",
        "pin.duplicate",
    ]
    assert all(code in RULES for code in codes)
    assert not hasattr(views, "DUPLICATE_CODES")
