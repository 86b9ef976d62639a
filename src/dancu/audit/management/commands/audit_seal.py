"""`dancu audit_seal`: seal the access-log rows old enough now (the hourly task does the same)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from dancu.audit.models import AccessLogSeal
from dancu.audit.seals import access_log_seal_all, access_log_waiting


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
        else:
            rows = sum(seal.rows for seal in seals)
            self.stdout.write(
                f"{len(seals)} dấu mới, {rows} dòng / {len(seals)} new seals, {rows} rows; "
                f"đến dòng / up to row #{newest.last_id}: {newest.digest}"
            )
        # Rows younger than an hour wait (docs/operations.md, "The trail"): an operator who has just read
        # "nothing to seal" about a log of thousands of rows is told why, and when to run it again.
        waiting, from_ = access_log_waiting()
        if waiting and from_ is not None:
            at = timezone.localtime(from_).strftime("%Y-%m-%d %H:%M")
            self.stdout.write(
                f"{waiting:,} dòng nhật ký chưa đủ 1 giờ nên chưa niêm phong; dòng cũ nhất niêm phong được "
                f"từ {at} / {waiting:,} access-log rows are less than an hour old and not sealed yet; the "
                f"oldest can be sealed from {at}"
            )
