"""`dancu otp_code USERNAME`: the current second-factor code of a *demo* account.

Demo accounts are created with a known TOTP secret so that someone trying the platform needs no
authenticator app. Only devices named "demo" answer; a real officer's device never does.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

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
            raise CommandError(f"{options['username']!r} is not a demo account")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
