"""How a master and its workers prove themselves: options -> CURVE keys, and what to say.

One of four modes, decided once at start (docs/security.md):

* ``--insecure``: no keys; a warning at every start;
* ``--curve-keys DIR``: per-worker keys made by `horde keys`;
* a fleet secret, from ``HORDE_SECRET`` or ``--secret-file``: both sides
  derive their keys from it (`horde.net.secret`);
* nothing given: a master on a private loopback port (``--processes``) makes
  a secret in memory and hands it to its own workers; any other master uses
  the per-user secret file (`default_secret_path`), creating it mode 0600 the
  first time, and prints the command that joins a worker. A worker given
  nothing uses that file when it exists (a master and workers of one user on
  one machine need no setup) and otherwise refuses to start, saying how to join.

Invariants: the secret never appears on a command line (local workers get it
in their environment, which only their user can read) nor in any output;
contradictory options are a `UsageError` (exit 2) before anything listens.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from horde.cli.config import Config
from horde.errors import UsageError
from horde.net import CurveKeys
from horde.net.secret import FleetSecret, create_secret_file, default_secret_path, read_secret_file

__all__ = ["Security", "master_security", "worker_security", "SECRET_ENV", "is_loopback"]

SECRET_ENV = "HORDE_SECRET"


@dataclass(frozen=True)
class Security:
    curve: CurveKeys | None
    secret: FleetSecret | None
    """The secret local worker processes get (None: they get --insecure or --curve-keys)."""
    notices: tuple[str, ...] = ()
    """What to tell the person at start (stderr)."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _given_secret(config: Config, environ: Mapping[str, str]) -> FleetSecret | None:
    text = environ.get(SECRET_ENV)
    modes = [name for name, on in ((SECRET_ENV, text is not None),
                                   ("--secret-file", config.secret_file is not None),
                                   ("--curve-keys", config.curve_keys is not None),
                                   ("--insecure", config.insecure)) if on]
    if len(modes) > 1:
        raise UsageError(f"{' and '.join(modes)} contradict each other: give one of them")
    if text is not None:
        return FleetSecret(text.strip())
    if config.secret_file is not None:
        return read_secret_file(Path(config.secret_file))
    return None


def _insecure_warning(what: str) -> str:
    return (f"horde: WARNING: --insecure: {what}. Use a shared secret instead "
            "(docs/security.md)")


def master_security(config: Config, *, bind_host: str, port: int, private: bool,
                    environ: Mapping[str, str] | None = None) -> Security:
    """The master's keys; ``private``: a loopback master on a port of its own (--processes)."""
    env = os.environ if environ is None else environ
    secret = _given_secret(config, env)
    if config.insecure:
        return Security(None, None, (_insecure_warning(
            f"anyone who reaches port {port or 'of this master'} can join as a worker, read "
            "the test files and send made-up statistics"),))
    if config.curve_keys is not None:
        return Security(_master_keys(config.curve_keys), None)
    if secret is not None:
        return Security(secret.master_keys(), secret)
    if private:
        from horde.net.secret import new_secret

        secret = new_secret()
        return Security(secret.master_keys(), secret)
    path = default_secret_path(dict(env))
    secret, created = create_secret_file(path)
    notices = []
    if created:
        notices.append(f"horde: no secret given: created one in {path} (mode 0600)")
    host = bind_host if bind_host not in ("*", "0.0.0.0", "::", "") else socket.getfqdn()
    join = shlex.join(["horde", "--worker", "--master-host", host, "--master-port", str(port),
                       "--secret-file", str(path)])
    notices.append(f"horde: workers join with: {join}")
    if not is_loopback(bind_host):
        notices.append(f"horde: (copy {path} to the same place on each worker machine, "
                       f"mode 0600, or set {SECRET_ENV} to its contents)")
    return Security(secret.master_keys(), secret, tuple(notices))


def worker_security(config: Config, environ: Mapping[str, str] | None = None) -> Security:
    env = os.environ if environ is None else environ
    secret = _given_secret(config, env)
    if config.insecure:
        return Security(None, None, (_insecure_warning(
            f"this worker runs whatever scripts any master at {config.master_host}:"
            f"{config.master_port} sends it"),))
    if config.curve_keys is not None:
        return Security(_worker_keys(config.curve_keys), None)
    if secret is None:
        path = default_secret_path(dict(env))
        if not path.exists():
            raise UsageError(
                f"this worker has no secret: set {SECRET_ENV} or give --secret-file (the "
                "master prints the command that joins a worker), or --insecure to join an "
                "open master")
        secret = read_secret_file(path)
    return Security(secret.worker_keys(), secret)


def _master_keys(directory: str) -> CurveKeys:
    base = Path(directory)
    workers = base / "workers"
    if workers.is_dir():
        return CurveKeys.for_master(base / "master.key_secret", workers)
    return CurveKeys.for_master(base / "master.key_secret", allow_any_client=True)


def _worker_keys(directory: str) -> CurveKeys:
    base = Path(directory)
    return CurveKeys.for_worker(base / "worker.key_secret", base / "master.key")
