"""Reading the pages the test client gets back: the HTML of an answer, and the errors shown under a field."""

from __future__ import annotations

import re
from typing import Any


def html(response: Any, status: int = 200) -> str:
    """The page's HTML, once its status is the one expected (200 unless told)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    return str(response.content.decode())


def field_errors(page: str, name: str) -> str:
    """The text of the error list shown under one form field ("" when there is none)."""
    match = re.search(rf'<ul class="errorlist" role="alert" data-field="{name}">(.*?)</ul>', page, re.S)
    return match.group(1) if match else ""
