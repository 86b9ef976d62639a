"""Campaigns (chiến dịch): what leaders measure, the targets (chỉ tiêu) they set, and the tallies the
figures are read from.

A metric is a count over the audit trail (event types, optionally narrowed by values in the events'
data), so a later domain adds a metric by naming its event type, with no new code path; or it is an
eligible population counted from the registry (the denominator of "99.7% of forms collected"). A
campaign has a period and a list of metrics; targets are set per unit, top-down (ministry -> province
-> commune), and every revision keeps the old value, who changed it, when and why.

Figures are never typed in. The tally tables below are kept by `dancu.campaigns.tally` from the trail,
catching up on new events from a high-water mark, at three grains: per province and day (the national
dashboard), per commune and day (a province dashboard) and per commune, day, officer, intake point,
team and shift (a commune dashboard and its drill-down).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import translation
from django.utils.translation import gettext_lazy as _


class Metric(models.Model):
    class Kind(models.TextChoices):
        EVENTS = "events", _("Đếm sự kiện nghiệp vụ")
        POPULATION = "population", _("Dân số thuộc diện (từ CSDL)")

    # A stable name for links, the API and exports ("cards_taken").
    code = models.SlugField(_("mã"), max_length=40, unique=True)
    name = models.CharField(_("tên"), max_length=120)
    name_en = models.CharField(_("tên tiếng Anh"), max_length=120)
    kind = models.CharField(_("loại"), max_length=16, choices=Kind.choices, default=Kind.EVENTS)
    # For an events metric: the audit event types counted, and optional filters on the events' data
    # ({"shift": ["sáng", "chiều"]}: an event counts when each named key holds one of the values).
    event_types = models.JSONField(_("loại sự kiện"), default=list, blank=True)
    data_filter = models.JSONField(_("lọc theo dữ liệu"), default=dict, blank=True)
    # For a population metric: the name of a rule in dancu.campaigns.population.
    population_rule = models.CharField(_("quy tắc dân số"), max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("chỉ số")
        verbose_name_plural = _("chỉ số")
        ordering = ("pk",)

    def __str__(self) -> str:
        # Printed whole in forms' choices and tables: in the language of the page being drawn.
        return self.label(translation.get_language() or "vi")

    def label(self, language: str = "vi") -> str:
        return self.name_en if language.startswith("en") else self.name


class Campaign(models.Model):
    name = models.CharField(_("tên chiến dịch"), max_length=200)
    starts_on = models.DateField(_("từ ngày"))
    ends_on = models.DateField(_("đến ngày"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("chiến dịch")
        verbose_name_plural = _("chiến dịch")
        ordering = ("-starts_on", "pk")
        constraints = (
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="campaign_ends_after_start"
            ),
            # One campaign per name: a form sent twice (a double tap, a slow network) made two campaigns
            # of the same name, whose targets and figures the leaders could not tell apart. The service
            # says so beside the name; this holds it when the two requests arrive together.
            models.UniqueConstraint(Lower("name"), name="campaign_name_unique"),
        )

    def __str__(self) -> str:
        return self.name

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1


class CampaignMetric(models.Model):
    """A metric a campaign follows; with a denominator, a unit without a target of its own is measured
    against its eligible population (forms collected out of the residents, cards out of those due)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="campaign_metrics")
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="+")
    denominator = models.ForeignKey(Metric, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("campaign", "position", "pk")
        constraints = (models.UniqueConstraint(fields=("campaign", "metric"), name="campaign_metric_once"),)

    def __str__(self) -> str:
        return f"{self.campaign}: {self.metric}"


class Target(models.Model):
    """The target (chỉ tiêu) of one unit for one metric of a campaign: the whole period, per day, or both.

    `unit` is a 2025 province or commune; null is the country (set by the ministry). A target per day
    makes the target of any stretch of the period its number of days times the daily figure.
    """

    campaign_metric = models.ForeignKey(CampaignMetric, on_delete=models.CASCADE, related_name="targets")
    unit = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    total = models.PositiveBigIntegerField(_("chỉ tiêu cả đợt"), null=True, blank=True)
    per_day = models.PositiveBigIntegerField(_("chỉ tiêu mỗi ngày"), null=True, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField()

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=("campaign_metric", "unit"),
                condition=Q(unit__isnull=False),
                name="target_once_per_unit",
            ),
            models.UniqueConstraint(
                fields=("campaign_metric",), condition=Q(unit__isnull=True), name="target_once_national"
            ),
            models.CheckConstraint(
                condition=Q(total__isnull=False) | Q(per_day__isnull=False), name="target_has_a_figure"
            ),
        )

    def __str__(self) -> str:
        return f"{self.campaign_metric} {self.unit or 'toàn quốc'}: {self.total}/{self.per_day}"


