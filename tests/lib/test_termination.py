"""SIGTERM noted, and acted on where a command reports its progress (dancu.lib.termination).

The signal is real: the test process sends it to itself, inside the block that notes it.
"""

from __future__ import annotations

import io
import os
import signal

import pytest

from dancu.lib.progress import progress_bar
from dancu.lib.termination import Terminated, exit_status, sigterm_stops


def test_sigterm_is_noted_in_the_block_and_stops_the_command_where_it_checks() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_stops() as stop:
        stop.check()  # nothing asked yet: the work goes on
        os.kill(os.getpid(), signal.SIGTERM)
        # Noted, not raised where it landed: the process is alive and this line runs.
        assert stop.requested
        with pytest.raises(Terminated) as stopped:
            stop.check()
    # A KeyboardInterrupt, so that the commands' Ctrl-C handling serves both; the status tells them apart.
    assert isinstance(stopped.value, KeyboardInterrupt)
    assert (exit_status(stopped.value), exit_status(KeyboardInterrupt())) == (143, 130)
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_bar_given_the_request_stops_at_its_next_update() -> None:
    with sigterm_stops() as stop:
        bar = progress_bar(total=10, unit=" dòng", label="Đọc", file=io.StringIO(), stop=stop)
        bar.update(3)
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(Terminated):
            bar.update(2)
        # The update that stopped was counted: the command's message says how far it got.
        assert bar.n == 5
        bar.close()
