"""FUTURE_TARGET_IN_INPUT: a past input that is the target shifted from the future.

Recall on synthetic leaks (``y.shift(-s)``, exact and rescaled, s = 1 .. H) in arrays and
tables; precision on honest lags (``y.shift(+1..+3)``) and on the real sets in tests/data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from seqprep.auditing import audit, check_data

DATA = Path(__file__).resolve().parents[1] / "data"
H = 4
LOOKBACK = 24


def series(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """An AR(1) target with a daily cycle, one honest exogenous column and honest lags 1..3."""
    rng = np.random.default_rng(seed)
    e = rng.normal(size=n)
    y = np.empty(n)
    y[0] = e[0]
    for i in range(1, n):
        y[i] = 0.8 * y[i - 1] + e[i]
    y += 2 * np.sin(2 * np.pi * np.arange(n) / 24)
    df = pd.DataFrame({"y": y, "x": 0.5 * y + rng.normal(size=n)})
    for k in (1, 2, 3):
        df[f"y_lag{k}"] = df["y"].shift(k)
    return df


def windows(df: pd.DataFrame, horizons: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Windows of every column (L rows ending at e) and the target at e + h for each h."""
    df = df.dropna().reset_index(drop=True)
    values, y = df.to_numpy(np.float32), df["y"].to_numpy(np.float32)
    h_max = max(horizons)
    X = sliding_window_view(values, LOOKBACK, axis=0).transpose(0, 2, 1)[: len(df) - LOOKBACK - h_max + 1]
    ends = np.arange(LOOKBACK - 1, LOOKBACK - 1 + len(X))
    Y = np.stack([y[ends + h] for h in horizons], axis=1)
    return X, Y


def run(df: pd.DataFrame, horizons: list[int]):
    X, Y = windows(df, horizons)
    cut = int(0.8 * len(X))
    mu, sd = X[:cut].reshape(-1, X.shape[-1]).mean(0), X[:cut].reshape(-1, X.shape[-1]).std(0)
    Xs = (X - mu) / sd
    return audit(Xs[:cut], Xs[cut:], y_train=Y[:cut], y_test=Y[cut:], feature_names=list(df.columns))


@pytest.mark.parametrize("shift", range(1, H + 1))
@pytest.mark.parametrize("rescaled", [False, True])
def test_array_leak_found_for_every_shift_up_to_the_horizon(shift, rescaled):
    df = series()
    df["leak"] = df["y"].shift(-shift) * (1.8 if rescaled else 1.0) + (32.0 if rescaled else 0.0)
    report = run(df, list(range(1, H + 1)))
    f = next(f for f in report.errors if f.code == "FUTURE_TARGET_IN_INPUT")
    assert f.evidence["features"] == ["leak"]
    hit = f.evidence["leak"]
    assert hit["copied_from"] == "y" and hit["shift"] == shift  # the target column is a feature: exact shift
    assert "TARGET_IN_INPUT" not in report.codes  # one finding, not two
    assert "'leak'" in f.title and f"shift(-{shift})" in f.title


def test_array_leak_without_the_target_column_reports_the_offset():
    df = series()
    df["leak"] = df["y"].shift(-2) * 3.0 - 1.0
    X, Y = windows(df, [1, 2, 3])
    cols = [c for c in df.columns if c != "y"]
    keep = [list(df.columns).index(c) for c in cols]
    report = audit(X[:900, :, keep], X[900:, :, keep], y_train=Y[:900], y_test=Y[900:], feature_names=cols)
    f = next(f for f in report.errors if f.code == "FUTURE_TARGET_IN_INPUT")
    hit = f.evidence["leak"]  # output k has horizon k + 1: the shift is steps_from_end + k + 1
    assert hit["steps_from_end"] + hit["output"] + 1 == 2
    assert hit["copied_from"] == "y_lag1" and hit["shift"] == 3  # leak = lag 1 shifted 3 = y shifted 2


