"""The same book started under two source names at the same moment is imported once (review 28).

The same-file check of `import_start` read the runs, then made its own: two officers uploading the same
book at once under two source names both read that no run had it (neither saw the other's uncommitted run),
and both staged every row, a second form filed for each person without a PIN or CMND. The start now holds
the lock of the file's content until it commits, so the second waits, then sees the first's run.

On PostgreSQL the first start's transaction is held open, after its check and its run, while the second
runs in a thread on its own connection (`tests.races.race`): without the lock the second passed its check
at once and made a second run. SQLite lets one writer in at a time, so there the two starts run one
after the other, which must end the same way.
"""

from __future__ import annotations

from pathlib import Path

from dancu.audit.services import Actor
from dancu.collection.models import ImportRun
from dancu.collection.readers import FileRejectedError
from dancu.collection.services import import_start
from tests.races import race

BOOK = (
    "record_id,full_name,gender,birth_date,address\n"
    "R1,Đỗ Thị Hoa,Nữ,02/03/1970,Hà Nội\n"
    "R2,Lê Văn Bình,Nam,1961,Hà Nội\n"
)


def test_the_same_book_started_at_once_under_two_sources_is_imported_once(
    transactional_db: None, tmp_path: Path
) -> None:
    # Two officers' copies of the same book, uploaded under two names.
    first_copy, second_copy = tmp_path / "so_ho_khau.csv", tmp_path / "ban_sao.csv"
    first_copy.write_text(BOOK, encoding="utf-8")
    second_copy.write_bytes(first_copy.read_bytes())

    def start(path: Path, source_name: str) -> ImportRun:
        run, _source = import_start(path=path, source_name=source_name, actor=Actor(system="import"))
        return run

    second = race(
        lambda: start(first_copy, "Sổ hộ khẩu 2019"),
        lambda: start(second_copy, "Sổ hộ khẩu Hoàn Kiếm"),
    )

    assert isinstance(second, FileRejectedError), second
    assert second.code == "file.already_imported"
    run = ImportRun.objects.get()
    assert run.source == "Sổ hộ khẩu 2019"
    assert f"#{run.pk}" in second.message_vi
