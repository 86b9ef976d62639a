"""The shared error helpers of `dancu.lib.errors`."""

from __future__ import annotations

from django.core.management.base import CommandError

from dancu.lib.errors import command_error


def test_command_error_gives_vietnamese_then_english():
    error = command_error("--people phải là số dương", "--people must be positive")

    assert isinstance(error, CommandError)
    assert str(error) == "--people phải là số dương / --people must be positive"
