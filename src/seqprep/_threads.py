"""How many threads seqprep's own work uses: one policy for the gather, the memory-bound passes and training.

The policy, in order:

1. **An override** caps every count: :func:`set_threads` (process-wide, or for a ``with`` block),
   else the ``SEQPREP_THREADS`` environment variable (``SEQPREP_NUM_THREADS``, its older name,
   is read too). ``1`` turns seqprep's own threading off.
2. **One thread below a size** where a second one measurably helps: memory-bound copies get one
   thread per :data:`PARALLEL_MIN_BYTES` (1 MiB) of output, training one per
   :data:`TRAIN_WORK_PER_THREAD` weight-steps per batch (parameters x batch x time steps). One
   thread already copies at the single-core rate; a second buys little on a small batch and
   stalls whenever another process holds a core.
3. **The cores this process may use**: ``os.sched_getaffinity`` and a cgroup CPU quota
   (:func:`usable_cores`), at most :data:`MAX_AUTO_THREADS`; training takes at most **half** of
   them (one thread on a 2-core machine): its OpenMP threads meet at a barrier in every operation,
   so one thread descheduled by another process stalls them all (on 2 cores with one busy process,
   two threads trained a 29k-parameter CNN-LSTM 8-18x slower than one; idle, two were no faster).
4. For the copies and reductions (whose results do not depend on the thread count): **the cores
   that look free now** (:func:`free_cores`, from ``/proc/loadavg``: the 1-minute load and the
   runnable tasks at this moment, less this thread), and one thread when called from a thread
   other than the main one (a Dask worker's task, a user's pool: they are the parallelism).
   Training's count depends on 1-3 only, so that the same seed, data and machine give the same
   numbers whatever else runs.

seqprep never leaves a spinning thread behind: its parallel copies run on a small pool of Python
threads that wait on a lock, never OpenMP; BLAS is held to the policy's count around seqprep's own
reductions (:func:`one_blas_thread`); torch's intra-op count is set only for the length of
:func:`seqprep.training.fit` and restored after (:func:`torch_threads`).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from ._validation import message
from .exceptions import InvalidParameterError

__all__ = ["get_threads", "set_threads"]

ENV = "SEQPREP_THREADS"
_LEGACY_ENV = "SEQPREP_NUM_THREADS"
#: Bytes of output per thread of a parallel copy: below 2 x this, a copy runs in one thread.
PARALLEL_MIN_BYTES = 1 << 20
#: Training: parameters x batch size x time steps of one batch per intra-op thread (below: 1 thread).
TRAIN_WORK_PER_THREAD = 1 << 28
#: The most threads the automatic policy picks (an override may ask for more).
MAX_AUTO_THREADS = 8
_LOAD_TTL = 1.0  # seconds a free_cores() reading is reused

_state: dict[str, Any] = {"global": None, "load": (-math.inf, (1, 1)), "pool": None, "pool_size": 0}
_blas: dict[str, Any] = {"depth": 0}
_local = threading.local()
_lock = threading.Lock()


# ---------------------------------------------------------------------------- the override
def _check(n: Any, name: str) -> int | None:
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidParameterError(message(name, "a positive integer or None", n,
                                            "Use 1 for one thread, or None for the automatic policy."))
    return int(n)


def _env_override() -> int | None:
    for name in (ENV, _LEGACY_ENV):
        raw = os.environ.get(name, "").strip()
        if raw:
            if not raw.isdigit() or int(raw) < 1:
                raise InvalidParameterError(message(name, "a positive integer", raw,
                                                    f"Use e.g. {name}=1, or unset it for the automatic policy."))
            return int(raw)
    return None


def override() -> int | None:
    """The cap on seqprep's threads, if one is set: this thread's, else :func:`set_threads`'s, else the env var."""
    local = getattr(_local, "limit", None)
    if local is not None:
        return int(local)
    if _state["global"] is not None:
        return int(_state["global"])
    return _env_override()


