"""Exact, mergeable, chunked moments (count, mean, M2, min, max) for the scalers.

Internal module behind :mod:`seqprep.scaling`. Everything is accumulated in
float64. Within a block of rows the sums are taken around a *shift* ``K`` (the
float64 mean of the block's first chunk); each block is turned into
``(count, mean, M2)`` and blocks are combined with the parallel merge of
Chan, Golub & LeVeque, so precision does not degrade with a large mean or with
the number of rows. A block whose shift turns out to be far from its mean
(trend, outliers) or that holds NaN is recomputed two-pass, chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._threads import one_blas_thread, run_parts, threads_for
from ..exceptions import ArtifactError, DataError, ShapeError

__all__ = ["Moments", "group_moments"]

#: float64 elements per chunk (1 MiB): small enough to stay in L2, big enough to amortise the Python loop.
CHUNK_ELEMENTS = 1 << 17
#: chunks per block that share one shift ``K`` before a Chan merge.
BLOCK_CHUNKS = 64


def chunk_rows(n_features: int, elements: int = CHUNK_ELEMENTS) -> int:
    """Rows per chunk so that a float64 chunk holds about *elements* values."""
    return max(64, elements // max(n_features, 1))


def _floats(values: Any, name: str, shape: tuple[int, ...], fill: float | None = None) -> np.ndarray:
    """Decode a JSON list into a float64 array of *shape* (``None`` -> *fill*)."""
    try:
        arr = np.array(values, dtype=object)
        if arr.shape != shape:
            raise ArtifactError(f"Field {name!r} must have shape {shape}. Received shape {arr.shape}.")
        if fill is not None:
            arr = np.where(np.equal(arr, None), fill, arr)  # type: ignore[call-overload]  # object arrays
        out = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ArtifactError):
            raise
        raise ArtifactError(f"Field {name!r} must be a list of numbers. Received: {values!r:.80}.") from exc
    if fill is None and not np.all(np.isfinite(out)):
        raise ArtifactError(f"Field {name!r} must hold finite numbers only.")
    return out


def _json_floats(arr: np.ndarray | None) -> Any:
    """Float array -> nested lists, non-finite values as ``None`` (strict JSON)."""
    if arr is None:
        return None
    obj = np.asarray(arr, dtype=np.float64).astype(object)
    obj[~np.isfinite(np.asarray(arr, dtype=np.float64))] = None
    return obj.tolist()


@dataclass(eq=False)
class Moments:
    """Mergeable per-feature statistics: count, mean, M2, and optionally min/max.

    All arrays share one shape: ``(n_features,)``, or ``(n_series, n_features)``
    for per-series statistics. ``merge`` is exact and associative up to float64
    rounding (Chan et al.'s parallel formula), so partitions of the rows can be
    reduced in any order, e.g. across Dask partitions.

    Parameters
    ----------
    count : ndarray of int64
        Number of non-NaN values per feature.
    mean : ndarray of float64
        Mean of those values (0 where ``count == 0``).
    m2 : ndarray of float64
        Sum of squared deviations from the mean.
    min, max : ndarray of float64 or None
        Smallest/largest value (``+inf``/``-inf`` where ``count == 0``), or
        ``None`` when the range was not tracked.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> m = Moments.from_array(X[:2]).merge(Moments.from_array(X[2:]))
    >>> m.mean, m.var
    (array([5., 6.]), array([11.66666667, 11.66666667]))
    >>> Moments.from_dict(m.to_dict()).max
    array([10., 11.])
    """

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    min: np.ndarray | None = None
    max: np.ndarray | None = None

    @classmethod
    def empty(cls, shape: int | tuple[int, ...], *, with_range: bool = True) -> Moments:
        """Statistics of no rows (the neutral element of :meth:`merge`)."""
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        lo = np.full(shape, np.inf) if with_range else None
        hi = np.full(shape, -np.inf) if with_range else None
        return cls(np.zeros(shape, np.int64), np.zeros(shape), np.zeros(shape), lo, hi)

    @classmethod
    def from_array(cls, X: Any, *, with_range: bool = True) -> Moments:
        """Statistics of ``X`` of shape ``(n_samples, n_features)``, NaN ignored.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric values; NaN counts as missing, +/-inf raises :class:`DataError`.
        with_range : bool, default=True
            Also track min and max (costs two cheap extra passes per chunk).

        Returns
        -------
        Moments
        """
        a = np.asarray(X)
        if a.ndim != 2:
            raise ShapeError(f"X must be 2-D (n_samples, n_features). Received shape {a.shape}.")
        return array_moments(a, with_range=with_range)

    def take(self, rows: np.ndarray) -> Moments:
        """The statistics of the given rows (an integer index array) of per-series arrays, as a copy."""
        pick = (lambda x: None if x is None else x[rows])  # noqa: E731
        return Moments(self.count[rows], self.mean[rows], self.m2[rows], pick(self.min), pick(self.max))

    def merge_rows(self, rows: np.ndarray, other: Moments) -> None:
        """Merge ``other`` (one row per entry of ``rows``) into those rows, in place.

        Touches only ``rows``, so updating a few series of a large per-series table costs
        ``O(len(rows))``, not ``O(n_series)``.
        """
        merged = self.take(rows).merge(other)
        self.count[rows], self.mean[rows], self.m2[rows] = merged.count, merged.mean, merged.m2
        if self.min is not None and merged.min is not None:
            self.min[rows] = merged.min
        if self.max is not None and merged.max is not None:
            self.max[rows] = merged.max

    @property
    def n_features(self) -> int:
        """Size of the last axis."""
        return int(self.mean.shape[-1])

    @property
    def var(self) -> np.ndarray:
        """Population variance (ddof=0); 0 where there is no value."""
        return self.m2 / np.maximum(self.count, 1)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``(min, max)``: the range these moments were accumulated with."""
        if self.min is None or self.max is None:
            raise ValueError("these Moments were accumulated without their range (with_range=False)")
        return self.min, self.max

    def merge(self, other: Moments) -> Moments:
        """Combine with the statistics of other rows (Chan et al. parallel merge).

        Parameters
        ----------
        other : Moments
            Statistics of a disjoint set of rows, same shape.

        Returns
        -------
        Moments
            New object; neither input is modified.
        """
        if not isinstance(other, Moments):
            raise TypeError(f"Can only merge Moments with Moments. Received {type(other).__name__}.")
        if other.mean.shape != self.mean.shape:
            raise ShapeError(f"Cannot merge Moments of shape {self.mean.shape} with {other.mean.shape}.")
        na = self.count.astype(np.float64)
        nb = other.count.astype(np.float64)
        n = na + nb
        safe = np.where(n > 0, n, 1.0)
        delta = other.mean - self.mean
        mean = np.where(n > 0, self.mean + delta * (nb / safe), 0.0)
        m2 = self.m2 + other.m2 + delta * delta * (na * nb / safe)
        lo = hi = None
        if self.min is not None and other.min is not None:
            lo = np.minimum(self.min, other.min)
        if self.max is not None and other.max is not None:
            hi = np.maximum(self.max, other.max)
        return Moments(self.count + other.count, mean, m2, lo, hi)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (lists; +/-inf and NaN written as ``None``)."""
        return {
            "count": self.count.tolist(),
            "mean": _json_floats(self.mean),
            "m2": _json_floats(self.m2),
            "min": _json_floats(self.min),
            "max": _json_floats(self.max),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Moments:
        """Inverse of :meth:`to_dict`; raises :class:`ArtifactError` on malformed input."""
        if not isinstance(d, Mapping) or not {"count", "mean", "m2"} <= set(d):
            raise ArtifactError("Moments must be a dict with keys 'count', 'mean', 'm2' (and 'min', 'max').")
        try:
            count = np.array(d["count"])
        except ValueError as exc:
            raise ArtifactError("Field 'count' must be a list of integers.") from exc
        if count.dtype.kind not in "iu" or np.any(count < 0):
            raise ArtifactError(f"Field 'count' must hold non-negative integers. Received: {d['count']!r:.80}.")
        shape = count.shape
        mean = _floats(d["mean"], "mean", shape)
        m2 = _floats(d["m2"], "m2", shape)
        if np.any(m2 < 0):
            raise ArtifactError("Field 'm2' must be non-negative.")
        lo = None if d.get("min") is None else _floats(d["min"], "min", shape, fill=np.inf)
        hi = None if d.get("max") is None else _floats(d["max"], "max", shape, fill=-np.inf)
        return cls(count.astype(np.int64), mean, m2, lo, hi)


# ------------------------------------------------------------- input helpers (shared with seqprep.scaling)


def _as_array(X: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``(array, feature names or None)``; DataFrames give their column names."""
    names = None
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):
        cols = list(X.columns)
        if all(isinstance(c, str) for c in cols):
            names = np.asarray(cols, dtype=object)
        X = X.to_numpy()
    a = np.asarray(X)
    if a.dtype.kind not in "biuf":
        raise DataError(f"X must hold numbers. Received dtype {a.dtype}. Convert or drop non-numeric columns.")
    if a.ndim < 2:
        raise ShapeError(
            f"X must have shape (n_samples, n_features) or (n_samples, *feature_shape). Received shape {a.shape}. "
            "Use X.reshape(-1, 1) for a single feature."
        )
    return a, names


