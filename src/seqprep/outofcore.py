"""Larger-than-memory data on one machine: stream the fit, export scaled rows once, map them back.

The in-memory :class:`~seqprep.Pipeline` loads the whole table. This module does the same work
in passes over chunks of rows, so that the data never has to fit in memory:

1. **scan** the time and group columns (only those) to find the series, check that rows are
   sorted by ``(group, time)``, infer the time step and locate gaps in time;
2. **split** in time with the semantics of :func:`seqprep.split` (fractions are cut per series
   from row counts; timestamps by binary search in each series' sorted times);
3. **fit** the scaler in one streaming pass over the training rows with the exact, mergeable
   ``partial_fit`` (float64 moments);
4. **export** (:func:`export`): write the scaled rows once to ``data.npy`` chunk by chunk, with
   the window start rows of every part, and a manifest written last. An interrupted export
   resumes where it stopped; :func:`open_export` memory-maps the result as lazy
   :class:`~seqprep.Windows`.

Sources are ``.npy`` files (opened as memory maps; column names given with ``columns=`` or in a
sidecar JSON ``<file>.json``) and Parquet files or directories (read in record batches through
``pyarrow``).

Statistics, split rows and window starts equal those of ``Pipeline.fit`` on the same data
(statistics to float64 rounding, starts bit for bit). Streaming supports ``holdout="time"``,
every ``scale_per`` (``"series"``: one set of statistics per series, fitted on that series'
training rows in the same single pass and kept as ``(n_series, n_features)`` arrays, for every
base but ``"robust"``, whose per-series quantiles need ``Pipeline.fit``;
``"sample"``: each window normalised on its own when it is read), ``nan_policy="raise"``,
``derived`` features (computed per chunk with the in-memory code; lags, differences and rolling
windows get the last rows of the previous chunk, and windows skip each series' warm-up rows as in
memory), and every per-feature scaler: moments merge exactly in one pass, and ``"robust"`` finds
its exact quantiles in a few passes over the training rows (:mod:`seqprep._quantiles`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._quantiles import StreamingQuantiles
from ._sources import NpySource, ParquetSource, _Source, open_source
from ._validation import check_int, list_names, param_error, zero_of
from ._version import __version__
from .exceptions import ArtifactError, DataError, InvalidParameterError
from .io import SeriesData, atomic_write
from .scaling import RobustScaler, SeriesScaler
from .splitting import _check_fractions, _is_time_cuts, _require_windows, check_gap, ranges_from_cuts
from .windowing import Windows, WindowSpec

__all__ = ["NpySource", "ParquetSource", "StreamFit", "export", "fit_stream", "open_export", "open_source"]

FORMAT = "seqprep.export"
FORMAT_VERSION = 1
DEFAULT_CHUNK_ROWS = 1 << 20
_MANIFEST = "manifest.json"
_PROGRESS = "progress.json"
# Per-series fields (one entry per series): written once at setup to _SERIES, not with every chunk's
# progress.json (rewriting them after each chunk cost O(n_series) per chunk); the manifest has everything.
_SERIES = "series.json"
_PER_SERIES_FIELDS = ("keys", "row_ranges")
_FAIL_ENV = "SEQPREP_EXPORT_FAIL_AFTER"  # test hook: raise after this many chunks were written in one run
_STARTS_BLOCK = 1 << 20


# ---------------------------------------------------------------------- the plan


@dataclass
class StreamFit:
    """What a streaming fit found: the series, the split rows and the windows per part.

    Attributes
    ----------
    pipeline : Pipeline
        The pipeline, fitted (``scaler_`` and ``schema_`` set; ``split_`` is None).
    columns : list of str
        Columns of the scaled table: inputs first, then extra targets.
    n_inputs : int
    n_rows : int
    bounds : ndarray of shape (n_series + 1,)
    keys : tuple
        Series keys.
    freq : object or None
        Dominant time step.
    breaks : ndarray of int64
        Rows after a gap in time.
    row_ranges : dict of str to ndarray of shape (n_series, 2)
        Local rows ``[lo, hi)`` of each part, as :attr:`seqprep.Split.row_ranges`.
    n_windows : dict of str to int
    """

    pipeline: Any
    columns: list[str]
    n_inputs: int
    n_rows: int
    bounds: np.ndarray
    keys: tuple[Any, ...]
    freq: Any
    breaks: np.ndarray
    row_ranges: dict[str, np.ndarray]
    n_windows: dict[str, int]
    time: np.ndarray | None = field(default=None, repr=False)


def _check_streamable(pipe: Any) -> None:
    from .pipeline import check_calendar_time, check_streamed_series_scaler

    if pipe.holdout != "time":
        raise param_error("holdout", "'time' for streaming", pipe.holdout, "Use Pipeline.fit for holdout='series'.")
    check_calendar_time(pipe)
    check_streamed_series_scaler(pipe, "for streaming")
    if pipe.nan_policy != "raise":
        raise param_error("nan_policy", "'raise' for streaming", pipe.nan_policy,
                          "Clean NaN values upstream (streaming cannot fill across chunks).")


def _resolve_columns(pipe: Any, source: _Source) -> tuple[list[str], list[str], int]:
    """(raw_columns, columns, n_inputs) as Pipeline._prepare would give them."""
    skip = {pipe.time, pipe.group}
    missing = [c for c in [pipe.time, pipe.group] if c is not None and c not in source.columns]
    if missing:
        raise InvalidParameterError(
            f"`time`/`group` name columns that do not exist: {list_names(missing)}. "
            f"Available columns: {list_names(source.columns)}."
        )
    if pipe.features is not None:
        # as Pipeline._prepare: the columns derived features read are loaded even when not inputs
        extra = [c for d in pipe.derived for c in d.source_columns() if c not in pipe.features]
        raw = list(dict.fromkeys(pipe.features + extra + pipe._targets))
    else:
        raw = [c for c in source.columns if c not in skip and source.numeric(c)]
        raw += [t for t in pipe._targets if t not in raw and t in source.columns]
    absent = [c for c in raw if c not in source.columns]
    if absent:
        raise InvalidParameterError(
            f"`features`/`target` name columns that do not exist: {list_names(absent)}. "
            f"Available columns: {list_names(source.columns)}."
        )
    bad = [c for c in raw if not source.numeric(c)]
    if bad:
        raise DataError(
            f"feature and target columns must be numeric; these are not: {list_names(bad)}. "
            "Convert them to numbers or leave them out."
        )
    inputs = pipe.features if pipe.features is not None else list(raw)
    # Derived (Calendar) columns follow the inputs, as Pipeline._prepare places them.
    derived = [n for d in pipe.derived for n in d.output_names(tuple(raw))]
    in_cols = list(dict.fromkeys(inputs + derived))
    extra = [t for t in pipe._targets if t not in in_cols]
    return raw, in_cols + extra, len(in_cols)


class _ChunkTable:
    """Chunk -> float64 table of ``columns`` (raw columns, then derived ones where the pipeline has them).

    Derived features go through the same :func:`~seqprep.features.apply_features` as in memory.
    Features with warm-up rows (lags, differences, rolling windows) read earlier rows of their
    series, so the last ``warmup`` rows of each chunk are carried into the next one: chunks must
    then come in order, none skipped (:attr:`reads_every_chunk`). The raw values are checked for
    NaN/inf before the features add their (expected) warm-up NaN.
    """

    def __init__(self, pipe: Any, raw: list[str], columns: list[str], bounds: np.ndarray) -> None:
        self.pipe, self.raw, self.columns, self.bounds = pipe, raw, columns, bounds
        self.warmup = pipe.warmup
        self.uses_time = bool(pipe.derived) and pipe.time is not None
        self.read = list(dict.fromkeys([*raw, pipe.time])) if self.uses_time else (raw if pipe.derived else columns)
        self._carry: tuple[int, np.ndarray, np.ndarray | None] | None = None  # (first row, values, time)

    @property
    def reads_every_chunk(self) -> bool:
        return self.warmup > 0

    def __call__(self, a: int, b: int, cols: dict[str, np.ndarray]) -> np.ndarray:
        if not self.pipe.derived:
            values = _table(cols, self.columns)
            _finite_check(values, self.columns, a)
            return values
        from .features import apply_features

        values = _table(cols, self.raw)
        _finite_check(values, self.raw, a)
        time = np.asarray(cols[self.pipe.time]) if self.uses_time else None
        lo = a
        if self._carry is not None and self._carry[0] + len(self._carry[1]) == a:
            lo = self._carry[0]
            values = np.concatenate([self._carry[1], values])
            time = None if time is None else np.concatenate([self._carry[2], time])
        elif self.warmup and a > 0:
            raise RuntimeError(f"chunk at row {a} came without the rows before it (internal error)")
        # series starts strictly inside the block (bounds are sorted: two binary searches, not a scan)
        inner = self.bounds[np.searchsorted(self.bounds, lo, "right"):np.searchsorted(self.bounds, b, "left")] - lo
        block_bounds = np.concatenate([[0], inner, [b - lo]]).astype(np.int64)
        out, names, _ = apply_features(self.pipe.derived, values, tuple(self.raw), block_bounds, time)
        if self.warmup:
            keep = min(self.warmup, b - lo)
            self._carry = (b - keep, values[-keep:], None if time is None else time[-keep:])
        return out[a - lo:, [names.index(c) for c in self.columns]]


def _key(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _scan(
    source: _Source, time: str | None, group: str | None, chunk_rows: int, time_out: np.ndarray | None, bar: Any
) -> tuple[np.ndarray, tuple[Any, ...], Any, np.ndarray]:
    """One pass over the time/group columns: bounds, keys, freq, breaks (time written to ``time_out``)."""
    n = source.n_rows
    if n == 0:
        raise DataError("`data` is empty (0 rows). Pass at least one window's worth of rows.")
    if time is None and group is None:
        return np.array([0, n], dtype=np.int64), (0,), None, np.zeros(0, dtype=np.int64)
    names = [c for c in (group, time) if c is not None]
    bounds, keys = [0], []
    seen: set[Any] = set()
    prev_key: Any = None
    prev_t: Any = None
    diff_counts: dict[Any, int] = {}
    task = bar.add_task("scan (time/group)", total=n)
    for _, a, b, cols in source.chunks(names, chunk_rows):
        m = b - a
        change = np.zeros(m, dtype=bool)
        if group is not None:
            g = np.asarray(cols[group])
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
            prev_key = _key(g[-1])
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
            breaks = _breaks(time_out, bounds_arr, freq, chunk_rows)
    return bounds_arr, tuple(keys), freq, breaks


def _breaks(time: np.ndarray, bounds: np.ndarray, freq: Any, chunk_rows: int) -> np.ndarray:
    out = []
    n = len(time)
    for a in range(1, n, chunk_rows):
        b = min(a + chunk_rows, n)
        t = np.asarray(time[a - 1 : b])
        d = t[1:] - t[:-1]
        rows = np.arange(a, b, dtype=np.int64)
        same = ~np.isin(rows, bounds)
        out.append(rows[same & (d != freq)])
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _count_below(time: np.ndarray, bounds: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per series: rows with ``time < threshold`` (a prefix: times increase within a series)."""
    out = np.empty(len(bounds) - 1, dtype=np.int64)
    for i in range(len(bounds) - 1):
        out[i] = np.searchsorted(time[bounds[i] : bounds[i + 1]], thresholds[i], side="left")
    return out


