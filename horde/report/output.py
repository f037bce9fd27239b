"""Where a result file goes: checked before the run, written without harming what is there.

`check_output(path)` runs before the test starts (the command line calls it
for `--json`, `--csv`, `--html`), so a typo in a directory name costs nothing
instead of the whole run. `write_output(path, text)` writes at the end.

The rules, the same in both:

* a path that does not exist yet, or an existing **regular file** reached
  without a symbolic link, is written atomically: the text goes to a
  temporary file in the same directory, which then replaces the path
  (`os.replace`, which replaces a name and never follows a link); a reader
  never sees half a file, and a failed write leaves the old file whole. The
  new file keeps the old one's mode (and owner, when horde may set it); a
  new path gets 0666 less the umask, as `>` in a shell would. Its directory
  must exist and take a new file (checked by creating and removing one: as
  root, permission bits prove nothing, a read-only mount does);
* anything else is written **in place**, never replaced: a character device
  (`/dev/null`: replacing it would turn it into a regular file, for
  everyone, when horde runs as root), a FIFO, and whatever a symbolic link
  leads to (`/dev/stdout` is a link to the pipe, terminal or file behind
  horde's standard output). A path that is horde's own standard output or
  error is written through that descriptor, after what horde printed there,
  so `--json /dev/stdout > out.txt` keeps the summary in front of the JSON;
* a symbolic link is followed only when it belongs to us or to root; one
  another user owns is refused (see `_check_links`); a link to nothing is
  refused too (horde creates no file through a link);
* a **block device** (a disk), a socket or a directory is refused: no result
  belongs there.

A FIFO nobody reads would block the write forever: `hold_reader` (called
before the run by horde.cli.outputs) refuses one, and the final write opens
it without waiting and fails if its reader has gone.

Every error is a `UsageError` reading ``PATH: reason``, PATH as the user
gave it (never a temporary file's name); the caller says which file it was
(``--json``, "the JSON result").
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from horde.errors import UsageError

__all__ = ["check_output", "hold_reader", "write_output"]

_MAX_LINKS = 40  # as the kernel's own limit on links in one path walk


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


@dataclass(frozen=True)
class _Target:
    """What a path leads to: `st` is None for a path that does not exist yet."""

    st: os.stat_result | None
    atomic: bool


def _check_links(given: str) -> None:
    """Refuse a chain of symbolic links in which one belongs to another user.

    Why refuse instead of replacing the link with a file (round 1): links
    must be followed sometimes. `/dev/stdout` is a link (root's) to whatever
    is behind horde's standard output, and replacing it would break it for the
    whole machine; `latest.json -> runs/run5.json` is meant to be written
    through. Following every link is the hole: a link another user planted
    (`/tmp/x/r.json -> /etc/shadow`) would have root overwrite the file it
    points to. So, as `fs.protected_symlinks` does, a link is followed when it
    is ours; or root's, since root could write its target anyway. The kernel
    also trusts a link owned by its directory's owner; we do not, because
    root writing through alice's link in alice's directory is exactly the
    attack, and the kernel rule only covers sticky world-writable directories.
    """
    trusted = {0, os.geteuid()}
    here = given
    for _ in range(_MAX_LINKS):
        try:
            st = os.lstat(here)
        except OSError:
            # The end of a /proc/self/fd link ("pipe:[123]") or of a dangling
            # one: os.stat of the given path decides what it is.
            return
        if not stat.S_ISLNK(st.st_mode):
            return
        if st.st_uid not in trusted:
            via = "" if here == given else f" (through {here})"
            raise UsageError(f"{given}: a symbolic link{via} owned by another user (uid "
                             f"{st.st_uid}); horde follows only its own user's or root's "
                             "links: give the path of the file itself")
        here = os.path.join(os.path.dirname(here), os.readlink(here))


def _inspect(given: str) -> _Target:
    """How `given` would be written; `UsageError` when it must not be, OSError passes."""
    try:
        link = os.lstat(given)
    except (FileNotFoundError, NotADirectoryError):
        return _Target(None, atomic=True)  # not there (yet): its directory decides
    if not stat.S_ISLNK(link.st_mode):
        refused = _kind(link.st_mode)
        if refused is not None:
            raise UsageError(f"{given} {refused}")
        return _Target(link, atomic=stat.S_ISREG(link.st_mode))
    _check_links(given)
    try:
        st = os.stat(given)  # follows: the FIFO, terminal or file behind /dev/stdout
    except FileNotFoundError:
        raise UsageError(f"{given}: a symbolic link to nothing ({os.readlink(given)}); "
                         "horde creates no file through a link") from None
    refused = _kind(st.st_mode)
    if refused is not None:
        raise UsageError(f"{given} {refused}")
    return _Target(st, atomic=False)


def _create_temp(directory: str, name: str, mode: int) -> tuple[int, str]:
    """A new file `.NAME.xxxxxxxx` in `directory`, opened for writing (mode less the umask).

    Not `tempfile.mkstemp`: it forces 0600, where a new result should get
    what the umask allows, as `>` in a shell gives. O_EXCL never follows a link.
    """
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name")


def check_output(path: str | os.PathLike[str]) -> None:
    """Raise `UsageError` unless `write_output(path, ...)` can be expected to work."""
    given = os.fspath(path)
    try:
        target = _inspect(given)
    except OSError as exc:
        raise UsageError(f"{given}: {_reason(exc)}") from None
    if not target.atomic:
        if not os.access(given, os.W_OK):
            raise UsageError(f"{given}: permission denied")
        return
    directory = Path(os.path.dirname(given) or ".")
    if not directory.exists():
        raise UsageError(f"{given}: the directory {directory} does not exist")
    if not directory.is_dir():
        raise UsageError(f"{given}: {directory} is not a directory")
    try:
        fd, probe = _create_temp(str(directory), os.path.basename(given), 0o600)
    except OSError as exc:
        raise UsageError(f"{given}: the directory {directory} does not take new files "
                         f"({_reason(exc)})") from None
    os.close(fd)
    os.unlink(probe)


def _std_fd(st: os.stat_result) -> int | None:
    """1 or 2 when `st` is the file, pipe or terminal behind horde's stdout or stderr."""
    for fd in (1, 2):
        try:
            mine = os.fstat(fd)
        except OSError:
            continue
        if (mine.st_dev, mine.st_ino) == (st.st_dev, st.st_ino):
            return fd
    return None


def hold_reader(path: str | os.PathLike[str]) -> int | None:
    """Before the run: for a FIFO, a descriptor writing to it, held until horde exits.

    A FIFO nobody reads would make the write at the end wait forever, and a
    CI job must never hang: opening it without waiting fails (ENXIO) when no
    program reads it, and the run is refused (`UsageError`). When a reader is
    there, the descriptor must stay open: closing it would be an end of file
    for that reader, which would then stop before the result comes. None for
    anything but a FIFO, and for horde's own stdout or stderr (held already).
    """
    given = os.fspath(path)
    try:
        st = os.stat(given)
    except OSError:
        return None  # check_output said what is wrong with it
    if not stat.S_ISFIFO(st.st_mode) or _std_fd(st) is not None:
        return None
    try:
        return os.open(given, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise UsageError(f"{given}: a FIFO that no program reads: horde would wait "
                             "for a reader forever once the run ends; start the reader "
                             "first") from None
        raise UsageError(f"{given}: {_reason(exc)}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_in_place(given: str, st: os.stat_result, data: bytes) -> None:
    std = _std_fd(st)
    if std is not None:
        # Through horde's own descriptor, after what it printed: a file behind
        # `> out.txt` opened anew would be written from its start, over the summary.
        sys.stdout.flush()
        sys.stderr.flush()
        _write_all(std, data)
        return
    # O_NONBLOCK: a FIFO whose reader left fails (ENXIO) instead of waiting
    # forever; the descriptor is made blocking again for the write itself.
    try:
        fd = os.open(given, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise UsageError(f"{given}: no program reads this FIFO any more") from None
        raise
    try:
        os.set_blocking(fd, True)
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            raise UsageError(f"{given}: changed while horde was writing it (nothing written)")
        if stat.S_ISREG(now.st_mode):
            os.ftruncate(fd, 0)  # after the check: a file swapped in is left whole
        _write_all(fd, data)
    finally:
        os.close(fd)


def _write_atomically(given: str, old: os.stat_result | None, data: bytes) -> None:
    # A new path: 0666 less the umask. An existing file: its own mode, set
    # before a byte is written so the text is never more readable than it was.
    fd, tmp = _create_temp(os.path.dirname(given) or ".", os.path.basename(given),
                           0o666 if old is None else 0o600)
    try:
        try:
            if old is not None:
                if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                    try:
                        os.fchown(fd, old.st_uid, old.st_gid)
                    except PermissionError:
                        pass  # not root: the file becomes ours, as any rewrite makes it
                os.fchmod(fd, stat.S_IMODE(old.st_mode) & 0o777)
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, given)  # replaces the name: never follows a link planted there
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_output(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` (UTF-8) to `path` by the rules above; `UsageError` on failure."""
    given = os.fspath(path)
    data = text.encode("utf-8")
    try:
        target = _inspect(given)
        if target.atomic:
            _write_atomically(given, target.st, data)
        else:
            assert target.st is not None  # in place: something is there
            _write_in_place(given, target.st, data)
    except OSError as exc:
        raise UsageError(f"{given}: {_reason(exc)}") from None
