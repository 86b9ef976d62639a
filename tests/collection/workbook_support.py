"""Reading back the rejected rows' workbook an import writes: a file (`dancu import`, `rejected_rows_xlsx`)
or the page's download."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.http import FileResponse
from openpyxl import load_workbook


def workbook_rows(source: Path | FileResponse) -> list[tuple[Any, ...]]:
    """Every row of the workbook's sheet, its titles first, as values."""
    if isinstance(source, FileResponse):
        source = io.BytesIO(b"".join(source.streaming_content))  # type: ignore[arg-type]
    return list(load_workbook(source, read_only=True).active.iter_rows(values_only=True))


def rejected_rows(source: Path | FileResponse) -> list[tuple[Any, ...]]:
    """The rejected rows of the workbook, without its titles."""
    return workbook_rows(source)[1:]
