"""A citizen a court declares missing after their e-ID account was opened: the account closes as on a death,
since whoever signs in under the name meanwhile is not known to be them (the desk already refuses to
register a citizen declared missing); the record's cancellation of the declaration opens it again."""

from __future__ import annotations

import pytest
from django.test import Client

from dancu.eid.selectors import sign_in_refusal
from dancu.registry import services as registry
from dancu.registry.models import Citizen
from tests.conftest import SYSTEM
from tests.eid.conftest import CITIZEN_PASSWORD, Holder

pytestmark = pytest.mark.django_db


def _declare_missing(citizen: Citizen, day: str | None) -> None:
    registry.citizen_update(
        actor=SYSTEM,
        citizen=citizen,
        changes={"missing_declared_on": day},
        reason="Quyết định của Toà án",
        source_document="Quyết định 12/2026/QĐ-TA",
    )


def test_an_account_closes_when_the_citizen_is_declared_missing_and_opens_when_it_is_cancelled(
    hung_account: Holder,
) -> None:
    hung = hung_account.card.citizen
    _declare_missing(hung, "2026-01-02")
    hung_account.account.refresh_from_db()

    refused = sign_in_refusal(hung_account.account)
    assert refused is not None
    assert refused.code == "eid.locked_missing"
    assert "quyết định huỷ tuyên bố mất tích" in refused.message_vi
    response = Client().post("/me/login/", {"pin": hung.pin, "password": CITIZEN_PASSWORD})
    assert "công dân đã bị tuyên bố mất tích" in response.content.decode()

    _declare_missing(Citizen.objects.get(pk=hung.pk), None)
    hung_account.account.refresh_from_db()
    assert sign_in_refusal(hung_account.account) is None
