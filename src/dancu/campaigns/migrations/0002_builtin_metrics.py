"""The metrics every campaign of Project 06 follows, named by the event types their apps record.

The tally mark starts at zero, so the first catch-up counts the whole trail for these metrics; no count is
made here. Population metrics get their first count from the daily task (or `dancu campaigns_count`).
"""

from django.db import migrations

EVENT_METRICS = (
    ("forms_collected", "Phiếu thu thập", "Forms collected", ["collection.form.submitted"]),
    ("forms_approved", "Phiếu được cập nhật vào CSDL", "Forms approved", ["collection.form.applied"]),
    ("records_cleaned", "Hồ sơ làm sạch", "Records cleaned", ["collection.record.cleaned"]),
    ("cards_taken", "Hồ sơ cấp thẻ căn cước đã thu nhận", "Card applications taken", ["cards.application.taken"]),
    ("cards_delivered", "Thẻ căn cước đã trả", "Cards delivered", ["cards.card.delivered"]),
)
POPULATION_METRICS = (
    ("residents", "Dân số đang sinh sống", "Living residents", "residents"),
    ("due_for_card", "Công dân từ 14 tuổi chưa có thẻ", "Citizens 14+ without a valid card", "due_for_card"),
)


def create(apps, schema_editor):
    Metric = apps.get_model("campaigns", "Metric")
    for code, name, name_en, event_types in EVENT_METRICS:
        Metric.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "kind": "events", "event_types": event_types}
        )
    for code, name, name_en, rule in POPULATION_METRICS:
        Metric.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "kind": "population", "population_rule": rule}
        )


def remove(apps, schema_editor):
    """Remove the metrics no campaign follows, as numerator or denominator. (The relation has no reverse
    name to filter on: a campaign's metrics are read from CampaignMetric.)"""
    CampaignMetric = apps.get_model("campaigns", "CampaignMetric")
    followed = set(CampaignMetric.objects.values_list("metric_id", flat=True)) | set(
        CampaignMetric.objects.exclude(denominator=None).values_list("denominator_id", flat=True)
    )
    codes = [m[0] for m in EVENT_METRICS + POPULATION_METRICS]
    apps.get_model("campaigns", "Metric").objects.filter(code__in=codes).exclude(pk__in=followed).delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_campaigns_targets_and_tallies")]
    operations = [migrations.RunPython(create, remove)]
