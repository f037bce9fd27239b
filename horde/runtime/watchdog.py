"""The watchdog: names the script code that blocks the event loop.

A blocked loop cannot see itself: its own timers run late, after the fact,
and then nothing says who was to blame. So the watchdog is a thread. The loop
stamps `beat()` every few milliseconds (the health monitor's probe); the thread
checks the stamp every `CHECK_S`, and only while it is stale does it look at
the loop thread's stack (`sys._current_frames()`), to find the code of the
test script on top of it (`script_frames`): the task (or hook, or listener)
that was called, and the line it is at.

Invariants:

* a block is blamed on a frame only when the same frame object (one call of
  the task) was on the loop thread's stack at every check for `BLOCK_S`: a
  loop that is merely busy (20,000 users waking at once) runs many short
  callbacks, and no frame stays there that long;
* each site (the task's file:line) is reported once, and at most `MAX_SITES`
  per watchdog; `on_block(message)` runs in the watchdog's thread, so it must
  be thread-safe (the health monitor logs and hands it to the loop);
* while the loop is healthy the thread costs one clock read per `CHECK_S`;
  frames are held only between two checks of one stall, never across stalls;
* `stop()` ends the thread promptly and is idempotent; `start()` after `stop()`
  starts a fresh thread (one per watchdog at a time).
"""

from __future__ import annotations

import asyncio
import os
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from types import FrameType

__all__ = ["BLOCK_S", "CHECK_S", "MAX_SITES", "Watchdog", "script_frames"]

BLOCK_S = 0.5  # a task that holds the loop longer than this is named
CHECK_S = 0.1  # how often the thread looks; a stall is sampled about 5 times before blame
MAX_SITES = 20

_HORDE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_DEMO_DIR = _HORDE_DIR + "demo" + os.sep  # bundled example scripts are scripts
_ASYNCIO_DIR = os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep


def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    found = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    return tuple(os.path.abspath(p) + os.sep for p in found)


_LIBRARIES = _library_prefixes()


def _is_script(filename: str) -> bool:
    """True for a test script's own code (not horde's engine, the stdlib or a library)."""
    if filename.startswith("<"):
        return False  # <frozen importlib...>, <string>
    if filename.startswith(_HORDE_DIR):
        return filename.startswith(_DEMO_DIR)
    return not filename.startswith(_LIBRARIES)


def _loop_machinery(filename: str) -> bool:
    """asyncio's own frames: the loop that called the callback or stepped the task."""
    return filename.startswith(_ASYNCIO_DIR)


def script_frames(frame: FrameType | None) -> tuple[FrameType, FrameType] | None:
    """(outer, inner) of the innermost run of script frames on this stack, or None.

    Only frames inside the loop's current callback count: the walk outward
    stops at asyncio's own frames (with uvloop the loop itself has no Python
    frame, but `asyncio.run` has), and a user's greenlet stack ends at its
    runner. Code outside the loop (the program that called `asyncio.run`, the
    `horde` console script) stays on the stack all along and is never blamed.
    `inner` is the innermost script frame (the line the script is at); `outer`
    the outermost one of the unbroken run of script frames around it: the
    task, hook or listener that horde's engine (or the loop) called.
    """
    while frame is not None and not _is_script(frame.f_code.co_filename):
        if _loop_machinery(frame.f_code.co_filename):
            return None
        frame = frame.f_back
    if frame is None:
        return None
    inner = outer = frame
    frame = frame.f_back
    while frame is not None and _is_script(frame.f_code.co_filename):
        outer, frame = frame, frame.f_back
    return outer, inner


def _where(frame: FrameType) -> str:
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def describe(outer: FrameType, inner: FrameType) -> tuple[tuple[str, int], str]:
    """(site key, message) for a block found in `outer`, at `inner`."""
    code = outer.f_code
    name = getattr(code, "co_qualname", code.co_name)
    place = _where(outer)
    if inner is not outer:
        place += f", in {getattr(inner.f_code, 'co_qualname', inner.f_code.co_name)} at " \
                 f"{_where(inner)}"
    message = (
        f"{name} ({place}) blocked the event loop for more than {BLOCK_S:g} s: every user of "
        "this process waited meanwhile. Blocking calls (requests, sync drivers, CPU-bound "
        "work) stall the whole process; use self.client, horde.sleep or async code, or move "
        "the work out of the task"
    )
    return (code.co_filename, outer.f_lineno), message


class Watchdog:
    """Watches one event loop's thread from a thread of its own; see the module docstring."""

    def __init__(self, on_block: Callable[[str], None], *,
                 loop_thread: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._on_block = on_block
        self._loop_thread = threading.get_ident() if loop_thread is None else loop_thread
        self._clock = clock
        self._beat_at = clock()
        self._sites: set[tuple[str, int]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        """The loop is running (called from the loop, often)."""
        self._beat_at = self._clock()

    def start(self) -> None:
        self.stop()
        self.beat()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(self._stop,),
                                        name="horde-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2 * CHECK_S)

    def _watch(self, stop: threading.Event) -> None:
        candidate: FrameType | None = None
        since = 0.0
        while not stop.wait(CHECK_S):
            now = self._clock()
            stale = now - self._beat_at
            if stale < CHECK_S:
                candidate = None  # healthy: hold no frame
                continue
            found = script_frames(sys._current_frames().get(self._loop_thread))
            if found is None or found[0] is not candidate:
                candidate, since = (None, now) if found is None else (found[0], now)
                continue
            # Seen since `since` at every check, and the loop was already stale
            # about one check before that.
            if stale >= BLOCK_S and now - since >= BLOCK_S - 2 * CHECK_S:
                self._report(*found)
                candidate = None
        candidate = None

    def _report(self, outer: FrameType, inner: FrameType) -> None:
        site, message = describe(outer, inner)
        if site in self._sites or len(self._sites) >= MAX_SITES:
            return
        self._sites.add(site)
        try:
            self._on_block(message)
        except Exception:  # noqa: BLE001 - the watchdog must outlive a failing reporter
            pass
