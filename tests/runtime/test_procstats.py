"""RssReader: this process's memory, readable when no file descriptor is left."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from horde.runtime.procstats import RssReader
from tests.support.target import REPO_ROOT


def test_reads_resident_memory_and_stops_after_close() -> None:
    reader = RssReader()
    assert reader.read() > 1024 * 1024
    reader.close()
    assert reader.read() == 0
    reader.close()  # idempotent


def test_reads_when_the_process_is_out_of_files() -> None:
    # In a child: exhaust the descriptors, then read (psutil would raise EMFILE).
    code = textwrap.dedent("""
        import os, resource, socket
        from horde.runtime.procstats import RssReader
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        reader = RssReader()
        held = []
        try:
            while True:
                held.append(socket.socket())
        except OSError as exc:
            assert exc.errno == 24, exc
        try:
            open("/proc/self/statm").close()
        except OSError as exc:
            assert exc.errno == 24
        else:
            raise AssertionError("files were not exhausted")
        print(reader.read())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO_ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 1024 * 1024
