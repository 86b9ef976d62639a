"""`dancu serve`: serve the platform over HTTP for the demo and for development.

Production runs the WSGI application (dancu.config.wsgi) behind a real server; this command is the
convenience the quick start needs, with static files served by WhiteNoise.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Phục vụ ứng dụng tại địa chỉ cho trước. Serve dancu on an address (default 127.0.0.1:8000)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("runserver", options["addrport"], use_reloader=False, insecure_serving=True)
