"""A master and workers as real processes against a real counting target.

Without faults, the master's totals equal what the target answered; with a
worker killed, the test goes on and the other worker ends with every user;
with the master killed, the workers stop their load within 5 s.
"""

from __future__ import annotations

import os
import time

import pytest

from tests.distributed.fleet_procs import (
    SCRIPT,
    Fleet,
    free_port,
    kill9,
    wait_until,
    worker_entry,
    write_script,
)
from tests.support.target import Target

pytestmark = pytest.mark.slow




def test_two_workers_totals_equal_the_targets_count(fleet: Fleet, plain_target: Target) -> None:
    port = free_port()
    script = write_script(fleet.directory / "m")
    master = fleet.master(port, script, plain_target.url, "-u", "6", "-r", "50", "-t", "4s",
                          "--expect-workers", "2", "--expect-workers-max-wait", "30s",
                          "--csv", str(fleet.directory / "out"),
                          "--html", str(fleet.directory / "report.html"))
    workers = [fleet.worker(port, "--reconnect-timeout", "20s", name=f"w{i}") for i in range(2)]
    assert master.wait(60) == 0, master.stderr() + master.stdout()
    assert "Traceback" not in master.stderr()
    result = fleet.result()
    # The files a headless master writes agree with its JSON.
    stats_csv = (fleet.directory / "out_stats.csv").read_text().splitlines()
    assert stats_csv[-1].startswith(f",Aggregated,{result['total']['requests']},0,")
    assert (fleet.directory / "out_stats_history.csv").read_text().count("\n") >= 3
    html = (fleet.directory / "report.html").read_text()
    assert all(w["id"] in html for w in result["workers"])
    counts = plain_target.counts()
    assert result["total"]["requests"] == counts.route("GET", "/fast") > 0
    assert result["total"]["failures"] == 0
    assert len(result["workers"]) == 2
    per_worker = [worker_entry(result, w.pid) for w in workers]
    assert sorted(w["users"] for w in per_worker) == [3, 3]
    assert all(w["state"] == "done" for w in per_worker)  # not "running" after the test
    assert sum(w["requests"] for w in per_worker) == result["total"]["requests"]
    # The master says Quit at the end: the workers exit by themselves, with 0.
    assert [w.wait(15) for w in workers] == [0, 0]


def test_a_killed_worker_is_lost_and_the_other_takes_its_users(
        fleet: Fleet, plain_target: Target) -> None:
    port = free_port()
    script = write_script(fleet.directory / "m")
    master = fleet.master(port, script, plain_target.url, "-u", "6", "-r", "100", "-t", "11s",
                          "--expect-workers", "2", "--expect-workers-max-wait", "30s")
    victim = fleet.worker(port, "--reconnect-timeout", "20s", name="victim")
    survivor = fleet.worker(port, "--reconnect-timeout", "20s", name="survivor")
    wait_until(lambda: plain_target.counts().total > 0, 30, "the test to start")
    time.sleep(1.0)
    kill9(victim)
    assert master.wait(60) == 0, master.stderr()
    result = fleet.result()
    lost, kept = worker_entry(result, victim.pid), worker_entry(result, survivor.pid)
    assert lost["state"] == "lost" and lost["users"] == 0
    assert kept["state"] == "done" and kept["users"] == 6
    assert lost["requests"] > 0  # its statistics so far were kept
    assert "missing" in master.stderr()
    assert survivor.wait(15) == 0


def test_workers_stop_their_load_within_5_s_of_losing_the_master(
        fleet: Fleet, plain_target: Target) -> None:
    port = free_port()
    script = write_script(fleet.directory / "m")
    master = fleet.master(port, script, plain_target.url, "-u", "4", "-r", "100", "-t", "60s",
                          "--expect-workers", "2", "--expect-workers-max-wait", "30s")
    workers = [fleet.worker(port, "--reconnect-timeout", "3s", name=f"w{i}") for i in range(2)]
    wait_until(lambda: plain_target.counts().total > 0, 30, "the test to start")
    time.sleep(1.0)
    kill9(master)
    killed_at = time.monotonic()
    time.sleep(max(0.0, killed_at + 5.0 - time.monotonic()))
    first = plain_target.counts().total
    time.sleep(1.5)
    second = plain_target.counts().total
    assert first == second, f"requests went on after the master died: {first} -> {second}"
    # Nobody answers for --reconnect-timeout: each worker gives up, exit code 1.
    assert [w.wait(20) for w in workers] == [1, 1]
    assert "lost the master" in workers[0].stderr()


