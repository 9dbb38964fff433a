"""Exact quantiles of columns that are read in chunks, over a few passes (for streaming ``RobustScaler``).

Quantiles of chunks do not combine, but order statistics can be found exactly by narrowing: a
first pass counts each column's values and finds its range; every further pass histograms the
values inside the interval that holds each wanted order statistic and keeps only the bin that
holds it, until few enough values are left to collect and sort. Bins are compared against float
edges with ``searchsorted`` (no arithmetic on the values), so membership is exact, and an interval
that holds a single value ends the search at once. The result equals ``np.nanpercentile`` (linear
interpolation between the two order statistics around ``q / 100 * (n - 1)``), bit for bit.

Memory is O(bins + max_buffer) per wanted order statistic, whatever the number of rows; smooth
data needs one histogram pass and one collecting pass after the counting pass.

:func:`group_percentiles` is the in-memory counterpart for many groups at once (per-series
``RobustScaler``): one sort by ``(group, value)``, then every group's order statistics by index
arithmetic, with the same interpolation, so it too equals a per-group ``np.nanpercentile``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import cast

import numpy as np

__all__ = ["StreamingQuantiles", "group_percentiles"]


@dataclass
class _Search:
    """Where order statistic ``rank`` (0-based) of one column lies.

    It is in ``[lo, hi)`` (``[lo, hi]`` when ``closed``), above ``below`` values of the column.
    """

    column: int
    rank: int
    lo: float
    hi: float
    closed: bool = True
    below: int = 0
    inside: int = 0
    value: float | None = None
    edges: np.ndarray | None = None
    counts: np.ndarray | None = None
    buffer: list[np.ndarray] = field(default_factory=list)

    def mask(self, x: np.ndarray) -> np.ndarray:
        return (x >= self.lo) & ((x < self.hi) | (self.closed & (x == self.hi)))


class StreamingQuantiles:
    """Exact percentiles ``q`` of every column of chunks fed over several passes.

    Usage: ``while sq.next_pass(): for chunk in data: sq.update(chunk)``, then :meth:`result`.
    NaN values are ignored, as :func:`numpy.nanpercentile` ignores them.

    Parameters
    ----------
    q : sequence of float
        Percentiles in [0, 100].
    n_columns : int
    bins : int, default 4096
        Histogram bins per pass.
    max_buffer : int, default 1 << 20
        Values collected (and sorted) per order statistic in the last pass.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(10_000, 2))
    >>> sq = StreamingQuantiles([25, 50, 75], 2, bins=16, max_buffer=100)
    >>> while sq.next_pass():
    ...     for chunk in np.array_split(x, 7):
    ...         sq.update(chunk)
    >>> bool(np.array_equal(sq.result(), np.nanpercentile(x, [25, 50, 75], axis=0)))
    True
    """

    def __init__(self, q: Sequence[float], n_columns: int, *, bins: int = 4096, max_buffer: int = 1 << 20) -> None:
        self.q = np.asarray(q, dtype=np.float64)
        self.n_columns = int(n_columns)
        self.bins = max(2, int(bins))
        self.max_buffer = max(1, int(max_buffer))
        self.passes = 0
        self.count = np.zeros(self.n_columns, np.int64)
        self.min = np.full(self.n_columns, np.inf)
        self.max = np.full(self.n_columns, -np.inf)
        self._searches: list[_Search] | None = None  # None during the counting pass

    # ------------------------------------------------------------------ passes
    def next_pass(self) -> bool:
        """Finish the pass just fed (if any) and start the next; False when every quantile is known."""
        if self.passes == 0:
            self.passes = 1
            return True
        if self._searches is None:
            self._searches = []
            for j in np.flatnonzero(self.count):
                pos = self._positions(int(j))
                for r in sorted(set(np.floor(pos).astype(int)) | set(np.ceil(pos).astype(int))):
                    s = _Search(int(j), int(r), float(self.min[j]), float(self.max[j]), inside=int(self.count[j]))
                    if s.lo == s.hi:
                        s.value = s.lo  # a constant column
                    self._searches.append(s)
        else:
            for s in self._pending():
                self._narrow(s)
        pending = self._pending()
        for s in pending:
            s.counts = None
            s.buffer = []
            if s.inside > self.max_buffer:
                s.edges = _edges(s.lo, s.hi, self.bins)
                s.counts = np.zeros(len(s.edges) - 1 + int(s.closed), np.int64)
        if not pending:
            return False
        self.passes += 1
        return True

    def update(self, X: np.ndarray) -> None:
        """Feed one chunk ``(rows, n_columns)`` of the current pass."""
        X = np.asarray(X, dtype=np.float64)
        if self._searches is None:
            ok = ~np.isnan(X)
            self.count += ok.sum(axis=0)
            if len(X):
                self.min = np.fmin(self.min, np.where(ok, X, np.inf).min(axis=0))
                self.max = np.fmax(self.max, np.where(ok, X, -np.inf).max(axis=0))
            return
        # Order statistics of one column that share an interval (the two ranks around one quantile,
        # or every rank in the first histogram pass) share its mask and histogram.
        groups: dict[tuple[int, float, float, bool, bool], list[_Search]] = {}
        for s in self._pending():
            groups.setdefault((s.column, s.lo, s.hi, s.closed, s.counts is None), []).append(s)
        columns = np.ascontiguousarray(X.T)  # one copy: each column is then read contiguously
        for (j, *_, collect), same in groups.items():
            x = columns[j]
            # A pending interval is closed only while it is still the column's whole range [min, max]
            # (narrowing gives half-open bins, or [hi, hi], which is resolved at once): no mask needed.
            x = x[~np.isnan(x)] if same[0].closed else x[same[0].mask(x)]
            if collect:
                for s in same:
                    s.buffer.append(x)
                continue
            edges, bins = cast(np.ndarray, same[0].edges), cast(np.ndarray, same[0].counts)  # set by the pass
            k = _bin_index(x, edges)
            counts = np.bincount(k, minlength=len(bins))[: len(bins)]
            for s in same:
                s.counts = cast(np.ndarray, s.counts) + counts

    def accumulator(self) -> StreamingQuantiles:
        """An empty copy for the current pass.

        Feed it some of the chunks (elsewhere, e.g. on a Dask worker) and :meth:`merge` it back; the
        passes then proceed as if this object had been fed those chunks.
        """
        acc = StreamingQuantiles.__new__(StreamingQuantiles)
        acc.__dict__.update(self.__dict__)
        acc.count = np.zeros_like(self.count)
        acc.min, acc.max = np.full_like(self.min, np.inf), np.full_like(self.max, -np.inf)
        if self._searches is not None:
            acc._searches = [replace(s, counts=None if s.counts is None else np.zeros_like(s.counts), buffer=[])
                             for s in self._searches]
        return acc

    def merge(self, other: StreamingQuantiles) -> None:
        """Add what an :meth:`accumulator` of this pass was fed."""
        if self._searches is None:
            self.count += other.count
            self.min, self.max = np.fmin(self.min, other.min), np.fmax(self.max, other.max)
            return
        for s, o in zip(self._searches, other._searches or (), strict=True):
            if s.value is not None:
                continue
            if s.counts is None:
                s.buffer.extend(o.buffer)
            else:
                s.counts += o.counts

    def result(self) -> np.ndarray:
        """``(len(q), n_columns)`` percentiles (NaN for a column without values)."""
        if self._searches is None or self._pending():
            raise RuntimeError("StreamingQuantiles.result() before every pass was fed")
        value = {(s.column, s.rank): s.value for s in self._searches}
        out = np.full((len(self.q), self.n_columns), np.nan)
        for j in range(self.n_columns):
            if not self.count[j]:
                continue
            for i, p in enumerate(self._positions(j)):
                lo, hi = value[j, int(np.floor(p))], value[j, int(np.ceil(p))]
                # numpy's linear interpolation, in its own form (lerp), for bit-identical results
                out[i, j] = _lerp(cast(float, lo), cast(float, hi), p - np.floor(p))  # every search has its value
        return out

    # ------------------------------------------------------------------ helpers
    def _positions(self, j: int) -> np.ndarray:
        return self.q / 100.0 * (self.count[j] - 1)

    def _pending(self) -> list[_Search]:
        return [s for s in self._searches or () if s.value is None]

    def _narrow(self, s: _Search) -> None:
        """After a pass: the value (collected), or the bin that holds the rank (histogram)."""
        if s.counts is None:
            values = np.sort(np.concatenate(s.buffer)) if s.buffer else np.zeros(0)
            s.value = float(values[s.rank - s.below])
            s.buffer = []
            return
        edges, counts = cast(np.ndarray, s.edges), s.counts  # edges are set by the histogram pass
        cum = np.cumsum(counts)
        k = int(np.searchsorted(cum, s.rank - s.below, side="right"))
        s.below += int(cum[k - 1]) if k else 0
        s.inside = int(counts[k])
        if k == len(edges) - 1:  # the closed last bin: exactly the values equal to hi
            s.lo, s.closed = s.hi, True
        else:
            s.lo, s.hi, s.closed = float(edges[k]), float(edges[k + 1]), False
        if s.lo == s.hi or np.nextafter(s.lo, np.inf) == s.hi and not s.closed:
            s.value = s.lo  # [hi, hi], or [lo, the next float): one value left


def _edges(lo: float, hi: float, bins: int) -> np.ndarray:
    """Increasing float edges from exactly ``lo`` to exactly ``hi`` (fewer when the floats run out)."""
    if np.isfinite(hi - lo):
        edges = np.linspace(lo, hi, bins + 1)
    else:  # hi - lo overflows: halve (exactly), space, double back
        edges = 2.0 * np.linspace(lo / 2.0, hi / 2.0, bins + 1)
    edges[0], edges[-1] = lo, hi
    return np.unique(edges)


def _bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``searchsorted(edges, x, side="right") - 1``, computed fast and exactly.

    Bin k holds ``edges[k] <= x < edges[k + 1]``, and ``x == edges[-1]`` gets ``len(edges) - 1``.
    The bin is first guessed by arithmetic (edges are nearly evenly spaced), then checked against
    the edges themselves; only the values the guess misses go through the binary search, so the
    answer is exact and most values cost a multiply instead of a dozen comparisons.
    """
    nb = len(edges) - 1
    with np.errstate(all="ignore"):  # a guess may be inf/NaN (overflowing ranges): the check fixes it
        guess = (x - edges[0]) * (nb / (edges[-1] - edges[0]))
    guess = np.clip(np.nan_to_num(guess, nan=0.0, posinf=nb - 1, neginf=0.0), 0, nb - 1).astype(np.int64)
    wrong = (x < edges[guess]) | (x >= edges[guess + 1])
    if wrong.any():
        guess[wrong] = np.searchsorted(edges, x[wrong], side="right") - 1
    return guess