def _cut(split_arg: Any, gap: Any, bounds: np.ndarray, time: np.ndarray | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Row ranges per series of each part: :func:`seqprep.splitting._cut_rows` without per-row arrays."""
    lengths = np.diff(bounds)
    n_series = len(lengths)
    n_rows = int(bounds[-1])
    gap, duration = check_gap(gap, time)

    def below(stamp: Any) -> np.ndarray:
        return _count_below(time, bounds, np.full(n_series, stamp))  # type: ignore[arg-type]

    if _is_time_cuts(split_arg):
        if time is None:
            raise param_error("split", "fractions when the data has no timestamps", split_arg,
                              "Pass time=... or fractions.")
        if time.dtype.kind != "M":
            raise param_error("split", "fractions when the time column is numeric", split_arg)
        stamps = [pd.Timestamp(c).to_datetime64() for c in ([split_arg] if isinstance(split_arg, str) else split_arg)]
        if any(b <= a for a, b in zip(stamps, stamps[1:], strict=False)):
            raise param_error("split", "increasing timestamps", split_arg)
        boundaries = [below(s) for s in stamps]
        after_gap = [below(s + duration) if duration is not None else None for s in stamps]
    else:
        fractions = _check_fractions(split_arg)
        cum = np.cumsum(fractions)[:-1]
        if time is not None and n_series > 1:
            ks = [min(int(round(c * n_rows)), n_rows - 1) for c in cum]
            part = np.partition(np.asarray(time), ks)  # k-th smallest times (8 bytes per row, once)
            stamps = [part[k] for k in ks]
            del part
            boundaries = [below(s) for s in stamps]
            after_gap = [below(s + duration) if duration is not None else None for s in stamps]
        else:
            boundaries = [np.round(lengths * c).astype(np.int64) for c in cum]
            if duration is not None:
                after_gap = []
                for b in boundaries:
                    idx = np.minimum(bounds[:-1] + b, n_rows - 1)
                    start_time = np.asarray(time[idx])  # type: ignore[index]
                    after_gap.append(_count_below(time, bounds, start_time + duration))  # type: ignore[arg-type]
            else:
                after_gap = [None] * len(boundaries)
    return ranges_from_cuts(boundaries, after_gap, gap, lengths)


def _part_names(split_arg: Any) -> tuple[str, ...]:
    n_parts = len(split_arg) if not isinstance(split_arg, str) and isinstance(split_arg, Sequence) else 1
    if _is_time_cuts(split_arg):
        n_parts += 1
    return ("train", "val", "test") if n_parts == 3 else ("train", "test")


def _part_starts(
    bounds: np.ndarray, breaks: np.ndarray, ranges: list[tuple[np.ndarray, np.ndarray]], spec: WindowSpec,
    context: str, block: int = _STARTS_BLOCK, warmup: int = 0,
) -> Iterator[tuple[int, np.ndarray]]:
    """``(part, start rows)`` blocks, in the order of ``window_starts`` + ``split`` (series, then rows).

    Windows starting in the first ``warmup`` rows of a series (derived features undefined there)
    are left out, as ``Pipeline`` leaves them out in memory.

    Consecutive series are taken together until their windows fill a block (index arithmetic over
    the whole block, as :func:`seqprep.windowing.window_starts`), so millions of short series cost
    a few vectorised blocks, not a Python step per series; a series with more windows than a block
    is cut into blocks of its own. Memory stays O(block) either way.
    """
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


class _Bar:
    """A rich progress bar on stderr when it is a terminal (or when asked); a no-op otherwise."""

    def __init__(self, enabled: bool | None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else bool(enabled)
        self._progress: Any = None

    def __enter__(self) -> _Bar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def add_task(self, description: str, total: int) -> Any:
        return self._progress.add_task(description, total=total) if self._progress is not None else None

    def update(self, task: Any, advance: int) -> None:
        if self._progress is not None:
            self._progress.update(task, advance=advance)


def _finite_check(values: np.ndarray, columns: list[str], start: int) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        per = bad.sum(axis=0)
        detail = ", ".join(f"{columns[j]}: {int(c)}" for j, c in enumerate(per) if c)
        first = start + int(np.flatnonzero(bad.any(axis=1))[0])
        raise DataError(
            f"the data has NaN or infinite values ({detail} in rows {start}..{start + len(values) - 1}); the first is "
            f"at row {first}. Fix them upstream: streaming supports nan_policy='raise' only."
        )


def _table(cols: dict[str, np.ndarray], columns: list[str]) -> np.ndarray:
    return np.column_stack([np.asarray(cols[c], dtype=np.float64) for c in columns])


def _plan(
    pipe: Any, source: _Source, chunk_rows: int, time_out: np.ndarray | None, bar: _Bar
) -> StreamFit:
    """Scan, split, count windows and fit the scaler in one pass over the training rows."""
    _check_streamable(pipe)
    raw, columns, n_in = _resolve_columns(pipe, source)
    bounds, keys, freq, breaks = _scan(source, pipe.time, pipe.group, chunk_rows, time_out, bar)
    time = time_out if pipe.time is not None else None
    ranges = _cut(pipe.split, pipe.gap, bounds, time)
    names = _part_names(pipe.split)
    counts = [0] * len(ranges)
    for p, s in _part_starts(bounds, breaks, ranges, pipe.spec, pipe.context, warmup=pipe.warmup):
        counts[p] += len(s)
    if any(c == 0 for c in counts):
        _require_windows(
            _SpecOnly(pipe.spec), names, [range(c) for c in counts], ranges, pipe.context  # type: ignore[arg-type]
        )
    lo, hi = ranges[0]
    train_start, train_stop = bounds[:-1] + lo, bounds[:-1] + hi

    def wanted(a: int, b: int) -> bool:
        return bool(np.any((train_start < b) & (train_stop > a)))

    scaler = pipe._make_scaler(columns)
    robust = isinstance(scaler, RobustScaler)
    # A robust scaler's quantiles need several passes (exact order statistics, :mod:`._quantiles`);
    # every other scaler merges its moments in one.
    quantiles = StreamingQuantiles([scaler.quantile_range[0], 50.0, scaler.quantile_range[1]], len(columns)) \
        if robust else None

    def training_rows(label: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(values, series codes) of the training rows of every chunk that holds some, in order."""
        task = bar.add_task(label, total=int((hi - lo).sum()))
        table = _ChunkTable(pipe, raw, columns, bounds)
        for _, a, b, cols in source.chunks(table.read, chunk_rows, None if table.reads_every_chunk else wanted):
            if cols is None:
                continue
            rows = np.arange(a, b, dtype=np.int64)
            code = np.searchsorted(bounds, rows, side="right") - 1
            mask = (rows >= train_start[code]) & (rows < train_stop[code])
            if not mask.any():
                if table.reads_every_chunk:
                    table(a, b, cols)  # carries its last rows into the next chunk
                continue
            values, codes, n_train = table(a, b, cols)[mask], code[mask], int(mask.sum())
            # Drop the chunk before the caller folds its training rows in: this frame would otherwise
            # keep the whole chunk alive beside the caller's work and the next chunk's read.
            del cols, rows, code, mask
            yield values, codes
            del values, codes
            bar.update(task, advance=n_train)

    fitted = False
    if quantiles is not None:
        while quantiles.next_pass():
            for values, _ in training_rows(f"fit (training rows, quantile pass {quantiles.passes})"):
                quantiles.update(values)
                fitted = True
        if fitted:
            scaler.n_features_in_ = len(columns)
            scaler._set_quantiles(quantiles.result(), quantiles.count)
    else:
        for values, codes in training_rows("fit (training rows)"):
            if isinstance(scaler, SeriesScaler):
                # Series codes are positions in file order, the order of the saved series keys.
                scaler.partial_fit(values, codes)
            else:
                scaler.partial_fit(values)
            fitted = True
    if not fitted:
        raise DataError("the training part has no rows to fit the statistics on. Use other fractions or more data.")
    from .pipeline import _freq_json, _key_json, check_series_trained

    check_series_trained(scaler, keys)
    scaler._report()
    pipe.scaler_ = scaler

    pipe.schema_ = {
        "columns": columns,
        "inputs": columns[:n_in],
        "targets": pipe._targets,
        "raw_columns": raw,
        "freq": _freq_json(freq),
        "series_keys": [_key_json(k) for k in keys] if pipe.scale_per == "series" else None,
        "warmup": pipe.warmup,
        "n_rows_fitted": int(bounds[-1]),
    }
    pipe.split_ = None
    row_ranges = {n: np.stack(r, axis=1) for n, r in zip(names, ranges, strict=True)}
    return StreamFit(
        pipe, columns, n_in, int(bounds[-1]), bounds, keys, freq, breaks, row_ranges,
        dict(zip(names, counts, strict=True)), time,
    )


@dataclass(frozen=True)
class _SpecOnly:
    spec: WindowSpec


def _time_dtype(source: _Source, time: str | None) -> np.dtype | None:
    if time is None:
        return None
    if time not in source.columns:
        raise InvalidParameterError(
            f"`time` names a column that does not exist. Received: time={time!r}. "
            f"Available columns: {list_names(source.columns)}."
        )
    return source.dtype(time)  # type: ignore[attr-defined, no-any-return]


def fit_stream(
    pipeline: Any,
    data: Any,
    *,
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: bool | None = None,
) -> StreamFit:
    """Fit a pipeline's statistics in one streaming pass over the training rows of a file.

    Parameters
    ----------
    pipeline : Pipeline
        Its split, gap, context, scaler and columns are used; it is fitted in place.
    data : str, path-like or source
        An ``.npy`` file or a Parquet file/directory (see :func:`open_source`).
    columns : list of str, optional
        Column names of an ``.npy`` file.
    chunk_rows : int, default 1_048_576
        Rows read at a time.
    progress : bool, optional
        Show progress bars (default: when stderr is a terminal).

    Returns
    -------
    StreamFit

    Raises
    ------
    DataError
        Rows not sorted by ``(group, time)`` (naming the first offending row), NaN values, or a
        part without windows.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from seqprep import Pipeline
    >>> p = os.path.join(tempfile.mkdtemp(), "x.npy")
    >>> np.save(p, np.c_[np.arange(100.0), np.sin(np.arange(100.0))])
    >>> fit = fit_stream(Pipeline(lookback=5, target="a"), p, columns=["a", "b"], chunk_rows=30)
    >>> fit.n_windows
    {'train': 65, 'val': 15, 'test': 15}
    >>> round(float(fit.pipeline.scaler_.mean_[0]), 1)
    34.5
    """
    chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
    source = open_source(data, columns)
    tdtype = _time_dtype(source, pipeline.time)
    with tempfile.TemporaryDirectory(prefix="seqprep-time-") as tmp, _Bar(progress) as bar:
        time_out = None
        if tdtype is not None:
            time_out = np.lib.format.open_memmap(Path(tmp) / "time.npy", mode="w+", dtype=tdtype,
                                                 shape=(source.n_rows,))
        fit = _plan(pipeline, source, chunk_rows, time_out, bar)
        fit.time = None
        del time_out
    return fit


# ---------------------------------------------------------------------- export


def _fingerprint(pipe: Any, source: _Source, chunk_rows: int, fmt: str) -> dict[str, Any]:
    payload = {"config": pipe.get_config(), "source": source.identity(), "columns": list(source.columns),
               "chunk_rows": chunk_rows, "format": fmt}
    return json.loads(json.dumps(payload, sort_keys=True, default=_json_default))  # as it reads back from JSON


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    with atomic_write(path) as fh:
        json.dump(payload, fh, indent=1, sort_keys=True, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc}).") from None
    if not isinstance(payload, dict):
        raise ArtifactError(f"{path} is not a seqprep export file.")
    return payload


