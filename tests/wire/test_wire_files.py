"""Test-file bundles: built deterministically, limits enforced on both ends."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from horde.errors import ProtocolError, UsageError
from horde.wire import (
    MAGIC,
    MAX_BUNDLE_BYTES,
    PROTOCOL_VERSION,
    FilesBundle,
    bundle_from_contents,
    decode_from_master,
    differing_files,
    encode,
    sha_map,
)


def test_bundle_round_trip_and_sha() -> None:
    files = {"pkg/util.py": b"X = 1\n", "hordefile.py": b"from pkg.util import X\n"}
    bundle = bundle_from_contents(files, "hordefile.py")
    assert [f.path for f in bundle.files] == ["hordefile.py", "pkg/util.py"]
    back = decode_from_master(encode(bundle))
    assert isinstance(back, FilesBundle) and back == bundle
    assert {f.path: f.sha256 for f in back.files} == sha_map(files)


@pytest.mark.parametrize("path", ["../x.py", "/etc/passwd", "a/../../b", "a\\b.py", "C:/x",
                                  "./a.py", "a//b"])
def test_unsafe_paths_refused(path: str) -> None:
    with pytest.raises(UsageError, match="cannot ship"):
        bundle_from_contents({path: b"", "main.py": b""}, "main.py")


def test_size_limit_both_ends() -> None:
    big = b"\0" * (MAX_BUNDLE_BYTES // 2 + 1)
    with pytest.raises(UsageError, match="limit"):
        bundle_from_contents({"a.py": big, "b.py": big}, "a.py")
    # a hand-made frame over the limit is refused by the receiving decoder
    sha = hashlib.sha256(big).hexdigest()
    body = msgspec.msgpack.encode(
        {"t": "files", "entry": "a.py", "files": [["a.py", big, sha], ["b.py", big, sha]]}
    )
    with pytest.raises(ProtocolError, match="limit"):
        decode_from_master(MAGIC + bytes([PROTOCOL_VERSION]) + body)


def test_entry_must_be_in_bundle() -> None:
    with pytest.raises(UsageError):
        bundle_from_contents({"a.py": b""}, "b.py")


def test_differing_files_names_them_all() -> None:
    a = {"x.py": "1" * 64, "y.py": "2" * 64, "z.py": "3" * 64}
    b = {"x.py": "1" * 64, "y.py": "9" * 64, "w.py": "4" * 64}
    assert differing_files(a, b) == ["w.py", "y.py", "z.py"]
    assert differing_files(a, dict(a)) == []
