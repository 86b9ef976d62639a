"""Review of stop 23, the ministry's administrator at work: officer accounts' names.

Minh's operator makes the accounts of a new commune police unit in the admin (and with
`accounts.services.officer_create`, as the demo and the operators' guide do), and the officers sign in on
their phones.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from django.test import Client

from dancu.accounts.models import User
from dancu.accounts.services import officer_create, police_unit_for_area
from dancu.audit.models import AuditEvent
from dancu.lib.errors import DomainError
from tests.conftest import HOAN_KIEM, PASSWORD, SYSTEM, Personas, commune

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Cong-an-phuong-moi-2026"
ASCII_ONLY_VI = (
    "Tên đăng nhập không hợp lệ: chỉ dùng chữ cái không dấu a-z, A-Z, chữ số và các ký tự @/./+/-/_ "
    "(không có dấu cách, không có chữ có dấu)."
)


@pytest.fixture(autouse=True)
def _language_restored(language_restored: None) -> None:
    """Each test here may switch the language."""


def _add_account(client: Client, username: str) -> Any:
    return client.post(
        "/admin/accounts/user/add/",
        {
            "username": username,
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "_continue": "1",
        },
        HTTP_ACCEPT_LANGUAGE="vi",
    )


# -- The sign-in page, on a phone ---------------------------------------------------------------------


def test_the_phone_does_not_capitalize_the_user_name_nor_offer_to_correct_it(personas: Personas) -> None:
    # A phone's keyboard capitalized the first letter of the name ("Lan"), which then named no account.
    page = Client().get("/login/").content.decode()

    username = next(tag for tag in page.split("<input") if 'name="username"' in tag)
    password = next(tag for tag in page.split("<input") if 'name="password"' in tag)
    assert 'autocapitalize="none"' in username
    assert 'autocomplete="username"' in username
    assert 'autocomplete="current-password"' in password


def test_a_name_typed_with_combining_marks_reaches_the_account(personas: Personas) -> None:
    # An account named before names were plain letters; the keyboard (Unikey's "Unicode tổ hợp") sends
    # "ì" as "i" and a combining grave accent, which the account's name, kept in NFKC, is not.
    User.objects.filter(pk=personas.binh.pk).update(username="bình")
    typed = unicodedata.normalize("NFD", "bình")
    assert typed != "bình"

    response = Client().post("/login/", {"username": typed, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/login/otp/"


# -- The admin's new account ----------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["cánbộ.mới", "can bo moi", "quantri.bình"])
def test_the_admin_refuses_a_name_with_tone_marks_or_spaces_next_to_the_field(
    operator: Client, username: str
) -> None:
    response = _add_account(operator, username)

    assert response.status_code == 200  # the page again, nothing saved
    form = response.context["adminform"].form
    assert form.errors["username"] == [ASCII_ONLY_VI]
    assert not User.objects.filter(username=username).exists()
    assert not AuditEvent.objects.filter(event_type="admin.object.added").exists()


def test_the_admin_takes_a_plain_name(operator: Client) -> None:
    response = _add_account(operator, "canbo.phuongmoi")

    assert response.status_code == 302
    assert User.objects.filter(username="canbo.phuongmoi").exists()


def test_the_admin_names_the_rule_in_english_on_an_english_page(operator: Client) -> None:
    operator.cookies["django_language"] = "en"
    response = _add_account(operator, "cánbộ.mới")

    assert response.context["adminform"].form.errors["username"] == [
        "Enter a valid username. This value may contain only unaccented lowercase a-z and uppercase A-Z "
        "letters, numbers, and @/./+/-/_ characters."
    ]


# -- The service that the demo and the operators' guide use ---------------------------------------------


@pytest.mark.parametrize("username", ["can bo moi", "cánbộ.mới", "", "a" * 151, "lan\u200b"])
def test_the_service_refuses_a_name_the_account_could_not_have(personas: Personas, username: str) -> None:
    before = (User.objects.count(), AuditEvent.objects.count())

    with pytest.raises(DomainError) as refused:
        officer_create(
            actor=SYSTEM,
            username=username,
            password=NEW_PASSWORD,
            role=User.Role.COLLECTOR,
            police_unit=police_unit_for_area(area=commune(HOAN_KIEM)),
        )

    [error] = refused.value.errors
    assert (error.field, error.code) == ("username", "username.format")
    assert error.message("vi") == (
        "Tên đăng nhập 1–150 ký tự, chỉ gồm chữ cái không dấu a-z, chữ số và các ký tự @ . + - _ "
        "(không có dấu cách, không có chữ có dấu)"
    )
    assert error.message("en") == (
        "A user name has 1–150 characters: unaccented letters a-z, digits and @ . + - _ only "
        "(no spaces, no accented letters)"
    )
    assert (User.objects.count(), AuditEvent.objects.count()) == before


def test_the_service_refuses_a_name_taken_in_other_letters_case(personas: Personas) -> None:
    # The admin's page refuses "LAN" beside "lan"; the service made a second account.
    with pytest.raises(DomainError) as refused:
        officer_create(
            actor=SYSTEM,
            username="LAN",
            password=NEW_PASSWORD,
            role=User.Role.COLLECTOR,
            police_unit=police_unit_for_area(area=commune(HOAN_KIEM)),
        )

    assert [(e.field, e.code) for e in refused.value.errors] == [("username", "username.taken")]
    assert list(User.objects.filter(username__iexact="lan").values_list("username", flat=True)) == ["lan"]
