"""Result files: atomic for regular files, in place for devices and FIFOs, checked up front.

Device nodes here are the test's own, made with mknod in a temporary
directory (a null and a full device), never the system's /dev entries: if
the code under test replaced one, only the test's copy would be lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from horde.errors import UsageError
from horde.report import RunInfo, write_csv, write_json
from horde.report.html_report import write_html
from horde.report.output import check_output, hold_reader, write_output
from horde.stats import StatsSnapshot

NULL = os.makedev(1, 3)
FULL = os.makedev(1, 7)


def _device(path: Path, dev: int, kind: int = stat.S_IFCHR) -> Path:
    try:
        os.mknod(path, kind | 0o666, dev)
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    if kind == stat.S_IFCHR:
        try:
            os.close(os.open(path, os.O_WRONLY))
        except OSError as exc:  # a container may forbid using device nodes
            pytest.skip(f"device nodes cannot be opened here: {exc}")
    return path


def _is_char_device(path: Path, dev: int) -> bool:
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == dev


@contextlib.contextmanager
def _reading(fifo: Path) -> Iterator[list[bytes]]:
    """A reader on `fifo` in a thread; the list holds what it read once the block ends."""
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield got
    finally:
        reader.join(10)
        assert not reader.is_alive(), "the FIFO was never closed by its writer"


def _hold_when_read(fifo: Path) -> int:
    """hold_reader's descriptor once the reader thread has opened `fifo` (bounded)."""
    for _ in range(2000):
        try:
            fd = hold_reader(fifo)
        except UsageError:
            threading.Event().wait(0.005)  # the reader thread has not opened it yet
            continue
        assert fd is not None
        return fd
    raise AssertionError("the reader never opened the FIFO")


def test_a_regular_file_is_replaced_atomically(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old")
    inode = path.stat().st_ino
    write_output(path, "new")
    assert path.read_text() == "new"
    assert path.stat().st_ino != inode  # a new file took the name: no reader saw half of it
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no temporary left


def test_a_character_device_is_written_in_place_and_stays_one(
        tmp_path: Path, snapshot: StatsSnapshot, info: RunInfo) -> None:
    null = _device(tmp_path / "null", NULL)
    check_output(null)
    write_json(null, snapshot, info)
    write_html(null, snapshot, info)
    write_output(null, "x")
    assert _is_char_device(null, NULL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_a_link_to_a_device_is_followed_not_replaced(tmp_path: Path) -> None:
    null = _device(tmp_path / "null", NULL)
    link = tmp_path / "result.json"
    link.symlink_to(null)
    write_output(link, "x")
    assert link.is_symlink() and _is_char_device(null, NULL)


def test_a_link_to_a_file_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "runs" / "run1.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    check_output(link)
    write_output(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_full_device_fails_naming_the_given_path(tmp_path: Path,
                                                  snapshot: StatsSnapshot,
                                                  info: RunInfo) -> None:
    full = _device(tmp_path / "full", FULL)
    check_output(full)  # writable as far as anyone can tell before writing
    with pytest.raises(UsageError) as failed:
        write_json(full, snapshot, info)
    assert str(failed.value) == f"{full}: No space left on device"
    assert _is_char_device(full, FULL)


def test_a_fifo_is_written_in_place(tmp_path: Path, snapshot: StatsSnapshot,
                                    info: RunInfo) -> None:
    fifo = tmp_path / "results.fifo"
    os.mkfifo(fifo)
    check_output(fifo)  # must not open it: that would wait for a reader
    with _reading(fifo) as got:
        held = _hold_when_read(fifo)
        write_json(fifo, snapshot, info)
        os.close(held)  # the reader's end of file: horde's exit, on the command line
    assert json.loads(got[0])["total"]["requests"] == 12
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.fifo"]


def test_csv_files_go_through_the_same_rules(tmp_path: Path, snapshot: StatsSnapshot) -> None:
    null = _device(tmp_path / "x_stats.csv", NULL)
    write_csv(tmp_path / "x", snapshot)
    assert _is_char_device(null, NULL)
    assert (tmp_path / "x_failures.csv").read_text().startswith("Method,Name,Error")


@pytest.mark.parametrize(("make", "reason"), [
    (lambda d: d / "missing" / "r.json", "the directory {d}/missing does not exist"),
    (lambda d: (d / "file").write_text("") or d / "file" / "r.json",
     "{d}/file is not a directory"),
    (lambda d: (d / "dir").mkdir() or d / "dir", "is a directory"),
])
def test_unusable_paths_are_refused_before_and_after(tmp_path: Path, make: object,
                                                     reason: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(UsageError) as before:
        check_output(path)
    assert str(before.value).startswith(str(path))
    assert reason.format(d=tmp_path) in str(before.value)
    with pytest.raises(UsageError) as after:
        write_output(path, "x")
    assert str(after.value).startswith(str(path))


def test_a_relative_path_is_named_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           snapshot: StatsSnapshot, info: RunInfo) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as failed:
        check_output("out/r.json")
    assert str(failed.value) == "out/r.json: the directory out does not exist"
    with pytest.raises(UsageError) as failed:
        write_json("out/r.json", snapshot, info)
    # The path the user gave, never the temporary file's name (issue 14, item 4).
    assert str(failed.value) == "out/r.json: No such file or directory"


def test_a_block_device_is_refused(tmp_path: Path) -> None:
    # Major 0 is no disk: even a broken writer could not harm one through this node.
    node = _device(tmp_path / "disk", os.makedev(0, 0), stat.S_IFBLK)
    for call in (lambda: check_output(node), lambda: write_output(node, "x")):
        with pytest.raises(UsageError, match="is a block device"):
            call()
    assert stat.S_ISBLK(os.lstat(node).st_mode)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A read-only tmpfs: unwritable even for root, which permission bits are not."""
    mount = tmp_path / "ro"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(mount)],
                          capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_read_only_directory_is_refused(read_only_dir: Path) -> None:
    path = read_only_dir / "r.json"
    with pytest.raises(UsageError) as failed:
        check_output(path)
    assert str(failed.value) == (f"{path}: the directory {read_only_dir} does not take new "
                                 "files (Read-only file system)")
