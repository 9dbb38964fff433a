"""Helpers shared by the benchmark scripts (stdlib + numpy only: the pytorch-forecasting worker
runs this module from another virtual environment that has no seqprep).

Every benchmark script prints, as its very last line of stdout::

    RESULT {"benchmark": "<name>", "params": {...}, "headline": [{"name": ..., "value": ...,
            "unit": ..., "target": ..., "ok": ...}, ...], ...}

i.e. the literal prefix ``RESULT `` followed by one line of JSON (``json.dumps`` with default
separators, no newline inside). ``benchmarks/run_all.py`` reads that line and prints the
``headline`` entries as one table. Extra keys are allowed and ignored by ``run_all``.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "RESULT_PREFIX",
    "Competitor",
    "add_competitor_args",
    "batch_ceiling",
    "conditions",
    "emit_result",
    "fmt_mib",
    "headline",
    "load1",
    "machine_info",
    "median",
    "peak_rss",
    "print_table",
    "reset_peak",
    "rss",
    "timed",
]

RESULT_PREFIX = "RESULT "
MIB = 1 << 20


# ----------------------------------------------------------------------------- memory
def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss() -> int:
    """Current resident set size in bytes (VmRSS; psutil fallback)."""
    kib = _status_kib("VmRSS")
    if kib is not None:
        return kib * 1024
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        return 0


def peak_rss() -> int:
    """Peak resident set size in bytes since the last :func:`reset_peak` (VmHWM)."""
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib * 1024
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (writes "5" to /proc/self/clear_refs); False if not allowed.

    When it returns False, report peak deltas relative to :func:`rss` taken just before.
    """
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def trim_heap() -> None:
    """Give freed heap memory back to the system (glibc ``malloc_trim``; nothing elsewhere).

    Called before each measured pass so that every pass starts from the same resident set: memory
    freed by the previous pass but kept by the allocator would otherwise be reused without showing in
    the next pass's peak, and the result would depend on the order of the passes.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)  # type: ignore[union-attr]
    except (OSError, AttributeError, TypeError):
        pass


def fmt_mib(n_bytes: float) -> str:
    return f"{n_bytes / MIB:,.1f} MiB"


# ----------------------------------------------------------------------------- timing
def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run *fn* once; return (seconds, result)."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def spread(xs: Sequence[float]) -> float:
    """(max - min) / median of the samples (0 for one sample)."""
    if len(xs) < 2:
        return 0.0
    m = median(xs)
    return (max(xs) - min(xs)) / m if m else 0.0


def batch_ceiling(src: np.ndarray, n_batches: int, batch_shape: tuple[int, ...], seed: int = 0) -> float:
    """Seconds to copy ``n_batches`` batches of ``batch_shape`` from contiguous blocks of *src*.

    The memory-copy ceiling: the same bytes per batch as a windowed batch, copied with
    ``np.copyto`` into one preallocated buffer from contiguous blocks of *src* (visited in a
    shuffled block order, so the source is read from memory, not from cache).
    """
    out = np.empty(batch_shape, dtype=src.dtype)
    flat = src.reshape(-1)
    per = out.size
    n_blocks = flat.size // per
    if n_blocks < 1:
        raise ValueError("source smaller than one batch")
    blocks = flat[: n_blocks * per].reshape((n_blocks, *batch_shape))
    order = np.random.default_rng(seed).permutation(n_blocks)
    t0 = time.perf_counter()
    for i in range(n_batches):
        np.copyto(out, blocks[order[i % n_blocks]])
    return time.perf_counter() - t0


# ----------------------------------------------------------------------------- a competing busy process
class Competitor:
    """One competing busy process (a pure-Python spin loop, pinned nowhere) for ``--contended`` runs.

    Started once, then switched on and off (SIGCONT / SIGSTOP) between interleaved quiet and
    contended repetitions; killed on exit, whatever happens. Use as a context manager::

        with Competitor() as busy:
            busy.set(True)   # one core busy
            busy.set(False)  # paused: quiet (as quiet as the machine is)
    """

    def __init__(self, same_session: bool = False) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.on = False
        self.same_session = same_session

    def __enter__(self) -> Competitor:
        # Its own session by default: with the kernel's autogroup scheduling (sched_autogroup_enabled=1) the CPU is
        # shared between sessions, so a loop in the benchmark's own session would take half of the benchmark's share
        # whatever the thread count; in a session of its own it competes like any other program.
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                     start_new_session=not self.same_session)
        os.kill(self.proc.pid, signal.SIGSTOP)
        return self

    def set(self, on: bool, settle: float = 0.5) -> None:
        """Run (True) or pause (False) the busy loop, then wait ``settle`` seconds."""
        if self.proc is None:
            raise RuntimeError("use Competitor as a context manager")
        os.kill(self.proc.pid, signal.SIGCONT if on else signal.SIGSTOP)
        self.on = on
        time.sleep(settle)

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def add_competitor_args(p: Any) -> None:
    """``--same-session``: run the busy loop in the benchmark's own session (see :class:`Competitor`)."""
    p.add_argument("--same-session", action="store_true",
                   help="the competing busy loop in this session (under autogroup scheduling it then takes half of "
                        "this benchmark's CPU share); default: a session of its own, like any other program")


def conditions(repeat: int) -> tuple[str, str]:
    """The order of the two conditions in repetition ``repeat``: A/B, then B/A (interleaved)."""
    return ("quiet", "contended") if repeat % 2 == 0 else ("contended", "quiet")


def load1() -> float:
    """The machine's 1-minute load average (NaN where there is none): printed next to every number."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return float("nan")


# ----------------------------------------------------------------------------- reporting
def machine_info() -> dict[str, Any]:
    """nproc, CPU model, RAM and library versions (whatever is importable)."""
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        info["affinity"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        pass
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    info["ram_gib"] = round(int(line.split()[1]) / (1 << 20), 1)
                    break
    except OSError:
        pass
    versions = {}
    for mod in ("numpy", "pandas", "torch", "tensorflow", "keras", "pytorch_forecasting", "seqprep"):
        m = sys.modules.get(mod)
        if m is not None:
            versions[mod] = getattr(m, "__version__", "?")
    info["versions"] = versions
    if "torch" in sys.modules:
        info["torch_threads"] = sys.modules["torch"].get_num_threads()
    return info


def headline(name: str, value: float | None, unit: str = "", target: str | None = None, ok: bool | None = None
             ) -> dict[str, Any]:
    """One row of the run_all summary table."""
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok}


def emit_result(benchmark: str, params: dict[str, Any], rows: list[dict[str, Any]], **extra: Any) -> None:
    """Print the final ``RESULT {json}`` line (must be the script's last line of stdout)."""
    payload = {"benchmark": benchmark, "params": params, "headline": rows, **extra}
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(payload, default=_json_default), flush=True)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a Markdown table (pasted as is into docs/performance.md)."""
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells[1:]:
        print(line(r))
    sys.stdout.flush()
