"""One shared secret for a fleet, and the CURVE key pairs derived from it.

Master and workers that hold the same secret derive the same two key pairs:
the master's (it serves CURVE with it) and the fleet's worker pair (every
worker connects with it). A worker knows the master's public key only
through the secret, so it proves the master holds the secret too; the
master's ZAP handler admits only the worker public key, so a worker proves
the same. See docs/security.md, "How the keys are derived".

Derivation (stable: changing it splits fleets of different horde versions):

* ``seed = scrypt(secret, salt=SALT, n=2**14, r=8, p=1, 32 bytes)``: the
  secret is stretched, so guessing a weak one costs 16 MB and tens of
  milliseconds per guess (someone who impersonates a master can try guesses
  offline against one worker's handshake);
* ``key = HKDF-Expand-SHA256(seed, info, 32)`` (RFC 5869) with info
  ``b"horde fleet master key v1"`` and ``b"horde fleet worker key v1"``:
  two independent 32-byte X25519 secret keys; libzmq computes the public
  halves.

Invariants: nothing here prints or logs a secret; a secret is at least
`MIN_SECRET_CHARS` characters of printable text with no surrounding space
(a secret file's trailing newline is stripped); secret files are created
mode 0600, atomically (a reader never sees half a secret).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.utils.z85

from horde.errors import UsageError
from horde.net.keys import CurveKeys

__all__ = [
    "FleetSecret",
    "MIN_SECRET_CHARS",
    "SALT",
    "hkdf_expand",
    "new_secret",
    "default_secret_path",
    "read_secret_file",
    "create_secret_file",
]

MIN_SECRET_CHARS = 16
SALT = b"horde fleet secret v1"
_MASTER_INFO = b"horde fleet master key v1"
_WORKER_INFO = b"horde fleet worker key v1"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hkdf_expand(prk: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-Expand with SHA-256 (RFC 5869, section 2.3)."""
    if length > 255 * 32:
        raise ValueError("HKDF-SHA256 cannot expand beyond 8160 bytes")
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _keypair(raw_secret: bytes) -> tuple[bytes, bytes]:
    secret_z85 = zmq.utils.z85.encode(raw_secret)
    return zmq.curve_public(secret_z85), secret_z85


@dataclass(frozen=True, repr=False)
class FleetSecret:
    """A checked secret text; `master_keys` / `worker_keys` give the derived CURVE keys."""

    text: str

    def __post_init__(self) -> None:
        if len(self.text) < MIN_SECRET_CHARS:
            raise UsageError(f"the fleet secret is too short ({len(self.text)} characters; "
                             f"at least {MIN_SECRET_CHARS}): `horde keys --secret FILE` makes one")
        if not self.text.isprintable() or self.text != self.text.strip():
            raise UsageError("the fleet secret must be printable text without surrounding "
                             "spaces")

    def __repr__(self) -> str:  # never print a secret into a log
        return "FleetSecret(***)"

    def _pairs(self) -> tuple[tuple[bytes, bytes], tuple[bytes, bytes]]:
        seed = hashlib.scrypt(self.text.encode(), salt=SALT, n=_SCRYPT_N, r=_SCRYPT_R,
                              p=_SCRYPT_P, maxmem=64 * 1024 * 1024, dklen=32)
        return (_keypair(hkdf_expand(seed, _MASTER_INFO)),
                _keypair(hkdf_expand(seed, _WORKER_INFO)))

    def master_keys(self) -> CurveKeys:
        """The master's pair; it admits exactly the fleet's worker public key."""
        (m_pub, m_sec), (w_pub, _) = self._pairs()
        return CurveKeys(m_pub, m_sec, allowed_clients=frozenset({w_pub}), from_secret=True)

    def worker_keys(self) -> CurveKeys:
        """The fleet's worker pair and the master's public key."""
        (m_pub, _), (w_pub, w_sec) = self._pairs()
        return CurveKeys(w_pub, w_sec, server_public=m_pub, from_secret=True)


def new_secret() -> FleetSecret:
    """A fresh random secret: 32 random bytes as 43 URL-safe characters."""
    return FleetSecret(secrets.token_urlsafe(32))


def default_secret_path(environ: dict[str, str] | None = None) -> Path:
    """Where a master with no secret keeps the one it creates: the user's config directory."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "horde" / "fleet.secret"


def read_secret_file(path: Path) -> FleetSecret:
    """The secret in ``path`` (one line); refuses a file others may read."""
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read the secret file {path}: {reason}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"the secret file {path} is not a regular file")
    if info.st_mode & 0o077:
        raise UsageError(f"the secret file {path} can be read by other users "
                         f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}")
    return FleetSecret(text.rstrip("\r\n"))


def create_secret_file(path: Path) -> tuple[FleetSecret, bool]:
    """The secret in ``path``, creating it (mode 0600) first if there is none.

    Returns (secret, created). Two processes creating it at once end up with
    the same secret: it is written to a private temporary file and linked into
    place, which fails if the other one won.
    """
    if path.exists():
        return read_secret_file(path), False
    secret = new_secret()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(secret.text + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                return read_secret_file(path), False
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the secret file {path}: {exc.strerror}") from None
    return secret, True
