"""Run Locust's own example scripts, unchanged, under horde; print a table.

    .venv/bin/python bench/locust_examples.py [--version 2.47.*] [--seconds 4]

The examples are fetched at run time from Locust's sdist on PyPI with pip
(into a temporary directory; nothing is committed). Sdists from 2.30 on
(2.47 included) ship no examples/ directory, so when the asked-for release
has none, the newest release that has (2.29.x) is used, and the table says
which.

Each example runs headless for a few seconds against a counting target on
loopback (horde.demo.app --app plain: every path answers, unknown ones 404,
and every answer is counted). An example passes when horde exits 0 or 1, its
HTTP request count equals what the target answered, and no task raised
AttributeError, ImportError, NameError or TypeError. Examples that need a
service or a package we cannot provide are listed as skipped, with the reason;
those written for a master and workers (custom_messages.py) run with
`--processes 2`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BAD = ("AttributeError", "ImportError", "NameError", "TypeError", "ModuleNotFoundError")
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
# The newest sdists with an examples/ directory (2.30 and later ship none).
FALLBACK_VERSIONS = ("2.29.*", "2.24.1")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Examples that cannot run here, and why (checked by name, relative to examples/).
SKIP = {
    "custom_xmlrpc_client/server.py": "a server, not a locustfile",
    "grpc/hello_server.py": "a server, not a locustfile",
    "grpc/hello_pb2.py": "generated protobuf module, not a locustfile",
    "grpc/hello_pb2_grpc.py": "generated protobuf module, not a locustfile",
    "grpc/grpc_user.py": "needs the grpc package (a gRPC service)",
    "grpc/locustfile.py": "needs the grpc package (a gRPC service)",
    "sdk_session_patching/session_patch_locustfile.py": "needs the archivist SDK and credentials",
    "worker_index.py": "needs locust-plugins (csvreader) and data files",
    "extend_web_ui/extend.py": "Flask blueprints and templates (needs flask)",
    "extend_modern_web_ui.py": "Flask blueprints and templates (needs flask)",
    "extend_modern_web_ui_cache_stats.py": "Flask blueprints and templates (needs flask)",
    "extend_web_ui.py": "Flask blueprints and templates (needs flask)",
    "web_ui_cache_stats.py": "Flask blueprints and templates (needs flask)",
    "test_data_management.py": "fetches its data with `requests` from postman-echo.com",
    "use_as_lib.py": "library use, runs with python, not -f (see tests/compat)",
    "terraform/aws/plan/basic.py": "a copy of basic.py for a cloud deployment",
    "browse_docs_test.py": "needs pyquery (not a horde dependency)",
    "browse_docs_sequence_test.py": "needs pyquery (not a horde dependency)",
    "web_ui_auth.py": "Flask and flask_login (needs flask)",
    "rest.py": "requests absolute URLs of external hosts (example.com, postman-echo.com)",
    "database/postgres_test.py": "needs a PostgreSQL server",
    "mongodb/locustfile.py": "needs a MongoDB server",
    "milvus/locustfile.py": "needs a Milvus server",
    "mqtt/locustfile.py": "needs an MQTT broker",
    "openai_ex.py": "needs the OpenAI API and a key",
    "dns_ex.py": "needs dnspython and a DNS service",
}


# Examples written for a master and its workers: run with `--processes 2` (a master on
# loopback and two local worker processes), still one command.
DISTRIBUTED = {"custom_messages.py": ("--processes", "2")}


def fetch(version: str, into: Path) -> tuple[str, Path] | None:
    """(version, examples dir) from the sdist, or None when it has no examples."""
    # `--no-binary locust`, not `:all:`: the same sdist of Locust, while its
    # build requirements come as wheels (from source they take minutes).
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
           "--no-binary", "locust", f"locust=={version}", "-d", str(into)]
    try:
        subprocess.run(cmd, check=True, timeout=900)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"pip download locust=={version} failed: {exc}", file=sys.stderr)
        return None
    archives = sorted(into.glob("locust-*.tar.gz"))
    if not archives:
        return None
    archive = archives[-1]
    real = archive.name.removeprefix("locust-").removesuffix(".tar.gz")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if "/examples/" in m.name]
        if not members:
            archive.unlink()
            return None
        tar.extractall(into, members=members, filter="data")
    return real, next(into.glob("locust-*/examples"))


def start_target() -> tuple[subprocess.Popen[bytes], str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "horde.demo.app", "--app", "plain",
                             "--host", "127.0.0.1", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    return proc, "http://" + line.split()[-1]


def target_answered(url: str) -> int:
    with _OPENER.open(url + "/__counts", timeout=10) as resp:
        return int(json.load(resp)["answered"])


def run_one(script: Path, url: str, seconds: int, workdir: Path,
            host: str | None = None, extra: tuple[str, ...] = ()) -> dict[str, object]:
    """`host`: where the example's users go, when not the counting target; `extra`: more
    horde arguments (`DISTRIBUTED`)."""
    before = target_answered(url)
    result = workdir / "result.json"
    result.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "horde", "-f", script.name, "-H", host or url, "--headless",
            "-u", "5", "-r", "5", "-t", f"{seconds}s", "--only-summary", "--json", str(result),
            *extra]
    # multiple_hosts.py reads its second host from API_HOST.
    env = dict(os.environ, PYTHONPATH=str(REPO), API_HOST=url)
    env.pop("HORDE_HOST", None)
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, cwd=script.parent, capture_output=True, text=True,
                              timeout=seconds + 60, env=env)
        code, out = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, out = -1, f"timed out: {exc}"
    elapsed = time.monotonic() - started
    answered = target_answered(url) - before
    counted = None
    bad: list[str] = []
    if result.is_file():
        data = json.loads(result.read_text())
        # HTTP requests only: a script may count its own work ("manual", "grpc").
        counted = sum(int(e["requests"]) for e in data["endpoints"]
                      if e["method"] in HTTP_METHODS)
        for exc in data.get("exceptions", []):
            if exc["error"].split(":")[0] in BAD:
                bad.append(exc["error"][:80])
    ok = code in (0, 1) and counted == answered and not bad
    reason = "" if ok else (f"exit {code}" if code not in (0, 1) else
                            f"count {counted} != target {answered}" if counted != answered
                            else "; ".join(bad))
    tail = [ln for ln in out.strip().splitlines() if ln.startswith("horde:")][-1:]
    if not ok and tail:
        reason += f" ({tail[0][:100]})"
    return {"ok": ok, "code": code, "counted": counted, "answered": answered,
            "reason": reason, "seconds": round(elapsed, 1)}


def run_xmlrpc(script: Path, url: str, seconds: int, workdir: Path) -> dict[str, object]:
    """The XML-RPC example against its own server (server.py, on localhost:8877)."""
    server = subprocess.Popen([sys.executable, "server.py"], cwd=script.parent,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                _OPENER.open("http://127.0.0.1:8877/", timeout=1).close()
            except urllib.error.HTTPError:
                break  # it answers (XML-RPC refuses GET): it is up
            except OSError:
                time.sleep(0.1)
        row = run_one(script, url, seconds, workdir, host="http://127.0.0.1:8877/")
        row["reason"] = (str(row["reason"]) + " (against its own XML-RPC server)").strip()
        return row
    finally:
        server.terminate()
        server.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="2.47.*")
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--examples", type=Path, default=None,
                        help="an examples/ directory already unpacked (skips the download)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="horde-locust-examples-") as tmp:
        fetched = None if args.examples is None else ("(local)", args.examples.resolve())
        for version in () if fetched else (args.version, *FALLBACK_VERSIONS):
            where = Path(tmp) / version.replace("*", "x")
            where.mkdir()
            fetched = fetch(version, where)
            if fetched is not None:
                break
            print(f"locust {version}: its sdist has no examples/; trying an older one",
                  file=sys.stderr)
        if fetched is None:
            print("no Locust sdist with examples could be fetched", file=sys.stderr)
            return 2
        real, examples = fetched
        scripts = sorted(p for p in examples.rglob("*.py"))
        target, url = start_target()
        rows: list[tuple[str, dict[str, object] | str]] = []
        try:
            for script in scripts:
                rel = script.relative_to(examples).as_posix()
                if rel in SKIP:
                    rows.append((rel, SKIP[rel]))
                    continue
                if rel == "custom_xmlrpc_client/xmlrpc_locustfile.py":
                    rows.append((rel, run_xmlrpc(script, url, args.seconds, Path(tmp))))
                    continue
                extra = DISTRIBUTED.get(rel, ())
                row = run_one(script, url, args.seconds, Path(tmp), extra=extra)
                if extra:
                    row["reason"] = (f"{row['reason']} ({' '.join(extra)}: a master and "
                                     "its workers)").strip()
                rows.append((rel, row))
        finally:
            target.terminate()
            target.wait(10)
    ran = [r for _, r in rows if isinstance(r, dict)]
    passed = sum(1 for r in ran if r["ok"])
    print(f"Locust {real} examples under horde (sdist from PyPI), {args.seconds} s each")
    print(f"{'example':52} {'result':6} {'exit':>4} {'horde':>7} {'target':>7}  note")
    for rel, r in rows:
        if isinstance(r, str):
            print(f"{rel:52} {'skip':6} {'':>4} {'':>7} {'':>7}  {r}")
        else:
            print(f"{rel:52} {'pass' if r['ok'] else 'FAIL':6} {r['code']!s:>4} "
                  f"{r['counted']!s:>7} {r['answered']!s:>7}  {r['reason']}")
    print(f"\n{passed} of {len(ran)} run examples passed "
          f"({len(rows) - len(ran)} skipped with a reason)")
    return 0 if passed >= min(18, len(ran)) else 1


if __name__ == "__main__":
    sys.exit(main())
