"""The forms API speaks HTTP's own guard against stale writes beside the body's `seen` (session 25, h80):
every answer that carries a form carries its `seen` as the ETag, and a write sent with If-Match is refused
with 412 Precondition Failed when the form changed since, through the same check (`workflow._locked`) as
the body's `seen` and its 409. And /reject, which only a form made by an import takes, refuses a stale
write too, by body and by header."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import api_token_create
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.collection.models import CollectionForm, ImportRun, StagingRecord
from dancu.collection.services import ImportPolicy, import_promote, import_rows, import_start
from dancu.registry.models import Citizen
from tests.collection.forms_support import Reviewers, advance, dc01, dc01_data
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

Status = CollectionForm.Status


def api(user: User) -> Client:
    _token, secret = api_token_create(user=user, name="máy tính bảng")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def send(client: Client, method: str, path: str, body: Any = None, *, if_match: str | None = None) -> Any:
    headers = {} if if_match is None else {"If-Match": if_match}
    if body is None:
        return client.generic(method, path, headers=headers)
    return client.generic(method, path, json.dumps(body), content_type="application/json", headers=headers)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content[:800]
    return response.json()


def refusal(response: Any, status: int) -> dict[str, str]:
    assert response.status_code == status, response.content[:800]
    [error] = response.json()["errors"]
    return error


def etag(response: Any) -> str:
    return response.headers["ETag"]


def events(form: CollectionForm, event_type: str) -> int:
    return AuditEvent.objects.filter(
        subject_type="collection_form", subject_id=str(form.pk), event_type=event_type
    ).count()


def changed_by_another_tablet(form: CollectionForm, author: User, phone: str) -> CollectionForm:
    return workflow.form_update_draft(actor=Actor(author), form=form, data=dc01_data(phone=phone))


def assert_stale_by_header(error: dict[str, str], form: CollectionForm) -> None:
    assert (error["field"], error["code"]) == ("If-Match", "form.changed")
    assert error["message_vi"].startswith(f"Phiếu DC01 #{form.pk} đã thay đổi sau khi bạn mở trang")
    assert error["message_en"].startswith(f"Form DC01 #{form.pk} changed after you opened the page")


# 1. ETag on every answer that carries a form, If-Match on every write ----------------------------------


def test_every_answer_that_carries_a_form_carries_its_seen_as_the_etag(personas: Personas) -> None:
    client = api(personas.lan)
    created = send(client, "POST", "/api/v1/forms", {"kind": "DC01", "data": dc01_data()})
    assert created.status_code == 201
    assert etag(created) == f'"{created.json()["seen"]}"'
    path = f"/api/v1/forms/{created.json()['id']}"

    read = client.get(path)
    assert etag(read) == f'"{ok(read)["seen"]}"' == etag(created)

    saved = send(client, "PUT", path, {"data": dc01_data(phone="0911111111")}, if_match=etag(read))
    assert etag(saved) == f'"{ok(saved)["seen"]}"' != etag(read)
    submitted = send(client, "POST", f"{path}/submit", if_match=etag(saved))
    assert ok(submitted)["status"] == Status.SUBMITTED
    assert etag(submitted) == f'"{submitted.json()["seen"]}"' == etag(client.get(path))

    # The same request sent again (a retry): the answer is the form the first one made, with its ETag.
    key = {"kind": "DC01", "data": dc01_data(), "submission_key": "0b6f0c57-6d0c-4d5e-9d2e-2f4d1c3a8b11"}
    first = send(client, "POST", "/api/v1/forms", key)
    again = send(client, "POST", "/api/v1/forms", key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert etag(again) == f'"{again.json()["seen"]}"'


def test_a_write_with_a_stale_if_match_is_refused_with_412_and_nothing_is_written(
    personas: Personas,
) -> None:
    first, second = api(personas.lan), api(personas.lan)
    form = dc01(personas.lan)
    path = f"/api/v1/forms/{form.pk}"
    read_first, read_second = etag(first.get(path)), etag(second.get(path))

    ok(send(first, "PUT", path, {"data": dc01_data(phone="0911111111")}, if_match=read_first))
    updates = events(form, EventType.FORM_UPDATED)

    stale = send(second, "PUT", path, {"data": dc01_data(phone="0922222222")}, if_match=read_second)
    assert_stale_by_header(refusal(stale, 412), form)
    form.refresh_from_db()
    assert form.data["phone"] == "0911111111"  # the first tablet's correction stands
    assert events(form, EventType.FORM_UPDATED) == updates

    # Read again, the second tablet's write goes through.
    fresh = etag(second.get(path))
    ok(send(second, "PUT", path, {"data": dc01_data(phone="0922222222")}, if_match=fresh))
    form.refresh_from_db()
    assert form.data["phone"] == "0922222222"


@pytest.mark.parametrize(
    "case",
    [
        ("submitted", "check", "hang", {}, EventType.FORM_CHECKED),
        ("checked", "recheck", "cuong", {}, EventType.FORM_RECHECKED),
        ("rechecked", "apply", "cuong", None, EventType.FORM_APPLIED),
        ("rechecked", "return", "cuong", {"reason": "Sai địa chỉ"}, EventType.FORM_RETURNED),
    ],
    ids=["check", "recheck", "apply", "return"],
)
def test_every_step_refuses_a_stale_if_match(
    personas: Personas, staff: Reviewers, case: tuple[str, str, str, dict[str, Any] | None, str]
) -> None:
    status, step, who, body, event = case
    client = api({"hang": staff.hang, "cuong": personas.cuong}[who])
    form = advance(dc01(personas.lan), status, reviewer=staff.hang, supervisor=personas.cuong)
    path = f"/api/v1/forms/{form.pk}"
    read = etag(client.get(path))
    # Returned and brought back to the same step: where it was, but not as it was read.
    returner = staff.hang if status == Status.SUBMITTED else personas.cuong
    form = workflow.form_return(actor=Actor(returner), form=form, reason="Kiểm tra lại")
    form = advance(form, status, reviewer=staff.hang, supervisor=personas.cuong)
    before = events(form, event)

    assert_stale_by_header(refusal(send(client, "POST", f"{path}/{step}", body, if_match=read), 412), form)
    form.refresh_from_db()
    assert form.status == status
    assert events(form, event) == before
    assert not Citizen.objects.filter(full_name="Đỗ Minh Khang").exists()

    ok(send(client, "POST", f"{path}/{step}", body, if_match=etag(client.get(path))))
    assert events(form, event) == before + 1


def test_submitting_with_a_stale_if_match_and_no_body_is_refused(personas: Personas) -> None:
    client = api(personas.lan)
    form = dc01(personas.lan)
    path = f"/api/v1/forms/{form.pk}"
    read = etag(client.get(path))
    changed_by_another_tablet(form, personas.lan, "0933333333")

    assert_stale_by_header(refusal(send(client, "POST", f"{path}/submit", if_match=read), 412), form)
    form.refresh_from_db()
    assert (form.status, form.submitted_at) == (Status.DRAFT, None)


@pytest.mark.parametrize(
    "if_match",
    [
        "W/{tag}",  # a weak tag never matches for a write (strong comparison), even of the current version
        '"hôm qua"',  # a tag that is no time names no version
        "{bare}",  # the value without its quotes is no entity tag
        '{tag}, "2026-12-05T08:00:00+00:00"',  # any tag of the list may match, but this one has none
    ],
    ids=["weak", "no-time", "unquoted", "bad-list"],
)
def test_an_if_match_that_names_no_current_version_is_refused(personas: Personas, if_match: str) -> None:
    client = api(personas.lan)
    form = dc01(personas.lan)
    path = f"/api/v1/forms/{form.pk}"
    current = etag(client.get(path))
    if "," in if_match:
        # The list names an older version and another time: the form changed since both.
        changed_by_another_tablet(form, personas.lan, "0933333333")
    header = if_match.format(tag=current, bare=current.strip('"'))

    assert_stale_by_header(refusal(send(client, "POST", f"{path}/submit", if_match=header), 412), form)
    form.refresh_from_db()
    assert form.status == Status.DRAFT


@pytest.mark.parametrize(
    "if_match",
    ["*", '"2026-12-05T08:00:00+00:00", {tag}', "{tag}", "{tag_z}", " "],
    ids=["any", "list", "tag", "z", "blank"],
)
def test_an_if_match_that_names_the_current_version_lets_the_write_through(
    personas: Personas, if_match: str
) -> None:
    client = api(personas.lan)
    form = dc01(personas.lan)
    path = f"/api/v1/forms/{form.pk}"
    current = etag(client.get(path))
    # The same time written with Z for +00:00 is the same version; a blank header names none, as no header.
    header = if_match.format(tag=current, tag_z=current.replace("+00:00", "Z"))
    assert ok(send(client, "POST", f"{path}/submit", if_match=header))["status"] == Status.SUBMITTED


def test_if_match_is_optional_no_428(personas: Personas) -> None:
    client = api(personas.lan)
    form = dc01(personas.lan)
    path = f"/api/v1/forms/{form.pk}"
    ok(send(client, "PUT", path, {"data": dc01_data(phone="0933333333")}))
    assert ok(send(client, "POST", f"{path}/submit"))["status"] == Status.SUBMITTED


def test_a_body_and_a_header_that_name_two_versions_are_refused_whichever_is_current(
    personas: Personas,
) -> None:
    client = api(personas.lan)
    form = dc01(personas.lan)
    path = f"/api/v1/forms/{form.pk}"
    old = ok(client.get(path))["seen"]
    changed_by_another_tablet(form, personas.lan, "0933333333")
    current = ok(client.get(path))["seen"]

    # Neither wins: the request names two versions and cannot say which it meant.
    for seen, header in ((old, current), (current, old)):
        response = send(client, "POST", f"{path}/submit", {"seen": seen}, if_match=f'"{header}"')
        error = refusal(response, 422)
        assert (error["field"], error["code"]) == ("If-Match", "form.seen_mismatch")
        assert error["message_vi"].startswith(
            "Tiêu đề If-Match và giá trị seen trong nội dung chỉ hai phiên bản"
        )
        assert error["message_en"].startswith(
            "The If-Match header and the body's seen name two different versions of the form"
        )
        form.refresh_from_db()
        assert form.status == Status.DRAFT

    # The same version in both, stale: the header's answer, 412.
    response = send(client, "POST", f"{path}/submit", {"seen": old}, if_match=f'"{old}"')
    assert_stale_by_header(refusal(response, 412), form)
    # "*" names any version: the body's `seen` is the check left, and its answer is the body's, 409.
    error = refusal(send(client, "POST", f"{path}/submit", {"seen": old}, if_match="*"), 409)
    assert (error["field"], error["code"]) == ("form", "form.changed")
    # The same version in both, current: the write goes through.
    response = send(client, "POST", f"{path}/submit", {"seen": current}, if_match=f'"{current}"')
    assert ok(response)["status"] == Status.SUBMITTED


def test_the_openapi_document_declares_if_match_and_the_412_of_each_write(personas: Personas) -> None:
    document = ok(api(personas.lan).get("/api/v1/openapi.json"))
    writes = [("/api/v1/forms/{form_id}", "put")] + [
        (f"/api/v1/forms/{{form_id}}/{step}", "post")
        for step in ("submit", "check", "recheck", "return", "apply", "reject")
    ]
    for path, method in writes:
        operation = document["paths"][path][method]
        assert operation["responses"]["412"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/Refusal"
        ), path
        [header] = [p for p in operation["parameters"] if p["in"] == "header"]
        assert (header["name"], header["required"]) == ("If-Match", False), path


# 2. /reject refuses a stale write, by body and by header ------------------------------------------------

HEADER = "record_id,full_name,gender,birth_date,birth_place,id_number,old_id_number,address"
# A birth province nobody knows: a warning, so the row waits for a reviewer of Hoàn Kiếm as a form.
ROW = 'R2,Đỗ Thị Hoa,Nữ,02/03/1970,Sao Hỏa,,,"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'


def imported_form(tmp_path: Path) -> CollectionForm:
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    actor = Actor(system="import")
    run, source = import_start(path=path, source_name="Sổ hộ khẩu Hoàn Kiếm", actor=actor)
    import_promote(run=import_rows(run=run, source=source, actor=actor, policy=ImportPolicy()))
    form = CollectionForm.objects.get()
    assert (form.status, form.from_import) == (Status.SUBMITTED, True)
    return form


@pytest.mark.parametrize("token", ["body", "header"])
def test_rejecting_an_imported_form_changed_since_it_was_read_is_refused(
    tmp_path: Path, staff: Reviewers, token: str
) -> None:
    form = imported_form(tmp_path)
    run = ImportRun.objects.get()
    client = api(staff.hang)
    path = f"/api/v1/forms/{form.pk}"
    read = client.get(path)
    # A colleague corrects the row in place meanwhile (a reviewer may, while it waits to be checked).
    corrected = {**form.data, "phone": "0987654321"}
    workflow.form_update_draft(actor=Actor(staff.hang), form=form, data=corrected)

    body = {"reason": "Người này đã chuyển đi từ 2010"}
    if token == "body":
        error = refusal(send(client, "POST", f"{path}/reject", {**body, "seen": ok(read)["seen"]}), 409)
        assert (error["field"], error["code"]) == ("form", "form.changed")
    else:
        error = refusal(send(client, "POST", f"{path}/reject", body, if_match=etag(read)), 412)
        assert (error["field"], error["code"]) == ("If-Match", "form.changed")
    assert error["message_vi"].startswith(f"Phiếu DC01 #{form.pk} đã thay đổi sau khi bạn mở trang")
    assert error["message_en"].startswith(f"Form DC01 #{form.pk} changed after you opened the page")
    # Nothing was rejected: neither the form, nor its row in the import's report.
    form.refresh_from_db()
    assert (form.status, form.rejected_by, form.reject_reason) == (Status.SUBMITTED, None, "")
    record = StagingRecord.objects.get(pk=form.staging_record_id)
    assert record.status != StagingRecord.Status.REJECTED
    assert "import.rejected_by_officer" not in [issue["code"] for issue in record.issues]
    before = (run.rows_review, run.rows_rejected)
    run.refresh_from_db()
    assert (run.rows_review, run.rows_rejected) == before
    assert events(form, EventType.FORM_REJECTED) == 0

    # Read again, the rejection goes through.
    fresh = client.get(path)
    if token == "body":
        rejected = send(client, "POST", f"{path}/reject", {**body, "seen": ok(fresh)["seen"]})
    else:
        rejected = send(client, "POST", f"{path}/reject", body, if_match=etag(fresh))
    assert ok(rejected)["status"] == Status.REJECTED
    assert StagingRecord.objects.get(pk=form.staging_record_id).status == StagingRecord.Status.REJECTED
    assert events(form, EventType.FORM_REJECTED) == 1
