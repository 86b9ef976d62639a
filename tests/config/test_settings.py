"""Settings come from the environment and fail loudly on bad values, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured

from dancu.collection.workers import MAX_WORKERS
from dancu.config.env import env_bool, env_int, env_list, env_share, env_str
from dancu.config.settings import _default_import_workers


def test_booleans_accept_the_usual_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, expected in [
        ("1", True),
        ("true", True),
        ("Yes", True),
        ("on", True),
        ("0", False),
        ("off", False),
    ]:
        monkeypatch.setenv("DANCU_X", raw)
        assert env_bool("DANCU_X", default=not expected) is expected
    monkeypatch.delenv("DANCU_X")
    assert env_bool("DANCU_X", default=True) is True


def test_a_bad_boolean_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANCU_X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DANCU_X='maybe' is not a boolean"):
        env_bool("DANCU_X", default=False)


def test_integers_are_checked_for_form_and_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANCU_N", "12")
    assert env_int("DANCU_N", default=1) == 12
    monkeypatch.setenv("DANCU_N", "twelve")
    with pytest.raises(ImproperlyConfigured, match="DANCU_N='twelve' is not a whole number"):
        env_int("DANCU_N", default=1)
    monkeypatch.setenv("DANCU_N", "0")
    with pytest.raises(ImproperlyConfigured, match="must be at least 1"):
        env_int("DANCU_N", default=1, minimum=1)


def test_integers_with_a_maximum_are_refused_above_it_naming_the_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DANCU_N", "32")
    assert env_int("DANCU_N", default=1, maximum=32) == 32
    for bad in ("33", "-1", "99999999999999999999"):
        monkeypatch.setenv("DANCU_N", bad)
        with pytest.raises(ImproperlyConfigured, match=f"DANCU_N={bad!r} must be from 0 to 32"):
            env_int("DANCU_N", default=1, maximum=32)


def test_shares_are_numbers_above_zero_up_to_one(monkeypatch: pytest.MonkeyPatch) -> None:
    assert env_share("DANCU_UNSET_FOR_TEST", default=0.01) == 0.01
    monkeypatch.setenv("DANCU_SHARE", "0.005")
    assert env_share("DANCU_SHARE", default=0.01) == 0.005
    for bad, message in (("1%", "is not a number such as 0.01"), ("0", "above 0"), ("1.5", "at most 1")):
        monkeypatch.setenv("DANCU_SHARE", bad)
        with pytest.raises(ImproperlyConfigured, match=f"DANCU_SHARE={bad!r}.*{message}"):
            env_share("DANCU_SHARE", default=0.01)


def test_lists_and_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DANCU_HOSTS", " a.vn, ,b.vn ")
    assert env_list("DANCU_HOSTS", []) == ["a.vn", "b.vn"]
    assert env_str("DANCU_UNSET_FOR_TEST", "fallback") == "fallback"


def _start(
    env: dict[str, str], tmp_path: Path, code: str = "import dancu.config.settings"
) -> subprocess.CompletedProcess[str]:
    """Run `code` (by default, import the settings) in a fresh interpreter, as a server start would."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DANCU_")}
    # The code run is one of this module's own literals, never outside input.
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        env=clean | {"DANCU_VAR_DIR": str(tmp_path)} | env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DANCU_DATABASE_URL": "mysql://u@h/db"}, "dancu runs on SQLite or PostgreSQL only"),
        ({"DANCU_DATABASE_URL": "not a url"}, "DANCU_DATABASE_URL"),
        ({"DANCU_SECRET_KEY": "short"}, "DANCU_SECRET_KEY must be at least 32 characters"),
        ({"DANCU_DEBUG": "perhaps"}, "DANCU_DEBUG='perhaps' is not a boolean"),
        ({"DANCU_LOGIN_FAILURE_LIMIT": "0"}, "DANCU_LOGIN_FAILURE_LIMIT='0' must be from 1 to 100"),
        # The bound of `dancu import --workers`: they are all forked at once.
        (
            {"DANCU_IMPORT_WORKERS": str(MAX_WORKERS + 1)},
            f"DANCU_IMPORT_WORKERS='{MAX_WORKERS + 1}' must be from 0 to {MAX_WORKERS}",
        ),
        ({"DANCU_IMPORT_WORKERS": "-1"}, f"DANCU_IMPORT_WORKERS='-1' must be from 0 to {MAX_WORKERS}"),
        # A session of a million years overflowed the date arithmetic at the first sign-in.
        (
            {"DANCU_SESSION_MINUTES": "1000000000000"},
            "DANCU_SESSION_MINUTES='1000000000000' must be from 5 to 10080",
        ),
        (
            {"DANCU_LOGIN_COOLOFF_MINUTES": "10081"},
            "DANCU_LOGIN_COOLOFF_MINUTES='10081' must be from 1 to 10080",
        ),
        ({"DANCU_LOGIN_FAILURE_LIMIT": "101"}, "DANCU_LOGIN_FAILURE_LIMIT='101' must be from 1 to 100"),
        (
            {"DANCU_TASK_TIMEOUT_SECONDS": "604801"},
            "DANCU_TASK_TIMEOUT_SECONDS='604801' must be from 60 to 604800",
        ),
        ({"DANCU_WORKERS": "65"}, "DANCU_WORKERS='65' must be from 1 to 64"),
        ({"DANCU_MATCH_WORKERS": "33"}, "DANCU_MATCH_WORKERS='33' must be from 1 to 32"),
        (
            {"DANCU_IMPORT_STALL_MINUTES": "99999999"},
            "DANCU_IMPORT_STALL_MINUTES='99999999' must be from 1 to 10080",
        ),
    ],
)
def test_a_bad_setting_stops_the_start_naming_the_variable(
    env: dict[str, str], message: str, tmp_path: Path
) -> None:
    result = _start(env, tmp_path)
    assert result.returncode != 0
    assert message in result.stderr


def test_a_week_long_session_is_the_longest_and_a_sign_in_saves_it(
    settings: Any, db: None, tmp_path: Path
) -> None:
    assert _start({"DANCU_SESSION_MINUTES": "10080"}, tmp_path).returncode == 0
    settings.SESSION_COOKIE_AGE = 10080 * 60
    session = SessionStore()
    session["who"] = "lan"
    session.save()
    assert session.get_expiry_age() == 10080 * 60


def test_the_import_workers_setting_takes_as_many_as_the_command_option(tmp_path: Path) -> None:
    assert _start({"DANCU_IMPORT_WORKERS": str(MAX_WORKERS)}, tmp_path).returncode == 0


@pytest.mark.parametrize(("cores", "workers"), [(1, 0), (2, 1), (3, 1), (4, 2), (5, 3), (6, 4), (64, 4)])
def test_an_import_has_a_worker_from_two_cores_and_one_per_core_beyond_two(cores: int, workers: int) -> None:
    # On two cores the importing process waits for the database a third of its time, which one worker
    # fills (bench/RESULTS.md, session 30); one core has nothing to spare for it.
    assert _default_import_workers(cores) == workers


def test_the_defaults_start_on_an_embedded_database_with_a_kept_secret(tmp_path: Path) -> None:
    assert _start({}, tmp_path).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert _start({}, tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key


def test_a_configured_secret_key_is_used_and_none_is_generated(tmp_path: Path) -> None:
    key = "a-secret-of-a-real-deployment-0123456789"
    result = _start(
        {"DANCU_SECRET_KEY": key}, tmp_path, "from dancu.config import settings; print(settings.SECRET_KEY)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == key
    assert not (tmp_path / "secret_key").exists()