def _save_array(path: Path, arr: np.ndarray) -> None:
    with atomic_write(path, "wb") as fh:
        np.save(fh, arr, allow_pickle=False)


def _refuse_other_args(out: Path, old: dict[str, Any], new: dict[str, Any]) -> None:
    diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    detail = diff
    if "config" in diff:
        oc, nc = old.get("config", {}), new.get("config", {})
        detail = [k for k in diff if k != "config"] + [f"config.{k}" for k in sorted(set(oc) | set(nc))
                                                       if oc.get(k) != nc.get(k)]
    raise ArtifactError(
        f"{str(out)!r} holds an export made with other arguments or other data (differences: "
        f"{', '.join(detail)}); refusing to mix them. Use another output directory, or pass overwrite=True "
        "(--overwrite) to start it again."
    )


def export(
    pipeline: Any,
    path: str | os.PathLike[str],
    data: Any,
    *,
    format: str = "npy",
    columns: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    overwrite: bool = False,
    progress: bool | None = None,
) -> Path:
    """Fit by streaming, then write the scaled rows and the window starts of every part to a directory.

    Layout of ``path``: ``data.npy`` (``(n_rows, n_columns)`` in the pipeline's dtype, inputs
    first then extra targets), ``starts-<part>.npy`` (int64 start rows), ``bounds.npy``,
    ``breaks.npy``, ``time.npy`` (when there is a time column), ``pipeline/`` (the fitted
    :class:`~seqprep.Pipeline`), ``series.json`` (series keys and split rows, written once),
    ``progress.json`` (rewritten after every chunk) and, written last and atomically,
    ``manifest.json`` with ``"complete": true`` and one sha256 per chunk.

    An interrupted export run again with the same arguments resumes: the statistics and starts
    are read back and only the chunks missing from ``progress.json`` are written.

    Parameters
    ----------
    pipeline : Pipeline
        Fitted in place by one streaming pass (see :func:`fit_stream`).
    path : str or path-like
        Output directory.
    data : str, path-like or source
        An ``.npy`` file or a Parquet file/directory.
    format : {"npy"}, default "npy"
    columns : list of str, optional
        Column names of an ``.npy`` file.
    chunk_rows : int, default 1_048_576
        Rows per chunk (the unit of resumption).
    overwrite : bool, default False
        Start again in a directory that holds another export.
    progress : bool, optional
        Show progress bars (default: when stderr is a terminal).

    Returns
    -------
    Path
        The output directory.

    Raises
    ------
    ArtifactError
        The directory holds another export (other arguments or data) or unrelated files.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from seqprep import Pipeline
    >>> d = tempfile.mkdtemp()
    >>> np.save(os.path.join(d, "x.npy"), np.c_[np.arange(100.0), np.cos(np.arange(100.0))])
    >>> out = export(Pipeline(lookback=5, target="a"), os.path.join(d, "out"), os.path.join(d, "x.npy"),
    ...              columns=["a", "b"], chunk_rows=40)
    >>> parts = open_export(out)
    >>> [len(w) for w in parts.values()], parts["train"][0][0].shape
    ([65, 15, 15], (5, 2))
    """
    if format != "npy":
        raise param_error("format", "'npy'", format, "Only .npy exports are written for now.")
    _check_streamable(pipeline)  # settings that cannot stream are refused before the directory is made
    chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
    source = open_source(data, columns)
    if np.dtype(pipeline.spec.dtype).kind != "f":
        raise param_error("dtype", "a float dtype for an export", pipeline.spec.dtype)
    out = Path(path)
    fp = _fingerprint(pipeline, source, chunk_rows, format)
    manifest_file, progress_file = out / _MANIFEST, out / _PROGRESS
    state: dict[str, Any] | None = None
    if out.exists() and any(out.iterdir()):
        known = progress_file.is_file() or manifest_file.is_file()
        if overwrite:
            if not known:
                raise ArtifactError(f"{str(out)!r} is not a seqprep export; refusing to delete it even with overwrite.")
            shutil.rmtree(out)
        elif not known:
            raise ArtifactError(
                f"{str(out)!r} already exists and is not a seqprep export; choose an empty or new directory."
            )
        else:
            old = _read_json(manifest_file if manifest_file.is_file() else progress_file)
            if old.get("fingerprint") != fp:
                _refuse_other_args(out, old.get("fingerprint") or {}, fp)
            if manifest_file.is_file() and old.get("complete") is True:
                _load_fitted(pipeline, out)
                return out
            state = _read_progress(out) if progress_file.is_file() else None
    out.mkdir(parents=True, exist_ok=True)
    with _Bar(progress) as bar:
        if state is None or not state.get("setup"):
            state = _setup(pipeline, out, source, chunk_rows, fp, bar)
        else:
            _load_fitted(pipeline, out)
        _write_chunks(pipeline, out, source, state, bar)
    return out


