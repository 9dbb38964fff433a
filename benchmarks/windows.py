"""Benchmark: one shuffled pass of sliding windows over one long series, against its baselines.

Data: float32 ``(rows, features)``, lookback 64, horizon 1, target column 0, batches of 256,
one shuffled pass. Measured in the same process (baselines move between machines):

(a) memory-copy ceiling: ``np.copyto`` of the same bytes per batch into a preallocated
    ``(batch, lookback, features)`` buffer from contiguous blocks;
(b) ``seqprep.windows(...).batches(batch, shuffle=True, seed=0)``: construction, then one full
    pass, with the default gather (seqprep's thread policy) and with one thread (``set_threads(1)``);
(c) the tutorial loop ``for i in range(n): X[i] = data[i:i+L]`` into ``np.zeros((n, L, F))``
    (float64, as in the tutorials), then shuffled batches cast to float32 (on ``--loop-rows``);
(d) ``keras.utils.timeseries_dataset_from_array(..., shuffle=True, batch_size=batch)`` with
    TensorFlow (on ``--keras-rows``; throughput is per window, so a subset is comparable).

The first batch of every timed pass is compared with a direct slice of the data (and the
last, partial batch too for seqprep), so a fast but wrong path fails loudly.

``--contended`` runs only the shuffled pass, with and without one competing busy process,
interleaved (``_contended.py``: the default gather, one-thread numpy, the old torch gather on 1
and 2 threads, against the single-core copy rate), with the load average next to every number.

Usage::

    python benchmarks/windows.py                     # 1M x 32, 3 repeats
    python benchmarks/windows.py --rows 200000 --repeats 2 --keras-rows 50000
    python benchmarks/windows.py --contended         # quiet vs one busy core, 1M x 32, 3 repeats
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    MIB,
    add_competitor_args,
    batch_ceiling,
    emit_result,
    headline,
    machine_info,
    median,
    peak_rss,
    print_table,
    reset_peak,
    rss,
    spread,
)

NAMES = {"torch": "default", "numpy": "one-thread"}  # sample keys kept from when the default gather was torch's


class WrongResult(AssertionError):
    """A benchmarked path returned windows that differ from a direct slice."""


def expected_batch(data: np.ndarray, starts: np.ndarray, lookback: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.stack([data[s : s + lookback] for s in starts])
    y = data[starts + lookback - 1 + horizon, 0]
    return X, y


def check(name: str, got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, np.ndarray]) -> None:
    (gx, gy), (wx, wy) = got, want
    if gx.shape != wx.shape or gy.shape != wy.shape:
        raise WrongResult(f"{name}: shapes X{gx.shape} y{gy.shape} != expected X{wx.shape} y{wy.shape}")
    if gx.dtype != np.float32 or gy.dtype != np.float32:
        raise WrongResult(f"{name}: dtypes {gx.dtype}/{gy.dtype}, expected float32")
    if not gx.flags.c_contiguous:
        raise WrongResult(f"{name}: X batch is not C-contiguous")
    if not (np.array_equal(gx, wx) and np.array_equal(gy, wy)):
        raise WrongResult(f"{name}: batch values differ from a direct slice of the data")


# ----------------------------------------------------------------------------- (b) seqprep
def run_seqprep(data: np.ndarray, args: argparse.Namespace, use_torch: bool) -> dict[str, Any]:
    """One construction + pass; ``use_torch`` (a historical name): the default gather, else one thread."""
    import seqprep

    cap = None if use_torch else seqprep.set_threads(1)
    try:
        return _run_seqprep(data, args, use_torch)
    finally:
        if cap is not None:
            cap.__exit__()


def _run_seqprep(data: np.ndarray, args: argparse.Namespace, use_torch: bool) -> dict[str, Any]:
    import seqprep

    L, B = args.lookback, args.batch
    gc.collect()
    before = rss()
    reset_ok = reset_peak()
    t0 = time.perf_counter()
    w = seqprep.windows(data, L, horizon=1, target=0)
    t_build = time.perf_counter() - t0
    n = len(w)
    first = last = None
    count = 0
    t0 = time.perf_counter()
    for X, y in w.batches(B, shuffle=True, seed=0):
        if first is None:
            first = (X, y)
        last = (X, y)
        count += len(X)
    t_iter = time.perf_counter() - t0
    peak = peak_rss()
    # correctness (outside the timing): same order as batches() uses
    order = np.random.default_rng(0).permutation(n)
    label = f"seqprep ({'default' if use_torch else 'one-thread'} gather)"
    if count != n:
        raise WrongResult(f"{label}: {count} windows in one pass, expected {n}")
    check(label + " first batch", first, expected_batch(data, order[:B], L, 1))
    check(label + " last batch", last, expected_batch(data, order[(n - 1) // B * B :], L, 1))
    del w, first, last
    return {"build": t_build, "iter": t_iter, "n": n, "peak_delta": peak - before, "reset_ok": reset_ok}


# ----------------------------------------------------------------------------- (c) naive loop
def run_loop(data: np.ndarray, args: argparse.Namespace) -> dict[str, Any]:
    L, B = args.lookback, args.batch
    sub = data[: args.loop_rows]
    n = len(sub) - L
    gc.collect()
    before = rss()
    reset_peak()
    t0 = time.perf_counter()
    X_all = np.zeros((n, L, sub.shape[1]))
    y_all = np.zeros(n)
    for i in range(n):
        X_all[i] = sub[i : i + L]
        y_all[i] = sub[i + L, 0]
    t_build = time.perf_counter() - t0
    order = np.random.default_rng(0).permutation(n)
    first = None
    t0 = time.perf_counter()
    for i in range(0, n, B):
        idx = order[i : i + B]
        X = X_all[idx].astype(np.float32)
        y = y_all[idx].astype(np.float32)
        if first is None:
            first = (X, y)
    t_iter = time.perf_counter() - t0
    peak = peak_rss()
    check("naive loop", first, expected_batch(sub, order[:B], L, 1))
    del X_all, y_all
    return {"build": t_build, "iter": t_iter, "n": n, "peak_delta": peak - before}


# ----------------------------------------------------------------------------- (d) keras
def run_keras(data: np.ndarray, args: argparse.Namespace) -> dict[str, Any]:
    os.environ["KERAS_BACKEND"] = "tensorflow"  # timeseries_dataset_from_array needs tf.data
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    L, B = args.lookback, args.batch
    sub = data[: args.keras_rows]
    n = len(sub) - L
    gc.collect()
    before = rss()
    reset_peak()
    t0 = time.perf_counter()
    # keras pairs targets[i] with the window starting at row i: shift by hand (lookback - 1 + horizon)
    ds = keras.utils.timeseries_dataset_from_array(
        sub[:-1], sub[L:, 0], sequence_length=L, batch_size=B, shuffle=True, seed=0
    )
    t_build = time.perf_counter() - t0
    first = None
    count = 0
    t0 = time.perf_counter()
    for X, y in ds:
        X, y = X.numpy(), y.numpy()
        if first is None:
            first = (X, y)
        count += len(X)
    t_iter = time.perf_counter() - t0
    peak = peak_rss()
    if count != n:
        raise WrongResult(f"keras: {count} windows, expected {n}")
    # recover each window's start from its first value (column 0 values are distinct floats)
    pos = {float(v): i for i, v in enumerate(sub[:, 0])}
    starts = np.array([pos[float(v)] for v in first[0][:, 0, 0]])
    check("keras first batch", first, expected_batch(sub, starts, L, 1))
    return {"build": t_build, "iter": t_iter, "n": n, "peak_delta": peak - before,
            "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}}


# ----------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--features", type=int, default=32)
    p.add_argument("--lookback", type=int, default=64)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3, help="repeats of the fast methods (medians reported)")
    p.add_argument("--loop-rows", type=int, default=100_000, help="rows for the per-window Python loop")
    p.add_argument("--keras-rows", type=int, default=200_000, help="rows for the Keras pipeline")
    p.add_argument("--skip-keras", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    add_competitor_args(p)
    p.add_argument("--contended", action="store_true",
                   help="only the shuffled pass, with and without one competing busy process (interleaved)")
    p.add_argument("--rss-probe", choices=("torch", "numpy"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def rss_probe(args: argparse.Namespace) -> int:
    """Fresh process: data, then one construction + pass; print the peak RSS above the data."""
    import torch  # noqa: F401

    data = np.random.default_rng(args.seed).standard_normal((args.rows, args.features), dtype=np.float32)
    r = run_seqprep(data, args, use_torch=args.rss_probe == "torch")
    print(json.dumps({"peak_delta": r["peak_delta"], "reset_ok": r["reset_ok"]}))
    return 0


def probe_rss(args: argparse.Namespace, path: str) -> int | None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--rss-probe", path, "--rows", str(args.rows),
           "--features", str(args.features), "--lookback", str(args.lookback), "--batch", str(args.batch),
           "--seed", str(args.seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        return int(json.loads(proc.stdout.strip().splitlines()[-1])["peak_delta"])
    except (IndexError, ValueError, KeyError):
        print(f"  RSS probe ({path}) failed: {proc.stderr.strip()[-300:]}")
        return None


def contended(args: argparse.Namespace) -> int:
    """The shuffled pass quiet and with one core busy, interleaved; see ``_contended.py``."""
    import torch  # noqa: F401  (the torch variants need it; loaded before timing)
    from _contended import study

    import seqprep

    data = np.random.default_rng(args.seed).standard_normal((args.rows, args.features), dtype=np.float32)
    w = seqprep.windows(data, args.lookback, horizon=1, target=0)
    n_batches = math.ceil(len(w) / args.batch)
    info = machine_info()
    print(f"# windows --contended: {args.rows:,} x {args.features} float32, lookback {args.lookback}, batch "
          f"{args.batch}, {n_batches:,} batches per pass, {args.repeats} repeats | {info.get('cpu')} | nproc "
          f"{info['nproc']} | affinity {info.get('affinity')}", flush=True)
    out = study(w, data, args.batch, n_batches, args.repeats, "W1", args.same_session)
    emit_result("windows-contended", dict(vars(args)), out["headline"], stats=out["stats"], machine=info)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rss_probe:
        return rss_probe(args)
    if args.contended:
        return contended(args)
    import torch  # loaded before any RSS baseline: library pages are not data

    import seqprep

    L, F, B = args.lookback, args.features, args.batch
    args.loop_rows = min(args.loop_rows, args.rows)
    args.keras_rows = min(args.keras_rows, args.rows)
    data = np.random.default_rng(args.seed).standard_normal((args.rows, F), dtype=np.float32)
    n = args.rows - L
    n_batches = math.ceil(n / B)
    win_bytes = L * F * 4
    batch_bytes = B * win_bytes
    data_bytes = data.nbytes
    info = machine_info()
    print(f"# windows benchmark: {args.rows:,} x {F} float32 ({data_bytes / MIB:,.1f} MiB), lookback {L}, "
          f"horizon 1, batch {B}, {n:,} windows = {n_batches:,} batches; repeats {args.repeats}")
    print(f"# machine: {info.get('cpu')} | nproc {info['nproc']} | RAM {info.get('ram_gib')} GiB | "
          f"torch threads {torch.get_num_threads()} | seqprep threads {seqprep.get_threads()} | {info['versions']}")

    samples: dict[str, list[dict[str, Any]]] = {"ceiling": [], "torch": [], "numpy": []}
    for r in range(args.repeats):
        samples["ceiling"].append({"build": 0.0, "iter": batch_ceiling(data, n_batches, (B, L, F), seed=r),
                                   "n": n, "peak_delta": 0})
        samples["torch"].append(run_seqprep(data, args, use_torch=True))
        samples["numpy"].append(run_seqprep(data, args, use_torch=False))
        print(f"  repeat {r + 1}: ceiling {samples['ceiling'][-1]['iter']:.3f} s | seqprep torch "
              f"{samples['torch'][-1]['build']:.3f} + {samples['torch'][-1]['iter']:.3f} s | numpy "
              f"{samples['numpy'][-1]['build']:.3f} + {samples['numpy'][-1]['iter']:.3f} s", flush=True)
    samples["loop"] = [run_loop(data, args)]
    print(f"  naive loop on {args.loop_rows:,} rows: {samples['loop'][0]['build']:.2f} + "
          f"{samples['loop'][0]['iter']:.2f} s", flush=True)
    keras_versions: dict[str, str] = {}
    if not args.skip_keras:
        try:
            k = run_keras(data, args)
        except ImportError as exc:
            print(f"  keras skipped: {exc}")
        else:
            keras_versions = k.pop("versions")
            samples["keras"] = [k]
            print(f"  keras on {args.keras_rows:,} rows: {k['build']:.2f} + {k['iter']:.2f} s", flush=True)

    # peak RSS of one construction + pass, each path in a fresh process (inside this one, memory freed
    # by earlier repeats stays mapped and would hide part of the peak)
    fresh = {key: probe_rss(args, key) for key in ("torch", "numpy")}
    for key, val in fresh.items():
        if val is not None:
            for smp in samples[key]:
                smp["peak_delta"] = val

    labels = {
        "ceiling": "(a) memcpy ceiling: np.copyto into prealloc batch",
        "torch": "(b) seqprep batches(), default gather (thread policy)",
        "numpy": "(b) seqprep batches(), one thread (set_threads(1))",
        "loop": f"(c) tutorial loop into np.zeros float64 ({args.loop_rows:,} rows)",
        "keras": f"(d) keras timeseries_dataset_from_array ({args.keras_rows:,} rows)",
    }
    stats: dict[str, dict[str, float]] = {}
    for key, ss in samples.items():
        it = [s["iter"] / s["n"] for s in ss]  # seconds per window
        bd = [s["build"] / s["n"] for s in ss]
        per = median(it)
        stats[key] = {
            "n": ss[0]["n"], "build_s": median([s["build"] for s in ss]), "iter_s": median([s["iter"] for s in ss]),
            "wps": 1 / per, "wps_total": 1 / (per + median(bd)), "spread": spread(it),
            "peak_delta": max(s["peak_delta"] for s in ss), "samples": len(ss),
        }
    ceil = stats["ceiling"]["wps"]
    rows = []
    for key, s in stats.items():
        gbs = s["wps"] * win_bytes / 1e9
        vs_keras = s["wps"] / stats["keras"]["wps"] if "keras" in stats else float("nan")
        rows.append([
            labels[key], f"{s['n']:,}", s["samples"], f"{s['build_s']:.3f}", f"{s['iter_s']:.3f}",
            f"{s['wps']:,.0f}", f"{s['wps_total']:,.0f}", f"{gbs:.2f}", f"{s['wps'] / ceil:.0%}",
            f"{vs_keras:,.1f}x", f"{s['peak_delta'] / MIB:,.1f}", f"{s['spread']:.0%}",
        ])
    print()
    print_table(["method", "windows", "samples", "setup s", "iter s", "windows/s (iter)", "windows/s (incl. setup)",
                 "GB/s (iter)", "of ceiling", "vs keras (iter)", "peak RSS delta MiB", "spread"], rows)
    allowed = 0.10 * data_bytes + batch_bytes
    print(f"\ndata {data_bytes / MIB:,.1f} MiB; RSS budget above the data = 10% of data + one batch "
          f"({batch_bytes / MIB:.1f} MiB) = {allowed / MIB:,.1f} MiB. Peak delta = VmHWM after the pass minus "
          f"VmRSS before construction (VmHWM reset: {samples['torch'][0]['reset_ok']}); seqprep rows: one "
          "construction + pass in a fresh process.")
    loop = stats["loop"]
    proj_bytes = n * L * F * 8
    print(f"tutorial loop: {1e6 / loop['wps_total']:.1f} us/window incl. setup; at {args.rows:,} rows it would take "
          f"~{n / loop['wps_total']:.0f} s and a {proj_bytes / 1e9:.2f} GB float64 array.")

    best = "torch" if stats["torch"]["wps"] >= stats["numpy"]["wps"] else "numpy"
    out_rows = []
    for key in ("torch", "numpy"):
        s = stats[key]
        ratio = s["wps"] / ceil
        out_rows.append(headline(f"windows {NAMES[key]} gather / memcpy ceiling", round(ratio, 3), "x", ">= 0.50",
                                 ratio >= 0.5))
        if "keras" in stats:
            kr = s["wps"] / stats["keras"]["wps"]
            out_rows.append(headline(f"windows {NAMES[key]} gather / keras (iter)", round(kr, 1), "x", ">= 10",
                                     kr >= 10))
        out_rows.append(headline(f"windows {NAMES[key]} peak RSS above data", round(s["peak_delta"] / MIB, 1), "MiB",
                                 f"<= {allowed / MIB:.1f}", s["peak_delta"] <= allowed))
    out_rows.append(headline("windows seqprep construction", round(stats[best]["build_s"], 4), "s"))
    out_rows.append(headline("windows tutorial loop / memcpy ceiling (incl. setup)",
                             round(loop["wps_total"] / ceil, 4), "x"))
    emit_result(
        "windows",
        {k: v for k, v in vars(args).items()},
        out_rows,
        stats=stats,
        data_mib=data_bytes / MIB,
        machine={**info, "versions": {**info["versions"], **keras_versions, "seqprep": seqprep.__version__}},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
