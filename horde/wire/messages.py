"""Every master <-> worker message, one `msgspec.Struct` each.

Layer 0: msgspec (and hashlib) only. The codec (`horde.wire.codec`) puts a
version prefix in front and decodes into the unions defined at the bottom.

Invariants:

* every message is a frozen, tagged Struct (``tag_field="t"``, short stable
  tags), so a frame names its own type and decoding is one typed pass;
* everything a peer could get wrong is checked while decoding: types, bounds
  (`msgspec.Meta`), and cross-field rules in ``__post_init__`` (which msgspec
  turns into a validation error), so a decoded message is safe to act on;
* `Hello` and `Refuse` are the handshake and are frozen forever: later
  protocol versions may only add fields with defaults, so a master and a
  worker of different versions can still tell each other why they cannot talk;
* user targets are absolute counts (`Start`, `Update`): applying one twice is
  harmless;
* statistics travel as one `StatsReport` per interval with all histograms of
  all endpoints in four flat little-endian buffers (see `StatsReport`), never
  one message per request.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from msgspec import Meta, Struct

__all__ = [
    "ArrivalShare",
    "ArrivalReport",
    "DroppedCount",
    "RateStageWire",
    "MAX_BUNDLE_BYTES",
    "MAX_COUNT",
    "MAX_USERS",
    "MAX_ERRORS_PER_REPORT",
    "MAX_EXCEPTIONS_PER_REPORT",
    "MAX_PATH_CHARS",
    "IDX_DTYPE",
    "CNT_DTYPE",
    "N_COUNTERS",
    "WorkerState",
    "Hello",
    "Welcome",
    "Refuse",
    "FileEntry",
    "FilesBundle",
    "FilesAck",
    "Start",
    "Update",
    "Stop",
    "Quit",
    "MasterHeartbeat",
    "WorkerHeartbeat",
    "EndpointCounters",
    "ErrorCount",
    "ExceptionCount",
    "StatsReport",
    "StateChanged",
    "WorkerError",
    "Goodbye",
    "MessageToMaster",
    "MessageToWorker",
    "MAX_MESSAGE_TO_MASTER_BYTES",
    "MAX_MESSAGE_TO_WORKER_BYTES",
    "MAX_REPORT_EXTRA_BYTES",
    "MAX_SCRIPT_OPTIONS",
    "OptionValue",
    "ScriptOption",
    "check_relative_path",
]

MAX_BUNDLE_BYTES = 32 * 1024 * 1024
"""Total size of the test files a master ships (sum of contents); checked on both ends."""

MAX_PATH_CHARS = 1024

IDX_DTYPE = "<u2"
"""Histogram bucket indices on the wire: little-endian uint16 (the layout has < 2,000)."""
CNT_DTYPE = "<i8"
"""Histogram counts and endpoint counters on the wire: little-endian int64."""
N_COUNTERS = 9
"""Columns of `StatsReport.counters`: the numeric fields of `EndpointCounters`."""
_IDX_SIZE = 2
_CNT_SIZE = 8

MAX_COUNT = 2**53 - 1
"""Largest count any message may carry: exact as a float, far beyond any real count."""
MAX_USERS = 10**9
MAX_ERRORS_PER_REPORT = 100_000
"""`ErrorCount` rows in one report (a worker pools beyond `horde.stats` MAX_DELTA_ERRORS)."""
MAX_EXCEPTIONS_PER_REPORT = 10_000

# A test script's own data (horde.compat: Locust's send_message, report_to_master)
# travels as msgpack bytes the runtime never decodes: the master's receive loop
# does not build a peer's objects, and a byte bound is a memory bound. From a
# worker (not trusted) a little; from the master (whose code the worker runs
# anyway) enough to hand test data out.
MAX_MESSAGE_TO_MASTER_BYTES = 64 * 1024
MAX_MESSAGE_TO_WORKER_BYTES = 1024 * 1024
MAX_REPORT_EXTRA_BYTES = 64 * 1024
"""A worker script's extra report data (`StatsReport.extra`)."""
MAX_SCRIPT_OPTIONS = 1_000