def _load_fitted(pipeline: Any, out: Path) -> None:
    from .pipeline import Pipeline

    saved = Pipeline.load(out / "pipeline")
    pipeline.scaler_, pipeline.schema_, pipeline.split_ = saved.scaler_, saved.schema_, None


def _setup(pipe: Any, out: Path, source: _Source, chunk_rows: int, fp: dict[str, Any], bar: _Bar) -> dict[str, Any]:
    """Scan, fit, and write everything but the data rows; record it in progress.json."""
    for stale in (_MANIFEST, _PROGRESS, _SERIES):
        (out / stale).unlink(missing_ok=True)
    tdtype = _time_dtype(source, pipe.time)
    time_out = None
    tmp_time = out / ".time.npy.tmp"
    if tdtype is not None:
        time_out = np.lib.format.open_memmap(tmp_time, mode="w+", dtype=tdtype, shape=(source.n_rows,))
    fit = _plan(pipe, source, chunk_rows, time_out, bar)
    if time_out is not None:
        time_out.flush()
        del time_out
        fit.time = None
        os.replace(tmp_time, out / "time.npy")
    names = list(fit.n_windows)
    tmp_files = {}
    arrays = {}
    for p, name in enumerate(names):
        tmp = out / f".starts-{name}.npy.tmp"
        arrays[p] = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.int64, shape=(fit.n_windows[name],))
        tmp_files[p] = (tmp, out / f"starts-{name}.npy")
    filled = [0] * len(names)
    for p, s in _part_starts(fit.bounds, fit.breaks, [tuple(r.T) for r in fit.row_ranges.values()], pipe.spec,
                             pipe.context, warmup=pipe.warmup):
        arrays[p][filled[p] : filled[p] + len(s)] = s
        filled[p] += len(s)
    for p, (tmp, final) in tmp_files.items():
        arrays[p].flush()
        del arrays[p]
        os.replace(tmp, final)
    _save_array(out / "bounds.npy", fit.bounds)
    _save_array(out / "breaks.npy", fit.breaks)
    pipe.save(out / "pipeline", overwrite=True)
    n_chunks = -(-fit.n_rows // chunk_rows)
    data_file = out / "data.npy"
    data_file.unlink(missing_ok=True)
    data = np.lib.format.open_memmap(data_file, mode="w+", dtype=pipe.spec.dtype, shape=(fit.n_rows, len(fit.columns)))
    del data
    state = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "fingerprint": fp,
        "setup": True,
        "columns": fit.columns,
        "inputs": fit.columns[: fit.n_inputs],
        "targets": list(pipe._targets),
        "scalar_target": isinstance(pipe.target, str),
        "spec": pipe.spec.to_dict(),
        "n_rows": fit.n_rows,
        "dtype": pipe.spec.dtype,
        "chunk_rows": chunk_rows,
        "n_chunks": n_chunks,
        "parts": fit.n_windows,
        "part_names": names,
        "row_ranges": {k: v.tolist() for k, v in fit.row_ranges.items()},
        "keys": [_key(k) for k in fit.keys],
        "scale_per": pipe.scale_per,
        "time": pipe.time,
        "time_dtype": None if tdtype is None else str(tdtype),
        "freq": pipe.schema_["freq"],
        "chunks": {},
        "runs": [],
    }
    _write_json(out / _SERIES, {k: state[k] for k in _PER_SERIES_FIELDS})
    _write_progress(out, state)
    return state


