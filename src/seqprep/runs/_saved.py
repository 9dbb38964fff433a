"""Using a finished run directory: re-score its model on its saved test windows, forecast new data.

Both read the directory with :func:`~seqprep.runs.load_run` and predict on the CPU, as the
training run scored its model, so that a re-score reproduces ``metrics.json``.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import ArtifactError
from ..timeaxis import shift
from ._model import score
from ._run_dir import load_run

__all__: list[str] = []  # internal module: served by seqprep.runs


def evaluate_run(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Re-score a saved run's model on its saved test windows and compare with ``metrics.json``.

    Returns
    -------
    dict
        ``saved`` (the stored metrics of every model), ``rescored`` (the model's metrics now) and
        ``matches`` (True when they agree to 1e-6 relative), ``verdict`` (the saved honest summary:
        whether a baseline beats the network; None for runs written before it existed).

    Raises
    ------
    ArtifactError
        When the directory, its ``test_windows.npz`` or (``scale_per="series"`` runs) the series
        of each test window it stores (``series_code``) is missing or malformed.
    """
    from ..training import predict

    run = load_run(run_dir)
    try:
        with np.load(run.path / "test_windows.npz", allow_pickle=False) as data:
            X, y = data["X"], data["y"]
            lengths = data["lengths"] if "lengths" in data.files else None
            codes = data["series_code"] if "series_code" in data.files else None
    except (OSError, KeyError, ValueError) as exc:
        raise ArtifactError(f"{str(run.path)!r}: test_windows.npz is missing or unreadable ({exc}).") from None
    task = run.config["task"]
    if task == "regression" and run.config.get("data") == "cases":
        mean, std = float(run.config["target_mean"]), float(run.config["target_std"])
        pred = np.asarray(predict(run.model, X, device="cpu"), dtype=np.float64).reshape(-1) * std + mean
        truth = np.asarray(y, dtype=np.float64).reshape(-1)
    elif task == "regression":
        pred = _unscale(run, predict(run.model, X, device="cpu"), codes)
        truth = _unscale(run, y, codes)
    else:
        classes = np.asarray(run.config["classes"])
        from ..training import ArrayWindows

        inputs = X if lengths is None else ArrayWindows(X, None, lengths)  # a masked run's cases keep their lengths
        pred = classes[predict(run.model, inputs, task="classification", device="cpu")].astype(str)
        truth = y.astype(str)
        if classes.dtype.kind not in "US":
            pred = pred.astype(str)
    now = score(task, truth, {"cnn_lstm": pred})["cnn_lstm"]
    saved = run.metrics["test"]
    before = saved.get("cnn_lstm", {})
    matches = all(math.isclose(now[k], before.get(k, float("nan")), rel_tol=1e-5, abs_tol=1e-9) for k in now)
    return {"saved": saved, "rescored": now, "matches": bool(matches), "task": task, "config": run.config,
            "skipped": run.metrics.get("skipped", {}), "notes": run.metrics.get("notes", {}),
            "verdict": run.metrics.get("verdict")}


def _unscale(run: Any, values: Any, codes: np.ndarray | None) -> np.ndarray:
    """Saved test windows' scaled targets or predictions in original units, flat.

    ``scale_per="series"``: each window with its own series' statistics, found by the window's
    ``series_code`` (its row in the saved pipeline's per-series statistics).
    """
    pipe = run.pipeline
    if pipe.scale_per != "series":
        return np.asarray(pipe.inverse_target(values), dtype=np.float64).reshape(-1)
    arr = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    n_series = len(pipe.schema_.get("series_keys") or [])
    if (codes is None or codes.ndim != 1 or codes.dtype.kind not in "iu" or len(codes) != len(arr)
            or (len(codes) and (codes.min() < 0 or codes.max() >= n_series))):
        raise ArtifactError(
            f"{str(run.path)!r}: test_windows.npz must hold 'series_code', one integer in [0, {n_series}) per test "
            "window, for a scale_per='series' run (each window is un-scaled with its own series' statistics). "
            "Train the run again (seqprep train)."
        )
    column = pipe.schema_["columns"].index(pipe.target)
    flat = pipe.scaler_.inverse_transform(arr.reshape(-1, 1), np.repeat(codes.astype(np.int64), arr.shape[1]),
                                          features=[column])
    return np.asarray(flat, dtype=np.float64).reshape(-1)


