"""Benchmark: what 5 static columns add to the memory of a panel's windows (issue 17).

Data: ``--series`` series (default 100,000) of ``--steps`` rows (default 50) with ``--features``
float32 past inputs (default 4; the first is the target), and ``--static`` float64 static columns
(default 5), one value per series, repeated on each of its rows in the long table as users hold
them. Windows: lookback 24, horizon 1, one window per row that has a full lookback.

Each case runs in its own subprocess (a fresh interpreter, so nothing of one case is counted in
another). The case builds the long table, builds the windows object from it, then deletes the
table and measures what stays alive: the memory the windows object holds.

- ``tracemalloc``: bytes allocated since the table was built and still alive (numpy and pandas
  allocate through it, so this is exact for seqprep and the per-row copy).
- for pytorch-forecasting, whose tensors torch allocates outside tracemalloc: the bytes of the
  tensors it stores (``dataset.data``) and of its window index (``dataset.index``).
- ``RSS``: the process's resident memory after the table is freed (``malloc_trim`` returns freed
  pages to the system), minus the resident memory after the imports.

Cases: ``seqprep`` (``seqprep.windows(df, ..., group="series")``) without and with
``static=[...]``; ``per-row copy``, a faithful reproduction of how pytorch-forecasting's
``TimeSeriesDataSet`` stores its inputs (one float32 row block per table row holding the time
varying reals AND the static reals, repeated on every row: ``data["reals"]``) without and with the
static block; and ``pytorch-forecasting`` itself (``TimeSeriesDataSet`` with ``static_reals``),
run with ``--pf-python`` (a virtual environment with pytorch-forecasting; skipped with a message
when it is missing) on ``--pf-series`` series (its preprocessing is slow; its storage is per row, so
the share it adds does not depend on the number of series).

Before issue 17's ``static=`` is in ``seqprep.windows`` the seqprep cases are skipped with a message.

Target: the seqprep case with static columns holds at most 5 % more than without them.

Usage::

    python benchmarks/covariates_memory.py                       # 100,000 series x 50 rows
    python benchmarks/covariates_memory.py --series 10000 --pf-python none
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import emit_result, fmt_mib, headline, machine_info, print_table, rss  # noqa: E402

LOOKBACK, HORIZON = 24, 1


def _trim() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _panel(series: int, steps: int, features: int, static: int, seed: int = 0) -> Any:
    """The long table: series, t, f0..f{features-1} (float32), s0..s{static-1} (float64, constant per series)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = series * steps
    cols: dict[str, Any] = {
        "series": np.repeat(np.arange(series, dtype=np.int64), steps),
        "t": np.tile(np.arange(steps, dtype=np.int64), series),
    }
    for j in range(features):
        cols[f"f{j}"] = rng.standard_normal(n, dtype=np.float32)
    for j in range(static):
        cols[f"s{j}"] = np.repeat(rng.standard_normal(series), steps)
    return pd.DataFrame(cols)


def _build(tool: str, df: Any, features: int, static: int) -> Any:
    feats = [f"f{j}" for j in range(features)]
    stat = [f"s{j}" for j in range(static)]
    if tool == "seqprep":
        import seqprep

        kwargs: dict[str, Any] = {"static": stat} if stat else {}
        return seqprep.windows(
            df, lookback=LOOKBACK, horizon=HORIZON, target="f0", features=feats, group="series", **kwargs
        )
    if tool == "per-row copy":  # pytorch-forecasting's data["reals"]: every real, static ones too, per row
        reals = np.empty((len(df), features + static), dtype=np.float32)
        for j, c in enumerate(feats + stat):
            reals[:, j] = df[c].to_numpy()
        return {
            "reals": reals,
            "groups": df["series"].to_numpy(np.int64).reshape(-1, 1).copy(),
            "time": df["t"].to_numpy(np.int64).copy(),
            "target": df["f0"].to_numpy(np.float32).copy(),
        }
    if tool == "pytorch-forecasting":
        from pytorch_forecasting import TimeSeriesDataSet

        df = df.assign(series=df["series"].astype(str))
        return TimeSeriesDataSet(
            df,
            time_idx="t",
            target="f0",
            group_ids=["series"],
            max_encoder_length=LOOKBACK,
            max_prediction_length=HORIZON,
            time_varying_unknown_reals=feats,
            static_reals=stat,
            target_normalizer=None,
            scalers={c: None for c in feats[1:] + stat},
        )
    raise ValueError(tool)


def _tensor_bytes(ds: Any) -> int:
    """The bytes of a TimeSeriesDataSet's stored tensors (``ds.data``) and of its window index."""
    def size(v: Any) -> int:
        if isinstance(v, dict):
            return sum(size(x) for x in v.values())
        if isinstance(v, (list, tuple)):
            return sum(size(x) for x in v)
        return int(v.element_size() * v.nelement()) if hasattr(v, "element_size") else 0

    return size(ds.data) + int(ds.index.memory_usage(deep=True).sum())


