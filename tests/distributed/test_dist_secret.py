"""A fleet with a shared secret, with real master and worker processes on loopback.

* a worker holding another secret never runs the master's script, exits
  non-zero and says why; the master names the refusal;
* a master listening on 0.0.0.0 refuses workers without the secret, so
  ``--expect-workers`` is not met (exit 2);
* a master given no secret creates one (mode 0600) and prints the command
  that joins a worker; that command works;
* 3 s of garbage (raw TCP bytes, unauthenticated ZeroMQ peers) during a run
  leave the master's totals equal to the target's.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import time
from pathlib import Path

import pytest
import zmq

from horde.net.secret import FleetSecret
from tests.distributed.fleet_procs import Fleet, free_port, raw_bytes_for, wait_until, write_script
from tests.support.target import Target

pytestmark = pytest.mark.slow

MARKED_SCRIPT = """
import os, pathlib
from horde import HttpUser, task, constant

# Whoever imports this script leaves a mark: a worker that runs it would too.
pathlib.Path({marks!r}, f"imported-by-{{os.getpid()}}").touch()

class Plain(HttpUser):
    wait_time = constant(0.01)

    @task
    def fast(self):
        self.client.get("/fast")
"""




def marked_script(fleet: Fleet) -> tuple[Path, Path]:
    marks = fleet.directory / "marks"
    marks.mkdir()
    return write_script(fleet.directory / "m", MARKED_SCRIPT.format(marks=str(marks))), marks


def test_a_worker_with_another_secret_never_runs_the_masters_script(
        fleet: Fleet, plain_target: Target) -> None:
    port = free_port()
    script, marks = marked_script(fleet)
    master = fleet.master(port, script, plain_target.url, "-u", "2", "-t", "2s",
                          "--expect-workers", "1", "--expect-workers-max-wait", "15s")
    other = FleetSecret("another-fleet-secret-0123456789")
    worker = fleet.worker(port, "--reconnect-timeout", "30s",
                          extra_env={"HORDE_SECRET": other.text})
    assert worker.wait(60) != 0, worker.stderr()
    assert "did not accept this worker's secret" in worker.stderr() \
        or "holds another secret" in worker.stderr(), worker.stderr()
    assert master.wait(60) == 2, master.stderr()
    assert "wrong secret" in master.stderr(), master.stderr()
    assert f"imported-by-{worker.pid}" not in os.listdir(marks)
    assert f"imported-by-{master.pid}" in os.listdir(marks)  # the mark works
    assert plain_target.counts().total == 0


def test_a_master_on_all_interfaces_refuses_workers_without_the_secret(
        fleet: Fleet, plain_target: Target) -> None:
    port = free_port()
    script, marks = marked_script(fleet)
    # The workers start first (they retry until a master answers): the master
    # gives up 10 s after it starts, which on a busy machine may come before a
    # worker started after it has even imported horde, and then nobody refuses it.
    open_worker = fleet.worker(port, "--insecure", "--reconnect-timeout", "30s", name="open")
    keyless = fleet.worker(port, name="keyless", extra_env={"HORDE_SECRET": None,
                                                            "XDG_CONFIG_HOME": "/nonexistent"})
    master = fleet.master(port, script, plain_target.url, "-u", "2", "-t", "2s",
                          "--expect-workers", "1", "--expect-workers-max-wait", "10s",
                          bind="0.0.0.0")
    wait_until(lambda: "listening" in master.stderr(), 30, "the master to listen")
    # Knows the master's public key (it is no secret) but not the fleet's worker key:
    # the master's ZAP handler refuses it by address.
    ctx = zmq.Context()
    try:
        stranger = ctx.socket(zmq.DEALER)
        stranger.setsockopt(zmq.LINGER, 0)
        public, secret = zmq.curve_keypair()
        stranger.setsockopt(zmq.CURVE_SERVERKEY, FleetSecret(fleet.secret).master_keys().public)
        stranger.setsockopt(zmq.CURVE_PUBLICKEY, public)
        stranger.setsockopt(zmq.CURVE_SECRETKEY, secret)
        stranger.connect(f"tcp://127.0.0.1:{port}")
        wait_until(lambda: "refused a worker from 127.0.0.1: wrong secret" in master.stderr(),
                   30, "the master to name the refused worker")
    finally:
        ctx.destroy(linger=0)
    assert master.wait(60) == 2, master.stderr()
    assert "only 0 of 1 workers connected" in master.stdout(), master.stdout()
    assert open_worker.wait(60) == 2
    assert "requires a secret" in open_worker.stderr(), open_worker.stderr()
    assert "--insecure" in open_worker.stderr()  # its own warning at start
    assert keyless.wait(30) == 2
    assert "has no secret" in keyless.stderr(), keyless.stderr()
    assert [m for m in os.listdir(marks) if m != f"imported-by-{master.pid}"] == []
    assert plain_target.counts().total == 0


def test_a_master_without_a_secret_creates_one_and_says_how_to_join(
        fleet: Fleet, plain_target: Target) -> None:
    port = free_port()
    script = write_script(fleet.directory / "m")
    master = fleet.master(port, script, plain_target.url, "-u", "2", "-r", "50", "-t", "3s",
                          "--expect-workers", "1", "--expect-workers-max-wait", "40s",
                          bind="0.0.0.0", extra_env={"HORDE_SECRET": None})
    wait_until(lambda: "workers join with:" in master.stderr(), 30, "the join command")
    line = re.search(r"workers join with: (.+)", master.stderr())
    assert line is not None
    argv = shlex.split(line.group(1))
    secret_file = Path(argv[argv.index("--secret-file") + 1])
    assert secret_file == fleet.directory / "config" / "horde" / "fleet.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert "created one in" in master.stderr() and "copy" in master.stderr()
    assert argv[:2] == ["horde", "--worker"] and argv[argv.index("--master-port") + 1] == str(port)
    # The printed command, run as printed, except that this test reaches the master over
    # loopback only (the command names this machine's host name).
    argv[argv.index("--master-host") + 1] = "127.0.0.1"
    worker = fleet.start("worker", [*argv[1:], "--reconnect-timeout", "20s"],
                         extra_env={"HORDE_SECRET": None, "XDG_CONFIG_HOME": "/nonexistent"})
    assert master.wait(90) == 0, master.stderr()
    assert fleet.result()["total"]["requests"] == plain_target.counts().total > 0
    worker.wait(30)
    # The file holds a secret of its own, not the test's HORDE_SECRET.
    assert fleet.secret not in secret_file.read_text()


def test_garbage_on_a_secure_master_port_leaves_the_counts_exact(
        fleet: Fleet, plain_target: Target) -> None:
    port = free_port()
    script = write_script(fleet.directory / "m")
    master = fleet.master(port, script, plain_target.url, "-u", "4", "-r", "100", "-t", "10s",
                          "--expect-workers", "1", "--expect-workers-max-wait", "30s")
    fleet.worker(port, "--reconnect-timeout", "20s")
    wait_until(lambda: plain_target.counts().total > 0, 40, "the test to start")
    ctx = zmq.Context()
    try:
        plain = ctx.socket(zmq.DEALER)  # no keys at all
        wrong = ctx.socket(zmq.DEALER)  # keys of another fleet
        keys = FleetSecret("some-other-fleet-secret-0123").worker_keys()
        assert keys.server_public is not None
        wrong.setsockopt(zmq.CURVE_SERVERKEY, keys.server_public)
        wrong.setsockopt(zmq.CURVE_PUBLICKEY, keys.public)
        wrong.setsockopt(zmq.CURVE_SECRETKEY, keys.secret)
        for sock in (plain, wrong):
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.SNDHWM, 1000)
            sock.connect(f"tcp://127.0.0.1:{port}")
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            for sock in (plain, wrong):
                try:
                    sock.send_multipart([os.urandom(64), b"hd\x02" + os.urandom(32)],
                                        flags=zmq.DONTWAIT)
                except zmq.Again:
                    pass  # never connected: the handshake keeps failing
            time.sleep(0.001)
        raw_bytes_for(port, 1.5)
    finally:
        ctx.destroy(linger=0)
    assert master.wait(90) == 0, master.stderr()
    result = fleet.result()
    assert result["total"]["requests"] == plain_target.counts().total > 0
    assert [w["state"] for w in result["workers"]] == ["done"]
    assert "wrong secret" in master.stderr()


@pytest.mark.parametrize(("args", "environ", "says"), [
    (["--worker", "--insecure"], {"HORDE_SECRET": "s" * 20}, "contradict each other"),
    (["--worker"], {"HORDE_SECRET": "short"}, "too short"),
    (["--worker", "--secret-file", "loose.secret"], {"HORDE_SECRET": None}, "chmod 600"),
    (["--worker"], {"HORDE_SECRET": None}, "has no secret"),
])
def test_secret_mistakes_are_one_line_and_exit_2(
        fleet: Fleet, args: list[str], environ: dict[str, str | None], says: str) -> None:
    loose = fleet.directory / "loose.secret"
    loose.write_text("x" * 30 + "\n")
    loose.chmod(0o644)
    proc = fleet.start("worker", [*args, "--reconnect-timeout", "1s"], extra_env=environ)
    assert proc.wait(30) == 2
    lines = proc.stderr().strip().splitlines()
    assert len(lines) == 1 and says in lines[0], lines
    assert "Traceback" not in proc.stderr()
