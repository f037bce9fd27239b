"""The open model over a real fleet: a worker that joins during the test gets its share of the rate.

A master runs ``--arrival-rate`` with one worker; a second worker joins while
the test runs. The master splits the rate anew from an iteration a second
ahead (horde.runtime.master `_split_rate`): both workers then run half of the
schedule each, and every iteration of the schedule runs exactly once, so the
target counts the rate times the run time, and horde counts what the target
served.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.distributed.fleet_procs import (
    Fleet,
    free_port,
    kill9,
    wait_until,
    worker_entry,
    write_script,
)
from tests.support.target import Target

pytestmark = pytest.mark.slow

RATE, SECONDS = 40, 12

SCRIPT = """
from horde import HttpUser, constant, task

class Paced(HttpUser):
    wait_time = constant(5)  # ignored in the open model

    @task
    def fast(self):
        self.client.get("/fast")
"""




def test_a_worker_joining_an_open_model_test_gets_half_of_the_rate(
        fleet: Fleet, plain_target: Target) -> None:
    plain_target.reset_counts()
    port = free_port()
    script = write_script(fleet.directory / "m", SCRIPT)
    master = fleet.master(port, script, plain_target.url, "--arrival-rate", str(RATE),
                          "-u", "4", "--max-lateness", "5s", "-t", f"{SECONDS}s",
                          "--expect-workers", "1", "--expect-workers-max-wait", "30s",
                          "--loglevel", "INFO")
    first = fleet.worker(port, "--reconnect-timeout", "20s", name="w1")
    # The test runs on one worker: wait for the first couple of seconds of traffic.
    wait_until(lambda: plain_target.counts().route("GET", "/fast") >= 2 * RATE, 30,
               "the first worker's iterations")
    joined_at = time.monotonic()
    second = fleet.worker(port, "--reconnect-timeout", "20s", name="w2")
    assert master.wait(90) == 0, master.stderr() + master.stdout()
    for w in (first, second):
        w.end()
    log = master.stderr()
    assert "Traceback" not in log

    # The master split the rate anew, over both workers, once the second held users.
    split = re.findall(r"rate is split anew from iteration (\d+): (.*)", log)
    assert split, log
    k, shares = split[-1]
    assert re.fullmatch(r"\S+=1/2, \S+=1/2", shares.strip()), shares

    result = fleet.result()
    served = plain_target.counts().route("GET", "/fast")
    assert result["total"]["requests"] == served  # what the target served, all counted
    # Every iteration of the schedule ran once: no loss, no double share.
    assert RATE * SECONDS * 0.95 <= served <= RATE * SECONDS * 1.02, served
    one, two = worker_entry(result, first.pid), worker_entry(result, second.pid)
    assert one["requests"] + two["requests"] == served
    # The second worker ran its half of the iterations from the split on.
    left = RATE * SECONDS - int(k)
    assert two["requests"] >= 0.4 * left, (two, k)
    assert abs(two["requests"] - left / 2) <= 0.1 * left + 2, (two, k)
    assert time.monotonic() - joined_at < 60


def test_a_lost_worker_leaves_the_whole_rate_to_the_other(
        fleet: Fleet, plain_target: Target) -> None:
    plain_target.reset_counts()
    port = free_port()
    script = write_script(fleet.directory / "m", SCRIPT)
    master = fleet.master(port, script, plain_target.url, "--arrival-rate", str(RATE),
                          "-u", "4", "--max-lateness", "5s", "-t", f"{SECONDS}s",
                          "--expect-workers", "2", "--expect-workers-max-wait", "30s",
                          "--loglevel", "INFO")
    doomed = fleet.worker(port, "--reconnect-timeout", "20s", name="w1")
    survivor = fleet.worker(port, "--reconnect-timeout", "20s", name="w2")
    wait_until(lambda: plain_target.counts().route("GET", "/fast") >= 2 * RATE, 30,
               "both workers' iterations")
    kill9(doomed)
    assert master.wait(90) == 0, master.stderr() + master.stdout()
    survivor.end()
    log = master.stderr()
    assert "Traceback" not in log
    split = re.findall(r"rate is split anew from iteration (\d+): (.*)", log)
    assert split, log
    k, shares = split[-1]
    assert re.fullmatch(r"\S+=1/1", shares.strip()), shares  # the whole rate, to the survivor
    result = fleet.result()
    served = plain_target.counts().route("GET", "/fast")
    assert served >= result["total"]["requests"]  # the killed worker's last second is lost
    mine = worker_entry(result, survivor.pid)["requests"]
    # Half of the schedule before iteration K, all of it from K on.
    expected = int(k) / 2 + (RATE * SECONDS - int(k))
    assert abs(mine - expected) <= 0.05 * expected + 2, (mine, expected, k)
