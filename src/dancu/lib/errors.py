"""Domain errors that name the field and the rule, in Vietnamese and English.

Every refusal of bad input in dancu (a form, a CSV row, an API body) is a `FieldError`: the field it is
about, a stable rule code that tests, imports and reports can count, and the message in both languages.
Services raise `DomainError` with one or more of them; views and API handlers turn it into a form error
or a 422 body (409 for a `ConflictError`, 412 for a `PreconditionFailedError`), never a 500.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.management.base import CommandError
from django.utils import translation


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message_vi: str
    message_en: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def message(self, language: str = "vi") -> str:
        return self.message_en if language.startswith("en") else self.message_vi

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "code": self.code,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }


class DomainError(Exception):
    """One or more rules refused a write; nothing was written."""

    def __init__(self, errors: FieldError | Iterable[FieldError]):
        self.errors: list[FieldError] = [errors] if isinstance(errors, FieldError) else list(errors)
        if not self.errors:
            raise ValueError("DomainError needs at least one FieldError")
        super().__init__("; ".join(f"{e.field}: {e.code}: {e.message_en}" for e in self.errors))


class ConflictError(DomainError):
    """The write was meant for the record as the caller last read it, and the record changed since (a
    colleague acted on it): nothing was written. The caller reads it again and decides again; the API
    answers 409 Conflict rather than 422, since the request itself was sound."""


class PreconditionFailedError(ConflictError):
    """The same stale write as a `ConflictError`, named by a precondition of the HTTP request (its If-Match
    header) rather than by its body: the API answers 412 Precondition Failed (RFC 9110, 13.1.1)."""


class NotFoundError(Exception):
    """The record does not exist or the actor may not see it: callers cannot tell which, on purpose.

    `field` names the input that gave the id when a request carries several (an API body naming a
    citizen, a point and a device): the answer still does not say which of missing or forbidden it is,
    but it says which id to look at."""

    def __init__(self, *args: object, field: str = "") -> None:
        super().__init__(*args)
        self.field = field


def command_error(vi: str, en: str) -> CommandError:
    """A management command's refusal, like every refusal in dancu, in Vietnamese then English."""
    return CommandError(f"{vi} / {en}")


def command_error_naming_rules(exc: DomainError, *, where: str = "") -> CommandError:
    """A service's refusal as a management command's, one rule a line with its code, each line led by
    `where` (the file, or the run, it is about: the message is often read after the run, in a log)."""
    prefix = f"{where}: " if where else ""
    return CommandError(
        "\n".join(f"{prefix}[{error.code}] {error.message_vi} / {error.message_en}" for error in exc.errors)
    )


def command_error_from(exc: DomainError) -> CommandError:
    """A service's refusal as a management command's: every rule broken, in Vietnamese then English."""
    return command_error(
        "; ".join(error.message_vi for error in exc.errors),
        "; ".join(error.message_en for error in exc.errors),
    )


Read = TypeVar("Read")


def in_each_language(read: Callable[[], Read]) -> dict[str, Read]:
    """`read()` under Vietnamese and under English: the labels of choices and models are gettext_lazy, and
    a refusal carries its message in both languages whichever one is active."""
    found = {}
    for language in ("vi", "en"):
        with translation.override(language):
            found[language] = read()
    return found
