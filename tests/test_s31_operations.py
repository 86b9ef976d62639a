"""The ministry's engineer runs dancu from docs/operations.md alone (session 31): Ctrl-C in a command that
does not report its own stop (`dancu setup` among them) ends in one line and exit status 130 instead of a
traceback, and `dancu setup` says that running it again finishes the work; `dancu serve` refuses a port
out of range, and an address the machine does not have, in words that say what to do."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command


def _dancu_python(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh Python process with only DANCU_VAR_DIR among the DANCU_ variables: a SQLite
    database of its own under `tmp_path`, as an operator's first run has."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DANCU_")}
    # Ctrl-C as an operator's terminal delivers it: a command run in the background by a non-interactive
    # shell (a CI job) starts with SIGINT ignored, and Python then installs no KeyboardInterrupt for it.
    restore_ctrl_c = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    # The code is this module's own literals, never outside input.
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", restore_ctrl_c + code],
        env=clean | {"DANCU_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


# Ctrl-C --------------------------------------------------------------------------------------------------


def test_ctrl_c_in_a_command_that_does_not_report_its_stop_is_one_line_and_exit_130(tmp_path: Path) -> None:
    # The operator's Ctrl-C, as the terminal sends it: SIGINT to the process, in the middle of the command.
    result = _dancu_python(
        tmp_path,
        "from dancu.cli import main\n"
        "main(['shell', '-c', 'import os, signal; os.kill(os.getpid(), signal.SIGINT)'])\n",
    )

    # Was: a KeyboardInterrupt traceback through Django's management machinery, and status 1.
    assert result.returncode == 130
    assert result.stderr == "\ndancu shell: Đã dừng (Ctrl-C) / Stopped (Ctrl-C)\n"


@pytest.mark.slow
def test_ctrl_c_in_the_middle_of_setup_says_to_run_it_again_and_the_second_run_finishes(
    tmp_path: Path,
) -> None:
    # SIGINT arrives as the migrations begin (the first pre_migrate signal), which is where a stop lands
    # on a fresh database: applying the migrations is most of the first `dancu setup`.
    result = _dancu_python(
        tmp_path,
        "import os, signal\n"
        "from django.db.models.signals import pre_migrate\n"
        "def stop(**kwargs):\n"
        "    pre_migrate.disconnect(stop)\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "pre_migrate.connect(stop, weak=False)\n"
        "from dancu.cli import main\n"
        "main(['setup'])\n",
    )

    # Was: sixty lines of traceback through the migration executor, and status 1.
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr == (
        "Đã dừng (Ctrl-C): cơ sở dữ liệu chưa sẵn sàng; chạy lại dancu setup để làm tiếp, phần đã xong được "
        "giữ / Stopped (Ctrl-C): the database is not ready; run dancu setup again to finish, what was done "
        "is kept\n"
    )
    assert "Database ready." not in result.stdout
    # What the message promises: the same command, run again, prepares the database.
    again = _dancu_python(tmp_path, "from dancu.cli import main\nmain(['setup'])\n")
    assert again.returncode == 0, again.stderr
    assert again.stdout.rstrip().endswith("Database ready.")


# `dancu serve` on an address it cannot listen on ----------------------------------------------------------


def _refusal(addrport: str) -> str:
    with pytest.raises(CommandError) as refused:
        call_command("serve", addrport, "--no-worker")
    return str(refused.value)


def test_serve_on_a_port_out_of_range_is_refused_by_the_rule() -> None:
    # Was: "OverflowError: bind(): port must be 0-65535." under a traceback (80000 typed for 8000).
    assert _refusal("127.0.0.1:80000") == (
        "Không phục vụ được tại 127.0.0.1:80000: cổng phải từ 1 đến 65535; chưa khởi động gì / "
        "Cannot serve on 127.0.0.1:80000: the port must be 1 to 65535; nothing was started"
    )


def test_serve_on_an_address_this_machine_does_not_have_says_so_not_that_the_port_is_in_use() -> None:
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): no machine of ours has it, and binding it asks no network.
    refusal = _refusal("192.0.2.1:8000")
    # Was: "(is the port in use?)", which sent the operator looking for another program.
    assert "is the port in use" not in refusal
    assert refusal.endswith(
        "(this machine has no such address: use 127.0.0.1, 0.0.0.0 or one of its own addresses); "
        "nothing was started"
    )
    assert refusal.startswith("Không phục vụ được tại 192.0.2.1:8000: ")


def test_serve_on_a_port_another_program_holds_says_to_stop_it_or_choose_another() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        refusal = _refusal(f"127.0.0.1:{port}")
    assert refusal.endswith(
        "(another program holds the port: stop it or choose another port); nothing was started"
    )


# `dancu otp_code` on an account that is not the demo's ---------------------------------------------------


@pytest.mark.django_db
def test_otp_code_of_an_account_that_is_not_a_demo_account_says_where_the_code_is(
    django_user_model: type,
) -> None:
    django_user_model.objects.create_user(username="root.c06", password="Xx-very-long-pass-123")

    with pytest.raises(CommandError) as refused:
        call_command("otp_code", "root.c06")

    # Was: "'root.c06' is not a demo account", in English only and with nothing to do.
    assert str(refused.value) == (
        "'root.c06' không phải tài khoản demo: lệnh này chỉ in mã của tài khoản do dancu demo tạo; cán bộ "
        "đọc mã trên ứng dụng xác thực của mình (mất điện thoại: dancu otp_reset) / 'root.c06' is not a demo "
        "account: this command prints the codes of the accounts dancu demo made only; an officer reads the "
        "code in their authenticator app (a lost phone: dancu otp_reset)"
    )


def test_demo_on_a_port_another_program_holds_is_refused_before_it_prepares_anything() -> None:
    out = io.StringIO()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        # No database is open to this test: a demo that began preparing before it looked at the address
        # (as it did, for a minute or more, then refused) fails here on its first query instead.
        with pytest.raises(CommandError) as refused:
            call_command("demo", "--addrport", f"127.0.0.1:{port}", stdout=out)
    assert str(refused.value).endswith(
        "(another program holds the port: stop it or choose another port); nothing was started"
    )
    assert out.getvalue() == ""


# `dancu card keys --output` into a folder that is not there ----------------------------------------------


@pytest.mark.django_db
def test_card_keys_into_a_folder_that_does_not_exist_is_refused_by_the_rule(tmp_path: Path) -> None:
    target = tmp_path / "not-mounted" / "keys.json"

    with pytest.raises(CommandError) as refused:
        call_command("card", "keys", "--output", str(target), stdout=io.StringIO())

    # Was: FileNotFoundError's traceback.
    assert str(refused.value) == (
        f"--output {target}: thư mục {target.parent} không tồn tại [output.no_folder] / "
        f"--output {target}: the folder {target.parent} does not exist [output.no_folder]"
    )
    assert not target.parent.exists()


# Health checks ---------------------------------------------------------------------------------------------


def test_readiness_of_a_database_never_prepared_says_to_run_setup_without_a_traceback(tmp_path: Path) -> None:
    """A node deployed before `dancu setup` ran: every check that reads a table says what to do, where the
    units' check answered "Unknown Error" under a traceback of "no such table"."""
    done = _dancu_python(
        tmp_path,
        "from dancu.cli import main; main(['health_check', 'readyz', '--no-http'])",
    )
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert "Unknown Error" not in output
    assert "AdministrativeUnits(): Unavailable: its tables could not be read: run dancu setup" in output
    assert "migrations not applied: run dancu setup" in output
