"""The passes over a streamed source's feature columns, for :mod:`seqprep.outofcore`.

A chunk of rows becomes a float64 table of the pipeline's columns in :class:`_ChunkTable` (the
raw columns checked for NaN/inf, derived features computed with the in-memory code and the
warm-up rows carried from one chunk to the next); the fit (:func:`_fit_scaler`) and the export's
write pass both read chunks through it, so that both see the same values. :class:`_Bar` is the
progress bar every pass reports to. The plan these passes follow (series bounds, split rows)
comes from :mod:`seqprep.outofcore._plan`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..exceptions import DataError
from ..scaling import BaseScaler, RobustScaler, SeriesScaler, StreamingQuantiles
from ._sources import _Source

__all__: list[str] = []  # internal to seqprep.outofcore: its siblings import the names they need

#: Training rows handed to the scaler's ``partial_fit`` at a time (slices of a chunk): the masked copy and the
#: scaler's float64 temporaries are this many rows, whatever ``chunk_rows`` is.
FIT_ROWS = 1 << 17


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
        """The table of rows ``a..b`` from that chunk's columns ``cols`` (read with :attr:`read`)."""
        if not self.pipe.derived:
            values = _table(cols, self.columns)
            _finite_check(values, self.columns, a)
            return values
        from ..features import apply_features

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


def _finite_check(values: np.ndarray, columns: list[str], start: int) -> None:
    """Refuse NaN/inf in the raw values of rows ``start..``, with the count per column and the first row."""
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
    """A chunk's ``columns`` side by side as one float64 ``(rows, columns)`` array (filled column by column)."""
    n = len(cols[columns[0]]) if columns else 0
    out = np.empty((n, len(columns)), dtype=np.float64)
    for j, c in enumerate(columns):
        out[:, j] = cols[c]
    return out


def _fit_scaler(
    pipe: Any, source: _Source, chunk_rows: int, raw: list[str], columns: list[str], bounds: np.ndarray,
    train: tuple[np.ndarray, np.ndarray], keys: tuple[Any, ...], bar: _Bar,
) -> BaseScaler:
    """A new scaler of ``pipe``'s, fitted on the training rows (``train``: local ``[lo, hi)`` per series)."""
    lo, hi = train
    train_start, train_stop = bounds[:-1] + lo, bounds[:-1] + hi

    def wanted(a: int, b: int) -> bool:
        """Whether rows ``a..b`` hold a training row: chunks that hold none are not read (``.npy``)."""
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
            full, n_train = table(a, b, cols), int(mask.sum())
            # Drop the chunk before the caller folds its training rows in: this frame would otherwise
            # keep the whole chunk alive beside the caller's work and the next chunk's read.
            del cols, rows
            # Slices of the chunk: the masked copy and the scaler's temporaries are a slice's (moments
            # and counts merge exactly, so the statistics do not depend on the slicing).
            for i in range(0, b - a, FIT_ROWS):
                sub = mask[i : i + FIT_ROWS]
                if sub.any():
                    values, codes = full[i : i + FIT_ROWS][sub], code[i : i + FIT_ROWS][sub]
                    yield values, codes
                    del values, codes
            del full, code, mask
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
    from ..pipeline import check_series_trained

    check_series_trained(scaler, keys)
    scaler._report()
    return scaler


#: Seconds between two plain progress lines when stderr is not a terminal (CI, a log file).
PLAIN_PROGRESS_EVERY_S = 5.0


class _Bar:
    """Progress on stderr: a rich bar on a terminal (or when asked); elsewhere a plain line every few seconds.

    ``enabled=None`` (the default of the public functions) shows the bar on a terminal and, when stderr is
    not one (CI, a log file), a plain line at most every :data:`PLAIN_PROGRESS_EVERY_S` seconds for a step
    that lasts that long; ``enabled=False`` shows nothing.
    """

    def __init__(self, enabled: bool | None) -> None:
        terminal = sys.stderr.isatty()
        self.enabled = terminal if enabled is None else bool(enabled)
        self.plain = enabled is None and not terminal
        self._progress: Any = None
        self._tasks: dict[int, list[Any]] = {}  # id -> [description, total, done, last print time, start]

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
        if self._progress is not None:
            return self._progress.add_task(description, total=total)
        if self.plain:
            now = time.perf_counter()
            key = len(self._tasks)
            self._tasks[key] = [description, max(int(total), 1), 0, now, now]
            return key
        return None

    def update(self, task: Any, advance: int) -> None:
        if self._progress is not None:
            self._progress.update(task, advance=advance)
        elif self.plain and task in self._tasks:
            entry = self._tasks[task]
            entry[2] += advance
            now = time.perf_counter()
            if now - entry[3] >= PLAIN_PROGRESS_EVERY_S:
                entry[3] = now
                print(f"{entry[0]}: {min(entry[2] / entry[1], 1.0):.0%} ({now - entry[4]:.0f} s)", file=sys.stderr,
                      flush=True)
