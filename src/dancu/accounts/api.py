"""Bearer-token authentication for the officer API."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from dancu.accounts.selectors import officer_can_read_records
from dancu.accounts.services import api_token_authenticate


class OfficerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(token)
        if user is None or not officer_can_read_records(user):
            return None
        return user
