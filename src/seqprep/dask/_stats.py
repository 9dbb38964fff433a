"""The statistics passes of :mod:`seqprep.dask`: training-row moments, per-series moments, robust quantiles.

:func:`_partition_stats` runs on the workers, one task per partition, in the plan's second pass:
it returns the moments of the partition's training rows (merged on the workers with the exact Chan
merge, :func:`_statistics_pass`) together with what the plan needs from the same read of the rows
(threshold counts for the split cut, the rows after a time gap). The robust scaler's exact quantiles
take passes of their own (:func:`_robust_scaler`); :func:`_fitted_scaler` rebuilds every other
scaler from the merged moments. Functions shipped to workers are module-level (pickled by reference).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ..pipeline import Pipeline, check_series_trained
from ..scaling import BaseScaler, IdentityScaler, Moments, RobustScaler, SeriesScaler, StreamingQuantiles, group_moments
from ..timeaxis import require_frequency
from ._common import _chunks, _compute, _per_partition, _require_dask, _step_diffs, _tree_reduce

if TYPE_CHECKING:
    from ._common import _Plan

__all__: list[str] = []  # internal to seqprep.dask: its siblings import the names they need


# ---------------------------------------------------------------------- per-partition work (runs on workers)


def _train_rows(sd: Any, task: dict[str, Any], series0: int = 0) -> np.ndarray:
    """Mask of a chunk's training rows: before the cut timestamp, or the first rows of each series.

    ``series0``: the chunk's first series in the partition (``task["train_rows"]`` is per series of the partition).
    """
    if task["train_stamp"] is not None:
        return sd.time < task["train_stamp"]
    rows = np.asarray(task["train_rows"], dtype=np.int64)[series0 : series0 + sd.n_series]
    # the first train_rows[i] rows of series i: a boolean mask by ranges, no per-row int64 index
    mask = np.zeros(sd.n_rows + 1, dtype=np.int8)
    first = sd.bounds[:-1]
    np.add.at(mask, first, 1)
    np.add.at(mask, first + np.clip(rows, 0, np.diff(sd.bounds)), -1)
    return np.cumsum(mask[:-1], dtype=np.int8) > 0


def _chunk_moments(
    acc: dict[str, Any], table: np.ndarray, sd: Any, train: np.ndarray, task: dict[str, Any], series0: int,
    n_series: int,
) -> None:
    """Merge a chunk's training-row moments into ``acc`` (per feature, or per series of the partition)."""
    if not task["statistics"]:
        return  # export: the fitted pipeline already holds the training statistics; only cuts and breaks
    with_range = task["with_range"]
    rows = _selected(table, train)  # float32 stays float32: the moments are taken in float64 chunks
    if task["per_series"]:
        # The same reduction SeriesScaler.partial_fit runs in memory, over this partition's series only.
        codes = (sd.series_codes() + series0)[train]
        if acc["series_moments"] is None:
            acc["series_moments"] = Moments.empty((n_series, table.shape[1]), with_range=with_range)
            acc["series_counts"] = np.zeros(n_series, np.int64)
        group_moments(rows, codes, n_series, with_range=with_range, into=acc["series_moments"])
        acc["series_counts"] += np.bincount(codes, minlength=n_series).astype(np.int64)
    else:
        m = Moments.from_array(rows, with_range=with_range)
        acc["moments"] = m if acc["moments"] is None else acc["moments"].merge(m)


