"""The e-ID metrics of Project 06: level-2 accounts registered at the desk, accounts activated by their
citizen, and the citizens who could have one and have none (the denominator of an e-ID target).

Activations are placed in the citizen's commune from this version on; those recorded before named no
unit, and count nowhere.

Unlike 0002, this migration may run on a database whose tallies are already counting: the high-water
mark has passed the registrations made so far, and no catch-up would go back for them. The new events
metric therefore counts the trail up to the mark at once, as a metric defined through the API does
(`services.metric_create`). Population metrics get their first count from the daily task (or
`dancu campaigns_count`).
"""

from django.db import migrations

EVENT_METRICS = (
    (
        "eid_registered",
        "Tài khoản định danh điện tử mức độ 2 đã đăng ký",
        "Level-2 e-ID accounts registered",
        ["eid.account.registered"],
    ),
    (
        "eid_activated",
        "Tài khoản định danh điện tử đã kích hoạt",
        "e-ID accounts activated",
        ["eid.account.activated"],
    ),
)
POPULATION_METRICS = (
    (
        "due_for_eid",
        "Công dân từ 14 tuổi có thẻ còn giá trị, chưa có tài khoản định danh điện tử",
        "Citizens 14+ with a valid card and no e-ID account",
        "due_for_eid",
    ),
)


def _count_trail_so_far(metric) -> None:
    """Count `metric`'s events up to the tallies' mark, when the tallies have started.

    The tally code is the one the running system uses: a second copy here, written against the historical
    models, could count an event differently from the catch-up that carries on after it. It reads only
    the metric's id, event types and data filter, which the historical model has.
    """
    from dancu.campaigns import tally

    if tally.TallyMark.objects.filter(pk=1, last_event_id__gt=0).exists():
        tally.tally_backfill(metric)


def create(apps, schema_editor):
    Metric = apps.get_model("campaigns", "Metric")
    for code, name, name_en, event_types in EVENT_METRICS:
        metric, created = Metric.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "kind": "events", "event_types": event_types}
        )
        if created:
            _count_trail_so_far(metric)
    for code, name, name_en, rule in POPULATION_METRICS:
        Metric.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "kind": "population", "population_rule": rule}
        )


def remove(apps, schema_editor):
    """Remove the metrics no campaign follows, as numerator or denominator; their tallies go with them."""
    CampaignMetric = apps.get_model("campaigns", "CampaignMetric")
    followed = set(CampaignMetric.objects.values_list("metric_id", flat=True)) | set(
        CampaignMetric.objects.exclude(denominator=None).values_list("denominator_id", flat=True)
    )
    codes = [m[0] for m in EVENT_METRICS + POPULATION_METRICS]
    apps.get_model("campaigns", "Metric").objects.filter(code__in=codes).exclude(pk__in=followed).delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0005_campaign_name_unique")]
    operations = [migrations.RunPython(create, remove)]
