"""Typed readers for environment variables that fail loudly on bad values.

Settings come only from the environment (twelve-factor). A typo in a production variable must stop the
process at start-up with a message naming the variable, never fall back silently to a default.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_path(name: str, default: Path) -> Path:
    """A directory's path. Set but empty (a template's `NAME=` left blank) it would be Path(""), the
    process's working directory, which differs between the web server, the workers and a shell: refused."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not raw.strip():
        raise ImproperlyConfigured(
            f"{name} is set but empty: give it a directory's path, or unset it for the default {default}"
        )
    return Path(raw)


def env_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, *, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number of at least `minimum` and, when given, at most `maximum`."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if maximum is not None and not minimum <= value <= maximum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be from {minimum} to {maximum}")
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _float(name: str, raw: str, expected: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not {expected}") from None


def env_probability_or_off(name: str, *, minimum: float) -> float | None:
    """A probability in [minimum, 1], or None when unset or "off": for thresholds that act on their own."""
    raw = os.environ.get(name)
    if raw is None or raw.strip().lower() in _FALSE:
        return None
    value = _float(name, raw, "a probability (a number such as 0.9999) or off")
    if not minimum <= value <= 1:
        raise ImproperlyConfigured(f"{name}={raw!r} must be off or between {minimum} and 1")
    return value


def env_share(name: str, *, default: float) -> float:
    """A share of a whole: a number above 0 and at most 1 (0.01 is one in a hundred)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = _float(name, raw, "a number such as 0.01")
    if not 0 < value <= 1:
        raise ImproperlyConfigured(f"{name}={raw!r} must be above 0 and at most 1")
    return value


def env_choice(name: str, *, default: str, choices: tuple[str, ...]) -> str:
    """One of `choices`, in any letter case ("info" is INFO), returned as the choice spells it."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    for choice in choices:
        if raw.strip().upper() == choice.upper():
            return choice
    raise ImproperlyConfigured(f"{name}={raw!r} must be one of {', '.join(choices)}")


# A size as DuckDB's memory_limit reads it: a number and a unit of 1000^i (KB, MB, GB, TB) or 1024^i
# (KiB, MiB, GiB, TiB) bytes, or a share of the machine's memory ("80%"). DuckDB itself would refuse a
# bad value only when a match run opens its database, after the records are prepared, with a traceback
# that does not name the variable.
_MEMORY = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)\s*", re.IGNORECASE)


def env_memory(name: str, *, default: str) -> str:
    """A memory size such as 2GB, 512MiB or 80% (of the machine's memory), above zero."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    match = _MEMORY.fullmatch(raw)
    if match is None or float(match.group(1)) <= 0 or (match.group(2) == "%" and float(match.group(1)) > 100):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a memory size: write a number above 0 and a unit, such as 2GB, 512MB, "
            "4GiB, or a share of the machine's memory up to 100%"
        )
    return raw.strip()