def _selected(table: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``table[mask]``; a view when the mask is a prefix of the rows (one series: its training rows)."""
    k = int(mask.sum())
    if bool(mask[:k].all()):
        return table[:k]
    return table[mask]


def _threshold_counts(sd: Any, thresholds: np.ndarray | None) -> np.ndarray | None:
    """Rows before each threshold timestamp, per series of a chunk: ``(n_thr, n_local_series)``.

    They become the split cut (and the rows after the gap) as row counts per series; ``None``
    when the cut is given in rows already.
    """
    if thresholds is None:
        return None
    if not len(thresholds):
        return np.zeros((0, sd.n_series), np.int64)
    if sd.n_series == 1:  # one series (time-aligned): no per-row copy of the thresholds
        return np.array([[int(np.count_nonzero(sd.time < thr[0]))] for thr in thresholds], dtype=np.int64)
    codes = sd.series_codes()  # one chunk's rows
    return np.stack(
        [np.bincount(codes, weights=sd.time < thr[codes], minlength=sd.n_series).astype(np.int64)
         for thr in thresholds]
    )


def _break_rows(sd: Any, task: dict[str, Any], row0: int = 0) -> np.ndarray:
    """Global rows that follow a time step other than the data's step, inside a series of a chunk."""
    if sd.time is None or task["freq"] is None:
        return np.zeros(0, np.int64)
    diffs, same = _step_diffs(sd)
    offset = task["offset"] + row0 + 1
    if isinstance(task["freq"], str):  # a calendar step ("MS", "B"): counted as the calendar counts it
        irregular = require_frequency(task["freq"]).irregular(sd.time)
        return np.flatnonzero(same & irregular).astype(np.int64) + offset
    return np.flatnonzero(same & (diffs != task["freq"])).astype(np.int64) + offset


def _partition_stats(pdf: pd.DataFrame, pipe: Pipeline, item: tuple[dict[str, Any], Any],
                     rows: int | None = None) -> dict[str, Any] | None:
    """Training-row moments, threshold counts per series, and breaks (global rows) of one partition.

    ``item``: the partition's task and head (rows of the partitions before it, or None). Computed
    chunk by chunk (:func:`_chunks`, ``rows`` rows of whole series each); the chunks' moments are
    Chan-merged. With ``task["per_series"]`` the moments are per series of the partition (local
    codes, shape ``(n_local_series, n_features)``), returned with each series' training-row count
    for the client to place at the series' global positions, instead of joining the tree
    reduction of the per-feature moments.
    """
    task, head = item
    if len(pdf) == 0:
        return None
    acc: dict[str, Any] = {"moments": None, "series_moments": None, "series_counts": None}
    counts: list[np.ndarray] = []
    breaks: list[np.ndarray] = []
    n_train = 0
    for c in _chunks(pipe, pdf, head, rows):
        train = _train_rows(c.sd, task, c.series0)
        _chunk_moments(acc, c.table, c.sd, train, task, c.series0, task["n_series"])
        n_train += int(train.sum())
        thr = task["thresholds"]
        got = _threshold_counts(c.sd, None if thr is None else thr[:, c.series0 : c.series0 + c.sd.n_series])
        if got is not None:
            counts.append(got)
        breaks.append(_break_rows(c.sd, task, c.row0))
        del train
    return {"moments": acc["moments"], "counts": np.concatenate(counts, axis=1) if counts else None,
            "breaks": np.concatenate(breaks), "n_train": n_train,
            "series_moments": acc["series_moments"], "series_counts": acc["series_counts"]}


def _merge_moments(a: Moments | None, b: Moments | None) -> Moments | None:
    """Chan-merge two partitions' moments (``None``: an empty partition, or no statistics asked)."""
    if a is None:
        return b
    if b is None:
        return a
    return a.merge(b)


def _moments_of(result: dict[str, Any] | None) -> Moments | None:
    """The per-feature moments of a :func:`_partition_stats` result, for the tree reduction."""
    return None if result is None else result["moments"]


def _without_moments(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """The rest of a :func:`_partition_stats` result: what the client gathers from each partition."""
    return None if result is None else {k: v for k, v in result.items() if k != "moments"}


def _partition_quantiles(pdf: pd.DataFrame, pipe: Pipeline, acc: StreamingQuantiles,
                         item: tuple[dict[str, Any], Any]) -> StreamingQuantiles:
    """Feed one partition's training rows, chunk by chunk, to an accumulator of the current quantile pass (robust)."""
    task, head = item
    if len(pdf):
        for c in _chunks(pipe, pdf, head):
            acc.update(_selected(c.table, _train_rows(c.sd, task, c.series0)))
    return acc


# ---------------------------------------------------------------------- client side


def _moment_kind(pipe: Pipeline) -> tuple[bool, bool]:
    """(per_series, with_range): which moments the pipeline's scaler is rebuilt from."""
    scaler = pipe._make_scaler([])
    per_series = isinstance(scaler, SeriesScaler)
    if per_series:
        with_range = cast(SeriesScaler, scaler).base != "standard"  # as SeriesScaler.partial_fit
    else:
        with_range = bool(getattr(scaler, "_with_range", False)) and not isinstance(scaler, IdentityScaler)
    return per_series, with_range


def _statistics_pass(
    dask: Any, client: Any, pipe: Pipeline, ddf: Any, index: list[int], tasks: list[dict[str, Any]],
    heads: list[Any],
) -> tuple[list[dict[str, Any]], Moments | None]:
    """Run :func:`_partition_stats` on every non-empty partition: (each one's result less moments, merged moments).

    The per-feature moments are tree-reduced on the workers; only the merged ones reach the client.
    """
    stats = _per_partition(dask, ddf, _partition_stats, pipe, items=list(zip(tasks, heads, strict=True)),
                           partitions=index)
    mom_d = _tree_reduce(dask, [dask.delayed(_moments_of, pure=True)(t) for t in stats], _merge_moments)
    rest_d = [dask.delayed(_without_moments, pure=True)(t) for t in stats]
    rest, moments = _compute(dask, client, [rest_d, mom_d])
    return rest, moments


def _series_statistics(
    rest: list[dict[str, Any]], slices: list[tuple[int, int]], n_series: int, n_features: int, with_range: bool
) -> tuple[Moments, np.ndarray]:
    """Per-series moments and training-row counts in global series order, from each partition's local ones."""
    # Each partition's rows are its series' global rows slices[j]: series-aligned partitions fill
    # disjoint rows, time-aligned ones (one series) are Chan-merged into row 0 in time order.
    series_moments = Moments.empty((n_series, n_features), with_range=with_range)
    series_counts = np.zeros(n_series, np.int64)
    for j, r in enumerate(rest):
        rows = np.arange(*slices[j], dtype=np.int64)
        series_moments.merge_rows(rows, r["series_moments"])
        series_counts[rows] += r["series_counts"]
    return series_moments, series_counts


def _robust_scaler(pipe: Pipeline, plan: _Plan, ddf: Any, client: Any) -> RobustScaler:
    """Exact medians and quantile ranges of the training rows, in a few passes over the partitions.

    Each pass sends every partition an empty accumulator of :class:`StreamingQuantiles` and merges
    what they return (counts, histograms, the few values left), as the streaming fit does in one process.
    """
    dask = _require_dask()
    scaler = cast(RobustScaler, pipe._make_scaler(plan.columns))  # called for scaler='robust' only
    lo, hi = scaler.quantile_range
    quantiles = StreamingQuantiles([lo, 50.0, hi], len(plan.columns))
    items = list(zip(plan.train_tasks, plan.heads, strict=True))
    while quantiles.next_pass():
        jobs = _per_partition(dask, ddf, _partition_quantiles, pipe, quantiles.accumulator(), items=items,
                              partitions=plan.partition_index)
        for acc in _compute(dask, client, jobs):
            quantiles.merge(acc)
    scaler.n_features_in_ = len(plan.columns)
    scaler._set_quantiles(quantiles.result(), quantiles.count)
    scaler._report()
    return scaler


def _fitted_scaler(pipe: Pipeline, plan: _Plan) -> BaseScaler:
    """The scaler state rebuilt from the plan's merged moments; per-series: refused if a series has no training row."""
    scaler = pipe._make_scaler(plan.columns)
    spec = scaler.to_dict()
    n = len(plan.columns)
    fitted: dict[str, Any] = {"n_features_in_": n, "feature_names_in_": None}
    if isinstance(scaler, SeriesScaler):
        moments, counts = plan.series_moments, plan.series_counts
        if moments is None or counts is None:  # pragma: no cover - _make_plan fills them for SeriesScaler
            raise DataError("the per-series statistics were not computed; this is a bug in seqprep.dask.")
        # Straight from the merged arrays (no JSON round trip): exact and fast with many series.
        scaler.n_features_in_ = n
        scaler._set_fitted(moments, counts)
        check_series_trained(scaler, plan.keys)  # before any warning and before the pipeline is changed
        scaler._report()
        return scaler
    if isinstance(scaler, IdentityScaler):
        fitted["n_samples_seen_"] = plan.n_train
    else:
        moments = plan.moments if plan.moments is not None else Moments.empty(n, with_range=scaler._with_range)
        fitted["moments"] = moments.to_dict()
    spec["fitted"] = fitted
    out = BaseScaler.from_dict(spec)
    out._report()  # the same DataWarning as Pipeline.fit for constant columns
    return out