def _out_dtype(dtype: np.dtype) -> type[np.floating[Any]]:
    """float64 stays float64; everything else (float32/16, ints, bool) gives float32."""
    return np.float64 if dtype == np.float64 else np.float32


def _rows(a: np.ndarray) -> np.ndarray:
    """View (or copy) of *a* as ``(n_rows, n_features)`` with features on the last axis."""
    return a.reshape(-1, a.shape[-1])


def _affine(a: np.ndarray, offset: Any, divisor: Any, add: Any, *, inverse: bool = False) -> np.ndarray:
    """``(a - offset) / divisor + add`` (or its inverse) in float64 chunks, cast to the output dtype."""
    out = np.empty(a.shape, dtype=_out_dtype(a.dtype))
    src = _rows(a)
    dst = out.reshape(-1, a.shape[-1])
    step = chunk_rows(a.shape[-1])
    for start in range(0, src.shape[0], step):
        x = src[start : start + step].astype(np.float64)
        if inverse:
            x -= add
            x *= divisor
            x += offset
        else:
            x -= offset
            x /= divisor
            x += add
        dst[start : start + step] = x
    return out



# --------------------------------------------------------------------------- kernels


def _col_reduce(ufunc: np.ufunc, a: np.ndarray, buf: np.ndarray) -> np.ndarray:
    """``ufunc.reduce(a, axis=0)`` by pairwise halving (contiguous, ~5x faster for narrow rows)."""
    rows = a.shape[0]
    if rows == 1:
        return a[0].copy()
    h = rows // 2
    ufunc(a[:h], a[h : 2 * h], out=buf[:h])
    if rows % 2:
        ufunc(buf[0], a[2 * h], out=buf[0])
    while h > 1:
        odd = h % 2
        h2 = h // 2
        ufunc(buf[:h2], buf[h2 : 2 * h2], out=buf[:h2])
        if odd:
            ufunc(buf[0], buf[2 * h2], out=buf[0])
        h = h2
    return buf[0].copy()


