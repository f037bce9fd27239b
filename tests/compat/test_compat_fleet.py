"""Locust scripts that talk across a fleet, run unchanged by real master and worker processes.

One Locust-style script per API: `send_message`/`register_message` both ways
(and `concurrent=True`), `report_to_master`/`worker_report`, the script's
own options on the workers, and `runner.quit()` ending a web-UI run. The
master's script checks what it saw in its `quitting` listener and says so
through the exit code (as Locust scripts do with `process_exit_code`); the
test checks that, and that horde's counts equal what the target served.
Loopback only; every process is ended by PID (`Fleet.close`); every wait is
bounded.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.distributed.fleet_procs import Fleet, Proc, free_port, wait_until, write_script
from tests.support.target import Target

pytestmark = pytest.mark.slow




def _run(fleet: Fleet, target: Target, source: str, *master_args: str, workers: int = 1,
         seconds: int = 3, master_env: dict[str, str | None] | None = None) -> Proc:
    """A headless master with `workers` workers (the master ships its files); ended."""
    port = free_port()
    script = write_script(fleet.directory / "m", textwrap.dedent(source), "locustfile.py")
    master = fleet.master(port, script, target.url, "-u", str(2 * workers), "-r", "20",
                          "-t", f"{seconds}s", "--expect-workers", str(workers),
                          "--expect-workers-max-wait", "30s", *master_args,
                          extra_env=master_env)
    procs = [fleet.worker(port, "--reconnect-timeout", "30s", name=f"worker{i}")
             for i in range(workers)]
    code = master.wait(90)
    assert code == 0, f"exit {code}\n{master.stdout()}\n{master.stderr()}\n" + \
        "\n".join(p.stderr() for p in procs)
    for proc in procs:
        assert proc.wait(30) == 0, proc.stderr()
        assert "Traceback" not in proc.stderr(), proc.stderr()
    assert "Traceback" not in master.stderr(), master.stderr()
    return master


MESSAGES = """
    import sys
    from locust import HttpUser, task, constant, events
    from locust.runners import MasterRunner, WorkerRunner

    paths = []          # a worker's: what the master handed it
    acks = []           # the master's: what the workers answered
    hellos = []         # the master's: what the workers' init sent

    def take_paths(environment, msg, **kwargs):
        assert isinstance(environment.runner, WorkerRunner)
        assert msg.type == "paths" and msg.node_id == environment.runner.client_id
        paths.extend(msg.data)
        environment.runner.send_message("ack", {"got": list(msg.data),
                                                "me": environment.runner.client_id})

    def on_ack(environment, msg, **kwargs):
        acks.append((msg.node_id, msg.data))

    def on_hello(environment, msg, **kwargs):
        hellos.append((msg.node_id, msg.data))

    @events.init.add_listener
    def on_init(environment, **kwargs):
        if not isinstance(environment.runner, MasterRunner):
            environment.runner.register_message("paths", take_paths)
        if not isinstance(environment.runner, WorkerRunner):
            environment.runner.register_message("ack", on_ack)
            environment.runner.register_message("hello", on_hello)
        else:  # sent while the worker joins: it reaches the master once it has
            environment.runner.send_message("hello", environment.runner.client_id)

    @events.test_start.add_listener
    def hand_out(environment, **kwargs):
        runner = environment.runner
        if isinstance(runner, MasterRunner):
            assert runner.worker_count == 2, runner.worker_count
            assert runner.target_user_count == 4, runner.target_user_count
            for i, client_id in enumerate(sorted(runner.clients)):
                runner.send_message("paths", [f"/bytes/{i + 1}"], client_id)
            runner.send_message("paths", ["/status/203"])  # to every worker

    @events.quitting.add_listener
    def check(environment, **kwargs):
        if isinstance(environment.runner, MasterRunner):
            print("ACKS", sorted(acks, key=repr), file=sys.stderr)
            senders = {node for node, _ in acks}
            print("HELLOS", hellos, file=sys.stderr)
            ok = (len(acks) == 4 and all(node == data["me"] for node, data in acks)
                  and len(senders) == 2
                  and sorted(node for node, _ in hellos) == sorted(senders)
                  and all(node == data for node, data in hellos)
                  and sorted(str(d["got"]) for _, d in acks) ==
                      ["['/bytes/1']", "['/bytes/2']", "['/status/203']", "['/status/203']"])
            environment.process_exit_code = 0 if ok else 3

    class U(HttpUser):
        wait_time = constant(0.05)

        @task
        def t(self):
            # The master's messages came before the users started: never /fast.
            self.client.get(paths[0] if paths else "/fast")
