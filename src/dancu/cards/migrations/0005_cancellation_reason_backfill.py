"""Give the applications cancelled before they recorded why the reason the code now writes.

An application was cancelled on two paths only, so its reason is known from what it left behind: the
card made for it was revoked before delivery (the revocation's grounds are on the card, and a citizen who
died while the batch was at the centre is one of these), or, with no card made, the citizen died
(cards_end_for_death). The texts are those cards.services writes on each path, copied here so that
the migration stays what it was when the code changes. The reverse leaves the reasons: the column they
are in goes with the migration before this one.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

# cards.services.CANCELLED_FOR_DEATH and cancelled_for_revocation, as they were written.
CANCELLED_FOR_DEATH = "Công dân đã chết"
REVOKED_BEFORE_DELIVERY = "Thẻ đã sản xuất bị thu hồi trước khi trả cho công dân: {grounds}"


def backfill(apps: Any, schema_editor: Any) -> None:
    Application = apps.get_model("cards", "Application")
    Card = apps.get_model("cards", "Card")
    unexplained = Application.objects.filter(status="cancelled", cancellation_reason="")
    revoked = dict(
        Card.objects.filter(application__in=unexplained).values_list("application_id", "state_reason")
    )
    for application in unexplained.only("pk").iterator():
        if application.pk in revoked:
            reason = REVOKED_BEFORE_DELIVERY.format(grounds=revoked[application.pk])
        else:
            reason = CANCELLED_FOR_DEATH
        Application.objects.filter(pk=application.pk).update(cancellation_reason=reason)


class Migration(migrations.Migration):
    dependencies = [("cards", "0004_application_cancellation_reason")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
