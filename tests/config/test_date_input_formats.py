"""A day typed in a form is read day before month, as Vietnam writes it, on a page in either language."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from dancu.audit.forms import AccessLogForm
from dancu.registry.forms import AbsenceForm


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize(
    ("typed", "day"),
    [("2025-06-05", date(2025, 6, 5)), ("05/06/2025", date(2025, 6, 5)), ("5-6-2025", date(2025, 6, 5))],
)
def test_a_typed_day_is_read_day_first(language: str, typed: str, day: date) -> None:
    with translation.override(language):
        form = AccessLogForm({"since": typed})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["since"] == day
        absence = AbsenceForm({"starts_on": typed})
        absence.is_valid()
        assert absence.cleaned_data.get("starts_on") == day


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_month_first_day_is_refused_not_read_otherwise(language: str) -> None:
    # 06/13/2025 is 13 June only month first: refused with its rule, never read as another day.
    with translation.override(language):
        form = AccessLogForm({"since": "06/13/2025"})
        assert not form.is_valid()
        assert "[date.format]" in str(form.errors["since"])
