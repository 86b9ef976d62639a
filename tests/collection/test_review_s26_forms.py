"""Review of session 26: a commune reviewer checking the forms waiting.

A warning is acknowledged by its kind (its code), as the workflow and the API take it: a DC02 that
changes both the name and the date of birth raises two warnings of one kind (change.identity). The page
offered a tick for each, and one tick acknowledged both: a reviewer who ticked "name checked against the
document" had confirmed the date too without being asked. The page now offers one tick per kind, which
says everything it confirms.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.collection.models import CollectionForm
from tests.collection.forms_support import Reviewers, dc02
from tests.conftest import People, Personas
from tests.pages import html

pytestmark = pytest.mark.django_db


def _identity_dc02(personas: Personas, people: People) -> CollectionForm:
    form = dc02(personas.lan, people.hung, {"full_name": "Nguyễn Văn Hưng", "birth_date": "1990"})
    return workflow.form_submit(actor=Actor(personas.lan), form=form)


def test_one_tick_per_kind_of_warning_saying_all_it_confirms(
    personas: Personas, people: People, staff: Reviewers, sign_in: Any
) -> None:
    form = _identity_dc02(personas, people)
    assert [w["code"] for w in form.warnings].count("change.identity") == 2

    page = html(sign_in(Client(), staff.hang).get(f"/forms/{form.pk}/"))
    check_form = page[page.index('id="check-form"') : page.index("</form>", page.index('id="check-form"'))]

    assert check_form.count('name="acknowledged" value="change.identity"') == 1
    tick = check_form[check_form.index('value="change.identity"') :]
    tick = tick[: tick.index("</label>")]
    assert "Thay đổi họ, chữ đệm và tên" in tick
    assert "Thay đổi ngày sinh" in tick


def test_the_one_tick_checks_the_form(
    personas: Personas, people: People, staff: Reviewers, sign_in: Any
) -> None:
    form = _identity_dc02(personas, people)
    hang = sign_in(Client(), staff.hang)
    codes = sorted({w["code"] for w in form.warnings})

    response = hang.post(f"/forms/{form.pk}/check/", {"acknowledged": codes})

    assert response.status_code == 302
    form.refresh_from_db()
    assert form.status == CollectionForm.Status.CHECKED
    # The list of warnings above the buttons still shows each one on its own line.
    page = html(hang.get(f"/forms/{form.pk}/"))
    assert page.count('<li data-code="change.identity">') == 2


def test_the_next_form_is_offered_at_the_head_of_the_page_not_inside_the_forms_data(
    personas: Personas, people: People, staff: Reviewers, sign_in: Any
) -> None:
    first = _identity_dc02(personas, people)
    _identity_dc02(personas, people)

    page = html(sign_in(Client(), staff.hang).get(f"/forms/{first.pk}/"))

    # It sat between the data and the document the data rests on, where a reviewer reading down the form
    # met "next" before the document and the reason.
    data = page[page.index('id="h-data"') : page.index("</section>", page.index('id="h-data"'))]
    assert 'id="next-form"' not in data
    assert page.index('id="next-form"') < page.index('id="h-data"')


def test_a_dc02_says_a_date_known_only_to_the_year_is_taken(
    personas: Personas, people: People, sign_in: Any
) -> None:
    page = html(sign_in(Client(), personas.lan).get(f"/forms/new/dc02/{people.hung.pk}/"))

    hint = "DD/MM/YYYY; nếu giấy tờ chỉ ghi năm hoặc tháng: YYYY hoặc MM/YYYY"
    for name in ("birth_date", "date_of_death"):
        field = page[page.index(f'name="{name}"') :]
        field = field[: field.index("</div>")]
        assert hint in field, name
