"""A citizen's session never reaches an officer's page or the officer API.

The test walks Django's URL resolver, so every named route added later is covered without anyone
remembering to list it here: a signed-in citizen (second factor verified) asks every officer route with
GET and POST and gets a refusal (403, 404 or 405 for pages; 401 or 405 from the API), never a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from dancu.accounts.services import api_token_create
from dancu.lib.errors import DomainError
from tests.eid.conftest import Holder, citizen_sign_in

pytestmark = pytest.mark.django_db

# Routes that are not officers' pages: the sign-in steps anyone may open, the language switch, the API's
# own documentation and the health endpoints (public, hold no data; tests/config/test_health.py) and the
# citizen's portal itself.
PUBLIC = {
    "accounts:login",
    "accounts:otp",
    "accounts:otp_setup",
    "accounts:logout",
    "set_language",
    "api:openapi-json",
    "api:openapi-view",
    "healthz",
    "readyz",
    "status",
}
# The citizen's portal lives under this prefix; everything else is for officers.
PORTAL = "/me/"
# The Django admin asks for is_staff, which a citizen's account never has (checked below).
SEPARATE_NAMESPACES = {"admin"}
# Sample values for the routes' parameters: the first combination the route accepts is used.
_SAMPLES = ("1", "front", "x.csv", "xlsx", "2026-01-01", "00000000-0000-0000-0000-000000000000")


def _url(name: str, pattern: URLPattern) -> str:
    params = list(pattern.pattern.regex.groupindex)
    for values in product(_SAMPLES, repeat=len(params)):
        try:
            return reverse(name, kwargs=dict(zip(params, values, strict=True)))
        except NoReverseMatch:
            continue
    raise AssertionError(f"no sample URL for {name}: add a sample value its parameters accept")


def _routes(resolver: URLResolver, namespace: str = "") -> Iterator[tuple[str, Any]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = (
                f"{namespace}:{entry.namespace}"
                if entry.namespace and namespace
                else entry.namespace or namespace
            )
            yield from _routes(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


def officer_routes() -> list[tuple[str, str]]:
    """(name, a URL of it) for every named route that is an officer's page or API operation."""
    found = {}
    for name, pattern in _routes(get_resolver()):
        top = name.split(":")[0]
        if name in PUBLIC or top in SEPARATE_NAMESPACES:
            continue
        url = _url(name, pattern)
        if not url.startswith(PORTAL):
            found[name] = url
    return sorted(found.items())


def test_the_walk_finds_the_officer_routes() -> None:
    names = {name for name, _url in officer_routes()}
    # A sample from every app, so that a broken walk cannot pass by finding nothing.
    assert {
        "web:home",
        "registry:search",
        "cards:card_image",
        "cards:history",
        "accounts:tokens",
        "eid:register",
    } <= names
    assert not any(name in names for name in ("eid:home", "eid:card_image", "eid:login"))
    assert any(name.startswith("api:") for name in names)
    assert len(names) > 50


@pytest.fixture
def citizen(hung_account: Holder) -> Client:
    return citizen_sign_in(Client(), hung_account.user)


def test_a_citizen_gets_no_officer_page_and_no_api_answer(citizen: Client) -> None:
    reached = []
    for name, url in officer_routes():
        for method in ("get", "post"):
            response = getattr(citizen, method)(url)
            allowed = {401, 404, 405} if name.startswith("api:") else {403, 404, 405}
            if response.status_code not in allowed:
                reached.append((name, method, url, response.status_code))
    assert reached == []


def test_the_admin_sends_a_citizen_to_its_own_login(citizen: Client) -> None:
    response = citizen.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_citizen_gets_no_api_token(hung_account: Holder) -> None:
    with pytest.raises(DomainError) as exc:
        api_token_create(user=hung_account.user, name="thử")

    assert exc.value.errors[0].code == "token.officers_only"
