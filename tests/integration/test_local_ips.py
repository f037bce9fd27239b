"""`--local-ips` through the real CLI: locally, with --processes, and refused when wrong.

The target records each connection's peer, so these check the addresses that
actually reached it; its request count is compared with horde's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.horde_process import run_horde, write_script
from tests.support.peer_server import PeerServer

SCRIPT = """
from horde import HttpUser, task, constant

class Visitor(HttpUser):
    wait_time = constant(0.05)

    @task
    def index(self):
        self.client.get("/")
"""


@pytest.mark.parametrize("processes", [None, 2])
def test_connections_come_from_the_given_addresses(tmp_path: Path,
                                                   processes: int | None) -> None:
    script = write_script(tmp_path, SCRIPT)
    extra = ["--processes", str(processes)] if processes else []
    with PeerServer() as target:
        run = run_horde(["-f", str(script), "-H", target.url, "--headless", "-u", "12",
                         "-r", "100", "-t", "2s", "--local-ips", "127.0.0.7-127.0.0.8", *extra],
                        tmp_path, json_path=tmp_path / "result.json", timeout=90)
        assert run.returncode == 0, run.stderr
        assert run.result is not None
        assert run.result["total"]["requests"] == target.requests > 0
        assert set(target.peers) == {"127.0.0.7", "127.0.0.8"}
        assert len(target.peers) == 12  # one kept-alive connection per user


def test_by_default_a_loopback_target_sees_several_sources(tmp_path: Path) -> None:
    script = write_script(tmp_path, SCRIPT)
    with PeerServer() as target:
        run = run_horde(["-f", str(script), "-H", target.url, "--headless", "-u", "40",
                         "-r", "200", "-t", "2s"],
                        tmp_path, json_path=tmp_path / "result.json", timeout=90)
        assert run.returncode == 0, run.stderr
        assert run.result is not None
        assert run.result["total"]["requests"] == target.requests > 0
        assert len(target.peers) == 40
        assert {p.rsplit(".", 1)[0] for p in target.peers} == {"127.0.0"}
        assert len(set(target.peers)) > 1


@pytest.mark.parametrize(("value", "words"), [
    ("192.0.2.1", "--local-ips: cannot send from 192.0.2.1 on this machine"),
    ("127.0.0.1-nonsense", "is not a range"),
])
def test_a_wrong_list_is_refused_before_any_request(tmp_path: Path, value: str,
                                                    words: str) -> None:
    script = write_script(tmp_path, SCRIPT)
    with PeerServer() as target:
        run = run_horde(["-f", str(script), "-H", target.url, "--headless", "-u", "2",
                         "-t", "2s", "--local-ips", value], tmp_path)
        assert run.returncode == 2
        assert words in run.stderr
        assert "Traceback" not in run.stderr
        assert target.requests == 0 and target.peers == []
