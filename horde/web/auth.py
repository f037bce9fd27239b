"""Optional HTTP basic authentication for every route of the web UI.

`basic_auth_middleware(user, password)` returns an aiohttp middleware that
answers 401 (with a `WWW-Authenticate` challenge, so browsers ask) unless the
request carries exactly these credentials. Both parts are compared in constant
time and both comparisons always run, so timing tells nothing about which part
was wrong. The WebSocket upgrade is an HTTP request like the others: browsers
send the credentials they cached for the page.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

__all__ = ["basic_auth_middleware", "REALM"]

REALM = "horde"


def _credentials(header: str) -> tuple[bytes, bytes] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    return user, password


def basic_auth_middleware(user: str, password: str) -> Middleware:
    """A middleware that lets through only requests with these credentials."""
    want_user = user.encode()
    want_password = password.encode()

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = _credentials(request.headers.get("Authorization", ""))
        if given is not None:
            user_ok = hmac.compare_digest(given[0], want_user)
            password_ok = hmac.compare_digest(given[1], want_password)
            if user_ok and password_ok:
                return await handler(request)
        return web.json_response(
            {"error": "authentication required"},
            status=401,
            headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
        )

    return check
