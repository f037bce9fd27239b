"""A fleet over CURVE: `horde keys` makes the keys, encrypted workers join,
a worker without the fleet's key is never heard."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.distributed.fleet_procs import Fleet, free_port, write_script
from tests.support.target import Target


def make_keys(directory: Path) -> tuple[Path, Path]:
    done = subprocess.run([sys.executable, "-m", "horde", "keys", str(directory)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "--curve-keys" in done.stdout
    master_dir, worker_dir = directory / "master", directory / "worker"
    assert not (worker_dir / "master.key_secret").exists()  # the master's secret stays home
    assert (worker_dir / "master.key").is_file() and (worker_dir / "worker.key_secret").is_file()
    again = subprocess.run([sys.executable, "-m", "horde", "keys", str(directory)],
                           capture_output=True, text=True, timeout=30)
    assert again.returncode == 2 and "never overwritten" in again.stderr
    return master_dir, worker_dir


def test_encrypted_fleet_runs_and_a_keyless_worker_is_not_heard(
        fleet: Fleet, plain_target: Target, tmp_path: Path) -> None:
    master_dir, worker_dir = make_keys(tmp_path / "keys")
    port = free_port()
    script = write_script(fleet.directory / "m")
    master = fleet.master(port, script, plain_target.url, "-u", "2", "-r", "50", "-t", "2s",
                          "--expect-workers", "2", "--expect-workers-max-wait", "6s",
                          "--curve-keys", str(master_dir))
    intruder = fleet.worker(port, "--reconnect-timeout", "3s", name="intruder")
    member = fleet.worker(port, "--curve-keys", str(worker_dir), "--reconnect-timeout", "20s",
                          name="member")
    # Only one of the two expected workers can join: the master gives up in words.
    assert master.wait(60) == 2, master.stderr()
    assert "only 1 of 2 workers connected" in master.stdout(), master.stdout()
    assert master.stderr().count(" joined") == 1, master.stderr()
    assert plain_target.counts().total == 0
    member.wait(30)
    intruder.wait(30)

    port = free_port()
    master = fleet.master(port, script, plain_target.url, "-u", "2", "-r", "50", "-t", "2s",
                          "--expect-workers", "1", "--expect-workers-max-wait", "20s",
                          "--curve-keys", str(master_dir), name="master2")
    member = fleet.worker(port, "--curve-keys", str(worker_dir), "--reconnect-timeout", "20s",
                          name="member2")
    assert master.wait(60) == 0, master.stderr()
    result = fleet.result("master2")
    assert result["total"]["requests"] == plain_target.counts().total > 0
    assert len(result["workers"]) == 1
    assert member.wait(20) == 0
