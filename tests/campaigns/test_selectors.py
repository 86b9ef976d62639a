"""Reads of the campaigns for an account that reads no records: the auditor sees no campaign and no unit.

The pages and the API let no such account in (the officers' gate); the selectors refuse it on their own,
as every selector that knows its actor does."""

from __future__ import annotations

import pytest

from dancu.campaigns import selectors
from dancu.lib.errors import NotFoundError
from tests.campaigns.conftest import Country
from tests.conftest import Personas

pytestmark = pytest.mark.django_db


def test_an_auditor_sees_no_campaign_no_dashboard_and_no_unit(country: Country, personas: Personas) -> None:
    an = personas.an

    assert list(selectors.campaign_list(actor=an)) == []
    with pytest.raises(NotFoundError):
        selectors.campaign_get(actor=an, pk=country.campaign.pk)
    assert selectors.home_scope(an) is None
    for scope in ("vn", "01", country.hoan_kiem.code):
        with pytest.raises(NotFoundError):
            selectors.unit_get(actor=an, scope=scope)
    # The ministry's administrator, for comparison, opens the same campaign on the whole country.
    assert list(selectors.campaign_list(actor=personas.minh)) == [country.campaign]
    assert selectors.home_scope(personas.minh) == "vn"
