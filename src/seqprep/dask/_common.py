"""What every part of :mod:`seqprep.dask` shares: the lazy dask import, running a graph, one partition's rows.

Dask is imported only inside :func:`_require_dask`, so importing this module (and ``seqprep.dask``)
stays light. :func:`_load` and :func:`_step_diffs` run on the workers; like every function shipped
to a worker they are module-level, so that they are pickled by reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..pipeline import Pipeline
from ..scaling import Moments

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
    starts: np.ndarray
    members: list[np.ndarray]
    moments: Moments | None
    n_train: int
    partition_index: list[int]  # the non-empty partitions, in order
    time_dtype: Any = None
    series_moments: Moments | None = None  # scale_per="series": (n_series, n_features), global series order
    series_counts: np.ndarray | None = None  # scale_per="series": training rows per series
    train_tasks: list[dict[str, Any]] = field(default_factory=list)  # per non-empty partition: its training rows
    heads: list[Any] = field(default_factory=list)  # per non-empty partition: rows from before it, or None
