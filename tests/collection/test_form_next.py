"""A reviewer goes from one form to the next waiting for them, oldest first, without the queue."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dancu.audit.services import Actor
from dancu.collection import workflow
from tests.collection.forms_support import dc01, make_reviewers
from tests.conftest import Personas

pytestmark = pytest.mark.django_db


def test_the_next_form_waiting_is_a_tap_away(personas: Personas, sign_in: Any) -> None:
    reviewers = make_reviewers(personas)
    first, second = (
        workflow.form_submit(actor=Actor(personas.lan), form=dc01(personas.lan, full_name=name))
        for name in ("Đỗ Minh Khang", "Lê Thị Hoa")
    )
    client = sign_in(Client(), reviewers.hang)

    page = client.get(f"/forms/{first.pk}/").content.decode()
    assert f'<p id="next-form"><a class="button secondary" href="/forms/{second.pk}/">' in page
    assert "(1 phiếu)" in page

    checked = client.post(f"/forms/{first.pk}/check/", follow=True).content.decode()
    assert f'href="/forms/{second.pk}/"' in checked

    # The last form waiting has no next one.
    assert 'id="next-form"' not in client.get(f"/forms/{second.pk}/").content.decode()
