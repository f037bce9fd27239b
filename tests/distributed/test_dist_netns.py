"""Master, two workers and the target on four "hosts": network namespaces.

The test builds its own private network: a bridge in a namespace of its own
and one veth pair per host, addresses from 10.213.0.0/24 that exist only
inside these namespaces (nothing is created in the test's own namespace).
Mid-test it cuts one worker's link and restores it: the master marks that
worker missing and moves its users to the other, the cut-off worker stops
its load, and once the link is back it rejoins and gets its share again.
Every namespace (and with it every veth and the bridge) is deleted at the
end, whatever the outcome. Needs root and `ip netns`; skipped elsewhere.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.distributed.fleet_procs import Fleet, wait_until, worker_entry, write_script

pytestmark = pytest.mark.slow

SUBNET = "10.213.0"
HOSTS = {"m": 1, "w1": 2, "w2": 3, "t": 4}
PORT = 5557


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def _why_not() -> str | None:
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "needs root for ip netns"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    return None


class Net:
    """Namespaces named after this process, so parallel runs never collide."""

    def __init__(self) -> None:
        self.tag = f"hd{os.getpid()}"
        self.names: list[str] = []

    def ns(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def build(self) -> None:
        bridge = self.ns("br")
        _ip("netns", "add", bridge)
        self.names.append(bridge)
        _ip("-n", bridge, "link", "add", "br0", "type", "bridge")
        _ip("-n", bridge, "link", "set", "br0", "up")
        for host, n in HOSTS.items():
            ns = self.ns(host)
            _ip("netns", "add", ns)
            self.names.append(ns)
            _ip("-n", bridge, "link", "add", f"v-{host}", "type", "veth",
                "peer", "name", "eth0", "netns", ns)
            _ip("-n", bridge, "link", "set", f"v-{host}", "master", "br0")
            _ip("-n", bridge, "link", "set", f"v-{host}", "up")
            _ip("-n", ns, "addr", "add", f"{SUBNET}.{n}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")

    def link(self, host: str, up: bool) -> None:
        _ip("-n", self.ns("br"), "link", "set", f"v-{host}", "up" if up else "down")

    def destroy(self) -> None:
        for ns in reversed(self.names):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
        self.names.clear()


@pytest.fixture
def net() -> Iterator[Net]:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    n = Net()
    try:
        n.build()
    except (subprocess.CalledProcessError, OSError) as exc:
        n.destroy()
        detail = exc.stderr.decode(errors="replace").strip() if isinstance(
            exc, subprocess.CalledProcessError) and exc.stderr else str(exc)
        pytest.skip(f"cannot create network namespaces here: {detail}")
    try:
        yield n
    finally:
        n.destroy()


def _in(net: Net, fleet: Fleet, host: str) -> Fleet:
    return Fleet(fleet.directory, fleet.procs, ["ip", "netns", "exec", net.ns(host)], fleet.secret)


def test_a_cut_link_moves_users_and_the_worker_rejoins(net: Net, tmp_path: Path) -> None:
    fleet = Fleet(tmp_path)
    try:
        target_proc = subprocess.Popen(
            ["ip", "netns", "exec", net.ns("t"), sys.executable, "-m", "horde.demo.app",
             "--app", "plain", "--host", f"{SUBNET}.4", "--port", "8080"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
        )
        try:
            script = write_script(tmp_path / "m")
            master = _in(net, fleet, "m").master(
                PORT, script, f"http://{SUBNET}.4:8080", "-u", "6", "-r", "100", "-t", "22s",
                "--expect-workers", "2", "--expect-workers-max-wait", "30s",
                bind=f"{SUBNET}.1")
            cut = _in(net, fleet, "w1").worker(PORT, "--reconnect-timeout", "30s", name="w1",
                                               host=f"{SUBNET}.1")
            kept = _in(net, fleet, "w2").worker(PORT, "--reconnect-timeout", "30s", name="w2",
                                                host=f"{SUBNET}.1")
            wait_until(lambda: "users per worker" in master.stderr(), 30, "the test to start")
            time.sleep(2.0)
            net.link("w1", up=False)
            wait_until(lambda: "missing" in master.stderr(), 10, "the master to miss w1")
            wait_until(lambda: "lost the master" in cut.stderr(), 10, "w1 to notice")
            time.sleep(1.0)
            net.link("w1", up=True)
            assert master.wait(60) == 0, master.stderr()
        finally:
            target_proc.terminate()
            target_proc.wait(timeout=10)
        log = master.stderr()
        ids = {name: worker_entry(fleet.result(), proc.pid)["id"]
               for name, proc in (("w1", cut), ("w2", kept))}
        dispatches = [dict(re.findall(r"(\S+)=(\d+)", line))
                      for line in log.splitlines() if "users per worker" in line]
        # While w1 was missing, w2 held all six users; after the rejoin, three each.
        assert {ids["w2"]: "6"} in dispatches, dispatches
        assert dispatches[-1] == {ids["w1"]: "3", ids["w2"]: "3"}, dispatches
        result = fleet.result()
        w1, w2 = worker_entry(result, cut.pid), worker_entry(result, kept.pid)
        assert w1["state"] == "done" and w1["users"] == 3
        assert w2["state"] == "done" and w2["users"] == 3
        assert any("missing" in w for w in w1["warnings"])
        assert result["total"]["requests"] > 0
        assert cut.wait(15) == 0 and kept.wait(15) == 0
    finally:
        fleet.close()
