"""Forecasting pool of issue 16: the default ``run_forecast`` against its baselines on series of four frequencies.

Series (``<staging>``, copied from registry packages, ATTRIBUTION.md in each folder): hourly Seattle
temperature (vega-datasets, last 4000 hours), weekly Mauna Loa CO2 (statsmodels; NaN weeks dropped),
monthly airline passengers (aeon), yearly sunspots (statsmodels). Chronological 70/15/15 split, scaler
on the training rows, the library defaults (CNN-LSTM with the ridge path since issue 16). Test scores
only report: the ridge path's keep-or-drop decision is made on the validation windows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# name -> (folder/file, time column, value column, lookback, period for seasonal naive, rows kept from the end)
FORECAST_POOL: dict[str, tuple[str, str, str, int, int | None, int | None]] = {
    "hourly_seattle_temp": ("vega_seattle_temps/seattle-temps.csv", "date", "temp", 48, 24, 4000),
    "weekly_co2": ("sm_co2/co2.csv", "date", "co2", 52, 52, None),
    "monthly_airline": ("airline/Airline.csv", "Date", "Passengers", 24, 12, None),
    "yearly_sunspots": ("sm_sunspots/sunspots.csv", "YEAR", "SUNACTIVITY", 22, 11, None),
}


def load_series(staging: Path, name: str) -> tuple[pd.DataFrame, str, int, int | None]:
    path, time_col, value, lookback, period, tail = FORECAST_POOL[name]
    df = pd.read_csv(staging / path)
    df = df[[time_col, value]].dropna().reset_index(drop=True)
    df = df.rename(columns={time_col: "t", value: "y"})
    df["t"] = np.arange(len(df))  # regular steps after dropping NaN rows; the row order is the time order
    if tail is not None:
        df = df.iloc[-tail:].reset_index(drop=True)
    return df, "y", lookback, period


def run_forecast_pool(staging: Path, seeds: list[int]) -> dict[str, Any]:
    from seqprep.runs import run_forecast

    out: dict[str, Any] = {}
    for name in FORECAST_POOL:
        df, target, lookback, period = load_series(staging, name)
        runs = [run_forecast(df, target=target, time="t", lookback=lookback, period=period, seed=s, progress=False,
                             device="cpu") for s in seeds]
        model = [r.metrics["cnn_lstm"]["mae"] for r in runs]
        base = {k: v["mae"] for k, v in runs[0].metrics.items() if k != "cnn_lstm"}
        best = min(base, key=base.get)
        kept = [r.config["ridge_path"]["kept"] if r.config.get("ridge_path") else None for r in runs]
        out[name] = {"rows": len(df), "mae": model, "baselines": base, "best_baseline": best,
                     "ok": bool(np.mean(model) <= base[best] + 1e-12), "kept": kept,
                     "seconds": [r.history.seconds for r in runs]}
        print(f"| {name} | {len(df)} | {np.mean(model):.4g} ({', '.join(f'{m:.4g}' for m in model)}) | "
              + ", ".join(f"{k} {v:.4g}" for k, v in base.items()) + f" | {best} | {kept} | "
              f"{'yes' if out[name]['ok'] else 'NO'} |", flush=True)
    return out


# docs/results.md 4.12: the season `seqprep train` infers for each pool series' step (None: yearly, no season)
POOL_SEASON: dict[str, int | None] = {"hourly_seattle_temp": 24, "weekly_co2": 52, "monthly_airline": 12,
                                      "yearly_sunspots": None}


def run_lookback_rule(staging: Path, seeds: list[int]) -> dict[str, Any]:
    """4.12's rule: lookback 14 against max(14, 2 x season), as `seqprep train` would run each pool series."""
    from seqprep.runs import run_forecast

    out: dict[str, Any] = {}
    for name, season in POOL_SEASON.items():
        if season is None or 2 * season <= 14:
            continue  # both candidates are 14
        df, target, _, _ = load_series(staging, name)
        row: dict[str, Any] = {}
        for lookback in (14, 2 * season):
            runs = [run_forecast(df, target=target, time="t", lookback=lookback, period=season, seed=s,
                                 progress=False, device="cpu") for s in seeds]
            row[lookback] = {"mae": [r.metrics["cnn_lstm"]["mae"] for r in runs],
                             "baselines": {k: v["mae"] for k, v in runs[0].metrics.items() if k != "cnn_lstm"},
                             "kept": [(r.config.get("ridge_path") or {}).get("kept") for r in runs]}
        old, new = np.mean(row[14]["mae"]), np.mean(row[2 * season]["mae"])
        row["better"], row["worse_2pct"] = bool(new < old), bool(new > 1.02 * old)
        out[name] = row
        print(f"| {name} | 14: {old:.4g} ({', '.join(f'{m:.4g}' for m in row[14]['mae'])}); "
              f"best baseline {min(row[14]['baselines'].values()):.4g} | {2 * season}: {new:.4g} "
              f"({', '.join(f'{m:.4g}' for m in row[2 * season]['mae'])}); best baseline "
              f"{min(row[2 * season]['baselines'].values()):.4g} | {row[2 * season]['kept']} |", flush=True)
    wins = sum(r["better"] for r in out.values())
    out["adopt"] = bool(wins >= 2 and not any(r["worse_2pct"] for r in out.values() if isinstance(r, dict)))
    print(f"better on {wins} of {len(out) - 1}; adopt: {out['adopt']}")
    return out


def run_seasonal_rule(staging: Path, seeds: list[int]) -> dict[str, Any]:
    """4.14's rule: the default against seasonal naive in the validation decision, same session, on the pool."""
    import seqprep.runs._forecast as forecast
    from seqprep.runs import run_forecast

    out: dict[str, Any] = {}
    shipped = forecast.SEASONAL_NAIVE_IN_DECISION
    for name in FORECAST_POOL:
        df, target, lookback, period = load_series(staging, name)
        row: dict[str, Any] = {}
        for variant, flag in (("default", False), ("seasonal", True)):  # "default": the decision of 4.11
            forecast.SEASONAL_NAIVE_IN_DECISION = flag
            try:
                runs = [run_forecast(df, target=target, time="t", lookback=lookback, period=period, seed=s,
                                     progress=False, device="cpu") for s in seeds]
            finally:
                forecast.SEASONAL_NAIVE_IN_DECISION = shipped
            row[variant] = {"mae": [r.metrics["cnn_lstm"]["mae"] for r in runs],
                            "kept": [(r.config.get("ridge_path") or {}).get("kept") for r in runs],
                            "val_seasonal": [(r.config.get("ridge_path") or {}).get("val_mae_seasonal_naive")
                                             for r in runs]}
        old, new = np.mean(row["default"]["mae"]), np.mean(row["seasonal"]["mae"])
        row["worse_1pct"] = bool(new > 1.01 * old)
        out[name] = row
        print(f"| {name} | {old:.4g} ({', '.join(f'{m:.4g}' for m in row['default']['mae'])}) "
              f"{row['default']['kept']} | {new:.4g} ({', '.join(f'{m:.4g}' for m in row['seasonal']['mae'])}) "
              f"{row['seasonal']['kept']} | {'WORSE' if row['worse_1pct'] else 'ok'} |", flush=True)
    out["adopt"] = not any(r["worse_1pct"] for r in out.values() if isinstance(r, dict))
    print(f"adopt: {out['adopt']}")
    return out
