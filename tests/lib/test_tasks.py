"""Background tasks: queued for the workers, or run inline where no worker runs."""

from __future__ import annotations

from typing import Any

import pytest
from django_q.models import OrmQ, Task

from dancu.lib.tasks import enqueue


@pytest.mark.django_db
def test_an_inline_task_runs_at_once_and_its_result_is_kept() -> None:
    task_id = enqueue("math.hypot", 3, 4, name="cạnh huyền")

    task = Task.objects.get(id=task_id)
    assert task.success
    assert task.result == 5.0
    assert task.name == "cạnh huyền"


@pytest.mark.django_db
def test_without_inline_the_task_waits_in_the_database_for_a_worker(settings: Any) -> None:
    settings.DANCU_TASKS_INLINE = False

    task_id = enqueue("math.hypot", 3, 4)

    assert not Task.objects.filter(id=task_id).exists()
    assert OrmQ.objects.count() == 1