def test_a_worker_with_its_own_different_files_is_refused(
        fleet: Fleet, plain_target: Target) -> None:
    port = free_port()
    script = write_script(fleet.directory / "m")
    write_script(fleet.directory / "m", "# helper\n", name="helper.py")
    own = write_script(fleet.directory / "w", script.read_text() + "\n# changed\n")
    write_script(fleet.directory / "w", "# helper\n", name="helper.py")
    master = fleet.master(port, script.parent, plain_target.url, "-u", "1", "-t", "2s",
                          "--expect-workers", "1", "--expect-workers-max-wait", "12s")
    worker = fleet.worker(port, "-f", str(own.parent), "--reconnect-timeout", "20s")
    assert worker.wait(30) == 2
    assert "hordefile.py" in worker.stderr() and "differ" in worker.stderr()
    assert "helper.py" not in worker.stderr()
    assert "refused" in master.stderr()
    assert master.wait(30) == 2  # nobody acceptable joined within the wait
    assert plain_target.counts().total == 0


def test_a_worker_with_identical_files_joins_without_a_bundle(
        fleet: Fleet, plain_target: Target) -> None:
    port = free_port()
    script = write_script(fleet.directory / "m")
    own = write_script(fleet.directory / "w", script.read_text())
    master = fleet.master(port, script, plain_target.url, "-u", "2", "-r", "50", "-t", "2s",
                          "--expect-workers", "1", "--expect-workers-max-wait", "30s")
    worker = fleet.worker(port, "-f", str(own), "--reconnect-timeout", "20s")
    assert master.wait(60) == 0, master.stderr()
    assert fleet.result()["total"]["requests"] == plain_target.counts().total > 0
    assert worker.wait(15) == 0


def test_processes_2_end_to_end(fleet: Fleet, plain_target: Target) -> None:
    script = write_script(fleet.directory / "m")
    proc = fleet.start("procs", ["-f", str(script), "-H", plain_target.url, "--headless",
                                 "-u", "4", "-r", "50", "-t", "3s", "--processes", "2",
                                 "--json", str(fleet.directory / "procs.json")])
    assert proc.wait(60) == 0, proc.stderr()
    result = fleet.result("procs")
    assert result["total"]["requests"] == plain_target.counts().total > 0
    assert len(result["workers"]) == 2
    assert sorted(w["users"] for w in result["workers"]) == [2, 2]
    for w in result["workers"]:  # the children ended with the master
        pid = int(w["id"].split("-")[-2])
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_raising_test_stop_listener_on_the_master_counts_as_an_error(
        fleet: Fleet, plain_target: Target) -> None:
    """As in a local run: reported with the results and exit code 1, not only logged.

    test_stop fires on the master and on every worker (as in Locust), so one
    worker plus the master make two occurrences."""
    script = write_script(fleet.directory / "m", SCRIPT + """
from horde import events

@events.test_stop.add_listener
def broken(environment, **kwargs):
    raise RuntimeError("cleanup failed")
""")
    proc = fleet.start("procs", ["-f", str(script), "-H", plain_target.url, "--headless",
                                 "-u", "1", "-r", "50", "-t", "2s", "--processes", "1",
                                 "--json", str(fleet.directory / "procs.json")])
    assert proc.wait(60) == 1, proc.stderr()
    result = fleet.result("procs")
    assert [x["where"] for x in result["exceptions"]] == ["test_stop listener"]
    assert "RuntimeError: cleanup failed" in result["exceptions"][0]["error"]
    assert result["exceptions"][0]["occurrences"] == 2


def test_processes_with_workers_that_cannot_load_the_files_ends_in_words(
        fleet: Fleet, plain_target: Target) -> None:
    """The script loads on the master but raises on the workers: the master must
    not wait forever for workers that will never join."""
    script = write_script(fleet.directory / "m", SCRIPT.replace(
        "class Plain", 'if "horde-worker" in __file__:\n'
                       '    raise RuntimeError("only breaks on workers")\n\nclass Plain'))
    proc = fleet.start("procs", ["-f", str(script), "-H", plain_target.url, "--headless",
                                 "-u", "1", "-t", "2s", "--processes", "1"])
    assert proc.wait(30) == 2, proc.stderr()
    assert "before the test could start" in proc.stdout()
    assert "only breaks on workers" in proc.stderr()
    assert plain_target.counts().total == 0


def test_a_single_file_script_takes_its_helper_modules_to_the_workers(
        fleet: Fleet, plain_target: Target) -> None:
    """-f script.py imports a module beside it, as a local run allows: the
    workers must get that module too (and still load only the script)."""
    write_script(fleet.directory / "m", 'PATH = "/fast"\n', name="_paths.py")
    write_script(fleet.directory / "m", "raise RuntimeError('not a test script')\n",
                 name="other_script.py")
    script = write_script(fleet.directory / "m", SCRIPT.replace(
        'self.client.get("/fast")', "self.client.get(PATH)").replace(
        "from horde import", "from _paths import PATH\nfrom horde import"))
    proc = fleet.start("procs", ["-f", str(script), "-H", plain_target.url, "--headless",
                                 "-u", "1", "-r", "50", "-t", "2s", "--processes", "1",
                                 "--json", str(fleet.directory / "procs.json")])
    assert proc.wait(60) == 0, proc.stderr()
    assert fleet.result("procs")["total"]["requests"] == plain_target.counts().total > 0
