"""Result paths that could hurt: links planted by others, modes, FIFOs nobody reads.

horde often runs as root. A symbolic link another user planted must not
make it overwrite (or publish) the file the link points to; a rewritten
result keeps the mode it had; a FIFO without a reader is refused up front
instead of hanging the end of a finished run.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from horde.cli.config import load_config
from horde.cli.outputs import check_output_paths
from horde.errors import UsageError
from horde.report.output import check_output, hold_reader, write_output

OTHER_UID = 4242  # nobody's account here: a user that is not us


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def test_a_link_another_user_owns_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a link to another user needs root")
    secret = tmp_path / "secret"
    secret.write_text("root only")
    secret.chmod(0o600)
    planted = tmp_path / "x"
    planted.mkdir()
    os.chown(planted, OTHER_UID, OTHER_UID)
    link = planted / "link.json"
    link.symlink_to(secret)
    os.lchown(link, OTHER_UID, OTHER_UID)
    for call in (lambda: check_output(link), lambda: write_output(link, "{}")):
        with pytest.raises(UsageError) as refused:
            call()
        assert str(refused.value).startswith(f"{link}: a symbolic link owned by another "
                                             f"user (uid {OTHER_UID})")
    assert secret.read_text() == "root only"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert link.is_symlink()


def test_a_chain_through_another_users_link_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a link to another user needs root")
    secret = tmp_path / "secret"
    secret.write_text("root only")
    middle = tmp_path / "middle"
    middle.symlink_to(secret)
    os.lchown(middle, OTHER_UID, OTHER_UID)
    mine = tmp_path / "r.json"
    mine.symlink_to(middle)
    with pytest.raises(UsageError, match=r"\(through .*middle\) owned by another user"):
        write_output(mine, "{}")
    assert secret.read_text() == "root only"


def test_our_own_link_is_written_through_keeping_the_targets_mode(tmp_path: Path) -> None:
    real = tmp_path / "run1.json"
    real.write_text("old, longer than the new text")
    real.chmod(0o600)
    link = tmp_path / "latest.json"
    link.symlink_to(real.name)  # relative, as people make them
    inode = real.stat().st_ino
    check_output(link)
    write_output(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert real.stat().st_ino == inode  # written in place, not replaced
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def test_a_rewritten_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old")
    path.chmod(0o600)
    write_output(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_rewritten_file_keeps_its_owner_when_root_rewrites_it(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root may give a file to another user")
    path = tmp_path / "r.json"
    path.write_text("old")
    os.chown(path, OTHER_UID, OTHER_UID)
    write_output(path, "new")
    assert (path.stat().st_uid, path.stat().st_gid) == (OTHER_UID, OTHER_UID)


def test_a_new_file_honours_the_umask(tmp_path: Path, umask_027: None) -> None:
    path = tmp_path / "r.json"
    write_output(path, "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_link_to_nothing_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "r.json"
    link.symlink_to(tmp_path / "elsewhere.json")
    for call in (lambda: check_output(link), lambda: write_output(link, "{}")):
        with pytest.raises(UsageError, match="a symbolic link to nothing"):
            call()
    assert not (tmp_path / "elsewhere.json").exists()


def test_a_fifo_nobody_reads_is_refused_before_the_run(tmp_path: Path) -> None:
    fifo = tmp_path / "r.fifo"
    os.mkfifo(fifo)
    check_output(fifo)  # a FIFO is a fine kind of place...
    with pytest.raises(UsageError) as refused:
        hold_reader(fifo)  # ...but nobody reads this one
    assert str(refused.value) == (f"{fifo}: a FIFO that no program reads: horde would wait "
                                  "for a reader forever once the run ends; start the reader "
                                  "first")
    config = load_config(["--json", str(fifo)], environ={}, cwd=tmp_path)
    with pytest.raises(UsageError, match=r"^--json: .*a FIFO that no program reads"):
        check_output_paths(config)


def test_a_fifo_with_a_reader_is_held_open_until_written(tmp_path: Path) -> None:
    fifo = tmp_path / "r.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, already there
    try:
        config = load_config(["--json", str(fifo)], environ={}, cwd=tmp_path)
        held = check_output_paths(config)
        assert len(held) == 1
        # Held: the reader sees "nothing yet" (EAGAIN), not an end of file.
        with pytest.raises(BlockingIOError):
            os.read(reader, 100)
        write_output(fifo, '{"ok": 1}')
        assert os.read(reader, 100) == b'{"ok": 1}'
        os.close(held[0])
        assert os.read(reader, 100) == b""  # the end, once horde lets go
    finally:
        os.close(reader)


def test_a_fifo_whose_reader_left_fails_instead_of_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "r.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    os.close(reader)  # gone before the end of the run
    with pytest.raises(UsageError) as failed:
        write_output(fifo, "{}")
    assert str(failed.value) == f"{fifo}: no program reads this FIFO any more"