# Every number is bounded: ``ge`` also refuses nan, ``le`` refuses inf, so a
# decoded float is always finite; no int reaches 2**63.
NonNeg = Annotated[int, Meta(ge=0, le=MAX_COUNT)]
NonNegFloat = Annotated[float, Meta(ge=0, le=1e12)]
Percent = Annotated[float, Meta(ge=0, le=100_000)]  # a process on 1,000 cores
Millis = Annotated[float, Meta(ge=0, le=1e9)]
Seconds = Annotated[float, Meta(ge=0, le=1e9)]
Rate = Annotated[float, Meta(gt=0, le=1e9)]
Count = Annotated[int, Meta(ge=1, le=MAX_COUNT)]
Users = Annotated[int, Meta(ge=0, le=MAX_USERS)]
Id = Annotated[str, Meta(min_length=1, max_length=256)]
Sha256 = Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
Text = Annotated[str, Meta(max_length=65_536)]
UserCounts = Annotated[dict[Annotated[str, Meta(min_length=1, max_length=512)], Users],
                       Meta(max_length=10_000)]

WorkerState = Literal["ready", "spawning", "running", "stopping", "stopped"]


class _Msg(Struct, frozen=True, tag_field="t", omit_defaults=True, forbid_unknown_fields=False):
    """Base: tagged, immutable; unknown fields from newer peers are ignored."""


def check_relative_path(path: str) -> None:
    """Raise ValueError unless ``path`` is a safe relative POSIX path.

    A worker writes shipped files under its own directory, so a path must not
    climb out of it (``..``), be absolute, or smuggle separators of another OS.
    """
    if not path or len(path) > MAX_PATH_CHARS:
        raise ValueError("file path empty or too long")
    if "\\" in path or "\x00" in path or path.startswith("/") or ":" in path.split("/")[0]:
        raise ValueError(f"file path {path!r} is not a relative POSIX path")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise ValueError(f"file path {path!r} has an empty, '.' or '..' part")


# --- handshake (frozen forever) ----------------------------------------------


class Hello(_Msg, frozen=True, tag="hello"):
    """Worker -> master, first message after connecting (and after a reconnect).

    ``files_sha`` maps relative path -> sha256 of the worker's own ``-f`` files,
    or is None when the worker has none and will run what the master ships.
    """

    worker_id: Id
    host: Annotated[str, Meta(max_length=1024)]
    pid: Annotated[int, Meta(ge=0, le=2**32)]
    horde_version: Annotated[str, Meta(max_length=256)]
    protocol: Annotated[int, Meta(ge=0, le=2**16)]
    cores: Annotated[int, Meta(ge=1, le=2**20)] = 1
    files_sha: dict[str, Sha256] | None = None
    capacity: NonNeg | None = None
    """Users it can hold (open-file limit minus a margin); None: no limit known."""


class Refuse(_Msg, frozen=True, tag="refuse"):
    """Master -> worker: you cannot join, and why (shown to the person)."""

    reason: str


# --- joining -----------------------------------------------------------------


class Welcome(_Msg, frozen=True, tag="welcome"):
    """Master -> worker: accepted. Files follow unless the worker brought identical ones."""

    master_version: str
    heartbeat_interval: Annotated[float, Meta(gt=0, le=3600)] = 1.0


class FileEntry(Struct, frozen=True, array_like=True):
    path: str
    content: bytes
    sha256: Sha256

    def __post_init__(self) -> None:
        check_relative_path(self.path)
        if hashlib.sha256(self.content).hexdigest() != self.sha256:
            raise ValueError(f"sha256 of {self.path!r} does not match its content")


