"""What Hằng, the commune reviewer of Phường Hoàn Kiếm, met working her queue (review session 23): a form
changed by someone else while she looked at it was confirmed, or a correction written over, silently.

The page sends back when the form last changed as it showed it (`seen`); an action on a form changed since
is refused with `form.changed`, nothing is written, and the officer looks again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.collection.models import CollectionForm
from dancu.lib.errors import DomainError
from tests.collection.forms_support import Reviewers, advance, dc01, make_reviewers
from tests.collection.test_import_review import stage_and_promote
from tests.conftest import Personas
from tests.pages import html

pytestmark = pytest.mark.django_db

Status = CollectionForm.Status
CHANGED_VI = "đã thay đổi sau khi bạn mở trang (có người vừa sửa hoặc xử lý phiếu): chưa làm gì"
CHANGED_EN = "changed after you opened the page (someone edited or acted on it): nothing was done"


@pytest.fixture
def reviewers(personas: Personas) -> Reviewers:
    return make_reviewers(personas)


@pytest.fixture
def hang(reviewers: Reviewers, sign_in: Any) -> Client:
    return sign_in(Client(), reviewers.hang)


def seen_on(page: str) -> str:
    """The `seen` value the page's forms send back."""
    values = set(re.findall(r'name="seen" value="([^"]*)"', page))
    assert len(values) == 1, values
    return values.pop()


def events(form: CollectionForm, event_type: str) -> int:
    return AuditEvent.objects.filter(
        subject_type="collection_form", subject_id=str(form.pk), event_type=event_type
    ).count()


def returned_corrected_and_submitted_again(form: CollectionForm, *, by: Any, author: Any) -> CollectionForm:
    form = workflow.form_return(actor=Actor(by), form=form, reason="Kiểm tra lại ngày sinh")
    form = workflow.form_update_draft(
        actor=Actor(author), form=form, data={**form.data, "birth_date": "12/03/1952"}, document=form.document
    )
    return workflow.form_submit(actor=Actor(author), form=form)


def test_a_check_from_a_page_showing_an_older_form_is_refused_and_nothing_is_confirmed(
    hang: Client, reviewers: Reviewers, personas: Personas
) -> None:
    form = advance(dc01(personas.lan), "submitted", reviewer=reviewers.hang, supervisor=personas.cuong)
    page = html(hang.get(f"/forms/{form.pk}/"))
    assert 'data-field="birth_date">12/03/1992<' in page
    # Meanwhile (another tab, a colleague) the form goes back to Lan, who changes the birth date and sends it.
    returned_corrected_and_submitted_again(form, by=reviewers.hang, author=personas.lan)

    response = hang.post(f"/forms/{form.pk}/check/", {"seen": seen_on(page)}, follow=True)

    shown = html(response)
    assert f"Phiếu DC01 #{form.pk} {CHANGED_VI}" in shown
    assert "[form.changed]" in shown
    form.refresh_from_db()
    assert (form.status, form.checked_by_id, form.checked_at) == (Status.SUBMITTED, None, None)
    assert events(form, EventType.FORM_CHECKED) == 0
    # The page she lands on shows the form as it is now, and checking from it works.
    assert 'data-field="birth_date">12/03/1952<' in shown
    html(hang.post(f"/forms/{form.pk}/check/", {"seen": seen_on(shown)}, follow=True))
    form.refresh_from_db()
    assert (form.status, form.checked_by_id) == (Status.CHECKED, reviewers.hang.pk)


def test_the_refusal_is_in_english_on_an_english_page(
    hang: Client, reviewers: Reviewers, personas: Personas
) -> None:
    hang.post("/i18n/setlang/", {"language": "en", "next": "/"})
    form = advance(dc01(personas.lan), "submitted", reviewer=reviewers.hang, supervisor=personas.cuong)
    seen = seen_on(html(hang.get(f"/forms/{form.pk}/")))
    returned_corrected_and_submitted_again(form, by=reviewers.hang, author=personas.lan)

    shown = html(hang.post(f"/forms/{form.pk}/return/", {"seen": seen, "reason": "Typo"}, follow=True))

    assert f"Form DC01 #{form.pk} {CHANGED_EN}" in shown
    form.refresh_from_db()
    assert form.status == Status.SUBMITTED
    assert events(form, EventType.FORM_RETURNED) == 1  # the colleague's, not a second one


