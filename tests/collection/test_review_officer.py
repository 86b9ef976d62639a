"""What Lan, a collector of Phường Hoàn Kiếm working on her phone, met on the DC01/DC02 pages (review
session 21): a refusal named by a code name, and dates written two ways on the same page."""

from __future__ import annotations

import pytest
from django.test import Client

from dancu.collection.models import CollectionForm
from tests.collection.forms_support import dc01
from tests.conftest import People, Personas
from tests.pages import html

pytestmark = pytest.mark.django_db


def test_a_dc02_changing_nothing_names_what_is_missing_as_the_page_does(lan: Client, people: People) -> None:
    response = lan.post(
        f"/forms/new/dc02/{people.hung.pk}/",
        {"document": "Giấy khai sinh", "reason": "Sửa lỗi chính tả", "action": "submit"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    page = html(lan.get(response["Location"]))

    assert "Thông tin cần thay đổi: Phiếu DC02 chưa ghi thông tin nào cần thay đổi. [form.no_changes]" in page
    assert "changes:" not in page
    assert CollectionForm.objects.get().status == CollectionForm.Status.DRAFT


def test_a_dc02_changing_nothing_is_named_in_english_too(lan: Client, people: People) -> None:
    lan.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = lan.post(
        f"/forms/new/dc02/{people.hung.pk}/",
        {"document": "Birth certificate", "reason": "Typo", "action": "submit"},
    )

    page = html(lan.get(response["Location"]))

    assert "Fields to change: " in page
    assert "[form.no_changes]" in page
    assert "changes:" not in page


def test_a_form_writes_its_dates_as_every_page_does_whatever_way_they_were_stored(
    lan: Client, personas: Personas
) -> None:
    # The registration date stored as an import stores it (ISO), the birth date as an officer types it.
    form = dc01(personas.lan, birth_date="1992-03-12", registered_on="2024-06-01")

    page = html(lan.get(f"/forms/{form.pk}/"))

    assert "12/03/1992" in page
    assert "01/06/2024" in page
    assert "1992-03-12" not in page
    assert "2024-06-01" not in page


def test_a_date_that_cannot_be_read_is_shown_as_typed(lan: Client, personas: Personas) -> None:
    form = dc01(personas.lan, birth_date="31/02/1992")

    page = html(lan.get(f"/forms/{form.pk}/"))

    assert "31/02/1992" in page
    assert "[date.day_range]" in page