@pytest.mark.parametrize("horizons", [[1], [1, 2, 3, 4], [3]])
def test_honest_lags_never_fire(horizons):
    report = run(series(seed=3), horizons)
    assert "FUTURE_TARGET_IN_INPUT" not in report.codes
    assert "TARGET_IN_INPUT" not in report.codes


def test_off_by_one_windows_stay_target_in_input():
    df = series()[["y", "x"]]
    X, Y = windows(df, [1])
    y_inside = X[:, -1, 0]  # y taken from the last input row: no shifted column exists
    report = audit(X[:900], X[900:], y_train=y_inside[:900], y_test=y_inside[900:])
    assert "TARGET_IN_INPUT" in report.codes and "FUTURE_TARGET_IN_INPUT" not in report.codes


def test_dict_batch_audits_past_only_and_says_known_is_not_checked():
    df = series()
    X, Y = windows(df, [1, 2])
    known = np.repeat(Y[:, None, :1], LOOKBACK + 2, axis=1)  # a known block reaching the horizon
    parts = {k: {"past": X[s], "known": known[s], "past_mask": np.zeros_like(X[s], dtype=bool)}
             for k, s in (("train", slice(0, 900)), ("test", slice(900, None)))}
    report = audit(parts["train"], parts["test"], y_train=Y[:900], y_test=Y[900:], feature_names=list(df.columns))
    assert "FUTURE_TARGET_IN_INPUT" not in report.codes and "TARGET_IN_INPUT" not in report.codes
    note = next(f for f in report.findings if f.code == "NOT_CHECKED")
    assert "FUTURE_TARGET_IN_INPUT for known inputs" in note.evidence


# --- tables: check_data(target=...) ---------------------------------------------------------------------


@pytest.mark.parametrize("shift", [1, 2, 3, H, 24])
def test_table_leak_found(shift):
    df = series()
    df["leak"] = df["y"].shift(-shift) / 10 + 5
    f = next(f for f in check_data(df, target="y", nan_policy="drop").errors if f.code == "FUTURE_TARGET_IN_INPUT")
    assert f.evidence["columns"] == {"leak": shift}


def test_table_leak_inside_each_series_and_known_is_exempt():
    parts = []
    for g in range(3):
        d = series(400, seed=g)
        d["leak"] = d["y"].shift(-1)
        d["plan"] = d["y"].shift(-2)  # a "known" column: allowed to hold future values
        d["id"] = f"s{g}"
        parts.append(d)
    df = pd.concat(parts, ignore_index=True)
    report = check_data(df, target="y", group="id", nan_policy="drop", known=["plan"])
    f = next(f for f in report.errors if f.code == "FUTURE_TARGET_IN_INPUT")
    assert f.evidence["columns"] == {"leak": 1}


def test_table_honest_lags_never_fire():
    assert "FUTURE_TARGET_IN_INPUT" not in check_data(series(seed=5), target="y", nan_policy="drop").codes


REAL = [
    ("sm_co2/co2.csv", "co2"),
    ("airline/Airline.csv", "Passengers"),
    ("river_sp500/sp500.csv", "AAPL"),
    ("r_economics/economics.csv", "pop"),
    ("r_economics/economics.csv", "unemploy"),
    ("vega_seattle_temps/seattle-temps.csv", "temp"),
    ("uschange/Uschange.csv", "Consumption"),
    ("sm_nile/nile.csv", "volume"),
]


@pytest.mark.parametrize(("path", "target"), REAL)
def test_real_data_with_honest_lags_is_quiet_and_a_planted_leak_is_found(path, target):
    df = pd.read_csv(DATA / path)
    for k in (1, 2, 3):
        df[f"lag{k}"] = df[target].shift(k)
    assert "FUTURE_TARGET_IN_INPUT" not in check_data(df, target=target, nan_policy="drop").codes
    df["next"] = df[target].shift(-1)
    assert "FUTURE_TARGET_IN_INPUT" in check_data(df, target=target, nan_policy="drop").codes
