"""``seqprep train`` with its defaults on forecasting series that chose nothing: a report, not a selection.

Every default of the forecaster (lookback 14, the ridge path, early stopping, the 70/15/15 split)
was chosen on the issue-16 pool (``benchmarks/_forecast_pool.py``: hourly temperature, weekly CO2,
monthly airline, yearly sunspots) and the Seattle weather file. The series here were never used to
choose anything; they are the files a user brings: yearly (Lynx with an unnamed integer year
column, the Nile), quarterly (US consumption, Danish money), monthly (PBS scripts, seatbelts KSI,
US unemployment, shampoo sales), half-hourly (Victoria electricity demand, UK solar) and business
daily (AAPL returns). The command is the one a user types, run as a subprocess::

    seqprep train FILE [--time T] [--target Y] --seed S --device cpu --out DIR

(no ``--time``/``--target`` where the file has one date column and one numeric column: the CLI
infers them). Reported per series: the CNN-LSTM's test MAE for each seed, every baseline's, the
best baseline, and whether the run's printed verdict says so when a baseline wins. Files come from
``tests/data`` (shipped) and, for two series, from an installed aeon's data folder (``--aeon-data``;
skipped when absent).

Usage::

    .venv/bin/python benchmarks/forecast_unseen.py --seeds 0 1 2 [--aeon-data .../site-packages/aeon/datasets/data]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"

# name -> (root: "tests" (tests/data) or "aeon" (an installed aeon's data folder), file, CLI options)
SERIES: dict[str, tuple[str, str, list[str]]] = {
    "yearly_lynx": ("tests", "lynx/Lynx.csv", []),
    "yearly_nile": ("tests", "sm_nile/nile.csv", ["--time", "year", "--target", "volume"]),
    "quarterly_uschange": ("tests", "uschange/Uschange.csv", ["--target", "Consumption"]),
    "quarterly_danish_lrm": ("tests", "sm_danish_data/danish_data.csv", ["--target", "lrm"]),
    "monthly_pbs": ("tests", "pbs/PBS_dataset.csv", []),
    "monthly_seatbelts": ("tests", "seatbelts/seatbelts.csv", ["--target", "KSI"]),
    "monthly_unemploy": ("tests", "r_economics/economics.csv", ["--target", "unemploy"]),
    "monthly_shampoo": ("aeon", "ShampooSales/ShampooSales.csv", []),
    "halfhourly_elecdemand": ("tests", "fpp2_elecdemand/elecdemand.csv", ["--target", "Demand"]),
    "halfhourly_solar": ("aeon", "solar/solar.csv", []),
    "bday_aapl_returns": ("tests", "river_sp500/sp500.csv", ["--time", "date", "--target", "AAPL"]),
}


def _aeon_data(given: str | None) -> Path | None:
    """aeon's shipped data folder: given, or in the staging venv (``tools/stage_data.py``'s usage)."""
    if given:
        return Path(given)
    found = sorted((REPO.parent / "staging" / "venv" / "lib").glob("python3*/site-packages/aeon/datasets/data"))
    return found[0] if found else None


def run_one(path: Path, options: list[str], seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "seqprep", "train", str(path), *options, "--seed", str(seed),
                               "--device", "cpu", "--out", str(out)], capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if done.returncode != 0:
            return {"error": (done.stderr.strip().splitlines() or ["?"])[-1], "rc": done.returncode}
        metrics = json.loads((out / "metrics.json").read_text())
        run = json.loads((out / "run.json").read_text())
    test = metrics["test"]
    return {"mae": {k: v["mae"] for k, v in test.items()}, "verdict": metrics["verdict"]["summary"],
            "kept": (run.get("ridge_path") or {}).get("kept"), "time": run.get("time"), "target": run["target"],
            "windows": metrics["n_test_windows"], "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--aeon-data", default=None,
                    help="aeon/datasets/data of an installed aeon (default: the staging venv's, if any)")
    ap.add_argument("--series", nargs="+", default=None, choices=sorted(SERIES))
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    aeon = _aeon_data(args.aeon_data)
    results: dict[str, Any] = {}
    print("| series | test windows | CNN-LSTM test MAE, seeds (mean) | baselines | best baseline | "
          "ridge path kept | CNN-LSTM <= best | verdict says so | s/run |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.series or SERIES:
        root, file, options = SERIES[name]
        path = DATA / file if root == "tests" else (aeon / file if aeon is not None else None)
        if path is None or not path.is_file():
            print(f"| {name} | skipped: {file} not found | | | | | | | |")
            continue
        runs = [run_one(path, options, s) for s in args.seeds]
        failed = [r for r in runs if "error" in r]
        if failed:
            results[name] = {"error": failed[0]["error"]}
            print(f"| {name} | error: {failed[0]['error']} | | | | | | | |")
            continue
        model = [r["mae"]["cnn_lstm"] for r in runs]
        base = {k: v for k, v in runs[0]["mae"].items() if k != "cnn_lstm"}
        best = min(base, key=base.__getitem__)
        wins = [m <= base[best] + 1e-12 for m in model]
        # a seed the baseline beats must say so in its verdict (the baseline's name in the summary line)
        said = all(w or best.replace("_", " ") in r["verdict"] for w, r in zip(wins, runs, strict=True))
        results[name] = {"runs": runs, "baselines": base, "best": best, "model": model, "wins": wins, "said": said}
        print(f"| {name} | {runs[0]['windows']} | {', '.join(f'{m:.4g}' for m in model)} ({np.mean(model):.4g}) | "
              + ", ".join(f"{k} {v:.4g}" for k, v in base.items())
              + f" | {best} | {', '.join(str(r['kept']) for r in runs)} | {sum(wins)}/{len(wins)} | "
              f"{'yes' if said else 'NO'} | {np.mean([r['seconds'] for r in runs]):.0f} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
