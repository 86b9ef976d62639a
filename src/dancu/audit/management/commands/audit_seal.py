"""`dancu audit_seal`: seal the access-log rows old enough now (the hourly task does the same)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dancu.audit.models import AccessLogSeal
from dancu.audit.seals import access_log_seal_all


class Command(BaseCommand):
    help = (
        "Niêm phong các dòng nhật ký truy cập đủ cũ và in mã băm của dấu mới nhất. "
        "Seal the access-log rows old enough and print the newest seal's digest, to keep outside the "
        "database."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        seals = access_log_seal_all()
        newest = AccessLogSeal.objects.order_by("-last_id").first()
        if newest is None:
            self.stdout.write("Chưa có gì để niêm phong / nothing to seal yet")
            return
        rows = sum(seal.rows for seal in seals)
        self.stdout.write(
            f"{len(seals)} dấu mới, {rows} dòng / {len(seals)} new seals, {rows} rows; "
            f"đến dòng / up to row #{newest.last_id}: {newest.digest}"
        )
