"""Where windows start: the index arithmetic behind :func:`seqprep.windows`, for :mod:`seqprep.windowing`.

:func:`window_starts` gives the start row of every valid window of every series from the series
boundaries and the gaps in time alone: one ``arange`` (and one ``repeat`` for many series), a
cumulative sum to drop the windows that span a gap, never a loop per series or per window. A
single series without gaps can keep its starts implicit (:class:`_Arange`, no per-window array).
:mod:`seqprep.pipeline` and :mod:`seqprep.dask` call it too; the streamed export
(:mod:`seqprep.outofcore._plan`) applies the same rule block by block.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._spec import WindowSpec

__all__ = ["epoch_order", "window_starts"]


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


def epoch_order(n: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Positions ``0..n-1`` of one pass over ``n`` windows, shuffled in place by ``rng`` when given.

    int32 below 2**31 windows (half the memory of int64; every gather takes it as is), int64 above.
    :meth:`Windows.batches`, the torch loader's sampler and the Keras adapter all draw their epochs
    here, so a seed gives them the same order.
    """
    order = np.arange(n, dtype=np.int32 if n < 2**31 - 1 else np.int64)
    if rng is not None:
        rng.shuffle(order)
    return order


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
    counts = {"series_too_short": int((lengths < span).sum()), "windows_spanning_gaps": 0}
    if len(lengths) == 1:
        if lazy and not (len(breaks) and not spec.allow_gaps):
            # One series without gaps: the starts are a range; keep it implicit (no O(n) array).
            return _Arange(int(bounds[0]), spec.stride, total, idx_dtype), counts
        starts = np.arange(int(bounds[0]), int(bounds[0]) + total * spec.stride, spec.stride, dtype=idx_dtype)
    else:
        starts = _panel_starts(bounds, n_per, total, spec.stride, idx_dtype)
    if len(breaks) and not spec.allow_gaps and total:
        starts, counts["windows_spanning_gaps"] = _drop_gap_spanning(starts, breaks, int(bounds[-1]), span)
    return starts, counts


def _panel_starts(bounds: np.ndarray, n_per: np.ndarray, total: int, stride: int, idx_dtype: Any) -> np.ndarray:
    """Start rows of many series at once: ``n_per[k]`` windows from ``bounds[k]``, every ``stride`` rows."""
    # Window i of series k starts at bounds[k] + (i - first[k]) * stride = i * stride + offset[k]:
    # one arange and one repeat, in int32 when the rows allow it (this runs for 10^5-10^6 series).
    first = np.cumsum(n_per) - n_per
    offset = (bounds[:-1] - first * stride).astype(np.int64)
    if idx_dtype == np.int32 and total * stride < 2**31 and offset.min(initial=0) > -(2**31):
        offset = offset.astype(np.int32)
        starts = np.arange(0, total * stride, stride, dtype=np.int32)
    else:
        starts = np.arange(0, total * stride, stride, dtype=np.int64)  # type: ignore[assignment]
    starts += np.repeat(offset, n_per)
    return starts.astype(idx_dtype, copy=False)


def _drop_gap_spanning(starts: np.ndarray, breaks: np.ndarray, n_rows: int, span: int) -> tuple[np.ndarray, int]:
    """The starts whose ``span`` rows hold no gap in time, and how many were dropped."""
    # Segment number of every row (one more after each break): a window is whole when its first
    # and last rows are in the same segment. O(rows) int32, no per-window loop.
    seg = np.zeros(n_rows + 1, dtype=np.int32)
    seg[breaks] = 1
    np.cumsum(seg, out=seg)
    ok = seg[starts] == seg[starts + span - 1]
    return starts[ok], int((~ok).sum())
