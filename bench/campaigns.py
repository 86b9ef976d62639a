"""Campaigns benchmark (issue 7): national and province dashboards over a million citizens' worth of work.

Run on a fresh PostgreSQL database (or SQLite, slower to load), for example:

    scripts/with-postgres .venv/bin/python bench/campaigns.py --people 1000000 --record

It prepares the database (`dancu setup`), generates and loads the population across every commune
(`dancu generate`), creates two officers per commune, and bulk-inserts the audit events the collection
and card work of a month would leave: one form submitted per citizen, 90% of them applied, card
applications for 45% and deliveries for 30%, spread over 30 days, each card event with its intake point,
team and shift. It then times:

- the first catch-up of the tallies over the whole trail (a one-off, when campaigns are switched on);
- the count of the eligible population (citizens 14+ without a card) per commune;
- the dashboards served through the Django test client as a signed-in leader: the national dashboard,
  a province dashboard (Hà Nội, the province with the most communes) and a commune dashboard, with the
  tallies warm (the usual case) and after new events arrived (the read catches up first).

Target: national and province dashboards under 300 ms each on PostgreSQL.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dancu.config.settings")

import django

django.setup()

from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.test.utils import override_settings

from dancu.accounts.models import PoliceUnit, User
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.campaigns import services
from dancu.campaigns.models import Campaign, DetailTally, Metric
from dancu.campaigns.tally import tally_catch_up
from dancu.geo.models import AdminUnit
from dancu.registry.models import Citizen

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry import RESULTS, machine, percentile, timed

VN = ZoneInfo("Asia/Ho_Chi_Minh")
# Django's marker of an account that cannot sign in with a password (these officers never sign in).
UNUSABLE = "!"
START = date(2025, 7, 1)
DAYS_OF_WORK = 30
SHIFTS = ("sáng", "chiều", "tối")
COLUMNS = (
    "occurred_at",
    "actor_id",
    "actor_label",
    "event_type",
    "subject_type",
    "subject_id",
    "reason",
    "source_document",
    "data",
    "unit_id",
)


def officers_per_commune(communes: dict[int, str]) -> dict[int, list[tuple[int, str]]]:
    """Two collectors in every commune police, created in bulk (no password: they never sign in)."""
    units = dict(PoliceUnit.objects.filter(level=PoliceUnit.Level.COMMUNE).values_list("admin_unit_id", "pk"))
    wanted = [
        User(
            username=f"bench.{code}.{n}",
            role=User.Role.COLLECTOR,
            police_unit_id=units[pk],
            password=UNUSABLE,
        )
        for pk, code in communes.items()
        if pk in units
        for n in (1, 2)
    ]
    User.objects.bulk_create(wanted, batch_size=2000, ignore_conflicts=True)
    by_commune: dict[int, list[tuple[int, str]]] = {}
    code_to_pk = {code: pk for pk, code in communes.items()}
    for user_id, username in User.objects.filter(username__startswith="bench.").values_list("pk", "username"):
        parts = username.split(".")
        if len(parts) == 3 and parts[1] in code_to_pk:
            by_commune.setdefault(code_to_pk[parts[1]], []).append((user_id, username))
    return by_commune


def events(
    people: dict[int, int],
    officers: dict[int, list[tuple[int, str]]],
    rng: random.Random,
    *,
    scale: float = 1.0,
) -> Iterator[tuple[Any, ...]]:
    """The trail of a month of work in each commune, in proportion to its population."""
    import json

    for commune_id, population in people.items():
        staff = officers.get(commune_id)
        if not staff:
            continue
        plan = (
            (EventType.FORM_SUBMITTED, 1.0, False),
            (EventType.FORM_APPLIED, 0.9, False),
            (EventType.CARD_APPLICATION_TAKEN, 0.45, True),
            (EventType.CARD_DELIVERED, 0.3, True),
        )
        for event_type, share, card in plan:
            for n in range(round(population * share * scale)):
                officer_id, username = staff[n % len(staff)]
                when = datetime.combine(
                    START + timedelta(days=rng.randrange(DAYS_OF_WORK)),
                    datetime.min.time(),
                    tzinfo=VN,
                ) + timedelta(minutes=rng.randrange(7 * 60, 21 * 60))
                point = rng.randrange(2)
                data = (
                    {
                        "intake_point_id": commune_id * 10 + point,
                        "intake_point": f"Điểm thu nhận số {point + 1}",
                        "team": f"Tổ {rng.randrange(1, 4)}",
                        "shift": rng.choice(SHIFTS),
                    }
                    if card
                    else {}
                )
                yield (
                    when,
                    officer_id,
                    username,
                    str(event_type),
                    "card_application" if card else "collection_form",
                    str(n),
                    "",
                    "",
                    json.dumps(data, ensure_ascii=False),
                    commune_id,
                )


def bulk_insert(rows: Iterator[tuple[Any, ...]]) -> int:
    """Straight into the table: COPY on PostgreSQL, batched INSERTs elsewhere."""
    table = AuditEvent._meta.db_table
    count = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            sql = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"  # noqa: S608
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(row)
                if len(batch) == 10_000:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            cursor.executemany(sql, batch)
            count += len(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table}")
    return count


def timed_get(client: Client, url: str, n: int) -> list[float]:
    """Milliseconds per request, each request checked to have been answered."""

    def get() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return timed([get] * n)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    vendor = connection.vendor

    call_command("setup", stdout=io.StringIO())
    existing = Citizen.objects.count()
    if existing < args.people:
        started = time.perf_counter()
        call_command("generate", people=args.people - existing, seed=args.seed, stdout=io.StringIO())
        print(
            f"loaded {args.people - existing:,} citizens in {time.perf_counter() - started:.0f} s", flush=True
        )
    communes = dict(AdminUnit.objects.filter(structure="2025", level="commune").values_list("pk", "code"))
    people = dict(
        Citizen.objects.filter(area_commune__isnull=False)
        .values_list("area_commune_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    officers = officers_per_commune(communes)

    # A second run on the same database reuses the trail (and says so) instead of doubling it.
    reused = AuditEvent.objects.filter(event_type=EventType.FORM_SUBMITTED).exists()
    started = time.perf_counter()
    inserted = AuditEvent.objects.count() if reused else bulk_insert(events(people, officers, rng))
    insert_s = time.perf_counter() - started
    print(f"{'reused' if reused else 'inserted'} {inserted:,} audit events in {insert_s:.0f} s", flush=True)

    started = time.perf_counter()
    tally_catch_up()
    first_catch_up_s = time.perf_counter() - started
    print(f"catch-up of the tallies: {first_catch_up_s:.1f} s", flush=True)

    ministry_unit = PoliceUnit.objects.get(level=PoliceUnit.Level.MINISTRY)
    leader, _created = User.objects.get_or_create(
        username="bench.c06", defaults={"role": User.Role.MINISTRY_ADMIN, "police_unit": ministry_unit}
    )
    minh = Actor(leader)
    due = Metric.objects.get(code="due_for_card")
    started = time.perf_counter()
    eligible = services.population_count(actor=minh, metric=due, as_of=START)
    population_s = time.perf_counter() - started
    print(f"eligible population {eligible:,} counted in {population_s:.1f} s", flush=True)

    campaign = Campaign.objects.filter(name="Benchmark").first() or services.campaign_create(
        actor=minh,
        name="Benchmark",
        starts_on=START,
        ends_on=START + timedelta(days=59),
        metrics=[
            services.MetricChoice(
                Metric.objects.get(code="forms_collected"), Metric.objects.get(code="residents")
            ),
            services.MetricChoice(Metric.objects.get(code="forms_approved")),
            services.MetricChoice(Metric.objects.get(code="cards_taken"), due),
            services.MetricChoice(Metric.objects.get(code="cards_delivered")),
        ],
    )
    cards = campaign.campaign_metrics.get(metric__code="cards_taken")
    provinces = list(AdminUnit.objects.filter(structure="2025", level="province").order_by("code"))
    for province in provinces:
        its_communes = set(province.children.values_list("pk", flat=True))
        services.target_set(
            actor=minh,
            campaign_metric=cards,
            unit=province,
            total=round(sum(n for pk, n in people.items() if pk in its_communes) * 0.6),
            per_day=None,
            reason="Chỉ tiêu benchmark",
        )
    hanoi = next(p for p in provinces if p.code == "01")
    hanoi_supervisor, _created = User.objects.get_or_create(
        username="bench.pc06.01",
        defaults={"role": User.Role.SUPERVISOR, "police_unit": PoliceUnit.objects.get(admin_unit=hanoi)},
    )
    for commune in AdminUnit.objects.filter(parent=hanoi, level="commune"):
        services.target_set(
            actor=Actor(hanoi_supervisor),
            campaign_metric=cards,
            unit=commune,
            total=None,
            per_day=max(1, round(people.get(commune.pk, 0) * 0.6 / 60)),
            reason="Chỉ tiêu benchmark",
        )
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    busiest = max((pk for pk in people if pk in communes), key=lambda pk: people[pk])
    day = (START + timedelta(days=DAYS_OF_WORK - 1)).isoformat()
    province_label = f"province dashboard (Hà Nội, {hanoi.children.count()} communes)"
    urls = {
        "national dashboard": f"/campaigns/{campaign.pk}/vn/?day={day}",
        province_label: f"/campaigns/{campaign.pk}/01/?day={day}",
        "commune dashboard (drill-down to officer/point/team/shift)": (
            f"/campaigns/{campaign.pk}/{communes[busiest]}/?day={day}"
        ),
        "national figures, API JSON": f"/api/v1/campaigns/{campaign.pk}/figures/vn?day={day}",
    }
    from dancu.accounts.services import api_token_create

    _token, secret = api_token_create(user=leader, name="bench")
    results: list[tuple[str, list[float]]] = []
    with override_settings(DANCU_REQUIRE_OTP=False, ALLOWED_HOSTS=["*"]):
        client = Client()
        client.force_login(leader)
        api_client = Client(headers={"Authorization": f"Bearer {secret}"})
        for label, url in urls.items():
            chosen = api_client if url.startswith("/api/") else client
            timed_get(chosen, url, 3)  # warm-up
            results.append((label, timed_get(chosen, url, args.requests)))
        # New work arrives between two reads: the read adds it before answering.
        fresh: list[float] = []
        for _ in range(10):
            bulk_insert(events({busiest: 300}, officers, rng, scale=1.0))
            fresh += timed_get(client, urls["national dashboard"], 1)
        results.append(("national dashboard right after ~800 new events (catch-up in the request)", fresh))

    tally_rows = DetailTally.objects.count()
    with open("/proc/loadavg", encoding="ascii") as load_file:
        load = " ".join(load_file.read().split()[:3])
    lines = [
        f"### campaigns — {vendor}, {Citizen.objects.count():,} citizens, "
        f"{AuditEvent.objects.count():,} audit events — {datetime.now(UTC):%Y-%m-%d}",
        "",
        f"- command: `{' '.join(['python', *sys.argv])}`"
        + (" (under scripts/with-postgres)" if vendor == "postgresql" else ""),
        f"- machine: {machine()}; load average at the end (`uptime`): {load}",
        f"- bulk insert of {inserted:,} audit events: "
        + (f"{insert_s:.0f} s" if not reused else "reused from an earlier run")
        + f"; first catch-up of the tallies over the whole trail: {first_catch_up_s:.1f} s "
        f"({tally_rows:,} drill-down rows); eligible population "
        f"({eligible:,}) counted in {population_s:.1f} s",
        "",
        "| request | n | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|",
        *(
            f"| {label} | {len(s)} | {statistics.median(s):.1f} | {percentile(s, 95):.1f} | {max(s):.1f} |"
            for label, s in results
        ),
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.record:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n" + report)


if __name__ == "__main__":
    main()