def _raise_inf(a: np.ndarray) -> None:
    bad = np.isinf(a).sum(axis=0)
    cols = np.flatnonzero(bad)
    raise DataError(
        f"X holds {int(bad.sum())} infinite value(s) in column(s) {cols[:20].tolist()} "
        f"(counts {bad[cols][:20].tolist()}). Replace them (e.g. with NaN, which is ignored) before fitting."
    )


def _chunk_exact(c: np.ndarray, with_range: bool) -> Moments:
    """NaN-aware two-pass statistics of one chunk."""
    x = c.astype(np.float64)
    nan = np.isnan(x)
    if np.isinf(x).any():
        _raise_inf(x)
    count = (x.shape[0] - nan.sum(axis=0)).astype(np.int64)
    has_nan = bool(nan.any())
    if has_nan:
        x[nan] = 0.0
    mean = x.sum(axis=0) / np.maximum(count, 1)
    x -= mean
    if has_nan:
        x[nan] = 0.0
    m2 = np.einsum("ij,ij->j", x, x)
    lo = hi = None
    if with_range:
        c64 = c.astype(np.float64)
        lo = np.where(count > 0, np.fmin.reduce(c64, axis=0), np.inf) if count.any() else np.full(count.shape, np.inf)
        hi = np.where(count > 0, np.fmax.reduce(c64, axis=0), -np.inf) if count.any() else np.full(count.shape, -np.inf)
    return Moments(count, mean, m2, lo, hi)


