"""The `dancu` console entry point: every Django management command runs through it."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dancu.config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import DatabaseError

    from dancu.lib.termination import Terminated, exit_status

    args = ["dancu", *(sys.argv[1:] if argv is None else argv)]
    try:
        execute_from_command_line(args)
    except KeyboardInterrupt as stop:
        # Ctrl-C in a command that does not say itself what it kept (`dancu import`, `dancu generate` and
        # `dancu load_package` do, and exit before this): the operator asked for the stop and needs no
        # stack of wherever it landed, only that the command stopped, and the status a shell expects.
        if "--traceback" in args:
            raise
        command = args[1] if len(args) > 1 else "dancu"
        by = "SIGTERM" if isinstance(stop, Terminated) else "Ctrl-C"
        sys.stderr.write(f"\ndancu {command}: Đã dừng ({by}) / Stopped ({by})\n")
        sys.exit(exit_status(stop))
    except ImproperlyConfigured as exc:
        # A bad setting (config/env.py names the variable and the rule): the operator needs that line,
        # not the forty lines of traceback above it. --traceback still shows them.
        if "--traceback" in args:
            raise
        sys.stderr.write(f"dancu: {exc}\n")
        sys.exit(2)
    except DatabaseError as exc:
        if "--traceback" in args:
            raise
        unreachable = _unreachable()
        if unreachable is not None:
            # The database cannot be reached (a server down, a wrong host, port or name): one line, not
            # the hundred of a traceback through psycopg.
            reason = " ".join(str(unreachable).split())
            sys.stderr.write(
                "dancu: Không kết nối được cơ sở dữ liệu của DANCU_DATABASE_URL / "
                f"Cannot connect to the database of DANCU_DATABASE_URL: {reason}\n"
            )
            sys.exit(1)
        waiting = _migrations_waiting(exc)
        if not waiting:
            raise
        # A database where `dancu setup` never ran (or DANCU_DATABASE_URL naming another one): every
        # command failed on its first table with "relation ... does not exist".
        sys.stderr.write(
            f"dancu: Cơ sở dữ liệu chưa được chuẩn bị ({waiting} migration chưa áp dụng): "
            f"hãy chạy dancu setup / The database is not prepared ({waiting} migrations not applied): "
            "run dancu setup\n"
        )
        sys.exit(1)


def _unreachable() -> BaseException | None:
    """The error of a new connection to the database, or None when one opens.

    Asked after the command failed: the command has closed its connections (BaseCommand.run_from_argv),
    so whether the failure was the database's absence is known by trying again."""
    from django.db import DatabaseError, connections

    connection = connections["default"]
    connection.close()
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        return exc
    return None


def _migrations_waiting(exc: BaseException) -> int:
    """How many migrations the database lacks, when `exc` is a table that does not exist; else 0."""
    from django.db import DatabaseError, connections
    from django.db.migrations.executor import MigrationExecutor

    cause = exc.__cause__
    undefined = getattr(cause, "sqlstate", None) == "42P01" or str(exc).startswith("no such table")
    if not undefined:
        return 0
    try:
        executor = MigrationExecutor(connections["default"])
        return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except DatabaseError:
        return 0


if __name__ == "__main__":
    main()