class set_threads:  # noqa: N801  (a function to its users; a class so that `with` restores the old value)
    """Cap the threads of seqprep's own work (gathers, statistics passes, training's default).

    Takes effect at once, for the whole process, like ``torch.set_num_threads``; used as a
    context manager it restores the previous setting on exit. It overrides the
    ``SEQPREP_THREADS`` environment variable. The cap bounds the automatic choice (small work
    still runs in one thread); an explicit ``fit(threads=...)`` is not capped.

    Parameters
    ----------
    n : int or None
        The most threads to use; ``1`` runs everything in the calling thread. None goes back to
        the automatic policy (the environment variable, then the size, the usable and the free cores).

    Examples
    --------
    >>> import seqprep
    >>> with seqprep.set_threads(1):
    ...     seqprep.get_threads()
    1
    """

    def __init__(self, n: int | None) -> None:
        value = _check(n, "n")
        with _lock:
            self._previous = _state["global"]
            _state["global"] = value

    def __enter__(self) -> set_threads:
        return self

    def __exit__(self, *exc: Any) -> None:
        with _lock:
            _state["global"] = self._previous

    def __repr__(self) -> str:
        return f"set_threads({_state['global']!r})"


@contextmanager
def thread_limit(n: int | None) -> Iterator[None]:
    """Cap seqprep's threads in the calling thread only (for work running inside a pool, e.g. a Dask task)."""
    value = _check(n, "n")
    previous = getattr(_local, "limit", None)
    _local.limit = value
    try:
        yield
    finally:
        _local.limit = previous


def get_threads() -> int:
    """The most threads seqprep's own work may use now: the override if set, else the usable cores.

    Examples
    --------
    >>> import seqprep
    >>> seqprep.get_threads() >= 1
    True
    """
    o = override()
    return o if o is not None else usable_cores()


# ---------------------------------------------------------------------------- the machine
def _cgroup_quota() -> int | None:
    """CPUs allowed by a cgroup v2 (``cpu.max``) or v1 (``cfs_quota_us``) quota, rounded up; None if none."""
    for quota_file, period_file in (("/sys/fs/cgroup/cpu.max", None),
                                    ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")):
        try:
            with open(quota_file) as fh:
                fields = fh.read().split()
            if period_file is None:
                quota, period = fields[0], fields[1]
            else:
                with open(period_file) as fh:
                    quota, period = fields[0], fh.read().strip()
        except (OSError, IndexError):
            continue
        if quota in ("max", "-1"):
            return None
        try:
            return max(1, math.ceil(int(quota) / int(period)))
        except (ValueError, ZeroDivisionError):
            return None
    return None


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity, bounded by a cgroup CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(n, quota) if quota else n)


