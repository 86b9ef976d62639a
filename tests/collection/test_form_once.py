"""A new DC01/DC02 is made once per page, however many times its button is pressed or its post is sent
again: the page gives the form a key (`submission_key`), and a second send of that key finds the form the
first one made (workflow.AlreadySavedError)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.test import Client

from dancu.accounts.services import api_token_create
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.collection.models import CollectionForm
from tests.collection.forms_support import dc01_data
from tests.conftest import People, Personas

pytestmark = pytest.mark.django_db


def _key_of(page: str) -> str:
    match = re.search(r'<input type="hidden" name="submission_key" value="([0-9a-f-]{36})">', page)
    assert match is not None, "the new form's page carries its key"
    return match.group(1)


def _created() -> int:
    return AuditEvent.objects.filter(event_type=EventType.FORM_CREATED).count()


def test_pressing_submit_twice_makes_one_dc01(personas: Personas, lan: Client) -> None:
    """Lan presses "Gửi" twice on a slow connection: one form goes to the reviewer, and the second press
    lands on it, saying that no second form was made."""
    key = _key_of(lan.get("/forms/new/").content.decode())
    sent = {**dc01_data(), "document": "Giấy khai sinh số 12/1992", "submission_key": key, "action": "submit"}

    first = lan.post("/forms/new/", sent)
    second = lan.post("/forms/new/", sent)

    form = CollectionForm.objects.get(created_by=personas.lan)
    assert form.status == CollectionForm.Status.SUBMITTED
    assert str(form.submission_key) == key
    assert "submission_key" not in form.data
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/forms/{form.pk}/"
    page = lan.get(second["Location"]).content.decode()
    assert f"Phiếu DC01 #{form.pk} đã được lưu từ lần gửi trước: không lập thêm phiếu" in page
    assert _created() == 1


def test_each_new_page_is_a_new_form(personas: Personas, lan: Client) -> None:
    """Two babies with the same data on purpose (twins are named apart, but a clerk may save a second draft
    to finish later): each opening of the page is a form of its own."""
    keys = {_key_of(lan.get("/forms/new/").content.decode()) for _ in range(2)}
    for key in keys:
        lan.post("/forms/new/", {**dc01_data(), "submission_key": key, "action": "save"})

    assert len(keys) == 2
    assert CollectionForm.objects.filter(created_by=personas.lan).count() == 2


def test_a_refused_send_keeps_its_key_so_the_corrected_one_is_the_first_form(
    personas: Personas, lan: Client
) -> None:
    key = _key_of(lan.get("/forms/new/").content.decode())

    refused = lan.post(
        "/forms/new/", {**dc01_data(commune_code="26740"), "submission_key": key, "action": "save"}
    )
    assert refused.status_code == 422
    assert _key_of(refused.content.decode()) == key
    assert not CollectionForm.objects.exists()

    saved = lan.post("/forms/new/", {**dc01_data(), "submission_key": key, "action": "save"})
    assert saved.status_code == 302
    assert CollectionForm.objects.get().submission_key == uuid.UUID(key)


def test_pressing_save_twice_on_a_new_dc02_makes_one_form(
    personas: Personas, people: People, lan: Client
) -> None:
    url = f"/forms/new/dc02/{people.hung.pk}/"
    key = _key_of(lan.get(url).content.decode())
    sent = {
        "phone": "0987654321",
        "document": "Đơn đề nghị",
        "reason": "Đổi số điện thoại",
        "submission_key": key,
        "action": "save",
    }

    lan.post(url, sent)
    again = lan.post(url, sent)

    form = CollectionForm.objects.get(created_by=personas.lan)
    assert again["Location"] == f"/forms/{form.pk}/"
    assert form.data == {"changes": {"phone": "0987654321"}}


def test_the_service_refuses_a_key_sent_again_naming_the_first_form(personas: Personas) -> None:
    key = uuid.uuid4()
    first = workflow.form_create_draft(
        actor=Actor(personas.lan), kind="DC01", data=dc01_data(), submission_key=key
    )
    events = _created()

    with pytest.raises(workflow.AlreadySavedError) as refused:
        workflow.form_create_draft(
            actor=Actor(personas.lan), kind="DC01", data=dc01_data(), submission_key=key
        )

    assert refused.value.form == first
    assert [(e.field, e.code) for e in refused.value.errors] == [("submission_key", "form.already_saved")]
    assert refused.value.errors[0].message("en") == (
        f"Form DC01 #{first.pk} was saved by the earlier send: no second form was made"
    )
    assert CollectionForm.objects.count() == 1
    assert _created() == events


def test_another_officers_key_is_not_found(personas: Personas) -> None:
    """The key is the page's, and the page is one officer's: Bình's form is not Lan's, whatever key it
    carries (and two forms without a key, such as the API's, are never one)."""
    key = uuid.uuid4()
    workflow.form_create_draft(actor=Actor(personas.lan), kind="DC01", data=dc01_data(), submission_key=key)
    binh_form = workflow.form_create_draft(
        actor=Actor(personas.binh), kind="DC01", data=dc01_data(commune_code="00097"), submission_key=key
    )
    for _ in range(2):
        workflow.form_create_draft(actor=Actor(personas.lan), kind="DC01", data=dc01_data())

    assert binh_form.created_by == personas.binh
    assert CollectionForm.objects.count() == 4


def test_a_client_retrying_post_forms_with_its_key_gets_the_first_form(personas: Personas) -> None:
    """A tablet whose answer was lost sends the same request again: with the key it made, the answer is the
    form the first request made (200, not 201), and no second form is made. Without a key, each request
    is a form, as before."""
    _token, secret = api_token_create(user=personas.lan, name="máy tính bảng")
    tablet = Client(headers={"Authorization": f"Bearer {secret}"})
    body = json.dumps({"kind": "DC01", "data": dc01_data(), "submission_key": str(uuid.uuid4())})

    first = tablet.post("/api/v1/forms", body, content_type="application/json")
    again = tablet.post("/api/v1/forms", body, content_type="application/json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert CollectionForm.objects.count() == 1
    assert _created() == 1
    refused = tablet.post(
        "/api/v1/forms",
        json.dumps({"kind": "DC01", "data": dc01_data(), "submission_key": "not-a-key"}),
        content_type="application/json",
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["submission_key"]
    assert CollectionForm.objects.count() == 1
