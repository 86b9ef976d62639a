"""What a load balancer and an operator's monitor ask of a running dancu (django-health-check).

- `/healthz/`, liveness: the process answers. It checks nothing else, so that a database outage does not
  make a supervisor restart every web process, which would not bring the database back.
- `/readyz/`, readiness: the process can serve pages. The database answers, its schema is the one the
  code expects (a node deployed before `dancu setup` ran its migrations would fail on every page), and
  the administrative units are loaded (without them no address or area can be read).
- `/status/`, for the monitor: readiness, and the background workers keep up. A schedule long overdue
  means no worker runs (imports started from a page wait, the access log goes unsealed); a task waiting
  long means they are stuck or too few.

Each answers 200 when every check passes and 500 naming the failing ones otherwise, as JSON, plain text,
HTML or OpenMetrics by the Accept header or `?format=`. No answer holds personal data or a database
error's text. docs/operations.md, "Health checks".
"""

from __future__ import annotations

import abc
import dataclasses
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.urls import path
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.exceptions import ServiceUnavailable, ServiceWarning
from health_check.views import HealthCheckView

from dancu.geo.models import AdminUnit

# A schedule's next run is moved on as soon as a worker's scheduler queues it, every few seconds while one
# runs; ten minutes behind means none has run for that long.
SCHEDULE_LATE = timedelta(minutes=10)
# An import of a million rows takes minutes on both workers; a task still waiting after half an hour
# means the workers are stuck or too few for the work.
TASK_WAITING_LATE = timedelta(minutes=30)


class _OrmCheck(HealthCheck):
    """A check that reads through the ORM, in the request's own thread and database connection (the
    library runs other synchronous checks in a pool of threads, each of which would keep a connection of
    its own open for good)."""

    async def run(self) -> None:
        await sync_to_async(self._check_tables)()

    def _check_tables(self) -> None:
        try:
            self.check()
        except DatabaseError:
            # A table missing (a node whose database `dancu setup` never prepared) or a database gone
            # since the Database check: the library would answer "Unknown Error" and log the traceback.
            # The answer says what to do instead, without the error's text (it may quote SQL).
            raise ServiceUnavailable(
                "its tables could not be read: run dancu setup (or see the Database check)"
            ) from None

    @abc.abstractmethod
    def check(self) -> None:
        """Raise ServiceUnavailable or ServiceWarning, in words without personal data, when unhealthy."""


# Once the schema is found current it stays so for the life of the process: new migrations come with new
# code, which comes with a new process. Reading the migration graph costs tens of milliseconds.
_schema_current: set[str] = set()


@dataclasses.dataclass
class Migrations(_OrmCheck):
    """Every migration of the code is applied to the database."""

    alias: str = "default"

    def check(self) -> None:
        if self.alias in _schema_current:
            return
        executor = MigrationExecutor(connections[self.alias])
        waiting = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if waiting:
            raise ServiceUnavailable(f"{len(waiting)} migrations not applied: run dancu setup")
        _schema_current.add(self.alias)


@dataclasses.dataclass
class AdministrativeUnits(_OrmCheck):
    """The provinces of both structures are loaded: every address and every officer's area needs them."""

    def check(self) -> None:
        loaded = set(
            AdminUnit.objects.filter(level=AdminUnit.Level.PROVINCE)
            .values_list("structure", flat=True)
            .distinct()
        )
        if loaded != set(AdminUnit.Structure.values):
            raise ServiceUnavailable("administrative units not loaded: run dancu setup")


@dataclasses.dataclass
class Workers(_OrmCheck):
    """The background workers run (no schedule long overdue) and keep up (no task waiting long)."""

    def check(self) -> None:
        now = timezone.now()
        overdue = Schedule.objects.filter(next_run__lt=now - SCHEDULE_LATE).order_by("next_run").first()
        if overdue is not None and overdue.next_run is not None:
            minutes = int((now - overdue.next_run).total_seconds() // 60)
            raise ServiceUnavailable(
                f"schedule {overdue.name!r} overdue by {minutes} min: no background worker is running"
            )
        waiting = OrmQ.objects.filter(lock__lte=now)
        oldest = waiting.order_by("lock").values_list("lock", flat=True).first()
        if oldest is not None and oldest < now - TASK_WAITING_LATE:
            minutes = int((now - oldest).total_seconds() // 60)
            raise ServiceWarning(
                f"{waiting.count()} tasks waiting, the oldest for {minutes} min: "
                "the workers are stuck or too few"
            )


_READY = (Database, Migrations, AdministrativeUnits)

urlpatterns = [
    path("healthz/", HealthCheckView.as_view(checks=()), name="healthz"),
    path("readyz/", HealthCheckView.as_view(checks=_READY), name="readyz"),
    path("status/", HealthCheckView.as_view(checks=(*_READY, Workers)), name="status"),
]