class FilesBundle(_Msg, frozen=True, tag="files"):
    """Master -> worker: the test files (a ``-f`` file or directory), with their sha256."""

    files: list[FileEntry]
    entry: str  # the path of the file to load first (the locustfile)
    entry_only: bool = False
    """-f named one file: load only `entry`; the other files are its importable
    neighbours (helper modules in the same directory), not test scripts."""

    def __post_init__(self) -> None:
        total = 0
        seen: set[str] = set()
        for f in self.files:
            total += len(f.content)
            if f.path in seen:
                raise ValueError(f"file {f.path!r} appears twice")
            seen.add(f.path)
        if total > MAX_BUNDLE_BYTES:
            raise ValueError(f"test files total {total} bytes, over the {MAX_BUNDLE_BYTES} limit")
        if self.entry not in seen:
            raise ValueError(f"entry file {self.entry!r} is not in the bundle")


class FilesAck(_Msg, frozen=True, tag="files_ack"):
    """Worker -> master: sha256 of every file the worker will run (must equal the bundle's)."""

    files_sha: dict[str, Sha256]


# --- running a test (master -> worker) -----------------------------------------

OptionValue = str | int | float | bool | None
ScriptOption = OptionValue | list[OptionValue]
"""A script's own option (argparse): a value, or a list of them (`nargs`, `action="append"`)."""
ScriptOptions = Annotated[dict[Annotated[str, Meta(min_length=1, max_length=256)], ScriptOption],
                          Meta(max_length=MAX_SCRIPT_OPTIONS)]


class Start(_Msg, frozen=True, tag="start"):
    """Begin test ``test_id`` (or, repeated, just re-assert it) with absolute targets."""

    test_id: Id
    targets: UserCounts
    spawn_rate: Rate
    host: str | None = None
    tags: list[str] | None = None
    exclude_tags: list[str] | None = None
    options: dict[str, OptionValue] = {}  # horde's run options a worker needs (timeouts)
    arrival: ArrivalShare | None = None  # the open model: this worker's share of the rate
    script_options: ScriptOptions = {}
    """The test script's own options as the master has them (command line, environment),
    set before the worker's test_start (Locust's custom arguments)."""


class Update(_Msg, frozen=True, tag="update"):
    """New absolute per-class targets for the running test (ramp to them at ``spawn_rate``)."""

    test_id: Id
    targets: UserCounts
    spawn_rate: Rate
    arrival: ArrivalShare | None = None  # the open model: a new split of the rate


class Stop(_Msg, frozen=True, tag="stop"):
    """Stop every user of ``test_id``; the worker stays connected and ready."""

    test_id: Id


class Quit(_Msg, frozen=True, tag="quit"):
    """Stop everything and exit."""

    reason: str = ""


class MasterHeartbeat(_Msg, frozen=True, tag="mhb"):
    """Master -> worker once a second; silence means the master is gone."""

    test_time: Seconds
    test_id: str | None = None


# --- worker -> master ------------------------------------------------------------


class WorkerHeartbeat(_Msg, frozen=True, tag="whb"):
    """Worker -> master once a second: liveness and health."""

    state: WorkerState
    users: Users
    cpu_percent: Percent
    loop_lag_p99_ms: Millis
    memory_rss: NonNeg
    seq: NonNeg
    test_id: str | None = None
    spawn_rate: NonNegFloat = 0.0
    """Users it starts (or stops) per second now, after back-pressure; 0: not ramping."""


class StateChanged(_Msg, frozen=True, tag="state"):
    """Worker -> master: it entered ``state`` holding ``users`` per class."""

    state: WorkerState
    test_id: str | None
    users: UserCounts


class EndpointCounters(Struct, frozen=True, array_like=True):
    """The scalar part of one endpoint's delta; its buckets live in the report's buffers."""

    method: Text
    name: Text
    requests: NonNeg
    failures: NonNeg
    bytes: NonNeg
    min_us: NonNeg
    max_us: NonNeg
    sum_us: NonNeg
    ttfb_sum_us: NonNeg
    n_hist: NonNeg  # how many (index, count) pairs of hist_* belong to this endpoint
    n_ttfb: NonNeg


