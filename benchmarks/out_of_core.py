"""Out of core: streaming fit + export of a float32 .npy, then one shuffled pass of windows, in < 1 GB.

    python benchmarks/out_of_core.py --rows 20_000_000        # 1.3 GB of data
    python benchmarks/out_of_core.py                          # 100M rows x 16 features: 6.4 GB

1. The data (standard normal * per-column scale + offset, float32) is generated on disk in chunks
   of 1M rows (``--dir``, default /tmp/seqprep_ooc), with a sidecar JSON of column names.
2. A fresh subprocess (so that nothing from step 1 is in its memory) runs
   ``Pipeline(lookback, target="f0").export(...)`` -- one streaming pass to fit the scaler on the
   training rows, one pass to write the scaled float32 rows and the window starts -- then
   ``open_export`` and ONE full shuffled pass over the training windows in batches of ``--batch``.
   The shuffle is a full uniform permutation of window indices held as int32 (4 bytes per window,
   shuffled in place: ``np.random.Generator.shuffle``), not ``permutation(n)`` (int64, 8 bytes).
3. A thread samples ``RssAnon`` (anonymous memory: the page cache of the memory maps is not
   counted) and ``VmHWM`` (peak resident set, memory-mapped file pages included) every 50 ms.
   Throughput is compared with a same-run copy ceiling: copying the same number of bytes between
   two contiguous in-memory buffers (64 MB blocks).

With ``--series N`` the file gets a last column ``g`` (series ids 0..N-1, equal runs of rows, each
series shifted by its own level) and the measurement runs twice on the same file, in two fresh
subprocesses: ``scale_per="feature"`` (the baseline) and ``scale_per="series"`` (one set of
statistics per series, merged in the same single pass). The ratios series/feature are printed::

    python benchmarks/out_of_core.py --rows 20_000_000 --series 100_000

The last line is ``RESULT {json}``. The generated files are deleted unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np


def _status(field: str) -> int:
    """A ``/proc/self/status`` field in bytes (0 when absent)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


class _Sampler(threading.Thread):
    """Peak RssAnon every ``period`` seconds, per named phase."""

    def __init__(self, period: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.period = period
        self.phase = "start"
        self.peaks: dict[str, int] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            time.sleep(self.period)

    def sample(self) -> None:
        anon = _status("RssAnon")
        self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), anon)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.sample()


