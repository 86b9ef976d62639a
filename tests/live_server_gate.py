"""A gate in front of the live server's application, closed when a browser test ends.

A browser page may still be loading something when its test ends: an image it asked for last (a card's
back, drawn on request), an htmx fragment. Closing the browser does not stop the server's thread that
answers it, and that thread goes on reading the database while Django flushes it for the next test. On
the in-memory SQLite of the tests, the flush then fails ("database table is locked") and leaves the rows
of the ended test in place, so the next test on that worker finds its user names taken. It happened once
in a loaded CI run.

The gate counts the requests being answered. When a test ends it refuses new ones (503, without a query)
and waits for those under way, so the flush always runs alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

# Long enough for the slowest page of a loaded machine (a chart page's screenshot took over 10 s), short
# enough that a request stuck for ever fails the test rather than the whole run.
WAIT_SECONDS = 60.0

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestGate:
    """A WSGI application that answers through `app` while open, and tells when no request is under way."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self._changed = threading.Condition()
        self._running = 0
        self._open = True

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._changed:
            if not self._open:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8")])
                return [b"The test this server answered for has ended."]
            self._running += 1
        try:
            response = self.app(environ, start_response)
            # The whole body is made and the response closed (Django's `request_finished`, which closes
            # the thread's database connections) before the request stops counting: a streamed export
            # reads the database while it is iterated, not when the view returns.
            try:
                return [b"".join(response)]
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()

    def open(self) -> None:
        with self._changed:
            self._open = True

    def close(self, timeout: float = WAIT_SECONDS) -> None:
        """Refuse new requests and wait until none is under way; raise if one still is after `timeout`."""
        with self._changed:
            self._open = False
            if not self._changed.wait_for(lambda: self._running == 0, timeout=timeout):
                raise TimeoutError(
                    f"{self._running} request(s) of the live server still running after {timeout:.0f} s"
                )


def gate_installed(httpd: Any) -> RequestGate:
    """The gate in front of the application of `httpd` (a wsgiref server), put there on the first call."""
    app = httpd.get_app()
    if isinstance(app, RequestGate):
        return app
    gate = RequestGate(app)
    httpd.set_app(gate)
    return gate
