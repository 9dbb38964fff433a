"""W3: per-feature standard-scaler fit on float32 data vs a one-read bandwidth proxy.

    python benchmarks/scale.py --rows 20000000 --features 32

Data: standard normal * linspace(0.5, 5) + linspace(-50, 100) per column (float32).
Timed in the same run: one read (x.sum(axis=0)), seqprep StandardScaler().fit,
partial_fit over 1M-row chunks, scikit-learn StandardScaler().fit (if installed).
Errors are the max relative error of mean/std vs a float64 two-pass reference
computed in chunks.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

from seqprep.scaling import StandardScaler


def _rss() -> int:
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:  # pragma: no cover - Linux fallback
        with open("/proc/self/statm") as fh:
            import os

            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _Peak:
    """Sample RSS every 5 ms in a thread; report the peak above the starting RSS."""

    def __enter__(self) -> _Peak:
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss())

    @property
    def delta_mib(self) -> float:
        return (self.peak - self.base) / 2**20


def make_data(rows: int, features: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.empty((rows, features), dtype=np.float32)
    scale = np.linspace(0.5, 5, features, dtype=np.float32)
    shift = np.linspace(-50, 100, features, dtype=np.float32)
    step = 1_000_000
    for i in range(0, rows, step):
        block = rng.standard_normal((min(step, rows - i), features), dtype=np.float32)
        block *= scale
        block += shift
        x[i : i + step] = block
    return x


def reference(x: np.ndarray, step: int = 1_000_000) -> tuple[np.ndarray, np.ndarray]:
    """float64 two-pass mean/std, chunked so that it needs no full float64 copy."""
    total = np.zeros(x.shape[1])
    for i in range(0, len(x), step):
        total += x[i : i + step].astype(np.float64).sum(axis=0)
    mean = total / len(x)
    ss = np.zeros(x.shape[1])
    for i in range(0, len(x), step):
        d = x[i : i + step].astype(np.float64) - mean
        ss += np.einsum("ij,ij->j", d, d)
    return mean, np.sqrt(ss / len(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-sklearn", action="store_true")
    args = parser.parse_args()

    x = make_data(args.rows, args.features)
    gb = x.nbytes / 1e9
    ref_mean, ref_std = reference(x)

    def seq_fit() -> tuple[np.ndarray, np.ndarray]:
        s = StandardScaler().fit(x)
        return s.mean_, np.sqrt(s.var_)

    def seq_partial() -> tuple[np.ndarray, np.ndarray]:
        s = StandardScaler()
        for i in range(0, len(x), 1_000_000):
            s.partial_fit(x[i : i + 1_000_000])
        return s.mean_, np.sqrt(s.var_)

    methods = {
        "one read: x.sum(axis=0)": lambda: (x.sum(axis=0), None),
        "seqprep StandardScaler().fit": seq_fit,
        "seqprep partial_fit, 1M-row chunks": seq_partial,
    }
    if not args.no_sklearn:
        try:
            from sklearn.preprocessing import StandardScaler as SkScaler

            def sk_fit() -> tuple[np.ndarray, np.ndarray]:
                s = SkScaler().fit(x)
                return s.mean_, s.scale_

            methods["sklearn StandardScaler().fit"] = sk_fit
        except ImportError:
            print("scikit-learn not installed: skipped")

    rows = []
    for name, fn in methods.items():
        times, peaks = [], []
        for _ in range(args.repeats):
            gc.collect()
            with _Peak() as peak:
                t0 = time.perf_counter()
                mean, std = fn()
                times.append(time.perf_counter() - t0)
            peaks.append(peak.delta_mib)
        err_m = err_s = float("nan")
        if std is not None:
            err_m = float(np.max(np.abs(mean / ref_mean - 1)))
            err_s = float(np.max(np.abs(std / ref_std - 1)))
        rows.append((name, statistics.median(times), min(times), max(peaks), err_m, err_s))

    read = rows[0][1]
    print(f"\n{args.rows:,} x {args.features} float32 = {gb:.2f} GB, median of {args.repeats} runs\n")
    print("| method | time s (median) | min s | GB/s | read time / time | peak RSS delta MiB "
          "| max rel err mean | max rel err std |")
    print("|---|---|---|---|---|---|---|---|")
    for name, med, best, peak, em, es in rows:
        print(f"| {name} | {med:.3f} | {best:.3f} | {gb / med:.2f} | {read / med:.2f} | {peak:.0f} "
              f"| {em:.1e} | {es:.1e} |")

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import emit_result, headline

    by_name = {r[0]: r for r in rows}
    fit = by_name["seqprep StandardScaler().fit"]
    out = [
        headline("scale fit speed / one read", round(read / fit[1], 3), "x", ">= 0.7", read / fit[1] >= 0.7),
        headline("scale fit max rel err (std)", fit[5], "", "<= 1e-6", fit[5] <= 1e-6),
        headline("scale fit peak RSS delta", fit[3], "MiB", None, None),
    ]
    if "sklearn StandardScaler().fit" in by_name:
        sk = by_name["sklearn StandardScaler().fit"][1]
        out.append(headline("scale fit speed / sklearn", round(sk / fit[1], 2), "x", "> 1", sk > fit[1]))
    emit_result("scale", vars(args), out)


if __name__ == "__main__":
    main()
