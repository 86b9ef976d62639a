"""Bearer-token authentication for the API: officers who read records, and auditors who read the log."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from dancu.accounts.models import User
from dancu.accounts.selectors import auditor_can_read_log, officer_can_read_records
from dancu.accounts.services import api_token_authenticate


class _RoleToken(HttpBearer):
    """The token of an active account whose role the endpoint serves; any other answers 401."""

    @abstractmethod
    def allowed(self, user: User) -> bool: ...

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(token)
        if user is None or not self.allowed(user):
            return None
        return user


class OfficerToken(_RoleToken):
    def allowed(self, user: User) -> bool:
        return officer_can_read_records(user)


class AuditorToken(_RoleToken):
    def allowed(self, user: User) -> bool:
        return auditor_can_read_log(user)