"""


def test_messages_both_ways_arrive_before_the_users_start(fleet: Fleet,
                                                          plain_target: Target) -> None:
    master = _run(fleet, plain_target, MESSAGES, workers=2)
    result = fleet.result()
    counts = plain_target.counts()
    assert counts.route("GET", "/fast") == 0, master.stderr()
    ones, twos = result["endpoints"], counts.route("GET", "/bytes/{n}")
    served = sum(e["requests"] for e in ones if e["name"] in ("/bytes/1", "/bytes/2"))
    assert served == twos > 0
    assert {e["name"] for e in ones} == {"/bytes/1", "/bytes/2"}
    assert result["total"]["requests"] == counts.total


HANDLERS = """
    import sys
    import gevent
    from gevent.event import Event
    from locust import HttpUser, task, constant, events
    from locust.runners import MasterRunner, WorkerRunner

    released = Event()
    order = []
    verdict = []

    def slow(environment, msg, **kwargs):
        # Waits for a message that comes after it: only possible if this handler
        # does not hold up the ones behind it.
        ok = released.wait(10)
        environment.runner.send_message("done", {"released": ok, "order": order})

    def in_turn(environment, msg, **kwargs):
        order.append(f"start {msg.data}")
        gevent.sleep(0.05)
        order.append(f"end {msg.data}")

    def release(environment, msg, **kwargs):
        released.set()

    def done(environment, msg, **kwargs):
        verdict.append(msg.data)

    @events.init.add_listener
    def on_init(environment, **kwargs):
        runner = environment.runner
        if isinstance(runner, WorkerRunner):
            runner.register_message("slow", slow, concurrent=True)
            runner.register_message("in_turn", in_turn)
            runner.register_message("release", release)
        else:
            runner.register_message("done", done)

    @events.test_start.add_listener
    def send(environment, **kwargs):
        if isinstance(environment.runner, MasterRunner):
            environment.runner.send_message("slow")
            for i in range(3):
                environment.runner.send_message("in_turn", i)
            environment.runner.send_message("release")

    @events.quitting.add_listener
    def check(environment, **kwargs):
        if isinstance(environment.runner, MasterRunner):
            print("VERDICT", verdict, file=sys.stderr)
            want = {"released": True,
                    "order": ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]}
            environment.process_exit_code = 0 if verdict == [want] else 3

    class U(HttpUser):
        wait_time = constant(0.05)

        @task
        def t(self):
            self.client.get("/fast")
"""


def test_a_concurrent_handler_does_not_hold_up_the_next_messages(fleet: Fleet,
                                                                 plain_target: Target) -> None:
    """`concurrent=True` runs beside the others; the rest run one at a time, in order."""
    master = _run(fleet, plain_target, HANDLERS, seconds=4)
    assert "VERDICT [{'released': True" in master.stderr()
    assert fleet.result()["total"]["requests"] == plain_target.counts().route("GET", "/fast")


REPORTS = """
    import sys
    from locust import HttpUser, task, constant, events
    from locust.runners import MasterRunner

    served = {"n": 0}
    latest = {}
    spawned = {}

    @events.request.add_listener
    def count(**kwargs):
        served["n"] += 1

    @events.spawning_complete.add_listener
    def on_spawned(user_count, **kwargs):
        served["spawned"] = user_count  # on a worker: its own share, as in Locust

    @events.report_to_master.add_listener
    def add(client_id, data):
        data["served"] = served["n"]
        data["me"] = client_id
        data["spawned"] = served.get("spawned")

    @events.worker_report.add_listener
    def take(client_id, data):
        assert data["me"] == client_id
        latest[client_id] = data["served"]
        spawned[client_id] = data["spawned"]

    @events.quitting.add_listener
    def check(environment, **kwargs):
        if isinstance(environment.runner, MasterRunner):
            total = environment.stats.total.num_requests
            print("REPORTED", latest, total, spawned, file=sys.stderr)
            ok = (len(latest) == 2 and sum(latest.values()) == total > 0
                  and list(spawned.values()) == [2, 2])
            environment.process_exit_code = 0 if ok else 3

    class U(HttpUser):
        wait_time = constant(0.05)

        @task
        def t(self):
            self.client.get("/fast")
"""


def test_report_to_master_data_reaches_worker_report(fleet: Fleet,
                                                     plain_target: Target) -> None:
    """Each worker's count, carried with its reports, adds up to the master's total; each
    worker's spawning_complete fired with its own share."""
    master = _run(fleet, plain_target, REPORTS, workers=2)
    assert "REPORTED {" in master.stderr()
    assert fleet.result()["total"]["requests"] == plain_target.counts().route("GET", "/fast")


OPTIONS = """
    from locust import HttpUser, task, constant, events

    seen = {}

    @events.init_command_line_parser.add_listener
    def add(parser):
        parser.add_argument("--my-path", default="/fast")
        parser.add_argument("--my-code", default="200", env_var="MY_CODE")
        parser.add_argument("--digit", is_multiple=True)
        parser.add_argument("--quiet-flag", action="store_true")

    @events.test_start.add_listener
    def on_start(environment, **kwargs):
        seen["path"] = environment.parsed_options.my_path  # on a worker: the master's

    class U(HttpUser):
        wait_time = constant(0.05)

        @task
        def t(self):
            options = self.environment.parsed_options
            assert options.quiet_flag is True
            self.client.get(seen["path"])
            self.client.get(f"/status/{options.my_code}")
            self.client.get("/bytes/" + "".join(options.digit))
"""


