"""Candidate pairs found by the matcher and the officers' decisions on them.

A run of the matcher over the registry and the staged legacy rows (`dancu match --registry`) proposes
pairs of records that may be the same person. Each side of a pair is either a citizen of the registry
or a staged row of a legacy import that has not reached the registry yet. A pair waits in the review
queue of the commune it belongs to until an officer says "same person" or "not the same person"; the
decision is kept under the pair's key, so a later run never proposes a settled pair again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MatchRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Đang chạy")
        FINISHED = "finished", _("Hoàn tất")
        FAILED = "failed", _("Thất bại")

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    backend = models.CharField(max_length=16)  # "duckdb" or "spark"
    # Pairs at or above this match probability are proposed for review; pairs at or above the
    # auto-merge threshold (when one is configured) are merged without waiting for an officer.
    threshold = models.FloatField()
    auto_merge_threshold = models.FloatField(null=True, blank=True)
    records = models.PositiveIntegerField(default=0)
    candidate_pairs = models.PositiveBigIntegerField(default=0)
    proposed_pairs = models.PositiveIntegerField(default=0)
    # What a reader needs to trust the run: blocking rules and their pair counts, trained m/u
    # parameters, capped blocks, warnings.
    summary = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"match run {self.pk} ({self.status})"


class CandidatePair(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Chờ xem xét")
        SAME = "same", _("Cùng một người")
        DIFFERENT = "different", _("Không phải cùng một người")
        MERGED = "merged", _("Đã hợp nhất")
        # A later run over the whole registry no longer proposes the pair (its records changed, were
        # merged, or the matcher learnt better): it leaves the queue without an officer's decision.
        WITHDRAWN = "withdrawn", _("Không còn được đề xuất")

    run = models.ForeignKey(MatchRun, on_delete=models.PROTECT, related_name="pairs")
    # Exactly one of the two references is set on each side.
    left_citizen = models.ForeignKey(
        "registry.Citizen", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    left_staging = models.ForeignKey(
        "collection.StagingRecord", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    right_citizen = models.ForeignKey(
        "registry.Citizen", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    right_staging = models.ForeignKey(
        "collection.StagingRecord", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The two sides in a canonical order ("c:12|s:40"): one row per pair whoever proposes it, so a
    # decision is remembered and the pair is not proposed again.
    pair_key = models.CharField(max_length=64, unique=True)
    # The commune whose review queue shows the pair (the 2025 commune of the left side's residence).
    unit = models.ForeignKey("geo.AdminUnit", on_delete=models.PROTECT, related_name="+")
    match_weight = models.FloatField()
    match_probability = models.FloatField()
    # Why the machine thinks so, field by field: [{"field", "level", "weight", "left", "right"}], the
    # level being the comparison level that applied ("exact", "same year only", ...) and the weight its
    # log2 Bayes factor, so an officer sees which fields agreed and how much each counted.
    comparisons = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="pair_left_is_one_record",
                condition=(
                    models.Q(left_citizen__isnull=False, left_staging__isnull=True)
                    | models.Q(left_citizen__isnull=True, left_staging__isnull=False)
                ),
            ),
            models.CheckConstraint(
                name="pair_right_is_one_record",
                condition=(
                    models.Q(right_citizen__isnull=False, right_staging__isnull=True)
                    | models.Q(right_citizen__isnull=True, right_staging__isnull=False)
                ),
            ),
            models.CheckConstraint(
                name="pair_decision_has_its_officer_or_is_automatic",
                condition=models.Q(status="pending") | models.Q(decided_at__isnull=False),
            ),
        ]
        indexes = [
            # The review queue: a unit's pending pairs, most certain first.
            models.Index(fields=["unit", "status", "-match_probability"], name="pair_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.pair_key} {self.match_probability:.3f} {self.status}"
