"""Uploads whose file name is not UTF-8: the name is only a label, and the file is kept all the same.

Django's multipart parser decodes each part's headers as UTF-8 and drops a header it cannot decode. A
file sent under a name in a legacy encoding (a Windows-1258 or TCVN3 name from an old machine, sent by a
script) lost its Content-Disposition that way and, with it, the whole part: the import page answered
"choose a file" (`file.missing`) to an officer who had chosen one. The middleware below hands the parser
the parts' headers with every byte that is not UTF-8 replaced by U+FFFD, so the file arrives under a name
that says where it was unreadable; the files' contents pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

# Part headers longer than this are not looked at (Django refuses them anyway); the rest of the body is
# passed through as it came.
_MAX_HEADERS = 8 * 1024


class _PartHeadersAsUtf8:
    """A request body whose multipart part headers are made valid UTF-8, read as Django reads a body.

    A part's headers begin after a delimiter line (CRLF "--" boundary CRLF; the first one without the
    leading CRLF) and end at the first empty line. The boundary never occurs in a part's content (that is
    what a boundary is), so only headers are rewritten. Content is handed on as it arrives, keeping back
    only as many bytes as a delimiter split across two reads could need.
    """

    def __init__(self, stream: Any, boundary: bytes) -> None:
        self._stream = stream
        self._delimiter = b"\r\n--" + boundary + b"\r\n"
        self._pending = b"\r\n"  # so that the first delimiter, at the very start, looks like the others
        self._skip = 2  # ...and those two bytes are not the body's
        self._out = b""
        self._eof = False

    def _fill(self) -> None:
        chunk = b"" if self._eof else self._stream.read(64 * 1024)
        if not chunk:
            self._eof = True
        self._pending += chunk
        while True:
            start = self._pending.find(self._delimiter)
            if start < 0:
                break
            headers_at = start + len(self._delimiter)
            end = self._pending.find(b"\r\n\r\n", headers_at)
            if end < 0 and not self._eof and len(self._pending) - headers_at < _MAX_HEADERS:
                return  # the rest of these headers is still to come
            end = len(self._pending) if end < 0 else end
            headers = self._pending[headers_at:end]
            self._emit(self._pending[:headers_at] + headers.decode(errors="replace").encode())
            self._pending = self._pending[end:]
        keep = 0 if self._eof else len(self._delimiter) - 1
        cut = max(0, len(self._pending) - keep)
        self._emit(self._pending[:cut])
        self._pending = self._pending[cut:]

    def _emit(self, data: bytes) -> None:
        if self._skip:
            taken = min(self._skip, len(data))
            data, self._skip = data[taken:], self._skip - taken
        self._out += data

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self._out) < size) and not (self._eof and not self._pending):
            self._fill()
        if size < 0:
            size = len(self._out)
        data, self._out = self._out[:size], self._out[size:]
        return data

    def close(self) -> None:
        self._stream.close()

    def __getattr__(self, name: str) -> Any:
        # Whatever else Django asks of a request's stream, the stream underneath answers (never our own
        # private names, which exist from __init__ on: asking for them before is an error, not a loop).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._stream, name)

    def readline(self, size: int = -1) -> bytes:
        # Not used by the multipart parser; a plain (slower) line read for completeness.
        line = b""
        while not line.endswith(b"\n") and (size < 0 or len(line) < size):
            byte = self.read(1)
            if not byte:
                break
            line += byte
        return line


class UploadNamesMiddleware:
    """Before anything reads a multipart body (the CSRF check reads the form), wrap it in
    `_PartHeadersAsUtf8`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith("multipart/form-data") and hasattr(request, "_stream"):
            boundary = request.content_params.get("boundary", "") if request.content_params else ""
            if boundary and boundary.isascii():
                # Django reads the body through request._stream (HttpRequest.read); there is no public
                # hook for the parser's input.
                request._stream = _PartHeadersAsUtf8(request._stream, boundary.encode())  # type: ignore[assignment]
        return self.get_response(request)