def _write_progress(out: Path, state: dict[str, Any]) -> None:
    _write_json(out / _PROGRESS, {k: v for k, v in state.items() if k not in _PER_SERIES_FIELDS})


def _read_progress(out: Path) -> dict[str, Any]:
    state = _read_json(out / _PROGRESS)
    if state.get("setup") and not all(k in state for k in _PER_SERIES_FIELDS):
        if not (out / _SERIES).is_file():
            raise ArtifactError(f"{out / _SERIES} is missing; re-run the export with overwrite=True.")
        state.update({k: v for k, v in _read_json(out / _SERIES).items() if k in _PER_SERIES_FIELDS})
    return state


def _write_chunks(pipe: Any, out: Path, source: _Source, state: dict[str, Any], bar: _Bar) -> None:
    columns, chunk_rows = state["columns"], state["chunk_rows"]
    bounds = np.load(out / "bounds.npy")
    done: dict[str, str] = dict(state["chunks"])
    data = np.load(out / "data.npy", mmap_mode="r+")
    if data.shape != (state["n_rows"], len(columns)) or data.dtype != np.dtype(state["dtype"]):
        raise ArtifactError(f"{out / 'data.npy'} has shape {data.shape}, not {(state['n_rows'], len(columns))}; "
                            "re-run with overwrite=True.")
    fail_after = int(os.environ.get(_FAIL_ENV, "0") or 0)
    written: list[int] = []
    state["runs"] = [*state.get("runs", []), {"seqprep_version": __version__, "chunks_written": written}]
    task = bar.add_task("write (scaled rows)", total=state["n_rows"] * len(columns) * data.itemsize)
    remaining = sum(1 for k in range(state["n_chunks"]) if str(k) not in done)
    table = _ChunkTable(pipe, _resolve_columns(pipe, source)[0], columns, bounds)
    wanted = None if table.reads_every_chunk else (lambda a, b: str(a // chunk_rows) not in done)
    for k, a, b, cols in source.chunks(table.read, chunk_rows, wanted):
        nbytes = (b - a) * len(columns) * data.itemsize
        if cols is None or str(k) in done:
            if cols is not None and table.reads_every_chunk:
                table(a, b, cols)  # a resumed export: rows for the next chunk's warm-up
            bar.update(task, advance=nbytes)
            continue
        values = table(a, b, cols)
        codes = np.searchsorted(bounds, np.arange(a, b), side="right") - 1
        scaled = pipe._scale(values, codes)
        data[a:b] = scaled
        data.flush()
        done[str(k)] = hashlib.sha256(memoryview(scaled).cast("B")).hexdigest()
        written.append(k)
        state["chunks"] = done
        _write_progress(out, state)
        bar.update(task, advance=nbytes)
        if fail_after and len(written) >= fail_after and len(written) < remaining:
            raise RuntimeError(f"{_FAIL_ENV}={fail_after}: export interrupted after chunk {k} (test hook).")
    del data
    missing = [k for k in range(state["n_chunks"]) if str(k) not in done]
    if missing:
        raise ArtifactError(
            f"the source gave fewer rows than expected: chunks {missing[:5]} were never written. "
            "The data changed during the export; re-run with overwrite=True."
        )
    manifest = {k: v for k, v in state.items() if k != "setup"}
    manifest["complete"] = True
    _write_json(out / _MANIFEST, manifest)


# ---------------------------------------------------------------------- reading back


def open_export(path: str | os.PathLike[str], *, verify: bool = False) -> dict[str, Windows]:
    """Memory-map a finished export as lazy :class:`~seqprep.Windows`, one per part.

    Parameters
    ----------
    path : str or path-like
        A directory written by :func:`export`.
    verify : bool, default False
        Recompute every chunk's sha256 (reads all the data once) and compare with the manifest.

    Returns
    -------
    dict of str to Windows
        ``{"train": ..., "val": ..., "test": ...}`` over ``data.npy`` opened read-only.

    Raises
    ------
    ArtifactError
        No manifest, an incomplete export, another format or version, or (``verify``) a chunk
        whose content changed.
    """
    out = Path(path)
    manifest_file = out / _MANIFEST
    if not manifest_file.is_file():
        if (out / _PROGRESS).is_file():
            state = _read_json(out / _PROGRESS)
            raise ArtifactError(
                f"{str(out)!r} is an incomplete export ({len(state.get('chunks', {}))} of {state.get('n_chunks', '?')} "
                "chunks written, no manifest). Run the same export again to finish it."
            )
        raise ArtifactError(f"no seqprep export at {str(out)!r}: {_MANIFEST} is missing.")
    m = _read_json(manifest_file)
    if m.get("format") != FORMAT:
        raise ArtifactError(f"{manifest_file} is not a seqprep export (format {m.get('format')!r}).")
    if m.get("version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{manifest_file} has export format version {m.get('version')!r}; this seqprep ({__version__}) reads "
            f"version {FORMAT_VERSION}."
        )
    if m.get("complete") is not True or len(m.get("chunks", {})) != m.get("n_chunks"):
        raise ArtifactError(f"{str(out)!r} is an incomplete export; run the same export again to finish it.")
    data = np.load(out / "data.npy", mmap_mode="r")
    columns = list(m["columns"])
    if data.shape != (m["n_rows"], len(columns)):
        raise ArtifactError(
            f"{out / 'data.npy'} has shape {data.shape}; the manifest says {(m['n_rows'], len(columns))}."
        )
    if verify:
        step = m["chunk_rows"]
        for k in range(m["n_chunks"]):
            block = np.ascontiguousarray(data[k * step : (k + 1) * step])
            if hashlib.sha256(memoryview(block).cast("B")).hexdigest() != m["chunks"][str(k)]:
                raise ArtifactError(f"chunk {k} of {out / 'data.npy'} (rows {k * step}..) changed after the export.")
    spec = WindowSpec.from_dict(m["spec"])
    n_in = len(m["inputs"])
    tgt = [columns.index(t) for t in m["targets"]]
    y = _column_view(data, tgt)
    time = np.load(out / "time.npy", mmap_mode="r") if (out / "time.npy").is_file() else None
    freq = m.get("freq")
    if freq is not None and time is not None and time.dtype.kind == "M":
        freq = pd.Timedelta(freq).to_timedelta64()
    sd = SeriesData(
        data, tuple(columns), np.load(out / "bounds.npy"), tuple(m["keys"]), time, freq, np.load(out / "breaks.npy"),
        {"source": "export", "rows": m["n_rows"]},
    )
    # Per-window normalisation cannot be written once: it is applied to every batch as it is read.
    from .pipeline import PerWindowScaling

    transform = PerWindowScaling() if m.get("scale_per", "feature") == "sample" else None
    parts = {}
    for name in m["part_names"]:
        starts = np.load(out / f"starts-{name}.npy", mmap_mode="r")
        parts[name] = Windows(
            data[:, :n_in], y, starts, spec, sd, feature_names=columns[:n_in], target_names=m["targets"],
            scalar_target=bool(m["scalar_target"]), name=name, batch_transform=transform,
        )
    return parts


def _column_view(data: np.ndarray, idx: list[int]) -> np.ndarray:
    """Columns ``idx`` of a memory map without a copy when they are evenly spaced; a copy otherwise."""
    if len(idx) == 1:
        return data[:, idx[0] : idx[0] + 1]
    step = idx[1] - idx[0]
    if step > 0 and all(b - a == step for a, b in zip(idx, idx[1:], strict=False)):
        return data[:, idx[0] : idx[-1] + 1 : step]
    return np.asarray(data[:, idx])
