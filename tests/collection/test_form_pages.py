"""The DC01/DC02 pages, driven through the real sign-in: filling in, checking as one types, the queues and
each step's buttons; a refused step says which rule refused it, and a form of another area looks missing.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.collection.models import CollectionForm
from dancu.registry.models import RecordVersion
from tests.collection.forms_support import (
    Reviewers,
    advance,
    dc01,
    dc01_data,
    dc02,
    merge_into_duplicate,
)
from tests.conftest import HONG_HA, People, Personas, make_citizen
from tests.pages import field_errors, html

pytestmark = pytest.mark.django_db

Status = CollectionForm.Status


@pytest.fixture
def as_user(sign_in: Any) -> Any:
    def _as(user: Any) -> Client:
        return sign_in(Client(), user)

    return _as


def flashed(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def follow(client: Client, response: Any) -> Any:
    assert response.status_code == 302, (response.status_code, response.content[:500])
    return client.get(response["Location"])


def post_form(client: Client, url: str, data: dict[str, str], action: str) -> Any:
    return client.post(url, {**data, "action": action})


# Filling in ------------------------------------------------------------------------------------------------


def test_the_new_dc01_page_is_ready_for_the_collectors_commune(personas: Personas, as_user: Any) -> None:
    page = html(as_user(personas.lan).get("/forms/new/"))
    assert "Phiếu DC01: thu thập thông tin dân cư" in page
    assert 'name="commune_code" value="00070"' in page  # Lan's own commune
    assert 'hx-post="/forms/validate/"' in page
    for label in ("Họ, chữ đệm và tên khai sinh", "Ngày sinh", "Nơi cư trú", "Nhập hộ (nếu có)", "Lưu nháp"):
        assert label in page
    assert 'href="/forms/"' in page
    assert 'href="/forms/new/"' in page


def test_the_page_checks_what_was_typed_without_saving(personas: Personas, as_user: Any) -> None:
    client = as_user(personas.lan)
    response = client.post(
        "/forms/validate/",
        {"kind": "DC01", "full_name": "Lê Văn 4", "birth_date": "31/02/1990", "commune_code": "00070"},
        headers={"HX-Request": "true"},
    )
    page = html(response)
    assert '<div class="field-errors" id="err-full_name" hx-swap-oob="true">' in page
    assert "[name.digits]" in field_errors(page, "full_name")
    assert "[date.day_range]" in field_errors(page, "birth_date")
    # Fields not typed yet are not reproached: the required ones are asked for on submitting.
    assert field_errors(page, "sex") == ""
    assert 'data-errors="2"' in page
    assert "<html" not in page
    assert not CollectionForm.objects.exists()

    ok = html(
        client.post("/forms/validate/", {"kind": "DC01", "full_name": "Lê Văn Bốn", "birth_date": "1990"})
    )
    assert 'data-errors="0"' in ok
    assert "[date.partial]" in ok  # the warning a reviewer will have to acknowledge


def test_the_check_of_a_dc02_compares_with_the_record(
    personas: Personas, people: People, as_user: Any
) -> None:
    client = as_user(personas.lan)
    page = html(
        client.post(
            "/forms/validate/",
            {"kind": "DC02", "citizen": str(people.hung.pk), "phone": "0912", "email": "a@b.vn"},
        )
    )
    assert "[phone.format]" in field_errors(page, "phone")
    outside = client.post(
        "/forms/validate/", {"kind": "DC02", "citizen": str(people.mai.pk), "phone": "0912"}
    )
    assert outside.status_code == 404
    assert client.post("/forms/validate/", {"kind": "DC09"}).status_code == 404
    assert client.post("/forms/validate/", {"kind": "DC02", "citizen": "x"}).status_code == 404


def test_a_draft_is_saved_and_shows_what_it_lacks(personas: Personas, as_user: Any) -> None:
    client = as_user(personas.lan)
    response = post_form(client, "/forms/new/", dc01_data(birth_date="", full_name="Lê Văn 4"), "save")
    form = CollectionForm.objects.get()
    assert response["Location"] == f"/forms/{form.pk}/edit/"
    page = html(follow(client, response))
    assert f"Đã lưu nháp phiếu DC01 #{form.pk}" in page
    assert "[field.required]" in field_errors(page, "birth_date")
    assert "[name.digits]" in field_errors(page, "full_name")
    assert 'value="Lê Văn 4"' in page  # the draft comes back as typed


def test_a_form_outside_the_area_is_not_saved_and_keeps_what_was_typed(
    personas: Personas, as_user: Any
) -> None:
    client = as_user(personas.lan)
    page = html(post_form(client, "/forms/new/", dc01_data(commune_code=HONG_HA), "save"), 422)
    assert "[unit.outside_jurisdiction]" in field_errors(page, "commune_code")
    assert 'value="Số 8 phố Hàng Bè"' in page
    assert not CollectionForm.objects.exists()


def test_submitting_with_errors_keeps_the_draft(personas: Personas, as_user: Any) -> None:
    client = as_user(personas.lan)
    response = post_form(client, "/forms/new/", dc01_data(phone="12"), "submit")
    form = CollectionForm.objects.get()
    assert form.status == Status.DRAFT
    page = html(follow(client, response))
    assert "chưa gửi được" in page
    assert "[phone.format]" in field_errors(page, "phone")

    response = post_form(client, f"/forms/{form.pk}/edit/", dc01_data(), "submit")
    assert response["Location"] == f"/forms/{form.pk}/"
    page = html(follow(client, response))
    assert f"Đã gửi phiếu DC01 #{form.pk} để kiểm tra" in page
    assert 'data-status="submitted"' in page
    assert 'id="no-actions"' in page  # nothing left for Lan to do on it


# Reviewing -------------------------------------------------------------------------------------------------


def test_the_form_goes_through_check_recheck_and_apply_in_the_pages(
    personas: Personas, staff: Reviewers, as_user: Any
) -> None:
    form = workflow.form_submit(actor=Actor(personas.lan), form=dc01(personas.lan, birth_date="1992"))

    hang = as_user(staff.hang)
    queue = html(hang.get("/forms/"))
    assert f'data-form="{form.pk}"' in queue
    assert 'data-stat="submitted">1<' in queue
    detail = html(hang.get(f"/forms/{form.pk}/"))
    assert 'id="check-form"' in detail
    assert 'id="return-form"' in detail
    assert 'name="acknowledged" value="date.partial"' in detail

    refused = hang.post(f"/forms/{form.pk}/check/")
    assert "[warning.unacknowledged]" in " ".join(flashed(follow(hang, refused)))
    page = html(follow(hang, hang.post(f"/forms/{form.pk}/check/", {"acknowledged": ["date.partial"]})))
    assert f"Đã kiểm tra phiếu DC01 #{form.pk}" in page
    assert 'data-status="checked"' in page
    assert html(hang.get("/forms/")).count("data-form=") == 0

    cuong = as_user(personas.cuong)
    assert f'data-form="{form.pk}"' in html(cuong.get("/forms/"))
    detail = html(cuong.get(f"/forms/{form.pk}/"))
    assert 'id="recheck-form"' in detail
    assert 'value="date.partial"' not in detail  # acknowledged by Hằng already
    html(follow(cuong, cuong.post(f"/forms/{form.pk}/recheck/")))
    response = cuong.post(f"/forms/{form.pk}/apply/")
    form.refresh_from_db()
    assert form.status == Status.APPLIED
    assert response["Location"] == f"/citizens/{form.citizen_id}/"
    page = html(follow(cuong, response))
    assert f"Đã cập nhật phiếu DC01 #{form.pk} vào CSDL" in page
    assert "Đỗ Minh Khang" in page

    steps = html(cuong.get(f"/forms/{form.pk}/"))
    for label in ("Lập phiếu thu thập", "Gửi phiếu để kiểm tra", "Kiểm tra phiếu", "Phúc tra phiếu"):
        assert label in steps
    assert 'id="citizen-link"' in steps


def test_a_returned_form_shows_why_and_goes_back_to_its_author(
    personas: Personas, staff: Reviewers, as_user: Any
) -> None:
    form = workflow.form_submit(actor=Actor(personas.lan), form=dc01(personas.lan))
    hang = as_user(staff.hang)
    empty = follow(hang, hang.post(f"/forms/{form.pk}/return/", {"reason": ""}))
    assert "[reason.required]" in " ".join(flashed(empty))
    html(follow(hang, hang.post(f"/forms/{form.pk}/return/", {"reason": "Thiếu số nhà"})))
    form.refresh_from_db()
    assert (form.status, form.return_reason) == (Status.RETURNED, "Thiếu số nhà")

    lan = as_user(personas.lan)
    assert f'data-form="{form.pk}"' in html(lan.get("/forms/"))
    edit = html(lan.get(f"/forms/{form.pk}/edit/"))
    assert 'id="return-note"' in edit
    assert "Thiếu số nhà" in edit
    response = post_form(
        lan, f"/forms/{form.pk}/edit/", dc01_data(address_detail="Số 10 phố Hàng Bè"), "submit"
    )
    assert response.status_code == 302
    form.refresh_from_db()
    assert (form.status, form.data["address_detail"]) == (Status.SUBMITTED, "Số 10 phố Hàng Bè")


def test_a_step_refused_by_the_rules_says_which_rule(
    personas: Personas, staff: Reviewers, as_user: Any
) -> None:
    form = workflow.form_submit(actor=Actor(personas.lan), form=dc01(personas.lan))
    cuong = as_user(personas.cuong)
    page = follow(cuong, cuong.post(f"/forms/{form.pk}/check/"))
    assert any("[role.not_allowed]" in m for m in flashed(page))
    lan = as_user(personas.lan)
    edit = lan.get(f"/forms/{form.pk}/edit/")
    assert edit["Location"] == f"/forms/{form.pk}/"
    assert lan.post(f"/forms/{form.pk}/frobnicate/").status_code == 404
    # A step's address opened as a link (the bar after a reason refused in place, then reloaded) leads to
    # the form, not to a bare 405; only a post takes the step.
    opened = lan.get(f"/forms/{form.pk}/submit/")
    assert (opened.status_code, opened["Location"]) == (302, f"/forms/{form.pk}/")
    form.refresh_from_db()
    assert form.status == Status.SUBMITTED


def test_the_apply_refused_by_the_registry_is_shown_on_the_form(
    personas: Personas, staff: Reviewers, as_user: Any
) -> None:
    form = advance(
        dc01(personas.lan, old_id_number="111222333"),
        "rechecked",
        reviewer=staff.hang,
        supervisor=personas.cuong,
    )
    make_citizen(full_name="Người Khác", old_id_number="111222333")
    cuong = as_user(personas.cuong)
    page = html(follow(cuong, cuong.post(f"/forms/{form.pk}/apply/")))
    assert 'id="apply-errors"' in page
    assert "[cmnd.duplicate]" in page
    assert 'data-status="rechecked"' in page


def test_a_dc02_of_a_record_merged_since_says_which_record_to_use(
    personas: Personas, people: People, staff: Reviewers, as_user: Any
) -> None:
    form = advance(
        dc02(personas.lan, people.hung, {"phone": "0987654321"}),
        "rechecked",
        reviewer=staff.hang,
        supervisor=personas.cuong,
    )
    kept = merge_into_duplicate(people.hung)
    cuong = as_user(personas.cuong)
    response = cuong.post(f"/forms/{form.pk}/apply/")
    page = html(follow(cuong, response))
    assert 'id="apply-errors"' in page
    assert "[citizen.merged]" in page
    assert f"đã được hợp nhất vào hồ sơ {kept.pin}" in page
    assert 'data-status="rechecked"' in page


# Jurisdiction ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/forms/{pk}/", "/forms/{pk}/edit/"])
def test_a_form_of_another_commune_looks_missing(personas: Personas, as_user: Any, path: str) -> None:
    form = dc01(personas.lan)
    binh = as_user(personas.binh)
    assert binh.get(path.format(pk=form.pk)).status_code == 404
    assert binh.get(path.format(pk=form.pk + 1000)).status_code == 404
    assert binh.post(f"/forms/{form.pk}/submit/").status_code == 404


def test_the_auditor_has_no_form_pages(personas: Personas, as_user: Any) -> None:
    an = as_user(personas.an)
    assert an.get("/forms/").status_code == 403
    assert an.post("/forms/validate/", {"kind": "DC01"}).status_code == 403


def test_supervisors_do_not_fill_in_forms(personas: Personas, people: People, as_user: Any) -> None:
    cuong = as_user(personas.cuong)
    assert cuong.get("/forms/new/").status_code == 403
    assert cuong.get(f"/forms/new/dc02/{people.hung.pk}/").status_code == 403
    assert "/forms/new/dc02/" not in html(cuong.get(f"/citizens/{people.hung.pk}/"))
    assert "Lập phiếu DC01" not in html(cuong.get("/forms/"))


# DC02 ------------------------------------------------------------------------------------------------------


def test_a_dc02_starts_from_the_record_and_shows_what_it_changes(
    personas: Personas, people: People, staff: Reviewers, as_user: Any
) -> None:
    lan = as_user(personas.lan)
    record = html(lan.get(f"/citizens/{people.hung.pk}/"))
    assert f'href="/forms/new/dc02/{people.hung.pk}/"' in record
    page = html(lan.get(f"/forms/new/dc02/{people.hung.pk}/"))
    assert "Phiếu DC02: cập nhật, chỉnh sửa thông tin" in page
    assert 'data-current="full_name">Hiện tại: Nguyễn Văn Hùng<' in page
    assert lan.get(f"/forms/new/dc02/{people.mai.pk}/").status_code == 404

    response = post_form(
        lan,
        f"/forms/new/dc02/{people.hung.pk}/",
        {"phone": "0987654321", "document": "Đơn đề nghị ngày 01/09/2025", "reason": "Đổi số điện thoại"},
        "submit",
    )
    form = CollectionForm.objects.get(kind="DC02")
    assert (form.status, form.citizen, form.data) == (
        Status.SUBMITTED,
        people.hung,
        {"changes": {"phone": "0987654321"}},
    )
    page = html(follow(lan, response))
    assert '<tr data-field="phone">' in page
    assert "0987654321" in page

    form = advance(form, "applied", reviewer=staff.hang, supervisor=personas.cuong)
    people.hung.refresh_from_db()
    assert people.hung.phone == "0987654321"
    assert RecordVersion.objects.filter(entity_id=people.hung.pk, source_document=f"DC02 #{form.pk}").exists()


def test_a_dc02_without_its_document_is_not_sent(personas: Personas, people: People, as_user: Any) -> None:
    lan = as_user(personas.lan)
    response = post_form(lan, f"/forms/new/dc02/{people.hung.pk}/", {"phone": "0987654321"}, "submit")
    form = CollectionForm.objects.get()
    assert form.status == Status.DRAFT
    page = html(follow(lan, response))
    assert "[document.required]" in field_errors(page, "document")
    assert "[field.required]" in field_errors(page, "reason")


def test_reading_a_dc02_is_logged_for_the_citizen(
    personas: Personas, people: People, staff: Reviewers, as_user: Any
) -> None:
    form = dc02(personas.lan, people.hung, {"phone": "0987654321"})
    hang = as_user(staff.hang)
    before = people.hung.access_logs.count()
    html(hang.get(f"/forms/{form.pk}/"))
    assert people.hung.access_logs.filter(actor=staff.hang).count() == 1
    assert people.hung.access_logs.count() == before + 1


def test_the_pages_speak_english(personas: Personas, staff: Reviewers, as_user: Any) -> None:
    form = workflow.form_submit(actor=Actor(personas.lan), form=dc01(personas.lan))
    hang = as_user(staff.hang)
    hang.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    page = html(hang.get(f"/forms/{form.pk}/"))
    assert '<html lang="en">' in page
    assert "Phiếu chờ xử lý" not in page
    assert "Forms waiting" in page
    assert "Submitted" in page


def test_input_the_page_itself_refuses_is_shown_and_not_saved(
    personas: Personas, people: People, as_user: Any
) -> None:
    lan = as_user(personas.lan)
    page = html(post_form(lan, "/forms/new/", dc01_data(sex="X"), "save"), 422)
    assert field_errors(page, "sex")
    page = html(post_form(lan, f"/forms/new/dc02/{people.hung.pk}/", {"ethnicity": "99"}, "save"), 422)
    assert field_errors(page, "ethnicity")
    form = dc01(personas.lan)
    page = html(post_form(lan, f"/forms/{form.pk}/edit/", dc01_data(full_name="Lê\x00"), "save"), 422)
    assert field_errors(page, "full_name")
    checked = html(lan.post("/forms/validate/", {"kind": "DC01", "sex": "X", "full_name": "x" * 2000}))
    assert field_errors(checked, "sex")
    assert field_errors(checked, "full_name")
    assert CollectionForm.objects.count() == 1


def test_a_draft_is_submitted_from_its_page(personas: Personas, as_user: Any) -> None:
    form = dc01(personas.lan)
    lan = as_user(personas.lan)
    detail = html(lan.get(f"/forms/{form.pk}/"))
    assert f'href="/forms/{form.pk}/edit/"' in detail
    page = html(follow(lan, lan.post(f"/forms/{form.pk}/submit/")))
    assert f"Đã gửi phiếu DC01 #{form.pk} để kiểm tra" in page
    form.refresh_from_db()
    assert form.status == Status.SUBMITTED
