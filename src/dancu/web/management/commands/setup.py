"""`dancu setup`: prepare the database named by DANCU_DATABASE_URL; safe to run again at any time."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from dancu.accounts.models import PoliceUnit
from dancu.accounts.services import police_units_sync
from dancu.lib.termination import EXIT_CTRL_C


class Command(BaseCommand):
    help = (
        "Chuẩn bị cơ sở dữ liệu: tạo bảng và nạp đơn vị hành chính. "
        "Prepare the database: apply migrations and load the administrative units (idempotent)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        database = settings.DATABASES["default"]
        self.stdout.write(f"Database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}")
        try:
            call_command("migrate", interactive=False, verbosity=0, stdout=self.stdout)
            self.stdout.write("Migrations applied.")
            call_command("load_units", stdout=self.stdout, stderr=self.stderr)
            created = police_units_sync()
        except KeyboardInterrupt:
            # Each migration, the load of the units and the police units' sync commit whole or not at
            # all, so a stop leaves a database that the same command finishes; until then /readyz/ fails
            # and every other command says to run it. The operator needs that, not the stack of the
            # migration the stop landed in.
            self.stderr.write(
                "Đã dừng (Ctrl-C): cơ sở dữ liệu chưa sẵn sàng; chạy lại dancu setup để làm tiếp, phần đã "
                "xong được giữ / Stopped (Ctrl-C): the database is not ready; run dancu setup again to "
                "finish, what was done is kept"
            )
            sys.exit(EXIT_CTRL_C)
        self.stdout.write(f"Police units: {created} created, {PoliceUnit.objects.count()} in all.")
        self.stdout.write(self.style.SUCCESS("Database ready."))
