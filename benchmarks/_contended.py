"""The ``--contended`` study of the shuffled pass, shared by windows.py and panel.py.

Each repetition measures, in both conditions (quiet, then one competing busy process; the order
alternates between repetitions) and in a rotating order inside a condition:

- ``ceiling``: the single-core copy rate: the same bytes per batch copied by ``np.copyto`` from
  contiguous blocks into a preallocated batch, in one thread (``_common.batch_ceiling``);
- ``default``: ``Windows.batches(...)`` as shipped (seqprep's thread policy decides);
- ``numpy-1``: the same with ``seqprep.set_threads(1)`` (numpy fancy indexing, one thread);
- ``pool-2``: the same with ``seqprep.set_threads(2)``: seqprep's pool of waiting threads on two
  threads for batches of 2 MiB and more, whatever the load (the override skips the load check);
- ``torch-1`` / ``torch-2``: the gather seqprep used before the thread policy, ``torch.index_select``
  into a preallocated batch, with torch's thread count set to 1 or 2 around each call (``torch-2``
  is that old default on a 2-core machine; timed on at most :data:`OLD_DEFAULT_BATCHES` batches and
  scaled to a full pass, since it crawls when a core is busy).

Every sample carries the 1-minute load average at its start. Ratios are rates over the ceiling of
the same repetition and condition; the headline takes the median of those ratios.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
import types
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import Competitor, batch_ceiling, conditions, headline, load1, print_table

VARIANTS = ("ceiling", "default", "numpy-1", "pool-2", "torch-1", "torch-2")
#: torch-2 (the old default) crawls on a busy machine: it is timed on at most this many batches, per window.
OLD_DEFAULT_BATCHES = 400


def _torch_gather(threads: int) -> Callable[..., np.ndarray]:
    """The pre-policy gather: torch.index_select over a (n_valid, lookback * row) view, ``threads`` threads."""
    import torch

    def gather(self: Any, starts: np.ndarray, plan: Any = None, pass_threads: Any = None) -> np.ndarray:
        # (plan and pass_threads: the signature of Windows._gather_x; this variant sets its own count)
        x = self._x
        if getattr(self, "_bench_view", None) is None:
            row = int(np.prod(x.shape[1:]))
            n_valid = x.shape[0] - self.spec.last_input_offset
            base = torch.from_numpy(np.ascontiguousarray(x)).reshape(x.shape[0], row)
            self._bench_view = base.as_strided((n_valid, self.spec.lookback * row), (row, 1))
        k = len(starts)
        out = np.empty((k, self.spec.lookback, *x.shape[1:]), dtype=x.dtype)
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            torch.index_select(self._bench_view, 0, torch.from_numpy(np.asarray(starts, dtype=np.int64)),
                               out=torch.from_numpy(out.reshape(k, -1)))
        finally:
            torch.set_num_threads(before)
        return out

    return gather


def _pass(w: Any, batch: int, n_batches: int, variant: str) -> float:
    """Seconds for ``n_batches`` shuffled batches of ``w`` with the given gather."""
    import seqprep

    if variant.startswith("torch"):
        w._gather_x = types.MethodType(_torch_gather(int(variant[-1])), w)
    n_threads = {"numpy-1": 1, "pool-2": 2}.get(variant)
    cap = seqprep.set_threads(n_threads) if n_threads else None
    try:
        t0 = time.perf_counter()
        for _ in itertools.islice(w.batches(batch, shuffle=True, seed=0), n_batches):
            pass
        return time.perf_counter() - t0
    finally:
        if cap is not None:
            cap.__exit__()
        w.__dict__.pop("_gather_x", None)


def study(w: Any, data: np.ndarray, batch: int, n_batches: int, repeats: int, label: str,
          same_session: bool = False) -> dict[str, Any]:
    """Interleaved quiet/contended samples of every variant; returns samples, ratios and headlines."""
    from seqprep import _threads

    lookback, features = w.spec.lookback, int(np.prod(data.shape[1:]))
    windows_per_pass = n_batches * batch
    batch_bytes = batch * lookback * features * data.itemsize
    samples: dict[str, dict[str, list[dict[str, float]]]] = {c: {v: [] for v in VARIANTS}
                                                             for c in ("quiet", "contended")}
    with Competitor(same_session) as busy:
        for r in range(repeats):
            for cond in conditions(r):
                busy.set(cond == "contended")
                order = VARIANTS[r % len(VARIANTS):] + VARIANTS[: r % len(VARIANTS)]
                for v in order:
                    load, picked = load1(), _threads.threads_for(batch_bytes)
                    nb = min(n_batches, OLD_DEFAULT_BATCHES) if v == "torch-2" else n_batches
                    if v == "ceiling":
                        secs = batch_ceiling(data, nb, (batch, lookback, *data.shape[1:]), seed=r)
                    else:
                        secs = _pass(w, batch, nb, v)
                    # seconds per full pass (torch-2: scaled from its sample of batches)
                    samples[cond][v].append({"s": secs * n_batches / nb, "batches": nb, "load1": load,
                                             "policy_threads": picked})
                line = " | ".join(f"{v} {samples[cond][v][-1]['s']:.3f}s" for v in VARIANTS)
                print(f"  {label} repeat {r + 1} {cond:<9} load {load1():5.2f}: {line}", flush=True)
    return summarize(samples, windows_per_pass, label)


def summarize(samples: dict[str, Any], windows_per_pass: int, label: str) -> dict[str, Any]:
    """Median seconds, windows/s and ratio to the same repetition's ceiling, per condition and variant."""
    table, stats = [], {}
    for cond, per in samples.items():
        ceil = [s["s"] for s in per["ceiling"]]
        for v, ss in per.items():
            secs = [s["s"] for s in ss]
            ratios = [c / s for c, s in zip(ceil, secs, strict=True)]  # rate / ceiling rate, same repetition
            loads = [s["load1"] for s in ss]
            stats[f"{cond}/{v}"] = {
                "median_s": statistics.median(secs), "min_s": min(secs), "max_s": max(secs),
                "windows_per_s": windows_per_pass / statistics.median(secs),
                "ratio_to_ceiling": statistics.median(ratios),
                "ratios": ratios, "load1": loads, "policy_threads": sorted({s["policy_threads"] for s in ss}),
            }
            table.append([cond, v, f"{statistics.median(secs):.3f} ({min(secs):.3f}-{max(secs):.3f})",
                          f"{windows_per_pass / statistics.median(secs):,.0f}", f"{statistics.median(ratios):.2f}",
                          f"{min(loads):.1f}-{max(loads):.1f}"])
    print()
    print_table(["condition", "gather", "s per pass, median (min-max)", "windows/s", "x single-core copy rate",
                 "load1"], table)
    sys.stdout.flush()
    q, c = stats["quiet/default"]["ratio_to_ceiling"], stats["contended/default"]["ratio_to_ceiling"]
    one = {k: statistics.median([s["s"] for cond in samples for s in samples[cond][k]]) for k in ("numpy-1", "torch-1")}
    rows = [
        headline(f"{label} default / single-core copy rate, quiet", round(q, 3), "x", ">= 0.8", q >= 0.8),
        headline(f"{label} default / single-core copy rate, contended", round(c, 3), "x", ">= 0.5", c >= 0.5),
        headline(f"{label} torch-1 / numpy-1 time (both conditions)", round(one["torch-1"] / one["numpy-1"], 3), "x"),
        headline(f"{label} old default (torch-2) / single-core copy rate, contended",
                 round(stats["contended/torch-2"]["ratio_to_ceiling"], 3), "x"),
    ]
    return {"stats": stats, "headline": rows}