def run_case(tool: str, series: int, steps: int, features: int, static: int) -> dict[str, Any]:
    """One case, in this process: build the table, the object, free the table, measure."""
    if tool == "seqprep":
        import seqprep  # noqa: F401  (imported before the baseline)
    elif tool == "pytorch-forecasting":
        import pytorch_forecasting  # noqa: F401
    import pandas  # noqa: F401

    _trim()
    rss0 = rss()
    tracemalloc.start()
    df = _panel(series, steps, features, static)
    table = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    obj = _build(tool, df, features, static)
    peak = tracemalloc.get_traced_memory()[1]
    n_windows = len(obj) if tool != "per-row copy" else series * (steps - LOOKBACK - HORIZON + 1)
    del df
    _trim()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    _trim()
    held_rss = rss() - rss0
    data_bytes = _tensor_bytes(obj) if tool == "pytorch-forecasting" else held
    del obj
    return {
        "tool": tool,
        "static": static,
        "table_bytes": table,
        "held_tracemalloc": held,
        "held_rss": held_rss,
        "held_data": data_bytes,
        "peak_during_build": peak,
        "windows": int(n_windows),
    }


def _subprocess(python: str, tool: str, args: argparse.Namespace, series: int, static: int) -> dict[str, Any] | str:
    cmd = [python, __file__, "--case", tool, "--series", str(series), "--steps", str(args.steps),
           "--features", str(args.features), "--static", str(static)]
    env = dict(os.environ)
    if tool == "pytorch-forecasting":
        env.pop("PYTHONPATH", None)  # its own environment; _common.py needs numpy only
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)  # noqa: S603
    for line in proc.stdout.splitlines()[::-1]:
        if line.startswith("CASE "):
            return dict(json.loads(line[5:]))
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return " / ".join(tail) or f"exit code {proc.returncode}"


def _static_supported() -> str | None:
    """None when seqprep.windows takes static=, else why not."""
    import inspect

    import seqprep

    if "static" not in inspect.signature(seqprep.windows).parameters:
        return "seqprep.windows has no `static=` argument yet (issue 17's roles have not landed): seqprep cases skipped"
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--series", type=int, default=100_000)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--features", type=int, default=4)
    p.add_argument("--static", type=int, default=5)
    p.add_argument("--pf-python", default="/work/staging/pfvenv/bin/python",
                   help="Python of an environment with pytorch-forecasting ('none' to skip it).")
    p.add_argument("--pf-series", type=int, default=20_000)
    p.add_argument("--timeout", type=int, default=1800)
    p.add_argument("--case", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.case:
        out = run_case(args.case, args.series, args.steps, args.features, args.static)
        print("CASE " + json.dumps(out))
        return

    plan: list[tuple[str, str, int]] = [(sys.executable, "per-row copy", args.series)]
    notes: list[str] = []
    why = _static_supported()
    if why is None:
        plan.insert(0, (sys.executable, "seqprep", args.series))
    else:
        notes.append(why)
    if args.pf_python != "none" and Path(args.pf_python).exists():
        plan.append((args.pf_python, "pytorch-forecasting", args.pf_series))
    else:
        notes.append(f"pytorch-forecasting skipped: no Python at {args.pf_python!r} (--pf-python)")

    results: dict[str, dict[int, dict[str, Any]]] = {}
    for python, tool, series in plan:
        for static in (0, args.static):
            r = _subprocess(python, tool, args, series, static)
            if isinstance(r, str):
                notes.append(f"{tool} with {static} static column(s) failed: {r}")
                continue
            results.setdefault(tool, {})[static] = r

    rows, heads = [], []
    for tool, by in results.items():
        if 0 not in by or args.static not in by:
            continue
        a, b = by[0], by[args.static]
        use = "held_data" if tool == "pytorch-forecasting" else "held_tracemalloc"
        added = (b[use] - a[use]) / a[use]
        series = args.pf_series if tool == "pytorch-forecasting" else args.series
        rows.append([tool, f"{series:,}", f"{a['windows']:,}", fmt_mib(a[use]), fmt_mib(b[use]), f"{added:+.1%}",
                     fmt_mib(a["held_rss"]), fmt_mib(b["held_rss"]),
                     "tensor bytes" if use == "held_data" else "tracemalloc"])
        target = "<= 5%" if tool == "seqprep" else None
        heads.append(headline(f"{tool}: memory added by {args.static} static columns", round(100 * added, 2), "%",
                              target, (added <= 0.05) if tool == "seqprep" else None))
    print(f"panel: {args.series:,} series x {args.steps} rows, {args.features} float32 features, "
          f"{args.static} float64 static columns; lookback {LOOKBACK}, horizon {HORIZON}")
    print_table(["tool", "series", "windows", "held, no static", f"held, {args.static} static", "added",
                 "RSS no static", f"RSS {args.static} static", "measured by"], rows)
    for n in notes:
        print("note:", n)
    emit_result("covariates_memory", vars(args) | {"lookback": LOOKBACK, "horizon": HORIZON}, heads,
                cases=results, notes=notes, machine=machine_info())


if __name__ == "__main__":
    main()
