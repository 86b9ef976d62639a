"""Every `dancu` command, the web server and each worker load the URL configuration (the system checks
do), and with it every view and API module. The libraries only some pages and commands use (pandas for the
matcher, openpyxl for spreadsheets, fpdf2 and fontTools for PDF documents) are imported where they are
used: loaded by every start they cost over a second of it on a slow machine, for nothing when the command
only checks, migrates or serves a page."""

from __future__ import annotations

import json
from pathlib import Path

from tests.config.test_s31_deploy import _run

LOADED_ONLY_WHEN_USED = ("pandas", "pyarrow", "numpy", "openpyxl", "fpdf", "fontTools", "splink", "duckdb")

_LOAD_EVERYTHING_A_START_LOADS = """
import json, sys
import django
django.setup()
from django.core import checks
from django.urls import get_resolver
get_resolver().url_patterns
checks.run_checks()
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in sys.argv[1:])))
"""


def test_loading_every_page_and_running_the_checks_imports_no_library_only_some_pages_use(
    tmp_path: Path,
) -> None:
    result = _run({}, tmp_path, "-c", _LOAD_EVERYTHING_A_START_LOADS, *LOADED_ONLY_WHEN_USED)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []
