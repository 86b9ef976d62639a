"""`dancu otp_code USERNAME`: the current second-factor code of a *demo* account.

Demo accounts are created with a known TOTP secret so that someone trying the platform needs no
authenticator app. Only devices named "demo" answer; a real officer's device never does.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.lib.errors import command_error

DEMO_DEVICE_NAME = "demo"


class Command(BaseCommand):
    help = "Mã xác thực hiện tại của tài khoản demo. Current TOTP code of a demo account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        device = TOTPDevice.objects.filter(
            user__username=options["username"], name=DEMO_DEVICE_NAME, confirmed=True
        ).first()
        if device is None:
            # A real officer's code is on their phone only; the operator who tries this on a production
            # account is told so, in both languages like every refusal, rather than left to guess.
            username = options["username"]
            raise command_error(
                f"{username!r} không phải tài khoản demo: lệnh này chỉ in mã của tài khoản do dancu demo "
                "tạo; cán bộ đọc mã trên ứng dụng xác thực của mình (mất điện thoại: dancu otp_reset)",
                f"{username!r} is not a demo account: this command prints the codes of the accounts dancu "
                "demo made only; an officer reads the code in their authenticator app (a lost phone: "
                "dancu otp_reset)",
            )
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
