"""The fee table (lệ phí cấp thẻ căn cước) as published; later changes are new dated rows, never edits."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import migrations

# Thông tư 59/2019/TT-BTC (from 2019-08-30) and Thông tư 73/2024/TT-BTC (from 2024-07-01, with the
# Luật Căn cước): first issue free; change 50,000 đ; re-issue 70,000 đ; conversion of an old card
# 30,000 đ; a change for age or because the PIN was re-established is the state's doing and free.
RATES = (
    ("first_issue", date(2019, 8, 30), 0, "Thông tư 59/2019/TT-BTC"),
    ("conversion", date(2019, 8, 30), 30_000, "Thông tư 59/2019/TT-BTC"),
    ("renewal", date(2019, 8, 30), 0, "Thông tư 59/2019/TT-BTC"),
    ("change_of_data", date(2019, 8, 30), 50_000, "Thông tư 59/2019/TT-BTC"),
    ("pin_reissued", date(2019, 8, 30), 0, "Thông tư 59/2019/TT-BTC"),
    ("lost_or_damaged", date(2019, 8, 30), 70_000, "Thông tư 59/2019/TT-BTC"),
    ("first_issue", date(2024, 7, 1), 0, "Thông tư 73/2024/TT-BTC"),
    ("conversion", date(2024, 7, 1), 30_000, "Thông tư 73/2024/TT-BTC"),
    ("renewal", date(2024, 7, 1), 0, "Thông tư 73/2024/TT-BTC"),
    ("change_of_data", date(2024, 7, 1), 50_000, "Thông tư 73/2024/TT-BTC"),
    ("pin_reissued", date(2024, 7, 1), 0, "Thông tư 73/2024/TT-BTC"),
    ("lost_or_damaged", date(2024, 7, 1), 70_000, "Thông tư 73/2024/TT-BTC"),
)


def add_rates(apps: Any, schema_editor: Any) -> None:
    FeeRate = apps.get_model("cards", "FeeRate")
    for kind, valid_from, amount, basis in RATES:
        FeeRate.objects.get_or_create(
            kind=kind, valid_from=valid_from, defaults={"amount": amount, "legal_basis": basis}
        )


def remove_rates(apps: Any, schema_editor: Any) -> None:
    FeeRate = apps.get_model("cards", "FeeRate")
    for kind, valid_from, _amount, _basis in RATES:
        FeeRate.objects.filter(kind=kind, valid_from=valid_from).delete()


class Migration(migrations.Migration):
    dependencies = [("cards", "0001_intake_applications_cards")]
    operations = [migrations.RunPython(add_rates, remove_rates)]
