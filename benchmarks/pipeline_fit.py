"""Parquet -> 70/15/15 split -> scaler fitted on the training rows -> windows of 48 -> first batch.

    python benchmarks/pipeline_fit.py                       # 10M rows x 16 float32 features
    python benchmarks/pipeline_fit.py --rows 2000000 --repeats 3

Two ways, each run in a fresh subprocess (so that peak memory is its own), interleaved
(seqprep, hand, then hand, seqprep, ...: the machine may be shared):

* **seqprep**: ``Pipeline(48, target="f0").fit(path)``, then the first batch of
  ``parts.train.batches(256, shuffle=True, seed=0)``.
* **hand**: what users write with pandas + scikit-learn + numpy: ``pd.read_parquet`` ->
  ``df.to_numpy()`` -> chronological 70/15/15 split -> ``sklearn.preprocessing.StandardScaler``
  fitted on the training rows, applied to the whole table -> ``sliding_window_view`` windows of 48
  (target ``f0`` one step after each window, the window and its target inside the training rows)
  -> the same 256 shuffled windows (the same int32 order shuffled by ``default_rng(0)``).

Time is the wall time from the read to the first batch (imports excluded); memory is the peak
resident set (``VmHWM``) above the resident set after the imports. The two first batches are
compared (windows, targets and the window starts of the training part).
Targets (issue 18): time <= 1.0x hand, peak <= 1.2x (data + one float32 scaled copy).
The data is generated once (``--path``, default /tmp/seqprep_pipeline_fit.parquet, row groups of
1M rows) and deleted unless ``--keep``. The last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import MIB, emit_result, headline, machine_info, median  # noqa: E402

LOOKBACK, BATCH = 48, 256


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def generate(path: Path, rows: int, features: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(features)]
    schema = pa.schema([(n, pa.float32()) for n in names])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, 1 << 20):
            k = min(1 << 20, rows - start)
            cols = [(rng.standard_normal(k, dtype=np.float32) * (i + 1) + i) for i in range(features)]
            writer.write_table(pa.table(dict(zip(names, cols, strict=True)), schema=schema))


def child(kind: str, path: str, out: str) -> None:
    """One measured run (in its own process); writes its batch to ``out``.npz and prints JSON."""
    import pandas as pd
    import pyarrow.parquet  # noqa: F401  (imported before the baseline, as pandas would)
    from numpy.lib.stride_tricks import sliding_window_view
    from sklearn.preprocessing import StandardScaler

    import seqprep

    base = _status("VmRSS")
    t0 = time.perf_counter()
    if kind == "seqprep":
        parts = seqprep.Pipeline(LOOKBACK, target="f0").fit(path)
        X, y = next(parts.train.batches(BATCH, shuffle=True, seed=0))
        starts = parts.train.starts
    else:
        df = pd.read_parquet(path)
        data = df.to_numpy()
        del df
        n = len(data)
        n_train = round(0.7 * n)
        scaled = StandardScaler().fit(data[:n_train]).transform(data)
        del data
        starts = np.arange(n_train - LOOKBACK, dtype=np.int64)  # window and target in the training rows
        order = np.arange(len(starts), dtype=np.int32)
        np.random.default_rng(0).shuffle(order)
        pick = starts[order[:BATCH]]
        X = np.ascontiguousarray(sliding_window_view(scaled, LOOKBACK, axis=0)[pick].transpose(0, 2, 1))
        y = scaled[pick + LOOKBACK, 0]
    seconds = time.perf_counter() - t0
    peak = _status("VmHWM") - base
    np.savez(out, X=X, y=y, first=starts[:5], last=starts[-5:], n=len(starts))
    print(json.dumps({"seconds": seconds, "peak": peak}))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--features", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--path", default="/tmp/seqprep_pipeline_fit.parquet")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--child", nargs=3, metavar=("KIND", "PATH", "OUT"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        child(*args.child)
        return
    path = Path(args.path)
    if not path.exists():
        generate(path, args.rows, args.features)
    data_bytes = args.rows * args.features * 4
    budget = 1.2 * (2 * data_bytes)  # the data + one float32 scaled copy
    res: dict[str, list[dict]] = {"seqprep": [], "hand": []}
    loads = []
    try:
        for r in range(args.repeats):
            for kind in (("seqprep", "hand") if r % 2 == 0 else ("hand", "seqprep")):
                loads.append(os.getloadavg()[0])
                out = f"{path}.{kind}.npz"
                proc = subprocess.run([sys.executable, __file__, "--child", kind, str(path), out],
                                      capture_output=True, text=True, check=True)
                res[kind].append(json.loads(proc.stdout.strip().splitlines()[-1]))
                print(f"{kind:8s} {res[kind][-1]['seconds']:.2f} s, peak {res[kind][-1]['peak'] / MIB:,.0f} MiB "
                      f"(load {loads[-1]:.2f})", flush=True)
        a, b = np.load(f"{path}.seqprep.npz"), np.load(f"{path}.hand.npz")
        same_starts = all(np.array_equal(a[k], b[k]) for k in ("first", "last", "n"))
        diff = float(max(np.abs(a["X"] - b["X"]).max(), np.abs(a["y"] - b["y"]).max()))
    finally:
        for kind in res:
            Path(f"{path}.{kind}.npz").unlink(missing_ok=True)
        if not args.keep:
            path.unlink(missing_ok=True)
    t = {k: median([x["seconds"] for x in v]) for k, v in res.items()}
    m = {k: max(x["peak"] for x in v) for k, v in res.items()}
    machine = machine_info()
    print(f"{args.rows:,} x {args.features} float32, {args.repeats} interleaved repetitions, "
          f"CPU {machine.get('cpu')}, load average during the runs {min(loads):.1f}-{max(loads):.1f}")
    print("| way | median s | peak RSS | peak / (data + scaled float32) |")
    print("|---|---|---|---|")
    for k in res:
        print(f"| {k} | {t[k]:.2f} | {m[k] / MIB:,.0f} MiB | {m[k] / (2 * data_bytes):.2f} |")
    print(f"same training starts: {same_starts}; first batch max |seqprep - hand| = {diff:.2e}")
    ratio = t["seqprep"] / t["hand"]
    rows = [
        headline("pipeline fit->first batch / hand-written time", round(ratio, 3), "x", "<= 1.0", ratio <= 1.0),
        headline("pipeline fit peak / (data + scaled float32)", round(m["seqprep"] / (2 * data_bytes), 3), "x",
                 "<= 1.2", m["seqprep"] <= budget),
        headline("hand-written peak / (data + scaled float32)", round(m["hand"] / (2 * data_bytes), 3), "x"),
        headline("pipeline first batch equals hand-written", float(same_starts and diff < 1e-5), "", "1",
                 same_starts and diff < 1e-5),
    ]
    emit_result("pipeline_fit", {k: v for k, v in vars(args).items() if k != "child"}, rows, machine=machine,
                loadavg=loads, runs=res, max_abs_diff=diff)


if __name__ == "__main__":
    main()
