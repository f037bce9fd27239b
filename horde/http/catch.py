"""`catch_response=True`: the script decides whether a request counts as a failure.

`ResponseContextManager` is a `Response` (same attributes) that also carries
what the session would have recorded, and records it when its `with` block
ends, with the outcome the script chose:

* `success()` — recorded as a success, even for a 5xx or a transport error;
* `failure(reason)` — recorded as a failure with `str(reason)` as the error;
* neither — recorded as the session would have: failure for a transport
  error or a status >= 400, else success;
* an exception escaping the block — recorded as a failure with the
  exception's text ("ValueError: bad json"), then re-raised (as Locust does);
  horde's control-flow exceptions (StopUser, RescheduleTask,
  InterruptTaskSet) are not failures: the outcome is decided as above.

Misuse is an error, not a silent loss: `success()`/`failure()` on a response
whose `with` block was never entered, or after that block ended (the request
is already recorded), raise RuntimeError. Within the block the last call wins
(`failure(...)` then `success()` is a success), as in Locust.

Invariant: a request is recorded exactly once, at the first exit of the block;
a response obtained but never used in a `with` block is not recorded.
"""

from __future__ import annotations

from collections.abc import Coroutine
from types import TracebackType
from typing import Any

from ..errors import InterruptTaskSet, RequestError, RescheduleTask, StopUser
from ..stats import RecordFn
from .models import Response

__all__ = ["ResponseContextManager", "PendingCatch"]

_CONTROL_FLOW = (StopUser, RescheduleTask, InterruptTaskSet)
_UNDECIDED = object()


def _error_text(reason: object) -> str:
    if isinstance(reason, RequestError):
        return str(reason)  # already starts with its name
    if isinstance(reason, BaseException):
        text = str(reason)
        return f"{type(reason).__name__}: {text}" if text else type(reason).__name__
    return str(reason)


class ResponseContextManager(Response):
    """A Response whose recording waits for the end of a `with` block."""

    __slots__ = ("_record", "_rec_method", "_rec_name", "_rec_latency", "_rec_size",
                 "_rec_ttfb", "_outcome", "_reported", "_entered")

    def _arm(
        self, record: RecordFn, method: str, name: str, latency_us: int, size: int, ttfb_us: int
    ) -> None:
        self._record = record
        self._rec_method = method
        self._rec_name = name
        self._rec_latency = latency_us
        self._rec_size = size
        self._rec_ttfb = ttfb_us
        self._outcome: object = _UNDECIDED
        self._reported = False
        self._entered = False

    def success(self) -> None:
        """Count this request as a success (inside its `with` block; the last call wins)."""
        self._decide(None)

    def failure(self, reason: object) -> None:
        """Count this request as a failure with `reason` (text or exception) as its error."""
        self._decide(_error_text(reason))

    def _decide(self, outcome: str | None) -> None:
        if self._reported:
            raise RuntimeError(
                "success()/failure() after the `with` block ended: the request is already "
                "recorded; call them inside the block"
            )
        if not self._entered:
            raise RuntimeError(
                "success()/failure() need the response to be used as a context manager: "
                "`with self.client.get(..., catch_response=True) as r:` (or `async with`); "
                "the request is recorded when that block ends"
            )
        self._outcome = outcome

    def _natural_error(self) -> str | None:
        if self.error is not None:
            return str(self.error)
        if self.status_code >= 400:
            return f"HTTP {self.status_code}"
        return None

    def _report(self, exc: BaseException | None) -> None:
        if self._reported:
            return
        self._reported = True
        # Only the script's own errors fail the request: a cancellation (a hard
        # stop) or a control-flow exception leaves the answer to speak for itself.
        if isinstance(exc, Exception) and not isinstance(exc, _CONTROL_FLOW):
            error: str | None = _error_text(exc)
        elif self._outcome is _UNDECIDED:
            error = self._natural_error()
        else:
            error = self._outcome  # type: ignore[assignment]
        self._record(
            self._rec_method,
            self._rec_name,
            self._rec_latency,
            self._rec_size,
            error,
            self._rec_ttfb,
        )

    def __enter__(self) -> ResponseContextManager:
        self._entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._report(exc)  # never swallow: the script sees its own exception

    async def __aenter__(self) -> ResponseContextManager:
        self._entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._report(exc)


class PendingCatch:
    """What async code gets for `catch_response=True`: await it, or `async with` it."""

    __slots__ = ("_coro", "_response")

    def __init__(self, coro: Coroutine[Any, Any, Response]) -> None:
        self._coro = coro
        self._response: ResponseContextManager | None = None

    def __await__(self) -> Any:
        return self._coro.__await__()

    async def __aenter__(self) -> ResponseContextManager:
        response = await self._coro
        assert isinstance(response, ResponseContextManager)
        self._response = response
        response._entered = True
        return response

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._response is not None
        self._response._report(exc)
