"""Benchmark: windows over a panel (many series in one long table) with ``group=``.

Data: ``--series`` x ``--steps`` rows x ``--features`` float32 (default 100,000 x 1,000 x 8 =
100M rows, 3.2 GB), sorted by series, lookback 64, horizon 1, target column 0. Timed:

- construction of ``seqprep.windows(..., group=codes)`` from a numpy array of series codes, and
  ``seqprep.windows(df, ..., target="f0", group="series")`` from a long pandas DataFrame;
- a shuffled pass over a sample of batches (``--sample-batches``): time to the first batch
  (includes the permutation of every window index) and the per-window rate after it, with the
  default gather (seqprep's thread policy) and in one thread (``set_threads(1)``);
- pytorch-forecasting's ``TimeSeriesDataSet`` (construction + its DataLoader over a sample of
  batches) at growing sizes until the next size would not fit in ``--pf-budget`` seconds. It runs
  as a subprocess in its own virtual environment (``--pf-python``, default /tmp/pfvenv); when that
  is missing the comparison is skipped with a message.

The first batch of every timed pass is compared with a direct slice, and its windows are checked
not to cross a series end. Peak RSS (VmHWM, reset before each part) is printed next to the data size.

Usage::

    python benchmarks/panel.py                                   # full size
    python benchmarks/panel.py --series 10000 --steps 1000       # 10M rows
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import (  # noqa: E402
    MIB,
    add_competitor_args,
    emit_result,
    headline,
    machine_info,
    peak_rss,
    print_table,
    reset_peak,
    rss,
)

PF_PREFIX = "PFRESULT "


def make_panel(series: int, steps: int, features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rows, features) float32 values sorted by series, and int64 series codes."""
    data = np.random.default_rng(seed).standard_normal((series * steps, features), dtype=np.float32)
    codes = np.repeat(np.arange(series, dtype=np.int64), steps)
    return data, codes


def check_first(name: str, X: Any, y: Any, starts: np.ndarray, values: np.ndarray, steps: int, L: int) -> None:
    """X/y of one batch against direct slices; no window may cross a series end."""
    X, y = np.asarray(X), np.asarray(y)
    want_x = np.stack([values[s : s + L] for s in starts])
    want_y = values[starts + L, 0]
    if X.shape != want_x.shape or not np.array_equal(X, want_x) or not np.array_equal(y, want_y):
        raise AssertionError(f"{name}: first batch differs from a direct slice of the data")
    if np.any(starts % steps + L >= steps):
        raise AssertionError(f"{name}: a window or its target crosses a series end")


# ----------------------------------------------------------------------------- seqprep
def seqprep_pass(w: Any, args: argparse.Namespace, use_torch: bool, values: np.ndarray, name: str) -> dict[str, Any]:
    """A sampled pass; ``use_torch`` (a historical name): the default gather (thread policy), else one thread."""
    import seqprep

    cap = None if use_torch else seqprep.set_threads(1)
    try:
        return _seqprep_pass(w, args, use_torch, values, name)
    finally:
        if cap is not None:
            cap.__exit__()


def _seqprep_pass(w: Any, args: argparse.Namespace, use_torch: bool, values: np.ndarray, name: str) -> dict[str, Any]:
    B = args.batch
    t0 = time.perf_counter()
    it = w.batches(B, shuffle=True, seed=0)
    X, y = next(it)
    t_first = time.perf_counter() - t0
    first = (X, y)
    count = 0
    t0 = time.perf_counter()
    for X, _y in itertools.islice(it, args.sample_batches - 1):
        count += len(X)
    t_rest = time.perf_counter() - t0
    pass_peak = peak_rss()  # before the check below, whose own permutation is not seqprep's memory
    order_head = np.random.default_rng(0).permutation(len(w))[:B]
    check_first(f"{name} ({'default' if use_torch else 'one-thread'})", *first, np.asarray(w.starts)[order_head],
                values, args.steps, args.lookback)
    return {"first_batch_s": t_first, "rest_s": t_rest, "rest_windows": count,
            "wps": count / t_rest if t_rest else float("nan"), "peak": pass_peak}


def measure_passes(w: Any, args: argparse.Namespace, values: np.ndarray, name: str, res: dict[str, Any]) -> int:
    """The torch and the numpy pass over *w*, each after a VmHWM reset; returns the largest peak (bytes).

    The peak of the construction (read before this call) counts too.
    """
    peaks = [peak_rss()]
    for use_torch in (True, False):
        gc.collect()
        reset_peak()
        p = seqprep_pass(w, args, use_torch, values, name)
        peaks.append(p.pop("peak"))
        res["torch" if use_torch else "numpy"] = p
        print(f"    pass ({'default' if use_torch else 'one-thread'}): first batch {p['first_batch_s']:.2f} s, then "
              f"{p['wps']:,.0f} windows/s over {p['rest_windows']:,} windows", flush=True)
    return max(peaks)