def _block_fast(b: np.ndarray, rows: int, with_range: bool, bufs: dict[str, np.ndarray]) -> Moments | None:
    """Shifted float64 sums over a NaN-free block; ``None`` asks for the exact path."""
    n, f = b.shape
    d = bufs["d"]
    ones = bufs["ones"]
    first = min(rows, n)
    np.copyto(d[:first], b[:first])
    shift = (ones[:first] @ d[:first]) / first
    if not np.all(np.isfinite(shift)):
        return None
    tile = np.tile(shift, rows)
    s1 = np.zeros(f)
    s2 = np.zeros(f)
    lo = hi = None
    for start in range(0, n, rows):
        c = b[start : start + rows]
        r = c.shape[0]
        dc = d[:r]
        flat = dc.reshape(-1)
        np.copyto(dc, c)
        np.subtract(flat, tile[: r * f], out=flat)
        s1 += ones[:r] @ dc
        np.multiply(flat, flat, out=flat)
        s2 += ones[:r] @ dc
        if with_range:
            cmin = _col_reduce(np.minimum, c, bufs["r"])
            cmax = _col_reduce(np.maximum, c, bufs["r"])
            lo = cmin if lo is None else np.minimum(lo, cmin)
            hi = cmax if hi is None else np.maximum(hi, cmax)
    if not (np.all(np.isfinite(s1)) and np.all(np.isfinite(s2))):
        return None  # NaN or inf somewhere in the block
    corr = s1 * s1 / n
    if np.any(corr > 0.5 * s2):
        return None  # shift far from the block mean: cancellation would cost digits
    count = np.full(f, n, np.int64)
    m2 = np.maximum(s2 - corr, 0.0)
    if with_range:
        lo = np.asarray(lo, np.float64)
        hi = np.asarray(hi, np.float64)
    return Moments(count, shift + s1 / n, m2, lo, hi)


#: Arrays with at least this many rows are reduced in parts of PART_ROWS rows, on several threads where
#: seqprep's thread policy grants them (numpy releases the GIL). The parts do not depend on the thread
#: count, so neither does the result.
PARALLEL_MIN_ROWS = 1 << 18
PART_ROWS = 1 << 17