def _lerp(a: float, b: float, t: float) -> float:
    """``a + (b - a) * t`` the way numpy's percentile computes it (its ``_lerp``)."""
    diff = b - a
    out = np.subtract(b, diff * (1 - t)) if t >= 0.5 else np.add(a, diff * t)
    return float(out)


def group_percentiles(
    x: np.ndarray, groups: np.ndarray, n_groups: int, q: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Percentiles ``q`` of one column within every group, without a loop over groups.

    Equal to ``np.nanpercentile(x[groups == k], q)`` for every group ``k`` (NaN ignored, linear
    interpolation): the values are sorted once by ``(group, value)`` with ``np.lexsort``, which puts
    each group's NaN after its numbers, so group ``k``'s ``n_k`` numbers are the first ``n_k``
    entries of its block and each order statistic is found by index arithmetic. The interpolation
    is numpy's own (its index ``(n - 1) * q / 100``, its lerp), so the results are bit for bit
    numpy's up to the sign of a zero.

    Parameters
    ----------
    x : ndarray of shape (n_samples,)
        Float values (cast to float64); NaN is ignored.
    groups : ndarray of int of shape (n_samples,)
        Codes in ``0 .. n_groups - 1``.
    n_groups : int
    q : sequence of float
        Percentiles in [0, 100].

    Returns
    -------
    out : ndarray of shape (len(q), n_groups)
        NaN for a group without a non-NaN value (as ``np.nanpercentile`` of an all-NaN slice).
    counts : ndarray of int64 of shape (n_groups,)
        Non-NaN values per group.

    Examples
    --------
    >>> x = np.array([5.0, 1.0, np.nan, 10.0, 2.0, 3.0])
    >>> g = np.array([1, 0, 1, 1, 0, 0])
    >>> out, counts = group_percentiles(x, g, 3, [25, 50])
    >>> out
    array([[1.5 , 6.25,  nan],
           [2.  , 7.5 ,  nan]])
    >>> counts
    array([3, 2, 0])
    """
    x = np.asarray(x, dtype=np.float64)
    g = np.asarray(groups, dtype=np.intp)
    order = np.lexsort((x, g))
    xs = x[order]
    del order
    rows = np.bincount(g, minlength=n_groups)
    start = np.zeros(n_groups, np.int64)
    np.cumsum(rows[:-1], out=start[1:])
    counts = np.bincount(g[~np.isnan(x)], minlength=n_groups).astype(np.int64)
    fractions = np.true_divide(np.asarray(q, dtype=np.float64), 100)  # as np.percentile divides q
    out = np.full((len(fractions), n_groups), np.nan)
    has = np.flatnonzero(counts)
    last, first = counts[has] - 1, start[has]
    for i, fraction in enumerate(fractions):
        virtual = last * fraction
        below = np.floor(virtual)
        # numpy takes the last value when the index reaches it, and its weight is then computed
        # against the index -1; copying that keeps even the sign of a zero result identical.
        top = virtual >= last
        prev = np.where(top, last, below.astype(np.int64))
        nxt = np.where(top, last, prev + 1)
        weight = virtual - np.where(top, -1.0, below)
        out[i, has] = _lerp_many(xs[first + prev], xs[first + nxt], weight)
    return out, counts


def _lerp_many(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """:func:`_lerp` on arrays: ``a + (b - a) * t``, from ``b`` when ``t >= 0.5``, as numpy does."""
    with np.errstate(over="ignore", invalid="ignore"):  # b - a may overflow, as in numpy
        diff = b - a
        out = a + diff * t
        np.subtract(b, diff * (1 - t), out=out, where=t >= 0.5)
    return out
