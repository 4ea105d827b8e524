"""Shared timing and reporting for the benchmarks: medians of interleaved repeats, and
targets printed with their measured value and a met/missed column.

Timing rules (the same for every library): each candidate is warmed up once (JIT
compilation, grammar loading), then the candidates of one comparison are timed in
interleaved rounds, so a slow spell of the shared machine hits them all alike; the
figure is the median. The garbage collector stays on (a full collection before each
series, untimed). Candidates are compared with others of the same library only
(their thread pools keep spinning for a while after a call and would slow whatever
runs next). Results of JAX are waited for (`block_until_ready`).
"""
from __future__ import annotations

import contextlib
import gc
import importlib
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for path in (ROOT, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

CPU = time.thread_time  # CPU seconds of this thread

# run_all.py --quick scales every repeat count down
REPEAT_SCALE = float(os.environ.get("MATCALC_BENCH_SCALE", "1"))


def repeats(n: int) -> int:
    return max(3, int(round(n * REPEAT_SCALE)))


def optional(module: str):
    """The module, or None when the library is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def block(out):
    """Wait for asynchronous results (JAX dispatches and returns at once)."""
    jax = sys.modules.get("jax")
    if jax is not None:
        jax.block_until_ready(out)
    return out


def median_time(fn, repeat: int, setup=None, warmup: int = 1, clock=time.perf_counter) -> float:
    """Median seconds of fn() over `repeat` calls; setup() runs untimed before each.
    `clock=CPU` for single-threaded Python: what the machine's other workers take is not counted."""
    for _ in range(warmup):
        if setup:
            setup()
        block(fn())
    times = []
    with collected():
        for _ in range(repeats(repeat)):
            if setup:
                setup()
            t0 = clock()
            block(fn())
            times.append(clock() - t0)
    return statistics.median(times)


@contextlib.contextmanager
def collected():
    """A full collection before the timed calls (untimed); during them the garbage collector
    runs as in any process (freezing the heap or disabling the collector would change what
    the calls cost)."""
    gc.collect()
    yield


class Timings(dict):
    """name → median seconds; `samples[name]` holds every round's time."""

    samples: dict

    def spread(self, ours: str, theirs: str) -> tuple:
        """Quartiles of the per-round ratio ours/theirs (the two ran back to back in a round)."""
        ratios = [a / b for a, b in zip(self.samples[ours], self.samples[theirs])]
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
        return q[0], q[2]


def interleaved(candidates: dict, repeat: int) -> Timings:
    """name → median seconds, the candidates timed in turn within each round, each round
    starting one candidate later (no candidate always runs first, right after the others)."""
    for fn in candidates.values():
        block(fn())  # warm up, compile
    names = list(candidates)
    times = {name: [] for name in names}
    with collected():
        for r in range(repeats(repeat)):
            for name in names[r % len(names):] + names[:r % len(names)]:
                t0 = time.perf_counter()
                block(candidates[name]())
                times[name].append(time.perf_counter() - t0)
    out = Timings((name, statistics.median(t)) for name, t in times.items())
    out.samples = times
    return out


def merged(*timings: Timings) -> Timings:
    out = Timings()
    out.samples = {}
    for t in timings:
        out.update(t)
        out.samples.update(t.samples)
    return out


def load_factor(seconds: float = 0.3) -> float:
    """Wall time / CPU time of a single-threaded busy loop: 1.0 on an idle core, more when the
    machine's other workers take the CPU (then only CPU-time figures are comparable)."""
    w0, c0 = time.perf_counter(), time.thread_time()
    while time.thread_time() - c0 < seconds:
        sum(range(1000))
    return (time.perf_counter() - w0) / (time.thread_time() - c0)


def geomean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


@dataclass
class Target:
    """One target of issue 20: `measured` against `limit` (sense "≤" or "≥")."""

    name: str
    limit: float
    sense: str
    unit: str  # "×", "s", "ms"
    measured: float | None = None
    note: str = ""  # why there is no measurement, or what the figure is over
    spread: tuple | None = None  # quartiles of the per-round ratio, where there are rounds

    @property
    def status(self) -> str:
        if self.measured is None or math.isnan(self.measured):
            return "n/a"
        ok = self.measured <= self.limit if self.sense == "≤" else self.measured >= self.limit
        noisy = self.spread is not None and self.spread[0] <= self.limit <= self.spread[1]
        return ("met" if ok else "MISSED") + ("*" if noisy else "")

    def _fmt(self, v: float) -> str:
        if self.unit == "×":
            return f"{v:.2f}×" if v < 10 else f"{v:.0f}×"
        if self.unit == "s":
            return f"{'+' if v >= 0 else ''}{v:.3f} s"
        return f"{v:.2f} ms" if v < 100 else f"{v:.0f} ms"

    def row(self, width: int) -> str:
        measured = self._fmt(self.measured) if self.status != "n/a" else "-"
        limit = f"{self.sense} {self._fmt(self.limit)}"
        return f"{self.name:{width}}  {limit:>11}  {measured:>10}  {self.status:7}  {self.note}"


def print_targets(targets, title: str = "targets") -> None:
    width = max([len(t.name) for t in targets] + [6])
    print(f"\n{title}")
    print(f"{'target':{width}}  {'limit':>11}  {'measured':>10}  {'status':7}  note")
    for t in targets:
        print(t.row(width))
    if any(t.status.endswith("*") for t in targets):
        print("* the per-round ratios' quartiles straddle the limit: within this machine's noise")


def versions() -> str:
    """The machine and the library versions, one line each."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    from importlib import metadata

    libs = []
    for name in ("matcalc-diff", "numpy", "lark", "click", "sympy", "autograd", "jax", "jaxlib", "torch"):
        try:
            libs.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            libs.append(f"{name} not installed")
    return (f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}\n"
            f"Python {platform.python_version()}; " + ", ".join(libs))
