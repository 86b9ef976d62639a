"""The supervisor who imported a book follows each row it sent for review, not only their counts.

The report counted the forms made from the rows for review by status and linked to the supervisor's own
queue, which holds the forms checked in the province: the 31 rows still waiting for the communes' check
were nowhere to be found from the report. It now lists the forms still waiting, the longest waiting first,
each with its row in the file and a link to it. And the row an imported form came from is cited in the
reader's language on the queue and the form ("import #4, row 16"), not in Vietnamese on an English page.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.collection.models import CollectionForm, ImportRun
from tests.collection.forms_support import Reviewers
from tests.collection.test_import_pages import upload
from tests.collection.test_review_s26_supervisor_followup import HEADER, ROWS
from tests.conftest import Personas

pytestmark = pytest.mark.django_db


def _waiting(page: str) -> dict[int, str]:
    """The forms the report lists as still waiting: {form id: its row of the table}."""
    table = re.search(r'<table[^>]*id="waiting-forms".*?</table>', page, re.S)
    assert table is not None, "the report lists no waiting form"
    return {int(pk): row for pk, row in re.findall(r'<tr data-form="(\d+)">(.*?)</tr>', table.group(0), re.S)}


def _imported(client: Client) -> tuple[ImportRun, list[CollectionForm]]:
    upload(client, "\n".join([HEADER, *ROWS]).encode())
    run = ImportRun.objects.get()
    return run, list(CollectionForm.objects.filter(staging_record__run=run).order_by("pk"))


def test_the_report_lists_each_form_still_waiting_with_its_row_and_a_link(
    personas: Personas, staff: Reviewers, sign_in: Any
) -> None:
    client = sign_in(Client(), personas.cuong)
    run, (first, second, third) = _imported(client)
    url = reverse("collection:import_progress", args=[run.pk])

    waiting = _waiting(client.get(url).content.decode())
    assert list(waiting) == [first.pk, second.pk, third.pk]
    # The row in the file (the header is line 1), the name, and the form a tap away.
    assert ">2<" in waiting[first.pk]
    assert "Lê Thị Mai" in waiting[first.pk]
    assert f'href="{reverse("collection:form", args=[first.pk])}"' in waiting[first.pk]
    assert client.get(reverse("collection:form", args=[first.pk])).status_code == 200

    # Checked (now waiting for the supervisor's re-check) stays listed; rejected waits for no one.
    workflow.form_check(actor=Actor(staff.hang), form=first, acknowledged=["date.partial"])
    workflow.form_reject(actor=Actor(staff.hang), form=second, reason="Trùng với hồ sơ đã có")
    waiting = _waiting(client.get(url).content.decode())
    assert list(waiting) == [third.pk, first.pk]
    assert 'data-status="checked"' in waiting[first.pk]


def test_the_report_lists_no_form_once_every_row_is_settled(
    personas: Personas, staff: Reviewers, sign_in: Any
) -> None:
    client = sign_in(Client(), personas.cuong)
    run, forms = _imported(client)
    for form in forms:
        workflow.form_reject(actor=Actor(staff.hang), form=form, reason="Trùng với hồ sơ đã có")
    page = client.get(reverse("collection:import_progress", args=[run.pk])).content.decode()
    assert 'id="review-forms"' in page
    assert 'id="waiting-forms"' not in page


def test_an_imported_forms_row_is_cited_in_the_readers_language(
    personas: Personas, staff: Reviewers, sign_in: Any
) -> None:
    run, (first, *_rest) = _imported(sign_in(Client(), personas.cuong))
    reviewer = sign_in(Client(), staff.hang)
    reviewer.cookies["django_language"] = "en"
    queue = reviewer.get(reverse("collection:queue")).content.decode()
    form = reviewer.get(reverse("collection:form", args=[first.pk])).content.decode()
    # On the form, where it says which row the form was made from (its data, the supporting document
    # "Tệp nhập #…" among them, stays as it was written).
    origin = re.search(r'<p id="import-origin".*?</p>', form, re.S)
    assert origin is not None
    for text in (queue, origin.group(0)):
        assert f"import #{run.pk}, row 2" in text
        assert f"nhập #{run.pk}" not in text

    reviewer.cookies["django_language"] = "vi"
    assert f"nhập #{run.pk}, dòng 2" in reviewer.get(reverse("collection:queue")).content.decode()


def test_an_officer_of_another_area_reads_neither_the_report_nor_its_waiting_forms(
    personas: Personas, sign_in: Any
) -> None:
    from dancu.collection import selectors

    run, forms = _imported(sign_in(Client(), personas.cuong))
    assert len(forms) == 3
    # Dũng supervises Hồ Chí Minh City: the Hà Nội run is not his to open, nor its forms to list.
    other = sign_in(Client(), personas.dung)
    assert other.get(reverse("collection:import_progress", args=[run.pk])).status_code == 404
    assert other.get(reverse("collection:import_run", args=[run.pk])).status_code == 404
    listed = selectors.import_run_waiting_forms(actor=personas.dung, run=run, purpose="kiểm tra")
    assert (listed.forms, listed.total) == ([], 0)
    # Lan, a collector of Phường Hoàn Kiếm where the three live, cannot open a run made for the whole city.
    assert (
        sign_in(Client(), personas.lan).get(reverse("collection:import_progress", args=[run.pk])).status_code
        == 404
    )
