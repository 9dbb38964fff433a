"""windows() and the lazy Windows object (the face is :mod:`seqprep.windowing`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from .._threads import run_parts, threads_for
from .._validation import check_bool, check_choice, check_int
from ..exceptions import DataError, MemoryBudgetError
from ..io import NAN_POLICIES, SeriesData
from ._inputs import (
    _check_fits_dtype,
    _check_layout_fits,
    _column_names,
    _input_columns,
    _no_window_message,
    _normalize_columns,
    _read_series,
    _target_rows,
)
from ._spec import WindowSpec, check_horizon_zero, make_window_spec
from ._starts import _Arange, epoch_order, window_starts
from ._views import _available_memory, _fmt_bytes, _strided_rows
from .covariates import ColumnPlan, RoleData, check_dict_layout, gather_roles, make_roles, needs_roles, window_nbytes

__all__ = ["Batch", "Windows", "windows"]

#: The per-window target normalization hook: ``(X (k, L, C), y or None) -> (X, y, {key: (k, n_targets)})``.
TargetTransform: TypeAlias = Callable[[np.ndarray, "np.ndarray | None"], tuple[Any, Any, dict[str, np.ndarray]]]

#: What indexing windows returns: ``X`` alone (windows without a target) or ``(X, y)``.
#: ``X, y = w[0:32]`` unpacks either way for a type checker; a window (``w[0]``) drops the first axis.
#: With roles (known/static inputs, categorical columns, masks, weights) ``X`` is a dict of arrays
#: (see :mod:`seqprep.windowing`); it is typed as an array here so that the plain layout stays exact.
Batch: TypeAlias = np.ndarray | tuple[np.ndarray, np.ndarray]

# A batch is gathered by numpy's fancy indexing in one thread: it runs at the single-core copy rate,
# and a torch/OpenMP gather on two threads stalled 10-30x whenever another process held a core. Where
# an override asks for more (seqprep.set_threads / SEQPREP_THREADS; batches of 2 MiB and more), it is
# cut into parts of about this many bytes on seqprep's pool of waiting threads. The automatic policy
# does not pick the pool for the gather: on the rule in docs/performance.md ("Threads") it has not
# been shown to pay (no idle machine was at hand; on busy cores it lost to one thread).
_PART_BYTES = 1 << 18
# Whether the thread policy may pick several threads for a gather on its own (see above).
_AUTO_THREADS = False
# A gather larger than this asks the system how much memory is available before allocating.
_CHECK_ABOVE_BYTES = 256 << 20


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
    allow_horizon_zero: bool = False,
    known: Any = None,
    static: Any = None,
    weight: Any = None,
    fill: str = "ffill",
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
    nan_policy : {"raise", "drop", "ffill", "interpolate", "mask"}, default "raise"
        What to do with NaN/inf values (see :func:`seqprep.io.as_series`). ``"mask"`` fills the
        missing inputs as ``fill`` says and carries a boolean mask beside them (batch keys
        ``"past_mask"``, ``"known_mask"``; True = the value was missing); targets must be complete.
    allow_gaps : bool, default False
        Let windows span gaps in time.
    allow_horizon_zero : bool, default False
        Accept ``horizon=0`` for a target that is also an input (``y`` is then the last input row:
        a leak, refused by default). Horizon 0 for a target that is not an input needs no flag.
    known : str or list of str, optional
        Columns known in advance (calendar, holidays, planned prices). A window reads them over its
        ``L`` input rows **and** every row ``e + 1 .. e + H`` after its last input row ``e``
        (``H = max(horizon)``), nothing later: batch key ``"known"`` of shape ``(B, L + H, C)``.
    static : str or list of str, optional
        Columns constant within a series, stored once per series (an ``(n_series, C)`` table) and
        gathered by each window's series: batch key ``"static"`` ``(B, C)``. A value that changes
        inside a series raises :class:`~seqprep.exceptions.StaticValueError`.
    weight : str or mapping, optional
        A weight column (a window's weight is the value at its first target row) or a mapping /
        ``pd.Series`` ``{series key: weight}``: batch key ``"weight"`` float32 ``(B,)``. Weights
        must be finite, >= 0 and not all 0.
    fill : {"ffill", "zero", "mean"}, default "ffill"
        How ``nan_policy="mask"`` fills: the series' last value (0 before its first), 0, or the
        column mean over the rows given.

    Returns
    -------
    Windows
        Lazy windows: ``len(w)``, ``w.shape``, ``w[i]``, ``w[a:b]``, ``w[idx]``,
        ``w.batches(...)``, ``w.to_numpy()``, ``w.provenance()``, ``w.to_torch()``,
        ``w.to_keras(...)``. With ``known``, ``static``, ``weight``, ``nan_policy="mask"`` or a
        categorical column, ``X`` is a dict of arrays (see :mod:`seqprep.windowing`).

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

    **Categorical columns.** String, ``category`` and ``object`` columns (in ``features``,
    ``known`` or ``static``) become integer codes: ``1..V`` for their values in sorted order
    (compared as text), 0 for a missing value. Plain ``windows`` fits the vocabulary on **every
    row it is given** -- fine for exploring, a leak of the test part's categories into training
    otherwise: a :class:`seqprep.Pipeline` fits it on the training rows only, and codes
    categories first seen later as 0 (counted in ``unknown_counts_``).

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

    A known-in-advance column and a static one (two series of 6 rows, lookback 3, horizon 2): the
    known block covers the 3 input rows and the 2 rows after them.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"id": ["a"] * 6 + ["b"] * 6, "y": np.arange(12.0),
    ...                    "hol": np.arange(12.0) * 10, "size": [1.0] * 6 + [2.0] * 6})
    >>> w = windows(df, lookback=3, horizon=2, target="y", group="id", known=["hol"], static=["size"])
    >>> X, y = w[0:2]
    >>> sorted(X), X["known"].shape, X["known"][0, :, 0].tolist(), X["static"].tolist(), y.tolist()
    (['known', 'past', 'static'], (2, 5, 1), [0.0, 10.0, 20.0, 30.0, 40.0], [[1.0], [1.0]], [4.0, 5.0])
    """
    spec = make_window_spec(lookback, horizon, stride, sampling_rate, layout, subsequences, dtype, allow_gaps)
    check_choice(nan_policy, "nan_policy", (*NAN_POLICIES, "mask"))
    feat_sel, tgt_sel, scalar_target = _normalize_columns(features, target)
    roles = make_roles(known, static, weight, nan_policy, fill)
    from ._with_roles import role_windows  # the role path builds Windows: imported on call

    if roles.active or needs_roles(data, feat_sel):
        return role_windows(
            data, spec, feat_sel, tgt_sel, scalar_target, roles, time=time, group=group, nan_policy=nan_policy,
            allow_horizon_zero=allow_horizon_zero,
        )
    sd = _read_series(data, feat_sel, tgt_sel, target, time=time, group=group, nan_policy=nan_policy)
    n_feat, x_data, tgt_idx = _input_columns(sd, feat_sel, tgt_sel)
    if tgt_idx is not None:
        shared = [i for i in tgt_idx if n_feat is None or i < n_feat]
        check_horizon_zero(spec.horizons, [sd.columns[i] if sd.columns else str(i) for i in shared], allow_horizon_zero)
    _check_layout_fits(spec.layout, x_data)
    _check_fits_dtype(sd.values, spec.dtype)
    y_data = _target_rows(sd, tgt_idx, spec.dtype)
    starts, counts = window_starts(sd.bounds, sd.breaks, spec, lazy=True)
    report = {**sd.report, **counts}
    if len(starts) == 0:
        raise DataError(_no_window_message(sd, spec, counts))
    names, target_names = _column_names(sd, n_feat, tgt_idx)
    return Windows(
        x_data, y_data, starts, spec, sd, report=report, feature_names=names,
        target_names=target_names, scalar_target=scalar_target,
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
        roles: RoleData | None = None,
        target_transform: TargetTransform | None = None,
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
        self._target_transform = target_transform
        self.name = name
        self._roles = roles
        self._view = _strided_rows(x_data, spec)
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
    def is_dict(self) -> bool:
        """Whether batches carry ``X`` as a dict of arrays (roles, categorical columns, masks or weights)."""
        return self._roles is not None

    @property
    def inputs(self) -> dict[str, Any]:
        """The columns of each input block and the cardinality of each categorical column.

        ``{"past": [...], "past_cat": [...], "known": [...], "known_cat": [...], "static": [...],
        "static_cat": [...], "cardinalities": {column: number of codes, 0 included}}`` (models size
        their embeddings from it); plain windows list their features under ``"past"``.

        Examples
        --------
        >>> import numpy as np
        >>> windows(np.zeros((10, 2)), lookback=3, target=0).inputs["past"]
        ['0', '1']
        """
        if self._roles is not None:
            out = self._roles.plan.inputs(self._roles.vocab)
            if self.feature_names is not None:  # a pipeline's past block holds its derived features too
                out["past"] = list(self.feature_names)
            return out
        names = self.feature_names or tuple(str(i) for i in range(self.n_features))
        return ColumnPlan(past=tuple(names)).inputs({})

    @property
    def unknown_counts(self) -> dict[str, int]:
        """Rows (static columns: series) coded 0 -- unseen at fit or missing -- per categorical column."""
        return dict(self._roles.unknown_counts) if self._roles is not None else {}

    @property
    def vocabularies(self) -> dict[str, Any]:
        """The :class:`~seqprep.windowing.Vocabulary` of each categorical column."""
        return dict(self._roles.vocab) if self._roles is not None else {}

    @property
    def roles(self) -> RoleData | None:
        """The arrays behind the dict batches (None for plain windows)."""
        return self._roles

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
        if self._roles is not None:
            total += len(self) * window_nbytes(self._roles, self.spec)
        return int(total)

    def __getitem__(self, key: int | slice | Sequence[int] | np.ndarray) -> Batch:
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            n = len(self)
            if not -n <= key < n:
                raise IndexError(f"window index {key} is out of range for {n} windows")
            out: Any = self._take(np.array([int(key) % n], dtype=np.int64))
            return tuple(_first(a) for a in out) if isinstance(out, tuple) else _first(out)  # type: ignore[return-value]
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
    def _take(self, idx: np.ndarray, rng: np.random.Generator | None = None, threads: int | None = None) -> Batch:
        """The batch of windows at positions *idx* (in range, integer); *threads*: the pass's gather threads."""
        plan = self._plan()
        if len(idx) * plan.sample_bytes >= _CHECK_ABOVE_BYTES:
            self._check_fits(len(idx))
        starts = plan.starts_of(idx)
        X = self._gather_x(starts, plan, threads)
        if rng is not None and self._augment is not None:
            X = np.asarray(self._augment(X, rng), dtype=X.dtype)
        extra = None
        if self._roles is not None:
            extra = gather_roles(self._roles, starts, self.spec, self._series.bounds)
        y = None
        if plan.y_column is not None:  # one target, one horizon: one take from the shifted column
            y = plan.y_column[starts]
        elif self._y is not None:
            rows = (starts + self.spec.last_input_offset)[:, None] + plan.horizons[None, :]
            y = self._y[rows]  # (k, H, n_targets)
            if self._scalar_target:
                y = y[..., 0]
            if self.spec.scalar_horizon:
                y = y[:, 0]
            y = np.ascontiguousarray(y)
        if self._batch_transform is not None:
            X = self._batch_transform(X, starts)
        norm: dict[str, np.ndarray] = {}
        if self._target_transform is not None:  # per-window target normalization (RevIN): target_loc/target_scale
            X, y, norm = self._target_transform(X, y)
        X = self._apply_layout(X)
        if extra is not None or norm:
            extra = extra or {}
            if "past_mask" in extra:  # the mask has past's shape, so it takes past's layout
                extra["past_mask"] = self._apply_layout(extra["past_mask"])
            past = {"past": X} if self._roles is None or self._roles.include_past else {}
            Xd: Any = {**past, **extra, **norm}
            return (Xd, y) if y is not None else Xd
        return (X, y) if y is not None else X

    def _plan(self) -> _Plan:
        """What every batch of these windows shares, worked out once (rebuilt if the spec, data or starts change).

        A batch of 256 small windows takes a few hundred microseconds; after its megabyte-sized copy
        has evicted the caches, each small per-batch step (sizes, dtypes, index arithmetic) costs
        10-20 us, so doing them once per spec instead of once per batch is worth ~10 % of a pass.
        """
        key = (self.spec, self._starts, self._x, self._y)
        cached = self.__dict__.get("_plan_cache")
        if cached is not None and all(a is b for a, b in zip(cached[0], key, strict=True)):
            return cached[1]  # type: ignore[no-any-return]
        plan = _Plan(self)
        self.__dict__["_plan_cache"] = (key, plan)
        return plan

    def _check_fits(self, k: int) -> None:
        """Refuse up front (MemoryBudgetError) a gather of *k* windows larger than the memory available now.

        Only large gathers ask the system (batches stay free of the check's cost); numpy's own
        MemoryError would come later, or the system would start swapping.
        """
        n = len(self)
        if not n or not k:
            return
        need = self.nbytes // n * k
        if need < _CHECK_ABOVE_BYTES:
            return
        available = _available_memory()
        if need > available:
            raise MemoryBudgetError(
                f"gathering {k:,} windows of shape {self.sample_shape} ({self.spec.dtype}) needs {_fmt_bytes(need)}, "
                f"more than the {_fmt_bytes(available)} of memory available. Take them in batches instead: "
                "w.batches(256), w[i:j] for a range, or w.to_torch() in a DataLoader."
            )

    def _gather_x(self, starts: np.ndarray, plan: _Plan | None = None, threads: int | None = None) -> np.ndarray:
        """``X`` in (k, L, *feat) order, contiguous, in the output dtype (threads: :mod:`seqprep._threads`)."""
        plan = plan or self._plan()
        out_dtype = plan.out_dtype
        k = len(starts)
        if threads is None:
            threads = threads_for(k * plan.window_bytes, automatic=_AUTO_THREADS)
        if threads == 1:
            X = self._view[starts]
            return X.astype(out_dtype, copy=False) if plan.cast else X
        out = np.empty((k, self.spec.lookback, *self._x.shape[1:]), dtype=out_dtype)
        step = max(1, _PART_BYTES // max(1, plan.window_bytes))

        def part(i: int) -> None:
            a = i * step
            out[a : a + step] = self._view[starts[a : a + step]]  # numpy copies without the GIL

        run_parts(part, -(-k // step), threads)
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
        if seed is not None:
            seed = check_int(seed, "seed", minimum=0)
        n = len(self)
        order = epoch_order(n, np.random.default_rng(seed) if shuffle else None)
        stop = n - n % batch_size if drop_last else n
        rng = self.augmentation_rng()
        threads = self._pass_threads(batch_size)
        for i in range(0, stop, batch_size):
            yield self._take(order[i : i + batch_size], rng, threads)

    def _pass_threads(self, batch_size: int) -> int:
        """Gather threads for a pass of batches of *batch_size*: asked once per pass, not per batch (a hot loop)."""
        return threads_for(batch_size * self._plan().window_bytes, automatic=_AUTO_THREADS)

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

    def to_numpy(self, max_bytes: int | None = None) -> Batch:
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
        spec = make_window_spec(
            s.lookback, horizon, s.stride, s.sampling_rate, layout, subsequences, dtype or s.dtype, s.allow_gaps
        )
        if self._roles is not None:
            check_dict_layout(spec.layout)
        new = self._copy()
        new.spec = spec
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
        """A ``torch.utils.data.Dataset`` over these windows (works with ``num_workers > 0``).

        Its :meth:`~seqprep.windowing.adapters.TorchWindows.loader` keeps the time order unless
        asked to shuffle (``loader(shuffle=True)``, for the training part only), and applies the
        training augmentation of :meth:`with_augmentation` to batches.
        """
        # A cycle inside the package on purpose: the adapters wrap Windows, and these
        # convenience methods delegate to them (imported on call).
        from .adapters import TorchWindows

        return TorchWindows(self)

    def to_keras(
        self, batch_size: int = 32, shuffle: bool | None = None, seed: int | None = None, **kwargs: Any
    ) -> Any:
        """A Keras 3 ``PyDataset`` yielding batches of these windows (any Keras backend).

        ``shuffle`` defaults to True for the training part of a split only (``name == "train"``);
        validation, test and other windows keep their time order, so predictions line up with
        the targets. The training augmentation of :meth:`with_augmentation` is applied as in
        :meth:`batches`. See :func:`seqprep.windowing.adapters.keras_dataset`.
        """
        from .adapters import keras_dataset  # convenience method, as above

        return keras_dataset(self, batch_size=batch_size, shuffle=shuffle, seed=seed, **kwargs)

    # ------------------------------------------------------------------ pickling (DataLoader workers)
    def __getstate__(self) -> dict[str, Any]:
        # The strided view would pickle as a full (lookback x data) copy: drop it and rebuild.
        state = dict(self.__dict__)
        state["_view"] = None
        state.pop("_plan_cache", None)  # its target column is a view of _y: pickled, it would be a copy
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.pop("_torch_view", None)  # pickled before the torch gather went
        self.__dict__.update(state)
        self._view = _strided_rows(self._x, self.spec)


def _first(a: Any) -> Any:
    """The first window of a batch: an array's first row, or every block's (a dict batch)."""
    return {k: v[0] for k, v in a.items()} if isinstance(a, dict) else a[0]


class _Plan:
    """The per-spec constants of a gather (see :meth:`Windows._plan`): sizes, dtype, start and target shortcuts."""

    __slots__ = ("cast", "horizons", "idx_dtype", "out_dtype", "sample_bytes", "start0", "starts", "window_bytes",
                 "y_column")

    def __init__(self, w: Windows) -> None:
        spec = w.spec
        self.out_dtype = np.dtype(spec.dtype)
        self.cast = w._x.dtype != self.out_dtype
        feat = int(np.prod(w._x.shape[1:]))
        self.window_bytes = spec.lookback * feat * max(self.out_dtype.itemsize, w._x.itemsize)
        n = len(w)
        self.sample_bytes = w.nbytes // n if n else 0  # X, y and the role blocks of one window
        self.horizons = np.asarray(spec.horizons)
        self.starts = w._starts
        # One series without gaps (an implicit arange of step 1): window i starts at row start0 + i.
        arange = isinstance(w._starts, _Arange) and w._starts.step == 1
        self.start0 = int(w._starts.start) if arange else None  # type: ignore[union-attr,attr-defined]
        self.idx_dtype = w._starts.dtype  # wide enough for every start row
        self.y_column: np.ndarray | None = None
        if w._y is not None and w._scalar_target and spec.scalar_horizon and w._y.ndim == 2:
            # y of the window starting at s is _y[s + last_input_offset + h, 0]: a view shifted once.
            # The target rows follow the spec's dtype (as the general path's fancy index does).
            self.y_column = w._y[spec.last_input_offset + spec.horizons[0] :, 0]

    def starts_of(self, idx: np.ndarray) -> np.ndarray:
        """Start rows of the windows at positions *idx*."""
        if self.start0 is not None:  # (an int32 position + a large offset would overflow: widen first)
            idx = idx.astype(self.idx_dtype, copy=False)
            return idx + self.start0 if self.start0 else idx
        return self.starts[idx]  # type: ignore[no-any-return]

