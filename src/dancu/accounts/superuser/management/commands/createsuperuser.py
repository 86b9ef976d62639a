"""`dancu createsuperuser`: Django's command, refusing the user names that the accounts' services refuse.

Django's own checked only that no account had exactly the same name, so "ROOT.c06" was made beside
"root.c06", and said so in two languages at once ("That Tên đăng nhập is already taken.", its English
sentence around the field's Vietnamese name). Here a name is refused for the rules and in the words of
`officer_create` (`username.format`, `username.taken`, case aside), in Vietnamese then English.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management.commands import createsuperuser
from django.core.management import CommandError
from django.db import IntegrityError
from django.db.models import Field
from django.utils.text import capfirst

from dancu.accounts.models import User
from dancu.accounts.services import USERNAME_TAKEN, username_refusal, username_taken_refusal
from dancu.lib.errors import DomainError, command_error_from


class Command(createsuperuser.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        # At a terminal, Django refuses an empty --username before any check of ours, in its mixed words.
        if options.get(User.USERNAME_FIELD) == "" and (refused := _refusal("")) is not None:
            raise refused
        try:
            super().handle(*args, **options)
        except IntegrityError as exc:
            # Django's command checks the name (`_validate_username`, below), then writes the account, its
            # last statement: an account of the same name made between the two (another run of the command
            # at the same instant) is refused by the database's constraints, `user_username_unique_case_
            # insensitive` or the column's own, which the check stands for. Said in the check's words.
            if "username" not in str(exc).lower():
                raise
            raise command_error_from(DomainError(USERNAME_TAKEN)) from exc

    def _validate_username(self, username: str, verbose_field_name: str, database: str) -> str | None:
        # dancu has one database: the services read the default one, which is `database`.
        refused = _refusal(username)
        return None if refused is None else str(refused)

    def _get_input_message(self, field: Field[Any, Any], default: str | None = None) -> str:
        if not default:
            # django-stubs does not declare this helper of Django's command.
            return super()._get_input_message(field, default)  # type: ignore[misc]
        # The user name's prompt when the system's account name is free: Django's adds English to the
        # field's Vietnamese name.
        label = capfirst(field.verbose_name)
        return f"{label} (để trống để dùng '{default}' / leave blank to use '{default}'): "


def _refusal(username: str) -> CommandError | None:
    refusal = username_refusal(username) or username_taken_refusal(username)
    return None if refusal is None else command_error_from(DomainError(refusal))
