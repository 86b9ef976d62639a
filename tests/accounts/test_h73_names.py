"""An account's user name is one name whatever its letters' case, on every path that makes or renames an
account: `dancu createsuperuser` made "ROOT.c06" beside "root.c06" and refused an exact duplicate in two
languages at once ("That Tên đăng nhập is already taken."); the database now holds the rule
(`user_username_unique_case_insensitive`). And the admin's account page labels the role and the police
unit in the page's language."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.test import Client
from django.utils import translation
from django.utils.text import capfirst

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent
from tests.accounts.conftest import admin_page_data
from tests.conftest import PASSWORD, Personas

TAKEN = "Tên đăng nhập đã tồn tại / Username already taken"
FORMAT = (
    "Tên đăng nhập 1–150 ký tự, chỉ gồm chữ cái không dấu a-z, chữ số và các ký tự @ . + - _ "
    "(không có dấu cách, không có chữ có dấu) / A user name has 1–150 characters: unaccented letters a-z, "
    "digits and @ . + - _ only (no spaces, no accented letters)"
)
TAKEN_ON_PAGE = {
    "vi": "Đã có tài khoản mang tên đăng nhập này (không phân biệt chữ hoa, chữ thường) [username.taken]",
    "en": "An account with this user name already exists (letter case aside) [username.taken]",
}


def _createsuperuser(username: str) -> str:
    out = io.StringIO()
    call_command(
        "createsuperuser", "--noinput", username=username, email="root@c06.gov.vn", stdout=out, stderr=out
    )
    return out.getvalue()


# -- 1. `dancu createsuperuser` ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["ROOT.c06", "Root.C06", "root.c06"])
def test_createsuperuser_refuses_a_name_taken_in_any_case(username: str) -> None:
    User.objects.create_superuser("root.c06", password=PASSWORD)

    with pytest.raises(CommandError) as refused:
        _createsuperuser(username)

    assert str(refused.value) == TAKEN
    assert list(User.objects.values_list("username", flat=True)) == ["root.c06"]


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["", "rôot.c06", "root c06"])
def test_createsuperuser_refuses_a_name_an_account_cannot_have(username: str) -> None:
    with pytest.raises(CommandError) as refused:
        _createsuperuser(username)

    assert str(refused.value) == FORMAT
    assert not User.objects.exists()


@pytest.mark.django_db
def test_createsuperuser_makes_a_free_name() -> None:
    User.objects.create_superuser("root.c06", password=PASSWORD)

    assert "Superuser created successfully." in _createsuperuser("root.c06.2")

    assert User.objects.get(username="root.c06.2").is_superuser


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.django_db
def test_createsuperuser_asks_again_in_both_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    User.objects.create_superuser("root.c06", password=PASSWORD)
    prompts: list[str] = []
    answers = iter(["ROOT.C06", "quantri.moi", "quantri@c06.gov.vn"])

    def typed(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("builtins.input", typed)
    monkeypatch.setattr("getpass.getpass", lambda prompt="Password: ": "Quan-tri-he-thong-2026!")
    # The operator's system account name, offered as the default user name.
    monkeypatch.setattr(
        "django.contrib.auth.management.commands.createsuperuser.get_default_username",
        lambda database: "quantri",
    )
    out, err = io.StringIO(), io.StringIO()

    call_command("createsuperuser", stdin=_Terminal(), stdout=out, stderr=err)

    assert err.getvalue() == f"{TAKEN}\n"
    assert (
        prompts[0]
        == prompts[1]
        == ("Tên đăng nhập (để trống để dùng 'quantri' / leave blank to use 'quantri'): ")
    )
    assert User.objects.get(username="quantri.moi").is_superuser
    assert not User.objects.filter(username="ROOT.C06").exists()


# -- 1. The database's rule, on the paths that go around the services --------------------------------------


@pytest.mark.django_db
def test_the_database_refuses_a_name_taken_in_other_letters_case() -> None:
    User.objects.create_superuser("root.c06", password=PASSWORD)

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("ROOT.c06", password=PASSWORD)

    assert User.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_admin_refuses_to_rename_an_account_to_anothers_name_in_other_case(
    operator: Client, personas: Personas, language: str
) -> None:
    url = f"/admin/accounts/user/{personas.lan.pk}/change/"
    data = admin_page_data(operator, url)
    data["username"] = "BINH"
    operator.cookies["django_language"] = language
    events = AuditEvent.objects.count()

    response = operator.post(url, data)

    assert response.status_code == 200  # the page again, nothing saved
    assert response.context["adminform"].form.errors == {"__all__": [TAKEN_ON_PAGE[language]]}
    personas.lan.refresh_from_db()
    assert personas.lan.username == "lan"
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_the_admin_still_renames_an_account_to_its_own_name_in_other_case(
    operator: Client, personas: Personas
) -> None:
    url = f"/admin/accounts/user/{personas.lan.pk}/change/"
    data = admin_page_data(operator, url)
    data["username"] = "Lan"

    response = operator.post(url, data)

    assert response.status_code == 302
    personas.lan.refresh_from_db()
    assert personas.lan.username == "Lan"


# -- 1. The migration that adds the rule, on a database that broke it ---------------------------------------

_MIGRATION = ("accounts", "0005_user_username_unique_case_insensitive")


def _run(operation: Any, direction: str, before: Any, after: Any) -> None:
    with connection.schema_editor(atomic=False) as editor:
        if direction == "backwards":
            operation.database_backwards("accounts", editor, after, before)
        else:
            operation.database_forwards("accounts", editor, before, after)


def test_the_migration_names_the_accounts_whose_names_differ_only_in_case(transactional_db: None) -> None:
    loader = MigrationLoader(connection)
    migration = loader.get_migration(*_MIGRATION)
    check, constraint = migration.operations
    [parent] = migration.dependencies
    before, after = loader.project_state(parent), loader.project_state(_MIGRATION)
    _run(constraint, "backwards", before, after)
    try:
        for name in ("root.c06", "ROOT.c06", "canbo.a", "CanBo.A", "canbo.b"):
            User.objects.create_user(name)

        with pytest.raises(RuntimeError) as refused:
            _run(check, "forwards", before, before)

        names = "CanBo.A, canbo.a, ROOT.c06, root.c06"
        assert str(refused.value) == (
            "Các tài khoản sau có tên đăng nhập chỉ khác nhau ở chữ hoa, chữ thường; hãy đổi tên một tài "
            f"khoản trong mỗi nhóm rồi chạy lại: {names} / These accounts' user names differ only in case; "
            f"rename one account of each group, then run the migration again: {names}"
        )
        User.objects.filter(username__in=["ROOT.c06", "CanBo.A"]).delete()
        _run(check, "forwards", before, before)  # nothing alike left: the migration goes on
    finally:
        User.objects.filter(username__in=["ROOT.c06", "CanBo.A"]).delete()
        _run(constraint, "forwards", before, after)

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("CANBO.B")


# -- 2. The labels of the role and the police unit ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "role", "unit"), [("vi", "Vai trò", "Đơn vị công an"), ("en", "Role", "Police unit")]
)
def test_the_admin_labels_the_role_and_the_unit_in_the_pages_language(
    operator: Client, personas: Personas, language: str, role: str, unit: str
) -> None:
    operator.cookies["django_language"] = language

    page = operator.get(f"/admin/accounts/user/{personas.lan.pk}/change/").content.decode()
    listing = operator.get("/admin/accounts/user/").content.decode()

    assert f'<label for="id_role">{role}:</label>' in page
    assert f'<label for="id_police_unit">{unit}:</label>' in page
    assert f">{role}</a>" in listing
    assert f">{unit}</a>" in listing
    # Lower case in the model, as Django's own names are; the pages capitalise them.
    with translation.override(language):
        assert capfirst(User._meta.get_field("role").verbose_name) == role
        assert capfirst(User._meta.get_field("police_unit").verbose_name) == unit
