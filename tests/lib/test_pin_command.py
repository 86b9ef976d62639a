import io
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command


def run_check(*pins, stdin=""):
    out, err = io.StringIO(), io.StringIO()
    call_command("pin", "check", *pins, stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return out.getvalue(), err.getvalue()


def test_valid_pins_print_one_decoded_line_each():
    out, err = run_check("001090123456", "079305012345")
    first, second = out.splitlines()
    assert first.startswith("001090123456")
    assert "001 Hà Nội" in first
    assert "Nam (male)" in first
    assert "1900–1999" in first
    assert "Năm sinh (birth year): 1990" in first
    assert "TP Hồ Chí Minh" in second
    assert "Nữ (female)" in second
    assert "2000–2099" in second
    assert "2005" in second
    assert err == ""


def test_birth_registered_abroad_is_said_so():
    out, _ = run_check("704285000001")
    assert "registered abroad" in out
    assert "704" in out


def test_invalid_pins_go_to_stderr_with_their_rule_and_the_command_fails():
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("pin", "check", "001090123456", "00109012345X", "003090123456", stdout=out, stderr=err)
    assert caught.value.returncode == 1
    assert "2 of 3 PINs are invalid" in str(caught.value)
    assert out.getvalue().count("\n") == 1
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("00109012345X  pin.format: Số định danh cá nhân phải gồm đúng 12 chữ số.")
    assert "The personal identification number must be exactly 12 digits." in lines[0]
    assert lines[1].startswith("003090123456  pin.place:")


def test_pins_are_read_from_stdin_when_none_are_given():
    out, _ = run_check(stdin="001090123456\n\n  038195555555 096307111111\n")
    assert [line.split()[0] for line in out.splitlines()] == ["001090123456", "038195555555", "096307111111"]


def test_dash_reads_stdin_in_place():
    out, _ = run_check("001090123456", "-", "096307111111", stdin="038195555555")
    assert [line.split()[0] for line in out.splitlines()] == ["001090123456", "038195555555", "096307111111"]


def test_no_pin_at_all_is_a_usage_error():
    with pytest.raises(CommandError) as caught:
        run_check(stdin="\n  \n")
    assert caught.value.returncode == 2


def test_exit_status_from_the_command_line(tmp_path):
    # The real entry point, as an operator's script sees it: the exit status is the contract.
    env = {**os.environ, "DANCU_VAR_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "dancu.cli", "pin", "check"]
    ok = subprocess.run([*command, "001090123456"], capture_output=True, text=True, env=env, check=False)  # noqa: S603 - fixed arguments
    assert ok.returncode == 0, ok.stderr
    assert "Hà Nội" in ok.stdout
    bad = subprocess.run(  # noqa: S603 - fixed arguments
        [*command, "-"],
        input="001090123456\n001090000000\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 1
    assert "pin.serial" in bad.stderr
    assert "Hà Nội" in bad.stdout
