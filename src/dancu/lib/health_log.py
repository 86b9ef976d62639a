"""The log of django-health-check without the stack of a check that failed as checks fail.

The library logs every failed check as a warning with its traceback (`health_check.base`): the stack of
our own `raise ServiceUnavailable(...)`, which says nothing the check's message does not. A monitor that
asks `/status/` every few seconds while the workers are down, or `dancu health_check status --no-http`
run from cron, then filled the log, and the cron mail, with tracebacks. The warning's line stays (which
check failed, when); an unexpected exception inside a check is logged by the library as an error and keeps
its stack.
"""

from __future__ import annotations

import logging


class FailedCheckWithoutStack(logging.Filter):
    """Drop the traceback of the warnings of logger `health_check`; keep the warning and every error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING:
            record.exc_info = None
            record.exc_text = None
        return True
