"""The windowing engine: lazy, exact sliding windows over one or many series.

A :class:`Windows` object holds the data once (a view of the caller's array whenever possible)
plus one integer per window -- the row where the window starts. Every batch is gathered on demand
from a strided view of the data, so no ``lookback x`` copy of the data ever exists unless the
user asks for it with :meth:`Windows.to_numpy` (which first checks that it fits in memory).

The semantics, for a series ``x[0..n-1]``, a window starting at row ``s``, ``lookback`` L,
``sampling_rate`` r and horizon h:

- input rows: ``x[s + k*r]`` for ``k = 0..L-1``; the last input row is ``e = s + (L-1)*r``;
- target: row ``e + h`` of the target column(s); ``h = 0`` labels a window by its own last row;
- starts: ``0, stride, 2*stride, ...`` (relative to each series) while every needed row exists;
  windows never cross a series boundary nor, unless ``allow_gaps=True``, a gap in time.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import as_strided

from ._validation import check_bool, check_choice, check_int, check_int_sequence, param_error
from .exceptions import DataError, MemoryBudgetError, ShapeError
from .io import SeriesData, as_series

__all__ = ["WindowSpec", "Windows", "windows"]

LAYOUTS = ("NTC", "NCT", "NSTC", "NTHWC", "NTCHW")

# Batches at least this large go through torch.index_select when torch is installed: it copies
# 8 KiB window blocks ~2x faster than numpy's fancy indexing (see docs/performance.md).
_TORCH_MIN_BYTES = 1 << 20


@dataclass(frozen=True)
class WindowSpec:
    """Everything that defines how windows are cut (JSON-safe, saved with pipelines).

    Attributes
    ----------
    lookback : int
        Input time steps per window.
    horizons : tuple of int
        Target offsets after the last input row.
    scalar_horizon : bool
        True when a single int horizon was given (``y`` has no horizon axis).
    stride, sampling_rate : int
        Step between window starts; step between the rows of one window.
    layout : str
        Output layout of ``X``.
    subsequences : int or None
        Number of sub-windows for layout ``"NSTC"``.
    dtype : str
        dtype of the batches.
    allow_gaps : bool
        Whether windows may span a gap in time.
    """

    lookback: int
    horizons: tuple[int, ...] = (1,)
    scalar_horizon: bool = True
    stride: int = 1
    sampling_rate: int = 1
    layout: str = "NTC"
    subsequences: int | None = None
    dtype: str = "float32"
    allow_gaps: bool = False

    @property
    def last_input_offset(self) -> int:
        """Offset of the last input row from the window start, ``(lookback - 1) * sampling_rate``."""
        return (self.lookback - 1) * self.sampling_rate

    @property
    def span(self) -> int:
        """Rows a window needs from its start to its last target row, inclusive."""
        return self.last_input_offset + max(self.horizons) + 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation."""
        return {
            "lookback": self.lookback,
            "horizons": list(self.horizons),
            "scalar_horizon": self.scalar_horizon,
            "stride": self.stride,
            "sampling_rate": self.sampling_rate,
            "layout": self.layout,
            "subsequences": self.subsequences,
            "dtype": self.dtype,
            "allow_gaps": self.allow_gaps,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WindowSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**d, "horizons": tuple(d["horizons"])})


def _make_spec(
    lookback: Any,
    horizon: Any,
    stride: Any,
    sampling_rate: Any,
    layout: Any,
    subsequences: Any,
    dtype: Any,
    allow_gaps: Any,
) -> WindowSpec:
    lookback = check_int(lookback, "lookback", minimum=1)
    if isinstance(horizon, (int, np.integer)) and not isinstance(horizon, bool) and horizon < 0:
        raise param_error(
            "horizon", "an integer >= 0 (0 = the window's own last row)", horizon,
            "A negative horizon would put the target inside the input window; use horizon >= 0.",
        )
    horizons, scalar = check_int_sequence(horizon, "horizon", minimum=0)
    stride = check_int(stride, "stride", minimum=1)
    sampling_rate = check_int(sampling_rate, "sampling_rate", minimum=1)
    check_choice(layout, "layout", LAYOUTS)
    if layout == "NSTC":
        if subsequences is None:
            raise param_error(
                "subsequences", "an integer when layout='NSTC'", subsequences,
                f"Pass subsequences=S with lookback % S == 0, e.g. one of {_divisors(lookback)}.",
            )
        subsequences = check_int(subsequences, "subsequences", minimum=1)
        if lookback % subsequences:
            raise ShapeError(
                f"`lookback` must be divisible by `subsequences` for layout 'NSTC'. Received: lookback={lookback}, "
                f"subsequences={subsequences}. Valid subsequences for lookback={lookback}: {_divisors(lookback)}."
            )
    elif subsequences is not None:
        raise param_error("subsequences", "None unless layout='NSTC'", subsequences)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise param_error("dtype", "a numpy dtype name such as 'float32'", dtype) from None
    if dt.kind not in "fiu":
        raise param_error("dtype", "a numeric dtype such as 'float32'", dtype)
    gaps_ok = check_bool(allow_gaps, "allow_gaps")
    return WindowSpec(lookback, horizons, scalar, stride, sampling_rate, layout, subsequences, dt.name, gaps_ok)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