def test_script_options_of_the_master_reach_the_workers(fleet: Fleet,
                                                        plain_target: Target) -> None:
    """Config file, env_var and command-line values as the master has them, before the
    workers' test_start; the workers' own environment does not have MY_CODE (and the
    master's env_var wins over its file, as in Locust)."""
    conf = fleet.directory / "master.conf"  # the master's only: workers read none
    conf.write_text("my-path = /bytes/7\nquiet-flag = true\nmy-code = 201\n")
    _run(fleet, plain_target, OPTIONS, "--config", str(conf), "--digit", "2", "--digit", "3",
         master_env={"MY_CODE": "203"})
    counts = plain_target.counts()
    result = fleet.result()
    assert not result["exceptions"], result["exceptions"]
    assert counts.route("GET", "/fast") == 0
    assert counts.route_status("GET", "/status/{code}", 203) == \
        counts.route("GET", "/status/{code}") > 0
    names = {e["name"]: e["requests"] for e in result["endpoints"]}
    assert set(names) == {"/bytes/7", "/status/203", "/bytes/23"}
    assert names["/bytes/7"] + names["/bytes/23"] == counts.route("GET", "/bytes/{n}")


QUITTER = """
    import gevent
    from locust import HttpUser, task, constant, events
    from locust.runners import WorkerRunner

    seen = {}

    @events.init.add_listener
    def keep(environment, **kwargs):
        seen["environment"] = environment

    @events.spawning_complete.add_listener
    def later(user_count, **kwargs):
        # Once every user runs (on a master: its worker has joined and holds them).
        runner = seen["environment"].runner
        if not isinstance(runner, WorkerRunner):
            gevent.spawn_later(1.0, runner.quit)

    class U(HttpUser):
        wait_time = constant(0.05)

        @task
        def t(self):
            self.client.get("/fast")
"""


def _web_args(fleet: Fleet, target: Target, name: str) -> list[str]:
    script = write_script(fleet.directory / name, textwrap.dedent(QUITTER), "locustfile.py")
    return ["-f", str(script), "-H", target.url, "--web-port", str(free_port()),
            "--autostart", "-u", "2", "-r", "20", "--json", str(fleet.directory / "master.json")]


def test_runner_quit_ends_a_web_ui_run(fleet: Fleet, plain_target: Target) -> None:
    """As under Locust: the script's `runner.quit()` ends the process, summary and files."""
    run = fleet.start("master", _web_args(fleet, plain_target, "local"))
    assert run.wait(60) == 0, run.stdout() + run.stderr()
    assert fleet.result()["total"]["requests"] == plain_target.counts().route("GET", "/fast") > 0
    assert "Traceback" not in run.stderr()


def test_runner_quit_ends_a_web_ui_master_and_its_worker(fleet: Fleet,
                                                         plain_target: Target) -> None:
    port = free_port()
    master = fleet.start("master", ["--master", "--master-bind-host", "127.0.0.1",
                                    "--master-bind-port", str(port),
                                    *_web_args(fleet, plain_target, "fleet")])
    worker = fleet.worker(port, "--reconnect-timeout", "30s")
    assert master.wait(60) == 0, master.stdout() + master.stderr()
    assert worker.wait(30) == 0, worker.stderr()
    wait_until(lambda: (fleet.directory / "master.json").exists(), 5, "the result file")
    assert fleet.result()["total"]["requests"] == plain_target.counts().route("GET", "/fast") > 0
    assert "Traceback" not in master.stderr() + worker.stderr()


WORKER_QUITS = """
    from locust import HttpUser, task, constant
    from locust.runners import WorkerRunner

    class U(HttpUser):
        wait_time = constant(0.05)

        @task
        def t(self):
            self.client.get("/fast")
            if isinstance(self.environment.runner, WorkerRunner):
                self.environment.runner.quit()
"""


def test_runner_quit_on_a_worker_leaves_the_master(fleet: Fleet, plain_target: Target) -> None:
    """The worker stops its users, sends its last report, says Goodbye and exits 0."""
    port = free_port()
    script = write_script(fleet.directory / "m", textwrap.dedent(WORKER_QUITS), "locustfile.py")
    master = fleet.master(port, script, plain_target.url, "-u", "2", "-r", "20", "-t", "30s",
                          "--expect-workers", "1", "--expect-workers-max-wait", "30s")
    worker = fleet.worker(port, "--reconnect-timeout", "30s")
    assert worker.wait(30) == 0, worker.stderr()
    master.popen.terminate()  # nobody is left to run its users
    assert master.wait(30) == 0, master.stderr()
    result = fleet.result()
    assert result["total"]["requests"] == plain_target.counts().route("GET", "/fast") > 0
    assert [w["state"] for w in result["workers"]] == ["left"]
    assert "Traceback" not in master.stderr() + worker.stderr()
