"""The reviewer who judges a form's "possible duplicate" warning sees which records it means: those of
their area as links, logged as read for the duplicate check, and only the number of the others."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.registry.selectors import DUPLICATE_CHECK_PURPOSE
from tests.collection.forms_support import dc01, make_reviewers
from tests.conftest import HONG_HA, People, Personas, make_citizen

pytestmark = pytest.mark.django_db


def test_the_reviewer_sees_the_records_the_warning_means(
    personas: Personas, people: People, sign_in: Any
) -> None:
    reviewers = make_reviewers(personas)
    twin = make_citizen(full_name="Nguyễn Văn Hùng", commune_code=HONG_HA, address="Số 3 phố Hàng Gà")
    form = dc01(personas.lan, full_name="Nguyễn Văn Hùng", birth_date="17/05/1990")
    form = workflow.form_submit(actor=Actor(personas.lan), form=form)
    assert [w["code"] for w in form.warnings] == ["citizen.possible_duplicate"]
    client = sign_in(Client(), reviewers.hang)

    page = client.get(f"/forms/{form.pk}/")

    assert page.status_code == 200
    shown = page.context["duplicates"]
    assert shown.shown == [people.hung]
    assert shown.outside == 1
    html = page.content.decode()
    assert f'href="/citizens/{people.hung.pk}/"' in html
    assert twin.pin not in html
    assert 'id="duplicates-outside"' in html
    reads = AccessLog.objects.filter(actor=reviewers.hang, purpose=DUPLICATE_CHECK_PURPOSE)
    assert list(reads.values_list("citizen_id", "action")) == [(people.hung.pk, AccessLog.Action.SEARCH)]


def test_a_form_without_such_a_warning_reads_no_record(personas: Personas, sign_in: Any) -> None:
    reviewers = make_reviewers(personas)
    form = workflow.form_submit(actor=Actor(personas.lan), form=dc01(personas.lan))
    client = sign_in(Client(), reviewers.hang)

    page = client.get(f"/forms/{form.pk}/")

    assert page.context["duplicates"] is None
    assert not AccessLog.objects.filter(actor=reviewers.hang, purpose=DUPLICATE_CHECK_PURPOSE).exists()
