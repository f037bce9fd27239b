"""Locust-style scripts, one per API, run unchanged by the horde CLI against a counting target."""

from __future__ import annotations

from pathlib import Path

from tests.integration.horde_process import run_horde, write_script
from tests.support.target import Target


def _run(tmp_path: Path, target: Target, source: str, *extra: str, name: str = "locustfile.py",
         users: int = 2, seconds: int = 2):  # type: ignore[no-untyped-def]
    script = write_script(tmp_path, source, name)
    args = ["-f", script.name, "-H", target.url, "--headless", "-u", str(users), "-r", "10",
            "-t", f"{seconds}s", "--only-summary", *extra]
    return run_horde(args, tmp_path, json_path=tmp_path / "out.json", timeout=60)


def test_events_runner_stats_and_quitting_exit_code(tmp_path: Path, plain_target: Target) -> None:
    run = _run(tmp_path, plain_target, """
        from locust import HttpUser, task, constant, events
        from locust.runners import LocalRunner, MasterRunner, STATE_RUNNING
        seen = {}

        @events.init.add_listener
        def on_init(environment, **kw):
            assert isinstance(environment.runner, LocalRunner)
            assert not isinstance(environment.runner, MasterRunner)
            # a listener added inside init is called
            @environment.events.request.add_listener
            def on_request(request_type, name, response_time, response_length, exception,
                           context, **kw):
                assert isinstance(context, dict)
                assert exception is None or isinstance(exception, Exception)
                seen["requests"] = seen.get("requests", 0) + 1

        @events.spawning_complete.add_listener
        def on_spawned(user_count, **kw):
            seen["spawned"] = user_count

        @events.quitting.add_listener
        def on_quit(environment, **kw):
            total = environment.stats.total
            assert total.num_requests == seen["requests"], (total.num_requests, seen)
            assert 0 <= total.fail_ratio <= 1
            assert total.avg_response_time > 0
            assert total.get_response_time_percentile(0.95) > 0
            assert seen["spawned"] == 2
            environment.process_exit_code = 3

        class U(HttpUser):
            wait_time = constant(0.05)
            @task
            def t(self):
                self.client.get("/fast")
    """)
    assert run.returncode == 3, run.stderr
    counts = plain_target.counts()
    assert run.endpoint("GET", "/fast")["requests"] == counts.route("GET", "/fast") > 0


def test_script_fired_request_event_is_counted(tmp_path: Path, plain_target: Target) -> None:
    run = _run(tmp_path, plain_target, """
        from locust import User, task, constant, events

        class Worker(User):
            wait_time = constant(0.1)
            @task
            def work(self):
                events.request.fire(request_type="job", name="crunch", response_time=2,
                                    response_length=5, exception=None, context={})
                self.environment.events.request.fire(request_type="job", name="bad",
                    response_time=1, response_length=0, exception=ValueError("no"),
                    context={})
    """)
    assert run.returncode == 1, run.stderr
    ok, bad = run.endpoint("job", "crunch"), run.endpoint("job", "bad")
    assert ok["requests"] == bad["requests"] == bad["failures"] > 0
    assert ok["failures"] == 0


def test_gevent_calls_cooperate_with_users(tmp_path: Path, plain_target: Target) -> None:
    run = _run(tmp_path, plain_target, """
        import gevent
        from gevent.lock import Semaphore
        from gevent.event import Event
        from gevent.pool import Pool
        from locust import HttpUser, task, constant, events

        gate = Semaphore(1)
        ready = Event()
        done = []

        def side(n):
            gevent.sleep(0.05)
            done.append(n)
            return n

        @events.test_start.add_listener
        def start(environment, **kw):
            gevent.spawn_later(0.1, ready.set)

        class U(HttpUser):
            wait_time = constant(0.05)
            @task
            def t(self):
                assert ready.wait(5), "spawn_later never ran"
                with gate:
                    self.client.get("/fast")
                    gevent.sleep(0.01)
                g = gevent.spawn(side, 1)
                g.join()
                assert g.value == 1
                pool = Pool(2)
                for i in range(3):
                    pool.spawn(side, i)
                pool.join()
                k = gevent.spawn(gevent.sleep, 30)
                k.kill()
                assert k.dead
                self.client.get("/fast")
    """)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.result is not None and not run.result["exceptions"]
    assert run.endpoint("GET", "/fast")["requests"] == plain_target.counts().route("GET", "/fast")


