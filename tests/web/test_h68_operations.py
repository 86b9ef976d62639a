"""An operator installing dancu from docs/operations.md alone: settings that fail loudly, naming the
variable, before anything runs; a database that cannot be reached, said in one line; and a settings
table that lists every variable the code reads (session 24, h68)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from tqdm import tqdm

from dancu.audit.models import AuditEvent, EventType
from dancu.config.env import env_choice, env_memory
from dancu.registry.models import Citizen

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "src" / "dancu" / "config" / "settings.py"
OPERATIONS = ROOT / "docs" / "operations.md"


def _dancu(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`dancu ARGS` in a fresh process, with only the DANCU_ variables given, as an operator runs it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DANCU_")}
    # The command line is this module's own literals, never outside input.
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "dancu.cli", *args],
        env=clean | {"DANCU_VAR_DIR": str(tmp_path)} | env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_misspelt_log_level_stops_the_command_in_one_line_naming_the_variable(tmp_path: Path) -> None:
    # It was refused by logging.config at django.setup(), as "ValueError: Unable to configure root
    # logger", under forty lines of traceback that never named DANCU_LOG_LEVEL.
    result = _dancu({"DANCU_LOG_LEVEL": "LOUD"}, tmp_path, "check")
    assert result.returncode == 2
    assert result.stderr == (
        "dancu: DANCU_LOG_LEVEL='LOUD' must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL\n"
    )


def test_any_bad_setting_is_one_line_and_traceback_still_shows_the_stack(tmp_path: Path) -> None:
    result = _dancu({"DANCU_SESSION_MINUTES": "a shift"}, tmp_path, "check")
    assert result.returncode == 2
    assert result.stderr == "dancu: DANCU_SESSION_MINUTES='a shift' is not a whole number\n"
    verbose = _dancu({"DANCU_SESSION_MINUTES": "a shift"}, tmp_path, "check", "--traceback")
    assert "Traceback" in verbose.stderr
    assert "DANCU_SESSION_MINUTES='a shift' is not a whole number" in verbose.stderr


def test_a_log_level_is_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    levels = ("DEBUG", "INFO", "WARNING")
    assert env_choice("DANCU_UNSET_FOR_TEST", default="WARNING", choices=levels) == "WARNING"
    monkeypatch.setenv("DANCU_LEVEL", " info ")
    assert env_choice("DANCU_LEVEL", default="WARNING", choices=levels) == "INFO"


@pytest.mark.parametrize("raw", ["lots", "2", "0GB", "-1GB", "2 gigabytes", "150%", "0%", "GB"])
def test_a_bad_match_memory_is_refused_naming_the_variable(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # DuckDB read it only when a match run opened its database, after the records were prepared: a
    # traceback ("Memory must have a number") minutes into a run, from the command or a worker's task.
    monkeypatch.setenv("DANCU_MATCH_MEMORY", raw)
    with pytest.raises(
        ImproperlyConfigured, match=rf"^DANCU_MATCH_MEMORY={re.escape(repr(raw))} is not a memory"
    ):
        env_memory("DANCU_MATCH_MEMORY", default="2GB")


@pytest.mark.parametrize("raw", ["2GB", "2gb", "1.5GB", "512MB", " 4 GiB ", "512MiB", "1TB", "80%"])
def test_a_match_memory_the_setting_takes_is_one_duckdb_reads(
    raw: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DANCU_MATCH_MEMORY", raw)
    value = env_memory("DANCU_MATCH_MEMORY", default="2GB")
    assert value == raw.strip()
    connection = duckdb.connect(config={"memory_limit": value})
    try:
        assert connection.execute("SELECT current_setting('memory_limit')").fetchone()
    finally:
        connection.close()


def test_the_match_memory_setting_stops_the_start(tmp_path: Path) -> None:
    result = _dancu({"DANCU_MATCH_MEMORY": "lots"}, tmp_path, "check")
    assert result.returncode == 2
    assert "DANCU_MATCH_MEMORY='lots' is not a memory size" in result.stderr


@pytest.mark.parametrize("raw", ["", " , "])
def test_allowed_hosts_set_but_empty_stops_the_start(raw: str, tmp_path: Path) -> None:
    # Django started without a word and answered every request, the health checks' too, with 400.
    result = _dancu({"DANCU_ALLOWED_HOSTS": raw}, tmp_path, "check")
    assert result.returncode == 2
    assert result.stderr == (
        "dancu: DANCU_ALLOWED_HOSTS names no host: every request would be refused (400); "
        "list the server's host names, comma-separated\n"
    )


def test_a_database_that_cannot_be_reached_is_said_in_one_line(tmp_path: Path) -> None:
    # `dancu setup` against a server that is down printed 99 lines of traceback.
    result = _dancu({"DANCU_DATABASE_URL": "postgres://dancu@127.0.0.1:1/dancu"}, tmp_path, "setup")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "dancu: Không kết nối được cơ sở dữ liệu của DANCU_DATABASE_URL / "
        "Cannot connect to the database of DANCU_DATABASE_URL: connection failed:"
    )
    assert "port 1 failed" in line
    # Nothing was written anywhere: no embedded database beside the configured one.
    assert not (tmp_path / "dancu.sqlite3").exists()


def test_every_setting_the_code_reads_is_in_the_operators_table() -> None:
    # DANCU_MATCH_AUTO_MERGE, DANCU_ISSUER_KEY_DIR and DANCU_DB_CONN_MAX_AGE were read but missing from
    # the table that says "Every setting comes from the environment".
    read = set(re.findall(r"env_\w+\(\s*\"(DANCU_[A-Z_]+)\"", SETTINGS.read_text()))
    assert {"DANCU_DATABASE_URL", "DANCU_SECRET_KEY", "DANCU_LOG_LEVEL"} <= read
    documented = set(re.findall(r"^\| `(DANCU_[A-Z_]+)` \|", OPERATIONS.read_text(), flags=re.MULTILINE))
    assert read - documented == set()


def test_the_operators_guide_names_what_a_backup_of_the_database_misses() -> None:
    text = OPERATIONS.read_text()
    assert "## In production: serving, upgrades, backups and routine jobs" in text
    for needed in ("DANCU_ISSUER_KEY_DIR", "dancu clearsessions", "dancu audit_verify", "dancu.config.wsgi"):
        assert needed in text.split("## In production", 1)[1].split("\n## ", 1)[0]


@pytest.mark.django_db
def test_ctrl_c_during_a_package_load_says_nothing_was_loaded_and_a_second_run_loads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C half-way through `dancu load_package` ended in a KeyboardInterrupt traceback out of psycopg,
    # leaving the operator to guess whether a part of the population was in; `dancu generate` and
    # `dancu import` say what was left and exit with 130.
    call_command(
        "generate",
        "--people",
        "60",
        "--seed",
        "68",
        "--communes",
        "00097",
        "--package",
        str(tmp_path / "p"),
        stdout=io.StringIO(),
    )

    def interrupted(self: tqdm, n: float = 1) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        # The command's progress bar is told of every piece copied: the operator's Ctrl-C lands there.
        patch.setattr(tqdm, "update", interrupted)
        err = io.StringIO()
        # Caught by hand: a KeyboardInterrupt let through would end the whole test session.
        stopped: BaseException | None = None
        try:
            call_command("load_package", str(tmp_path / "p"), stdout=io.StringIO(), stderr=err)
        except (SystemExit, KeyboardInterrupt) as exc:
            stopped = exc
    assert isinstance(stopped, SystemExit)
    assert stopped.code == 130
    assert err.getvalue().strip() == (
        "Đã dừng: chưa nạp gì, cơ sở dữ liệu dân cư vẫn trống như trước; chạy lại lệnh để nạp. "
        "Stopped: nothing was loaded and the registry is empty as before; run the same command to load it."
    )
    assert Citizen.objects.count() == 0
    assert not AuditEvent.objects.filter(event_type=EventType.POPULATION_GENERATED).exists()

    out = io.StringIO()
    call_command("load_package", str(tmp_path / "p"), stdout=out)
    assert "60 people" in out.getvalue()
    assert Citizen.objects.count() == 60


def test_commands_on_a_database_never_set_up_say_to_run_setup(tmp_path: Path) -> None:
    # An operator who skips `dancu setup`, or whose DANCU_DATABASE_URL names another database, got a
    # traceback ending in "relation ... does not exist" (on SQLite, "no such table") from every command.
    records = tmp_path / "so_ho_khau.csv"
    records.write_text(
        "full_name,gender,birth_date,address\n"
        'Nguyễn Văn An,Nam,1980-01-02,"Số 1, Phường Hoàn Kiếm, Thành phố Hà Nội"\n',
        encoding="utf-8",
    )
    for command in (["audit_seal"], ["import", str(records), "--source", "Sổ hộ khẩu"]):
        result = _dancu({}, tmp_path, *command)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert re.fullmatch(
            r"dancu: Cơ sở dữ liệu chưa được chuẩn bị \(\d+ migration chưa áp dụng\): hãy chạy dancu setup "
            r"/ The database is not prepared \(\d+ migrations not applied\): run dancu setup\n",
            result.stderr,
        )


def test_a_var_dir_that_cannot_be_a_directory_stops_the_start_naming_the_variable(tmp_path: Path) -> None:
    # A FileNotFoundError or FileExistsError out of pathlib, naming no variable, was all the operator saw.
    taken = tmp_path / "a-file"
    taken.write_text("not a directory")
    result = _dancu({"DANCU_VAR_DIR": str(taken / "var")}, tmp_path, "check")
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"dancu: DANCU_VAR_DIR={str(taken / 'var')!r} cannot be made a directory: "
    )
    assert "Traceback" not in result.stderr
    # A directory that does not exist yet is made, parents and all, as before.
    fresh = tmp_path / "new" / "var"
    assert _dancu({"DANCU_VAR_DIR": str(fresh)}, tmp_path, "check").returncode == 0
    assert fresh.is_dir()
