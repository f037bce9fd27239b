"""A counting target server in its own process, for integration tests.

The target runs ``python -m horde.demo.app`` in a child process, so it never
shares an event loop (or a CPU-starved one) with the horde process under test.
It serves either the shop (``kind="demo"``) or the deterministic plain app
(``kind="plain"``, see horde/demo/plain.py), always on loopback, on a free port
the child picks and announces on its first stdout line.

    from tests.support.target import start_target

    with start_target("plain") as target:
        run_horde_against(target.url)
        counts = target.counts()
        assert counts.route("GET", "/fast") == horde_total

Counts are exact: the target counts a response before writing it, so
everything a client has received is already in ``target.counts()``.

Invariants: a `Target` owns at most one child, started once; `stop()` ends it
by its PID (SIGTERM, then SIGKILL after a grace period) and is idempotent;
the context manager always stops it, even when the test failed.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from horde.demo.serve import parse_listen_line

__all__ = ["Counts", "Target", "TargetError", "start_target"]

Kind = Literal["demo", "plain"]

REPO_ROOT = Path(__file__).resolve().parents[2]

# Requests to loopback must never go through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class TargetError(RuntimeError):
    """The target process did not start, or answered something unexpected."""


@dataclass(frozen=True)
class Counts:
    """One reading of ``GET /__counts``; `raw` is the JSON as served."""

    raw: dict[str, Any]

    @property
    def received(self) -> int:
        """Requests that reached the app (answered or not)."""
        return int(self.raw["received"])

    @property
    def total(self) -> int:
        """Same as `answered`: every response the app produced."""
        return int(self.raw["total"])

    @property
    def answered(self) -> int:
        """Responses the app produced, all routes and statuses."""
        return int(self.raw["answered"])

    def route(self, method: str, pattern: str) -> int:
        """Answers for one route, e.g. ``route("GET", "/items/{id}")``."""
        return int(self.raw["routes"].get(f"{method.upper()} {pattern}", 0))

    def status(self, code: int) -> int:
        """Answers with this status code, all routes."""
        return int(self.raw["statuses"].get(str(code), 0))

    def route_status(self, method: str, pattern: str, code: int) -> int:
        """Answers for one route with one status code."""
        per_status = self.raw["by_route_status"].get(f"{method.upper()} {pattern}", {})
        return int(per_status.get(str(code), 0))


class Target:
    """A target server process; see the module docstring."""

    def __init__(
        self,
        kind: Kind = "demo",
        *,
        latency_scale: float = 0.0,
        seed: int | None = None,
        checkout_failure_rate: float | None = None,
        host: str = "127.0.0.1",
        startup_timeout: float = 20.0,
    ) -> None:
        if host not in ("127.0.0.1", "::1"):
            raise ValueError("test targets listen on loopback only (127.0.0.1 or ::1)")
        self.kind = kind
        self.host = host
        self.port = 0
        self._argv = [
            sys.executable, "-m", "horde.demo.app",
            "--app", kind, "--host", host, "--port", "0",
            "--latency-scale", repr(latency_scale),
        ]
        if seed is not None:
            self._argv += ["--seed", str(seed)]
        if checkout_failure_rate is not None:
            self._argv += ["--checkout-failure-rate", repr(checkout_failure_rate)]
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr = tempfile.TemporaryFile()

    # --- lifecycle -----------------------------------------------------------

    def start(self) -> Target:
        """Launch the child and wait until it listens; returns self."""
        if self._proc is not None:
            raise TargetError("this target was already started")
        env = dict(os.environ)
        # The child must import this checkout's horde, whatever is installed.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        self._proc = subprocess.Popen(
            self._argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=REPO_ROOT,
            env=env,
        )
        try:
            line = self._first_line(self._proc)
            _, self.port = parse_listen_line(line)
        except BaseException:
            self.stop()
            self._stderr.close()
            raise
        return self

    def _first_line(self, proc: subprocess.Popen[bytes]) -> str:
        assert proc.stdout is not None
        deadline = time.monotonic() + self._startup_timeout
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TargetError(f"target did not announce its port: {self._describe()}")
                if not selector.select(timeout=min(remaining, 0.5)):
                    continue
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    proc.wait(timeout=5)
                    raise TargetError(
                        f"target exited with status {proc.returncode}: {self._describe()}"
                    )
                buffer += chunk
        return buffer.split(b"\n", 1)[0].decode()

    def stop(self, grace: float = 5.0) -> int | None:
        """End the child by its PID; returns its exit status (None if never started)."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=grace)
        if proc.stdout is not None and not proc.stdout.closed:
            proc.stdout.close()
        return proc.returncode

    def __enter__(self) -> Target:
        if self._proc is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self._stderr.close()

    # --- what tests read -----------------------------------------------------

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise TargetError("target not started")
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:40123``."""
        if not self.port:
            raise TargetError("target not started")
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"

    def counts(self) -> Counts:
        """What the target has answered so far (``GET /__counts``)."""
        return Counts(self._call("GET", "/__counts"))

    def reset_counts(self) -> None:
        """Zero the target's counters (``DELETE /__counts``)."""
        self._call("DELETE", "/__counts")

    def stderr_text(self) -> str:
        """Everything the child wrote to stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def _describe(self) -> str:
        return f"{' '.join(self._argv)}\n--- stderr ---\n{self.stderr_text()}"

    def _call(self, method: str, path: str) -> dict[str, Any]:
        request = urllib.request.Request(self.url + path, method=method)
        with _OPENER.open(request, timeout=10) as response:
            body = json.loads(response.read())
        if not isinstance(body, dict):
            raise TargetError(f"unexpected answer from {path}: {body!r}")
        return body


def start_target(
    kind: Kind = "demo",
    latency_scale: float = 0.0,
    *,
    seed: int | None = None,
    checkout_failure_rate: float | None = None,
    host: str = "127.0.0.1",
) -> Target:
    """Start a target process and return it, ready; use it as a context manager."""
    return Target(
        kind,
        latency_scale=latency_scale,
        seed=seed,
        checkout_failure_rate=checkout_failure_rate,
        host=host,
    ).start()
