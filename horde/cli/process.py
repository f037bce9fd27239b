"""The process around a run: its event loop, and Ctrl-C / SIGTERM.

`new_loop` is the loop every role runs on (uvloop). Signals: the first stops
gently, the second at once. Every role that runs a test (a local headless run, a web-steered run, a
master) handles signals the same way, so it is written once here:

* the first SIGINT or SIGTERM says what happens and calls ``gentle`` (stop:
  no new request starts, requests in flight are awaited and counted);
* a second one says so and calls ``at_once`` (cancel what is in flight:
  those requests are not counted, and the summary says nothing about them,
  so the person is told here);
* the handlers live on the running loop only inside the ``with`` block, so
  no handler outlives the run (no import-time or global side effect).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from types import TracebackType

from rich.console import Console

__all__ = ["TwoStageSignals", "new_loop"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every POSIX platform
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class TwoStageSignals:
    """``with TwoStageSignals(console, "stopping", stop, force): ...``

    `what` names the first signal's effect ("stopping": the line then adds
    that requests in flight are awaited); a callable gives the whole line at
    the moment of the signal instead, for a role whose answer depends on
    its state (an idle web UI just quits).
    """

    def __init__(self, console: Console, what: str | Callable[[], str],
                 gentle: Callable[[], None], at_once: Callable[[], None]) -> None:
        self._console = console
        self._what = what
        self._gentle = gentle
        self._at_once = at_once
        self.seen = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    def _on_signal(self) -> None:
        self.seen += 1
        if self.seen == 1:
            line = self._what() if callable(self._what) else (
                f"{self._what}; waiting for requests in flight (press Ctrl-C again to stop "
                "at once)")
            self._console.print(f"horde: {line}", markup=False)
            self._gentle()
        else:
            if self.seen == 2:
                self._console.print("horde: stopping at once; requests still in flight are "
                                    "abandoned and not counted", markup=False)
            self._at_once()

    def __enter__(self) -> TwoStageSignals:
        self._loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            self._loop.add_signal_handler(sig, self._on_signal)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._loop is not None:
            for sig in _SIGNALS:
                self._loop.remove_signal_handler(sig)
            self._loop = None
