"""Fixtures of the accounts' tests: the operator in the admin, and the language put back after a test
that switched it (the admin's and the services' messages are read in the active language)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django import forms
from django.test import Client
from django.utils import translation

from tests.conftest import Personas


@pytest.fixture
def language_restored() -> Iterator[None]:
    language = translation.get_language()
    yield
    translation.activate(language)


@pytest.fixture
def operator(personas: Personas, sign_in: Any) -> Client:
    """Minh, the only ministry administrator among the personas, made the only superuser too, signed in
    with his code (the admin asks for it)."""
    personas.minh.is_staff = personas.minh.is_superuser = True
    personas.minh.save(update_fields=["is_staff", "is_superuser"])
    return sign_in(Client(), personas.minh)


@pytest.fixture
def admin_client(client: Client, personas: Personas, sign_in: Any) -> Client:
    """Minh, the ministry's administrator, signed in to the officers' pages."""
    return sign_in(client, personas.minh)


def admin_page_data(client: Client, url: str) -> dict[str, Any]:
    """What an admin change page at `url` posts when nothing is touched: every field as the page shows
    it, so that a test changes only the values it means to."""
    form = client.get(url).context["adminform"].form
    data: dict[str, Any] = {}
    for bound in form:
        if bound.field.disabled:
            continue
        value, widget = bound.value(), bound.field.widget
        names = [bound.html_name] + (
            [f"initial-{bound.html_name}"] if bound.field.show_hidden_initial else []
        )
        for name in names:
            if isinstance(widget, forms.MultiWidget):
                parts = widget.decompress(value)
                for index, (sub, part) in enumerate(zip(widget.widgets, parts, strict=True)):
                    data[f"{name}_{index}"] = sub.format_value(part) or ""
            elif isinstance(bound.field, forms.BooleanField):
                if value:
                    data[name] = "on"
            elif isinstance(value, list | tuple):
                data[name] = [str(item) for item in value]
            else:
                data[name] = "" if value is None else str(value)
    return data


def admin_post(client: Client, url: str, language: str = "vi", **changes: Any) -> Any:
    """The admin change (or add) page at `url` posted as it shows, with `changes` made: a value of None
    leaves the field out, as a box left unticked is not posted; the page answers in `language`."""
    data = admin_page_data(client, url)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)  # a box unticked is not posted
        else:
            data[name] = value
    client.cookies["django_language"] = language
    return client.post(url, data)
