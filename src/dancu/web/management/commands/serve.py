"""`dancu serve`: serve the platform over HTTP for the demo and for development, with its workers.

Production runs the WSGI application (dancu.config.wsgi) behind a real server and `dancu qcluster` as
a service of its own; this command is the convenience the quick start needs: static files served by
WhiteNoise and one background worker process started beside the server and stopped with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.core.management.commands.runserver import naiveip_re

from dancu.lib.errors import command_error

# How long the worker has to stop by itself (a task in hand ends its batch) before it is killed.
WORKER_STOP_GRACE_SECONDS = 30


class Command(BaseCommand):
    help = "Phục vụ ứng dụng tại địa chỉ cho trước. Serve dancu on an address (default 127.0.0.1:8000)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-worker", action="store_true", help="do not start the background worker (dancu qcluster)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Django's runserver ends with os._exit(1) when it cannot listen, which skips the finally block
        # below: a worker started first was left running, with nothing left to stop it. So the address is
        # tried before anything starts.
        _check_address(options["addrport"])
        worker = None
        if not options["no_worker"]:
            # The worker runs as its own process, exactly as in production, so that a long import keeps
            # going while the server answers pages; it is the same entry point with another command.
            worker = subprocess.Popen(
                [sys.executable, "-c", "from dancu.cli import main; main()", "qcluster"],
                # Its own process group, so that whatever it forks can be found and stopped with it.
                start_new_session=True,
            )
        # A service manager stops the server with SIGTERM; turning it into SystemExit runs the finally
        # block below, so the worker is stopped with the server instead of being left behind.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            call_command("runserver", options["addrport"], use_reloader=False, insecure_serving=True)
        finally:
            if worker is not None:
                _stop_group(worker)


def _check_address(addrport: str) -> None:
    """Refuse, before the worker starts, an address runserver could not listen on (a port already in
    use, an address not of this machine); runserver itself refuses one it cannot read."""
    match = naiveip_re.match(addrport)
    if match is None:
        return
    host = (match["addr"] or "127.0.0.1").strip("[]")
    family = socket.AF_INET6 if match["ipv6"] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As the server's own socket does, so that a port left in TIME_WAIT by the last run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(match["port"])))
        except OSError as exc:
            raise command_error(
                f"Không phục vụ được tại {addrport}: {exc.strerror} (cổng đang được dùng?); "
                "chưa khởi động gì",
                f"Cannot serve on {addrport}: {exc.strerror} (is the port in use?); nothing was started",
            ) from None


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the worker, then make sure nothing of its process group is left.

    SIGTERM goes to the worker's main process alone: django-q2 handles it there, stopping its sentinel
    and worker processes in order, in about a second. Sent to the whole group, the same signal reaches
    those processes before their parent can stop them, and the cluster then never ends (measured: still
    running a minute later). Whatever is left of the group after `WORKER_STOP_GRACE_SECONDS` (the
    cluster, or a process one of its tasks forked) is killed.
    """
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=WORKER_STOP_GRACE_SECONDS)
    # Nothing to kill is the usual end: the whole group has stopped.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