def generate(path: Path, rows: int, features: int, series: int = 0, chunk: int = 1 << 20) -> float:
    """Write ``rows x features`` float32 (plus a series id column when ``series``) to ``path``; return seconds."""
    t0 = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    width = features + (1 if series else 0)
    data = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, width))
    rng = np.random.default_rng(0)
    scale = np.linspace(0.5, 5.0, features, dtype=np.float32)
    offset = np.linspace(-50.0, 100.0, features, dtype=np.float32)
    for a in range(0, rows, chunk):
        b = min(a + chunk, rows)
        block = rng.standard_normal((b - a, features), dtype=np.float32) * scale + offset
        if series:
            g = (np.arange(a, b, dtype=np.int64) * series // rows).astype(np.float32)  # sorted, equal runs
            block += (g % 97)[:, None] * 3.0  # each series has its own level
            data[a:b, :features], data[a:b, features] = block, g
        else:
            data[a:b] = block
    data.flush()
    del data
    with open(str(path) + ".json", "w") as fh:
        json.dump({"columns": [f"f{i}" for i in range(features)] + (["g"] if series else [])}, fh)
    return time.perf_counter() - t0


def copy_ceiling(total_bytes: int, block: int = 64 << 20) -> float:
    """GB/s of copying ``total_bytes`` between two contiguous in-memory buffers."""
    src = np.ones(block // 4, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    done = 0
    t0 = time.perf_counter()
    while done < total_bytes:
        np.copyto(dst, src)
        done += block
    return done / (time.perf_counter() - t0) / 1e9


def run(args: argparse.Namespace) -> dict:
    """The measured part (in a fresh process)."""
    from seqprep import Pipeline
    from seqprep.outofcore import open_export

    sampler = _Sampler()
    sampler.start()
    base = Path(args.dir)
    out = base / "export"
    sampler.phase = "import"
    t0 = time.perf_counter()
    sampler.phase = "fit+export"
    pipe = (Pipeline(args.lookback, target="f0", group="g", scale_per=args.scale_per, scaler=args.scaler)
            if args.series else Pipeline(args.lookback, target="f0", scaler=args.scaler))
    pipe.export(out, base / "x.npy", chunk_rows=args.chunk_rows, overwrite=True)
    t_export = time.perf_counter() - t0
    sampler.phase = "shuffled pass"
    parts = open_export(out)
    train = parts["train"]
    n = len(train)
    t1 = time.perf_counter()
    order = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    np.random.default_rng(0).shuffle(order)
    t_shuffle = time.perf_counter() - t1
    checksum = 0.0
    x_bytes = 0
    t2 = time.perf_counter()
    for i in range(0, n, args.batch):
        X, y = train[order[i : i + args.batch].astype(np.int64)]
        x_bytes += X.nbytes + y.nbytes
        checksum += float(X[0, 0, 0])
    t_pass = time.perf_counter() - t2
    sampler.phase = "copy ceiling"
    ceiling = copy_ceiling(x_bytes)
    sampler.stop()
    data_bytes = os.path.getsize(out / "data.npy")
    return {
        "rows": args.rows, "features": args.features, "series": args.series, "scale_per": args.scale_per,
        "scaler": args.scaler,
        "lookback": args.lookback, "batch": args.batch,
        "chunk_rows": args.chunk_rows, "train_windows": n, "windows": {k: len(v) for k, v in parts.items()},
        "export_s": round(t_export, 2), "export_GBps_written": round(data_bytes / t_export / 1e9, 3),
        "shuffle_order_s": round(t_shuffle, 2), "pass_s": round(t_pass, 2),
        "windows_per_s": round(n / t_pass), "pass_GBps": round(x_bytes / t_pass / 1e9, 3),
        "copy_ceiling_GBps": round(ceiling, 3), "fraction_of_ceiling": round(x_bytes / t_pass / 1e9 / ceiling, 3),
        "peak_rss_anon_MB": {k: round(v / 2**20, 1) for k, v in sampler.peaks.items()},
        "peak_rss_anon_MB_max": round(max(sampler.peaks.values()) / 2**20, 1),
        "vm_hwm_MB": round(_status("VmHWM") / 2**20, 1), "checksum": round(checksum, 3),
    }


def _measure(extra: list[str]) -> dict:
    """Run the measured part in a fresh subprocess and return its RESULT."""
    cmd = [sys.executable, "-X", "faulthandler", __file__, *sys.argv[1:], *extra, "--child"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    sys.stderr.write(proc.stderr[-4000:])
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"the measuring subprocess failed (exit {proc.returncode})")
    return json.loads(lines[-1][len("RESULT "):])


def _versus(baseline: dict, extra: list[str], baseline_key: str, ratio_key: str) -> dict:
    """Measure again with the ``extra`` flags; the result carries the baseline and the ratios to it."""
    result = _measure(extra)
    result[baseline_key] = baseline
    result[ratio_key] = {k: round(result[k] / baseline[k], 3)
                         for k in ("export_s", "pass_s", "peak_rss_anon_MB_max") if baseline[k]}
    return result


def main() -> None:
    """Parse arguments, generate the data, measure in a subprocess, print RESULT."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=100_000_000)
    p.add_argument("--features", type=int, default=16)
    p.add_argument("--lookback", type=int, default=64)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--chunk-rows", type=int, default=1 << 20)
    p.add_argument("--dir", default="/tmp/seqprep_ooc")
    p.add_argument("--series", type=lambda s: int(s.replace("_", "")), default=0,
                   help="add a series id column with this many series; compare per-feature and per-series scaling")
    p.add_argument("--scale-per", default="feature", help=argparse.SUPPRESS)
    p.add_argument("--robust", action="store_true",
                   help="also export with scaler='robust' (exact quantiles over several passes) and compare")
    p.add_argument("--scaler", default="standard", help=argparse.SUPPRESS)
    p.add_argument("--keep", action="store_true", help="keep the generated files")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print("RESULT " + json.dumps(run(args)), flush=True)
        return
    base = Path(args.dir)
    src = base / "x.npy"
    try:
        t_gen = generate(src, args.rows, args.features, args.series)
        print(f"generated {src} ({os.path.getsize(src) / 1e9:.2f} GB) in {t_gen:.1f} s", flush=True)
        result = _measure([])
        if args.series:
            result = _versus(result, ["--scale-per", "series"], "feature_baseline", "ratio_series_over_feature")
            print(f"per-series / per-feature: {result['ratio_series_over_feature']}", flush=True)
        if args.robust:  # (with --series: robust against the per-series run)
            result = _versus(result, ["--scaler", "robust"], "standard_baseline", "ratio_robust_over_standard")
            print(f"robust / standard: export {result['standard_baseline']['export_s']} -> {result['export_s']} s, "
                  f"{result['ratio_robust_over_standard']}", flush=True)
        result["generate_s"] = round(t_gen, 2)
        result["data_GB"] = round(os.path.getsize(src) / 1e9, 3)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
