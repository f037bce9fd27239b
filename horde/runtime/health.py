"""Generator health: is the load generator itself distorting the figures?

Every second the monitor samples the process's CPU use (user + system time
over wall time, as a percentage of one core, since one process runs one event
loop on one core) and the event loop's lag: a timer asks to run every
`PROBE_INTERVAL` and measures how late it actually ran. A saturated loop runs
every callback late, including the code that stops a request's clock, so
latencies then include the generator's own delay.

Thresholds (docs/dev/design.md, issue 2): CPU above 90% or loop-lag p99 above 10 ms.
The monitor only measures; what to say about it is `HealthSample.warnings`.

Besides the figures, a run collects *notes*: problems worth one line in the
log and one in the result (`generator.warnings`), each once: a task that
blocked the loop (named by the `Watchdog`, from its own thread), the process
running out of open files. `on_note`, when set, hears each note in the loop's
thread (a worker forwards them to its master).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from horde.runtime.watchdog import Watchdog
from horde.stats import Histogram

__all__ = [
    "HealthMonitor",
    "HealthSample",
    "HealthSummary",
    "CPU_LIMIT_PERCENT",
    "MAX_NOTES",
    "LAG_LIMIT_MS",
    "PROBE_INTERVAL",
    "SUSTAINED_S",
]

CPU_LIMIT_PERCENT = 90.0
LAG_LIMIT_MS = 10.0
MIN_PERIOD_S = 0.5  # shorter sampling periods are not counted in the summary
SUSTAINED_S = 2  # a summary warns only about conditions that lasted this long
PROBE_INTERVAL = 0.02  # 50 probes a second: enough for a p99, negligible cost
MAX_NOTES = 20  # distinct notes kept per run: a result must stay readable

log = logging.getLogger(__name__)


def _p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _streak_seconds(streak: int) -> int:
    """Seconds to add to a warning count for a streak of bad seconds of this length."""
    return 0 if streak < SUSTAINED_S else (SUSTAINED_S if streak == SUSTAINED_S else 1)


@dataclass(frozen=True)
class HealthSample:
    """One second of generator health."""

    cpu_percent: float
    loop_lag_p99_ms: float
    loop_lag_p50_ms: float = 0.0
    """The median probe: whether the loop keeps up, which one pause (a collection,
    a burst of wake-ups) does not decide; ramps pace on it (runtime/pressure.py)."""

    @property
    def cpu_saturated(self) -> bool:
        return self.cpu_percent > CPU_LIMIT_PERCENT

    @property
    def loop_lagging(self) -> bool:
        return self.loop_lag_p99_ms > LAG_LIMIT_MS

    def warnings(self) -> list[str]:
        found = []
        if self.cpu_saturated:
            found.append(
                f"generator CPU at {self.cpu_percent:.0f}% (> {CPU_LIMIT_PERCENT:.0f}%): "
                "latency figures include the generator's own delay"
            )
        if self.loop_lagging:
            found.append(
                f"event-loop lag p99 {self.loop_lag_p99_ms:.1f} ms (> {LAG_LIMIT_MS:.0f} ms): "
                "latency figures include the generator's own delay"
            )
        return found


@dataclass
class HealthSummary:
    """Health over a whole run, for the summary and the JSON result."""

    cpu_percent_max: float = 0.0
    loop_lag_p99_ms: float = 0.0
    cpu_saturated_s: int = 0
    lag_exceeded_s: int = 0
    seconds: int = 0
    _lags: Histogram = field(default_factory=Histogram, repr=False)
    _cpu_streak: int = field(default=0, repr=False)
    _lag_streak: int = field(default=0, repr=False)
    notes: list[str] = field(default_factory=list)
    """Problems found besides the figures (blocked loop, EMFILE), each once."""

    def note(self, message: str) -> bool:
        """Keep `message` once; False when it was already kept (or too many were)."""
        if message in self.notes or len(self.notes) >= MAX_NOTES:
            return False
        self.notes.append(message)
        return True

    def add(self, sample: HealthSample, lags_ms: list[float]) -> None:
        self.seconds += 1
        self.cpu_percent_max = max(self.cpu_percent_max, sample.cpu_percent)
        self._cpu_streak = self._cpu_streak + 1 if sample.cpu_saturated else 0
        self._lag_streak = self._lag_streak + 1 if sample.loop_lagging else 0
        # One bad second (a start-up spike, a GC pause) is noise; two in a row
        # is the generator distorting results, and all of the streak counts.
        self.cpu_saturated_s += _streak_seconds(self._cpu_streak)
        self.lag_exceeded_s += _streak_seconds(self._lag_streak)
        # A histogram keeps the run's p99 exact to 1% in bounded memory.
        for lag in lags_ms:
            self._lags.record(int(lag * 1000.0))
        self._lags.fold()
        if self._lags.count:
            self.loop_lag_p99_ms = round(self._lags.percentile(0.99) / 1000.0, 2)

    def warnings(self) -> list[str]:
        found = []
        if self.cpu_saturated_s:
            found.append(
                f"generator CPU was above {CPU_LIMIT_PERCENT:.0f}% for {self.cpu_saturated_s} s "
                f"(max {self.cpu_percent_max:.0f}%): latency figures include the generator's "
                "own delay; use more processes (--processes) or fewer users per process"
            )
        if self.lag_exceeded_s:
            found.append(
                f"event-loop lag p99 was above {LAG_LIMIT_MS:.0f} ms for {self.lag_exceeded_s} s "
                f"(p99 over the run {self.loop_lag_p99_ms:.1f} ms): latency figures include the "
                "generator's own delay; look for blocking calls (time.sleep, requests) in tasks "
                "or spread the load over more processes"
            )
        found.extend(self.notes)
        return found


class HealthMonitor:
    """Samples CPU and loop lag; call `sample()` once a second from the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, watchdog: bool = True) -> None:
        """`watchdog`: also name tasks that block the loop (one thread while started)."""
        self._loop = loop
        self._watchdog = Watchdog(self._blocked) if watchdog else None
        self.on_note: Callable[[str], object] | None = None
        """Hears every new note, in the loop's thread."""
        self._lags_ms: list[float] = []
        self._handle: asyncio.TimerHandle | None = None
        self._expected = 0.0
        self._cpu_mark = time.process_time()
        self._wall_mark = time.monotonic()
        self.summary = HealthSummary()

    def start(self) -> None:
        self.stop()  # one probe chain at a time, however often a test starts
        self._cpu_mark = time.process_time()
        self._wall_mark = time.monotonic()
        self._schedule()
        if self._watchdog is not None:
            self._watchdog.start()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._watchdog is not None:
            self._watchdog.stop()

    def note(self, message: str) -> None:
        """A problem to log and put in the result, once (call from the loop's thread)."""
        if self.summary.note(message):
            log.warning("%s", message)
            if self.on_note is not None:
                self.on_note(message)

    def _blocked(self, message: str) -> None:
        # In the watchdog's thread, while the loop is still blocked: the log
        # line goes out now (a loop blocked for good is still named); the
        # result and `on_note` get it once the loop runs again.
        log.warning("%s", message)
        try:
            self._loop.call_soon_threadsafe(self._blocked_in_loop, message)
        except RuntimeError:
            pass  # the loop is closed: the log line is all there is

    def _blocked_in_loop(self, message: str) -> None:
        if self.summary.note(message) and self.on_note is not None:
            self.on_note(message)

    def _schedule(self) -> None:
        self._expected = self._loop.time() + PROBE_INTERVAL
        self._handle = self._loop.call_at(self._expected, self._probe)

    def _probe(self) -> None:
        if self._watchdog is not None:
            self._watchdog.beat()
        late = self._loop.time() - self._expected
        self._lags_ms.append(max(0.0, late) * 1000.0)
        self._schedule()

    def sample(self) -> HealthSample:
        """Close one sampling period: CPU since the last call, lag p99 of its probes."""
        cpu, wall = time.process_time(), time.monotonic()
        elapsed = wall - self._wall_mark
        cpu_percent = 100.0 * (cpu - self._cpu_mark) / elapsed if elapsed > 0 else 0.0
        self._cpu_mark, self._wall_mark = cpu, wall
        lags, self._lags_ms = self._lags_ms, []
        result = HealthSample(cpu_percent=round(cpu_percent, 1),
                              loop_lag_p99_ms=round(_p99(lags), 2),
                              loop_lag_p50_ms=round(statistics.median(lags), 2) if lags else 0.0)
        if elapsed >= MIN_PERIOD_S:
            self.summary.add(result, lags)
        # else: the sliver of a second at stop, spent folding statistics and
        # stopping users, would read as a burst of 100% CPU; it is not a second
        # of load, so it stays out of the run's figures.
        return result
