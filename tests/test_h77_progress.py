"""Long commands run from cron, systemd or CI (stderr not a terminal) say how far they are: a plain line now
and then and one at the end, where tqdm alone stayed silent for the whole run. On a terminal the bar is
tqdm's, as before."""

from __future__ import annotations

import fcntl
import io
import os
import re
import select
import struct
import subprocess
import termios
from pathlib import Path

import pytest
from django.core.management import call_command
from tqdm import tqdm

from dancu.lib import progress
from dancu.lib.progress import PlainProgress, progress_bar
from tests.collection.test_import import csv_file, migrated_cli

LINE = re.compile(
    r"^\[\d\d:\d\d:\d\d\] (?:(?P<label>[^:]+): )?(?P<done>[\d,.]+\S*) / (?P<total>.+) \((?P<pct>\d+) %\)$"
)


def lines(text: str) -> list[re.Match[str]]:
    """Every line of `text` as a progress line; a line of another shape fails the match."""
    found = [LINE.match(line) for line in text.splitlines()]
    assert all(found), text
    return [m for m in found if m]


def test_a_terminal_still_gets_tqdms_own_bar() -> None:
    leader, follower = os.openpty()
    # A terminal of 24 rows by 100 columns: a new pseudo-terminal has 0 columns, where tqdm draws nothing.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    with os.fdopen(follower, "w", encoding="utf-8") as terminal:
        bar = progress_bar(total=4, unit=" dòng", file=terminal)
        assert type(bar) is tqdm
        bar.set_description("Đọc, kiểm tra / reading, checking")
        bar.update(4)
        bar.close()
    drawn = b""
    while select.select([leader], [], [], 0.5)[0]:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the follower closed: everything was read
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    text = drawn.decode("utf-8")
    # Redrawn in place with carriage returns, with the bar and its rate: no plain line.
    assert "\r" in text
    assert "Đọc, kiểm tra / reading, checking: 100%|" in text
    assert "4/4" in text
    assert not LINE.search(text.replace("\r", "\n"))


def test_elsewhere_a_line_at_most_every_interval_and_one_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    log = io.StringIO()
    bar = progress_bar(total=200_000, unit=" dòng", file=log, label="Nhập / importing")
    assert isinstance(bar, PlainProgress)
    for _ in range(4):
        bar.update(50_000)
    # A whole run shorter than the interval: one line, at the end, no carriage return.
    assert log.getvalue() == ""
    bar.close()
    bar.close()
    [end] = lines(log.getvalue())
    assert end.group("label", "done", "total", "pct") == (
        "Nhập / importing",
        "200,000",
        "200,000 dòng",
        "100",
    )
    assert "\r" not in log.getvalue()

    monkeypatch.setattr(progress, "INTERVAL_SECONDS", 0)
    log = io.StringIO()
    with progress_bar(total=3_000_000, unit="B", unit_scale=True, file=log) as bar:
        bar.set_description("Nạp gói / loading")
        bar.update(1_000_000)
        bar.update(2_000_000)
    assert [m.group("done", "total", "pct") for m in lines(log.getvalue())] == [
        ("0.00B", "3.00MB", "0"),
        ("1.00MB", "3.00MB", "33"),
        ("3.00MB", "3.00MB", "100"),
    ]
    log = io.StringIO()
    with progress_bar(total=None, unit=" người", file=log) as bar:
        bar.update(7)
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] 0 người\n\[\d\d:\d\d:\d\d\] 7 người\n", log.getvalue())


@pytest.mark.django_db
def test_generate_and_load_package_report_progress_to_a_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    generate = ("generate", "--people", "60", "--seed", "77", "--communes", "00097")
    call_command(*generate, "--out", str(tmp_path / "people.csv"), stdout=io.StringIO())
    [end] = lines(capsys.readouterr().err)
    assert end.group("label", "done", "total", "pct") == ("Sinh dân cư / generating", "60", "60 người", "100")

    # Lines along the way too, each further than the one before.
    monkeypatch.setattr(progress, "INTERVAL_SECONDS", 0)
    call_command(*generate, "--package", str(tmp_path / "p"), "--batch-size", "20", stdout=io.StringIO())
    found = lines(capsys.readouterr().err)
    assert len(found) > 2
    done = [int(m.group("done").replace(",", "")) for m in found]
    assert done == sorted(done)
    assert (done[0], done[-1]) == (0, 60)

    monkeypatch.setattr(progress, "INTERVAL_SECONDS", 10.0)
    call_command("load_package", str(tmp_path / "p"), stdout=io.StringIO())
    [end] = lines(capsys.readouterr().err)
    assert end.group("label", "pct") == ("Nạp gói / loading", "100")
    assert end.group("done") == end.group("total")
    assert end.group("total").endswith("B")


def test_an_import_run_from_cron_writes_plain_lines_to_its_stderr_pipe(tmp_path: Path) -> None:
    env, dancu = migrated_cli(tmp_path)
    path = csv_file(tmp_path)

    finished = subprocess.run(  # noqa: S603 - our own CLI
        [*dancu, "import", str(path), "--source", f"Sổ cũ h77 {os.getpid()}-{tmp_path.name}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    assert "\r" not in finished.stderr
    reading, promoting = lines(finished.stderr)
    assert reading.group("label", "done", "total", "pct") == (
        "Đọc, kiểm tra / reading, checking",
        "8",
        "8 dòng",
        "100",
    )
    assert promoting.group("label", "pct") == ("Ghi CSDL, hàng chờ / writing, queuing", "100")
    assert promoting.group("total").endswith(" bản ghi")


class _Pipe:
    """A stream that only writes, as some wrappers of stderr are: it cannot say whether it is a terminal."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_a_stream_that_cannot_say_it_is_a_terminal_gets_plain_lines() -> None:
    pipe = _Pipe()
    with progress_bar(total=3, unit=" dòng", label="Nhập / importing", file=pipe) as bar:  # type: ignore[arg-type]
        bar.update(3)
    assert [m.group("pct") for m in lines(pipe.text)] == ["100"]
    closed = io.StringIO()
    closed.close()
    assert isinstance(progress_bar(total=1, unit=" dòng", file=closed), PlainProgress)
