"""A CSV file whose reading fails part-way (the disk, the network share or the USB stick it is on gives an
I/O error): the error used to escape `dancu import` as a traceback and leave the run "running". Now the
rows before it are committed, the run fails with `file.read_failed` naming the last line read, and the
same command again, once the file can be read, goes on from there doubling nothing.

The failing medium is played by the file's handle, which raises EIO past a given line: the operating
system's error, not the import's code, is what the test stands in for.
"""

from __future__ import annotations

import errno
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from dancu.audit.models import AuditEvent, EventType
from dancu.collection.models import ImportRun, StagingRecord

pytestmark = pytest.mark.django_db

SOURCE = "Sổ hộ khẩu Hoàn Kiếm"
HEADER = "record_id,full_name,gender,birth_date,address"
ROWS = [
    f'HK-{n:04d},Người Thứ {chr(64 + n)},Nam,1990,"Số {n} phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'
    for n in range(1, 11)
]


class _FailingHandle(io.BufferedReader):
    """A file handle whose medium fails once `lines` lines (the header included) were read."""

    lines = 0

    def readline(self, size: int | None = -1, /) -> bytes:
        if _FailingHandle.lines <= 0:
            raise OSError(errno.EIO, "Input/output error")
        _FailingHandle.lines -= 1
        return super().readline(size)


def _failing_after(monkeypatch: pytest.MonkeyPatch, path: Path, lines: int) -> None:
    opened = Path.open

    def open_(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = opened(self, mode, *args, **kwargs)
        if self == path and mode == "rb" and _FailingHandle.lines > 0:
            return _FailingHandle(handle.detach())
        return handle

    _FailingHandle.lines = lines
    monkeypatch.setattr(Path, "open", open_)


def _import(path: Path) -> None:
    call_command("import", str(path), source=SOURCE, batch_size=2, stdout=io.StringIO(), stderr=io.StringIO())


def _staged(run: ImportRun) -> list[str]:
    return list(
        StagingRecord.objects.filter(run=run).order_by("row_number").values_list("raw__record_id", flat=True)
    )


def test_a_file_whose_reading_fails_part_way_keeps_the_rows_before_and_fails_naming_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "so_ho_khau.csv"
    path.write_text(HEADER + "\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    # The header and five rows read, the sixth row's line (line 7) fails.
    _failing_after(monkeypatch, path, lines=6)

    with pytest.raises(CommandError) as refused:
        _import(path)

    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: [file.read_failed] ")
    assert "past line 6 (Input/output error)" in message
    assert "sau dòng 6" in message
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert run.error.startswith("file.read_failed: ")
    assert run.finished_at is None
    # Batches of two: the fifth row, alone in the batch the failure cut short, is committed too.
    assert _staged(run) == [f"HK-{n:04d}" for n in range(1, 6)]
    failed = AuditEvent.objects.filter(event_type=EventType.IMPORT_FAILED, subject_id=str(run.pk))
    assert [event.data["code"] for event in failed] == ["file.read_failed"]

    # The medium works again: the same command goes on after the fifth row.
    _FailingHandle.lines = 0
    _import(path)

    run.refresh_from_db()
    assert (run.status, run.rows_read) == (ImportRun.Status.DONE, 10)
    assert _staged(run) == [f"HK-{n:04d}" for n in range(1, 11)]
