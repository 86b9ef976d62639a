"""Turning a refused write into errors on the form the officer filled in."""

from __future__ import annotations

from django import forms

from dancu.lib.errors import DomainError
from dancu.registry.rules import led_by_label


def add_domain_errors(
    form: forms.Form, exc: DomainError, *, language: str, field_map: dict[str, str] | None = None
) -> None:
    """Put each rule's message next to its field (or on top of the form, led by the field's label), with
    the rule code. `field_map` names the form's field for a service's field; a service's field mapped to
    "" is about the whole form (the person whose page it is, say) and its message is shown on top alone."""
    field_map = field_map or {}
    for error in exc.errors:
        name = field_map.get(error.field, error.field)
        message = f"{error.message(language)} [{error.code}]"
        if name in form.fields:
            form.add_error(name, message)
        else:
            form.add_error(None, led_by_label(error.field if name else "", message, language=language))
