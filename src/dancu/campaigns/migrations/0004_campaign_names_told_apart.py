"""Campaigns that share a name (a form sent twice made two) are told apart before the names are made
unique (0005): each one after the first of a name gets its number appended, "Cấp căn cước 2025 (#7)".
Nothing else of them changes; the reverse leaves the new names, which are as good as the old."""

from django.db import migrations


def tell_apart(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    seen: set[str] = set()
    for campaign in Campaign.objects.order_by("pk"):
        # Lower() in the constraint folds as the database does; casefold() is at least as strict.
        key = campaign.name.casefold()
        if key in seen:
            campaign.name = f"{campaign.name[:190]} (#{campaign.pk})"
            campaign.save(update_fields=["name"])
            key = campaign.name.casefold()
        seen.add(key)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0003_worker_schedules")]

    operations = [migrations.RunPython(tell_apart, migrations.RunPython.noop)]
