"""The README's torch loader against ``Windows.batches()``: one shuffled pass each, same run.

    python benchmarks/loader.py                        # 1M rows x 32 features, lookback 64, batch 256
    python benchmarks/loader.py --rows 200000 --repeats 3

Each repetition runs, in an interleaved order (A, B, C, then B, C, A, ...: the machine may be
shared), one full shuffled pass of

* ``w.batches(batch, shuffle=True, seed=...)`` (numpy batches),
* ``w.to_torch().loader(batch, shuffle=True, seed=...)`` (torch tensors, ``num_workers=0``),
* ``batches()`` with each batch turned into tensors by ``torch.from_numpy`` (what a user writes
  to get tensors without the loader: the part of the loader's cost that is the tensors themselves),
* for reference, the same ``DataLoader`` over the same dataset with torch's
  ``RandomSampler`` + ``BatchSampler`` (what the loader used before: a Python list of every
  index, and a list of ints per batch).

Time is the median over repetitions; memory is the peak resident set above the resident set just
before the pass (``VmHWM`` reset through ``/proc/self/clear_refs``; the heap trimmed first, so the order
of the passes does not matter), the largest over repetitions.
Targets (issue 18): loader time <= 1.10x ``batches()``, its peak at most 5 MiB above ``batches()``'.
The last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    MIB,
    emit_result,
    headline,
    machine_info,
    median,
    peak_rss,
    reset_peak,
    rss,
    trim_heap,
)


def _pass(kind: str, w: Any, ds: Any, args: argparse.Namespace, seed: int) -> int:
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler

    n = 0
    if kind == "batches":
        for X, _y in w.batches(args.batch, shuffle=True, seed=seed):
            n += len(X)
    elif kind == "batches + from_numpy":  # what a user writes to get tensors from batches()
        for X, y in w.batches(args.batch, shuffle=True, seed=seed):
            X, y = torch.from_numpy(X), torch.from_numpy(y)
            n += len(X)
    elif kind == "loader":
        for X, _y in ds.loader(args.batch, shuffle=True, seed=seed):
            n += len(X)
    else:  # the previous mechanism, for reference
        gen = torch.Generator()
        gen.manual_seed(seed)
        sampler = BatchSampler(RandomSampler(ds, generator=gen), args.batch, False)
        for X, _y in DataLoader(ds, sampler=sampler, batch_size=None):
            n += len(X)
    return n


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--features", type=int, default=32)
    p.add_argument("--lookback", type=int, default=64)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--repeats", type=int, default=5)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import torch  # noqa: F401  (imported before the first measurement)

    import seqprep

    data = np.random.default_rng(0).standard_normal((args.rows, args.features), dtype=np.float32)
    w = seqprep.windows(data, lookback=args.lookback, target=0)
    ds = w.to_torch()
    kinds = ["batches", "loader", "torch RandomSampler (before)", "batches + from_numpy"]
    times: dict[str, list[float]] = {k: [] for k in kinds}
    peaks: dict[str, int] = dict.fromkeys(kinds, 0)
    import time

    _pass("batches", w, ds, args, 99)  # warm-up (page-in, torch's first gather)
    for r in range(args.repeats):
        order = kinds[r % len(kinds) :] + kinds[: r % len(kinds)]
        for kind in order:
            gc.collect()
            trim_heap()  # every pass starts from the same resident set, whatever ran before it
            before = rss()
            reset_peak()
            t0 = time.perf_counter()
            n = _pass(kind, w, ds, args, r)
            times[kind].append(time.perf_counter() - t0)
            peaks[kind] = max(peaks[kind], peak_rss() - before)
            assert n == len(w)  # noqa: S101 (benchmark)
    load = os.getloadavg()
    print(f"{len(w):,} windows of {args.lookback} x {args.features} float32, batch {args.batch}, "
          f"{args.repeats} interleaved repetitions, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("| pass | median s | min s | peak RSS above start |")
    print("|---|---|---|---|")
    for k in kinds:
        print(f"| {k} | {median(times[k]):.3f} | {min(times[k]):.3f} | {peaks[k] / MIB:.1f} MiB |")
    ratio = median(times["loader"]) / median(times["batches"])
    extra = (peaks["loader"] - peaks["batches"]) / MIB
    print(f"loader / batches: {ratio:.3f}x time, {extra:+.1f} MiB peak")
    rows = [
        headline("loader / batches() time", round(ratio, 3), "x", "<= 1.10", ratio <= 1.10),
        headline("loader peak RSS above batches()", round(extra, 1), "MiB", "<= 5", extra <= 5),
        headline("loader / (batches() + torch.from_numpy) time",
                 round(median(times["loader"]) / median(times["batches + from_numpy"]), 3), "x"),
        headline("RandomSampler loader (before) / batches() time",
                 round(median(times[kinds[2]]) / median(times["batches"]), 3), "x"),
    ]
    emit_result("loader", vars(args), rows, machine=machine_info(), loadavg=load,
                times={k: times[k] for k in kinds}, peaks_mib={k: peaks[k] / MIB for k in kinds})


if __name__ == "__main__":
    main()
