"""`dancu generate` stopped by SIGTERM stops as Ctrl-C does: the CSV cut short is removed, and it says so.

A CSV cut short looks like a smaller population and would be imported or matched as one. Before, SIGTERM
(`systemctl stop`, a scheduler's time limit) ended the process on the spot and left the half-written
file behind, with no word. The command runs in a process of its own and is sent the real signal.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from tests.collection.test_import import migrated_cli


def test_sigterm_while_writing_a_csv_removes_it_says_so_and_exits_143(tmp_path: Path) -> None:
    env, dancu = migrated_cli(tmp_path)
    out = tmp_path / "people.csv"
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [*dancu, "generate", "--people", "2000000", "--seed", "7", "--out", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if out.is_file() and out.stat().st_size > 100_000:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the command ended before it could be stopped"

    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)

    assert process.returncode == 143, err
    assert "Traceback" not in err
    assert f"Stopped: the unfinished file was removed ({out}); run the command again to start over." in err
    assert not out.exists()
