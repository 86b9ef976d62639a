"""Background tasks: one way for every app to hand work to the `dancu qcluster` workers.

Work that outlives a request (an import started from a page, a scheduled report) is queued here rather
than run in the request. With ``DANCU_TASKS_INLINE`` set (the test suite, or a machine that runs no
workers) the task runs at once in the caller's process, through the same django-q2 code path, so what
the tests exercise is the task the workers would run.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def enqueue(func: str, *args: Any, name: str = "", **kwargs: Any) -> str:
    """Queue ``func`` (a dotted path, so the worker imports it fresh) and return the task id."""
    from django_q.tasks import async_task

    if name:
        kwargs["task_name"] = name
    return str(async_task(func, *args, sync=bool(settings.DANCU_TASKS_INLINE), **kwargs))
