"""`dancu serve`: serve the platform over HTTP for the demo and for development, with its workers.

Production runs the WSGI application (dancu.config.wsgi) behind a real server and `dancu qcluster` as
a service of its own; this command is the convenience the quick start needs: static files served by
WhiteNoise and one background worker process started beside the server and stopped with it.
"""

from __future__ import annotations

import contextlib
import errno
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
# The largest TCP port number.
MAX_PORT = 65535


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
        check_address(options["addrport"])
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


def check_address(addrport: str) -> None:
    """Refuse, before the worker starts, an address runserver could not listen on (a port already in
    use, an address not of this machine); runserver itself refuses one it cannot read."""
    match = naiveip_re.match(addrport)
    if match is None:
        return
    host = (match["addr"] or "127.0.0.1").strip("[]")
    port = int(match["port"])
    if not 1 <= port <= MAX_PORT:
        # socket.bind() refuses it with an OverflowError, which no OSError handler catches: the operator
        # who typed 80000 for 8000 got a traceback.
        raise command_error(
            f"Không phục vụ được tại {addrport}: cổng phải từ 1 đến {MAX_PORT}; chưa khởi động gì",
            f"Cannot serve on {addrport}: the port must be 1 to {MAX_PORT}; nothing was started",
        )
    family = socket.AF_INET6 if match["ipv6"] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As the server's own socket does, so that a port left in TIME_WAIT by the last run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            hint_vi, hint_en = _bind_hint(exc)
            raise command_error(
                f"Không phục vụ được tại {addrport}: {exc.strerror} ({hint_vi}); chưa khởi động gì",
                f"Cannot serve on {addrport}: {exc.strerror} ({hint_en}); nothing was started",
            ) from None


def _bind_hint(exc: OSError) -> tuple[str, str]:
    """What the operator does about an address that cannot be listened on, by its cause: the one hint
    "is the port in use?" sent whoever mistyped a host name to look for another program."""
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return (
            "máy này không có địa chỉ đó: dùng 127.0.0.1, 0.0.0.0 hoặc một địa chỉ của máy",
            "this machine has no such address: use 127.0.0.1, 0.0.0.0 or one of its own addresses",
        )
    if exc.errno == errno.EACCES:
        return (
            "cổng dưới 1024 cần quyền quản trị: chọn cổng từ 1024",
            "a port below 1024 needs privileges: choose one from 1024",
        )
    return (
        "cổng đang được một chương trình khác dùng: dừng chương trình đó hoặc chọn cổng khác",
        "another program holds the port: stop it or choose another port",
    )


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
