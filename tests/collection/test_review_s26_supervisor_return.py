"""A province supervisor (phúc tra) sends a checked form back to its author with a reason, and the reason
is refused: the refusal names the field as the page does, and what the supervisor typed is still there to
correct, on a phone as at a desk."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.collection.models import CollectionForm
from dancu.lib.errors import DomainError
from tests.collection.forms_support import Reviewers, advance, dc01
from tests.conftest import Personas

# What an officer pastes from a spreadsheet cell: a formula and markup the reason may not hold.
HOSTILE = "<script>alert(1)</script> =cmd|'/c calc'!A1 Sai ngày sinh, đối chiếu giấy khai sinh"


@pytest.fixture
def checked(personas: Personas, staff: Reviewers) -> CollectionForm:
    return advance(dc01(personas.lan), "checked", reviewer=staff.hang, supervisor=personas.cuong)


@pytest.mark.django_db
def test_a_refused_reason_names_the_field_as_the_page_shows_it_not_by_its_code(
    personas: Personas, checked: CollectionForm
) -> None:
    with pytest.raises(DomainError) as refused:
        workflow.form_return(actor=Actor(personas.cuong), form=checked, reason=HOSTILE)
    (problem,) = refused.value.errors
    assert problem.code == "text.characters"
    assert "«Lý do»" in problem.message_vi
    assert "'Reason'" in problem.message_en
    assert "reason" not in problem.message_vi
    checked.refresh_from_db()
    assert checked.status == CollectionForm.Status.CHECKED


@pytest.mark.django_db
def test_a_too_long_address_detail_on_a_form_is_named_by_its_label(personas: Personas) -> None:
    form = dc01(personas.lan, address_detail="Số 8 phố Hàng Bè " * 30)
    (problem,) = [e for e in form.errors if e["field"] == "address_detail"]
    assert problem["code"] == "text.too_long"
    assert "«Địa chỉ chi tiết»" in problem["message_vi"]


@pytest.mark.django_db
def test_a_refused_return_keeps_the_reason_the_supervisor_typed_and_says_why(
    personas: Personas, checked: CollectionForm, sign_in: Any
) -> None:
    client = sign_in(Client(), personas.cuong)
    page = client.get(reverse("collection:form", args=[checked.pk]))
    seen = page.context["seen"]
    response = client.post(
        reverse("collection:form_action", args=[checked.pk, "return"]), {"reason": HOSTILE, "seen": seen}
    )
    # The page answers at once with the refusal beside what was typed, not a redirect that empties the box.
    assert response.status_code == 422
    html = response.content.decode()
    assert "Trường «Lý do»" in html
    assert "«reason»" not in html
    assert response.context["refused"]["step"] == "return"
    # Why, under the box (where a phone shows it), not only above the page.
    assert re.search(
        r'id="err-return-reason"><ul class="errorlist" role="alert" data-field="reason"><li>Trường «Lý do»',
        html,
    )
    # The typed text is in the box, escaped: the markup is shown, never run.
    assert (
        'id="return-reason" name="reason" maxlength="500" value="&lt;script&gt;alert(1)&lt;/script&gt;'
        in html
    )
    assert "<script>alert(1)</script>" not in html
    checked.refresh_from_db()
    assert checked.status == CollectionForm.Status.CHECKED

    # Corrected, the same form goes back to its author with the reason.
    fixed = client.post(
        reverse("collection:form_action", args=[checked.pk, "return"]),
        {"reason": "Sai ngày sinh, đối chiếu giấy khai sinh", "seen": seen},
    )
    assert fixed.status_code == 302
    checked.refresh_from_db()
    assert (checked.status, checked.return_reason) == (
        CollectionForm.Status.RETURNED,
        "Sai ngày sinh, đối chiếu giấy khai sinh",
    )


@pytest.mark.django_db
def test_a_refused_recheck_still_redirects_to_the_form(
    personas: Personas, checked: CollectionForm, sign_in: Any
) -> None:
    """Only a refused reason keeps the page: a re-check refused (a stale page) goes back to the form as
    before, where the message says why."""
    client = sign_in(Client(), personas.cuong)
    response = client.post(
        reverse("collection:form_action", args=[checked.pk, "recheck"]), {"seen": "2000-01-01T00:00:00+00:00"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("collection:form", args=[checked.pk])