def predict_run(run_dir: str | os.PathLike[str], data: Any) -> pd.DataFrame:
    """Forecast new data with a saved forecasting run.

    One prediction per window of ``data`` (every window whose last input row is in ``data``),
    with the time it forecasts: ``end_time + horizon * freq``.

    Parameters
    ----------
    run_dir : str or path-like
        A finished forecasting run.
    data : DataFrame or path
        New rows with the fitted columns (the target column may be absent if it is not an input).

    Returns
    -------
    DataFrame
        ``[series,] end_time, prediction_time, prediction`` (original units).

    Raises
    ------
    DataError
        When the data does not match the fitted schema (from :meth:`Pipeline.transform`), or, for a
        ``scale_per="series"`` run, holds a series the run did not train on (it has no statistics).
    """
    from ..training import predict

    run = load_run(run_dir)
    if run.config.get("task") != "regression" or run.config.get("data") == "cases":
        raise ArtifactError(
            f"{str(run.path)!r} is a {run.config.get('task')} run; predict works on forecasting runs. "
            "Classify new cases with seqprep.training.predict on instance-normalized arrays."
        )
    pipe = run.pipeline
    windows = pipe.transform(data, inference=True)
    X = windows[:]
    X = X[0] if isinstance(X, tuple) else X
    # scale_per="window": each window's target statistics travel with the batch and undo its scaling;
    # scale_per="series": the windows say each prediction's series
    stats = {k: X[k] for k in ("target_loc", "target_scale")} if isinstance(X, dict) else {}
    pred = pipe.inverse_target(predict(run.model, X, device="cpu"), windows=windows, **stats).reshape(-1)
    prov = windows.provenance()
    out = pd.DataFrame({"series": prov["series"]}) if run.config.get("group") else pd.DataFrame(index=prov.index)
    horizon = int(run.config["horizon"])
    if "end_time" in prov:
        out["end_time"] = prov["end_time"].to_numpy()
        freq = pipe.schema_.get("freq")
        if freq is not None:
            out["prediction_time"] = shift(prov["end_time"], horizon, freq)
    else:
        out["end_row"] = prov["end"].to_numpy()
        out["prediction_row"] = prov["end"].to_numpy() + horizon
    out["prediction"] = pred
    return out


