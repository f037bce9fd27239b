"""The one exception hierarchy of horde.

Foreign exceptions (ssl, OSError, zmq, msgspec, ...) are translated into these
where the foreign library is imported, so callers catch horde's types only.

Three families:

* control flow a user script raises on purpose (`StopUser`, `RescheduleTask`,
  `InterruptTaskSet`); they are not errors and never counted as failures;
* `HordeError` and its children, problems horde reports to the person running
  the test (bad options, a broken script, a refused worker);
* `RequestError` and its children, what went wrong with one HTTP request. The
  client records them as failed requests (status 0) and, in scripts, raises
  them only where the script asked for it (`raise_for_status`).
"""

from __future__ import annotations

__all__ = [
    "StopUser",
    "RescheduleTask",
    "InterruptTaskSet",
    "HordeError",
    "UsageError",
    "ScriptError",
    "ProtocolError",
    "IllegalTransition",
    "RequestError",
    "ConnectError",
    "ConnectTimeout",
    "ReadTimeout",
    "ConnectionClosed",
    "ResponseParseError",
    "TLSError",
    "HTTPStatusError",
    "TooManyOpenFiles",
]


# --- control flow raised by user scripts -------------------------------------


class StopUser(Exception):
    """Raised in a task to stop this user for good (on_stop still runs).

    horde also raises it inside a user when the test is stopping, at the next
    request or wait, so that no new request starts after stop begins.
    """


class RescheduleTask(Exception):
    """Raised in a task to abandon it and pick the next one at once."""


class InterruptTaskSet(Exception):
    """Raised (through `TaskSet.interrupt`) to leave a TaskSet for its parent."""

    def __init__(self, reschedule: bool = True) -> None:
        super().__init__(reschedule)
        self.reschedule = reschedule


# --- problems reported to the person running the test ------------------------


class HordeError(Exception):
    """Base of every error horde reports in plain words."""


class UsageError(HordeError):
    """A wrong flag, option value or configuration file (exit code 2)."""


class ScriptError(HordeError):
    """A test script that cannot be loaded: syntax, import, no User class (exit code 2).

    `location` is "file:line" when known, so the message can point at it.
    """

    def __init__(self, message: str, location: str | None = None) -> None:
        super().__init__(f"{location}: {message}" if location else message)
        self.location = location


class ProtocolError(HordeError):
    """A malformed or unexpected master/worker message."""


class IllegalTransition(HordeError):
    """A run was asked to move to a state its lifecycle does not allow (a bug in horde)."""


# --- one HTTP request went wrong ---------------------------------------------


class RequestError(HordeError):
    """Base of per-request failures; `str(exc)` is the name shown in statistics."""


class ConnectError(RequestError):
    """Connection refused, unreachable host, or DNS failure."""


class ConnectTimeout(RequestError):
    """No connection within the connect timeout."""


class ReadTimeout(RequestError):
    """The response did not complete within the timeout."""


class ConnectionClosed(RequestError):
    """The peer closed or reset the connection before the response completed."""


class ResponseParseError(RequestError):
    """The peer answered something that is not valid HTTP/1.1."""


class TLSError(RequestError):
    """The TLS handshake failed (certificate, protocol, SNI)."""


class TooManyOpenFiles(RequestError):
    """EMFILE: the process ran out of file descriptors."""


class HTTPStatusError(RequestError):
    """Raised by `Response.raise_for_status()` for 4xx/5xx answers."""
