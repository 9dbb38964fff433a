"""The MiniRocket baseline of every classification run, on the twelve sets of docs/results.md 4.9.

A report, not a selection: MiniRocket runs with the paper's defaults (nothing here is tuned). Each
row is the baseline as ``seqprep train`` computes it, inside :func:`seqprep.runs.run_classification`
(the run's normalization and compute plan, every training case, the run's seed), so the network is
trained for ``--epochs`` only (1 by default: it is not the subject; pass 300 for the default run).
Reported per set and seed: MiniRocket's and 1-NN's test accuracy, the network's when it is trained,
and the CPU seconds of the MiniRocket baseline alone (features + ridge).

Usage::

    .venv/bin/python benchmarks/minirocket_baseline.py --data ../shared/data --staging ../staging/data --seeds 0 1 2
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--staging", type=Path, default=Path("../staging/data"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--sets", nargs="+", default=[*POOL_SETS, *LONG])
    ap.add_argument("--epochs", type=int, default=1, help="network epochs (1: the baseline alone matters)")
    ap.add_argument("--log", type=Path, help="append each row as a JSON line")
    args = ap.parse_args(argv)
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