class ErrorCount(Struct, frozen=True, array_like=True):
    method: Text
    name: Text
    error: Text
    count: Count


class ExceptionCount(Struct, frozen=True, array_like=True):
    where: Text
    error: Text
    traceback: Annotated[str, Meta(max_length=1_000_000)]
    count: Count


class StatsReport(_Msg, frozen=True, tag="stats"):
    """Worker -> master once per interval: everything recorded since the previous report.

    Everything per endpoint is columnar. Scalars: ``methods[k]``,
    ``names[k]`` and row ``k`` of ``counters``, a little-endian int64
    (`CNT_DTYPE`) matrix of ``len(names)`` rows x `N_COUNTERS` columns in the
    order of `EndpointCounters`' numeric fields (requests, failures, bytes,
    min_us, max_us, sum_us, ttfb_sum_us, n_hist, n_ttfb). Histograms:
    ``hist_idx`` holds the bucket indices of every endpoint one after another
    (`IDX_DTYPE`), ``hist_cnt`` the matching counts (`CNT_DTYPE`); endpoint
    ``k`` owns the ``n_hist`` pairs after those of endpoints ``0..k-1``. Same
    for the time-to-first-byte histogram (``ttfb_*``, ``n_ttfb``). One buffer
    per column lets the master read a whole report with a handful of numpy
    calls and no object per endpoint (measured: decoding 50 endpoints as
    rows of `EndpointCounters` and collecting their numbers cost ~45 µs, as
    columns ~8 µs).

    ``endpoints`` (one `EndpointCounters` row per endpoint) is the older,
    row form of the same scalars; it is still read (hand-built reports use
    it) but `delta_to_wire` sends columns. A report uses one form, not both.

    Checked here: the forms are not mixed, column lengths agree, buffer
    lengths are whole items, and (row form) failures <= requests and buffer
    lengths match the bucket counts. Checked where the arrays are read
    (`horde.wire.stats_codec`, with numpy): bucket ranges, and for the
    column form the counters' range, failures and bucket-count sums.
    """

    test_id: str
    seq: NonNeg
    endpoints: list[EndpointCounters] = []
    hist_idx: bytes = b""
    hist_cnt: bytes = b""
    ttfb_idx: bytes = b""
    ttfb_cnt: bytes = b""
    errors: Annotated[list[ErrorCount], Meta(max_length=MAX_ERRORS_PER_REPORT)] = []
    exceptions: Annotated[list[ExceptionCount], Meta(max_length=MAX_EXCEPTIONS_PER_REPORT)] = []
    methods: list[Text] = []
    names: list[Text] = []
    counters: bytes = b""
    extra: Annotated[bytes, Meta(max_length=MAX_REPORT_EXTRA_BYTES)] = b""
    """The worker script's own report data (msgpack of a map; Locust's report_to_master)."""

    def __post_init__(self) -> None:
        if (
            len(self.hist_idx) * _CNT_SIZE != len(self.hist_cnt) * _IDX_SIZE
            or len(self.hist_idx) % _IDX_SIZE
        ):
            raise ValueError("histogram buffers do not hold the same number of whole items")
        if (
            len(self.ttfb_idx) * _CNT_SIZE != len(self.ttfb_cnt) * _IDX_SIZE
            or len(self.ttfb_idx) % _IDX_SIZE
        ):
            raise ValueError("ttfb buffers do not hold the same number of whole items")
        n = len(self.names)
        if len(self.methods) != n or len(self.counters) != n * N_COUNTERS * _CNT_SIZE:
            raise ValueError("methods, names and counters differ in length")
        if not self.endpoints:
            return  # column form: sums and ranges are checked where read
        if n:
            raise ValueError("endpoints given both as rows and as columns")
        n_hist = n_ttfb = 0
        for ep in self.endpoints:
            if ep.failures > ep.requests:
                raise ValueError(f"{ep.method} {ep.name}: more failures than requests")
            n_hist += ep.n_hist
            n_ttfb += ep.n_ttfb
        if len(self.hist_idx) != n_hist * _IDX_SIZE:
            raise ValueError("histogram buffers do not match the endpoints' bucket counts")
        if len(self.ttfb_idx) != n_ttfb * _IDX_SIZE:
            raise ValueError("ttfb buffers do not match the endpoints' bucket counts")


