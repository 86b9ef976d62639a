"""An import's process killed between two batches, as the tests play it: the progress callback raises once
the batch is committed, where a crash, `kill -9` or a reboot would have ended the process, and nothing of
the batch that followed is written."""

from __future__ import annotations

from typing import Any

import pytest

from dancu.collection.models import ImportRun
from dancu.collection.services import import_promote, import_rows


class StopError(Exception):
    """The process dies between two batches."""


def staged_until_killed(*, rows: int, **import_args: Any) -> None:
    """`import_rows(**import_args)`, killed once `rows` rows or more are committed."""

    def die(current: ImportRun) -> None:
        if current.rows_read >= rows:
            raise StopError

    with pytest.raises(StopError):
        import_rows(on_batch=die, **import_args)


def promoted_until_killed(**promote_args: Any) -> None:
    """`import_promote(**promote_args)`, killed once its first chunk is committed."""

    def die(current: ImportRun) -> None:
        raise StopError

    with pytest.raises(StopError):
        import_promote(on_batch=die, **promote_args)
