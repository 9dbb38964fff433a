"""What every part of :mod:`seqprep.dask` shares: the lazy dask import, running a graph, one partition's rows.

Dask is imported only inside :func:`_require_dask`, so importing this module (and ``seqprep.dask``)
stays light. :func:`_load`, :func:`_chunks` and :func:`_step_diffs` run on the workers; like every
function shipped to a worker they are module-level, so that they are pickled by reference.

Memory on a worker
------------------
Every pass reads each partition in the task that works on it (:func:`_per_partition`: the
function is mapped over the partitions, and dask fuses it with the read), so a worker with one
thread holds one partition at a time; with separate read tasks the scheduler runs a second read
before the first partition's work, and a worker holds two partitions and the work on top. The
work itself runs on chunks of whole series of about :data:`CHUNK_ROWS` rows (:func:`_chunks`):
the validated float table, the time steps and the masks of the training rows exist for one chunk
at a time, never for the whole partition. The Arrow buffers the Parquet reader freed are handed
back to the system first, and what the work freed after it (:func:`_release_memory`): pyarrow's
pool and glibc's heaps keep them otherwise, counted in the worker's resident set.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..pipeline import Pipeline
from ..scaling import Moments
from ._parquet import ParquetFiles, _read_partition

__all__: list[str] = []  # internal to seqprep.dask: its siblings import the names they need

_EXTRA = "seqprep.dask needs dask and distributed. Install the extra: pip install 'seqprep[dask]'."


def _require_dask() -> Any:
    """Import dask (lazily) or raise an ImportError naming the extra."""
    try:
        import dask
        import dask.dataframe  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised with a fake import in the tests
        raise ImportError(f"{_EXTRA} ({exc})") from exc
    return dask


def _tree_reduce(dask: Any, items: list[Any], fn: Callable[[Any, Any], Any]) -> Any:
    """Merge delayed ``items`` pairwise with ``fn``, level by level: a graph of depth log2(n), not a chain."""
    items = list(items)
    if not items:
        return dask.delayed(None)
    while len(items) > 1:
        items = [
            dask.delayed(fn, pure=True)(items[i], items[i + 1]) if i + 1 < len(items) else items[i]
            for i in range(0, len(items), 2)
        ]
    return items[0]


def _compute(dask: Any, client: Any, obj: Any) -> Any:
    """Compute ``obj`` (delayed values, possibly nested in lists) on ``client``, or on the default scheduler."""
    graph = dask.delayed(obj)
    if client is None:
        return graph.compute()
    return client.compute(graph).result()


#: Rows per chunk of a partition's work (whole series: a longer series is one chunk of its own).
#: 2**17: on a 2.5M-row x 8-feature partition read from a path, a task peaked at +1.40 partitions
#: over its idle level (2**18: +1.58; 2**16: +1.33 and slower statistics), at the same speed
#: (benchmarks/dask_partition_memory.py).
CHUNK_ROWS = 1 << 17


def _release_memory() -> None:
    """Hand memory freed but kept by allocators back to the system: pyarrow's pool, then glibc's heaps.

    pyarrow's pool keeps the buffers of a Parquet read (about twice the partition); glibc keeps
    freed chunk-sized arrays in its heaps (its mmap threshold rises to 32 MiB once a larger array
    was freed). Both count in the resident set that dask's nanny compares with the memory limit.
    """
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        try:
            pa.default_memory_pool().release_unused()
        except (AttributeError, NotImplementedError):  # pragma: no cover - an old pyarrow without it
            pass
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    """The ``malloc_trim`` of glibc (None elsewhere: musl, macOS, Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _apply(pdf: pd.DataFrame, fn: Callable[..., Any], args: tuple[Any, ...], items: list[Any] | None,
           partition_info: dict[str, Any] | None = None) -> pd.Series:
    """Run ``fn(pdf, *args, item)`` on one partition (``item``: this partition's entry of ``items``).

    The result, whatever it is, travels in a one-element object Series (``map_partitions`` wants a
    pandas object); :func:`_unwrap` takes it out.
    """
    _release_memory()
    item = None if items is None or partition_info is None else items[partition_info["number"]]
    out = fn(pdf, *args, item) if items is not None else fn(pdf, *args)
    del pdf
    _release_memory()
    return pd.Series([out], dtype=object)


def _apply_file(path: str, fn: Callable[..., Any], args: tuple[Any, ...], items: list[Any] | None,
                number: int) -> Any:
    """Read one Parquet file (:func:`~seqprep.dask._parquet._read_partition`), run ``fn`` on it as :func:`_apply`."""
    _release_memory()
    pdf = _read_partition(path)
    out = fn(pdf, *args, items[number]) if items is not None else fn(pdf, *args)
    del pdf
    _release_memory()
    return out


def _unwrap(series: pd.Series) -> Any:
    """The value :func:`_apply` wrapped."""
    return series.iloc[0]


def _per_partition(dask: Any, ddf: Any, fn: Callable[..., Any], *args: Any, items: list[Any] | None = None,
                   partitions: list[int] | None = None) -> list[Any]:
    """One delayed ``fn(partition, *args[, item])`` per partition, the read of the partition fused into it.

    ``map_partitions`` (not ``to_delayed()`` and a task of our own) so that dask fuses the read of
    the partition with ``fn``: one task, one partition in memory at a time on a one-thread worker.
    ``ddf`` may also be :class:`~seqprep.dask._parquet.ParquetFiles`: one task per file that reads
    the file itself (:func:`_apply_file`).
    ``partitions`` -- the partition numbers to run on (default: all); ``items`` -- one entry per
    partition run on (delayed values inside are computed first), travels as one key, not embedded
    in every task.
    """
    if isinstance(ddf, ParquetFiles):  # a local Parquet dataset: each task reads its own file, a column at a time
        chosen = range(ddf.npartitions) if partitions is None else partitions
        files_items = None if items is None else dask.delayed(items, pure=True)
        return [dask.delayed(_apply_file, pure=False)(ddf.files[i], fn, args, files_items, j)
                for j, i in enumerate(chosen)]
    meta = pd.Series(dtype=object)
    if partitions is not None:
        ddf = ddf.partitions[list(partitions)]
    graph_items = None if items is None else dask.delayed(items, pure=True)
    mapped = ddf.map_partitions(_apply, fn, args, graph_items, meta=meta, enforce_metadata=False,
                                transform_divisions=False, clear_divisions=True, align_dataframes=False)
    return [dask.delayed(_unwrap, pure=True)(d) for d in mapped.to_delayed()]


@dataclass(frozen=True)
class _Chunk:
    """One chunk of a partition, validated: its table and series, and where they sit in the partition."""

    table: np.ndarray
    sd: Any  # SeriesData of the chunk's rows (chunk-local rows and series)
    columns: list[str]
    n_in: int
    row0: int  # first validated row of the chunk in the partition (NaN-dropped rows are not counted)
    series0: int  # first series of the chunk in the partition


def _chunk_bounds(pdf: pd.DataFrame, group: Any, rows: int) -> list[int]:
    """Row cuts ``[0, ..., len(pdf)]`` of chunks of whole series, about ``rows`` rows each.

    One chunk (the whole partition) without a group column, or when a series' rows are not
    contiguous (the validation regroups them: it needs the whole partition) or a key is missing.
    """
    n = len(pdf)
    if not isinstance(group, str) or n <= rows or group not in pdf.columns:
        return [0, n]
    keys = pdf[group].to_numpy()
    try:
        change = np.asarray(keys[1:] != keys[:-1], dtype=bool)
        runs = np.concatenate([[0], np.flatnonzero(change) + 1])
        if len(runs) == 1 or len(pd.unique(keys[runs])) != len(runs) or bool(pd.isna(keys[runs]).any()):
            return [0, n]
    except (TypeError, ValueError):  # keys that do not compare (pd.NA): the validation reports them
        return [0, n]
    at = np.searchsorted(runs, np.arange(rows, n, rows))
    cuts = np.unique(runs[at[at < len(runs)]])
    return [0, *cuts[cuts > 0].tolist(), n]


def _chunks(pipe: Pipeline, pdf: pd.DataFrame, head: pd.DataFrame | None = None,
            rows: int | None = None) -> Iterator[_Chunk]:
    """The partition validated chunk by chunk (:func:`_load` on whole series of about ``rows`` rows).

    ``head`` (time-aligned data: one series, one chunk) goes in front of the partition as in :func:`_load`.
    """
    cuts = _chunk_bounds(pdf, pipe.group, CHUNK_ROWS if rows is None else rows)
    row0 = series0 = 0
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        part = pdf if (a, b) == (0, len(pdf)) else pdf.iloc[a:b]
        table, sd, columns, n_in = _load(pipe, part, head if len(cuts) == 2 else None)
        yield _Chunk(table, sd, columns, n_in, row0, series0)
        row0 += sd.n_rows
        series0 += sd.n_series
        del table, sd, part


def _load(pipe: Pipeline, pdf: pd.DataFrame, head: pd.DataFrame | None = None) -> Any:
    """The pipeline's own validation of one partition: (table, SeriesData, columns, n_in).

    ``head`` -- the last rows of the previous partitions of a time-aligned series -- goes in front
    while derived features are computed, so that lags and rolling windows at the start of the
    partition read the rows before it, as in memory; its rows are dropped again afterwards.
    """
    table, sd, columns, n_in, _ = pipe._prepare(pdf)
    if head is not None and len(head):
        # Prepared a second time with the head: the first call gives this partition's own series
        # layout (rows, bounds, times), this one the feature values; only time-aligned data with
        # warm-up features pays for it.
        table = pipe._prepare(pd.concat([head, pdf], ignore_index=True))[0][len(head):]
    return table, sd, columns, n_in


def _step_diffs(sd: Any) -> tuple[np.ndarray, np.ndarray]:
    """Time steps between consecutive rows of a partition, and the mask of those inside one series.

    The step from one series' last row to the next series' first row means nothing: both the
    summary's step histogram and the statistics pass's gap detection leave it out.
    """
    diffs = sd.time[1:] - sd.time[:-1]
    same = np.ones(len(diffs), dtype=bool)
    same[sd.bounds[1:-1] - 1] = False
    return diffs, same


@dataclass
class _Plan:
    """Everything fit and export need from the data, without its rows: series, cut, breaks, windows, moments."""

    columns: list[str]
    n_in: int
    raw_columns: list[str]
    keys: list[Any]
    bounds: np.ndarray
    offsets: np.ndarray  # global first row of each partition
    n_rows: np.ndarray  # rows per partition
    series_slices: list[tuple[int, int]]  # global series range of each partition
    freq: Any
    breaks: np.ndarray
    ranges: list[tuple[np.ndarray, np.ndarray]]
    names: tuple[str, ...]
    part_starts: list[np.ndarray]  # window start rows of each part (int32 below 2**31 rows, else int64)
    moments: Moments | None
    n_train: int
    partition_index: list[int]  # the non-empty partitions, in order
    time_dtype: Any = None
    series_moments: Moments | None = None  # scale_per="series": (n_series, n_features), global series order
    series_counts: np.ndarray | None = None  # scale_per="series": training rows per series
    train_tasks: list[dict[str, Any]] = field(default_factory=list)  # per non-empty partition: its training rows
    heads: list[Any] = field(default_factory=list)  # per non-empty partition: rows from before it, or None