def predict_cases(run_dir: str | os.PathLike[str], data: Any) -> pd.DataFrame:
    """Classify (or regress) new cases with a saved case run: the run's pooling, normalization and masks.

    The cases go through what the run's own test cases went through, from ``run.json``: the compute
    plan's pooling (``compute_plan.factor``), NaN padding to the run's length (a longer case is
    refused), the run's normalization (``instance``, or ``global`` with the training statistics it
    saved; case regression runs are instance-normalized) and, for unequal lengths, the masks (or
    the resampling) it trained with.

    Parameters
    ----------
    run_dir : str or path-like
        A classification run, or a regression run on cases (``seqprep train --train/--test``).
    data : TSData or tuple (X, y)
        The new cases ``(n, length, channels)``, NaN after each case's valid steps; ``y`` may be None
        (unlabelled cases, ``@classLabel false``).

    Returns
    -------
    DataFrame
        ``case`` (0, 1, ...) and ``prediction`` (a class label, or a value in the target's units),
        then ``y_true`` when the cases carry labels or targets.

    Raises
    ------
    InvalidParameterError
        When the run is a forecasting run (``predict_run`` forecasts a table).
    DataError
        When the cases have other channels than the run, a case is longer than the run's cases or
        shorter than the shortest one it trained on, or labels are given and none is a class of the run.

    Examples
    --------
    >>> import tempfile
    >>> from seqprep.datasets import make_classification_sines
    >>> from seqprep.runs import predict_cases, run_classification
    >>> X, y = make_classification_sines(40, 32, seed=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = run_classification((X[:30], y[:30]), (X[30:], y[30:]), progress=False,
    ...                            model_config={"type": "minirocket"}, out_dir=f"{tmp}/run")
    ...     table = predict_cases(f"{tmp}/run", (X[30:], None))  # new cases, without labels
    >>> list(table.columns), len(table)
    (['case', 'prediction'], 10)
    """
    from .._validation import param_error
    from ..exceptions import DataError
    from ..training import ArrayWindows, predict
    from ._classify import case_lengths, global_normalize, instance_normalize, resample_cases, unpack_cases
    from ._compute import downsample_cases

    run = load_run(run_dir)
    cfg = run.config
    regression = cfg.get("task") == "regression"
    if regression and cfg.get("data") != "cases":
        raise param_error("run_dir", "a run on cases (seqprep train --train/--test)", str(run.path),
                          "This is a forecasting run: forecast new rows with predict_run (seqprep predict RUN "
                          "--data FILE.csv).")
    X, y = unpack_cases(data, "data")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3 or len(X) == 0:
        raise DataError(f"the new cases must have shape (n_cases, length, n_channels), n_cases >= 1. Received: "
                        f"{X.shape}.")
    if X.shape[2] != int(cfg["n_channels"]):
        raise DataError(f"the new cases have {X.shape[2]} channel(s); the run was trained on {cfg['n_channels']}. "
                        "Give cases with the same channels, in the same order.")
    factor = int((cfg.get("compute_plan") or {}).get("factor", 1))
    if factor > 1:  # the run pooled its cases before everything else: so must these
        X = downsample_cases(X, factor)
    length = int(cfg["length"])
    lengths = case_lengths(X)
    if int(lengths.max()) > length:
        i = int(np.argmax(lengths))
        pooled = f" after pooling by {factor}" if factor > 1 else ""
        raise DataError(f"case {i} has {int(lengths[i])} steps{pooled}, longer than the {length} the run was "
                        "trained on. Cut the cases to the training length, or train a run on cases this long.")
    shortest = int(cfg.get("min_length", length if not cfg.get("masked") else 1))
    if int(lengths.min()) < shortest:  # a model never saw a case this short: most likely the wrong file
        i = int(np.argmin(lengths))
        seen = f"{shortest} to {length}" if shortest < length else f"{length}"
        raise DataError(f"case {i} has {int(lengths[i])} step(s); the run's training cases had {seen} steps"
                        f"{' after pooling' if factor > 1 else ''}. Is this the run's kind of data? Give cases as "
                        "long as the training cases.")
    if y is not None and not regression:
        known = set(map(str, cfg.get("classes", [])))
        given = sorted(set(map(str, np.asarray(y).reshape(-1))))
        if known and not known.intersection(given):
            raise DataError(f"none of the file's labels ({', '.join(given[:5])}{' ...' if len(given) > 5 else ''}) "
                            f"is a class of the run ({', '.join(sorted(known)[:5])}): is it the right file? Drop the "
                            "labels (@classLabel false) to classify cases whose classes are unknown.")
    if X.shape[1] != length:
        padded = np.full((len(X), length, X.shape[2]), np.nan)
        padded[:, : min(X.shape[1], length)] = X[:, :length]
        X = padded
    unequal = bool((lengths < length).any())
    if unequal and cfg.get("variable_length") == "resample":
        X = resample_cases(X, lengths, length)
    norm = "instance" if regression else cfg.get("normalization", "instance")
    if norm == "global":
        info = cfg.get("normalization_info") or {}
        X = global_normalize(X, np.asarray(info["mean"]), np.asarray(info["std"]))
    elif norm == "none":
        X = np.nan_to_num(X, nan=0.0)
    else:
        X = instance_normalize(X)
    X = X.astype(np.float32)
    masked = unequal and cfg.get("variable_length", "mask") == "mask"
    inputs = ArrayWindows(X, None, lengths) if masked else X
    if regression:
        raw = np.asarray(predict(run.model, inputs, device="cpu"), dtype=np.float64).reshape(-1)
        pred: Any = raw * float(cfg["target_std"]) + float(cfg["target_mean"])
    else:
        pred = np.asarray(cfg["classes"])[predict(run.model, inputs, task="classification", device="cpu")]
    table = pd.DataFrame({"case": np.arange(len(X)), "prediction": pred})
    if y is not None:
        table["y_true"] = np.asarray(y).reshape(-1)
    return table
