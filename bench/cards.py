"""Cards benchmark (issue 6): verifying what a card carries, and a production batch of 10,000 cards.

Run on a fresh database (SQLite by default, or PostgreSQL through scripts/with-postgres):

    DANCU_VAR_DIR=$(mktemp -d) .venv/bin/python bench/cards.py --record
    scripts/with-postgres .venv/bin/python bench/cards.py --record

Targets: verifying a QR payload, an MRZ and a chip document under 2 ms each; an approval batch of 10,000
applications exported (batch_create: export file and signed manifest) and its production result
imported (batch_import_result: 10,000 cards with signed chip data) in under 30 s together.

The set-up (units, 10,000 citizens of Phường Hoàn Kiếm with their residence, approved applications with a
face photo and a signature) is written in bulk and not timed.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dancu.config.settings")

import django

django.setup()

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image

from dancu.accounts.models import PoliceUnit, User
from dancu.audit.services import Actor
from dancu.cards import services
from dancu.cards.models import Application, Biometric, Card, IntakePoint
from dancu.cards.printing import mrz_lines, qr_payload
from dancu.cards.verify import verify_text
from dancu.geo.selectors import unit_get
from dancu.lib import pin as pin_codec
from dancu.lib.partial_date import PartialDate
from dancu.lib.vntext import fold
from dancu.registry.models import Citizen, Residence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry import RESULTS, machine, percentile, timed


def png(width: int, height: int) -> bytes:
    # A smooth synthetic picture: realistic size on disk, unlike random noise.
    image = Image.linear_gradient("L").resize((width, height))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def prepare(count: int) -> tuple[User, IntakePoint]:
    call_command("setup", stdout=io.StringIO())
    hoan_kiem = unit_get(structure="2025", level="commune", code="00070")
    hanoi = unit_get(structure="2025", level="province", code="01")
    province_unit = PoliceUnit.objects.get(level="province", admin_unit=hanoi)
    commune_unit = PoliceUnit.objects.get(level="commune", admin_unit=hoan_kiem)
    supervisor, _ = User.objects.get_or_create(
        username="bench.hanoi", defaults={"role": User.Role.SUPERVISOR, "police_unit": province_unit}
    )
    collector, _ = User.objects.get_or_create(
        username="bench.hoankiem", defaults={"role": User.Role.COLLECTOR, "police_unit": commune_unit}
    )
    point, _ = IntakePoint.objects.get_or_create(
        code="BENCH-HK", defaults={"name": "Điểm thu nhận thử", "kind": "station", "commune": hoan_kiem}
    )
    existing = Application.objects.filter(point=point, status=Application.Status.APPROVED).count()
    if existing >= count:
        return supervisor, point
    face, signature = png(240, 320), png(400, 120)
    now = timezone.now()
    with transaction.atomic():
        citizens = []
        for index in range(existing, count):
            pin = pin_codec.compose(place_code="001", sex="M", birth_year=1990, serial=f"{index + 1:06d}")
            name = f"Nguyễn Văn Thử {index}"
            citizens.append(
                Citizen(
                    pin=pin,
                    full_name=name.replace(str(index), "Bảy"),
                    name_key=fold(name),
                    birth_date=PartialDate(1990, 5, 17),
                    sex="M",
                    birth_registration_place="001",
                    area_commune=hoan_kiem,
                    area_province=hanoi,
                )
            )
        Citizen.objects.bulk_create(citizens, batch_size=2000)
        Residence.objects.bulk_create(
            [
                Residence(
                    citizen=c,
                    kind="permanent",
                    commune=hoan_kiem,
                    address_detail="Số 1 phố Hàng Trống",
                    registered_on=now.date() - timedelta(days=3000),
                )
                for c in citizens
            ],
            batch_size=2000,
        )
        applications = Application.objects.bulk_create(
            [
                Application(
                    citizen=c,
                    kind="first_issue",
                    status=Application.Status.APPROVED,
                    status_since=now,
                    point=point,
                    shift="1",
                    officer=collector,
                    taken_at=now,
                    due_on=now.date() + timedelta(days=9),
                    fee_amount=0,
                    reviewed_by=supervisor,
                    reviewed_at=now,
                )
                for c in citizens
            ],
            batch_size=2000,
        )
        Biometric.objects.bulk_create(
            [
                Biometric(
                    application=a,
                    kind=kind,
                    image=data,
                    image_format="PNG",
                    width=w,
                    height=h,
                    sha256="0" * 64,
                    captured_at=now,
                )
                for a in applications
                for kind, data, w, h in (("face", face, 240, 320), ("signature", signature, 400, 120))
            ],
            batch_size=2000,
        )
    if connection.vendor == "postgresql":
        # A production database has planner statistics; a freshly bulk-loaded one has none until this.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return supervisor, point


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--verifications", type=int, default=2000)
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()
    vendor = connection.vendor

    started = time.perf_counter()
    supervisor, _point = prepare(args.applications)
    print(f"set-up in {time.perf_counter() - started:.1f} s", flush=True)
    actor = Actor(supervisor)

    started = time.perf_counter()
    batch = services.batch_create(actor=actor, limit=args.applications)
    export_seconds = time.perf_counter() - started
    numbers = list(Application.objects.filter(batch=batch).order_by("pk").values_list("pk", flat=True))
    # The production centre's answer: a serial for each card but one in a hundred, refused.
    lines = ["application,serial,error"]
    for index, pk in enumerate(numbers):
        number = f"HS{pk:010d}"
        lines.append(f"{number},,Ảnh không đạt" if index % 100 == 99 else f"{number},BN{pk:010d},")
    started = time.perf_counter()
    services.batch_import_result(actor=actor, batch=batch, text="\n".join(lines) + "\n")
    import_seconds = time.perf_counter() - started
    produced = Card.objects.filter(application__batch=batch).count()
    print(f"batch of {batch.size}: export {export_seconds:.2f} s, import {import_seconds:.2f} s", flush=True)

    cards = list(Card.objects.filter(application__batch=batch).order_by("pk")[: args.verifications])
    keys = services.public_key_set()
    today = timezone.localdate()
    qrs = [qr_payload(c.printed, c.issued_on) for c in cards]
    mrzs = ["\n".join(mrz_lines(c.printed, c.expires_on)) for c in cards]
    chips = [c.chip_document for c in cards]
    for text in (qrs[0], mrzs[0], chips[0]):
        assert verify_text(text, public_keys=keys, today=today).valid
    results = {}
    for label, texts in (("QR payload", qrs), ("MRZ (3 lines)", mrzs), ("chip document (Ed25519)", chips)):
        results[label] = timed([lambda t=t: verify_text(t, public_keys=keys, today=today) for t in texts])

    def line(label: str, samples: list[float]) -> str:
        return (
            f"| verify {label} | {len(samples)} | {statistics.median(samples):.3f} | "
            f"{percentile(samples, 99):.3f} | {max(samples):.3f} |"
        )

    load = os.getloadavg()
    report = "\n".join(
        [
            f"### cards — {vendor}, batch of {batch.size:,} — {datetime.now(UTC):%Y-%m-%d}",
            "",
            f"- command: `{' '.join(['python', *sys.argv])}`"
            + (" (under scripts/with-postgres)" if vendor == "postgresql" else ""),
            f"- machine: {machine()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (shared with"
            " other work)",
            f"- batch: export (batch_create, {batch.size:,} applications,"
            f" {len(batch.export) / 1e6:.1f} MB file,"
            f" signed manifest) {export_seconds:.2f} s; import of the result ({produced:,} cards signed,"
            f" {batch.size - produced} refused) {import_seconds:.2f} s; together"
            f" {export_seconds + import_seconds:.2f} s (target < 30 s)",
            "",
            "| measure | n | p50 ms | p99 ms | max ms |",
            "|---|---|---|---|---|",
            *[line(label, samples) for label, samples in results.items()],
            "",
        ]
    )
    print(report)
    if args.record:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n" + report)


if __name__ == "__main__":
    main()
