"""The gate that keeps a browser test's last requests from running into the flush after it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.live_server_gate import RequestGate


class _SlowApp:
    """A WSGI application that answers once `release` is set, and notes when its response is closed."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.closed = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        self.started.set()
        return self._body()

    def _body(self) -> Iterator[bytes]:
        try:
            self.release.wait(timeout=10)
            yield b"done"
        finally:
            self.closed.set()


def _answer(gate: RequestGate, into: list[tuple[str, bytes]]) -> None:
    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        into.append((status, b""))

    body = b"".join(gate({}, start_response))
    into[-1] = (into[-1][0], body)


def test_closing_waits_for_the_request_under_way_and_its_body() -> None:
    app = _SlowApp()
    gate = RequestGate(app)
    answers: list[tuple[str, bytes]] = []
    answering = threading.Thread(target=_answer, args=(gate, answers))
    answering.start()
    assert app.started.wait(timeout=10)

    closed = threading.Event()
    closing = threading.Thread(target=lambda: (gate.close(timeout=10), closed.set()))
    closing.start()
    # The request is still being answered: closing waits for it.
    assert not closed.wait(timeout=0.2)
    app.release.set()
    closing.join(timeout=10)
    answering.join(timeout=10)
    assert closed.is_set()
    assert app.closed.is_set()
    assert answers == [("200 OK", b"done")]


def test_a_closed_gate_answers_503_without_the_application_and_opens_again() -> None:
    app = _SlowApp()
    app.release.set()
    gate = RequestGate(app)
    gate.close(timeout=1)
    answers: list[tuple[str, bytes]] = []
    _answer(gate, answers)
    assert answers[0][0] == "503 Service Unavailable"
    assert not app.started.is_set()

    gate.open()
    _answer(gate, answers)
    assert answers[1] == ("200 OK", b"done")


def test_a_request_that_never_ends_fails_the_close() -> None:
    app = _SlowApp()
    gate = RequestGate(app)
    answering = threading.Thread(target=_answer, args=(gate, []))
    answering.start()
    assert app.started.wait(timeout=10)
    with pytest.raises(TimeoutError, match="1 request"):
        gate.close(timeout=0.1)
    app.release.set()
    answering.join(timeout=10)