class TargetRevision(models.Model):
    """Every setting of a target, the first one included: old and new figures, who, when and why."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="revisions")
    old_total = models.PositiveBigIntegerField(null=True, blank=True)
    old_per_day = models.PositiveBigIntegerField(null=True, blank=True)
    new_total = models.PositiveBigIntegerField(null=True, blank=True)
    new_per_day = models.PositiveBigIntegerField(null=True, blank=True)
    revised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    revised_at = models.DateTimeField()
    reason = models.TextField()

    class Meta:
        ordering = ("target", "revised_at", "pk")

    def __str__(self) -> str:
        return f"{self.target}: {self.old_total}->{self.new_total} ({self.revised_by_id})"


class TallyMark(models.Model):
    """The high-water mark: every audit event with an id up to `last_event_id` is in the tallies, except
    the ids listed in TallyGap, which were not yet committed when the mark passed them."""

    last_event_id = models.BigIntegerField(default=0)
    caught_up_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"tally through event {self.last_event_id}"


class TallyGap(models.Model):
    """An event id below the mark that was missing when the tally passed it: a transaction still open
    (its event commits later with a lower id than events already counted) or one that rolled back. The
    tally looks for it again at each catch-up and forgets it after `tally.GAP_PATIENCE`."""

    event_id = models.BigIntegerField(unique=True)
    noticed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"gap {self.event_id}"


class ProvinceTally(models.Model):
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="+", db_index=False)
    province = models.ForeignKey("geo.AdminUnit", on_delete=models.PROTECT, related_name="+", db_index=False)
    day = models.DateField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("metric", "province", "day"), name="province_tally_key"),
        )

    def __str__(self) -> str:
        return f"{self.metric_id} {self.province_id} {self.day}: {self.count}"


class CommuneTally(models.Model):
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="+", db_index=False)
    province = models.ForeignKey("geo.AdminUnit", on_delete=models.PROTECT, related_name="+", db_index=False)
    commune = models.ForeignKey("geo.AdminUnit", on_delete=models.PROTECT, related_name="+", db_index=False)
    day = models.DateField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("metric", "commune", "day"), name="commune_tally_key"),
        )
        # A province dashboard reads its communes' rows in one range scan.
        indexes = (models.Index(fields=("metric", "province", "day"), name="commune_tally_province"),)

    def __str__(self) -> str:
        return f"{self.metric_id} {self.commune_id} {self.day}: {self.count}"


class DetailTally(models.Model):
    """The commune's figures by who did the work and where: the drill-down below the commune."""

    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="+", db_index=False)
    commune = models.ForeignKey("geo.AdminUnit", on_delete=models.PROTECT, related_name="+", db_index=False)
    day = models.DateField()
    # Plain values rather than foreign keys with NULLs, so that the key is unique on every database
    # (NULLs are distinct in a unique index); 0 is a system job, "" a key the events did not carry.
    officer_id = models.BigIntegerField(default=0)
    point = models.CharField(max_length=120, default="")
    team = models.CharField(max_length=120, default="")
    shift = models.CharField(max_length=60, default="")
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=("metric", "commune", "day", "officer_id", "point", "team", "shift"),
                name="detail_tally_key",
            ),
        )

    def __str__(self) -> str:
        return f"{self.metric_id} {self.commune_id} {self.day} {self.officer_id}: {self.count}"


class PopulationTally(models.Model):
    """An eligible population per commune, counted from the registry by a population metric's rule."""

    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="+", db_index=False)
    province = models.ForeignKey("geo.AdminUnit", on_delete=models.PROTECT, related_name="+", db_index=False)
    commune = models.ForeignKey("geo.AdminUnit", on_delete=models.PROTECT, related_name="+", db_index=False)
    count = models.BigIntegerField()
    counted_at = models.DateTimeField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=("metric", "commune"), name="population_tally_key"),)
        indexes = (models.Index(fields=("metric", "province"), name="population_tally_province"),)

    def __str__(self) -> str:
        return f"{self.metric_id} {self.commune_id}: {self.count}"


class DailyReport(models.Model):
    """The report of one campaign for one unit and day, made by the background worker each morning."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="reports")
    unit = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField()
    pdf = models.BinaryField()
    xlsx = models.BinaryField()
    made_at = models.DateTimeField()

    class Meta:
        ordering = ("-day", "pk")
        constraints = (
            models.UniqueConstraint(
                fields=("campaign", "unit", "day"), condition=Q(unit__isnull=False), name="report_once"
            ),
            models.UniqueConstraint(
                fields=("campaign", "day"), condition=Q(unit__isnull=True), name="report_once_national"
            ),
        )

    def __str__(self) -> str:
        return f"{self.campaign} {self.unit or 'toàn quốc'} {self.day}"