def test_rest_markov_and_second_session(tmp_path: Path, plain_target: Target) -> None:
    run = _run(tmp_path, plain_target, """
        from locust import FastHttpUser, MarkovTaskSet, transition, task, constant
        from locust.clients import HttpSession
        from locust.user.wait_time import between

        class Flow(MarkovTaskSet):
            @transition("second")
            def first(self):
                self.client.get("/status/201")

            @transition("first")
            def second(self):
                self.client.get("/status/202")

        class U(FastHttpUser):
            wait_time = constant(0.05)
            tasks = [Flow]

        class R(FastHttpUser):
            wait_time = between(0.01, 0.05)
            def on_start(self):
                self.other = HttpSession(base_url=self.host,
                                         request_event=self.client.request_event, user=self)
            @task
            def t(self):
                with self.rest("POST", "/echo", json={"a": 1}) as resp:
                    assert resp.js is not None
                with self.rest("GET", "/fast") as resp:   # not JSON: a failure
                    pass
                with self.rest("GET", "/headers") as resp:
                    assert resp.js["nope"] == 1, "missing,"
                self.other.get("/bytes/3")
    """, users=2)
    assert run.returncode == 1, run.stderr
    counts = plain_target.counts()
    assert run.endpoint("GET", "/status/{code}".replace("{code}", "201"))["requests"] == \
        counts.route_status("GET", "/status/{code}", 201) > 0
    assert counts.route_status("GET", "/status/{code}", 202) > 0
    fast = run.endpoint("GET", "/fast")
    assert fast["failures"] == fast["requests"] == counts.route("GET", "/fast") > 0
    assert run.endpoint("POST", "/echo")["failures"] == 0
    assert run.endpoint("GET", "/headers")["failures"] == run.endpoint("GET", "/headers")[
        "requests"]
    assert run.endpoint("GET", "/bytes/3")["requests"] == counts.route("GET", "/bytes/{n}")
    assert run.result is not None and not run.result["exceptions"]


def test_parsed_options_from_init_command_line_parser(tmp_path: Path,
                                                      plain_target: Target) -> None:
    run = _run(tmp_path, plain_target, """
        from locust import HttpUser, task, events, constant

        @events.init_command_line_parser.add_listener
        def add(parser):
            parser.add_argument("--my-path", default="/fast", env_var="MY_PATH",
                                include_in_web_ui=True)

        class U(HttpUser):
            wait_time = constant(0.1)
            @task
            def t(self):
                self.client.get(self.environment.parsed_options.my_path)
    """)
    assert run.returncode == 0, run.stderr
    assert run.endpoint("GET", "/fast")["requests"] == plain_target.counts().route("GET", "/fast")


def test_locustfile_found_without_f(tmp_path: Path, plain_target: Target) -> None:
    write_script(tmp_path, """
        from locust import HttpUser, task, constant
        class U(HttpUser):
            wait_time = constant(0.1)
            @task
            def t(self):
                self.client.get("/fast")
    """, "locustfile.py")
    run = run_horde(["-H", plain_target.url, "--headless", "-u", "1", "-t", "1s",
                     "--only-summary"], tmp_path, json_path=tmp_path / "o.json")
    assert run.returncode == 0, run.stderr
    assert run.endpoint("GET", "/fast")["requests"] == plain_target.counts().route("GET", "/fast")


def test_script_flags_on_the_command_line(tmp_path: Path, plain_target: Target) -> None:
    source = """
        from locust import HttpUser, task, events, constant

        @events.init_command_line_parser.add_listener
        def add(parser):
            parser.add_argument("--my-path", default="/fast")
            parser.add_argument("--twice", action="store_true")

        class U(HttpUser):
            wait_time = constant(0.1)
            @task
            def t(self):
                opts = self.environment.parsed_options
                self.client.get(opts.my_path)
                if opts.twice:
                    self.client.get("/status/204")
    """
    run = _run(tmp_path, plain_target, source, "--my-path", "/status/203", "--twice", "U")
    assert run.returncode == 0, run.stderr
    served = plain_target.counts().route_status("GET", "/status/{code}", 203)
    assert served == run.endpoint("GET", "/status/203")["requests"] > 0
    assert plain_target.counts().route_status("GET", "/status/{code}", 204) > 0  # --twice
    wrong = _run(tmp_path, plain_target, source, "--no-such-flag")
    assert wrong.returncode == 2
    assert "unknown option --no-such-flag" in wrong.stderr
