"""The pytest plugin's session/fastsession fixtures, in a pytest run of its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.target import Target


def test_session_fixtures_reach_the_host(tmp_path: Path, plain_target: Target) -> None:
    (tmp_path / "test_site.py").write_text(textwrap.dedent("""
        def test_front(session):
            assert session.get("/fast").status_code == 200
            with session.get("/fail", catch_response=True) as resp:
                resp.success()
            assert session.post("/echo", json={"a": 1}).json() is not None

        def test_fast(fastsession):
            assert fastsession.get("/status/204").status_code == 204
    """))
    # The pytest11 entry point loads the plugin (pyproject.toml), as for a user.
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "--host", plain_target.url, "test_site.py"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed" in out.stdout
    counts = plain_target.counts()
    assert counts.route("GET", "/fast") == counts.route("GET", "/fail") == 1
    assert counts.route("POST", "/echo") == 1
    assert counts.route_status("GET", "/status/{code}", 204) == 1
