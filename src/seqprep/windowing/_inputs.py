"""From the data and column arguments of :func:`seqprep.windows` to arrays, for :mod:`seqprep.windowing`.

The data side of building :class:`seqprep.Windows`: which columns are read
(:func:`_normalize_columns`, :func:`_read_series`), which rows feed ``X`` and ``y``
(:func:`_input_columns`, :func:`_target_rows`, as views of the validated values whenever
possible), whether the layout fits the data (:func:`_check_layout_fits`), the names the windows
carry (:func:`_column_names`), and what the user is told when no window fits
(:func:`_no_window_message`). The checks that need no data are in :mod:`seqprep.windowing._spec`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_distinct, param_error
from ..exceptions import DataError, ShapeError
from ..io import SeriesData, as_series
from ._spec import WindowSpec

__all__: list[str] = []  # internal to seqprep.windowing: its siblings import the names they need


def _normalize_columns(features: Any, target: Any) -> tuple[list[Any] | None, list[Any] | None, bool]:
    """``features`` and ``target`` as lists (None: all / no target), and whether ``y`` has no target axis."""
    if isinstance(features, (str, int, np.integer)) and not isinstance(features, bool):
        features = [features]
    feat = None if features is None else list(features)
    if feat is not None and not feat:
        raise param_error("features", "a non-empty list of columns, or None for all", features)
    if feat is not None:
        check_distinct(feat, "features", "columns")
    if target is None:
        return feat, None, True
    if isinstance(target, bool):
        raise param_error("target", "a column name, a position, or a list of them", target)
    scalar = isinstance(target, (str, int, np.integer))
    tgt = [target] if scalar else list(target)
    if not tgt:
        raise param_error("target", "a column name or a non-empty list of names", target)
    check_distinct(tgt, "target", "columns")
    return feat, tgt, scalar


def _read_series(
    data: Any, feat_sel: list[Any] | None, tgt_sel: list[Any] | None, target: Any, *, time: Any, group: Any,
    nan_policy: str,
) -> SeriesData:
    """Validate *data* into series holding the selected features and then the targets not among them."""
    wanted = None
    if feat_sel is not None or tgt_sel is not None:
        if feat_sel is None:
            wanted = None  # all numeric columns; targets must be among them
        else:
            wanted = list(dict.fromkeys(list(feat_sel) + [t for t in (tgt_sel or []) if t not in feat_sel]))
    sd = as_series(data, columns=wanted, time=time, group=group, nan_policy=nan_policy, required=tgt_sel or ())
    if tgt_sel is not None and sd.values.ndim > 2:
        raise param_error(
            "target", "None for frame data (n, H, W, C), which has no columns", target,
            "Pass the labels separately, or window a 2-D table.",
        )
    return sd


def _input_columns(
    sd: SeriesData, feat_sel: list[Any] | None, tgt_sel: list[Any] | None
) -> tuple[int | None, np.ndarray, list[int] | None]:
    """Number of input columns (None for frames), the input rows (a view) and the target positions."""
    # The features come first in sd.values (see _read_series), so X is a leading slice: no copy.
    n_feat = len(feat_sel) if feat_sel is not None else (sd.values.shape[1] if sd.values.ndim == 2 else None)
    x_data = sd.values[:, :n_feat] if n_feat is not None else sd.values
    tgt_idx = sd.column_index(tgt_sel, "target") if tgt_sel is not None else None
    return n_feat, x_data, tgt_idx


def _check_layout_fits(layout: str, x_data: np.ndarray) -> None:
    """Refuse a frame layout for tabular rows and a tabular layout for frames."""
    if layout in ("NTHWC", "NTCHW") and x_data.ndim != 4:
        raise ShapeError(
            f"layout={layout!r} is for image sequences: data must be frames of shape (n, H, W, C). "
            f"Received: rows of shape {x_data.shape[1:]}. Use layout='NTC' or 'NCT' for tabular data."
        )
    if layout in ("NCT", "NSTC") and x_data.ndim != 2:
        raise ShapeError(
            f"layout={layout!r} needs tabular rows (n, n_features). Received: rows of shape "
            f"{x_data.shape[1:]}. For frames use layout 'NTHWC' or 'NTCHW'."
        )


def _check_fits_dtype(values: np.ndarray, dtype: str) -> None:
    """Refuse values that the output dtype cannot hold (1e39 in float32 would become inf without a word)."""
    out = np.dtype(dtype)
    if out.kind != "f" or values.dtype.kind not in "fiu" or values.size == 0:
        return
    if values.dtype.kind == "f" and values.dtype.itemsize <= out.itemsize:
        return
    limit = float(np.finfo(out).max)
    hi, lo = float(np.max(values)), float(np.min(values))
    if hi > limit or lo < -limit:
        raise DataError(
            f"the data holds values up to {max(abs(hi), abs(lo)):.4g}, beyond the range of dtype={dtype!r} "
            f"({limit:.4g}): they would become inf. Pass dtype='float64', or rescale those columns first."
        )


def _target_rows(sd: SeriesData, tgt_idx: list[int] | None, dtype: str) -> np.ndarray | None:
    """The target columns as ``(n_rows, n_targets)`` in the output dtype (None without a target)."""
    if tgt_idx is None:
        return None
    if len(tgt_idx) == 1 and sd.values.dtype == np.dtype(dtype):
        return sd.values[:, tgt_idx[0] : tgt_idx[0] + 1]  # a view: no copy of the target column
    return np.ascontiguousarray(sd.values[:, tgt_idx]).astype(dtype, copy=False)


def _column_names(
    sd: SeriesData, n_feat: int | None, tgt_idx: list[int] | None
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """Feature names (None without column names or for frames) and target names (positions as str)."""
    names = (sd.columns[:n_feat] if sd.columns is not None and n_feat is not None else None)
    target_names = tuple(sd.columns[i] for i in tgt_idx) if (tgt_idx is not None and sd.columns) else (
        tuple(str(i) for i in tgt_idx) if tgt_idx is not None else None
    )
    return names, target_names


def _no_window_message(sd: SeriesData, spec: WindowSpec, counts: dict[str, int]) -> str:
    """Why the data gives no window (gaps, or series too short), with the numbers and the fixes."""
    longest = int(np.diff(sd.bounds).max())
    h = spec.horizons if not spec.scalar_horizon else spec.horizons[0]
    what = f"lookback={spec.lookback}, horizon={h}" + (
        f", sampling_rate={spec.sampling_rate}" if spec.sampling_rate != 1 else ""
    )
    if counts["windows_spanning_gaps"]:
        return (
            f"no window fits between the gaps in time: all {counts['windows_spanning_gaps']} candidate windows "
            f"span a gap ({sd.report.get('gaps', 0)} gaps, {sd.report.get('missing_steps', 0)} missing step(s) of "
            f"the frequency {sd.report.get('frequency', sd.report.get('freq'))}). Fill the missing timestamps, use a "
            "shorter lookback, or pass allow_gaps=True (--allow-gaps)."
        )
    noun = "a series" if sd.n_series == 1 else f"the longest of {sd.n_series} series"
    return (
        f"{noun} of {longest} rows gives no window for {what}; it needs at least {spec.span} rows. "
        "Use a shorter lookback or horizon, or more data."
    )

