"""Greenlets switching through compiled frames, proven under load (tests/compiled_stress.py).

2,000 plain `def` users at once against a loopback target, with failed
responses, dropped connections, client timeouts, exceptions raised by tasks,
cancellation mid-request and `asyncio.wait_for` timeouts. It runs in its own
process: a crash fails this test with the signal, and the rest of the suite
goes on. Under `make test` it runs once per build (compiled, then pure).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import horde

ROOT = Path(__file__).resolve().parent.parent


def test_thousands_of_sync_users_survive_exceptions_cancellation_and_timeouts() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONFAULTHANDLER="1",
               HORDE_BUILD=horde.BUILD.kind)  # the child runs this process's build
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "compiled_stress.py"), "2000"],
                          capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-5000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["build"] == horde.BUILD.describe()
    assert result["failures"] == []
    tasks = result["tasks"]
    # Every kind of task ran hundreds of times: the mix did what it is there for.
    assert min(tasks[k] for k in ("ok", "err", "raise", "slow", "close", "catch")) >= 100
    assert result["phase2_blocked_in_slow"] >= 500
