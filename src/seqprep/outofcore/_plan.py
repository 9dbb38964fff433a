"""Scanning a source and planning a streamed pipeline's split and windows, for :mod:`seqprep.outofcore`.

Everything here is decided before a single feature value is read: which columns the pipeline
reads (:func:`_resolve_columns`), where each series starts and whether rows are sorted
(:func:`_scan`, one pass over the time and group columns only), the dominant time step and the
gaps (:func:`_breaks`), the rows of each part per series (:func:`_cut`, the semantics of
:func:`seqprep.split` without per-row arrays) and the window start rows of each part
(:func:`_part_starts`, in blocks, never one array per row). The fit and the export both start
from this plan; it lives apart from them so that its arithmetic can be read (and tested) alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from .._validation import check_names, list_names, param_error, zero_of
from ..exceptions import DataError
from ..splitting import check_fractions, check_gap, is_time_cuts, parse_cuts, ranges_from_cuts, require_windows
from ..timeaxis import Frequency, add_duration, as_frequency, infer_frequency
from ..windowing import WindowSpec
from ._covariates import check_no_covariates
from ._sources import _Source

if TYPE_CHECKING:
    from ._fit import _Bar

__all__: list[str] = []  # internal to seqprep.outofcore: its siblings import the names they need

#: Windows (window starts) or rows (the time column, in :func:`_cut`) held at a time by the plan: its memory
#: is O(this block + n_series), whatever the number of rows. Read at call time (tests make it small).
_STARTS_BLOCK = 1 << 20


def _check_streamable(pipe: Any) -> None:
    """Refuse the settings that cannot stream, before anything is read or written."""
    from ..pipeline import check_calendar_time, check_streamed_series_scaler, check_window_scaling_streamed

    if pipe.holdout != "time":
        raise param_error("holdout", "'time' for streaming", pipe.holdout, "Use Pipeline.fit for holdout='series'.")
    check_calendar_time(pipe)
    check_streamed_series_scaler(pipe, "for streaming")
    check_window_scaling_streamed(pipe, "for streaming")
    check_no_covariates(pipe, "for streaming")
    if pipe.nan_policy != "raise":
        raise param_error("nan_policy", "'raise' for streaming", pipe.nan_policy,
                          "Clean NaN values upstream (streaming cannot fill across chunks).")


def _resolve_columns(pipe: Any, source: _Source) -> tuple[list[str], list[str], int]:
    """(raw_columns, columns, n_inputs) as Pipeline._prepare would give them."""
    skip = {pipe.time, pipe.group}
    where = getattr(source, "path", "")
    for name, value in (("time", pipe.time), ("group", pipe.group)):
        if value is not None:
            check_names([value], name, source.columns, str(where))
    check_names(pipe._targets, "target", source.columns, str(where))
    if pipe.features is not None:
        check_names(pipe.features, "features", source.columns, str(where))
        # as Pipeline._prepare: the columns derived features read are loaded even when not inputs
        extra = [c for d in pipe.derived for c in d.source_columns() if c not in pipe.features]
        raw = list(dict.fromkeys(pipe.features + extra + pipe._targets))
    else:
        raw = [c for c in source.columns if c not in skip and source.numeric(c)]
        raw += [t for t in pipe._targets if t not in raw]
    check_names(raw, "features", source.columns, str(where))
    bad = [c for c in raw if not source.numeric(c)]
    if bad:
        raise DataError(
            f"feature and target columns must be numeric; these are not: {list_names(bad)}. "
            "Convert them to numbers or leave them out (categorical columns are not supported for streaming yet: "
            "Pipeline.fit in memory codes them)."
        )
    inputs = pipe.features if pipe.features is not None else list(raw)
    # Derived (Calendar) columns follow the inputs, as Pipeline._prepare places them.
    derived = [n for d in pipe.derived for n in d.output_names(tuple(raw))]
    in_cols = list(dict.fromkeys(inputs + derived))
    extra = [t for t in pipe._targets if t not in in_cols]
    return raw, in_cols + extra, len(in_cols)


def _time_dtype(source: _Source, time: str | None) -> np.dtype | None:
    """Dtype of the time column (of the ``time.npy`` the scan fills), None without one."""
    if time is None:
        return None
    check_names([time], "time", source.columns, str(getattr(source, "path", "")))
    return source.dtype(time)  # type: ignore[attr-defined, no-any-return]


def _key(value: Any) -> Any:
    """A series key as a Python value (numpy scalars become the Python ones they equal, for sets and JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def _scan(
    source: _Source, time: str | None, group: str | None, chunk_rows: int, time_out: np.ndarray | None, bar: _Bar
) -> tuple[np.ndarray, tuple[Any, ...], Any, np.ndarray]:
    """One pass over the time/group columns: bounds, keys, freq, breaks (time written to ``time_out``)."""
    n = source.n_rows
    if n == 0:
        raise DataError("`data` is empty (0 rows). Pass at least one window's worth of rows.")
    if time is None and group is None:
        return np.array([0, n], dtype=np.int64), (0,), None, np.zeros(0, dtype=np.int64)
    names = [c for c in (group, time) if c is not None]
    bounds: list[int] = [0]
    keys: list[Any] = []
    seen: set[Any] = set()
    prev_key: Any = None
    prev_t: Any = None
    diff_counts: dict[Any, int] = {}
    task = bar.add_task("scan (time/group)", total=n)
    for _, a, b, chunk in source.chunks(names, chunk_rows):
        cols = cast(dict[str, np.ndarray], chunk)  # no `wanted` filter: every chunk is read
        m = b - a
        change = np.zeros(m, dtype=bool)  # True where a row starts a series
        if group is not None:
            prev_key = _scan_groups(np.asarray(cols[group]), a, prev_key, change, seen, keys, bounds, group, time)
        else:
            change[0] = a == 0
            if a == 0:
                keys.append(0)
        if time is not None:
            t = np.asarray(cols[time])
            if t.dtype.kind not in "iufM":
                raise DataError(f"the time column {time!r} must hold timestamps or numbers; it has dtype {t.dtype}.")
            if time_out is not None:
                time_out[a:b] = t
            _scan_steps(t, a, b, prev_t, change, diff_counts)
            prev_t = t[-1]
        bar.update(task, advance=m)
    bounds.append(n)
    bounds_arr = np.asarray(bounds, dtype=np.int64)
    freq, breaks = None, np.zeros(0, dtype=np.int64)
    if time is not None and diff_counts:
        ordered = sorted(diff_counts)
        best = max(diff_counts[k] for k in ordered)
        freq = next(k for k in ordered if diff_counts[k] == best)
        if time_out is not None:
            freq = np.asarray(freq, dtype=np.asarray(time_out[:1] - time_out[:1]).dtype)[()]
            frequency = _frequency(time_out, bounds_arr, freq)
            breaks = _breaks(time_out, bounds_arr, frequency, chunk_rows)
            freq = frequency.step
    return bounds_arr, tuple(keys), freq, breaks


#: Rows read back to tell a calendar frequency (months, business days) from the dominant step.
_CALENDAR_SAMPLE = 1 << 20


def _frequency(time: np.ndarray, bounds: np.ndarray, dominant: Any) -> Frequency:
    """The frequency as :func:`seqprep.io.as_series` infers it.

    The scanned dominant step; for a step of a day or of four weeks and more, the calendar read on
    the first rows (months of uneven lengths, business days).
    """
    frequency = as_frequency(dominant)
    if frequency is None or np.asarray(dominant).dtype.kind != "m":
        return frequency  # type: ignore[return-value]
    day = np.timedelta64(1, "D")
    if dominant != day and dominant < 27 * day:
        return frequency
    k = min(len(time), _CALENDAR_SAMPLE)
    sample = np.asarray(time[:k])
    same = np.ones(max(k - 1, 0), dtype=bool)
    inner = bounds[(bounds > 0) & (bounds < k)]
    same[inner - 1] = False
    return infer_frequency(sample, same) or frequency


def _scan_groups(
    g: np.ndarray, a: int, prev_key: Any, change: np.ndarray, seen: set[Any], keys: list[Any], bounds: list[int],
    group: str, time: str | None,
) -> Any:
    """Mark in ``change`` the rows of chunk ``g`` (from row ``a``) that start a series; return its last key.

    The keys and start rows of the new series are appended to ``keys`` and ``bounds``; a key seen
    before (``seen``) means the rows are not sorted by group, which streaming cannot undo.
    """
    if pd.isna(g).any():
        row = a + int(np.flatnonzero(pd.isna(g))[0])
        raise DataError(f"`group` has a missing key at row {row}. Every row needs a series key.")
    change[1:] = g[1:] != g[:-1]
    change[0] = a == 0 or _key(g[0]) != prev_key
    for j in np.flatnonzero(change):
        k = _key(g[j])
        if k in seen:
            raise DataError(
                f"rows must be sorted by (group, time) to stream: row {a + j} starts a second run of series "
                f"{k!r}, whose earlier rows ended before row {a + j}. Sort the data by ({group!r}, "
                f"{time!r}) first (e.g. df.sort_values([{group!r}, {time!r}]))."
            )
        seen.add(k)
        keys.append(k)
        if a + j > 0:
            bounds.append(a + int(j))
    return _key(g[-1])


def _scan_steps(
    t: np.ndarray, a: int, b: int, prev_t: Any, change: np.ndarray, diff_counts: dict[Any, int]
) -> None:
    """Check that the times ``t`` of rows ``a..b`` increase within each series; count their steps.

    ``prev_t`` is the last time of the previous chunk (None for the first), so that the step
    across the chunk boundary is checked and counted too. Steps are counted in ``diff_counts``
    (step -> rows), from which :func:`_scan` takes the dominant one as the frequency.
    """
    full = t if prev_t is None else np.concatenate([np.asarray([prev_t], dtype=t.dtype), t])
    d = full[1:] - full[:-1]
    same = ~change[1:] if prev_t is None else ~change
    rows = np.arange(a + (1 if prev_t is None else 0), b)
    zero = zero_of(d.dtype)
    bad = same & (d < zero)
    if bad.any():
        r = int(rows[np.flatnonzero(bad)[0]])
        raise DataError(
            f"rows must be sorted by (group, time) to stream: timestamps must increase within each series; "
            f"row {r} ({full[r - a + (0 if prev_t is None else 1)]}) comes before row {r - 1} "
            f"({full[r - a - (1 if prev_t is None else 0)]}). Sort the data by time first."
        )
    dup = same & (d == zero)
    if dup.any():
        r = int(rows[np.flatnonzero(dup)[0]])
        raise DataError(
            f"timestamps must be unique within each series; row {r} repeats the time of row {r - 1} "
            f"({int(dup.sum())} duplicates in rows {a}..{b - 1}). Aggregate or drop the duplicates first."
        )
    uniq, counts = np.unique(d[same], return_counts=True)
    for u, c in zip(uniq.tolist() if d.dtype.kind != "m" else uniq, counts.tolist(), strict=True):
        key = u if d.dtype.kind != "m" else np.timedelta64(u, "ns")
        diff_counts[key] = diff_counts.get(key, 0) + c


def _breaks(time: np.ndarray, bounds: np.ndarray, freq: Frequency, chunk_rows: int) -> np.ndarray:
    """Rows after a gap in time (not one step of ``freq`` within a series), reading ``time`` in blocks."""
    out: list[np.ndarray] = []
    n = len(time)
    for a in range(1, n, chunk_rows):
        b = min(a + chunk_rows, n)
        t = np.asarray(time[a - 1 : b])
        rows = np.arange(a, b, dtype=np.int64)
        same = ~np.isin(rows, bounds)
        out.append(rows[same & freq.irregular(t)])
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _count_below(time: np.ndarray, bounds: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per series: rows with ``time < threshold`` (a prefix: times increase within a series)."""
    out = np.empty(len(bounds) - 1, dtype=np.int64)
    for i in range(len(bounds) - 1):
        out[i] = np.searchsorted(time[bounds[i] : bounds[i + 1]], thresholds[i], side="left")
    return out


def _cut(
    split_arg: Any, gap: Any, bounds: np.ndarray, time: np.ndarray | None, block: int | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Row ranges per series of each part: :func:`seqprep.splitting._cut_rows` without per-row arrays.

    ``time`` (a memory map) is read ``block`` rows at a time: memory does not grow with the rows.
    """
    block = block or _STARTS_BLOCK
    lengths = np.diff(bounds)
    n_series = len(lengths)
    n_rows = int(bounds[-1])
    gap, duration = check_gap(gap, time)

    def below(stamp: Any) -> np.ndarray:
        return _count_below(time, bounds, np.full(n_series, stamp))  # type: ignore[arg-type]

    if is_time_cuts(split_arg):
        if time is None:
            raise param_error("split", "fractions when the data has no timestamps", split_arg,
                              "Pass time=... or fractions.")
        if time.dtype.kind != "M":
            raise param_error("split", "fractions when the time column is numeric", split_arg)
        stamps = parse_cuts(split_arg)
        boundaries = [below(s) for s in stamps]
        after_gap = [below(add_duration(s, duration)) if duration is not None else None for s in stamps]
    else:
        fractions = check_fractions(split_arg)
        cum = np.cumsum(fractions)[:-1]
        if time is not None and n_series > 1:
            ks = [min(int(round(c * n_rows)), n_rows - 1) for c in cum]
            stamps = _kth_smallest(time, ks, block)  # a few passes over the time memory map, O(block) memory
            boundaries = [below(s) for s in stamps]
            after_gap = [below(add_duration(s, duration)) if duration is not None else None for s in stamps]
        else:
            boundaries = [np.round(lengths * c).astype(np.int64) for c in cum]
            if duration is not None:
                after_gap = []
                for b in boundaries:
                    idx = np.minimum(bounds[:-1] + b, n_rows - 1)
                    start_time = np.asarray(time[idx])  # type: ignore[index]
                    after_gap.append(_count_below(time, bounds, add_duration(start_time, duration)))  # type: ignore[arg-type]
            else:
                after_gap = [None] * len(boundaries)
    return ranges_from_cuts(boundaries, after_gap, gap, lengths)


_SIGN = np.uint64(1 << 63)
#: Bits of the order-preserving key resolved per pass of :func:`_kth_smallest` (65,536 bins).
_RADIX_BITS = 16


def _order_keys(v: np.ndarray) -> np.ndarray:
    """``uint64`` keys that sort as the values ``v`` do (times, integers, floats)."""
    if v.dtype.kind in "Mmi":
        return v.astype(np.int64, copy=False).view(np.uint64) ^ _SIGN
    if v.dtype.kind == "u" or v.dtype.kind == "b":
        return v.astype(np.uint64)
    bits = np.asarray(v, dtype=np.float64).view(np.uint64)
    return np.where(bits & _SIGN, ~bits, bits | _SIGN)  # negative floats reversed, positive above them


def _kth_smallest(values: np.ndarray, ks: Sequence[int], block: int) -> list[Any]:
    """The ``k``-th smallest of ``values`` (0-based, ``np.partition``'s) for each ``k``, in O(block) memory.

    A radix selection over order-preserving ``uint64`` keys: a first pass finds the smallest and
    largest key; each further pass counts, in 65,536 bins of the interval still holding the
    ``k``-th key, the keys that fall there (block by block) and keeps the bin where the rank
    lands. When that bin holds at most ``block`` values, or a single key, a last pass collects
    them and picks the answer. A few passes of sequential reads (the interval shrinks by 2**16 per
    pass; timestamps on a grid need two or three), where ``np.partition`` held a copy of the whole
    column (8 bytes per row).
    """
    n = len(values)
    lo_all, hi_all = None, None
    for a in range(0, n, block):
        keys = _order_keys(np.asarray(values[a : a + block]))
        lo_k, hi_k = keys.min(), keys.max()
        lo_all = lo_k if lo_all is None else min(lo_all, lo_k)
        hi_all = hi_k if hi_all is None else max(hi_all, hi_k)
    # per k: [lo, hi] (keys, inclusive) holding the answer, and its rank among the keys in there
    state = [[int(lo_all), int(hi_all), int(k)] for k in ks]  # type: ignore[arg-type]
    counts_in = [n] * len(ks)
    while True:
        open_ = [i for i, (lo, hi, _) in enumerate(state) if hi > lo and counts_in[i] > block]
        if not open_:
            break
        hists = {}
        shifts = {}
        for i in open_:
            lo, hi, _ = state[i]
            shifts[i] = max(0, int(hi - lo).bit_length() - _RADIX_BITS)
            hists[i] = np.zeros(((hi - lo) >> shifts[i]) + 1, dtype=np.int64)
        for a in range(0, n, block):
            keys = _order_keys(np.asarray(values[a : a + block]))
            for i in open_:
                lo, hi, _ = state[i]
                inside = keys[(keys >= np.uint64(lo)) & (keys <= np.uint64(hi))]
                hists[i] += np.bincount(((inside - np.uint64(lo)) >> np.uint64(shifts[i])).astype(np.int64),
                                        minlength=len(hists[i]))
        for i in open_:
            lo, hi, rank = state[i]
            cum = np.cumsum(hists[i])
            b = int(np.searchsorted(cum, rank, side="right"))
            below = int(cum[b - 1]) if b else 0
            new_lo = lo + (b << shifts[i])
            state[i] = [new_lo, min(hi, new_lo + (1 << shifts[i]) - 1), rank - below]
            counts_in[i] = int(hists[i][b])
    # a last pass: the values whose keys are in each interval (at most `block` of them, or all equal)
    found: list[list[np.ndarray]] = [[] for _ in ks]
    for a in range(0, n, block):
        v = np.asarray(values[a : a + block])
        keys = _order_keys(v)
        for i, (lo, hi, _) in enumerate(state):
            if hi == lo and found[i]:
                continue  # one key: one value of it is the answer
            got = v[(keys >= np.uint64(lo)) & (keys <= np.uint64(hi))]
            if len(got):
                found[i].append(got[:1] if hi == lo else got)
    out = []
    for i, (lo, hi, rank) in enumerate(state):
        got = np.concatenate(found[i])
        out.append(got[0] if hi == lo else np.partition(got, rank)[rank])
    return out


def _part_names(split_arg: Any) -> tuple[str, ...]:
    """``("train", "val", "test")`` for a split into three parts, ``("train", "test")`` for two."""
    n_parts = len(split_arg) if not isinstance(split_arg, str) and isinstance(split_arg, Sequence) else 1
    if is_time_cuts(split_arg):
        n_parts += 1
    return ("train", "val", "test") if n_parts == 3 else ("train", "test")


def _part_starts(
    bounds: np.ndarray, breaks: np.ndarray, ranges: list[tuple[np.ndarray, np.ndarray]], spec: WindowSpec,
    context: str, block: int | None = None, warmup: int = 0,
) -> Iterator[tuple[int, np.ndarray]]:
    """``(part, start rows)`` blocks, in the order of ``window_starts`` + ``split`` (series, then rows).

    Windows starting in the first ``warmup`` rows of a series (derived features undefined there)
    are left out, as ``Pipeline`` leaves them out in memory.

    Consecutive series are taken together until their windows fill a block (index arithmetic over
    the whole block, as :func:`seqprep.windowing.window_starts`), so millions of short series cost
    a few vectorised blocks, not a Python step per series; a series with more windows than a block
    is cut into blocks of its own. Memory stays O(block) either way.
    """
    block = block or _STARTS_BLOCK
    bounds = np.asarray(bounds, dtype=np.int64)
    span, stride = spec.span, spec.stride
    off = spec.last_input_offset
    h_lo, h_hi = min(spec.horizons), max(spec.horizons)
    gaps = len(breaks) > 0 and not spec.allow_gaps
    lengths = np.diff(bounds)
    n_per = np.where(lengths >= span, (lengths - span) // stride + 1, 0)
    cum = np.cumsum(n_per)

    def pieces() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(series index, window number within its series) per block of at most `block` windows."""
        i, n_series = 0, len(n_per)
        while i < n_series:
            n_i = int(n_per[i])
            if n_i > block:  # one long series: blocks of its own windows
                for k0 in range(0, n_i, block):
                    k = np.arange(k0, min(n_i, k0 + block), dtype=np.int64)
                    yield np.full(k.size, i), k
                i += 1
            else:  # series i..j-1: at most `block` windows together
                j = max(i + 1, int(np.searchsorted(cum, cum[i] - n_i + block, side="right")))
                counts = n_per[i:j]
                series = np.repeat(np.arange(i, j), counts)
                yield series, np.arange(series.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
                i = j

    for series, k in pieces():
        local = k * stride
        starts = bounds[series] + local
        if gaps:
            ok = np.searchsorted(breaks, starts, side="right") == np.searchsorted(
                breaks, starts + span - 1, side="right"
            )
            starts, local, series = starts[ok], local[ok], series[ok]
        if warmup:
            ok = local >= warmup
            starts, local, series = starts[ok], local[ok], series[ok]
        first, last = local + off + h_lo, local + off + h_hi
        for p, (lo, hi) in enumerate(ranges):
            lo_s, hi_s = lo[series], hi[series]
            m = (first >= lo_s) & (last < hi_s)
            if context == "part":
                m &= local >= lo_s
            yield p, starts[m]


def _count_windows(
    bounds: np.ndarray, breaks: np.ndarray, ranges: list[tuple[np.ndarray, np.ndarray]], pipe: Any,
    names: tuple[str, ...],
) -> list[int]:
    """Windows of each part; a part without any is refused with ``Pipeline.fit``'s message."""
    counts = [0] * len(ranges)
    for p, s in _part_starts(bounds, breaks, ranges, pipe.spec, pipe.context, warmup=pipe.warmup):
        counts[p] += len(s)
    if any(c == 0 for c in counts):
        require_windows(
            _SpecOnly(pipe.spec), names, [range(c) for c in counts], ranges, pipe.context  # type: ignore[arg-type,misc]
        )
    return counts


@dataclass(frozen=True)
class _SpecOnly:
    """What :func:`seqprep.splitting.require_windows` reads of a ``Windows``: its spec, for the message."""

    spec: WindowSpec
