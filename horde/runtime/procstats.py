"""This process's resident memory, read in a way that works when files run out.

A load generator runs out of open files (EMFILE) in the normal course of a big
test: every user holds a socket. `psutil.Process().memory_info()` opens
``/proc/PID/statm`` afresh on each call, so at that very moment it raises
``OSError: [Errno 24]`` (issue 8: that error ended a worker). `RssReader`
opens the file once, when files are still there, and re-reads it with
``os.pread``, which needs no new descriptor.

Invariants: `read()` never raises; it answers 0 when the figure cannot be had
(no procfs, closed reader); the reader holds at most one descriptor, released
by `close()` (idempotent).
"""

from __future__ import annotations

import os

__all__ = ["RssReader"]

_STATM = "/proc/self/statm"


class RssReader:
    """Resident set size of this process, in bytes; see the module docstring."""

    __slots__ = ("_fd", "_page")

    def __init__(self) -> None:
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        try:
            self._fd: int | None = os.open(_STATM, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self._fd = None  # not Linux, or already out of files: `read` answers 0

    def read(self) -> int:
        fd = self._fd
        if fd is None:
            return 0
        try:
            # statm: size resident shared text lib data dt (in pages)
            fields = os.pread(fd, 256, 0).split()
            return int(fields[1]) * self._page
        except (OSError, ValueError, IndexError):
            return 0

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
