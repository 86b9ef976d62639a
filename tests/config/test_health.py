"""The health endpoints (config/health.py): what a load balancer and a monitor are told, and when."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from dancu.config import health
from dancu.geo.models import AdminUnit

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture(autouse=True)
def _fresh_process() -> Iterator[None]:
    # The schema is checked once per process; each test starts as a new process would.
    health._schema_current.clear()
    yield
    health._schema_current.clear()


@pytest.fixture
def workers_keeping_up() -> None:
    """Every schedule due in the future, as a running worker's scheduler keeps them."""
    Schedule.objects.update(next_run=timezone.now() + timedelta(minutes=5))


def _failing(response: object) -> dict[str, str]:
    body = response.json()  # type: ignore[attr-defined]
    return {check: result for check, result in body.items() if result != "OK"}


def test_liveness_answers_without_asking_the_database(
    client: Client, django_assert_num_queries: object
) -> None:
    with django_assert_num_queries(0):  # type: ignore[operator]
        response = client.get("/healthz/", **JSON)

    assert response.status_code == 200
    assert response.json() == {}
    assert "no-cache" in response["Cache-Control"]


def test_a_set_up_database_is_ready_and_its_workers_keep_up(client: Client, workers_keeping_up: None) -> None:
    ready = client.get("/readyz/", **JSON)
    status = client.get("/status/", **JSON)

    assert ready.status_code == 200
    assert sorted(ready.json()) == [
        "AdministrativeUnits()",
        "Database(alias='default')",
        "Migrations(alias='default')",
    ]
    assert set(ready.json().values()) == {"OK"}
    assert status.status_code == 200
    assert sorted(status.json()) == sorted([*ready.json(), "Workers()"])
    assert set(status.json().values()) == {"OK"}


def test_the_endpoints_need_no_sign_in_and_answer_in_text_and_html(
    client: Client, workers_keeping_up: None
) -> None:
    text = client.get("/status/", HTTP_ACCEPT="text/plain")
    page = client.get("/readyz/", HTTP_ACCEPT="text/html")

    assert text.status_code == 200
    assert text.content.decode().splitlines() == [
        "Database(alias='default'): OK",
        "Migrations(alias='default'): OK",
        "AdministrativeUnits(): OK",
        "Workers(): OK",
    ]
    assert page.status_code == 200
    assert "AdministrativeUnits()" in page.content.decode()


def test_a_migration_not_applied_makes_the_node_not_ready(client: Client) -> None:
    """A node whose code is newer than the database's schema would fail on the pages that need it."""
    MigrationRecorder.Migration.objects.filter(app="registry").order_by("-id").first().delete()  # type: ignore[union-attr]

    response = client.get("/readyz/", **JSON)

    assert response.status_code == 500
    assert _failing(response) == {
        "Migrations(alias='default')": "Unavailable: 1 migrations not applied: run dancu setup"
    }


def test_a_current_schema_is_read_once_per_process(
    client: Client, django_assert_max_num_queries: object
) -> None:
    client.get("/readyz/", **JSON)
    # Taken away after the first answer, the applied migration is no longer asked about.
    MigrationRecorder.Migration.objects.filter(app="registry").order_by("-id").first().delete()  # type: ignore[union-attr]

    response = client.get("/readyz/", **JSON)

    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_database_without_its_units_is_not_ready(client: Client) -> None:
    """As after the migrations and before `dancu setup` loads the units. (The suite loads the reference
    data again after a test that empties the tables.)"""
    call_command("flush", interactive=False, verbosity=0)
    assert not AdminUnit.objects.exists()

    response = client.get("/readyz/", **JSON)

    assert response.status_code == 500
    assert _failing(response) == {
        "AdministrativeUnits()": "Unavailable: administrative units not loaded: run dancu setup"
    }


def test_a_schedule_long_overdue_means_no_worker_runs(client: Client, workers_keeping_up: None) -> None:
    late = Schedule.objects.order_by("pk").first()
    assert late is not None
    late.next_run = timezone.now() - timedelta(minutes=42)
    late.save()

    status = client.get("/status/", **JSON)
    ready = client.get("/readyz/", **JSON)

    assert status.status_code == 500
    assert _failing(status) == {
        "Workers()": f"Unavailable: schedule {late.name!r} overdue by 42 min: no background worker is running"
    }
    # The pages can still be served: a web node is not taken out of the load balancer for it.
    assert ready.status_code == 200


def test_a_schedule_just_due_is_not_late(client: Client, workers_keeping_up: None) -> None:
    Schedule.objects.update(next_run=timezone.now() - timedelta(minutes=3))

    assert client.get("/status/", **JSON).status_code == 200


def test_a_task_waiting_long_means_the_workers_do_not_keep_up(
    client: Client, workers_keeping_up: None
) -> None:
    now = timezone.now()
    OrmQ.objects.create(key="dancu", payload="x", lock=now - timedelta(minutes=45))
    OrmQ.objects.create(key="dancu", payload="y", lock=now - timedelta(minutes=1))
    # A task a worker holds (its lock in the future) is not waiting.
    OrmQ.objects.create(key="dancu", payload="z", lock=now + timedelta(minutes=10))

    response = client.get("/status/", **JSON)

    assert response.status_code == 500
    assert _failing(response) == {
        "Workers()": "Warning: 2 tasks waiting, the oldest for 45 min: the workers are stuck or too few"
    }


def test_a_task_waiting_a_short_while_is_normal(client: Client, workers_keeping_up: None) -> None:
    OrmQ.objects.create(key="dancu", payload="x", lock=timezone.now() - timedelta(minutes=20))

    assert client.get("/status/", **JSON).status_code == 200
