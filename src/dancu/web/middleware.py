"""No cache keeps what the application answers.

A commune police station's computers are shared, and so are a family's: after an officer signs out, the
browser's back button and its disk cache would show the last citizen's record to the next person at the
keyboard, and a proxy on the way could keep it for others. Every response of the application (pages,
the API, downloads) is therefore marked not to be stored, unless its view said how to cache it. The static
files are answered before this, by WhiteNoise, with their own long-lived caching.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers


class NeverCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
