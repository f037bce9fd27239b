"""CURVE keys for encrypted, authenticated master <-> worker channels.

Keys are z85 text (40 characters for 32 bytes), as written by
``zmq.auth.create_certificates`` (``name.key`` holds the public key,
``name.key_secret`` both). Every loader accepts either a path to such a file
or the z85 text itself, and raises `horde.errors.UsageError` naming the path
or the problem; nothing here touches a socket.

The master holds its own key pair and the public keys of the workers it lets
in; a worker holds its own pair and the master's public key. A master with no
client keys refuses to start unless ``allow_any_client`` says it should only
encrypt, letting in anyone who knows its public key.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
import zmq.utils.z85

from horde.errors import UsageError

__all__ = [
    "CurveKeys",
    "load_keypair",
    "load_public_key",
    "load_public_keys",
    "new_keypair",
    "write_fleet_keys",
]

KeySource = str | os.PathLike[str]


def _check_z85(key: bytes, what: str) -> bytes:
    try:
        raw = zmq.utils.z85.decode(key)
    except (ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        raise UsageError(f"{what} is not a z85 CURVE key") from exc
    if len(raw) != 32:
        raise UsageError(f"{what} is not a 32-byte z85 CURVE key")
    return key


def _is_key_text(source: KeySource) -> bool:
    return isinstance(source, str) and len(source) == 40 and not Path(source).exists()


def _load_file(path: KeySource) -> tuple[bytes, bytes | None]:
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read CURVE key file {os.fspath(path)!r}: {exc}") from exc
    return _check_z85(public, f"public key in {os.fspath(path)}"), secret


def load_keypair(source: KeySource) -> tuple[bytes, bytes]:
    """(public, secret) from a ``.key_secret`` file."""
    public, secret = _load_file(source)
    if not secret:
        raise UsageError(f"{os.fspath(source)!r} holds no secret key (use the .key_secret file)")
    return public, _check_z85(secret, f"secret key in {os.fspath(source)}")


def load_public_key(source: KeySource) -> bytes:
    """A public key from z85 text or a ``.key``/``.key_secret`` file."""
    if _is_key_text(source):
        return _check_z85(str(source).encode("ascii", "replace"), "public key")
    return _load_file(source)[0]


def load_public_keys(sources: KeySource | Iterable[KeySource]) -> frozenset[bytes]:
    """Public keys from a directory of ``*.key`` files, one file, z85 text, or a list of those."""
    items: Iterable[KeySource]
    if isinstance(sources, (str, os.PathLike)):
        items = [sources]
    else:
        items = sources
    keys: set[bytes] = set()
    for item in items:
        if not _is_key_text(item) and Path(item).is_dir():
            files = sorted(Path(item).glob("*.key"))
            if not files:
                raise UsageError(f"no *.key files in CURVE key directory {os.fspath(item)!r}")
            keys.update(_load_file(f)[0] for f in files)
        else:
            keys.add(load_public_key(item))
    return frozenset(keys)


def write_fleet_keys(base: Path) -> tuple[Path, Path]:
    """Create the two ``--curve-keys`` directories of a fleet under ``base``.

    ``base/master`` (stays on the master): the master's pair, the admitted
    workers' public key in ``workers/``, and the worker pair too, so that
    ``--processes`` children on the master's machine can join.
    ``base/worker`` (copied to every worker machine): the worker pair and the
    master's public key, never the master's secret.
    Refuses to overwrite an existing key directory.
    """
    master_dir, worker_dir = base / "master", base / "worker"
    for directory in (master_dir, worker_dir):
        if directory.exists():
            raise UsageError(f"{directory} exists already; keys are never overwritten")
    try:
        (master_dir / "workers").mkdir(parents=True)
        worker_dir.mkdir(parents=True)
        for directory in (master_dir, worker_dir):
            directory.chmod(0o700)
        master_public, _ = zmq.auth.create_certificates(master_dir, "master")
        worker_public, worker_secret = zmq.auth.create_certificates(worker_dir, "worker")
        for source, target in ((worker_public, master_dir / "workers" / "worker.key"),
                               (worker_public, master_dir / "worker.key"),
                               (worker_secret, master_dir / "worker.key_secret"),
                               (master_public, worker_dir / "master.key")):
            target.write_bytes(Path(source).read_bytes())
        for secret in (master_dir / "master.key_secret", master_dir / "worker.key_secret",
                       worker_dir / "worker.key_secret"):
            secret.chmod(0o600)
    except OSError as exc:
        raise UsageError(f"cannot write CURVE keys under {base}: {exc}") from exc
    return master_dir, worker_dir


def new_keypair() -> tuple[bytes, bytes]:
    """A fresh (public, secret) z85 pair (tests and ``horde keys`` use it)."""
    public, secret = zmq.curve_keypair()
    return public, secret


@dataclass(frozen=True)
class CurveKeys:
    """This side's key pair plus what it needs to know about the other side.

    On the master: ``allowed_clients`` (public keys of accepted workers) or
    ``allow_any_client=True``. On a worker: ``server_public``.
    """

    public: bytes
    secret: bytes
    server_public: bytes | None = None
    allowed_clients: frozenset[bytes] = frozenset()
    allow_any_client: bool = False
    from_secret: bool = False
    """Derived from a fleet secret (`horde.net.secret`): refusals say "wrong secret"."""

    def __post_init__(self) -> None:
        _check_z85(self.public, "public key")
        _check_z85(self.secret, "secret key")
        if self.server_public is not None:
            _check_z85(self.server_public, "server public key")
        for key in self.allowed_clients:
            _check_z85(key, "client public key")

    def __repr__(self) -> str:  # never print a secret key into a log
        return (
            f"CurveKeys(public={self.public.decode()!r}, server_public={self.server_public!r}, "
            f"allowed_clients={len(self.allowed_clients)}, allow_any={self.allow_any_client})"
        )

    @classmethod
    def for_master(
        cls,
        secret_file: KeySource,
        clients: KeySource | Iterable[KeySource] = (),
        *,
        allow_any_client: bool = False,
    ) -> CurveKeys:
        public, secret = load_keypair(secret_file)
        allowed = load_public_keys(clients) if clients else frozenset()
        if not allowed and not allow_any_client:
            raise UsageError("CURVE on the master needs the workers' public keys (or allow any)")
        return cls(public, secret, allowed_clients=allowed, allow_any_client=allow_any_client)

    @classmethod
    def for_worker(cls, secret_file: KeySource, server_public: KeySource) -> CurveKeys:
        public, secret = load_keypair(secret_file)
        return cls(public, secret, server_public=load_public_key(server_public))
