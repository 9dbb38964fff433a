"""The steps of a forecasting run, in the order :func:`~seqprep.runs.run_forecast` takes them.

1. :func:`check_columns` and :func:`select_inputs`: the columns exist and are numeric. (The data
   check that follows lives in :mod:`seqprep.runs._data_check`.)
2. :func:`fit_split`: the leak-free :class:`~seqprep.Pipeline` (chronological split, scaler fit on
   training rows); :func:`scaler_summary` describes the scaler, :func:`window_arrays` materializes
   the windows.
3. :func:`train_forecaster`: the CNN-LSTM, early-stopped on the validation windows.
4. :func:`predict_with_baselines`: the model and every baseline on the same test windows, in
   original units; :func:`prediction_table` lays them out one row per window.
5. :func:`forecast_config` and :func:`write_forecast_run`: run.json and the run directory.

Every statistic (scaler, ridge baseline) comes from the training rows only. With
``scale_per="series"`` the scaler holds one set of statistics per series (each from that series'
training rows), so every un-scaling passes the windows the values belong to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._validation import check_choice, list_names, param_error
from ..exceptions import DataError
from ..io import index_columns
from ._model import fit_model
from ._run_dir import run_header, write_json, write_report, write_run

if TYPE_CHECKING:
    from ._result import RunResult

__all__: list[str] = []  # internal module: served by seqprep.runs

#: The three parts' windows as arrays: ``{"train": (X, y), "val": (X, y), "test": (X, y)}``.
Arrays = dict[str, tuple[np.ndarray, np.ndarray]]

#: The ``scale_per`` values of a forecasting run (``Pipeline(scale_per=...)``'s row statistics).
SCALE_PER = ("feature", "series")


@dataclass(frozen=True)
class ForecastSpec:
    """The checked arguments of :func:`~seqprep.runs.run_forecast` that shape the data and the baselines.

    One object instead of a dozen arguments passed from step to step; ``inputs`` are the input
    columns, de-duplicated in their given order.
    """

    target: str
    time: str | None
    group: str | None
    inputs: list[str]
    lookback: int
    horizon: int
    split: Any
    gap: Any
    scaler: Any
    derived: Sequence[Any]
    seed: int
    period: int | None
    nan_policy: str = "raise"
    allow_gaps: bool = False
    scale_per: str = "feature"


# ============================================================================ 1. columns
def check_columns(df: pd.DataFrame, target: Any, named: Sequence[Any]) -> None:
    """Refuse a target that is not one numeric column, and any named column the data lacks."""
    if not isinstance(target, str):
        raise param_error("target", "one column name", target, 'E.g. target="temp_max".')
    missing = [c for c in [target, *named] if c is not None and c not in df.columns]
    if missing:
        raise DataError(
            f"column(s) {list_names(missing)} are not in the data. Columns: {list_names(df.columns)}."
        )
    if not pd.api.types.is_numeric_dtype(df[target]):
        sample = [str(v) for v in df[target].dropna().head(3)]
        # numbers written with thousands separators ('1,234') or units ('12 kg') read as text
        hint = (" They look like numbers written as text (thousands separators, units or quotes): read the file "
                "with pandas.read_csv(..., thousands=',') or clean the column, and pass the DataFrame."
                if sample and all(any(ch.isdigit() for ch in v) for v in sample) else "")
        raise DataError(
            f"the target column {target!r} is not numeric (dtype {df[target].dtype}; first values: "
            f"{', '.join(repr(v) for v in sample)}); a forecast needs numbers.{hint} Otherwise pick a numeric "
            "target, or use classification."
        )


def select_inputs(
    df: pd.DataFrame, features: Sequence[str] | None, time: str | None, group: str | None
) -> list[str]:
    """The input columns: ``features`` (default: every numeric column but time/group), numeric, de-duplicated.

    By default a row index written to the file (:func:`seqprep.io.index_columns`: ``Unnamed: 0``,
    a column equal to ``0..n-1``) is never an input; the data check says so.
    """
    if features is None:
        skip = {time, group, *index_columns(df, [time, group])}
        features = [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]
    features = list(features)
    bad = [c for c in features if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise DataError(f"feature column(s) {list_names(bad)} are not numeric. Encode them or leave them out.")
    return list(dict.fromkeys(features))


def check_scale_per(scale_per: Any, group: str | None) -> str:
    """Check a forecasting run's ``scale_per``: ``"feature"``, or ``"series"`` with a group column.

    The per-window choices of :class:`~seqprep.Pipeline` (``"window"``, ``"sample"``) are refused:
    the run's baselines, ridge path and saved predictions un-scale with statistics of the training
    rows. ``"series"`` without a group is refused too: there is one series, whose statistics are
    those of ``"feature"``, so the setting would do nothing (a forgotten ``group`` more likely).

    >>> check_scale_per("series", "shop")
    'series'
    >>> check_scale_per("series", None)
    Traceback (most recent call last):
    ...
    seqprep.exceptions.InvalidParameterError: `scale_per` must be 'feature' when the data has no group column. ...
    """
    if isinstance(scale_per, str) and scale_per in ("window", "sample"):
        raise param_error(
            "scale_per", "'feature' or 'series' in a forecasting run", scale_per,
            "Per-window scaling is a seqprep.Pipeline option; a run's baselines and saved predictions un-scale "
            "with the training rows' statistics. Use scale_per='series' for one set of statistics per series.",
        )
    check_choice(scale_per, "scale_per", SCALE_PER,
                 "Use 'feature' (one set of statistics for all series) or 'series' (each series its own).")
    if scale_per == "series" and group is None:
        raise param_error(
            "scale_per", "'feature' when the data has no group column", scale_per,
            "Per-series statistics need a series key: pass group='<column>' (seqprep train --group), or use "
            "scale_per='feature' (with one series it gives the same statistics).",
        )
    return str(scale_per)


# ============================================================================ 2. pipeline
def fit_split(df: pd.DataFrame, spec: ForecastSpec) -> tuple[Any, Any, dict[str, Any]]:
    """Fit the run's Pipeline on ``df``; returns (pipeline, its split, the ``"split"`` step's summary).

    Data too short for one window, or a part left without windows, is refused here with a fix,
    before any training; so is, with ``spec.scale_per="series"``, a series without training rows.
    """
    from ..pipeline import Pipeline

    n_rows = len(df) if spec.group is None else int(df.groupby(spec.group).size().max())
    if spec.lookback + spec.horizon > n_rows:
        raise DataError(
            f"lookback={spec.lookback} plus horizon={spec.horizon} needs at least {spec.lookback + spec.horizon} "
            f"rows per series, but the longest series has {n_rows}. Use a shorter lookback or more data."
        )
    pipe = Pipeline(
        spec.lookback, spec.horizon, target=spec.target, features=spec.inputs, time=spec.time, group=spec.group,
        split=spec.split, gap=spec.gap, scaler=spec.scaler, scale_per=spec.scale_per, derived=spec.derived,
        seed=spec.seed, nan_policy=spec.nan_policy, allow_gaps=spec.allow_gaps,
    )
    parts = pipe.fit(df)
    for name in ("train", "val", "test"):
        if name not in parts.parts or len(parts[name]) == 0:
            raise DataError(
                f"the {name!r} part has no window. Use more data, a shorter lookback or other split fractions."
            )
    row_info = {name: {"rows": int((rr[:, 1] - rr[:, 0]).sum())} for name, rr in parts.row_ranges.items()}
    split_info = {"describe": parts.describe(), "rows": row_info, "gap": parts.gap, "context": parts.context,
                  "time_axis": time_axis_info(parts)}
    return pipe, parts, split_info


def time_axis_info(parts: Any) -> dict[str, Any]:
    """The fitted time axis for run.json and the report: kind, frequency (pandas alias and words), zone, gaps."""
    report = next(iter(parts.parts.values())).series_data.report if parts.parts else {}
    return {k: report.get(k) for k in ("time_kind", "freq", "frequency", "timezone", "gaps", "missing_steps")
            if report.get(k) is not None}


def scaler_summary(pipe: Any, parts: Any, scaler: Any) -> dict[str, Any]:
    """The ``"scaler"`` step's summary: its kind, its training statistics when it has a mean, the rows it saw.

    With ``scale_per="series"``: ``n_series`` and, per column, the smallest, median and largest of
    the series' centres (``series_center``) and scales (``series_scale``).
    """
    schema = pipe.schema_
    scaler_info: dict[str, Any] = {"kind": scaler if isinstance(scaler, str) else type(scaler).__name__,
                                   "scale_per": pipe.scale_per}
    sc = pipe.scaler_
    if pipe.scale_per == "series":
        seen = np.asarray(sc.series_counts_) > 0
        scaler_info["n_series"] = int(seen.sum())
        for key, stat in (("series_center", sc.center_), ("series_scale", sc.scale_)):
            values = np.asarray(stat, dtype=float)[seen]
            scaler_info[key] = {c: [float(values[:, j].min()), float(np.median(values[:, j])),
                                    float(values[:, j].max())] for j, c in enumerate(schema["columns"])}
    elif hasattr(sc, "mean_") and getattr(sc, "mean_", None) is not None:
        scaler_info["mean"] = dict(zip(schema["columns"], np.asarray(sc.mean_, dtype=float).tolist(), strict=False))
        scaler_info["std"] = dict(zip(schema["columns"], np.asarray(sc.scale_, dtype=float).tolist(), strict=False))
    train_mask = parts.train_rows("train")
    scaler_info["train_rows"] = int(train_mask.sum())
    scaler_info["all_rows"] = int(train_mask.size)
    return scaler_info


def window_arrays(parts: Any, inputs: Sequence[str]) -> tuple[Arrays, dict[str, Any]]:
    """The three parts' windows as arrays, and the ``"windows"`` step's summary of their shapes.

    The baselines need arrays; ``to_numpy()`` checks the size against the available memory first.
    """
    X_tr, y_tr = parts.train.to_numpy()
    X_va, y_va = parts.val.to_numpy()
    X_te, y_te = parts.test.to_numpy()
    windows_info = {
        "train": (X_tr.shape, y_tr.shape), "val": (X_va.shape, y_va.shape), "test": (X_te.shape, y_te.shape),
        "inputs": list(inputs),
    }
    return {"train": (X_tr, y_tr), "val": (X_va, y_va), "test": (X_te, y_te)}, windows_info


# ============================================================================ 3. training
def step_alias(df: pd.DataFrame, time: str | None, group: str | None) -> str | None:
    """The pandas alias of the time axis's step (``"h"``, ``"MS"``, ...), read as training reads it.

    ``time=None`` reads a DatetimeIndex (or PeriodIndex), as the pipeline does. None without a time
    axis, for numeric axes, for rows that go back in time within a series (the pipeline refuses those
    later, in its own words) or when no step dominates.

    Examples
    --------
    >>> import pandas as pd
    >>> step_alias(pd.DataFrame({"t": pd.date_range("2020-01-01", periods=30, freq="h")}), "t", None)
    'h'
    """
    from ..timeaxis import infer_frequency, parse_time

    if time is None and isinstance(df.index, (pd.DatetimeIndex, pd.PeriodIndex)):
        column: Any = pd.Series(df.index)  # the index is the time axis (a Parquet file saved with it)
    elif time is None or time not in df.columns:
        return None
    else:
        column = df[time]
    try:
        tv, info = parse_time(column, str(time))
    except DataError:
        return None
    if info["kind"] == "number" or len(tv) < 3:
        return None
    keys = df[group].to_numpy() if group is not None and group in df.columns else np.zeros(len(df))
    order = np.lexsort((tv, keys)) if group is not None else np.argsort(tv, kind="stable")
    tv, keys = tv[order], keys[order]
    freq = infer_frequency(tv, keys[1:] == keys[:-1], info["tz"])
    return None if freq is None else str(freq.name)


def auto_lookback(freq: str | None) -> int:
    """``seqprep train``'s lookback without ``--lookback``: two seasons of the step, at least 14 (docs/results.md 4.12).

    Examples
    --------
    >>> [auto_lookback(f) for f in ("h", "30min", "D", "W-SUN", "MS", "QS-JAN", "YS-JAN", None)]
    [48, 96, 14, 104, 24, 14, 14, 14]
    """
    season = seasonal_period(freq)
    return max(14, 2 * season) if season else 14


def seasonal_period(freq: Any) -> int | None:
    """Rows per season for the seasonal-naive baseline, from a calendar step (a pandas alias).

    The seasons of the Monash forecasting archive (Godahewa et al. 2021): a day for steps under a
    day (24 hourly, 48 half-hourly, 1440 minutely), a week for daily steps (7; 5 business days),
    a year for weekly (52), monthly (12) and quarterly (4) steps, a multiple counted in (``2MS``:
    6). None for yearly or coarser steps, numeric time axes (no calendar) and steps that do not
    divide their season.

    Examples
    --------
    >>> [seasonal_period(f) for f in ("h", "30min", "D", "B", "W-SUN", "MS", "QS-JAN", "YS-JAN", None)]
    [24, 48, 7, 5, 52, 12, 4, None, None]
    """
    if not isinstance(freq, str) or not freq:
        return None
    from pandas.tseries.frequencies import to_offset

    try:
        offset = to_offset(freq)
    except (ValueError, TypeError):
        return None
    n = max(int(offset.n), 1)
    name = type(offset).__name__
    per_year = {"MonthBegin": 12, "MonthEnd": 12, "QuarterBegin": 4, "QuarterEnd": 4, "Week": 52}
    per_week = {"Day": 7, "BusinessDay": 5}
    if name in per_year:
        season = per_year[name]
    elif name in per_week:
        season = per_week[name]
    elif name in ("Hour", "Minute", "Second", "Milli", "Micro", "Nano"):  # fixed steps under a day
        nanos = int(offset.nanos)  # n is already inside
        day = 86_400 * 10**9
        return day // nanos if 0 < nanos < day and day % nanos == 0 else None
    else:
        return None
    return season // n if season % n == 0 and season // n > 1 else None


RIDGE_ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0)


def train_forecaster(
    spec: ForecastSpec, inputs: Sequence[str], arrays: Arrays, model_config: dict[str, Any],
    train_config: dict[str, Any], progress: bool, device: Any,
) -> tuple[Any, Any, list[Any], dict[str, Any] | None]:
    """Train the CNN-LSTM (or ensemble) on the training windows, early-stopped on the validation windows.

    When the target is an input and ``model_config`` sets no ``skip_index``, the model gets a
    persistence skip on the target's column, as the chosen default configuration has (see
    :data:`~seqprep.runs.DEFAULT_MODEL_CONFIG`).

    ``model_config["ridge_path"]`` (default True, single networks): a linear path beside the network
    that starts as the closed-form ridge fit on the training windows (alpha picked on the validation
    windows) and stays fixed, with the network's head zeroed, so the network learns the ridge's
    residual. Afterwards the validation windows decide among the models it contains, simplest first:
    persistence (when the target is an input: path and head zeroed, the skip alone), seasonal naive
    (when the run has a period the window reaches: the path picks the season's value, head zeroed;
    :data:`SEASONAL_NAIVE_IN_DECISION`), the ridge (head zeroed) and ridge + network; the lowest
    validation MAE wins, a tie keeps the simpler one.
    The decision compares MAEs in scaled units (``"units"``: ``"scaled"``, or ``"scaled per series"``
    with ``scale_per="series"``: each series in units of its own training statistics, so every
    series weighs alike). Returns what :func:`fit_model` returns, plus that decision (None without a
    ridge path).
    """
    model_config = dict(model_config)
    ridge_path = bool(model_config.pop("ridge_path", False)) and model_config.get("members") is None
    own = list(inputs).index(spec.target) if spec.target in inputs else None
    given = model_config.get("skip_index")
    if given is not None and given != own:
        raise param_error(
            "skip_index", f"the target's input column ({own} for {spec.target!r})" if own is not None else
            "None (the target is not an input)", given,
            "The persistence skip adds the target's last input value: remove skip_index from [model], the run sets it.",
        )
    if "skip_index" not in model_config and own is not None:
        model_config = {**model_config, "skip_index": own}
    (X_tr, y_tr), (X_va, y_va) = arrays["train"], arrays["val"]
    if not ridge_path:
        return (*fit_model(X_tr.shape[2], 1, "regression", spec.lookback, model_config, spec.seed,
                           (X_tr, y_tr), (X_va, y_va), progress, train_config, device), None)
    model_config["linear_path"] = True
    coef, intercept, alpha, ridge_val = _ridge_on_val(X_tr, y_tr, X_va, y_va, model_config.get("skip_index"))

    def init(model: Any) -> None:
        import torch

        with torch.no_grad():
            model.linear.weight.copy_(torch.as_tensor(coef, dtype=model.linear.weight.dtype).reshape(1, -1))
            model.linear.bias.fill_(float(intercept))
            model.head.weight.zero_()
            model.head.bias.zero_()
        model.linear.weight.requires_grad_(False)  # the ridge stays as fitted; the network fits its residual
        model.linear.bias.requires_grad_(False)

    model, result, members = fit_model(X_tr.shape[2], 1, "regression", spec.lookback, model_config, spec.seed,
                                       (X_tr, y_tr), (X_va, y_va), progress, train_config, device, init=init)
    model.linear.requires_grad_(True)
    from ..training import predict

    net_val = float(np.mean(np.abs(predict(model, X_va, device="cpu").reshape(-1) - y_va.reshape(-1))))
    skip = model_config.get("skip_index")
    # Validation decides among the models the trained one contains, simplest first (a tie keeps the
    # simpler): persistence (the skip alone: path and head zero), the ridge (head zero), ridge + network.
    # Persistence is a candidate because on a random-walk-like series neither fit beats it (docs/results.md 4.11).
    candidates: list[tuple[str, float]] = []
    back = _seasonal_back(spec) if skip is not None and SEASONAL_NAIVE_IN_DECISION else None
    if skip is not None:
        from ..training.baselines import persistence, seasonal_naive

        last = np.asarray(persistence(X_va, skip), dtype=np.float64).reshape(-1)
        candidates.append(("persistence", float(np.mean(np.abs(last - y_va.reshape(-1))))))
        if back is not None:  # docs/results.md 4.14: the season's value, also a model the trained one contains
            season = np.asarray(seasonal_naive(X_va, skip, int(spec.period or 0), spec.horizon), dtype=np.float64)
            candidates.append(("seasonal naive", float(np.mean(np.abs(season.reshape(-1) - y_va.reshape(-1))))))
    candidates += [("ridge", ridge_val), ("network+ridge", net_val)]
    kept = min(candidates, key=lambda c: c[1])[0]  # min keeps the first of equal values: the simplest
    if kept != "network+ridge":
        import torch

        with torch.no_grad():
            model.head.weight.zero_()
            model.head.bias.zero_()
            if kept in ("persistence", "seasonal naive"):
                model.linear.weight.zero_()
                model.linear.bias.zero_()
            if kept == "seasonal naive":  # + the value `back` steps before the last one, - the last (the skip adds it)
                width = X_va.shape[2]
                model.linear.weight[0, (spec.lookback - 1 - int(back or 0)) * width + skip] = 1.0
                model.linear.weight[0, (spec.lookback - 1) * width + skip] = -1.0
    decision = {"alpha": alpha, "val_mae_ridge": ridge_val, "val_mae_network_plus_ridge": net_val, "kept": kept,
                "units": "scaled per series" if spec.scale_per == "series" else "scaled"}
    maes = dict(candidates)
    if "persistence" in maes:
        decision["val_mae_persistence"] = maes["persistence"]
    if "seasonal naive" in maes:
        decision["val_mae_seasonal_naive"] = maes["seasonal naive"]
    return model, result, members, decision


#: docs/results.md 4.14: seasonal naive is a candidate of the validation decision (its rule adopted it: the
#: pool's test MAEs were unchanged). False restores the decision of 4.11.
SEASONAL_NAIVE_IN_DECISION = True


def _seasonal_back(spec: ForecastSpec) -> int | None:
    """Steps between the last input row and the season's value for the target, when the window holds it.

    With period ``P`` and horizon ``h`` the value is ``k * P - h`` rows before the last input row,
    ``k = ceil(h / P)`` (as :func:`~seqprep.training.baselines.seasonal_naive`); None without a period,
    when it is the last row itself (seasonal naive is then persistence) or when the window is too short.
    """
    if not spec.period or spec.period < 1:
        return None
    back = -(-spec.horizon // spec.period) * spec.period - spec.horizon
    return back if 0 < back <= spec.lookback - 1 else None


def _ridge_on_val(
    X_tr: np.ndarray, y_tr: np.ndarray, X_va: np.ndarray, y_va: np.ndarray, skip: int | None
) -> tuple[np.ndarray, float, float, float]:
    """Closed-form ridge on the training windows (on the change from the last value when *skip* is set).

    Returns ``(coef, intercept, alpha, val_mae)`` for the alpha of :data:`RIDGE_ALPHAS` with the lowest
    validation MAE (scaled units); the coefficients are on the flattened ``(lookback, n_features)`` window.
    """
    from ..training.baselines import RidgeBaseline

    base_tr = X_tr[:, -1, skip].astype(np.float64) if skip is not None else 0.0
    base_va = X_va[:, -1, skip].astype(np.float64) if skip is not None else 0.0
    y_fit = y_tr.reshape(-1).astype(np.float64) - base_tr
    fits = []
    for alpha in RIDGE_ALPHAS:
        ridge = RidgeBaseline(alpha=alpha).fit(X_tr.astype(np.float64), y_fit)
        mae = float(np.mean(np.abs(ridge.predict(X_va.astype(np.float64)) + base_va - y_va.reshape(-1))))
        fits.append((mae, alpha, ridge))
    mae, alpha, ridge = min(fits, key=lambda f: f[0])  # the first of equal MAEs: the smallest alpha
    return np.asarray(ridge.coef_, dtype=np.float64).reshape(-1), float(ridge.intercept_), alpha, mae


# ============================================================================ 4. test predictions
def predict_with_baselines(
    model: Any, pipe: Any, parts: Any, arrays: Arrays, spec: ForecastSpec
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, str]]:
    """Un-scaled test truth and predictions of the model and every baseline, plus why a baseline was skipped.

    Returns ``(y_true, preds, skipped)``; ``preds`` keeps the order cnn_lstm, persistence,
    seasonal_naive, ridge (the order of the metrics and of the prediction table's columns).
    Every array is un-scaled with the test windows, so that ``scale_per="series"`` puts each
    window back in its own series' units.
    """
    from ..training import predict
    from ..training.baselines import RidgeBaseline, persistence

    (X_tr, y_tr), (X_te, y_te) = arrays["train"], arrays["test"]

    def unscale(values: Any) -> np.ndarray:
        return np.asarray(pipe.inverse_target(values, windows=parts.test)).reshape(-1)

    y_true = unscale(y_te)
    preds: dict[str, np.ndarray] = {"cnn_lstm": unscale(predict(model, X_te, device="cpu"))}
    skipped: dict[str, str] = {}
    inputs_fit = list(pipe.schema_["inputs"])
    if spec.target in inputs_fit:
        t_idx = inputs_fit.index(spec.target)
        preds["persistence"] = unscale(persistence(X_te, t_idx))
        if spec.period is not None:
            season = _seasonal_naive(pipe, parts.test, X_te, t_idx, spec, spec.period)
            if season is not None:
                preds["seasonal_naive"] = unscale(season)
            else:
                skipped["seasonal_naive"] = (
                    f"the test targets have no value one period ({spec.period} rows) earlier"
                )
    else:
        skipped["persistence"] = f"the target {spec.target!r} is not an input"
    ridge = RidgeBaseline(alpha=1.0).fit(X_tr.astype(np.float64), y_tr.astype(np.float64).reshape(-1))
    preds["ridge"] = unscale(ridge.predict(X_te.astype(np.float64)))
    return y_true, preds, skipped


def window_series_codes(pipe: Any, windows: Any) -> np.ndarray | None:
    """Each window's row in the pipeline's per-series statistics (``scale_per="series"``; None otherwise).

    Saved beside the test windows (``test_windows.npz``: ``series_code``) so that a saved run can
    un-scale its re-scored predictions without the data.
    """
    if pipe.scale_per != "series":
        return None
    from ..pipeline import fitted_series_codes

    sd = windows.series_data
    per_window = np.searchsorted(sd.bounds, np.asarray(windows.starts), side="right") - 1
    return fitted_series_codes(pipe.schema_, sd.keys)[per_window]


def _seasonal_naive(
    pipe: Any, test: Any, X_te: np.ndarray, t_idx: int, spec: ForecastSpec, period: int
) -> np.ndarray | None:
    """Scaled seasonal-naive forecasts: from the window when it reaches a season back, else from the series.

    Both read the target's own series, scaled as the target is (with ``scale_per="series"``, by that
    series' statistics), so the caller un-scales them with the test windows. None when some test
    target has no row one season earlier.
    """
    from ..training.baselines import seasonal_naive

    need = math.ceil(spec.horizon / period) * period - spec.horizon + 1
    if spec.lookback >= need:
        return seasonal_naive(X_te, t_idx, period, spec.horizon)
    return _seasonal_from_history(test, pipe.schema_["columns"].index(spec.target), period)


def _seasonal_from_history(windows: Any, column: int, period: int) -> np.ndarray | None:
    """Seasonal naive from the series itself: the target column ``period`` rows before each target.

    The window may be shorter than a season; the value one season back is still the past at prediction
    time, so reading it from the (scaled) series rows is leak-free. None when a target has no such row.
    """
    prov = windows.provenance()
    sd = windows.series_data
    series = np.searchsorted(sd.bounds, np.asarray(windows.starts), side="right") - 1
    back = prov["target_row"].to_numpy() - period
    if (back < 0).any():
        return None
    return np.asarray(sd.values[sd.bounds[series] + back, column], dtype=np.float64)


def prediction_table(
    test: Any, grouped: bool, y_true: np.ndarray, preds: dict[str, np.ndarray]
) -> pd.DataFrame:
    """One row per test window: its series, its times (or row numbers), the truth and every prediction."""
    prov = test.provenance()
    table = pd.DataFrame({"series": prov["series"]}) if grouped else pd.DataFrame(index=prov.index)
    if "end_time" in prov:
        table["end_time"] = prov["end_time"].to_numpy()
        table["target_time"] = prov["target_time"].to_numpy()
    else:
        table["end_row"] = prov["end"].to_numpy()
        table["target_row"] = prov["target_row"].to_numpy()
    table["y_true"] = y_true
    for name, p in preds.items():
        table[name] = p
    return table


# ============================================================================ 5. run.json and the run directory
def forecast_config(
    spec: ForecastSpec, pipe: Any, model: Any, train_config: dict[str, Any], result: Any, member_results: list[Any],
    ridge_path: dict[str, Any] | None = None, split_parts: Any = None, index_left_out: Sequence[str] = (),
) -> dict[str, Any]:
    """The run's configuration, as written to run.json (``inputs`` are the fitted ones, derived included)."""
    split, scaler = spec.split, spec.scaler
    config = {
        **run_header("regression"),
        "target": spec.target, "time": spec.time, "group": spec.group, "features": spec.inputs,
        "lookback": spec.lookback, "horizon": spec.horizon,
        "split": list(split) if not isinstance(split, str) else split, "gap": spec.gap,
        "scaler": scaler if isinstance(scaler, (str, dict)) else type(scaler).__name__,
        "scale_per": spec.scale_per, "period": spec.period,
        "seed": spec.seed, "model": model.config, "train": train_config, "device": result.device,
        "threads": result.threads, "nan_policy": spec.nan_policy, "allow_gaps": spec.allow_gaps,
        "inputs": list(pipe.schema_["inputs"]),
        "time_axis": time_axis_info(split_parts) if split_parts is not None else {},
        "index_columns_left_out": list(index_left_out),
        "derived": [d.to_dict() for d in pipe.derived],
        "ridge_path": ridge_path,
    }
    if len(member_results) > 1:  # an ensemble: history.json holds member 0's curves
        config["member_best_epochs"] = [r.best_epoch for r in member_results]
    return config


def write_forecast_run(
    target: Path, res: RunResult, describe: pd.DataFrame, X_te: np.ndarray, y_te: np.ndarray, df: pd.DataFrame,
    title: str, overwrite: bool = False, series_code: np.ndarray | None = None,
) -> Path:
    """Write the forecasting run directory (pipeline, model, JSON files, predictions, test windows, report).

    ``series_code`` (:func:`window_series_codes`) is stored in ``test_windows.npz`` beside ``X`` and ``y``.
    """
    from ..models import save_model

    pipe = res.pipeline

    def write(tmp: Path) -> None:
        pipe.save(tmp / "pipeline")
        save_model(res.model, tmp / "model")
        write_json(tmp / "run.json", res.config)
        write_json(tmp / "metrics.json", {"test": res.metrics, "skipped": res.info["skipped"],
                                          "n_test_windows": len(y_te), "units": "original",
                                          "target_units": res.info.get("units", ""),
                                          "verdict": res.info.get("verdict"),
                                          "summary": (res.info.get("verdict") or {}).get("summary")})
        write_json(tmp / "history.json", res.history.to_dict())
        res.predictions.to_csv(tmp / "predictions.csv", index=False)
        if series_code is None:
            np.savez(tmp / "test_windows.npz", X=X_te, y=y_te)
        else:
            np.savez(tmp / "test_windows.npz", X=X_te, y=y_te, series_code=np.asarray(series_code, dtype=np.int64))
        _write_forecast_report(tmp, res, describe, df, title)

    return write_run(target, write, overwrite=overwrite)


def _write_forecast_report(tmp: Path, res: RunResult, describe: pd.DataFrame, df: pd.DataFrame, title: str) -> None:
    """report.html of a forecasting run: the split, raw vs scaled training rows, sample windows, results."""
    pipe = res.pipeline
    units = str(res.info.get("units") or "")
    parts = []
    for name, row in describe.iterrows():
        start = row.get("first_target_time", row.get("first_target_row"))
        end = row.get("last_target_time", row.get("last_target_row"))
        parts.append({"name": str(name), "start": start, "end": end, "n_windows": int(row["windows"])})
    cols = list(pipe.schema_["inputs"])
    raw_cols = [c for c in cols if c in df.columns]
    per_series = pipe.scale_per == "series"
    if per_series:
        raw, scaled = _series_train_rows(pipe, raw_cols)
    else:
        train_rows = pipe.split_.train_rows("train")
        raw = df[raw_cols].to_numpy(dtype=np.float64)[np.asarray(train_rows[: len(df)])] if raw_cols else None
        scaled = None
    if raw is not None and not per_series:
        # The scaler works on every fitted column; fill the raw ones in and read them back scaled.
        idx = [pipe.schema_["columns"].index(c) for c in raw_cols]
        full = np.zeros((raw.shape[0], len(pipe.schema_["columns"])))
        full[:, idx] = raw
        scaled = np.asarray(pipe.scaler_.transform(full))[:, idx]
    baselines = {k: v for k, v in res.predictions.items() if k in res.metrics and k != "cnn_lstm"}
    time_col = res.predictions["target_time"] if "target_time" in res.predictions else None
    X_show, y_show = pipe.split_.train[0:3]
    notes = (
        f"Forecast {res.config['target']!r}, {res.config['horizon']} step(s) ahead, from {res.config['lookback']} "
        f"steps of {list_names(res.config['inputs'])}. Scaler fit on the training rows only"
        f"{' (one set of statistics per series, from its own training rows)' if per_series else ''}. "
        f"Best epoch {res.history.best_epoch} of {len(res.history.history)}."
    )
    decision = res.config.get("ridge_path")
    if decision:  # the model the validation windows kept (docs/results.md 4.3, 4.11) is the model scored below
        notes += {
            "persistence": " The validation windows kept persistence: neither the ridge nor the network beat the "
                           "last value there, so the model's linear path and network head are zero.",
            "seasonal naive": " The validation windows kept seasonal naive: the value one season before did best "
                              "there, so the model's linear path picks it and its network head is zero.",
            "ridge": " The validation windows kept the ridge: the network did not improve on it there, so its head "
                     "is zero.",
            "network+ridge": " The validation windows kept the network beside its ridge path.",
        }.get(decision.get("kept"), "")
    write_report(
        tmp, title=title, task="regression", notes=notes, split_parts=parts, raw=raw, scaled=scaled,
        feature_names=raw_cols, X=X_show, y=y_show, window_names=cols,
        target_index=cols.index(res.config["target"]) if res.config["target"] in cols else None,
        target_label=str(res.config["target"]) + (f" ({units})" if units else " (original units)"),
        history=res.member_histories or res.history, time=time_col,
        y_true=res.predictions["y_true"].to_numpy(), y_pred=res.predictions["cnn_lstm"].to_numpy(),
        baselines={k: np.asarray(v) for k, v in baselines.items()}, results=res.metrics,
        series=res.predictions["series"].to_numpy() if "series" in res.predictions else None,
        units=units, verdict=res.info.get("verdict"), data_check=res.info.get("data_check"), config=res.config,
        time_label=str(res.config.get("time") or "row"),
        window_label="scaled value (each series' training statistics)" if per_series
        else "scaled value (training statistics)",
        loss_label=f"{res.config['train'].get('loss', 'mse')} loss (scaled units)",
    )


def _series_train_rows(pipe: Any, raw_cols: Sequence[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``scale_per="series"``: the training rows of ``raw_cols``, raw and scaled, in the pipeline's row order.

    Read from the fitted (scaled) rows and un-scaled with each row's own series' statistics, so
    the picture shows what the scaler did whatever the order of the rows in the data.
    """
    if not raw_cols:
        return None, None
    from ..pipeline import fitted_series_codes

    sd = pipe.split_.train.series_data
    mask = np.asarray(pipe.split_.train_rows("train"))
    idx = [pipe.schema_["columns"].index(c) for c in raw_cols]
    scaled = np.asarray(sd.values, dtype=np.float64)[mask][:, idx]
    codes = fitted_series_codes(pipe.schema_, sd.keys)[sd.series_codes()[mask]]
    raw = np.asarray(pipe.scaler_.inverse_transform(scaled, codes, features=idx), dtype=np.float64)
    return raw, scaled