def array_moments(a: np.ndarray, *, with_range: bool = True, rows: int | None = None) -> Moments:
    """Statistics of a 2-D numeric array: one float64 pass in L2-sized chunks, on several threads.

    Arrays of :data:`PARALLEL_MIN_ROWS` rows or more are cut into contiguous parts of
    :data:`PART_ROWS` rows, reduced on as many threads as :mod:`seqprep._threads` grants (one
    per MiB, at most the usable and free cores, ``SEQPREP_THREADS`` or :func:`seqprep.set_threads`);
    the parts' moments are merged in row order with the exact Chan merge, so the result depends
    neither on the thread count nor on the scheduling. BLAS (the column sums) runs one thread per
    worker: never a spinning BLAS pool under seqprep's own threads.

    Parameters
    ----------
    a : ndarray of shape (n_samples, n_features)
        Any real dtype; NaN ignored, inf raises :class:`DataError`.
    with_range : bool, default=True
        Track min/max too.
    rows : int, optional
        Rows per chunk (default: :func:`chunk_rows`).

    Returns
    -------
    Moments
    """
    if a.ndim != 2 or a.shape[0] < PARALLEL_MIN_ROWS:
        with one_blas_thread():
            return _array_moments_serial(a, with_range=with_range, rows=rows)
    n_parts = -(-a.shape[0] // PART_ROWS)
    threads = min(threads_for(a.nbytes), n_parts)
    with one_blas_thread():
        parts = run_parts(
            lambda i: _array_moments_serial(a[i * PART_ROWS : (i + 1) * PART_ROWS], with_range=with_range, rows=rows),
            n_parts,
            threads,
        )
    total = parts[0]
    for part in parts[1:]:
        total = total.merge(part)
    return total


def _array_moments_serial(a: np.ndarray, *, with_range: bool = True, rows: int | None = None) -> Moments:
    """One thread of :func:`array_moments`."""
    n, f = a.shape
    total = Moments.empty(f, with_range=with_range)
    if n == 0:
        return total
    if a.dtype.kind not in "biuf":
        raise DataError(f"X must hold numbers. Received dtype {a.dtype}.")
    if a.dtype.kind == "b":
        a = a.view(np.uint8)
    rows = rows or chunk_rows(f)
    block = rows * BLOCK_CHUNKS
    bufs = {"d": np.empty((min(rows, n), f)), "ones": np.ones(min(rows, n))}
    if with_range:
        bufs["r"] = np.empty((max(min(rows, n) // 2, 1), f), dtype=a.dtype)
    for bstart in range(0, n, block):
        b = a[bstart : bstart + block]
        m = _block_fast(b, rows, with_range, bufs)
        if m is None:
            for cstart in range(0, b.shape[0], rows):
                m_c = _chunk_exact(b[cstart : cstart + rows], with_range)
                total = total.merge(m_c)
            continue
        total = total.merge(m)
    return total


def _local_codes(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(present codes, each row's position in them): the groups a block of rows actually holds."""
    if groups.size and bool(np.all(groups[1:] >= groups[:-1])):
        # Rows sorted by series (what Pipeline and the streaming passes give): no sort needed.
        change = np.empty(groups.size, dtype=bool)
        change[0] = True
        np.not_equal(groups[1:], groups[:-1], out=change[1:])
        return groups[change], np.cumsum(change) - 1
    present, local = np.unique(groups, return_inverse=True)
    return present, local.reshape(-1)


def group_moments(
    a: np.ndarray, groups: np.ndarray, n_groups: int, *, with_range: bool = True, into: Moments | None = None
) -> Moments:
    """Per-group statistics of shape ``(n_groups, n_features)`` without a loop over groups.

    Rows are taken in blocks; each block's groups are renumbered to the ones it holds, its
    statistics come from two flat ``np.bincount`` passes (index ``local_group * F + feature``),
    and are Chan-merged into those groups' rows only. The work is proportional to the rows,
    not to ``n_groups`` times the number of blocks. Min/max use ``np.fmin.reduceat`` on rows
    sorted by group.

    Parameters
    ----------
    a : ndarray of shape (n_samples, n_features)
    groups : ndarray of int of shape (n_samples,)
        Codes in ``0 .. n_groups - 1``.
    n_groups : int
    with_range : bool, default=True
    into : Moments, optional
        Merge into these ``(n_groups, n_features)`` statistics in place (a streaming fit adds
        each chunk to the running per-series table this way) instead of into new ones.

    Returns
    -------
    Moments
        Arrays of shape ``(n_groups, n_features)`` (``into`` itself when given).
    """
    n, f = a.shape
    total = Moments.empty((n_groups, f), with_range=with_range) if into is None else into
    if total.mean.shape != (n_groups, f):
        raise ShapeError(f"`into` has shape {total.mean.shape}; expected {(n_groups, f)}.")
    rows = max(1024, chunk_rows(f, 1 << 20))
    cols = np.arange(f)
    for start in range(0, n, rows):
        x = a[start : start + rows].astype(np.float64)
        present, g = _local_codes(np.asarray(groups[start : start + rows]))
        k = len(present)
        size = k * f
        nan = np.isnan(x)
        if np.isinf(x).any():
            _raise_inf(x)
        idx = (g[:, None] * f + cols).reshape(-1)
        valid = (~nan).reshape(-1)
        count = np.bincount(idx, weights=valid, minlength=size).reshape(k, f)
        x[nan] = 0.0
        s = np.bincount(idx, weights=x.reshape(-1), minlength=size).reshape(k, f)
        mean = s / np.maximum(count, 1)
        x -= mean[g]
        x[nan] = 0.0
        x *= x
        m2 = np.bincount(idx, weights=x.reshape(-1), minlength=size).reshape(k, f)
        lo = hi = None
        if with_range:
            order = np.argsort(g, kind="stable")
            gs = g[order]
            starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
            raw = a[start : start + rows][order].astype(np.float64)
            lo = np.fmin.reduceat(raw, starts, axis=0)  # every local group is present
            hi = np.fmax.reduceat(raw, starts, axis=0)
            lo[np.isnan(lo)] = np.inf  # all-NaN within the block
            hi[np.isnan(hi)] = -np.inf
        total.merge_rows(present, Moments(count.astype(np.int64), mean, m2, lo, hi))
    return total
