"""The shared error helpers of `dancu.lib.errors`."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from dancu.lib.errors import DomainError, FieldError, command_error


def test_command_error_gives_vietnamese_then_english():
    error = command_error("--people phải là số dương", "--people must be positive")

    assert isinstance(error, CommandError)
    assert str(error) == "--people phải là số dương / --people must be positive"


def test_a_refusal_names_at_least_one_rule() -> None:
    """A DomainError with no FieldError would reach a page or an API as a refusal that says nothing."""
    with pytest.raises(ValueError, match="at least one FieldError"):
        DomainError([])
    problem = FieldError("pin", "pin.format", "Số định danh gồm 12 chữ số", "A PIN has 12 digits")
    assert DomainError(problem).errors == [problem]
    assert str(DomainError([problem])) == "pin: pin.format: A PIN has 12 digits"
