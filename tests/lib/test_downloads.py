"""Spreadsheet files as officers download them: streamed as the rows are read, and opened by Excel."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any

import openpyxl

from dancu.lib.downloads import xlsx_chunks


def _workbook(chunks: list[bytes]) -> Any:
    return openpyxl.load_workbook(io.BytesIO(b"".join(chunks)), read_only=True)


def test_yes_and_no_are_stored_as_true_and_false() -> None:
    chunks = list(xlsx_chunks([("Danh sách", ["Họ tên", "Đã mất", "Số con"], [["Lê Văn Tư", True, 2]])]))

    sheet = _workbook(chunks)["Danh sách"]
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["Họ tên", "Đã mất", "Số con"],
        ["Lê Văn Tư", True, 2],
    ]


def test_a_long_sheet_is_sent_while_its_rows_are_still_being_read() -> None:
    """The first bytes of a sheet leave before its last row is read: a large export starts at once, and
    the reads are logged as they go out (module docstring)."""
    read = 0

    def rows() -> Iterator[list[Any]]:
        nonlocal read
        for number in range(5000):
            read += 1
            # Digests compress poorly: the compressed sheet passes the sending size many times.
            yield [number, hashlib.sha256(str(number).encode()).hexdigest()]

    chunks = []
    read_when_sent = []
    for chunk in xlsx_chunks([("Hồ sơ", ["Số", "Mã"], rows())]):
        chunks.append(chunk)
        read_when_sent.append(read)

    # The fixed parts first, then pieces of the sheet before all 5,000 rows were read, then the rest.
    assert read_when_sent[0] == 0
    assert 0 < read_when_sent[1] < 5000
    assert len(chunks) > 3
    sheet = _workbook(chunks)["Hồ sơ"]
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 5001
    assert values[-1] == (4999, hashlib.sha256(b"4999").hexdigest())
