"""Where a result file goes: checked before the run, written without harming what is there.

`check_output(path)` runs before the test starts (the command line calls it
for `--json`, `--csv`, `--html`), so a typo in a directory name costs nothing
instead of the whole run. `write_output(path, text)` writes at the end.

The rules, the same in both:

* a path that does not exist yet, or an existing **regular file**, is
  written atomically: the text goes to a temporary file in the same
  directory, which then replaces the path (`os.replace`); a reader never sees
  half a file, and a failed write leaves the old file whole. Its directory
  must exist and take a new file (checked by creating and removing one:
  as root, permission bits prove nothing, a read-only mount does);
* an existing **character device** (`/dev/stdout`, `/dev/null`) or **FIFO**
  is opened and written in place, never replaced: replacing `/dev/null`
  would turn it into a regular file, for everyone, when horde runs as root;
* a **block device** (a disk), a socket or a directory is refused: no result
  belongs there;
* a symbolic link is followed: the file it points to is written, the link
  stays a link.

Every error is a `UsageError` reading ``PATH: reason``, PATH as the user
gave it (never a temporary file's name); the caller says which file it was
(``--json``, "the JSON result").
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from horde.errors import UsageError

__all__ = ["check_output", "write_output"]


def _reason(exc: OSError) -> str:
    # str(exc) would name whatever file the call touched (a temporary one);
    # the user gave another path, which the caller puts in front of this.
    return exc.strerror or type(exc).__name__


def _kind(mode: int) -> str | None:
    """None for what is written atomically or in place; else why it is refused."""
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISBLK(mode):
        return "is a block device (a disk); results go to files, character devices or FIFOs"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    return None


def _in_place(mode: int) -> bool:
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _existing_mode(real: Path) -> int | None:
    try:
        return os.stat(real).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None  # not there (yet): its directory decides


def check_output(path: str | os.PathLike[str]) -> None:
    """Raise `UsageError` unless `write_output(path, ...)` can be expected to work."""
    given = os.fspath(path)
    real = Path(os.path.realpath(given))
    try:
        mode = _existing_mode(real)
    except OSError as exc:
        raise UsageError(f"{given}: {_reason(exc)}") from None
    if mode is not None:
        refused = _kind(mode)
        if refused is not None:
            raise UsageError(f"{given} {refused}")
        if _in_place(mode):
            if not os.access(real, os.W_OK):
                raise UsageError(f"{given}: permission denied")
            return
    directory = real.parent
    if real == Path(os.path.abspath(given)):  # no link followed: name it as the user did
        directory = Path(os.path.dirname(given) or ".")
    if not directory.exists():
        raise UsageError(f"{given}: the directory {directory} does not exist")
    if not directory.is_dir():
        raise UsageError(f"{given}: {directory} is not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{real.name}.", dir=directory)
    except OSError as exc:
        raise UsageError(f"{given}: the directory {directory} does not take new files "
                         f"({_reason(exc)})") from None
    os.close(fd)
    os.unlink(probe)


def _write_in_place(real: Path, data: bytes) -> None:
    # No O_TRUNC: a character device or FIFO has nothing to truncate, and a
    # FIFO's open waits for its reader, as `echo > fifo` does.
    fd = os.open(real, os.O_WRONLY)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def _write_atomically(real: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", dir=real.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a result is meant to be shared
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_output(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` (UTF-8) to `path` by the rules above; `UsageError` on failure."""
    given = os.fspath(path)
    real = Path(os.path.realpath(given))
    data = text.encode("utf-8")
    try:
        mode = _existing_mode(real)
        refused = _kind(mode) if mode is not None else None
        if refused is not None:
            raise UsageError(f"{given} {refused}")
        if mode is not None and _in_place(mode):
            _write_in_place(real, data)
        else:
            _write_atomically(real, data)
    except OSError as exc:
        raise UsageError(f"{given}: {_reason(exc)}") from None