class WorkerError(_Msg, frozen=True, tag="error"):
    """Worker -> master: something to show the person (script error, missing files...)."""

    message: Text
    fatal: bool = False


class Goodbye(_Msg, frozen=True, tag="bye"):
    """Worker -> master: leaving on purpose (not lost)."""

    reason: Text = ""


# --- a test script's own messages (Locust's send_message / register_message) ---------

MessageKind = Annotated[str, Meta(min_length=1, max_length=256)]


class MessageToMaster(_Msg, frozen=True, tag="smsg"):
    """Worker -> master: a script's message; ``data`` is msgpack (`horde.wire.script`).

    The master also bounds how many a worker may send a second (horde.runtime.scriptlink).
    """

    kind: MessageKind
    data: Annotated[bytes, Meta(max_length=MAX_MESSAGE_TO_MASTER_BYTES)] = b""


class MessageToWorker(_Msg, frozen=True, tag="wmsg"):
    """Master -> worker: a script's message; ``data`` is msgpack (`horde.wire.script`)."""

    kind: MessageKind
    data: Annotated[bytes, Meta(max_length=MAX_MESSAGE_TO_WORKER_BYTES)] = b""


# --- the open model (--arrival-rate) ---------------------------------------------------------
# Bounded as every other number on the wire: finite, non-negative, within range.
_ORate = Annotated[float, Meta(ge=0, le=1e9)]  # a stage may ramp to (or from) 0


class RateStageWire(Struct, frozen=True, array_like=True):
    duration: Seconds
    rate: _ORate


class ArrivalShare(Struct, frozen=True):
    """`horde.plan.arrival.ArrivalRate` as a worker needs it: the fleet's plan and its place."""

    start_rate: _ORate
    max_lateness: Annotated[float, Meta(gt=0, le=1e9)]
    index: Annotated[int, Meta(ge=0, le=1_000_000)]
    count: Annotated[int, Meta(ge=1, le=1_000_000)]
    stages: Annotated[list[RateStageWire], Meta(max_length=10_000)] = []
    # A split made during the test (a worker joined or was lost): this share runs the
    # fleet's iterations from `first` (before `until`, if given); `test_time` is the
    # master's test time when it was sent, a joining worker's clock.
    first: Annotated[int, Meta(ge=0, le=2**53)] = 0
    until: Annotated[int, Meta(ge=0, le=2**53)] | None = None
    test_time: Annotated[float, Meta(ge=0, le=1e9)] = 0.0

    def __post_init__(self) -> None:
        if self.index >= self.count:
            raise ValueError("arrival share index beyond the count")
        if self.until is not None and self.until < self.first:
            raise ValueError("an arrival share that ends before it begins")
        if not self.stages and self.start_rate <= 0:
            raise ValueError("a constant arrival rate must be > 0")


class DroppedCount(Struct, frozen=True, array_like=True):
    method: Text
    name: Text
    count: Count


class ArrivalReport(_Msg, frozen=True, tag="arrival"):
    """Worker -> master, each interval of an open-model test: iterations, drops, service times.

    ``service`` carries the service-time histograms of the same requests as
    the interval's `StatsReport` (whose latencies are corrected); its errors
    and exceptions are always empty.
    """

    test_id: Id
    iterations: NonNeg = 0
    dropped: NonNeg = 0
    dropped_by_endpoint: Annotated[list[DroppedCount], Meta(max_length=10_000)] = []
    service: StatsReport | None = None
