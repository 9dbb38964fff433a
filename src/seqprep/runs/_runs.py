"""run_forecast, run_classification and RunResult's steps (the face is :mod:`seqprep.runs`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_bool, check_choice, check_float, check_int, param_error
from ..exceptions import DataError
from ..io import NAN_POLICIES, from_polars, index_columns, polars_kind
from ..training import resolve_device  # fit's own rule (torch imported on call)
from ._augment_choice import choose_augmentation
from ._classify import (
    NORMALIZATIONS,
    VARIABLE_LENGTH,
    case_lengths,
    classification_config,
    classify_with_baselines,
    hold_out,
    prepare_cases,
    prepare_regression_cases,
    read_cases,
    regress_with_baselines,
    regression_cases_config,
    write_classification_run,
    write_regression_cases_run,
)
from ._compute import AUTO_COMPUTE_PLAN, check_compute_plan, downsample_cases, plan_compute
from ._data_check import data_check
from ._forecast import (
    ForecastSpec,
    auto_lookback,
    check_columns,
    check_scale_per,
    fit_split,
    forecast_config,
    predict_with_baselines,
    prediction_table,
    scaler_summary,
    seasonal_period,
    select_inputs,
    step_alias,
    train_forecaster,
    window_arrays,
    window_series_codes,
    write_forecast_run,
)
from ._model import fit_kwargs, fit_model, merge_settings, model_settings, model_type, score
from ._result import RunResult
from ._run_dir import prepare_out_dir
from .verdict import compare_to_baselines, network_label

__all__ = [
    "DEFAULT_CLASSIFICATION_MODEL_CONFIG",
    "DEFAULT_CLASSIFICATION_NORMALIZATION",
    "DEFAULT_CLASSIFICATION_TRAIN_CONFIG",
    "DEFAULT_CLASSIFICATION_VAL_FRACTION",
    "DEFAULT_MODEL_CONFIG",
    "DEFAULT_TRAIN_CONFIG",
    "check_forecast",
    "run_classification",
    "default_derived_features",
    "run_forecast",
    "run_regression",
]

#: Small, fast defaults: a run on a few thousand windows takes seconds on a CPU.
# The forecasting defaults are the configuration chosen on the weather VALIDATION part in docs/results.md
# (benchmarks/results.py, candidate "skip-lr3e-3-huber"): the library's default CNNLSTM with a persistence skip
# (added per run: it predicts the change from the target's last input value), AdamW lr 3e-3, Huber loss
# (docs/results.md has the selection and why dropout stays 0.1).
# Since issue 16 a ridge path: the network fits the residual of the closed-form ridge, and validation decides
# whether the network is kept (run.json's "ridge_path"); docs/results.md section 4.
DEFAULT_MODEL_CONFIG: dict[str, Any] = {"ridge_path": True}
DEFAULT_TRAIN_CONFIG: dict[str, Any] = {
    "epochs": 100,
    "batch_size": 64,
    "lr": 3e-3,
    "loss": "huber",
    "patience": 15,
    "weight_decay": 1e-4,
    "scheduler": "cosine",
}
# Classification defaults: the model and the training-only augmentation of the UCR configuration chosen by
# cross-validation on TRAIN in docs/results.md ("wide-bi-autopool-gap-augwarp-ep600"), and since issue 16 the protocol
# chosen by 3-fold CV on the TRAIN files of an eight-set pool (docs/results.md section 4, "cnnlstm-trainloss"): no
# validation split, a fixed 300 epochs, the rate halved after 30 epochs without a lower TRAINING loss (min 1e-4), the
# weights of the lowest training loss (Ismail Fawaz et al. 2019). The augmentation is jitter and scaling only since
# docs/results.md section 4.9 (TRAIN-only accuracy over eleven sets, long ones included: 0.836 against 0.809 with the
# window slice and time warp, which kept the model from fitting appliance load curves such as ACSF1).
DEFAULT_CLASSIFICATION_MODEL_CONFIG: dict[str, Any] = {
    "conv_channels": [64, 128, 64],
    "kernel_size": [7, 5, 3],
    "pool": "auto",
    "lstm_hidden": 64,
    "bidirectional": True,
    "dropout": 0.1,
    "head": "mean",
}
DEFAULT_CLASSIFICATION_TRAIN_CONFIG: dict[str, Any] = {
    "epochs": 300,
    "batch_size": 16,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "scheduler": "plateau",
    "plateau_patience": 30,
    "min_lr": 1e-4,
    "checkpoint": "train_loss",
    "patience": None,
    "augment": ["jitter", "scaling"],
}
DEFAULT_CLASSIFICATION_VAL_FRACTION: float = 0.0  # the whole TRAIN file trains (see above)
# How the cases are normalized before the model and the 1-NN baseline see them: "auto" (instance or global, by 1-NN
# cross-validated on the training cases), chosen over "instance" by the rule of docs/results.md section 4.5 (the
# CNN-LSTM's 3-fold CV on TRAIN of the set where the choice differs, JapaneseVowels: 0.978 against 0.793).
DEFAULT_CLASSIFICATION_NORMALIZATION: str = "auto"

#: The type of ``on_step``: called as ``on_step(name, info)`` after each step of :func:`run_forecast`.
Step = Callable[[str, dict[str, Any]], None]




# ============================================================================ forecasting
def default_derived_features() -> list[Any]:
    """Day-of-year sine/cosine (a deterministic function of the date: causal and leak-free)."""
    from ..features import Calendar

    return [Calendar(("dayofyear",))]


def _no_step(name: str, info: dict[str, Any]) -> None:
    """The default ``on_step``: report nothing."""


def run_forecast(
    df: pd.DataFrame,
    *,
    target: str,
    time: str | None,
    features: Sequence[str] | None = None,
    group: str | None = None,
    lookback: int | str = 14,
    horizon: int = 1,
    split: Any = (0.7, 0.15, 0.15),
    gap: Any = 0,
    scaler: Any = "standard",
    scale_per: str = "feature",
    derived: Sequence[Any] = (),
    model_config: Mapping[str, Any] | None = None,
    train_config: Mapping[str, Any] | None = None,
    seed: int = 0,
    out_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
    period: int | None = None,
    title: str | None = None,
    on_step: Step | None = None,
    device: Any = "auto",
    threads: int | None = None,
    units: str = "",
    nan_policy: str = "raise",
    allow_gaps: bool = False,
) -> RunResult:
    """Train a CNN-LSTM forecaster on ``df`` the leak-free way and score it against baselines.

    Steps: check the data (:func:`check_scales` and :func:`seqprep.check_data`), fit a
    :class:`~seqprep.Pipeline` (chronological split with ``gap``, scaler fit on training rows),
    train :class:`~seqprep.models.CNNLSTM` with early stopping on the validation part, predict the
    test part and un-scale. Baselines on the same test windows: persistence (last input value of
    the target), seasonal naive (when ``period`` is given: the value one season before each
    target, from the window or the series) and ridge regression on the flattened scaled windows,
    fit on the training windows.

    Parameters
    ----------
    df : DataFrame (pandas or Polars, or a Polars LazyFrame)
        The whole history, sorted or not (the pipeline checks it).
    target : str
        Column to forecast (numeric).
    time, group : str, optional
        Time and series-key columns.
    features : sequence of str, optional
        Input columns; default every numeric column but ``time``/``group``.
    lookback, horizon : int, default 14 and 1
        Input steps per window and steps ahead of the last input row. ``lookback="auto"`` (what
        ``seqprep train`` passes without ``--lookback``): two seasons of the time axis's step, at
        least 14 (48 hourly, 24 monthly, 104 weekly; 14 daily, yearly or numeric; docs/results.md
        4.12), and 14 when the data are too short for that (``info["split"]["lookback_fallback"]``).
    split, gap, scaler, derived
        As in :class:`~seqprep.Pipeline`.
    scale_per : {"feature", "series"}, default "feature"
        Whose statistics scale the data (``Pipeline(scale_per=...)``). ``"feature"``: one mean and
        standard deviation per column over all training rows, so on a panel the largest series
        dominate the loss. ``"series"``: one set per (series, column), from each series' own training
        rows (needs ``group``; refused without one, as a single series gives the ``"feature"``
        statistics; a series without training rows is refused). Every prediction and baseline is
        un-scaled with its window's own series, so metrics stay in original units; the ridge path's
        validation decision compares MAEs in scaled units (run.json's ``ridge_path["units"]``:
        ``"scaled per series"``). The per-window choices of the Pipeline (``"window"``,
        ``"sample"``) are refused. run.json records the value.
    model_config : dict, optional
        Keyword arguments of :class:`~seqprep.models.CNNLSTM` over :data:`DEFAULT_MODEL_CONFIG`.
    train_config : dict, optional
        ``epochs``, ``batch_size``, ``lr``, ``patience``, ``augment``, ... of
        :func:`seqprep.training.fit` over :data:`DEFAULT_TRAIN_CONFIG` (``augment`` is stored in
        ``run.json`` in its JSON form).
    seed : int, default 0
        Seeds the initial weights and the training order.
    out_dir : str or path-like, optional
        Write the run directory here (see the module docstring).
    overwrite : bool, default False
        Replace an existing non-empty ``out_dir`` (refused otherwise).
    progress : bool, default True
        Progress bar during training (on a terminal).
    period : int or "auto", optional
        Season length in rows for the seasonal-naive baseline. ``"auto"`` (what ``seqprep train``
        passes when ``--period`` is not given): the season of the inferred calendar step, as the
        Monash forecasting archive sets it (:func:`seasonal_period`: 24 for hourly, 7 for daily,
        12 for monthly, ...; no seasonal baseline for yearly or numeric time axes). None: no
        seasonal-naive baseline.
    title : str, optional
        Title of the HTML report; name the data set in it (default: the target and horizon).
    on_step : callable, optional
        Called as ``on_step(name, info)`` after each step (``"check"``, ``"split"``, ``"scaler"``,
        ``"windows"``), before training starts -- the CLI prints from it.
    device : {"auto", "cpu", "cuda", "cuda:N"} or torch.device, default "auto"
        Where to train (:func:`seqprep.training.fit`): "auto" takes a CUDA GPU when there is one,
        with mixed precision. Predictions, scores and the saved model are computed on the CPU
        afterwards; ``run.json`` records the device. ``seqprep demo`` trains on "cpu", so that its
        numbers are the same everywhere.
    threads : int, optional
        torch's intra-op threads for training (:func:`seqprep.training.fit`; also
        ``train_config["threads"]``). None: the automatic count (one thread for small models).
        ``run.json`` records the count used; the same seed and count give the same numbers.
    units : str, optional
        Units of the target (e.g. ``"°C"``) for the summary and the report.
    nan_policy : {"raise", "drop", "ffill", "interpolate"}, default "raise"
        What to do with NaN/inf in the input and target columns (as in :class:`~seqprep.Pipeline`).
    allow_gaps : bool, default False
        Let windows span gaps in time (missing steps of the inferred frequency).

    Returns
    -------
    RunResult
        ``info["verdict"]`` says in plain words whether a baseline beats the network on the test
        MAE (also in ``metrics.json`` and at the top of the report).

    Raises
    ------
    DataError
        Unknown or non-numeric columns, data too short for the windows and parts, an existing
        ``out_dir``.
    InvalidParameterError
        Bad arguments (``scale_per`` other than "feature" or "series", or "series" without ``group``).

    Examples
    --------
    >>> from seqprep.datasets import make_sine
    >>> df = make_sine(400, period=20, noise=0.05, as_frame=True)
    >>> res = run_forecast(df, target="f0", time="time", lookback=20, progress=False,
    ...                    train_config={"epochs": 3})
    >>> sorted(res.metrics)
    ['cnn_lstm', 'persistence', 'ridge']
    """
    if polars_kind(df) in ("DataFrame", "LazyFrame"):
        df = from_polars(df)  # numeric columns shared with Arrow's buffers, not copied
    if not isinstance(df, pd.DataFrame):
        raise param_error("df", "a pandas or Polars DataFrame", df)
    lookback, auto_lookback_used = _resolve_lookback(lookback, df, time, group)
    horizon = check_int(horizon, "horizon", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    overwrite = check_bool(overwrite, "overwrite")
    device = resolve_device(device)  # before any work: "cuda" without a GPU is refused here
    auto_period = isinstance(period, str) and period == "auto"
    if period is not None and not auto_period:
        if isinstance(period, str):
            raise param_error("period", "a whole number of rows, 'auto' or None", period,
                              "Use e.g. period=12 (monthly data, yearly season) or period='auto'.")
        period = check_int(period, "period", minimum=1)
    scale_per = check_scale_per(scale_per, group)
    check_columns(df, target, [time, group, *(features or [])])
    model_cfg = model_settings(DEFAULT_MODEL_CONFIG, model_config)
    if model_type(model_cfg) == "minirocket":
        raise param_error("model_config['type']", '"cnn_lstm" or "lstm_fcn" for forecasting', "minirocket",
                          "MiniRocket classifies or regresses cases (seqprep train --train/--test); a forecast "
                          "trains a network on windows.")
    train_cfg = fit_kwargs(merge_settings(DEFAULT_TRAIN_CONFIG, train_config, "train_config"), threads)
    target_dir = prepare_out_dir(out_dir, overwrite)
    step = on_step or _no_step
    spec = forecast_spec(df, target=target, time=time, features=features, group=group, lookback=lookback,
                         horizon=horizon, split=split, gap=gap, scaler=scaler, derived=derived, seed=seed,
                         period=None if auto_period else period, nan_policy=nan_policy, allow_gaps=allow_gaps,
                         scale_per=scale_per)

    # the data check and the pipeline; on_step reports each before training starts
    check = data_check(df, list(dict.fromkeys([*spec.inputs, target])), time, group,
                       left_out=_left_out(df, features, time, group), nan_policy=spec.nan_policy)
    step("check", check)
    spec, pipe, parts, split_info = _fit_split_lookback(df, spec, auto_lookback_used)
    if auto_period:  # the season of the inferred calendar step (none for yearly or numeric axes)
        spec = replace(spec, period=seasonal_period((split_info.get("time_axis") or {}).get("freq")))
        split_info = {**split_info, "period": spec.period, "period_inferred": True}
    step("split", split_info)
    scaler_info = scaler_summary(pipe, parts, scaler)
    step("scaler", scaler_info)
    arrays, windows_info = window_arrays(parts, pipe.schema_["inputs"])
    step("windows", windows_info)

    # training, then the model and the baselines scored on the same test windows, in original units
    model, result, member_results, ridge_path = train_forecaster(spec, pipe.schema_["inputs"], arrays, model_cfg,
                                                                 train_cfg, progress, device)
    y_true, preds, skipped = predict_with_baselines(model, pipe, parts, arrays, spec)
    metrics = score("regression", y_true, preds)
    verdict = compare_to_baselines("regression", metrics, units=units, name=network_label(model_type(model_cfg)))
    kept = (ridge_path or {}).get("kept")
    if kept and kept != "network+ridge":  # a tie with a baseline is then no coincidence: say which model it is
        verdict["lines"].append(f"Validation kept {kept}, so the model is {kept}.")
        verdict["summary"] = " ".join(verdict["lines"])
    table = prediction_table(parts.test, group is not None, y_true, preds)

    # the result, and the run directory
    config = forecast_config(spec, pipe, model, train_cfg, result, member_results, ridge_path, parts,
                             check.get("index_columns", []))
    info = {"data_check": check, "split": split_info, "time_axis": split_info["time_axis"], "scaler": scaler_info,
            "windows": windows_info, "skipped": skipped, "verdict": verdict, "units": units}
    res = RunResult("regression", metrics, result, table, config, info, model, pipe, None,
                    member_histories=member_results if len(member_results) > 1 else [])
    if target_dir is not None:
        X_te, y_te = arrays["test"]
        title = title or f"seqprep forecasting run: {target}, {horizon} step(s) ahead"
        res.run_dir = write_forecast_run(target_dir, res, split_info["describe"], X_te, y_te, df, title,
                                         overwrite=overwrite, series_code=window_series_codes(pipe, parts.test))
    return res


def _left_out(df: pd.DataFrame, features: Sequence[str] | None, time: str | None, group: str | None) -> list[str]:
    """The row-index columns left out of the default inputs (none when ``features`` are given)."""
    return [] if features is not None else index_columns(df, [time, group])


def forecast_spec(df: pd.DataFrame, *, target: str, time: str | None, features: Sequence[str] | None = None,
                  group: str | None = None, lookback: int = 14, horizon: int = 1, split: Any = (0.7, 0.15, 0.15),
                  gap: Any = 0, scaler: Any = "standard", derived: Sequence[Any] = (), seed: int = 0,
                  period: int | None = None, nan_policy: str = "raise", allow_gaps: bool = False,
                  scale_per: str = "feature") -> ForecastSpec:
    """The checked data arguments of a forecasting run (shared by :func:`run_forecast` and :func:`check_forecast`)."""
    check_columns(df, target, [time, group, *(features or [])])
    return ForecastSpec(
        target=target, time=time, group=group, inputs=select_inputs(df, features, time, group), lookback=lookback,
        horizon=horizon, split=split, gap=gap, scaler=scaler, derived=derived, seed=seed, period=period,
        nan_policy=check_choice(nan_policy, "nan_policy", NAN_POLICIES),
        allow_gaps=check_bool(allow_gaps, "allow_gaps"), scale_per=check_scale_per(scale_per, group),
    )


def _resolve_lookback(lookback: Any, df: pd.DataFrame, time: str | None, group: str | None) -> tuple[int, bool]:
    """``(lookback, inferred)``: a checked whole number, or for ``"auto"`` two seasons of the step, at least 14."""
    auto = isinstance(lookback, str) and lookback == "auto"
    if auto:  # docs/results.md 4.12
        lookback = auto_lookback(step_alias(df, time, group))
    elif isinstance(lookback, str):
        raise param_error("lookback", "a whole number of steps or 'auto'", lookback,
                          "Use e.g. lookback=24, or lookback='auto' (two seasons of the time axis's step).")
    return check_int(lookback, "lookback", minimum=1), auto


def _fit_split_lookback(df: pd.DataFrame, spec: ForecastSpec, auto: bool) -> tuple[ForecastSpec, Any, Any, Any]:
    """:func:`fit_split`, and with an inferred lookback (``auto``) the fallback to 14 on data too short for it.

    Too short: a part without a window, or fewer training windows than the lookback (the ridge path
    would be underdetermined). ``split_info`` then says why (``lookback_fallback``); with ``auto`` it
    also holds the lookback used. Returns ``(spec, pipe, parts, split_info)``.
    """
    fallback = None
    try:
        pipe, parts, split_info = fit_split(df, spec)
        if auto and spec.lookback > 14 and len(parts.train) < spec.lookback:
            fallback = f"{spec.lookback} steps left {len(parts.train)} training window(s), fewer than the lookback"
    except DataError:
        if not auto or spec.lookback == 14:
            raise
        fallback = f"{spec.lookback} steps left a part without a window"
    if fallback is not None:  # too short for two seasons: the fixed default, said in the split step
        spec = replace(spec, lookback=14)
        pipe, parts, split_info = fit_split(df, spec)
        split_info = {**split_info, "lookback_fallback": fallback}
    if auto:
        split_info = {**split_info, "lookback": spec.lookback, "lookback_inferred": True}
    return spec, pipe, parts, split_info


def check_forecast(
    df: pd.DataFrame,
    *,
    target: str,
    time: str | None,
    features: Sequence[str] | None = None,
    group: str | None = None,
    lookback: int | str = 14,
    horizon: int = 1,
    split: Any = (0.7, 0.15, 0.15),
    gap: Any = 0,
    nan_policy: str = "raise",
    allow_gaps: bool = False,
) -> dict[str, Any]:
    """Everything :func:`run_forecast` checks before training, without training: what ``seqprep check`` runs.

    The same code path as a run: the data check, then the pipeline's split and windows. A
    refusal is returned (not raised) with the very words the run would raise. ``lookback="auto"``
    resolves as in :func:`run_forecast` (``seqprep check`` passes it when ``--lookback`` is not
    given, as ``seqprep train`` does); ``lookback`` in the result is the one used.

    Returns
    -------
    dict
        ``findings`` and ``scales`` (the data check), ``index_columns`` (left out of the inputs),
        ``inputs``, ``time_axis``, ``split`` (rows and windows per part) and ``refused`` (the
        error message a run would stop with, or None).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"month": pd.date_range("2020-01-01", periods=36, freq="MS"), "y": range(36)})
    >>> out = check_forecast(df, target="y", time="month", lookback=6)
    >>> out["refused"], out["time_axis"]["freq"]
    (None, 'MS')
    """
    from ..exceptions import SeqprepError

    lookback, auto = _resolve_lookback(lookback, df, time, group)  # as run_forecast resolves it
    horizon = check_int(horizon, "horizon", minimum=1)
    spec = forecast_spec(df, target=target, time=time, features=features, group=group, lookback=lookback,
                         horizon=horizon, split=split, gap=gap, nan_policy=nan_policy, allow_gaps=allow_gaps)
    check = data_check(df, list(dict.fromkeys([*spec.inputs, target])), time, group,
                       left_out=_left_out(df, features, time, group), nan_policy=spec.nan_policy)
    out: dict[str, Any] = {**check, "inputs": spec.inputs, "time_axis": {}, "split": {}, "refused": None}
    try:
        spec, _, parts, split_info = _fit_split_lookback(df, spec, auto)
    except SeqprepError as exc:
        out["refused"] = str(exc)
        return out
    out["lookback"] = spec.lookback
    out["time_axis"] = split_info["time_axis"]
    d = split_info["describe"]
    out["split"] = {part: {"rows": split_info["rows"].get(part, {}).get("rows"), "windows": int(d.loc[part, "windows"])}
                    for part in d.index}
    return out


# ============================================================================ classification
def run_classification(
    train: Any,
    test: Any,
    *,
    val_fraction: float | None = None,
    variable_length: str = "mask",
    normalization: str | None = None,
    model_config: Mapping[str, Any] | None = None,
    train_config: Mapping[str, Any] | None = None,
    seed: int = 0,
    out_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
    title: str | None = None,
    device: Any = "auto",
    threads: int | None = None,
    compute_plan: Any = "auto",
) -> RunResult:
    """Train a CNN-LSTM classifier on ``.ts``-style cases and score it against majority class and 1-NN.

    The cases are normalized as ``normalization`` says (the model and the 1-NN baseline see the same
    values; no statistic reads a test case). By default every training case
    trains, for a fixed number of epochs, keeping the weights of the lowest training loss; with
    ``val_fraction > 0`` a random, stratification-free share is held out for early stopping (set
    ``train_config={"checkpoint": "val", "patience": 60, "scheduler": "cosine"}`` with it). Labels are mapped to
    integers in sorted order of the training labels.

    Parameters
    ----------
    train, test : TSData or tuple (X, y)
        ``X`` of shape ``(n_cases, length, n_channels)``, ``y`` of shape ``(n_cases,)`` labels.
    val_fraction : float, optional
        Share of training cases held out for early stopping; default
        :data:`DEFAULT_CLASSIFICATION_VAL_FRACTION`.
    variable_length : {"mask", "resample", "pad"}, default "mask"
        Unequal-length cases: padded at the end with their lengths passed to the model (a mask the
        models use: packed sequences, masked pooling), each resampled to the longest length, or
        zero-padded without a mask.
    normalization : {"instance", "global", "none", "auto"}, optional
        ``"instance"``: each case z-scored per channel over its own valid steps
        (:func:`instance_normalize`; a channel's level and spread are lost). ``"global"``: every
        channel z-scored with the mean and std of the fitting (training) cases over their valid steps
        (:func:`global_normalize`; levels kept, run.json's ``normalization_info`` holds the
        statistics). ``"none"``: the values as read. ``"auto"``: ``"instance"`` or ``"global"``,
        whichever 1-NN classifies better in a 3-fold CV on the training cases
        (global must win by more than 0.02 of accuracy).
        Default :data:`DEFAULT_CLASSIFICATION_NORMALIZATION`. run.json records the one used.
    model_config, train_config, seed, out_dir, overwrite, progress, title, device, threads
        As in :func:`run_forecast`. ``train_config["augment"]`` may also be ``"auto"``: jitter +
        scaling or all four transforms (adding window slice and time warp), whichever scores better
        in a stratified 2-fold CV on the training cases with a quarter of the epochs (a tie within
        0.01 keeps jitter + scaling; docs/results.md 4.10). run.json's ``augment_choice`` records the
        scores and the choice; ``train.augment`` the augmentation that trained.
    compute_plan : "auto", "off" or dict, default "auto"
        A bound on the training work for long or many-case sets. ``"auto"``: cases longer than 512
        steps are average-pooled to at most 512 (the masks of unequal-length cases follow), and the
        epochs are cut so that epochs x training cases x length stays within 4e7 case-steps (the
        plateau patience shrinks with them; epochs you set are kept). It changes nothing on short
        sets (every set of the development pool). ``"off"``: no bound (the run as before the plan).
        A dict ``{"max_length": int | None, "budget": int | None}`` (or the string
        ``"max_length=N,budget=N"``) sets either limit; None lifts it. run.json's ``compute_plan``
        records what was changed, why, and the work before and after.

    Returns
    -------
    RunResult
        Metrics are accuracy, balanced accuracy and macro F1 on the test cases; ``info["verdict"]``
        says in plain words whether a baseline beats the network on the test accuracy.

    Examples
    --------
    >>> from seqprep.datasets import make_classification_sines
    >>> X, y = make_classification_sines(60, 32, seed=0)
    >>> res = run_classification((X[:40], y[:40]), (X[40:], y[40:]), progress=False, train_config={"epochs": 2})
    >>> sorted(res.metrics)
    ['cnn_lstm', 'majority_class', 'minirocket', 'nearest_neighbour_1']
    """
    if _is_regression(train):
        raise DataError(
            "the training cases have numeric targets (@targetLabel true): this is a regression problem, not "
            "classification. Use seqprep.runs.run_regression (seqprep train --train/--test does so by itself)."
        )
    Xtr_raw, ytr, Xte_raw, yte = read_cases(train, test)
    if val_fraction is None:
        val_fraction = DEFAULT_CLASSIFICATION_VAL_FRACTION
    val_fraction = check_float(val_fraction, "val_fraction", minimum=0.0, maximum=0.5)
    if val_fraction == 0.5:
        raise param_error("val_fraction", "a number with 0 <= val_fraction < 0.5", val_fraction)
    variable_length = check_choice(variable_length, "variable_length", VARIABLE_LENGTH)
    normalization = check_choice(DEFAULT_CLASSIFICATION_NORMALIZATION if normalization is None else normalization,
                                 "normalization", NORMALIZATIONS)
    seed = check_int(seed, "seed", minimum=0)
    overwrite = check_bool(overwrite, "overwrite")
    device = resolve_device(device)  # before any work: "cuda" without a GPU is refused here
    compute = check_compute_plan(compute_plan)
    model_cfg = model_settings(DEFAULT_CLASSIFICATION_MODEL_CONFIG, model_config)
    train_cfg = fit_kwargs(merge_settings(DEFAULT_CLASSIFICATION_TRAIN_CONFIG, train_config, "train_config"), threads,
                           auto_augment=True)
    target_dir = prepare_out_dir(out_dir, overwrite)

    # The compute plan (docs/results.md section 4.6): pool long cases, cut the epochs of a run over the budget.
    members = model_cfg.get("members")
    closed_form = model_type(model_cfg) == "minirocket"  # no epochs, no augmentation: the ridge is fitted once
    setting: Any = compute
    if closed_form and compute != "off":  # the length cap applies; the epoch budget has nothing to cut
        setting = {**(AUTO_COMPUTE_PLAN if isinstance(compute, str) else compute), "budget": None}
    plan = plan_compute(setting, len(hold_out(len(Xtr_raw), val_fraction, seed)[0]), Xtr_raw.shape[1], train_cfg,
                        train_config, members if isinstance(members, int) else len(members or [None]))
    plan["requested"] = compute
    if plan["factor"] > 1:  # before the normalization: its statistics and the masks come from the pooled cases
        Xtr_raw, Xte_raw = downsample_cases(Xtr_raw, plan["factor"]), downsample_cases(Xte_raw, plan["factor"])
    if plan["epochs_used"] != plan["epochs"]:
        train_cfg["epochs"] = plan["epochs_used"]
    if plan["plateau_patience_used"] != plan["plateau_patience"]:
        train_cfg["plateau_patience"] = plan["plateau_patience_used"]

    augment_choice = None
    if train_cfg.get("augment") == "auto" and not closed_form:  # docs/results.md 4.10: chosen on TRAIN, before the fit
        fit_rows = hold_out(len(Xtr_raw), val_fraction, seed)[0]  # the validation cases (if any) stay unseen
        augment, augment_choice = choose_augmentation(
            run_classification, Xtr_raw[fit_rows], ytr[fit_rows], train_cfg, seed,
            {"val_fraction": val_fraction, "variable_length": variable_length, "normalization": normalization,
             "model_config": model_cfg, "device": device},
        )
        train_cfg["augment"] = fit_kwargs({"augment": augment})["augment"]

    cases = prepare_cases(Xtr_raw, ytr, Xte_raw, yte, val_fraction, seed, variable_length, normalization)
    model, result, member_results = fit_model(
        cases.X_train.shape[2], int(cases.classes.size), "classification", cases.X_train.shape[1], model_cfg, seed,
        cases.fit_part(), cases.val_part(), progress, train_cfg, device,
    )
    skipped: dict[str, str] = {}
    notes: dict[str, str] = {}
    preds = classify_with_baselines(model, cases, seed, skipped, minirocket=not closed_form, notes=notes)
    metrics = score("classification", yte, preds)
    verdict = compare_to_baselines("classification", metrics, name=network_label(model_type(model_cfg)))
    table = pd.DataFrame({"case": np.arange(len(yte)), "y_true": yte, **preds})
    config = classification_config(cases, val_fraction, seed, model,
                                   _closed_form_train(model, train_cfg) if closed_form else train_cfg, result,
                                   member_results, variable_length)
    config["model_type"] = model_type(model_cfg)
    config["min_length"] = int(case_lengths(Xtr_raw).min())  # predict_cases refuses shorter cases than any trained on
    config["compute_plan"] = {**plan, "lstm_steps": _lstm_steps(model, cases.X_train.shape[1])}
    if augment_choice is not None:
        config["augment_choice"] = augment_choice
    info = {"windows": cases.shapes(), "skipped": skipped, "notes": notes, "verdict": verdict}
    res = RunResult("classification", metrics, result, table, config, info, model, None, None,
                    member_histories=member_results if len(member_results) > 1 else [])
    if target_dir is not None:
        title = title or f"seqprep classification run: {cases.classes.size} classes"
        res.run_dir = write_classification_run(target_dir, res, cases, preds, title, overwrite=overwrite)
    return res


def _closed_form_train(model: Any, train_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """run.json's ``train`` for MiniRocket + ridge: how it was fitted, instead of epochs it never ran."""
    return {"fit": "closed form: MiniRocket biases from the training cases, ridge with its penalty chosen by "
                   "leave-one-out error among logspace(-3, 3, 10)", "alpha": model.alpha_,
            "threads": train_cfg.get("threads")}


def _lstm_steps(model: Any, length: int) -> int | None:
    """Steps the CNN-LSTM's LSTM reads for cases of ``length`` steps (its ``pool="auto"`` plan); None for others."""
    plan = getattr(model, "plan", None)
    if not callable(plan):  # LSTMFCN, ensembles: their own stride plans are in their configs
        return None
    return next((int(r.input_shape[0]) for r in plan(length).layers if r.name.startswith("lstm")), None)


def _is_regression(data: Any) -> bool:
    """A TSData read from a regression file (``@targetLabel true``)."""
    return bool(getattr(data, "metadata", {}).get("targetLabel", False))


# ============================================================================ regression on cases
def run_regression(
    train: Any,
    test: Any,
    *,
    val_fraction: float = 0.2,
    model_config: Mapping[str, Any] | None = None,
    train_config: Mapping[str, Any] | None = None,
    seed: int = 0,
    out_dir: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
    title: str = "seqprep regression run",
    device: Any = "auto",
) -> RunResult:
    """Train a CNN-LSTM regressor on cases with numeric targets (a ``.ts`` file with ``@targetLabel true``).

    Each case is normalized on its own (:func:`instance_normalize`); the target is z-scored with
    the fitting cases' mean and standard deviation and predictions are put back in its units.
    Baselines on the same test cases: the mean of the training targets, ridge regression and
    1-NN regression on the flattened normalized cases.

    Parameters
    ----------
    train, test : TSData or tuple (X, y)
        ``X`` of shape ``(n_cases, length, n_channels)``, ``y`` of shape ``(n_cases,)`` numbers.
    val_fraction, model_config, train_config, seed, out_dir, overwrite, progress, title, device
        As in :func:`run_classification`; the model is the library's CNNLSTM (``model_config``
        over its defaults) and the training defaults are the forecasting ones.

    Returns
    -------
    RunResult
        Metrics are MAE, RMSE and sMAPE on the test cases, in the target's units;
        ``info["verdict"]`` says in plain words whether a baseline beats the network on the test MAE.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 16, 1)); y = X[:, :, 0].std(axis=1)
    >>> res = run_regression((X[:40], y[:40]), (X[40:], y[40:]), progress=False, train_config={"epochs": 2})
    >>> sorted(res.metrics)
    ['cnn_lstm', 'mean_of_training_targets', 'minirocket', 'nearest_neighbour_1', 'ridge']
    """
    Xtr_raw, ytr, Xte_raw, yte = read_cases(train, test, regression=True)
    val_fraction = check_float(val_fraction, "val_fraction", minimum=0.0, maximum=0.5, inclusive=False)
    seed = check_int(seed, "seed", minimum=0)
    overwrite = check_bool(overwrite, "overwrite")
    device = resolve_device(device)
    model_cfg = model_settings({}, model_config)  # the library's CNNLSTM (the forecasting ridge path needs windows)
    train_cfg = fit_kwargs(merge_settings(DEFAULT_TRAIN_CONFIG, train_config, "train_config"))
    target_dir = prepare_out_dir(out_dir, overwrite)

    cases = prepare_regression_cases(Xtr_raw, ytr, Xte_raw, yte, val_fraction, seed)
    model, result, member_results = fit_model(
        cases.X_train.shape[2], 1, "regression", cases.X_train.shape[1], model_cfg, seed,
        cases.fit_part(), cases.val_part(), progress, train_cfg, device,
    )
    closed_form = model_type(model_cfg) == "minirocket"
    skipped: dict[str, str] = {}
    notes: dict[str, str] = {}
    preds = regress_with_baselines(model, cases, seed, skipped, minirocket=not closed_form, notes=notes)
    metrics = score("regression", cases.y_test, preds)
    # A regressor that loses to ridge or 1-NN must say so, as the forecasting and classification runs do.
    verdict = compare_to_baselines("regression", metrics, name=network_label(model_type(model_cfg)))
    table = pd.DataFrame({"case": np.arange(len(cases.y_test)), "y_true": cases.y_test, **preds})
    min_length = int(case_lengths(Xtr_raw).min())
    config = regression_cases_config(cases, val_fraction, seed, model,
                                     _closed_form_train(model, train_cfg) if closed_form else train_cfg, result,
                                     member_results)
    config["model_type"] = model_type(model_cfg)
    config["min_length"] = min_length
    info = {"windows": cases.shapes(), "skipped": skipped, "notes": notes, "verdict": verdict}
    res = RunResult("regression", metrics, result, table, config, info, model, None, None,
                    member_histories=member_results if len(member_results) > 1 else [])
    if target_dir is not None:
        res.run_dir = write_regression_cases_run(target_dir, res, cases, preds, title, overwrite=overwrite)
    return res
