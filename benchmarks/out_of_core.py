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

**Parquet with a time and a group column** (``--parquet``): the data is a folder of Parquet files
(2M rows each, row groups of 256k rows) with a ``t`` column (hourly timestamps), a ``g`` column
(``--series`` series of equal length, int64 ids; ``--string-keys``: dictionary-encoded strings)
and ``--features`` float32 columns, sorted by ``(g, t)``. ``--rows`` takes one size or several
(comma-separated, default ``2_000_000,20_000_000``); for each, a fresh subprocess runs
``Pipeline(64, target="f0", time="t", group="g").export(...)`` (scan, split, fit, write), sampling
``RssAnon`` from ``/proc/self/status`` every 20 ms (anonymous memory: the memory-mapped
``time.npy``, ``starts-*.npy`` and ``data.npy`` are file pages, not counted; ``VmHWM`` is printed
too). The window index (the int64 ``starts-*.npy``, 8 bytes per window) is written through memory
maps, so it is not in that peak; the result gives its size beside it. The slope of the peak
between two sizes (bytes per row) is the measure of flatness::

    python benchmarks/out_of_core.py --parquet                          # 2M and 20M rows x 8, 20,000 series
    python benchmarks/out_of_core.py --parquet --rows 2_000_000,100_000_000
    python benchmarks/out_of_core.py --parquet --contended              # also with one competing busy process

With ``--contended`` every size is measured twice, quiet and with one competing busy process
(``_common.Competitor``), in alternating order; each number carries the 1-minute load average at
its start. Each size's folder and export are deleted before the next size is generated (the disk
needs about 56 bytes per row at a time), unless ``--keep``.

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


