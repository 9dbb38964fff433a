"""The MiniRocket baseline of every classification run, on the twelve sets of docs/results.md 4.9.

A report, not a selection: MiniRocket runs with the paper's defaults (nothing here is tuned). Each
row is the baseline as ``seqprep train`` computes it, inside :func:`seqprep.runs.run_classification`
(the run's normalization and compute plan, every training case, the run's seed), so the network is
trained for ``--epochs`` only (1 by default: it is not the subject; pass 300 for the default run).
Reported per set and seed: MiniRocket's and 1-NN's test accuracy, the network's when it is trained,
and the CPU seconds of the MiniRocket baseline alone (features + ridge).

``--contended`` times the baseline alone on random cases (``--cases`` training cases of 128 steps, 500
test cases), quiet and beside one competing busy process (interleaved repetitions), with BLAS as
shipped (one thread around the ridge) and with BLAS's own default (two threads here).

Usage::

    .venv/bin/python benchmarks/minirocket_baseline.py --data ../shared/data --staging ../staging/data --seeds 0 1 2
    .venv/bin/python benchmarks/minirocket_baseline.py --contended [--cases 3000 --repeats 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _long import load_long_set  # noqa: E402
from _pool import POOL_SETS, load_pool_set  # noqa: E402

LONG = ("PLAID", "ACSF1", "OSULeaf", "PigCVP")


def _one(name: str, data: Path, staging: Path, seed: int, epochs: int) -> dict[str, Any]:
    from seqprep.runs import run_classification
    from seqprep.training import baselines

    parts = load_long_set(name, staging) if name in LONG else load_pool_set(name, data, staging)
    Xtr, ytr, Xte, yte = parts
    timed: dict[str, float] = {}
    original = baselines.minirocket_classifier

    def clocked(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        out = original(*args, **kwargs)
        timed["cpu_s"] = time.process_time() - start
        return out

    baselines.minirocket_classifier = clocked  # the run imports it from this module when it scores
    try:
        res = run_classification((Xtr, ytr), (Xte, yte), seed=seed, progress=False, device="cpu", threads=1,
                                 train_config={"epochs": epochs})
    finally:
        baselines.minirocket_classifier = original
    acc = {k: v["accuracy"] for k, v in res.metrics.items()}
    return {"set": name, "seed": seed, "n_train": len(ytr), "length": int(Xtr.shape[1]),
            "normalization": res.config["normalization"], "factor": res.config["compute_plan"]["factor"],
            "minirocket": acc.get("minirocket"), "nearest_neighbour_1": acc["nearest_neighbour_1"],
            "cnn_lstm": acc["cnn_lstm"] if epochs >= 300 else None, "minirocket_cpu_s": timed.get("cpu_s")}


def contended(n: int, repeats: int) -> None:
    """Seconds of the baseline quiet and beside a busy process: shipped (one BLAS thread) and BLAS's default."""
    from _common import Competitor, conditions, load1

    from seqprep import _threads
    from seqprep.training.baselines import minirocket_classifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n + 500, 128, 1)).astype(np.float32)
    y = rng.integers(0, 5, n + 500)
    shipped = _threads.one_blas_thread
    times: dict[tuple[str, str], list[float]] = {}
    with Competitor() as busy:
        for rep in range(repeats):
            for cond in conditions(rep):
                busy.set(cond == "contended")
                for variant in ("shipped", "blas-default"):
                    # the other variant: BLAS left at its own thread count (the context manager does nothing)
                    _threads.one_blas_thread = shipped if variant == "shipped" else _no_limit
                    import seqprep.rocket._minirocket as core

                    core.one_blas_thread = _threads.one_blas_thread
                    start = time.perf_counter()
                    minirocket_classifier(X[:n], y[:n], X[n:])
                    seconds = time.perf_counter() - start
                    times.setdefault((variant, cond), []).append(seconds)
                    print(f"rep {rep} {cond:9s} {variant:12s} {seconds:6.1f} s  load {load1()}", flush=True)
    _threads.one_blas_thread = shipped
    core.one_blas_thread = shipped
    for variant in ("shipped", "blas-default"):
        quiet, busy_s = np.median(times[(variant, "quiet")]), np.median(times[(variant, "contended")])
        print(f"{variant:12s} quiet {quiet:6.1f} s  busy {busy_s:6.1f} s  ratio {busy_s / quiet:.2f}")


def _no_limit() -> Any:
    from contextlib import nullcontext

    return nullcontext()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--staging", type=Path, default=Path("../staging/data"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--sets", nargs="+", default=[*POOL_SETS, *LONG])
    ap.add_argument("--epochs", type=int, default=1, help="network epochs (1: the baseline alone matters)")
    ap.add_argument("--log", type=Path, help="append each row as a JSON line")
    ap.add_argument("--contended", action="store_true", help="time the baseline quiet and beside a busy process")
    ap.add_argument("--cases", type=int, default=3000, help="training cases of the --contended study")
    ap.add_argument("--repeats", type=int, default=2, help="repetitions of the --contended study")
    args = ap.parse_args(argv)
    if args.contended:
        contended(args.cases, args.repeats)
        return 0
    rows = []
    for name in args.sets:
        for seed in args.seeds:
            row = _one(name, args.data, args.staging, seed, args.epochs)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.log:
                with args.log.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
    print(f"\n{'set':24s} {'MiniRocket (seeds)':>26s} {'mean':>6s} {'1-NN':>6s} {'CPU s':>6s}")
    for name in args.sets:
        rs = [r for r in rows if r["set"] == name]
        mr = [r["minirocket"] for r in rs]
        print(f"{name:24s} {' / '.join(f'{a:.3f}' for a in mr):>26s} {np.mean(mr):6.3f} "
              f"{rs[0]['nearest_neighbour_1']:6.3f} {max(r['minirocket_cpu_s'] for r in rs):6.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
