"""What one connect() costs as connections to one target pile up (issue 8).

Linux picks a connection's ephemeral port by scanning the range for a free
(source, port, target, port) tuple, trying ports of one parity first. This
script opens PROCESSES x CONNECTIONS keep-alive connections to one nginx port
on loopback, from plain sockets (no horde), a few hundred at a time, and
prints the mean time of the connect() call per batch of 2,000, twice:

* ``same``: every socket from 127.0.0.1 (the kernel's choice);
* ``spread``: each socket bound first (``IP_BIND_ADDRESS_NO_PORT``) to one of
  16 loopback sources, as horde does by default for loopback targets
  (horde/http/source.py).

    .venv/bin/python bench/connect_cost.py                       # 3 x 16,600
    .venv/bin/python bench/connect_cost.py --connections 5000

The port range is widened to 1024-65000 for the run (as root) and put back,
as in bench/case_study_50k.py; loopback only; every process this script
starts is ended by its pid.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Sequence

from case_study_50k import machine_settings, nginx3

BATCH = 2_000
SOURCES = 16
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def child(port: int, count: int, mode: str, index: int) -> None:
    """One process: open `count` connections, print the mean connect() time per batch."""
    socks = []
    spent = 0.0
    for i in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        if mode == "spread":
            sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            sock.bind((f"127.0.0.{1 + (i + index) % SOURCES}", 0))
        t0 = time.perf_counter()
        try:
            sock.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        spent += time.perf_counter() - t0
        socks.append(sock)
        if (i + 1) % BATCH == 0:
            print(f"{i + 1} {spent / BATCH * 1e6:.1f}", flush=True)
            spent = 0.0
        if i % 100 == 99:
            time.sleep(0.01)  # let nginx accept: the backlog is not what is measured
    for sock in socks:  # reset, not closed: no TIME_WAIT left on the machine
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


def run(port: int, processes: int, count: int, mode: str) -> dict[int, list[float]]:
    procs = [subprocess.Popen([sys.executable, __file__, "--child", str(port), str(count), mode,
                               str(i)], stdout=subprocess.PIPE, text=True)
             for i in range(processes)]
    per_batch: dict[int, list[float]] = {}
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        for line in out.split("\n"):
            if line.strip():
                done, micros = line.split()
                per_batch.setdefault(int(done), []).append(float(micros))
    return per_batch


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16_600, help="per process")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        port, count, mode, index = args.child
        child(int(port), int(count), mode, int(index))
        return 0
    with machine_settings(), nginx3() as url:
        port = int(url.rsplit(":", 1)[1])
        results = {mode: run(port, args.processes, args.connections, mode)
                   for mode in ("same", "spread")}
    print(f"\nmean connect() time, µs, {args.processes} processes x {args.connections:,} "
          "connections to one nginx port")
    print(f"{'connections (all processes)':>28} {'same source':>12} {'16 sources':>12}")
    for done in sorted(results["same"]):
        same = statistics.mean(results["same"][done])
        spread = statistics.mean(results["spread"].get(done, [float("nan")]))
        print(f"{done * args.processes:>28,} {same:>12.1f} {spread:>12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
