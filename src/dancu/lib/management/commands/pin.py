"""`dancu pin check PIN [PIN ...]`: decode personal identification numbers and report the invalid ones.

An officer or an operator checking a batch of numbers gets one line per PIN on standard output (where the
birth was registered, sex, century and birth year) and one line per invalid PIN on standard error with the
rule it breaks. The exit status is 1 when any PIN is invalid, so the command can gate a script. With no
PIN, or with `-`, the PINs are read from standard input, whitespace-separated.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dancu.lib.pin import SEX_MALE, PinError, PinInfo, decode

STDIN_MARKER = "-"


def _expand(pins: Iterable[str], stdin: TextIO) -> Iterator[str]:
    for pin in pins:
        if pin == STDIN_MARKER:
            for line in stdin:
                yield from line.split()
        else:
            yield pin


def describe(info: PinInfo) -> str:
    """One bilingual line saying what a valid PIN encodes."""
    sex = "Nam (male)" if info.sex == SEX_MALE else "Nữ (female)"
    place = f"{info.place_code} {info.place_name}"
    if info.registered_abroad:
        place += " (registered abroad)"
    return (
        f"{info.pin}  Nơi đăng ký khai sinh (birth registered in): {place}; "
        f"Giới tính (sex): {sex}; "
        f"Thế kỷ (century): {info.century}–{info.century + 99}; "
        f"Năm sinh (birth year): {info.birth_year}"
    )


class Command(BaseCommand):
    help = (
        "Số định danh cá nhân: 'check' giải mã và kiểm tra từng số. "
        "(Personal identification numbers: 'check' decodes and validates each one.)"
    )
    # Decoding needs neither the database nor the project's system checks; skipping them keeps the
    # command usable on a machine where the database is not set up.
    requires_system_checks: list[str] = []
    # Tests and callers of call_command can hand in the stream that `-` reads from.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        check = actions.add_parser(
            "check",
            help="Giải mã và kiểm tra số định danh (decode and validate PINs)",
            description="Decode each PIN; '-' or no PIN reads whitespace-separated PINs from stdin.",
        )
        check.add_argument("pins", nargs="*", metavar="PIN", help="12-digit PIN, or '-' for stdin")

    def handle(self, *args: Any, **options: Any) -> None:
        # The subparser makes 'check' the only action, so reaching here means a check was asked for.
        stdin: TextIO = options.get("stdin") or sys.stdin
        requested: list[str] = options["pins"] or [STDIN_MARKER]
        total = invalid = 0
        for pin in _expand(requested, stdin):
            total += 1
            try:
                info = decode(pin)
            except PinError as exc:
                invalid += 1
                error = exc.error
                self.stderr.write(f"{pin}  {error.code}: {error.message_vi} ({error.message_en})")
                continue
            self.stdout.write(describe(info))
        if total == 0:
            raise CommandError(
                "Không có số định danh nào để kiểm tra. (No PIN given on the command line or stdin.)",
                returncode=2,
            )
        if invalid:
            raise CommandError(
                f"{invalid}/{total} số định danh không hợp lệ. ({invalid} of {total} PINs are invalid.)",
                returncode=1,
            )
