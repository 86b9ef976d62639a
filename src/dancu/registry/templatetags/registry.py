"""Display names for the codes the registry stores."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import template
from django.utils.translation import get_language, gettext

from dancu.accounts.models import User
from dancu.accounts.selectors import unit_in_area
from dancu.geo.models import AdminUnit
from dancu.lib import pin as pin_codec
from dancu.lib.partial_date import PartialDate, PartialDateError
from dancu.registry.models import AbsenceDeclaration, MaritalStatus, Residence, Sex
from dancu.registry.reference import ETHNICITIES, RELIGIONS
from dancu.registry.rules import FIELD_LABELS
from dancu.registry.selectors import stay_open_absences

register = template.Library()


@register.filter
def in_area_of(unit: AdminUnit, user: User) -> bool:
    """Whether the unit (a residence's commune) lies in the user's area: a record shows the actions on a
    residence only to the police of its place, who alone may take them (a stay in another commune is
    renewed and ended there)."""
    return unit_in_area(user, unit)


@register.filter
def open_absences(stay: Residence) -> list[AbsenceDeclaration]:
    """The declarations of a stay's person not yet over, read with the page (selectors.stay_open_absences):
    the list of stays marks who is away or about to leave, which spares a visit to an empty room."""
    return stay_open_absences(stay)


@register.filter
def ethnicity_name(code: str) -> str:
    return ETHNICITIES.get(code, code)


@register.filter
def religion_name(code: str) -> str:
    return str(RELIGIONS.get(code, code))


@register.filter
def nationality_name(code: str) -> str:
    """The nationality as people say it: the registry stores the ISO code ("VN"), which a citizen
    reading their own record should not have to decode; other codes are shown as stored."""
    return gettext("Việt Nam") if code == "VN" else code


@register.filter
def place_code_name(code: str) -> str:
    return pin_codec.PROVINCE_CODES.get(code, code)


@register.filter
def lookup(mapping: dict[Any, Any], key: Any) -> Any:
    return mapping.get(key) if mapping else None


@register.filter
def field_label(name: str) -> str:
    """The label of a record's field in the page's language ("marital_status" -> "Tình trạng hôn nhân"),
    as the history shows a change; the code itself for a field the registry has no label for."""
    label_vi, label_en = FIELD_LABELS.get(name, (name, name))
    return label_en if (get_language() or "vi").startswith("en") else label_vi


# Fields whose stored value is a partial date ("2005-03") or a full one ("2024-06-01"), shown as the record
# page shows them ("03/2005", "01/06/2024").
_PARTIAL_DATE_FIELDS = frozenset({"birth_date", "date_of_death"})
# The dates of a declared absence in a snapshot are full dates too.
_DATE_FIELDS = frozenset({"missing_declared_on", "starts_on", "ends_on"})


def _choice_label(choices: Any, value: str) -> str:
    return str(dict(choices.choices).get(value, value))


_FIELD_DISPLAY = {
    "sex": lambda value: _choice_label(Sex, value),
    "marital_status": lambda value: _choice_label(MaritalStatus, value),
    "ethnicity": ethnicity_name,
    "religion": religion_name,
    "birth_registration_place": place_code_name,
}


@register.filter
def field_value(value: Any, name: str) -> Any:
    """A value of a record's field as the history keeps it (JSON: codes, storage dates) shown as the
    record page shows it: "married" -> "Đã kết hôn", "2005-03" -> "03/2005", "F" -> "Nữ". A value that
    is not what the field stores (an old snapshot, a hand-made event) is shown as it is; empty stays
    empty, for the template's own dash."""
    if value in (None, ""):
        return value
    text = str(value)
    try:
        if name in _PARTIAL_DATE_FIELDS:
            return str(PartialDate.from_storage(text))
        if name in _DATE_FIELDS:
            return date.fromisoformat(text).strftime("%d/%m/%Y")
    except (PartialDateError, ValueError):
        return value
    display = _FIELD_DISPLAY.get(name)
    return display(text) if display is not None else value
