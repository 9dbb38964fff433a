"""seqprep.dask on a memory-limited LocalCluster: fit + export of a Parquet dataset, partition by partition.

    python benchmarks/dask_cluster.py --workers 2 --memory-limit 1GiB               # 8 x 2.5M rows x 8 features
    python benchmarks/dask_cluster.py --workers 2 --memory-limit 1GiB --contended   # quiet, then one busy core
    python benchmarks/dask_cluster.py --partitions 2 --rows-per-partition 200_000   # a quick check
    python benchmarks/dask_cluster.py --arrow-pool system                           # workers on malloc, not mimalloc

1. The data is generated as a Parquet dataset (``--dir``, default /tmp/seqprep_dask), one file per
   partition: ``--rows-per-partition`` rows of ``--features`` float32 columns ``f0..``, an hourly
   ``datetime64[ns]`` column ``t`` and an int64 series id ``g`` (``--series-per-partition`` series
   of equal length per file, so the partitions are aligned to series).
2. A separate process starts ``LocalCluster(processes=True, n_workers=N, threads_per_worker=1,
   memory_limit=...)`` (scheduler and nannies live there, not in the measured client) and samples,
   every 20 ms, ``VmHWM`` (peak resident set) of every worker process it has ever seen: a worker the
   nanny restarts is a new process, so ``restarts = distinct worker processes - N``.
3. A fresh client process connects to it, warms the workers up (imports: their resident set before
   any partition is read is the *baseline*), then runs ``fit_pipeline`` and ``export`` of
   ``Pipeline(lookback, target="f0", time="t", group="g")`` on the dataset's path (``--input path``,
   the default: each task reads its own file, a column at a time) or on ``dd.read_parquet(dir)``
   (``--input ddf``: dask reads each partition, a whole-file read that peaks at ~2.4x the partition). A thread
   samples the client's ``RssAnon`` every 20 ms; the client's cost is its peak minus its resident set
   just before ``fit_pipeline``, compared with the window index it holds (the ``starts-*.npy`` bytes).

Reported per condition (``quiet``; with ``--contended`` also ``contended``: one competing busy process,
``benchmarks/_common.Competitor``): success or the error, worker restarts, peak worker memory (and that
peak over the worker's baseline, in partitions), client peak minus the window index, wall time of fit
and export, and the 1-minute load average before each run. The last line is ``RESULT {json}``.

``--arrow-pool system`` sets ``ARROW_DEFAULT_MEMORY_POOL`` for the workers: pyarrow's default pool
(mimalloc) keeps, in the caches of its reading threads, memory that ``release_unused`` cannot
return, which stays in the worker's resident set between partitions.
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
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Competitor, emit_result, headline, load1, machine_info, print_table  # noqa: E402

MIB = 1 << 20


def _int(s: str) -> int:
    return int(s.replace("_", ""))


def _status(field: str, pid: int | str = "self") -> int:
    """A ``/proc/<pid>/status`` field in bytes (0 when absent or the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


# ---------------------------------------------------------------------- the data


def generate(base: Path, partitions: int, rows: int, features: int, series: int) -> int:
    """One Parquet file per partition (series-aligned, rows in time order); returns one partition's bytes in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    base.mkdir(parents=True, exist_ok=True)
    per = rows // series
    times = np.datetime64("2020-01-01T00", "ns") + np.arange(per) * np.timedelta64(1, "h")
    rng = np.random.default_rng(0)
    scale = np.linspace(0.5, 5.0, features, dtype=np.float32)
    offset = np.linspace(-50.0, 100.0, features, dtype=np.float32)
    block = max(1, (1 << 18) // per)  # series per row group (~256K rows)
    for p in range(partitions):
        with pq.ParquetWriter(base / f"part-{p:03d}.parquet", _schema(features)) as writer:
            for s0 in range(0, series, block):
                k = min(block, series - s0)
                g = np.repeat(np.arange(p * series + s0, p * series + s0 + k, dtype=np.int64), per)
                cols: dict[str, Any] = {"t": np.tile(times, k), "g": g}
                level = (g % 97).astype(np.float32) * 3.0
                for j in range(features):
                    cols[f"f{j}"] = rng.standard_normal(k * per, dtype=np.float32) * scale[j] + offset[j] + level
                writer.write_table(pa.table(cols, schema=_schema(features)))
    return per * series * (8 + 8 + 4 * features)


def _schema(features: int) -> Any:
    import pyarrow as pa

    return pa.schema([("t", pa.timestamp("ns")), ("g", pa.int64())]
                     + [(f"f{j}", pa.float32()) for j in range(features)])


# ---------------------------------------------------------------------- the cluster process


def cluster_main(args: argparse.Namespace) -> None:
    """Start the LocalCluster, print its address, sample the workers' peaks until stdin closes, print them."""
    import psutil
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           memory_limit=args.memory_limit, dashboard_address=None, worker_dashboard_address=None,
                           silence_logs=40)
    me = psutil.Process()
    peaks: dict[int, int] = {}
    last_rss: dict[int, int] = {}
    halt = threading.Event()

    def sample() -> None:
        while not halt.is_set():
            for child in me.children(recursive=False):
                try:
                    if "spawn_main" not in " ".join(child.cmdline()):
                        continue  # the resource tracker, not a worker
                except (psutil.Error, OSError):
                    continue
                hwm, rss = _status("VmHWM", child.pid), _status("VmRSS", child.pid)
                if hwm:
                    peaks[child.pid] = max(peaks.get(child.pid, 0), hwm)
                    last_rss[child.pid] = rss
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    print("ADDRESS " + cluster.scheduler_address, flush=True)
    sys.stdin.read()  # the client closes it when done
    halt.set()
    thread.join()
    print("WORKERS " + json.dumps({"peaks": peaks, "last_rss": last_rss}), flush=True)
    cluster.close(timeout=20)


