"""Workbooks in the import tests: reading back the rejected rows' workbook an import writes (a file of
`dancu import`, `rejected_rows_xlsx`, or the page's download), and writing a cell longer than openpyxl
writes."""

from __future__ import annotations

import io
import zipfile
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


def cell_put_whole(path: Path, mark: str, text: str) -> Path:
    """Put `text` in the saved workbook `path` where the cell `mark` is, as another program would write it.

    openpyxl cuts a cell it writes at Excel's 32,767 characters, so a test of a longer cell writes a mark
    there and replaces it in the workbook's XML."""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    [holder] = [name for name, content in parts.items() if mark.encode() in content]
    parts[holder] = parts[holder].replace(mark.encode(), text.encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return path
