"""audit() and check_data(): the two entry points (the face is :mod:`seqprep.auditing`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_bool, check_choice, check_names
from ..io import NAN_POLICIES, index_columns
from ._inputs import _feature_names, _parts_aux, _parts_x, _past_only, _underlying_rows
from ._leads import _check_future_target, _check_future_target_frame
from ._report import AuditReport, Finding, _report
from ._rules import (
    _check_coverage,
    _check_duplicates,
    _check_features,
    _check_nonfinite,
    _check_raw,
    _check_scaling,
    _check_shuffled,
    _check_target,
    _check_time,
)
from ._table import (
    _check_index_columns,
    _check_non_numeric,
    _check_nonfinite_columns,
    _check_times,
    _column,
    _load_frame,
)

__all__ = ["audit", "check_data"]


def audit(
    X_train: Any,
    X_test: Any,
    *,
    X_val: Any = None,
    y_train: Any = None,
    y_test: Any = None,
    y_val: Any = None,
    raw: Any = None,
    time_train: Any = None,
    time_test: Any = None,
    time_val: Any = None,
    strict: bool = False,
    feature_names: Sequence[str] | None = None,
    layout: str = "NTC",
) -> AuditReport:
    """Audit model-ready arrays for leakage and data problems.

    Parameters
    ----------
    X_train, X_test : array-like of shape (n_samples, n_features) or (n_windows, n_timesteps, n_features)
        The inputs of each part: tabular rows (or flattened windows), or 3-D windows.
    X_val : array-like of the same per-sample shape, optional
        The validation inputs.
    y_train, y_test, y_val : array-like of shape (n_samples,) or (n_samples, n_outputs), optional
        The targets; enable the ``TARGET_IN_INPUT`` check.
    raw : array-like of shape (n_rows, n_features), optional
        The unscaled rows, in time order, that the arrays were made from. For tabular
        inputs whose parts together hold every raw row, the scaler's statistics are
        recovered exactly (rank matching) and compared with those of all raw rows.
    time_train, time_test, time_val : array-like of shape (n_samples,) or (n_samples, horizon), optional
        The timestamp of each sample's target (datetimes or numbers); enable the
        ``CHRONOLOGICAL_OVERLAP`` check.
    strict : bool, default False
        Raise :class:`~seqprep.exceptions.LeakageError` when an error finding exists.
    feature_names : sequence of str, optional
        Names of the ``n_features`` features, used in the findings.
    layout : {"NTC", "NCT"}, default "NTC"
        Axis order of 3-D inputs: ``(N, T, C)`` or channels-first ``(N, C, T)``.

    Returns
    -------
    AuditReport
        The findings, errors first. ``report.ok`` is True when nothing of severity
        warning or error was found.

    Raises
    ------
    LeakageError
        With ``strict=True``, when an error finding exists.
    ShapeError, DataError, InvalidParameterError
        When the inputs cannot be audited (wrong ndim, mismatched shapes, text).

    Examples
    --------
    Standardizing train and test each with their own statistics is caught:

    >>> import numpy as np
    >>> t = np.arange(400.0)
    >>> X = np.column_stack([np.sin(t / 9) + t / 100, np.cos(t / 7) + t / 200])
    >>> train, test = X[:300], X[300:]
    >>> scale = lambda a: (a - a.mean(axis=0)) / a.std(axis=0)
    >>> report = audit(scale(train), scale(test))
    >>> [f.code for f in report.errors]
    ['SCALED_PER_PART']
    >>> report.codes  # without y and timestamps, two checks cannot run: an info says which
    ('SCALED_PER_PART', 'NOT_CHECKED')
    >>> mu, sd = train.mean(axis=0), train.std(axis=0)  # the honest way
    >>> audit((train - mu) / sd, (test - mu) / sd).ok
    True
    """
    check_choice(layout, "layout", ("NTC", "NCT"), "Pass layout='NTC' for (N, T, C) or 'NCT' for (N, C, T).")
    strict = check_bool(strict, "strict")
    xs_in, roles = _past_only({"train": X_train, "val": X_val, "test": X_test})
    xs = _parts_x({k: v for k, v in xs_in.items() if v is not None}, layout)
    ys = _parts_aux({"train": y_train, "val": y_val, "test": y_test}, xs, "y")
    times = _parts_aux({"train": time_train, "val": time_val, "test": time_test}, xs, "time")
    n_features = xs["train"].shape[-1]
    names = _feature_names(feature_names, n_features)
    windowed = xs["train"].ndim == 3

    findings: list[Finding] = []
    findings += _check_nonfinite(xs, ys, names)
    rows = _underlying_rows(xs)
    findings += _check_scaling(rows.unique, rows.union, rows.own, windowed)
    if raw is not None:
        findings += _check_raw(raw, rows.unique, n_features)
    if rows.order is not None:
        findings += _check_shuffled(rows.ids, rows.order)
    future = _check_future_target(xs, ys, names)
    findings += future
    copied = {n for f in future for n in f.evidence["features"]}
    findings += _check_target(xs, ys, names, skip=[i for i, n in enumerate(names) if n in copied])
    findings += _check_time(times)
    findings += _check_duplicates(xs, rows.ids)
    findings += _check_features(rows.unique["train"], names, severity="warning")
    findings += _check_coverage(ys, times, rows.order, roles)
    report = _report(findings)
    if strict:
        report.raise_if_errors()
    return report


def check_data(
    df_or_path: Any,
    *,
    time: str | None = None,
    group: str | None = None,
    nan_policy: str = "raise",
    target: str | None = None,
    known: Sequence[str] | None = None,
) -> AuditReport:
    """Check a raw table for data problems before anything is built from it.

    Parameters
    ----------
    df_or_path : DataFrame (pandas or Polars), LazyFrame, str or Path
        The data, or a path to a ``.csv`` or ``.parquet`` file.
    time : str, optional
        The timestamp column; enables the order, duplicate and gap checks.
    group : str, optional
        The series id column; time checks then run within each series.
    nan_policy : {"raise", "drop", "ffill", "interpolate"}, default "raise"
        The policy training will use: NaN/inf values are an error under ``"raise"`` (training
        refuses them) and a warning otherwise.
    target : str, optional
        The column to forecast; enables ``FUTURE_TARGET_IN_INPUT``: a numeric column equal to
        the target shifted from the future (``df["y"].shift(-s)``, ``s`` = 1 .. 64, up to a
        constant offset and scale), inside each series.
    known : sequence of str, optional
        Columns that will be ``known`` inputs (known in advance for the forecast steps): they
        may hold future values by design and are left out of ``FUTURE_TARGET_IN_INPUT``. A known
        column whose values were shifted from the future therefore cannot be detected.

    Returns
    -------
    AuditReport
        Findings ``NONFINITE``, ``NON_NUMERIC``, ``UNSORTED_TIME``,
        ``DUPLICATE_TIMESTAMPS``, ``TIME_GAPS`` (missing steps of the inferred calendar
        frequency), ``CONSTANT_FEATURE``, ``FUTURE_TARGET_IN_INPUT`` (with ``target``) and, as info,
        ``TIME_AXIS`` (the time column's kind
        and frequency), ``INDEX_COLUMN`` (a row index written to the file, left out of the
        inputs) and ``SCALE_DISPARITY`` (raw data is expected to be unscaled).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04"]),
    ...                    "temp": [1.0, 2.0, float("nan")]})
    >>> check_data(df, time="date").codes
    ('NONFINITE', 'TIME_GAPS', 'TIME_AXIS')

    A feature built from the next row's target is caught when the target is named:

    >>> import numpy as np
    >>> y = np.sin(np.arange(300) / 7) + np.random.default_rng(0).normal(0, 0.1, 300)
    >>> df = pd.DataFrame({"y": y, "y_lag": pd.Series(y).shift(1), "y_next": pd.Series(y).shift(-1)})
    >>> check_data(df, target="y", nan_policy="drop").errors[0].evidence["columns"]
    {'y_next': 1}
    """
    df = _load_frame(df_or_path)
    time = _column(df, time, "time")
    group = _column(df, group, "group")
    index_like = index_columns(df, [time, group])
    value_cols = [c for c in df.columns if c not in (time, group) and str(c) not in index_like]
    numeric = [c for c in value_cols if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    findings = _check_index_columns(index_like) + _check_non_numeric([c for c in value_cols if c not in numeric])
    values = df[numeric].to_numpy(dtype=np.float64) if numeric else np.zeros((len(df), 0))
    check_choice(nan_policy, "nan_policy", NAN_POLICIES)
    findings += _check_nonfinite_columns(values, numeric, nan_policy)
    if time is not None:
        findings += _check_times(df, time, group)
    finite = values[np.isfinite(values).all(axis=1)] if values.size else values
    findings += _check_features(finite, [str(c) for c in numeric], severity="info")
    if target is not None:
        findings += _future_target_frame(df, numeric, target, group, time, known)
    return _report(findings)


def _future_target_frame(
    df: pd.DataFrame, numeric: list[Any], target: str, group: str | None, time: str | None, known: Any
) -> list[Finding]:
    """check_data's FUTURE_TARGET_IN_INPUT: the columns but the target and the known ones, in time order."""
    target = _column(df, target, "target")
    if isinstance(known, str):
        known = [known]
    known_cols = {str(k) for k in (known or ())}
    check_names(sorted(known_cols), "known", [str(c) for c in df.columns])
    if not pd.api.types.is_numeric_dtype(df[target]) or pd.api.types.is_bool_dtype(df[target]):
        return []
    cols = [c for c in numeric if c != target and str(c) not in known_cols]
    if not cols:
        return []
    keys = [k for k in (group, time) if k is not None]
    frame = df.sort_values(keys, kind="stable") if keys else df
    return _check_future_target_frame(
        frame[cols].to_numpy(dtype=np.float64),
        [str(c) for c in cols],
        frame[target].to_numpy(dtype=np.float64),
        str(target),
        None if group is None else frame[group].to_numpy(),
    )