def run_seqprep(args: argparse.Namespace) -> dict[str, Any]:
    import pandas as pd

    import seqprep

    S, T, F, L = args.series, args.steps, args.features, args.lookback
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    data, codes = make_panel(S, T, F, args.seed)
    print(f"  generated {data.nbytes / MIB:,.0f} MiB of values + {codes.nbytes / MIB:,.0f} MiB of codes in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    n_expected = S * (T - L)

    # -- from a numpy array of codes
    gc.collect()
    before = rss()
    reset_peak()
    t0 = time.perf_counter()
    w = seqprep.windows(data, L, horizon=1, target=0, group=codes)
    build = time.perf_counter() - t0
    if len(w) != n_expected:
        raise AssertionError(f"array: {len(w)} windows, expected {n_expected}")
    res = {"build_s": build, "n": len(w), "contiguous": bool(w.data.flags.c_contiguous),
           "data_is_input": bool(np.shares_memory(w.data, data))}
    print(f"  array+codes: build {build:.2f} s, {len(w):,} windows, data C-contiguous {res['contiguous']}, "
          f"no copy {res['data_is_input']}", flush=True)
    # construction and each pass are measured separately (VmHWM reset before each pass): the largest
    res["peak_delta"] = measure_passes(w, args, data, "array", res) - before
    out["array"] = res
    del w
    gc.collect()

    if not args.skip_frame:
        cols = {"series": codes}
        cols.update({f"f{j}": data[:, j] for j in range(F)})
        df = pd.DataFrame(cols)  # copies the columns
        values = data
        del cols
        gc.collect()
        before = rss()
        reset_peak()
        t0 = time.perf_counter()
        w = seqprep.windows(df, L, horizon=1, target="f0", group="series")
        build = time.perf_counter() - t0
        if len(w) != n_expected:
            raise AssertionError(f"frame: {len(w)} windows, expected {n_expected}")
        res = {"build_s": build, "n": len(w), "contiguous": bool(w.data.flags.c_contiguous)}
        print(f"  DataFrame: build {build:.2f} s, data C-contiguous {res['contiguous']}", flush=True)
        res["peak_delta"] = measure_passes(w, args, values, "frame", res) - before
        res["frame_mib"] = float(df.memory_usage(index=False).sum()) / MIB
        out["frame"] = res
        del w, df
    out["data_mib"] = data.nbytes / MIB
    out["codes_mib"] = codes.nbytes / MIB
    return out


# ----------------------------------------------------------------------------- pytorch-forecasting
def pf_worker(args: argparse.Namespace) -> int:
    """Runs inside the pytorch-forecasting venv: one size, prints one PFRESULT line."""
    import warnings

    import pandas as pd
    import pytorch_forecasting
    from pytorch_forecasting import TimeSeriesDataSet

    warnings.filterwarnings("ignore")
    S, T, F, L, B = args.series, args.steps, args.features, args.lookback, args.batch
    data, codes = make_panel(S, T, F, args.seed)
    feats = [f"f{j}" for j in range(F)]
    df = pd.DataFrame({"series": codes, "time_idx": np.tile(np.arange(T, dtype=np.int64), S),
                       **{f: data[:, j] for j, f in enumerate(feats)}})
    gc.collect()
    before = rss()
    reset_peak()
    t0 = time.perf_counter()
    ds = TimeSeriesDataSet(
        df, time_idx="time_idx", target="f0", group_ids=["series"],
        max_encoder_length=L, min_encoder_length=L, max_prediction_length=1, min_prediction_length=1,
        time_varying_unknown_reals=feats, target_normalizer=None, scalers={f: None for f in feats if f != "f0"},
        add_relative_time_idx=False, add_target_scales=False, add_encoder_length=False,
    )
    build = time.perf_counter() - t0
    dl = ds.to_dataloader(train=True, batch_size=B, num_workers=0)
    t0 = time.perf_counter()
    it = iter(dl)
    x, y = next(it)
    t_first = time.perf_counter() - t0
    count = 0
    t0 = time.perf_counter()
    for xb, _yb in itertools.islice(it, args.sample_batches - 1):
        count += len(xb["encoder_cont"])
    t_rest = time.perf_counter() - t0
    peak = peak_rss() - before
    # check the first batch: locate each window by its first value of f0 (values are distinct)
    enc = x["encoder_cont"].numpy()
    col = data[:, 0]
    pos = []
    for j in range(len(enc)):
        cands = np.flatnonzero(col == enc[j, 0, 0])
        ok = [c for c in cands if c + L < len(data) and np.array_equal(data[c : c + L], enc[j])]
        pos.append(ok[0] if ok else -1)
    pos = np.array(pos)
    if np.any(pos < 0):
        raise AssertionError("pytorch-forecasting: a window of the first batch is not a slice of the data")
    check_first("pytorch-forecasting", enc, y[0][:, 0].numpy(), pos.astype(np.int64), data, T, L)
    print(PF_PREFIX + json.dumps({
        "series": S, "steps": T, "n": len(ds), "build_s": build, "first_batch_s": t_first, "rest_s": t_rest,
        "rest_windows": count, "wps": count / t_rest if t_rest else None, "peak_delta": peak,
        "version": pytorch_forecasting.__version__, "pandas": pd.__version__,
    }), flush=True)
    return 0


def run_pf(args: argparse.Namespace) -> dict[str, Any]:
    py = Path(args.pf_python)
    if args.skip_pf:
        return {"skipped": "--skip-pf"}
    if not py.exists():
        msg = f"pytorch-forecasting not installed ({py} missing); comparison skipped"
        print("  " + msg)
        return {"skipped": msg}
    sizes = sorted({s for s in (100, 1_000, 10_000, 100_000) if s <= args.series} | {min(args.pf_max_series,
                                                                                       args.series)})
    sizes = [s for s in sizes if s <= args.pf_max_series]
    results = []
    spent = 0.0
    for s in sizes:
        if results:
            last = results[-1]
            est = (last["build_s"] + last["first_batch_s"] + last["rest_s"]) * s / last["series"]
            if spent + est > args.pf_budget:
                print(f"  pytorch-forecasting: {s:,} series skipped (estimated {est:.0f} s > budget left "
                      f"{args.pf_budget - spent:.0f} s)")
                break
        cmd = [str(py), str(Path(__file__).resolve()), "--pf-worker", "--series", str(s), "--steps", str(args.steps),
               "--features", str(args.features), "--lookback", str(args.lookback), "--batch", str(args.batch),
               "--sample-batches", str(args.pf_sample_batches), "--seed", str(args.seed)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        spent += time.perf_counter() - t0
        line = next((ln for ln in proc.stdout.splitlines()[::-1] if ln.startswith(PF_PREFIX)), None)
        if proc.returncode or line is None:
            print(f"  pytorch-forecasting failed at {s:,} series (rc {proc.returncode}): "
                  f"{proc.stderr.strip().splitlines()[-1:] if proc.stderr else ''}")
            break
        r = json.loads(line[len(PF_PREFIX):])
        results.append(r)
        print(f"  pytorch-forecasting {r['version']} at {s:,} series x {args.steps} ({r['n']:,} windows): build "
              f"{r['build_s']:.2f} s, first batch {r['first_batch_s']:.2f} s, then {r['wps']:,.0f} windows/s, "
              f"peak RSS delta {r['peak_delta'] / MIB:,.0f} MiB", flush=True)
    return {"sizes": results}


# ----------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--series", type=int, default=100_000)
    p.add_argument("--steps", type=int, default=1_000)
    p.add_argument("--features", type=int, default=8)
    p.add_argument("--lookback", type=int, default=64)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--sample-batches", type=int, default=2_000, help="batches timed in the shuffled pass")
    p.add_argument("--skip-frame", action="store_true", help="skip the pandas DataFrame input")
    p.add_argument("--skip-pf", action="store_true", help="skip pytorch-forecasting")
    p.add_argument("--pf-python", default="/tmp/pfvenv/bin/python")
    p.add_argument("--pf-budget", type=float, default=600.0, help="seconds for all pytorch-forecasting sizes")
    p.add_argument("--pf-max-series", type=int, default=100_000)
    p.add_argument("--pf-sample-batches", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    add_competitor_args(p)
    p.add_argument("--contended", action="store_true",
                   help="only the shuffled pass over --sample-batches batches, with and without one competing busy "
                        "process, interleaved (e.g. --series 2000 --steps 500 --features 32)")
    p.add_argument("--repeats", type=int, default=3, help="repeats of the --contended study")
    p.add_argument("--pf-worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def contended(args: argparse.Namespace) -> int:
    """The sampled shuffled pass quiet and with one core busy, interleaved; see ``_contended.py``."""
    import torch  # noqa: F401  (the torch variants need it; loaded before timing)
    from _contended import study

    import seqprep

    data, codes = make_panel(args.series, args.steps, args.features, args.seed)
    w = seqprep.windows(data, args.lookback, horizon=1, target=0, group=codes)
    n_batches = min(args.sample_batches, -(-len(w) // args.batch))
    info = machine_info()
    print(f"# panel --contended: {args.series:,} series x {args.steps:,} steps x {args.features} float32, lookback "
          f"{args.lookback}, batch {args.batch}, {n_batches:,} batches per pass, {args.repeats} repeats | "
          f"{info.get('cpu')} | nproc {info['nproc']} | affinity {info.get('affinity')}", flush=True)
    out = study(w, data, args.batch, n_batches, args.repeats, f"panel {args.series:,} series", args.same_session)
    emit_result("panel-contended", {k: v for k, v in vars(args).items() if k != "pf_worker"}, out["headline"],
                stats=out["stats"], machine=info)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.pf_worker:
        return pf_worker(args)
    if args.contended:
        return contended(args)
    import torch  # noqa: F401  (library pages loaded before any RSS baseline)

    import seqprep

    S, T, F, L = args.series, args.steps, args.features, args.lookback
    info = machine_info()
    print(f"# panel benchmark: {S:,} series x {T:,} steps x {F} float32 = {S * T:,} rows "
          f"({S * T * F * 4 / MIB:,.0f} MiB), lookback {L}, horizon 1, {S * (T - L):,} windows; "
          f"sample {args.sample_batches:,} batches of {args.batch}")
    print(f"# machine: {info.get('cpu')} | nproc {info['nproc']} | RAM {info.get('ram_gib')} GiB | {info['versions']}")
    sp = run_seqprep(args)
    pf = run_pf(args)

    rows = []
    for key, label in (("array", "seqprep, numpy array + codes"), ("frame", "seqprep, DataFrame group='series'")):
        if key not in sp:
            continue
        r = sp[key]
        for g in ("torch", "numpy"):
            gather = "default" if g == "torch" else "one-thread"
            rows.append([f"{label} ({gather} gather)", f"{S:,}", f"{r['n']:,}", f"{r['build_s']:.2f}",
                         f"{r[g]['first_batch_s']:.2f}", f"{r[g]['wps']:,.0f}",
                         f"{r['n'] / r[g]['wps'] / 60:.1f}", f"{r['peak_delta'] / MIB:,.0f}"])
    for r in pf.get("sizes", []):
        rows.append([f"pytorch-forecasting {r['version']} TimeSeriesDataSet", f"{r['series']:,}", f"{r['n']:,}",
                     f"{r['build_s']:.2f}", f"{r['first_batch_s']:.2f}", f"{r['wps']:,.0f}",
                     f"{r['n'] / r['wps'] / 60:.1f}", f"{r['peak_delta'] / MIB:,.0f}"])
    print()
    print_table(["method", "series", "windows", "construction s", "first batch s", "windows/s (sample)",
                 "projected full pass min", "peak RSS delta MiB"], rows)
    print(f"\nvalues {sp['data_mib']:,.0f} MiB + codes {sp['codes_mib']:,.0f} MiB"
          + (f"; DataFrame {sp['frame']['frame_mib']:,.0f} MiB" if "frame" in sp else "")
          + ". Peak RSS delta = VmHWM (reset before construction) minus VmRSS before construction.")
    bb = args.batch * L * F * 4
    if bb < (2 << 20):
        print(f"note: a batch is {bb / 1024:.0f} KiB < 2 MiB, so seqprep's policy gathers in one thread in both "
              "'default' and 'one-thread' rows (they differ by noise only).")
    if "skipped" in pf:
        print(f"pytorch-forecasting: {pf['skipped']}")

    arr = sp["array"]
    out = [
        headline("panel construction, array + codes", round(arr["build_s"], 2), "s", "seconds, not minutes",
                 arr["build_s"] < 60),
        headline("panel peak RSS above data, array", round(arr["peak_delta"] / MIB), "MiB"),
        headline("panel windows/s (default gather), array", round(arr["torch"]["wps"]), "windows/s"),
    ]
    if "frame" in sp:
        fr = sp["frame"]
        out.append(headline("panel construction, DataFrame", round(fr["build_s"], 2), "s", "seconds, not minutes",
                            fr["build_s"] < 60))
    if pf.get("sizes"):
        big = pf["sizes"][-1]
        best = max(arr["torch"]["wps"], arr["numpy"]["wps"])
        out.append(headline(f"panel seqprep / pytorch-forecasting windows/s ({big['series']:,} series)",
                            round(best / big["wps"], 1), "x"))
        per_row_pf = big["build_s"] / (big["series"] * T)
        per_row_sp = arr["build_s"] / (S * T)
        out.append(headline("panel pytorch-forecasting / seqprep construction time per row",
                            round(per_row_pf / per_row_sp, 1), "x"))
    emit_result("panel", {k: v for k, v in vars(args).items() if k != "pf_worker"}, out, seqprep=sp, pf=pf,
                machine={**info, "versions": {**info["versions"], "seqprep": seqprep.__version__}})
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