def _read_load() -> tuple[float, int] | None:
    """(1-minute load average, runnable tasks now) from /proc/loadavg; None where there is none."""
    try:
        with open("/proc/loadavg") as fh:
            fields = fh.read().split()
        return float(fields[0]), int(fields[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        try:
            return os.getloadavg()[0], 0
        except (AttributeError, OSError):
            return None


def free_cores() -> int:
    """Usable cores that no other task seems to hold now (at least 1; re-read at most once a second).

    Other work = the larger of the 1-minute load average and the tasks runnable at this moment,
    less this thread. The machine-wide figures over-count on a large shared host, which only
    makes the choice more careful.
    """
    return _machine()[1]


def _machine() -> tuple[int, int]:
    """(usable cores, free cores), read at most once per :data:`_LOAD_TTL` seconds (a batch asks every time)."""
    now = time.monotonic()
    stamp, value = _state["load"]
    if now - stamp < _LOAD_TTL:
        return value
    usable = usable_cores()
    load = _read_load()
    free = usable if load is None else usable - int(max(load[0], load[1]) - 1 + 0.5)
    value = (usable, max(1, min(usable, free)))
    _state["load"] = (now, value)
    return value


# ---------------------------------------------------------------------------- the policy
def threads_for(nbytes: int, per_thread: int = PARALLEL_MIN_BYTES, *, automatic: bool = True) -> int:
    """Threads for a memory-bound pass that moves ``nbytes`` (the result never depends on the count).

    One per ``per_thread`` bytes, at most the override; else one off the main thread, and at most
    the usable and the free cores (and :data:`MAX_AUTO_THREADS`). ``automatic=False``: one thread
    unless an override asks for more (a pass whose threads have not been shown to pay).
    """
    by_size = max(1, int(nbytes) // max(1, int(per_thread)))
    cap = override()
    if cap is not None:
        return max(1, min(cap, by_size))
    if not automatic or by_size == 1 or threading.current_thread() is not threading.main_thread():
        return 1  # small, or already inside someone's pool (a Dask worker's task, a loader thread)
    return max(1, min(by_size, free_cores(), MAX_AUTO_THREADS))  # free <= usable


def training_threads(n_params: int, batch_size: int, steps: int) -> int:
    """Default intra-op threads for training a model: from its size and the usable cores, never the load.

    ``n_params x batch_size x steps`` (weights applied per time step of a batch, a proxy of one
    step's work) per :data:`TRAIN_WORK_PER_THREAD`; small models train on one thread, which is as
    fast as two for them and cannot stall behind a busy core. The load is left out on purpose:
    the same seed, data and machine then give the same count, hence the same numbers. At most half
    the usable cores: the other half is the headroom that keeps a busy neighbour from stalling
    every step (module docstring, point 3); an override may ask for more.
    """
    work = max(1, int(n_params)) * max(1, int(batch_size)) * max(1, int(steps))
    by_size = max(1, work // TRAIN_WORK_PER_THREAD)
    cap = override()
    if cap is not None:
        return max(1, min(cap, by_size))
    return max(1, min(by_size, usable_cores() // 2, MAX_AUTO_THREADS))


# ---------------------------------------------------------------------------- running it
def _pool(workers: int) -> ThreadPoolExecutor:
    """The shared pool of waiting (never spinning) threads, grown on demand; rebuilt after a fork."""
    with _lock:
        pool = _state["pool"]
        if pool is None or _state["pool_size"] < workers or _state.get("pid") != os.getpid():
            if pool is not None and _state.get("pid") == os.getpid():
                pool.shutdown(wait=False)
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seqprep")
            _state.update(pool=pool, pool_size=workers, pid=os.getpid())
        return pool


def run_parts(fn: Callable[[int], Any], n_parts: int, threads: int) -> list[Any]:
    """``[fn(0), ..., fn(n_parts - 1)]`` on up to ``threads`` threads (the caller's included), in order.

    ``fn`` must release the GIL for the threads to help (numpy copies and reductions do). Parts are
    handed out one at a time, so a thread that loses its core holds back one part, not a share
    fixed in advance.
    """
    threads = max(1, min(int(threads), n_parts))
    if threads == 1:
        return [fn(i) for i in range(n_parts)]
    results: list[Any] = [None] * n_parts
    counter = iter(range(n_parts))
    take = threading.Lock()

    def worker() -> None:
        while True:
            with take:
                i = next(counter, None)
            if i is None:
                return
            results[i] = fn(i)

    futures: Sequence[Future[None]] = [_pool(threads - 1).submit(worker) for _ in range(threads - 1)]
    worker()
    for f in futures:
        f.result()
    return results


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Hold numpy's BLAS to one thread around seqprep's own reductions (OpenBLAS threads spin when idle).

    BLAS's thread count is process-wide: nested and concurrent blocks (threads of a Dask worker)
    share one limit, set by the first to enter and restored by the last to leave.
    """
    with _lock:
        if _blas["depth"] == 0:
            controller = _blas.get("controller")
            if controller is None:
                from threadpoolctl import ThreadpoolController

                controller = _blas["controller"] = ThreadpoolController()
            _blas["limiter"] = controller.limit(limits=1, user_api="blas")
        _blas["depth"] += 1
    try:
        yield
    finally:
        with _lock:
            _blas["depth"] -= 1
            if _blas["depth"] == 0:
                _blas.pop("limiter").restore_original_limits()


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Set the intra-op thread count of torch to ``n`` in this thread for the block; restore it after."""
    import torch

    previous = torch.get_num_threads()
    if previous != n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