class _Arange:
    """``start, start + step, ...`` (``n`` values) without storing them: the start rows of one series.

    Indexing with an integer array or mask gives an ndarray; ``np.asarray`` materializes it.
    """

    __slots__ = ("dtype", "n", "start", "step")

    def __init__(self, start: int, step: int, n: int, dtype: Any) -> None:
        self.start, self.step, self.n, self.dtype = int(start), int(step), int(n), np.dtype(dtype)

    def __len__(self) -> int:
        return self.n

    @property
    def shape(self) -> tuple[int]:
        return (self.n,)

    def __getitem__(self, index: Any) -> np.ndarray:
        idx = np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return (self.start + idx.astype(np.int64) * self.step).astype(self.dtype, copy=False)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.arange(self.start, self.start + self.n * self.step, self.step, dtype=dtype or self.dtype)


def window_starts(
    bounds: np.ndarray, breaks: np.ndarray, spec: WindowSpec, *, lazy: bool = False
) -> tuple[Any, dict[str, int]]:
    """Start rows of every valid window, by index arithmetic (no loop per series or window).

    Parameters
    ----------
    bounds : ndarray of shape (n_series + 1,)
        Series boundaries in the concatenated rows.
    breaks : ndarray of int
        Rows ``p`` with a gap in time between ``p - 1`` and ``p``.
    spec : WindowSpec
    lazy : bool, default False
        Return an implicit range (no array) for a single series without gaps.

    Returns
    -------
    starts : ndarray of int32 (int64 beyond 2**31 rows)
        Global start rows, series after series, ascending.
    counts : dict
        ``series_too_short`` and ``windows_spanning_gaps``.
    """
    bounds = np.asarray(bounds, dtype=np.int64)
    lengths = np.diff(bounds)
    span = spec.span
    n_per = np.where(lengths >= span, (lengths - span) // spec.stride + 1, 0)
    total = int(n_per.sum())
    # int32 when the rows allow it: half the memory for the one integer per window we keep.
    idx_dtype = np.int32 if int(bounds[-1]) < 2**31 - 1 else np.int64
    if len(lengths) == 1:
        if lazy and not (len(breaks) and not spec.allow_gaps):
            # One series without gaps: the starts are a range; keep it implicit (no O(n) array).
            return _Arange(int(bounds[0]), spec.stride, total, idx_dtype), {
                "series_too_short": int((lengths < span).sum()), "windows_spanning_gaps": 0,
            }
        starts = np.arange(int(bounds[0]), int(bounds[0]) + total * spec.stride, spec.stride, dtype=idx_dtype)
    else:
        # Window i of series k starts at bounds[k] + (i - first[k]) * stride = i * stride + offset[k]:
        # one arange and one repeat, in int32 when the rows allow it (this runs for 10^5-10^6 series).
        first = np.cumsum(n_per) - n_per
        offset = (bounds[:-1] - first * spec.stride).astype(np.int64)
        if idx_dtype == np.int32 and total * spec.stride < 2**31 and offset.min(initial=0) > -(2**31):
            offset = offset.astype(np.int32)
            starts = np.arange(0, total * spec.stride, spec.stride, dtype=np.int32)
        else:
            starts = np.arange(0, total * spec.stride, spec.stride, dtype=np.int64)
        starts += np.repeat(offset, n_per)
        starts = starts.astype(idx_dtype, copy=False)
    counts = {"series_too_short": int((lengths < span).sum()), "windows_spanning_gaps": 0}
    if len(breaks) and not spec.allow_gaps and total:
        seg = np.zeros(int(bounds[-1]) + 1, dtype=np.int32)
        seg[breaks] = 1
        np.cumsum(seg, out=seg)
        ok = seg[starts] == seg[starts + span - 1]
        counts["windows_spanning_gaps"] = int((~ok).sum())
        starts = starts[ok]
    return starts, counts


def windows(
    data: Any,
    lookback: int,
    horizon: int | Sequence[int] = 1,
    target: Any = None,
    features: Any = None,
    stride: int = 1,
    sampling_rate: int = 1,
    layout: str = "NTC",
    dtype: str = "float32",
    group: Any = None,
    time: Any = None,
    *,
    subsequences: int | None = None,
    nan_policy: str = "raise",
    allow_gaps: bool = False,
) -> Windows:
    """Cut lazy sliding windows (and their targets) out of one or many series.

    Parameters
    ----------
    data : array-like, DataFrame, path or list of those
        ``(n,)``, ``(n, n_features)`` or ``(n, *feature_shape)`` (frames ``(n, H, W, C)``); a
        DataFrame, CSV/Parquet path, or a list with one array/DataFrame per series.
    lookback : int
        Input time steps per window (``L``).
    horizon : int or sequence of int, default 1
        Target offset(s) after the last input row. A sequence gives ``y`` a horizon axis;
        ``0`` labels a window by its own last row. Negative values are an error.
    target : str, int, list or None
        Target column(s) by name (DataFrames) or position (arrays). A single name gives ``y`` of
        shape ``(N,)`` (or ``(N, H)``); a list adds a trailing target axis. ``None``: no ``y``.
    features : list of str or int, optional
        Input columns. Default: every numeric column except ``time`` and ``group``
        (the target's past values included, as in autoregressive models).
    stride : int, default 1
        Rows between consecutive window starts of a series.
    sampling_rate : int, default 1
        Rows between consecutive time steps inside a window.
    layout : {"NTC", "NCT", "NSTC", "NTHWC", "NTCHW"}, default "NTC"
        ``"NTC"`` (batch, time, features) for LSTM/Keras; ``"NCT"`` for PyTorch Conv1d;
        ``"NSTC"`` (batch, subsequences, steps, features) for a TimeDistributed CNN (needs
        ``subsequences``); for frames, ``"NTC"``/``"NTHWC"`` keep ``(N, T, H, W, C)`` and
        ``"NTCHW"`` moves channels for PyTorch Conv2d.
    dtype : str, default "float32"
        dtype of ``X`` and ``y`` batches (the data itself is not converted).
    group : str or array-like, optional
        Series key column or one key per row; windows never cross series.
    time : str or array-like, optional
        Time column or one timestamp per row (a DatetimeIndex is used automatically). Used to
        check order, find gaps (no window spans one unless ``allow_gaps``) and for provenance.
    subsequences : int, optional
        Number of sub-windows for ``layout="NSTC"``; ``lookback % subsequences`` must be 0.
    nan_policy : {"raise", "drop", "ffill", "interpolate"}, default "raise"
        What to do with NaN/inf values (see :func:`seqprep.io.as_series`).
    allow_gaps : bool, default False
        Let windows span gaps in time.

    Returns
    -------
    Windows
        Lazy windows: ``len(w)``, ``w.shape``, ``w[i]``, ``w[a:b]``, ``w[idx]``,
        ``w.batches(...)``, ``w.to_numpy()``, ``w.provenance()``, ``w.to_torch()``,
        ``w.to_keras(...)``.

    Raises
    ------
    InvalidParameterError
        For a bad argument (non-positive ``lookback``, unknown column, ...).
    DataError
        For unusable data (NaN, unsorted time, a series too short for one window, ...).

    Notes
    -----
    **Alignment with Keras.** For 2-D data, target column ``c`` and horizon ``h``, the windows and
    targets are exactly those of ``keras.utils.timeseries_dataset_from_array(data,
    data[(lookback - 1) * sampling_rate + h:, c], sequence_length=lookback,
    sampling_rate=sampling_rate, sequence_stride=stride)`` in the same order. Keras pairs
    ``targets[i]`` with the window that *starts* at row ``i``, so the user has to shift the targets
    by hand -- the usual off-by-one trap (a target equal to the last input row is a leak).
    seqprep takes the horizon instead and does the shift itself.

    Examples
    --------
    Ten rows, lookback 3, sampling rate 2, horizon 1: window ``s`` reads rows ``s, s+2, s+4`` and
    its target is row ``s+5``.

    >>> import numpy as np
    >>> x = np.arange(10.0)
    >>> w = windows(x, lookback=3, sampling_rate=2, target=0)
    >>> len(w), w.shape
    (5, (5, 3, 1))
    >>> X, y = w[0:5]
    >>> X[:, :, 0]
    array([[0., 2., 4.],
           [1., 3., 5.],
           [2., 4., 6.],
           [3., 5., 7.],
           [4., 6., 8.]], dtype=float32)
    >>> y
    array([5., 6., 7., 8., 9.], dtype=float32)
    """
    spec = _make_spec(lookback, horizon, stride, sampling_rate, layout, subsequences, dtype, allow_gaps)
    feat_sel, tgt_sel, scalar_target = _normalize_columns(features, target)
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
    n_feat = len(feat_sel) if feat_sel is not None else (sd.values.shape[1] if sd.values.ndim == 2 else None)
    x_data = sd.values[:, :n_feat] if n_feat is not None else sd.values
    tgt_idx = sd.column_index(tgt_sel, "target") if tgt_sel is not None else None
    if spec.layout in ("NTHWC", "NTCHW") and x_data.ndim != 4:
        raise ShapeError(
            f"layout={spec.layout!r} is for image sequences: data must be frames of shape (n, H, W, C). "
            f"Received: rows of shape {x_data.shape[1:]}. Use layout='NTC' or 'NCT' for tabular data."
        )
    if spec.layout in ("NCT", "NSTC") and x_data.ndim != 2:
        raise ShapeError(
            f"layout={spec.layout!r} needs tabular rows (n, n_features). Received: rows of shape "
            f"{x_data.shape[1:]}. For frames use layout 'NTHWC' or 'NTCHW'."
        )
    y_data = None
    if tgt_idx is not None:
        if len(tgt_idx) == 1 and sd.values.dtype == np.dtype(spec.dtype):
            y_data = sd.values[:, tgt_idx[0] : tgt_idx[0] + 1]  # a view: no copy of the target column
        else:
            y_data = np.ascontiguousarray(sd.values[:, tgt_idx]).astype(spec.dtype, copy=False)
    starts, counts = window_starts(sd.bounds, sd.breaks, spec, lazy=True)
    report = {**sd.report, **counts}
    if len(starts) == 0:
        raise DataError(_no_window_message(sd, spec, counts))
    names = (sd.columns[:n_feat] if sd.columns is not None and n_feat is not None else None)
    target_names = tuple(sd.columns[i] for i in tgt_idx) if (tgt_idx is not None and sd.columns) else (
        tuple(str(i) for i in tgt_idx) if tgt_idx is not None else None
    )
    return Windows(
        x_data, y_data, starts, spec, sd, report=report, feature_names=names,
        target_names=target_names, scalar_target=scalar_target,
    )


def _normalize_columns(features: Any, target: Any) -> tuple[list[Any] | None, list[Any] | None, bool]:
    if isinstance(features, (str, int, np.integer)) and not isinstance(features, bool):
        features = [features]
    feat = None if features is None else list(features)
    if feat is not None and not feat:
        raise param_error("features", "a non-empty list of columns, or None for all", features)
    if target is None:
        return feat, None, True
    if isinstance(target, bool):
        raise param_error("target", "a column name, a position, or a list of them", target)
    scalar = isinstance(target, (str, int, np.integer))
    tgt = [target] if scalar else list(target)
    if not tgt:
        raise param_error("target", "a column name or a non-empty list of names", target)
    return feat, tgt, scalar


def _no_window_message(sd: SeriesData, spec: WindowSpec, counts: dict[str, int]) -> str:
    longest = int(np.diff(sd.bounds).max())
    h = spec.horizons if not spec.scalar_horizon else spec.horizons[0]
    what = f"lookback={spec.lookback}, horizon={h}" + (
        f", sampling_rate={spec.sampling_rate}" if spec.sampling_rate != 1 else ""
    )
    if counts["windows_spanning_gaps"]:
        return (
            f"no window fits between the gaps in time: all {counts['windows_spanning_gaps']} candidate windows "
            f"span a gap ({sd.report.get('gaps', 0)} gaps; dominant step {sd.report.get('freq')}). Fill the "
            "missing timestamps, use a shorter lookback, or pass allow_gaps=True."
        )
    noun = "a series" if sd.n_series == 1 else f"the longest of {sd.n_series} series"
    return (
        f"{noun} of {longest} rows gives no window for {what}; it needs at least {spec.span} rows. "
        "Use a shorter lookback or horizon, or more data."
    )


class Windows:
    """Lazy windows over validated series; build them with :func:`windows`.

    Holds the feature rows once (a view of the caller's array when possible), the target rows,
    and one start row per window. Indexing gathers contiguous arrays on demand.

    Examples
    --------
    >>> import numpy as np
    >>> w = windows(np.arange(20.0).reshape(10, 2), lookback=4, target=1)
    >>> len(w), w.shape
    (6, (6, 4, 2))
    >>> X, y = w[[0, 5]]
    >>> X.shape, y.tolist()
    ((2, 4, 2), [9.0, 19.0])
    """

    def __init__(
        self,
        x_data: np.ndarray,
        y_data: np.ndarray | None,
        starts: np.ndarray,
        spec: WindowSpec,
        series: SeriesData,
        *,
        report: dict[str, Any] | None = None,
        feature_names: Sequence[str] | None = None,
        target_names: Sequence[str] | None = None,
        scalar_target: bool = True,
        batch_transform: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        name: str | None = None,
    ) -> None:
        self._x = x_data
        self._y = y_data
        if not isinstance(starts, _Arange):
            starts = np.asarray(starts)
            starts = starts if starts.dtype in (np.int32, np.int64) else starts.astype(np.int64)
        self._starts = starts
        self.spec = spec
        self._series = series
        self.report = dict(report or {})
        self.feature_names = tuple(feature_names) if feature_names is not None else None
        self.target_names = tuple(target_names) if target_names is not None else None
        self._scalar_target = scalar_target
        self._batch_transform = batch_transform
        self.name = name
        self._view = _strided_rows(x_data, spec)
        self._torch_view: Any = None
        self._augment: Any = None
        self._augment_seed = 0
        self._augment_calls = 0

    # ------------------------------------------------------------------ basic protocol
    def __len__(self) -> int:
        return int(self._starts.shape[0])

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        y = f", y {self.y_shape}" if self._y is not None else ""
        return (
            f"<Windows{label}: {len(self)} windows, X {self.shape}{y}, layout={self.spec.layout!r}, "
            f"{self._series.n_series} series>"
        )

    @property
    def starts(self) -> np.ndarray:
        """Global start row of each window (read-only view)."""
        view = np.asarray(self._starts).view()
        view.flags.writeable = False
        return view

    @property
    def series_data(self) -> SeriesData:
        """The validated series the windows are cut from."""
        return self._series

    @property
    def data(self) -> np.ndarray:
        """The feature rows the windows read (not copied)."""
        return self._x

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """Shape of one window's ``X`` in the output layout."""
        L = self.spec.lookback
        feat = tuple(self._x.shape[1:])
        layout = self.spec.layout
        if layout == "NCT":
            return (feat[0], L)
        if layout == "NSTC":
            s = self.spec.subsequences or 1
            return (s, L // s, *feat)
        if layout == "NTCHW":
            h, w_, c = feat
            return (L, c, h, w_)
        return (L, *feat)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape ``X`` would have if materialized."""
        return (len(self), *self.sample_shape)

    @property
    def y_shape(self) -> tuple[int, ...] | None:
        """Shape ``y`` would have if materialized (None without a target)."""
        if self._y is None:
            return None
        shape: tuple[int, ...] = (len(self),)
        if not self.spec.scalar_horizon:
            shape += (len(self.spec.horizons),)
        if not self._scalar_target:
            shape += (self._y.shape[1],)
        return shape

    @property
    def n_features(self) -> int:
        """Number of input features (channels for frames)."""
        return int(self._x.shape[-1])

    @property
    def has_target(self) -> bool:
        """Whether batches carry ``y``."""
        return self._y is not None

    @property
    def nbytes(self) -> int:
        """Bytes ``X`` and ``y`` would take if materialized."""
        item = np.dtype(self.spec.dtype).itemsize
        total = math.prod(self.shape) * item
        if self.y_shape is not None:
            total += math.prod(self.y_shape) * item
        return int(total)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            n = len(self)
            if not -n <= key < n:
                raise IndexError(f"window index {key} is out of range for {n} windows")
            out = self._take(np.array([int(key) % n], dtype=np.int64))
            return tuple(a[0] for a in out) if isinstance(out, tuple) else out[0]
        if isinstance(key, slice):
            idx = np.arange(len(self), dtype=np.int64)[key]
        else:
            idx = np.asarray(key)
            if idx.dtype == bool:
                if idx.shape != (len(self),):
                    raise IndexError(f"boolean index of shape {idx.shape} does not match {len(self)} windows")
                idx = np.flatnonzero(idx)
            elif idx.dtype.kind not in "iu":
                raise IndexError(f"windows are indexed by int, slice or integer/boolean array; got dtype {idx.dtype}")
            idx = idx.astype(np.int64, copy=False)
            if idx.size and (idx.max() >= len(self) or idx.min() < -len(self)):
                raise IndexError(f"window index out of range for {len(self)} windows")
            idx = np.where(idx < 0, idx + len(self), idx)
        return self._take(idx)

    # ------------------------------------------------------------------ gathering
    def _take(self, idx: np.ndarray, rng: np.random.Generator | None = None) -> Any:
        starts = self._starts[idx]
        X = self._gather_x(starts)
        if rng is not None and self._augment is not None:
            X = np.asarray(self._augment(X, rng), dtype=X.dtype)
        y = None
        if self._y is not None:
            rows = (starts + self.spec.last_input_offset)[:, None] + np.asarray(self.spec.horizons)[None, :]
            y = self._y[rows]  # (k, H, n_targets)
            if self._scalar_target:
                y = y[..., 0]
            if self.spec.scalar_horizon:
                y = y[:, 0]
            y = np.ascontiguousarray(y)
        if self._batch_transform is not None:
            X = self._batch_transform(X, starts)
        X = self._apply_layout(X)
        return (X, y) if y is not None else X

    def _gather_x(self, starts: np.ndarray) -> np.ndarray:
        """``X`` in (k, L, *feat) order, contiguous, in the output dtype."""
        out_dtype = np.dtype(self.spec.dtype)
        k = len(starts)
        window_bytes = self.spec.lookback * int(np.prod(self._x.shape[1:])) * self._x.itemsize
        use_torch = (
            k * window_bytes >= _TORCH_MIN_BYTES
            and self._x.dtype == out_dtype
            and all(st > 0 for st in self._x.strides)
            and _torch_available()
        )
        if use_torch:
            return self._gather_torch(starts)
        X = self._view[starts]
        return X.astype(out_dtype, copy=False) if X.dtype != out_dtype else X

    def _gather_torch(self, starts: np.ndarray) -> np.ndarray:
        import torch

        if self._torch_view is None:
            self._torch_view = _torch_window_view(self._x, self.spec)
        k = len(starts)
        out = np.empty((k, self.spec.lookback, *self._x.shape[1:]), dtype=self._x.dtype)
        target = torch.from_numpy(out.reshape(k, -1) if self._torch_view.dim() == 2 else out)
        torch.index_select(self._torch_view, 0, torch.from_numpy(np.asarray(starts, dtype=np.int64)), out=target)
        return out

    def _apply_layout(self, X: np.ndarray) -> np.ndarray:
        layout = self.spec.layout
        if layout == "NCT":
            return np.ascontiguousarray(X.transpose(0, 2, 1))
        if layout == "NSTC":
            s = self.spec.subsequences or 1
            return X.reshape(X.shape[0], s, self.spec.lookback // s, *X.shape[2:])
        if layout == "NTCHW":
            return np.ascontiguousarray(np.moveaxis(X, -1, 2))
        return X

    # ------------------------------------------------------------------ iteration and export
    def batches(
        self, batch_size: int = 32, shuffle: bool = False, seed: int | None = None, drop_last: bool = False
    ) -> Iterator[Any]:
        """Iterate over batches: ``X`` or ``(X, y)`` per batch, each window once.

        Parameters
        ----------
        batch_size : int, default 32
        shuffle : bool, default False
            Visit windows in a random order (seeded by ``seed``).
        seed : int, optional
            Seed of the shuffle.
        drop_last : bool, default False
            Skip the last, smaller batch.

        Examples
        --------
        >>> import numpy as np
        >>> w = windows(np.arange(12.0), lookback=3, target=0)
        >>> [X.shape[0] for X, y in w.batches(4)]
        [4, 4, 1]
        """
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        check_bool(shuffle, "shuffle")
        check_bool(drop_last, "drop_last")
        n = len(self)
        idx_dtype = np.int32 if n < 2**31 - 1 else np.int64
        order = np.arange(n, dtype=idx_dtype)
        if shuffle:
            np.random.default_rng(seed).shuffle(order)
        stop = n - n % batch_size if drop_last else n
        rng = self.augmentation_rng()
        for i in range(0, stop, batch_size):
            yield self._take(order[i : i + batch_size], rng)

    def with_augmentation(
        self, augment: Callable[[np.ndarray, np.random.Generator], np.ndarray], seed: int = 0
    ) -> Windows:
        """A copy whose :meth:`batches`, torch loader and :func:`seqprep.training.fit` apply ``augment`` to ``X``.

        For training windows only.

        Indexing (``w[i]``, ``w[idx]``) and :meth:`to_numpy` return the windows unaugmented.
        """
        new = self._copy()
        new._augment = augment
        new._augment_seed = int(seed)
        new._augment_calls = 0
        return new

    @property
    def augmentation(self) -> Callable[[np.ndarray, np.random.Generator], np.ndarray] | None:
        """The training augmentation set by :meth:`with_augmentation`, or None."""
        return self._augment

    @property
    def augmentation_seed(self) -> int:
        """Seed of the augmentation's generator (see :meth:`with_augmentation`)."""
        return self._augment_seed

    def augmentation_rng(self) -> np.random.Generator | None:
        """A fresh generator for one pass (a new stream each call), or None without augmentation."""
        if self._augment is None:
            return None
        self._augment_calls += 1
        return np.random.default_rng([self._augment_seed, self._augment_calls])

    def to_numpy(self, max_bytes: int | None = None) -> Any:
        """Materialize every window, after checking that it fits in memory.

        Parameters
        ----------
        max_bytes : int, optional
            Refuse above this many bytes; default: half of the memory available now.

        Returns
        -------
        X or (X, y)

        Raises
        ------
        MemoryBudgetError
            With the size needed and the lazy alternative.
        """
        need = self.nbytes
        budget = max_bytes if max_bytes is not None else _available_memory() // 2
        if need > budget:
            raise MemoryBudgetError(
                f"materializing {len(self):,} windows of shape {self.sample_shape} ({self.spec.dtype}) needs "
                f"{_fmt_bytes(need)}, more than the {_fmt_bytes(budget)} allowed "
                f"({'max_bytes' if max_bytes is not None else 'half of the available memory'}). Iterate lazily "
                "instead: w.batches(256, shuffle=True), w[i:j], or w.to_torch() in a DataLoader."
            )
        return self._take(np.arange(len(self), dtype=np.int64))

    def _copy(self) -> Windows:
        """Shallow copy sharing the data and the start rows (nothing O(n) is copied)."""
        new = Windows.__new__(Windows)
        new.__dict__.update(self.__dict__)
        new.report = dict(self.report)
        return new

    def subset(self, index: Any, *, name: str | None = None) -> Windows:
        """A new :class:`Windows` with the windows selected by *index* (int array or boolean mask)."""
        idx = np.asarray(index)
        new = Windows.__new__(Windows)
        new.__dict__.update(self.__dict__)
        new._starts = self._starts[idx]
        new.name = name if name is not None else self.name
        new.report = dict(self.report)
        return new

    def with_spec(
        self, *, layout: str | None = None, dtype: str | None = None, subsequences: int | None = None
    ) -> Windows:
        """The same windows in another layout or dtype (no data is copied).

        Examples
        --------
        >>> import numpy as np
        >>> w = windows(np.zeros((20, 3)), lookback=4, target=0)
        >>> w.with_spec(layout="NCT").shape, w.with_spec(layout="NSTC", subsequences=2).shape
        ((16, 3, 4), (16, 2, 2, 3))
        """
        s = self.spec
        layout = s.layout if layout is None else layout
        if subsequences is None and layout == s.layout:
            subsequences = s.subsequences
        horizon: Any = s.horizons[0] if s.scalar_horizon else list(s.horizons)
        spec = _make_spec(
            s.lookback, horizon, s.stride, s.sampling_rate, layout, subsequences, dtype or s.dtype, s.allow_gaps
        )
        new = self._copy()
        new.spec = spec
        new._torch_view = None
        return new

    def provenance(self) -> pd.DataFrame:
        """Where every window comes from: series, start row, last input row, target rows (and times).

        Rows are counted from the start of each series.

        Examples
        --------
        >>> import numpy as np
        >>> windows(np.arange(6.0), lookback=2, target=0).provenance().iloc[0].tolist()
        [0, 0, 1, 2]
        """
        sd = self._series
        starts = np.asarray(self._starts)
        series = np.searchsorted(sd.bounds, starts, side="right") - 1
        offset = sd.bounds[series]
        start = starts - offset
        end = start + self.spec.last_input_offset
        keys = np.asarray(sd.keys, dtype=object)[series] if sd.n_series > 1 else np.zeros(len(self), dtype=np.int64)
        out = {"series": keys, "start": start, "end": end}
        if self._y is not None:
            out["target_row"] = end + max(self.spec.horizons)
        frame = pd.DataFrame(out)
        if sd.time is not None:
            frame["start_time"] = sd.time[starts]
            frame["end_time"] = sd.time[starts + self.spec.last_input_offset]
            if self._y is not None:
                frame["target_time"] = sd.time[starts + self.spec.last_input_offset + max(self.spec.horizons)]
        return frame

    # ------------------------------------------------------------------ framework adapters
    def to_torch(self) -> Any:
        """A ``torch.utils.data.Dataset`` over these windows (works with ``num_workers > 0``)."""
        from .adapters import TorchWindows

        return TorchWindows(self)

    def to_keras(self, batch_size: int = 32, shuffle: bool = True, seed: int | None = None, **kwargs: Any) -> Any:
        """A Keras 3 ``PyDataset`` yielding batches of these windows."""
        from .adapters import keras_dataset

        return keras_dataset(self, batch_size=batch_size, shuffle=shuffle, seed=seed, **kwargs)


def _strided_rows(x: np.ndarray, spec: WindowSpec) -> np.ndarray:
    """Read-only view of shape (n_valid_starts, lookback, *feat): window ``s`` is ``view[s]``."""
    n_valid = max(x.shape[0] - spec.last_input_offset, 0)
    shape = (n_valid, spec.lookback, *x.shape[1:])
    strides = (x.strides[0], x.strides[0] * spec.sampling_rate, *x.strides[1:])
    return as_strided(x, shape=shape, strides=strides, writeable=False)


def _torch_window_view(x: np.ndarray, spec: WindowSpec) -> Any:
    """A torch view in which row ``s`` is the window starting at ``s`` (no copy).

    Contiguous rows with ``sampling_rate=1`` make every window one contiguous block: a 2-D
    ``(n_valid, lookback * row)`` view, which ``index_select`` copies as whole blocks (the fast
    case). Otherwise a 3-D+ strided view of the same storage.
    """
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # read-only memmaps: we never write through the tensor
        base = torch.from_numpy(x)
    n_valid = x.shape[0] - spec.last_input_offset
    item = x.itemsize
    if x.flags.c_contiguous and spec.sampling_rate == 1:
        row = int(np.prod(x.shape[1:]))
        return base.reshape(x.shape[0], row).as_strided((n_valid, spec.lookback * row), (row, 1))
    strides = tuple(st // item for st in x.strides)
    return base.as_strided(
        (n_valid, spec.lookback, *x.shape[1:]), (strides[0], strides[0] * spec.sampling_rate, *strides[1:])
    )


_TORCH_STATE: dict[str, bool] = {}


def _torch_available() -> bool:
    if "ok" not in _TORCH_STATE:
        if os.environ.get("SEQPREP_NO_TORCH_GATHER"):
            _TORCH_STATE["ok"] = False
        elif "torch" in sys.modules:
            _TORCH_STATE["ok"] = True
        else:
            try:
                import torch  # noqa: F401
            except ImportError:
                _TORCH_STATE["ok"] = False
            else:
                _TORCH_STATE["ok"] = True
    return _TORCH_STATE["ok"]


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.1f} TB"


def _windows_getstate(self: Windows) -> dict[str, Any]:
    # The strided view would pickle as a full (lookback x data) copy: drop it and rebuild.
    state = dict(self.__dict__)
    state["_view"] = None
    state["_torch_view"] = None
    return state


def _windows_setstate(self: Windows, state: dict[str, Any]) -> None:
    self.__dict__.update(state)
    self._view = _strided_rows(self._x, self.spec)


Windows.__getstate__ = _windows_getstate  # type: ignore[method-assign]
Windows.__setstate__ = _windows_setstate  # type: ignore[attr-defined]