def generate_parquet(path: Path, rows: int, features: int, series: int, string_keys: bool = False,
                     per_file: int = 1 << 21, row_group: int = 1 << 18) -> float:
    """A Parquet folder of ``rows`` rows sorted by (g, t): t hourly, g ``series`` equal runs, float32 features."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    scale = np.linspace(0.5, 5.0, features, dtype=np.float32)
    offset = np.linspace(-50.0, 100.0, features, dtype=np.float32)
    per_series = -(-rows // series)
    start = np.datetime64("2020-01-01T00:00", "ns")
    for i, a in enumerate(range(0, rows, per_file)):
        b = min(a + per_file, rows)
        r = np.arange(a, b, dtype=np.int64)
        g = r // per_series
        cols: dict[str, pa.Array] = {"t": pa.array(start + (r % per_series).astype("timedelta64[h]"))}
        if string_keys:
            first = int(g[0])
            names = pa.array([f"meter-{k:07d}" for k in range(first, int(g[-1]) + 1)])
            cols["g"] = pa.DictionaryArray.from_arrays(pa.array(g - first, type=pa.int32()), names)
        else:
            cols["g"] = pa.array(g)
        level = ((g % 97) * 3.0).astype(np.float32)
        for j in range(features):
            cols[f"f{j}"] = pa.array(rng.standard_normal(b - a, dtype=np.float32) * scale[j] + offset[j] + level)
        pq.write_table(pa.table(cols), path / f"part-{i:05d}.parquet", row_group_size=row_group)
    return time.perf_counter() - t0


def run_parquet(args: argparse.Namespace) -> dict:
    """The measured part of ``--parquet`` (in a fresh process): one streamed export of the folder."""
    from seqprep import Pipeline

    busy = None
    if args.busy:
        from _common import Competitor

        busy = Competitor().__enter__()
        busy.set(True)
    try:
        after_import = _status("RssAnon")
        sampler = _Sampler(period=0.02)
        sampler.start()
        base = Path(args.dir)
        load = os.getloadavg()[0]
        sampler.phase = "export (scan, split, fit, write)"
        t0 = time.perf_counter()
        pipe = Pipeline(args.lookback, target="f0", time="t", group="g")
        pipe.export(base / "export", base / "data", chunk_rows=args.chunk_rows, overwrite=True, progress=False)
        t_export = time.perf_counter() - t0
        sampler.stop()
    finally:
        if busy is not None:
            busy.__exit__(None, None, None)
    out = base / "export"
    n_windows = {p.stem[len("starts-"):]: np.load(p, mmap_mode="r").shape[0] for p in sorted(out.glob("starts-*.npy"))}
    peak = max(sampler.peaks.values())
    return {
        "rows": args.rows, "features": args.features, "series": args.series, "string_keys": args.string_keys,
        "condition": "contended" if args.busy else "quiet", "load1_at_start": round(load, 2),
        "export_s": round(t_export, 2), "windows": n_windows,
        "window_index_MB": round(sum(n_windows.values()) * 8 / 2**20, 1),
        "peak_rss_anon_MB": round(peak / 2**20, 1),
        "rss_anon_after_import_MB": round(after_import / 2**20, 1),
        "vm_hwm_MB": round(_status("VmHWM") / 2**20, 1),
        "data_npy_MB": round(os.path.getsize(out / "data.npy") / 2**20, 1),
    }


def _uptime() -> str:
    """``uptime``'s load averages (the machine is shared: every number is reported next to them)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main_parquet(args: argparse.Namespace) -> None:
    """Generate each size's Parquet folder, measure its export in subprocesses (quiet, contended), clean up."""
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import conditions, emit_result, headline, machine_info

    sizes = [int(x.replace("_", "")) for x in str(args.rows).split(",")]
    base = Path(args.dir)
    runs: list[dict] = []
    try:
        for size in sizes:
            shutil.rmtree(base, ignore_errors=True)
            t_gen = generate_parquet(base / "data", size, args.features, args.series, args.string_keys)
            gb = sum(f.stat().st_size for f in (base / "data").iterdir()) / 1e9
            print(f"generated {size:,} rows x {args.features} ({gb:.2f} GB of Parquet) in {t_gen:.1f} s", flush=True)
            conds = conditions(len(runs) // 2) if args.contended else ("quiet",)
            for cond in conds:
                extra = ["--rows", str(size), "--busy"] if cond == "contended" else ["--rows", str(size)]
                before = _uptime()
                r = _measure(extra)
                r["uptime_before"], r["uptime_after"] = before, _uptime()
                r["parquet_GB"] = round(gb, 3)
                runs.append(r)
                print(f"  {size:>12,} rows {cond:<9} load {r['load1_at_start']:5.2f}: export {r['export_s']:7.1f} s, "
                      f"peak RssAnon {r['peak_rss_anon_MB']:7.1f} MB "
                      f"(after imports {r['rss_anon_after_import_MB']} MB), "
                      f"window index {r['window_index_MB']} MB (memory-mapped, not in RssAnon), "
                      f"VmHWM {r['vm_hwm_MB']} MB", flush=True)
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    rows = []
    for cond in ("quiet", "contended"):
        rs = sorted((r for r in runs if r["condition"] == cond), key=lambda r: r["rows"])
        for r in rs:
            rows.append(headline(f"parquet {r['rows']:,} rows {cond}: peak RssAnon", r["peak_rss_anon_MB"], "MiB",
                                 "<= 572 (0.6 GB)", r["peak_rss_anon_MB"] * 2**20 <= 0.6e9))
            rows.append(headline(f"parquet {r['rows']:,} rows {cond}: export", r["export_s"], "s"))
        if len(rs) >= 2:
            lo, hi = rs[0], rs[-1]
            slope = (hi["peak_rss_anon_MB"] - lo["peak_rss_anon_MB"]) * 2**20 / (hi["rows"] - lo["rows"])
            rows.append(headline(f"parquet {cond}: peak RssAnon growth {lo['rows']:,} -> {hi['rows']:,} rows",
                                 round(slope, 2), "bytes/row", "~0 (flat)", abs(slope) < 2))
    emit_result("out_of_core-parquet", {k: v for k, v in vars(args).items() if k not in ("child", "busy")}, rows,
                runs=runs, machine=machine_info())


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
    p.add_argument("--rows", default=None,
                   help="rows (default 100M; with --parquet a comma-separated list, default 2_000_000,20_000_000)")
    p.add_argument("--features", type=int, default=None, help="float32 feature columns (default 16; --parquet: 8)")
    p.add_argument("--parquet", action="store_true",
                   help="a Parquet folder with a time and a group column: peak anonymous memory of the streamed export")
    p.add_argument("--string-keys", action="store_true", help="--parquet: dictionary-encoded string series keys")
    p.add_argument("--contended", action="store_true",
                   help="--parquet: measure each size quiet and with one competing busy process")
    p.add_argument("--busy", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--lookback", type=int, default=64)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--chunk-rows", type=int, default=1 << 20)
    p.add_argument("--dir", default="/tmp/seqprep_ooc")
    p.add_argument("--series", type=lambda s: int(s.replace("_", "")), default=None,
                   help="add a series id column with this many series; compare per-feature and per-series scaling "
                        "(--parquet: series in the group column, default 20,000)")
    p.add_argument("--scale-per", default="feature", help=argparse.SUPPRESS)
    p.add_argument("--robust", action="store_true",
                   help="also export with scaler='robust' (exact quantiles over several passes) and compare")
    p.add_argument("--scaler", default="standard", help=argparse.SUPPRESS)
    p.add_argument("--keep", action="store_true", help="keep the generated files")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.parquet:
        args.rows = args.rows or "2_000_000,20_000_000"
        args.features = args.features or 8
        args.series = 20_000 if args.series is None else args.series
        if args.dir == "/tmp/seqprep_ooc":
            args.dir = "/tmp/seqprep_ooc_parquet"
        if args.child:
            args.rows = int(str(args.rows).replace("_", ""))
            print("RESULT " + json.dumps(run_parquet(args)), flush=True)
        else:
            main_parquet(args)
        return
    args.rows = int(str(args.rows or 100_000_000).replace("_", ""))
    args.features = args.features or 16
    args.series = args.series or 0
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
