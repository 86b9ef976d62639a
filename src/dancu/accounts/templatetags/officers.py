"""Filters of the officers' pages."""

from __future__ import annotations

from django import template

from dancu.accounts.models import User

register = template.Library()


@register.filter
def role_label(role: str) -> str:
    """A role's name in the page's language, from the code the trail keeps ("collector"); an unknown code
    (a role since removed) is shown as kept."""
    labels = dict(User.Role.choices)
    return str(labels.get(role, role))
