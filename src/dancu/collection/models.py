"""Collecting population data: bulk imports of legacy sources into staging records.

An import never writes to the registry directly. Each row of a legacy file becomes a staging record that
went through the same normalization and rules as a form; clean rows may be approved by policy, the rest
wait for an officer in the review queues.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Đang nhập")
        DONE = "done", _("Hoàn tất")
        FAILED = "failed", _("Lỗi tệp")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    source = models.CharField(max_length=100)
    file_name = models.CharField(max_length=500)
    # The file's identity: the same file imported again under the same source resumes the same run.
    file_sha256 = models.CharField(max_length=64)
    file_size = models.BigIntegerField()
    file_format = models.CharField(max_length=8, choices=Format.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_label = models.CharField(max_length=150)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Counters of committed rows only: they move in the transaction that writes the rows, so after a
    # crash they say exactly where to resume.
    rows_read = models.PositiveIntegerField(default=0)
    rows_accepted = models.PositiveIntegerField(default=0)
    rows_review = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    rows_with_warnings = models.PositiveIntegerField(default=0)
    rows_repaired = models.PositiveIntegerField(default=0)
    # {"rule.code": count} of issues, and {"repair.code": count} of repairs, over committed rows.
    issue_counts = models.JSONField(default=dict)
    repair_counts = models.JSONField(default=dict)
    columns = models.JSONField(default=list)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "file_sha256"], name="import_run_one_per_file_and_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.file_name}"


class StagingRecord(models.Model):
    class Status(models.TextChoices):
        APPROVED = "approved", _("Đạt, tự động duyệt")
        REVIEW = "review", _("Chờ cán bộ xem xét")
        REJECTED = "rejected", _("Bị từ chối")

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="records")
    row_number = models.PositiveIntegerField()  # 1 = the first data row after the header
    status = models.CharField(max_length=16, choices=Status.choices)
    raw = models.JSONField()  # the row exactly as read, extra columns included
    normalized = models.JSONField(default=dict)
    issues = models.JSONField(default=list)  # [{"field", "code", "severity", "message_vi", "message_en"}]
    repairs = models.JSONField(default=list)  # [{"field", "code", "before", "after"}]

    class Meta:
        constraints = [
            # A resumed import can never write a row twice.
            models.UniqueConstraint(fields=["run", "row_number"], name="staging_row_once_per_run")
        ]
        indexes = [models.Index(fields=["run", "status"], name="staging_run_status")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.row_number} {self.status}"
