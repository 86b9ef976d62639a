"""Values typed on a command's line: a date, a file to write. Read, or refused naming the option and the rule.

Each command used to read its own `--today` and open its own output files, and each missed a case: a 30
February or a year no record can hold stopped `dancu match` with a traceback, and an output file in a
folder that does not exist did so only after an hour of matching, while an output named like the input
silently replaced it. These checks run before any work, so that a refusal costs nothing and loses nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from django.core.management.base import CommandError

from dancu.lib.errors import command_error

# `date.fromisoformat` also reads "20250701" and "2025-W27-2"; the commands promise YYYY-MM-DD, no more.
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def option_date(option: str, text: str, *, earliest: date, latest: date) -> date:
    """`text` as a YYYY-MM-DD day from `earliest` to `latest`, or a CommandError naming `option`."""
    stripped = text.strip()
    if not _DAY.fullmatch(stripped):
        raise command_error(
            f"{option} {text!r} không phải ngày dạng YYYY-MM-DD [date.format]",
            f"{option} {text!r} is not a YYYY-MM-DD date [date.format]",
        )
    try:
        day = date.fromisoformat(stripped)
    except ValueError:
        raise command_error(
            f"{option} {text!r}: không có ngày này trong lịch [date.day_range]",
            f"{option} {text!r}: no such day in the calendar [date.day_range]",
        ) from None
    if not earliest <= day <= latest:
        raise command_error(
            f"{option} {text!r} phải từ {earliest} đến {latest} [date.year_range]",
            f"{option} {text!r} must be from {earliest} to {latest} [date.year_range]",
        )
    return day


def _same(first: Path, second: Path) -> bool:
    """Whether two paths name one file: the same path once resolved, or, both existing, the same inode (a
    hard link, a bind mount)."""
    if first.resolve() == second.resolve():
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def check_output_files(outputs: Mapping[str, Path], *, inputs: Mapping[str, Path]) -> None:
    """Refuse, before any work, an output file that cannot be written or that would replace an input or
    another output. `outputs` and `inputs` map the option that names each file ("--out", "FILE") to it.

    Rules: `output.directory` (the path is a folder), `output.no_folder` (its folder does not exist),
    `output.is_input` (it is an input file, which writing would destroy), `output.same_file` (two outputs
    are one file, so one would overwrite the other) and `output.not_writable` (the system refuses to open
    it, or to create a file in its folder, for the reason it gives). A device or a pipe (/dev/stdout) is
    left alone: writing to it is a choice, and opening a pipe to try it would wait for its reader.
    """
    seen: dict[str, Path] = {}
    for option, path in outputs.items():
        if path.is_dir():
            raise command_error(
                f"{option} {path} là một thư mục, không phải tệp [output.directory]",
                f"{option} {path} is a directory, not a file [output.directory]",
            )
        folder = path.absolute().parent
        if not folder.is_dir():
            raise command_error(
                f"{option} {path}: thư mục {folder} không tồn tại [output.no_folder]",
                f"{option} {path}: the folder {folder} does not exist [output.no_folder]",
            )
        for input_option, input_path in inputs.items():
            if _same(path, input_path):
                raise command_error(
                    f"{option} {path} là tệp vào ({input_option}): ghi vào sẽ xóa mất nó [output.is_input]",
                    f"{option} {path} is the input file ({input_option}): writing it would destroy it "
                    "[output.is_input]",
                )
        for other_option, other in seen.items():
            if _same(path, other):
                raise command_error(
                    f"{option} và {other_option} là cùng một tệp {path} [output.same_file]",
                    f"{option} and {other_option} are the same file {path}: one would overwrite the other "
                    "[output.same_file]",
                )
        seen[option] = path
        _check_writable(option, path, folder)


def _check_writable(option: str, path: Path, folder: Path) -> None:
    # Asking the system is the only test that holds for every case: permission bits say nothing to root,
    # nor about a read-only mount or a file of /proc. Neither probe changes anything: an existing file is
    # opened to append nothing, and a new one is tried as a nameless temporary file in its folder.
    try:
        if path.is_file():
            with path.open("ab"):
                pass
        elif not path.exists():
            with tempfile.TemporaryFile(dir=folder):
                pass
    except OSError as exc:
        raise write_failed(option, path, exc) from None


def write_failed(option: str, path: Path, exc: OSError, *, vi: str = "", en: str = "") -> CommandError:
    """The refusal of an output file that failed as it was written (a full disk, a file of /proc), naming
    it and the system's reason; `vi` and `en` add what became of the work."""
    reason = exc.strerror or str(exc)
    return command_error(
        f"{option} {path}: không ghi được ({reason}) [output.not_writable]" + (f"; {vi}" if vi else ""),
        f"{option} {path}: cannot be written ({reason}) [output.not_writable]" + (f"; {en}" if en else ""),
    )
