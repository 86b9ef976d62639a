"""The portal's sign-out as a citizen meets it (review session 26): the address of the sign-out, followed
as a link or typed, answers with a page and its "Đăng xuất" button rather than a bare 405, and only the
button (a POST, with its CSRF token) signs the citizen out."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.eid.conftest import Holder, citizen_sign_in

pytestmark = pytest.mark.django_db


def strict(holder: Holder) -> Client:
    """The citizen's browser, signed in, as a browser checks CSRF: the form's token, or a 403."""
    browser = Client(enforce_csrf_checks=True)
    browser.cookies = citizen_sign_in(Client(), holder.user).cookies
    return browser


def signed_in(client: Client) -> bool:
    return client.get("/me/").status_code == 200


def test_the_sign_out_address_opened_by_a_link_shows_the_button(hung_account: Holder) -> None:
    client = strict(hung_account)
    response = client.get("/me/logout/")

    assert response.status_code == 200
    page = response.content.decode()
    # The page's own form, not the header's small link-like one.
    form = re.search(
        r'<form method="post" action="/me/logout/"[^>]*id="logout-form">(.*?)</form>', page, re.S
    )
    assert form is not None
    assert 'name="csrfmiddlewaretoken"' in form.group(1)
    assert re.search(r'<button type="submit">\s*Đăng xuất\s*</button>', form.group(1))
    # Opening the address signs no one out: a link on another site cannot.
    assert signed_in(client)


def test_the_button_signs_the_citizen_out_and_only_with_its_token(hung_account: Holder) -> None:
    client = strict(hung_account)
    page = client.get("/me/logout/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None

    assert client.post("/me/logout/").status_code == 403  # a form of another site has no token
    assert signed_in(client)
    response = client.post("/me/logout/", {"csrfmiddlewaretoken": token.group(1)})
    assert (response.status_code, response["Location"]) == (302, "/me/login/")
    assert not signed_in(client)


def test_the_sign_out_address_sends_someone_signed_out_to_sign_in() -> None:
    response = Client().get("/me/logout/")
    assert (response.status_code, response["Location"]) == (302, "/me/login/")


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_still_refused(hung_account: Holder, method: str) -> None:
    client = citizen_sign_in(Client(), hung_account.user)
    assert getattr(client, method)("/me/logout/").status_code == 405
    assert signed_in(client)


def test_the_lock_confirmation_box_sits_in_its_label(hung_account: Holder) -> None:
    """The site's check box inside its label (web/dancu.css label.check): the box beside its words,
    and the whole line a thumb's target (tests/web/test_browser_portal.py measures it on a phone)."""
    client = citizen_sign_in(Client(), hung_account.user)
    page = client.get("/me/").content.decode()
    assert re.search(
        r'<label class="check"[^>]*><input type="checkbox" name="confirm"> <span>Tôi muốn khoá', page
    )
