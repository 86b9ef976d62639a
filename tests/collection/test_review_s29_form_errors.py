"""A reviewer is not offered a confirmation the form's own errors make sure to refuse.

An imported row filed with an error (its province of birth unread, its number already on a registry
record) waits in the commune reviewer's queue like any other. Its page showed "Confirm the check" under
the heading "The form still has errors and cannot be submitted" (it was submitted, by the import): the
reviewer at the counter ticked the warnings, tapped, and got a refusal. The page now offers what settles
such a form, the correction or the rejection, and says so; once corrected, the check is offered again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dancu.accounts.services import api_token_create
from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.collection.models import CollectionForm
from tests.collection.forms_support import Reviewers
from tests.collection.test_import_review import stage_and_promote

pytestmark = pytest.mark.django_db


def _api_actions(user: Any, form: CollectionForm) -> list[str]:
    _token, secret = api_token_create(user=user, name="máy tính bảng")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    response = client.get(f"/api/v1/forms/{form.pk}")
    assert response.status_code == 200, response.content[:500]
    return list(response.json()["allowed_actions"])


def test_a_form_with_errors_offers_the_correction_and_the_rejection_not_the_check(
    tmp_path: Path, staff: Reviewers, sign_in: Any
) -> None:
    stage_and_promote(tmp_path)
    form = CollectionForm.objects.get()
    # No province of birth could be read from the row: no place of birth registration, an error.
    assert [e["code"] for e in form.errors] == ["field.required"]
    client = sign_in(Client(), staff.hang)
    client.cookies["django_language"] = "en"

    page = client.get(reverse("collection:form", args=[form.pk])).content.decode()

    assert 'id="check-form"' not in page
    assert 'id="reject-form"' in page
    assert reverse("collection:form_edit", args=[form.pk]) in page
    assert "cannot be submitted" not in page
    assert "The form has errors and cannot be confirmed" in page
    assert "check" not in _api_actions(staff.hang, form)
    assert {"edit", "reject"} <= set(_api_actions(staff.hang, form))


def test_once_corrected_the_check_is_offered_again(tmp_path: Path, staff: Reviewers, sign_in: Any) -> None:
    stage_and_promote(tmp_path)
    form = CollectionForm.objects.get()
    corrected = {**form.data, "birth_place": "Hải Phòng", "birth_registration_place": "031"}
    form = workflow.form_update_draft(actor=Actor(staff.hang), form=form, data=corrected)
    assert form.errors == []

    page = sign_in(Client(), staff.hang).get(reverse("collection:form", args=[form.pk])).content.decode()

    assert 'id="check-form"' in page
    assert 'id="form-errors"' not in page
    assert "check" in _api_actions(staff.hang, form)
