"""TLS client contexts through the standard `ssl` module.

Verification is on by default (system CA store, hostname check, SNI from the
URL's host). `insecure=True` turns both checks off, for test servers with
self-signed certificates. ALPN offers only "http/1.1": this client speaks
nothing else.

`client_context` is memoised (two possible values per process). That is the
one deliberate piece of module-level state in this package: a context is
immutable once built, safe to share between connections, and building one
loads the CA store (milliseconds), which thousands of users must not repeat.
"""

from __future__ import annotations

import functools
import ssl

__all__ = ["client_context", "make_context"]


def make_context(insecure: bool = False, cafile: str | None = None) -> ssl.SSLContext:
    """A new client context; `cafile` adds trusted CA certificates (PEM)."""
    context = ssl.create_default_context(cafile=cafile)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


@functools.lru_cache(maxsize=2)
def client_context(insecure: bool) -> ssl.SSLContext:
    """The shared default context (see module docstring for why it is cached)."""
    return make_context(insecure)