# ---------------------------------------------------------------------- the client process


class _Sampler(threading.Thread):
    """Peak RssAnon of this process every 20 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, _status("RssAnon"))
            time.sleep(0.02)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, _status("RssAnon"))
        return self.peak


def _warm() -> int:
    """On a worker: import what a partition's task imports; its resident set then (the baseline)."""
    import dask.dataframe  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import seqprep.dask  # noqa: F401

    return _status("VmRSS")


def client_main(args: argparse.Namespace) -> None:
    """Fit and export on the cluster at ``args.address``; print RESULT with the client's numbers."""
    import dask.dataframe as dd
    from distributed import Client

    from seqprep import Pipeline
    from seqprep.dask import export, fit_pipeline

    client = Client(args.address, timeout="60s")
    baselines = client.run(_warm)
    base = Path(args.dir)
    # --input path: seqprep's tasks read their files themselves (a column at a time); ddf: dd.read_parquet's partitions
    ddf: Any = str(base / "data") if args.input == "path" else dd.read_parquet(str(base / "data"))
    out = base / "export"
    pipe = Pipeline(args.lookback, target="f0", time="t", group="g")
    sampler = _Sampler()
    rss0, vm0 = _status("RssAnon"), _status("VmRSS")
    sampler.start()
    result: dict[str, Any] = {"input": args.input, "worker_baseline_MB": {
        str(k): round(v / MIB, 1) for k, v in baselines.items()}}
    t0 = time.perf_counter()
    try:
        fit_pipeline(pipe, ddf, client=client)
        result["fit_s"] = round(time.perf_counter() - t0, 2)
        t1 = time.perf_counter()
        export(pipe, ddf, out, client=client, overwrite=True)
        result["export_s"] = round(time.perf_counter() - t1, 2)
        result["ok"] = True
    except Exception as exc:  # noqa: BLE001 - a benchmark reports the failure (KilledWorker) instead of dying
        result["ok"] = False
        result["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    result["wall_s"] = round(time.perf_counter() - t0, 2)
    peak = sampler.stop()
    index = sum(p.stat().st_size for p in out.glob("starts-*.npy")) if result["ok"] else 0
    result.update({
        "client_rss_before_MB": round(rss0 / MIB, 1), "client_peak_MB": round(peak / MIB, 1),
        "client_added_MB": round((peak - rss0) / MIB, 1), "window_index_MB": round(index / MIB, 1),
        "client_added_minus_index_MB": round((peak - rss0 - index) / MIB, 1),
        "client_vmhwm_added_MB": round((_status("VmHWM") - vm0) / MIB, 1),
    })
    if result["ok"]:
        result["windows"] = {p.stem[len("starts-"):]: int(np.load(p, mmap_mode="r").shape[0])
                             for p in sorted(out.glob("starts-*.npy"))}
    try:
        alive = client.run(lambda: _status("VmHWM"))
        result["worker_hwm_alive_MB"] = {str(k): round(v / MIB, 1) for k, v in alive.items()}
    except Exception:  # noqa: BLE001
        pass
    client.close()
    print("RESULT " + json.dumps(result), flush=True)


# ---------------------------------------------------------------------- one run: cluster + client


def measure(args: argparse.Namespace, partition_bytes: int) -> dict[str, Any]:
    """A fresh cluster process and a fresh client process; the run's numbers."""
    me = [sys.executable, __file__, "--dir", args.dir, "--lookback", str(args.lookback), "--input", args.input]
    env = dict(os.environ)
    if args.arrow_pool:  # the workers inherit the cluster process's environment
        env["ARROW_DEFAULT_MEMORY_POOL"] = args.arrow_pool
    cluster = subprocess.Popen([*me, "--cluster", "--workers", str(args.workers), "--memory-limit", args.memory_limit],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert cluster.stdin is not None and cluster.stdout is not None  # noqa: S101 (benchmark script)
    line = cluster.stdout.readline()
    if not line.startswith("ADDRESS "):
        cluster.kill()
        raise SystemExit(f"the cluster process did not start: {line!r}")
    address = line.split()[1]
    try:
        proc = subprocess.run([*me, "--client", address], capture_output=True, text=True, timeout=args.timeout,
                              check=False)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if lines:
            result = json.loads(lines[-1][len("RESULT "):])
        else:
            result = {"ok": False, "error": f"client exit {proc.returncode}: {proc.stderr[-600:]}"}
    except subprocess.TimeoutExpired:
        result = {"ok": False, "error": f"timed out after {args.timeout} s"}
    cluster.stdin.close()
    workers: dict[str, Any] = {"peaks": {}}
    for ln in cluster.stdout:
        if ln.startswith("WORKERS "):
            workers = json.loads(ln[len("WORKERS "):])
    try:
        cluster.wait(timeout=60)
    except subprocess.TimeoutExpired:
        cluster.kill()
    peaks = {int(k): v for k, v in workers["peaks"].items()}
    baseline = max(result.get("worker_baseline_MB", {}).values(), default=0.0) * MIB
    top = max(peaks.values(), default=0)
    result.update({
        "worker_processes": len(peaks), "restarts": max(len(peaks) - args.workers, 0),
        "worker_peak_MB": round(top / MIB, 1), "worker_peaks_MB": sorted(round(v / MIB, 1) for v in peaks.values()),
        "worker_peak_over_baseline_partitions": round((top - baseline) / partition_bytes, 2) if top else None,
        "partition_MB": round(partition_bytes / MIB, 1),
    })
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory-limit", default="1GiB", help="per worker, as dask reads it ('1GiB', '800MB')")
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--rows-per-partition", type=_int, default=2_500_000)
    p.add_argument("--series-per-partition", type=_int, default=2500)
    p.add_argument("--features", type=int, default=8)
    p.add_argument("--lookback", type=int, default=48)
    p.add_argument("--contended", action="store_true", help="also run with one competing busy process")
    p.add_argument("--arrow-pool", default=None, choices=("system", "mimalloc", "jemalloc"),
                   help="ARROW_DEFAULT_MEMORY_POOL of the workers (default: pyarrow's own default, mimalloc)")
    p.add_argument("--input", default="path", choices=("path", "ddf"),
                   help="what fit_pipeline/export get: the dataset's path (default; each task reads its own file a "
                        "column at a time) or dd.read_parquet(path) (dask reads each partition)")
    p.add_argument("--timeout", type=int, default=900, help="seconds before a run counts as failed")
    p.add_argument("--dir", default="/tmp/seqprep_dask")
    p.add_argument("--keep", action="store_true", help="keep the generated files")
    p.add_argument("--cluster", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--client", dest="address", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.cluster:
        cluster_main(args)
        return
    if args.address:
        client_main(args)
        return
    base = Path(args.dir)
    t0 = time.perf_counter()
    part_bytes = generate(base / "data", args.partitions, args.rows_per_partition, args.features,
                          args.series_per_partition)
    print(f"generated {args.partitions} partitions of {args.rows_per_partition:,} rows x {args.features} features "
          f"({part_bytes / MIB:.0f} MiB each in memory) in {time.perf_counter() - t0:.1f} s", flush=True)
    runs: dict[str, dict[str, Any]] = {}
    try:
        with Competitor() as busy:
            for cond in ("quiet", "contended") if args.contended else ("quiet",):
                busy.set(cond == "contended")
                load = load1()
                runs[cond] = measure(args, part_bytes)
                runs[cond]["load1"] = load
                busy.set(False)
                print(f"{cond}: {json.dumps(runs[cond])}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    rows = []
    table = []
    for cond, r in runs.items():
        added = r.get("client_added_minus_index_MB")
        over = r.get("worker_peak_over_baseline_partitions")
        table.append([cond, "yes" if r["ok"] else "NO: " + r.get("error", "")[:60], r["restarts"],
                      f"{r['worker_peak_MB']:.0f}", f"{over}", f"{r.get('client_added_MB')}", f"{r['window_index_MB']}",
                      f"{r['wall_s']:.1f}", r["load1"]])
        rows += [
            headline(f"{cond}: fit + export succeeded", int(r["ok"]), "", "1", bool(r["ok"])),
            headline(f"{cond}: worker restarts", r["restarts"], "", "0", r["restarts"] == 0),
            headline(f"{cond}: peak worker memory over its baseline", over, "partitions", "<= 3",
                     None if over is None else over <= 3),
            headline(f"{cond}: client peak minus the window index", added, "MB", "<= 200",
                     None if added is None or not r["ok"] else added <= 200),
            headline(f"{cond}: fit + export wall time", r["wall_s"], "s"),
        ]
    print()
    print_table(["condition", "ok", "restarts", "worker peak MB", "over baseline (partitions)", "client added MB",
                 "window index MB", "wall s", "load1"], table)
    params = {"workers": args.workers, "memory_limit": args.memory_limit, "partitions": args.partitions,
              "rows_per_partition": args.rows_per_partition, "features": args.features,
              "series_per_partition": args.series_per_partition, "lookback": args.lookback,
              "arrow_pool": args.arrow_pool or "default", "input": args.input}
    emit_result("dask_cluster", params, rows, runs=runs, machine=machine_info())


if __name__ == "__main__":
    main()
