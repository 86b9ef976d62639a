"""`dancu otp_reset USERNAME --reason TEXT`: remove an account's authenticators (a lost phone) and
revoke its API tokens.

The account's next sign-in shows the QR code of a new authenticator. The sign-in pages never let a
password alone replace one that is set up, so this command is how an operator does it, at the holder's
request and with the reason in the trail (`accounts.otp.reset`).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from dancu.accounts.models import User
from dancu.accounts.services import otp_devices_reset
from dancu.audit.services import Actor
from dancu.lib.errors import DomainError, command_error, command_error_from


class Command(BaseCommand):
    help = (
        "Đặt lại ứng dụng xác thực của một tài khoản (mất điện thoại). "
        "Remove an account's authenticators so that its next sign-in sets up a new one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the officer's user name, or the citizen's PIN")
        parser.add_argument("--reason", required=True, help="why, for the trail (e.g. the request's number)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise command_error(
                f"Không có tài khoản {options['username']!r}", f"No account {options['username']!r}"
            )
        try:
            removed, revoked = otp_devices_reset(
                actor=Actor(system="otp-reset"), user=user, reason=options["reason"]
            )
        except DomainError as exc:
            raise command_error_from(exc) from exc
        self.stdout.write(
            f"Đã xoá {removed} ứng dụng xác thực và thu hồi {revoked} mã truy cập API của {user.username}; "
            "lần đăng nhập tới sẽ thiết lập lại. / "
            f"Removed {removed} authenticator(s) and revoked {revoked} API token(s) of {user.username}; "
            "the next sign-in sets up a new one."
        )
