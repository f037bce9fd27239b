"""Library use (Locust's use_as_lib), run_single_user and LoadTestShape, in fresh processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.target import Target

REPO = Path(__file__).resolve().parents[2]


def _python(tmp_path: Path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "lib_script.py"
    # Library use needs the namespace installed first: `horde.compat.install()`
    # is the one line that differs from a Locust script.
    script.write_text("import horde.compat; horde.compat.install()\n" + textwrap.dedent(source))
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=60, cwd=REPO)


def test_environment_local_runner_start_quit_join(tmp_path: Path, plain_target: Target) -> None:
    out = _python(tmp_path, """
        import sys
        import gevent
        from locust import HttpUser, task, constant, events
        from locust.env import Environment
        from locust.runners import LocalRunner, STATE_STOPPED

        class U(HttpUser):
            wait_time = constant(0.05)
            @task
            def t(self):
                self.client.get("/fast")

        env = Environment(user_classes=[U], host=sys.argv[1], events=events)
        runner = env.create_local_runner()
        assert isinstance(runner, LocalRunner)
        runner.start(3, spawn_rate=30)
        gevent.spawn_later(1.0, runner.quit)
        runner.greenlet.join()
        assert runner.state == STATE_STOPPED, runner.state
        print("REQUESTS", env.stats.total.num_requests)
    """, plain_target.url)
    assert out.returncode == 0, out.stderr
    counted = int(out.stdout.split("REQUESTS")[1])
    assert counted == plain_target.counts().route("GET", "/fast") > 0


def test_run_single_user_prints_requests(tmp_path: Path, plain_target: Target) -> None:
    out = _python(tmp_path, """
        import sys
        from locust import HttpUser, task, run_single_user
        from locust.exception import StopUser

        class U(HttpUser):
            host = sys.argv[1]
            n = 0
            @task
            def t(self):
                U.n += 1
                if U.n > 3:
                    raise StopUser()
                self.client.get("/fast")

        run_single_user(U)
    """, plain_target.url)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("GET\t/fast") == 3 == plain_target.counts().route("GET", "/fast")


def test_load_test_shape_imports_from_locust(tmp_path: Path) -> None:
    out = _python(tmp_path, """
        from locust import LoadTestShape
        import horde.plan.shape
        assert LoadTestShape is horde.plan.shape.LoadTestShape
        print("ok")
    """)
    assert out.returncode == 0, out.stderr
