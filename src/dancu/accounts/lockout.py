"""What a failed sign-in is counted against (django-axes' AXES_LOCKOUT_PARAMETERS), and the channel that
the sign-in events name.

Officers are counted per account: they share station networks, so an address-based lockout would lock a
whole commune police station out after one person's typos, and an attacker rotating addresses could keep
guessing one officer's password.

Citizens are counted per account *and* address. Their user name is the PIN, printed on the card and on
many documents, so a lockout by PIN alone let anyone who knew it keep the holder out of the portal, five
tries every half hour, from anywhere. Counted with the address, the stranger locks only themselves out. An
attacker rotating addresses gains five password guesses per address and still needs the second factor
(the TOTP code, itself counted); the activation code (12 characters of 31) is out of reach of guessing
either way.
"""

from __future__ import annotations

from typing import Any

# The citizen's portal (dancu.eid.urls): its sign-in, activation and second-factor pages live under it.
PORTAL_PREFIX = "/me/"


def on_portal(request_or_attempt: Any) -> bool:
    """Whether a request (or a recorded attempt: axes passes either) was made on the citizen's portal."""
    path = getattr(request_or_attempt, "path_info", "") or ""
    return path.startswith(PORTAL_PREFIX)


def lockout_parameters(request_or_attempt: Any, credentials: Any = None) -> list[str | list[str]]:
    """Axes' lockout parameters for this request: the PIN with the client's address on the portal, the
    user name alone on the officers' pages."""
    if on_portal(request_or_attempt):
        return [["username", "ip_address"]]
    return ["username"]


def sign_in_channel(request_or_attempt: Any) -> str:
    """The channel of a sign-in event: "portal" for the citizen's pages, "web" for the officers'."""
    return "portal" if on_portal(request_or_attempt) else "web"
