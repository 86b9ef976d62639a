"""What the quality scorecard keeps: one assessment per citizen, one snapshot per unit and day, the passes.

An assessment is the verdict of the last pass on one record: the four indicators (đúng, đủ, sạch, sống),
the failing checks with their rule codes, and a score. It is replaced by every pass that looks at the
record, so it is always "the record as it was when last assessed"; `citizen_version` says which version
that was. Snapshots keep the counts of a unit on a day, so a unit's score can be followed over time
after the assessments themselves have moved on.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class QualityAssessment(models.Model):
    citizen = models.OneToOneField(
        "registry.Citizen", on_delete=models.CASCADE, related_name="quality_assessment"
    )
    # The four indicators: True when the record passes every check of the indicator.
    dung = models.BooleanField()  # đúng: consistent and valid
    du = models.BooleanField()  # đủ: complete
    sach = models.BooleanField()  # sạch: normalized, one record per person
    song = models.BooleanField()  # sống: up to date
    passed_all = models.BooleanField()
    # 25 points per indicator passed: 0 (fails all four) to 100 (passes all four).
    score = models.PositiveSmallIntegerField()
    failure_count = models.PositiveSmallIntegerField()
    # [{"indicator", "field", "code", "params"}]; messages are rendered from the rule catalogue on
    # display, in the reader's language.
    failures = models.JSONField(default=list)
    citizen_version = models.PositiveIntegerField()
    assessed_at = models.DateTimeField()
    # The record's 2025 commune and province when it was assessed: the units whose snapshots count it, so
    # that a pass can move the snapshots by what it changed (a record that moved away is uncounted where
    # it was counted). Pages filter by the citizen's current area instead, as every registry read does.
    commune = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    province = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        indexes = [
            # The list of records that need work: worst first.
            models.Index(fields=["passed_all", "score", "-failure_count"], name="quality_worst_first"),
        ]
        constraints = [
            models.CheckConstraint(name="quality_score_range", condition=Q(score__lte=100)),
            models.CheckConstraint(
                name="quality_passed_all_is_all_four",
                condition=Q(passed_all=True, dung=True, du=True, sach=True, song=True)
                | Q(passed_all=False) & (Q(dung=False) | Q(du=False) | Q(sach=False) | Q(song=False)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.citizen_id}: {self.score}"


class QualitySnapshot(models.Model):
    """The counts of a unit (a 2025 province or commune; no unit: the whole country) on one day.

    A snapshot is rewritten by every pass of its day, so the last pass of a day is what the day shows.
    """

    unit = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    day = models.DateField()
    records = models.PositiveIntegerField()
    dung = models.PositiveIntegerField()
    du = models.PositiveIntegerField()
    sach = models.PositiveIntegerField()
    song = models.PositiveIntegerField()
    passed_all = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "day"], name="quality_snapshot_unit_day"),
            models.UniqueConstraint(
                fields=["day"], condition=Q(unit__isnull=True), name="quality_snapshot_nation_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id or 'VN'} {self.day}: {self.passed_all}/{self.records}"


class QualityPass(models.Model):
    """One run of the assessment: what it looked at and what it found; the "changed since" watermark."""

    class Scope(models.TextChoices):
        ALL = "all", _("Toàn bộ hồ sơ")
        CHANGED = "changed", _("Hồ sơ thay đổi từ lần trước")
        UNIT = "unit", _("Hồ sơ của một đơn vị")

    scope = models.CharField(max_length=8, choices=Scope.choices)
    unit = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    actor_label = models.CharField(max_length=150)
    assessed = models.PositiveIntegerField(default=0)
    cleaned = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.scope} {self.started_at:%Y-%m-%d %H:%M}: {self.assessed}"
