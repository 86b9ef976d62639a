"""The auditor's summary by reader (`audit.selectors.access_log_readers`): its time and its plan on a large
access log, on the database of DANCU_DATABASE_URL (PostgreSQL through scripts/with-postgres):

    DANCU_VAR_DIR=$(mktemp -d) scripts/with-postgres .venv/bin/python bench/access_readers.py

On a fresh database: `dancu setup`, 50,000 bare citizens over the communes of Hà Nội and Hồ Chí Minh City,
200 officers, and ROWS (default 300,000) access-log rows over 28 days written by `generate_series`, one in
ten by a system job. For the ministry's auditor (7 days, one day, 7 days at night, the whole log) and Hà
Nội's (7 days) it prints the selector's best of three and `EXPLAIN (ANALYZE, BUFFERS)` of its query."""

from __future__ import annotations

import io
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dancu.config.settings")
import django

django.setup()

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dancu.accounts.models import PoliceUnit, User
from dancu.audit.selectors import AccessLogQuery, access_log_readers
from dancu.geo.models import AdminUnit
from dancu.registry.models import Citizen

sys.path.insert(0, str(Path(__file__).parent))
from access_log import bare_citizen

ROWS = int(os.environ.get("ROWS", "300000"))
t = time.perf_counter()
call_command("setup", verbosity=0, stdout=io.StringIO())
print(f"setup {time.perf_counter() - t:.1f}s", flush=True)
hanoi = AdminUnit.objects.get(structure="2025", level="province", code="01")
communes = list(AdminUnit.objects.filter(parent=hanoi, level="commune").order_by("code"))
hcm = AdminUnit.objects.get(structure="2025", level="province", code="79")
hcm_communes = list(AdminUnit.objects.filter(parent=hcm, level="commune").order_by("code"))
everywhere = communes + hcm_communes
Citizen.objects.bulk_create(
    (bare_citizen(n + 1, everywhere[n % len(everywhere)]) for n in range(50_000)), batch_size=5_000
)
unit = PoliceUnit.objects.get(admin_unit=communes[0])
User.objects.bulk_create(
    User(username=f"bench.officer.{n:03}", role=User.Role.COLLECTOR, police_unit=unit, is_active=True)
    for n in range(200)
)
ministry = User.objects.create(
    username="bench.kt",
    role=User.Role.AUDITOR,
    police_unit=PoliceUnit.objects.get(level="ministry"),
    is_active=True,
)
province = User.objects.create(
    username="bench.kt.hn",
    role=User.Role.AUDITOR,
    police_unit=PoliceUnit.objects.get(admin_unit=hanoi),
    is_active=True,
)
t = time.perf_counter()
with connection.cursor() as cursor:
    cursor.execute(
        """
        WITH o AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(username ORDER BY id) AS names
                   FROM accounts_user WHERE username LIKE 'bench.officer.%%'),
             b AS (SELECT min(id) AS lo, max(id) - min(id) + 1 AS n FROM registry_citizen),
             s AS (SELECT g, 1 + (g::bigint * 7919) %% 200 AS k, b.lo + (g::bigint * 104729) %% b.n AS cid
                   FROM generate_series(1, %s) AS g, b)
        INSERT INTO audit_accesslog (accessed_at, actor_id, actor_label, citizen_id, action, channel, purpose,
                                     detail, reader_unit_id, area_commune_id, area_province_id)
        SELECT now() - (s.g * interval '8 seconds'),
               CASE WHEN s.g %% 10 = 0 THEN NULL ELSE o.ids[s.k] END,
               CASE WHEN s.g %% 10 = 0 THEN 'system:bench' ELSE o.names[s.k] END,
               c.id, 'view', 'web', 'bench', '', NULL, c.area_commune_id, c.area_province_id
        FROM s JOIN registry_citizen c ON c.id = s.cid, o
        ORDER BY s.g DESC
        """,
        [ROWS],
    )
    cursor.execute("ANALYZE audit_accesslog")
    cursor.execute("SELECT count(*), min(accessed_at), max(accessed_at) FROM audit_accesslog")
    print(
        "rows, oldest, newest:", cursor.fetchone(), f"written in {time.perf_counter() - t:.1f}s", flush=True
    )
    cursor.execute("SELECT version()")
    print(cursor.fetchone()[0])

today = timezone.localdate()
cases = [
    ("ministry, last 7 days", ministry, AccessLogQuery(since=today - timedelta(days=6), until=today)),
    (
        "ministry, one day",
        ministry,
        AccessLogQuery(since=today - timedelta(days=3), until=today - timedelta(days=3)),
    ),
    (
        "ministry, 7 days, at night",
        ministry,
        AccessLogQuery(since=today - timedelta(days=6), until=today, at_night=True),
    ),
    ("ministry, whole log", ministry, AccessLogQuery()),
    ("Hà Nội's auditor, last 7 days", province, AccessLogQuery(since=today - timedelta(days=6), until=today)),
]
for label, auditor, query in cases:
    with CaptureQueriesContext(connection) as captured:
        access_log_readers(actor=auditor, query=query)
    sql = next(q["sql"] for q in captured.captured_queries if "COUNT(DISTINCT" in q["sql"])
    timings = []
    for _ in range(3):
        t = time.perf_counter()
        summary = access_log_readers(actor=auditor, query=query)
        timings.append((time.perf_counter() - t) * 1000)
    every = ", ".join(f"{x:.0f}" for x in timings)
    print(f"\n=== {label}: {summary.readers} readers; selector {min(timings):.0f} ms best of 3 (all {every})")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        print("\n".join(row[0] for row in cursor.fetchall()))
print("\nSQL:", sql)
