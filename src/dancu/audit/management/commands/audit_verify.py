"""`dancu audit_verify`: recompute every seal of the access log; exit code 1 naming what changed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dancu.audit.models import AccessLogSeal
from dancu.audit.seals import access_log_verify
from dancu.lib.errors import command_error


class Command(BaseCommand):
    help = (
        "Kiểm tra nhật ký truy cập với các dấu niêm phong. "
        "Verify the access log against its seals; exit code 1 names each seal whose rows or link changed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = access_log_verify()
        if problems:
            raise command_error(
                "; ".join(problem.message_vi for problem in problems),
                "; ".join(problem.message_en for problem in problems),
            )
        newest = AccessLogSeal.objects.order_by("-last_id").first()
        if newest is None:
            self.stdout.write("Chưa có dấu niêm phong / no seal yet")
            return
        self.stdout.write(
            f"Nguyên vẹn đến dòng / intact up to row #{newest.last_id} "
            f"({AccessLogSeal.objects.count()} dấu / seals): {newest.digest}"
        )