def test_a_recheck_or_apply_from_an_older_page_is_refused(
    reviewers: Reviewers, personas: Personas, sign_in: Any
) -> None:
    cuong = sign_in(Client(), personas.cuong)
    form = advance(dc01(personas.lan), "checked", reviewer=reviewers.hang, supervisor=personas.cuong)
    seen = seen_on(html(cuong.get(f"/forms/{form.pk}/")))
    returned_corrected_and_submitted_again(form, by=personas.cuong, author=personas.lan)
    form = workflow.form_check(actor=Actor(reviewers.hang), form=form)

    shown = html(cuong.post(f"/forms/{form.pk}/recheck/", {"seen": seen}, follow=True))

    assert "[form.changed]" in shown
    form.refresh_from_db()
    assert (form.status, form.rechecked_by_id) == (Status.CHECKED, None)
    with pytest.raises(DomainError) as refused:
        workflow.form_apply(actor=Actor(personas.cuong), form=form, seen=form.updated_at.replace(year=2000))
    assert [(e.field, e.code) for e in refused.value.errors] == [("form", "form.changed")]
    form.refresh_from_db()
    assert (form.status, form.apply_errors) == (Status.CHECKED, [])


def test_a_save_from_an_older_edit_page_does_not_write_over_the_correction_made_since(
    lan: Client, personas: Personas
) -> None:
    form = dc01(personas.lan)
    first = html(lan.get(f"/forms/{form.pk}/edit/"))
    second = html(lan.get(f"/forms/{form.pk}/edit/"))
    fields = {
        **form.data,
        "kind": "DC01",
        "document": form.document,
        "reason": "Thu thập tại hộ",
        "action": "save",
    }
    response = lan.post(f"/forms/{form.pk}/edit/", {**fields, "phone": "0987654321", "seen": seen_on(first)})
    assert response.status_code == 302

    refused = lan.post(
        f"/forms/{form.pk}/edit/", {**fields, "address_detail": "Số 3 phố Hàng Bạc", "seen": seen_on(second)}
    )

    page = html(refused, 422)
    assert f"Phiếu DC01 #{form.pk} {CHANGED_VI}" in page
    assert "[form.changed]" in page
    # What was typed stays on the page to be copied; the form keeps the first correction.
    assert 'value="Số 3 phố Hàng Bạc"' in page
    form.refresh_from_db()
    assert (form.data["phone"], form.data["address_detail"]) == ("0987654321", "Số 8 phố Hàng Bè")
    assert events(form, EventType.FORM_UPDATED) == 1


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "vi",
            "Ghi lý do từ chối bản ghi: báo cáo của lần nhập ghi lại lý do này cho dòng đó [reason.required]",
        ),
        (
            "en",
            "Give the reason for rejecting the record: the import's report keeps it for that row "
            "[reason.required]",
        ),
    ],
)
def test_rejecting_an_imported_record_without_a_reason_asks_for_the_rejections_reason(
    hang: Client, tmp_path: Path, language: str, expected: str
) -> None:
    # Before, the refusal asked for "the reason for the change" (lý do thay đổi): there is no change here.
    hang.post("/i18n/setlang/", {"language": language, "next": "/"})
    stage_and_promote(tmp_path)
    form = CollectionForm.objects.get()
    seen = seen_on(html(hang.get(f"/forms/{form.pk}/")))

    page = html(hang.post(f"/forms/{form.pk}/reject/", {"seen": seen, "reason": " "}, follow=True))

    assert expected.replace("'", "&#x27;") in page
    form.refresh_from_db()
    assert form.status == Status.SUBMITTED
