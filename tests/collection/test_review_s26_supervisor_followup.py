"""A province supervisor who imported a book follows the rows it sent for review: the report says where
the forms made from them stand (waiting for the commune's check, for the supervisor's re-check, written,
returned), counted in the reader's area, so that the "queued" count does not end the story."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dancu.audit.services import Actor
from dancu.collection import selectors, workflow
from dancu.collection.models import CollectionForm, ImportRun
from tests.collection.forms_support import Reviewers
from tests.collection.test_import_pages import upload
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

HEADER = "record_id,full_name,gender,birth_date,birth_place,address"
HOAN_KIEM = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'
# Year-only dates: each row waits for an officer rather than going straight into the registry.
ROWS = [
    f"R1,Lê Thị Mai,Nữ,1985,Hà Nội,{HOAN_KIEM}",
    f"R2,Trần Văn Nam,Nam,1979,Hà Nội,{HOAN_KIEM}",
    f"R3,Phạm Thu Hà,Nữ,1990,Hà Nội,{HOAN_KIEM}",
]


def _stats(page: str) -> dict[str, str]:
    section = re.search(r'<section[^>]*id="review-forms".*?</section>', page, re.S)
    assert section is not None
    return dict(re.findall(r'data-form-status="(\w+)"[^>]*>(\d+)<', section.group(0)))


def test_the_report_says_where_the_forms_made_from_the_rows_for_review_stand(
    personas: Personas, staff: Reviewers, sign_in: Any
) -> None:
    client = sign_in(Client(), personas.cuong)
    upload(client, "\n".join([HEADER, *ROWS]).encode())
    run = ImportRun.objects.get()
    assert run.rows_queued == 3
    url = reverse("collection:import_progress", args=[run.pk])
    assert _stats(client.get(url).content.decode()) == {"submitted": "3"}

    # The commune's reviewer checks one and rejects another (an imported form has no author to return it
    # to).
    first, second, _third = CollectionForm.objects.filter(staging_record__run=run).order_by("pk")
    workflow.form_check(actor=Actor(staff.hang), form=first, acknowledged=["date.partial"])
    workflow.form_reject(actor=Actor(staff.hang), form=second, reason="Trùng với hồ sơ đã có")
    page = client.get(url).content.decode()
    assert _stats(page) == {"submitted": "1", "checked": "1", "rejected": "1"}
    # The re-check waits in the supervisor's own queue: the page leads there.
    assert f'href="{reverse("collection:queue")}"' in page

    client.cookies["django_language"] = "en"
    assert "Forms made from the rows for review" in client.get(url).content.decode()


def test_the_counts_are_of_the_readers_area_only(personas: Personas, staff: Reviewers, sign_in: Any) -> None:
    client = sign_in(Client(), personas.cuong)
    upload(client, "\n".join([HEADER, *ROWS]).encode())
    run = ImportRun.objects.get()
    # Khoa reviews Phường Hồng Hà: none of the rows are his to see.
    assert selectors.import_run_form_counts(actor=staff.khoa, run=run) == []
    assert selectors.import_run_form_counts(actor=staff.hang, run=run) == [("submitted", "Chờ kiểm tra", 3)]
