"""Fit and export a :class:`~seqprep.Pipeline` over a Dask DataFrame, partition by partition.

``pip install 'seqprep[dask]'``. Dask is imported inside the functions, so ``import seqprep.dask``
is light; calling a function without dask installed raises an :class:`ImportError` that names the
extra.

What runs where
---------------
Every pass over the rows runs on the workers, one task per partition; the client only sees small
summaries (per-series row counts, a histogram of time steps, a histogram of timestamps when a
common timestamp cut must be found) and the window index (int64 starts, as the one-machine export
writes them):

1. *summary* -- per partition: validate the rows (:func:`seqprep.io.as_series`, the pipeline's own
   checks), count rows per series, count time steps. The client derives the global time step, the
   series boundaries and the split cut exactly as :func:`seqprep.split` does on the whole data.
2. *statistics* -- per partition: :class:`~seqprep.scaling.Moments` of the partition's **training
   rows**, tree-reduced with the exact Chan merge; the scaler state is rebuilt from the merged
   moments with ``from_dict``. With ``scale_per="series"`` each partition returns one row of
   moments per series it holds (``n_local_series x n_features``), and the client places them at
   the series' global positions (merging them for a time-aligned series spread over partitions).
3. *export* -- per partition: scale the rows with the training statistics and write them into
   their slice of ``data.npy`` (the workers need a file system shared with the client).

Partitions must be aligned either to series (``group=...``: every series lies inside one
partition) or to time (one series, partitions in time order). Scaling is row-wise and windows are
addressed by their start row, so time-aligned partitions need no overlap: the only information a
window needs from the previous partition is whether the time step across the partition boundary
is regular, and that comes from the summaries (each partition's first and last timestamp).

Supported: ``holdout="time"``; ``scale_per="feature"`` with ``"standard"``, ``"minmax"``,
``"maxabs"``, ``"robust"`` (exact quantiles in a few passes over the partitions) or ``"none"``;
``scale_per="series"`` (one set of statistics per series, fitted on that series' training rows
only) with the same scalers except ``"robust"`` (per-series quantiles need all of a series' rows at
once: ``Pipeline.fit`` only); ``scale_per="sample"`` (rows written unscaled, each window normalised
as it is read, as :func:`seqprep.outofcore.open_export` does); derived features (a time-aligned
partition gets the warm-up rows of the partitions before it). Other settings raise
:class:`~seqprep.exceptions.InvalidParameterError` (fit those on one machine).

Examples
--------
>>> import numpy as np, pandas as pd, dask.dataframe as dd
>>> from seqprep import Pipeline
>>> from seqprep.dask import fit_pipeline
>>> df = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=120, freq="D"), "y": np.arange(120.0)})
>>> ddf = dd.from_pandas(df, npartitions=3)
>>> pipe = fit_pipeline(Pipeline(lookback=5, target="y", time="t"), ddf)
>>> float(pipe.scaler_.mean_[0])
41.5
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from ._export_files import FORMAT, FORMAT_VERSION, _json_default  # the one-machine export's format
from ._moments import Moments, group_moments
from ._quantiles import StreamingQuantiles
from ._validation import check_int, list_names, param_error, zero_of
from .exceptions import ArtifactError, DataError
from .io import replace_dir, temp_dir_beside
from .pipeline import (
    Pipeline,
    _freq_json,
    _key_json,
    check_calendar_time,
    check_series_trained,
    check_streamed_series_scaler,
    fitted_series_codes,
)
from .scaling import (
    BaseScaler,
    IdentityScaler,
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    SeriesScaler,
    StandardScaler,
)
from .splitting import _assign, _check_fractions, _is_time_cuts, _require_windows, ranges_from_cuts
from .windowing import window_starts

__all__ = ["export", "fit_pipeline"]

_EXTRA = "seqprep.dask needs dask and distributed. Install the extra: pip install 'seqprep[dask]'."
_MERGEABLE = (StandardScaler, MinMaxScaler, MaxAbsScaler, IdentityScaler, RobustScaler)  # robust: exact, in passes


def _require_dask() -> Any:
    """Import dask (lazily) or raise an ImportError naming the extra."""
    try:
        import dask
        import dask.dataframe  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised with a fake import in the tests
        raise ImportError(f"{_EXTRA} ({exc})") from exc
    return dask


# ---------------------------------------------------------------------- checks


def _check_pipeline(pipe: Any) -> None:
    if not isinstance(pipe, Pipeline):
        raise param_error("pipe", "a seqprep.Pipeline", type(pipe).__name__)
    check_calendar_time(pipe)
    if pipe.holdout != "time":
        raise param_error("holdout", "'time' with seqprep.dask", pipe.holdout, "Fit holdout='series' on one machine.")
    if pipe.scale_per == "sample":
        return  # no statistics to fit: the scaler is an identity, whatever ``scaler`` says
    if pipe.scale_per == "series":
        check_streamed_series_scaler(pipe, "with seqprep.dask")
        return
    if isinstance(pipe.scaler, dict):
        raise param_error("scaler", "one scaler for every column with seqprep.dask", pipe.scaler,
                          "Use 'standard', 'minmax', 'maxabs' or 'none'.")
    if type(pipe._make_scaler([])) not in _MERGEABLE:
        raise param_error(
            "scaler", "a scaler with mergeable statistics ('standard', 'minmax', 'maxabs', 'robust' or 'none')",
            pipe.scaler, "Use one of these, or fit that pipeline on one machine.",
        )


def _as_dask_frame(ddf: Any) -> Any:
    _require_dask()
    import dask.dataframe as dd

    if isinstance(ddf, (str, os.PathLike)):
        return dd.read_parquet(os.fspath(ddf))
    if not isinstance(ddf, dd.DataFrame):
        raise param_error("ddf", "a dask DataFrame or the path of a Parquet dataset", type(ddf).__name__)
    return ddf


# ---------------------------------------------------------------------- per-partition work (runs on workers)


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


def _tail(pdf: pd.DataFrame, before: pd.DataFrame | None, rows: int) -> pd.DataFrame:
    """The last ``rows`` rows of everything up to and including ``pdf`` (``before``: the tail so far)."""
    frames = [f for f in (before, pdf) if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True).tail(rows) if frames else pdf.iloc[:0]


def _heads(dask: Any, pipe: Pipeline, parts: list[Any], index: list[int], time_aligned: bool) -> list[Any]:
    """Per non-empty partition: the rows its derived features need from earlier partitions (or None).

    Only a time-aligned series split across partitions needs them (a series-aligned partition holds
    whole series); each head is the tail of the previous head and partition, a chain of cheap tasks.
    """
    warmup = pipe.warmup
    if not (warmup and time_aligned and len(index) > 1):
        return [None] * len(index)
    heads: list[Any] = [None]
    for j in range(1, len(index)):
        heads.append(dask.delayed(_tail, pure=True)(parts[index[j - 1]], heads[-1], warmup))
    return heads


def _within_diffs(sd: Any) -> np.ndarray:
    t = sd.time
    diffs = t[1:] - t[:-1]
    same = np.ones(len(diffs), dtype=bool)
    same[sd.bounds[1:-1] - 1] = False
    return diffs[same]


def _summarize(pipe: Pipeline, pdf: pd.DataFrame, want_times: bool) -> dict[str, Any] | None:
    if len(pdf) == 0:
        return None
    _, sd, columns, n_in = _load(pipe, pdf)
    out: dict[str, Any] = {
        "keys": [_key_json(k) for k in sd.keys],
        "lengths": np.diff(sd.bounds).astype(np.int64),
        "columns": list(columns),
        "n_in": n_in,
        "raw_columns": list(sd.columns or ()),
        "steps": None,
        "first": None,
        "last": None,
        "times": None,
    }
    if sd.time is not None:
        out["steps"] = np.unique(_within_diffs(sd), return_counts=True)
        out["first"], out["last"] = sd.time[0], sd.time[-1]
        if want_times:
            out["times"] = np.unique(sd.time, return_counts=True)
    return out


def _light(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if summary is None else {k: v for k, v in summary.items() if k != "times"}


def _times(summary: dict[str, Any] | None) -> Any:
    return None if summary is None else summary["times"]


def _merge_hist(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    values = np.concatenate([a[0], b[0]])
    counts = np.concatenate([a[1], b[1]])
    uniq, inv = np.unique(values, return_inverse=True)
    return uniq, np.bincount(inv, weights=counts, minlength=len(uniq)).astype(np.int64)


def _merge_moments(a: Moments | None, b: Moments | None) -> Moments | None:
    if a is None:
        return b
    if b is None:
        return a
    return a.merge(b)


def _moments_of(result: dict[str, Any] | None) -> Moments | None:
    return None if result is None else result["moments"]


def _without_moments(result: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if result is None else {k: v for k, v in result.items() if k != "moments"}


def _time_at(pipe: Pipeline, pdf: pd.DataFrame, rows: list[int]) -> list[Any]:
    _, sd, _, _ = _load(pipe, pdf)
    return [sd.time[r] for r in rows]


def _train_rows(sd: Any, task: dict[str, Any]) -> np.ndarray:
    """Mask of a partition's training rows: before the cut timestamp, or the first rows of each series."""
    if task["train_stamp"] is not None:
        return sd.time < task["train_stamp"]
    codes = sd.series_codes()
    local = np.arange(sd.n_rows, dtype=np.int64) - sd.bounds[:-1][codes]
    return local < np.asarray(task["train_rows"], dtype=np.int64)[codes]


def _partition_quantiles(pipe: Pipeline, pdf: pd.DataFrame, task: dict[str, Any], acc: StreamingQuantiles,
                         head: pd.DataFrame | None = None) -> StreamingQuantiles:
    """Feed one partition's training rows to an accumulator of the current quantile pass (robust scaler)."""
    if len(pdf):
        table, sd, _, _ = _load(pipe, pdf, head)
        acc.update(table[_train_rows(sd, task)])
    return acc


def _partition_stats(pipe: Pipeline, pdf: pd.DataFrame, task: dict[str, Any],
                     head: pd.DataFrame | None = None) -> dict[str, Any] | None:
    """Training-row moments, threshold counts per series, and breaks (global rows) of one partition.

    With ``task["per_series"]`` the moments are per series of the partition (local codes, shape
    ``(n_local_series, n_features)``), returned with each series' training-row count for the client
    to place at the series' global positions, instead of joining the tree reduction of the
    per-feature moments.
    """
    if len(pdf) == 0:
        return None
    table, sd, _, _ = _load(pipe, pdf, head)
    codes = sd.series_codes()
    train = _train_rows(sd, task)
    with_range = task["with_range"]
    moments = series_moments = series_counts = None
    if not task["statistics"]:
        pass  # export: the fitted pipeline already holds the training statistics; only cuts and breaks
    elif task["per_series"]:
        # The same reduction SeriesScaler.partial_fit runs in memory, over this partition's series only.
        series_moments = group_moments(table[train], codes[train], sd.n_series, with_range=with_range)
        series_counts = np.bincount(codes[train], minlength=sd.n_series).astype(np.int64)
    else:
        moments = Moments.from_array(table[train], with_range=with_range)
    thresholds = task["thresholds"]  # (n_thr, n_local_series) or None
    counts = None
    if thresholds is not None:
        counts = np.stack(
            [np.bincount(codes, weights=sd.time < thr[codes], minlength=sd.n_series).astype(np.int64)
             for thr in thresholds]
        ) if len(thresholds) else np.zeros((0, sd.n_series), np.int64)
    breaks = np.zeros(0, np.int64)
    if sd.time is not None and task["freq"] is not None:
        diffs = sd.time[1:] - sd.time[:-1]
        same = np.ones(len(diffs), dtype=bool)
        same[sd.bounds[1:-1] - 1] = False
        breaks = np.flatnonzero(same & (diffs != task["freq"])).astype(np.int64) + 1 + task["offset"]
    return {"moments": moments, "counts": counts, "breaks": breaks, "n_train": int(train.sum()),
            "series_moments": series_moments, "series_counts": series_counts}


def _write_rows(
    pipe: Pipeline, pdf: pd.DataFrame, path: str, offset: int, n_rows: int, time_path: str | None,
    series_codes: np.ndarray | None = None, head: pd.DataFrame | None = None,
) -> int:
    """Scale one partition and write it into its slice of ``data.npy`` (and ``time.npy``).

    ``series_codes`` gives the fitted (global) series code of each of the partition's series, in
    their local order: per-series statistics are indexed by it, not by the partition's own 0..k-1.
    """
    if len(pdf) == 0:
        return 0
    table, sd, _, _ = _load(pipe, pdf, head)
    if sd.n_rows != n_rows:
        raise DataError(
            f"a partition changed between the summary and the export pass: {sd.n_rows} rows now, {n_rows} before."
        )
    codes = sd.series_codes()
    if series_codes is not None:
        if len(series_codes) != sd.n_series:
            raise DataError(
                f"a partition changed between the summary and the export pass: {sd.n_series} series now, "
                f"{len(series_codes)} before."
            )
        codes = np.asarray(series_codes, dtype=np.int64)[codes]
    scaled = pipe._scale(table, codes)
    out = np.load(path, mmap_mode="r+")
    out[offset : offset + n_rows] = scaled
    out.flush()
    del out
    if time_path is not None:
        tout = np.load(time_path, mmap_mode="r+")
        tout[offset : offset + n_rows] = sd.time
        tout.flush()
        del tout
    return n_rows


def _hash_rows(path: str, start: int, stop: int) -> str:
    data = np.load(path, mmap_mode="r")
    block = np.ascontiguousarray(data[start:stop])
    return hashlib.sha256(memoryview(block).cast("B")).hexdigest()


# ---------------------------------------------------------------------- the plan (client side)


@dataclass
class _Plan:
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


def _tree_reduce(dask: Any, items: list[Any], fn: Any) -> Any:
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
    graph = dask.delayed(obj)
    if client is None:
        return graph.compute()
    return client.compute(graph).result()


def _gap(pipe: Pipeline, has_datetime: bool) -> tuple[Any, int]:
    """(duration or None, gap rows), checked as :func:`seqprep.split` checks them."""
    gap = pipe.gap
    if isinstance(gap, (pd.Timedelta, np.timedelta64, str)):
        if not has_datetime:
            raise param_error("gap", "a number of rows when the data has no timestamps", gap)
        duration = pd.Timedelta(gap).to_timedelta64()
        if duration < zero_of(duration.dtype):
            raise param_error("gap", "a non-negative duration", gap)
        return duration, 0
    return None, check_int(gap, "gap", minimum=0, fix="Use gap >= 0 rows (or a duration such as '7D').")


def _part_names(cuts: Any) -> tuple[str, ...]:
    n_parts = len(cuts) if not isinstance(cuts, str) and isinstance(cuts, (list, tuple)) else 1
    if _is_time_cuts(cuts):
        n_parts += 1
    return ("train", "val", "test") if n_parts == 3 else ("train", "test")


def _global_freq(light: list[dict[str, Any]], time_aligned: bool) -> tuple[Any, list[int]]:
    """Dominant time step over all series (ties: the smallest, as np.unique + argmax), and boundary breaks."""
    hist = None
    for s in light:
        hist = _merge_hist(hist, s["steps"])
    boundary: list[tuple[int, Any]] = []
    if time_aligned:
        for i in range(1, len(light)):
            step = light[i]["first"] - light[i - 1]["last"]
            zero = zero_of(np.asarray(step).dtype)
            if step <= zero:
                word = "repeats" if step == zero else "comes before"
                raise DataError(
                    f"the partitions are not in time order: partition {light[i]['index']} starts at "
                    f"{light[i]['first']}, which {word} the end of partition {light[i - 1]['index']} "
                    f"({light[i - 1]['last']}). Sort the rows by time (ddf.set_index(time) or sorted Parquet files)."
                )
            boundary.append((i, step))
            hist = _merge_hist(hist, (np.asarray([step]), np.asarray([1])))
    if hist is None or len(hist[0]) == 0:
        return None, []
    freq = hist[0][int(np.argmax(hist[1]))]
    return freq, [i for i, step in boundary if step != freq]


def _make_plan(pipe: Pipeline, ddf: Any, client: Any, statistics: bool = True) -> _Plan:
    """Series, cuts, breaks and windows of the data, and the training rows' moments.

    :func:`export` passes ``statistics=False``: its pipeline is fitted already, so no moments are computed.
    """
    dask = _require_dask()
    parts = list(ddf.to_delayed())
    time_aligned = pipe.group is None
    cuts = pipe.split
    time_cuts = _is_time_cuts(cuts)
    want_times = (not time_aligned) and (pipe.time is not None) and not time_cuts
    summaries = [dask.delayed(_summarize, pure=True)(pipe, p, want_times) for p in parts]
    light_d = [dask.delayed(_light, pure=True)(s) for s in summaries]
    hist_d = _tree_reduce(dask, [dask.delayed(_times, pure=True)(s) for s in summaries], _merge_hist)
    light_all, times_hist = _compute(dask, client, [light_d, hist_d])
    index = [i for i, s in enumerate(light_all) if s is not None]
    if not index:
        raise DataError("the Dask DataFrame has no rows (every partition is empty).")
    light = [dict(light_all[i], index=i) for i in index]
    first = light[0]
    for s in light[1:]:
        if s["columns"] != first["columns"]:
            raise DataError(
                f"partition {s['index']} has columns {list_names(s['columns'])} but partition {first['index']} has "
                f"{list_names(first['columns'])}. Every partition must have the same numeric columns."
            )
    # ---- series and rows
    n_rows_part = np.array([int(s["lengths"].sum()) for s in light], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_rows_part)[:-1]]).astype(np.int64)
    if time_aligned:
        keys: list[Any] = [0]
        lengths = np.array([n_rows_part.sum()], dtype=np.int64)
        slices = [(0, 1)] * len(light)
    else:
        keys, length_list, slices = [], [], []
        owner: dict[Any, int] = {}
        clashes: list[str] = []
        for s in light:
            slices.append((len(keys), len(keys) + len(s["keys"])))
            for k, n in zip(s["keys"], s["lengths"], strict=True):
                if k in owner:
                    clashes.append(f"{k!r} (partitions {owner[k]} and {s['index']})")
                owner.setdefault(k, s["index"])
                keys.append(k)
                length_list.append(int(n))
        if clashes:
            raise DataError(
                f"seqprep.dask needs partitions aligned to series: each series inside one partition. "
                f"{len(clashes)} series are split across partitions: {', '.join(clashes[:10])}"
                f"{', ...' if len(clashes) > 10 else ''}. Repartition so that every `{pipe.group}` lies in one "
                "partition (e.g. one Parquet file per group of series), with its rows in time order."
            )
        lengths = np.asarray(length_list, dtype=np.int64)
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n_total = int(bounds[-1])
    n_series = len(lengths)
    has_time = first["first"] is not None
    freq, boundary_breaks = _global_freq(light, time_aligned) if has_time else (None, [])
    has_datetime = has_time and np.asarray(first["first"]).dtype.kind == "M"
    duration, gap_rows = _gap(pipe, has_datetime)
    names = _part_names(cuts)
    # ---- cuts: thresholds evaluated on the workers, or rows computed here
    stamps: list[Any] | None = None
    thresholds: np.ndarray | None = None  # (n_thr, n_series)
    boundaries: list[np.ndarray] = []
    if time_cuts:
        if not has_time:
            raise param_error("split", "fractions when the data has no timestamps", cuts, "Pass time=... or fractions.")
        stamps = [pd.Timestamp(c).to_datetime64() for c in ([cuts] if isinstance(cuts, str) else cuts)]
        if any(b <= a for a, b in zip(stamps, stamps[1:], strict=False)):
            raise param_error("split", "increasing timestamps", cuts)
    else:
        fractions = _check_fractions(cuts)
        cum = np.cumsum(fractions)[:-1]
        if has_time and n_series > 1:
            uniq, counts = times_hist
            cumcount = np.cumsum(counts)
            stamps = [uniq[int(np.searchsorted(cumcount, min(int(round(c * n_total)), n_total - 1), side="right"))]
                      for c in cum]
        else:
            boundaries = [np.round(lengths * c).astype(np.int64) for c in cum]
    if stamps is not None:
        thr = list(stamps) + ([s + duration for s in stamps] if duration is not None else [])
        thresholds = np.stack([np.full(n_series, s) for s in thr])
    elif duration is not None:
        rows = [np.minimum(bounds[:-1] + b, n_total - 1) for b in boundaries]
        start_times = _times_at_rows(dask, client, pipe, parts, light, offsets, np.concatenate(rows))
        thresholds = start_times.reshape(len(boundaries), n_series) + duration
    # ---- pass 2
    scaler = pipe._make_scaler([])
    per_series = isinstance(scaler, SeriesScaler)
    if per_series:
        with_range = scaler.base != "standard"  # as SeriesScaler.partial_fit
    else:
        with_range = bool(getattr(scaler, "_with_range", False)) and not isinstance(scaler, IdentityScaler)
    heads = _heads(dask, pipe, parts, index, time_aligned)
    tasks, train_tasks = [], []
    for j, s in enumerate(light):
        lo, hi = slices[j]
        task: dict[str, Any] = {
            "train_stamp": stamps[0] if stamps is not None else None,
            "with_range": with_range,
            "per_series": per_series,
            "statistics": statistics,
            "thresholds": None if thresholds is None else thresholds[:, lo:hi],
            "freq": freq,
            "offset": int(offsets[j]),
        }
        if stamps is None:
            b0 = boundaries[0]
            task["train_rows"] = [int(b0[0]) - int(offsets[j])] if time_aligned else b0[lo:hi]
        train_tasks.append(task)
        tasks.append(dask.delayed(_partition_stats, pure=True)(pipe, parts[s["index"]], task, heads[j]))
    mom_d = _tree_reduce(dask, [dask.delayed(_moments_of, pure=True)(t) for t in tasks], _merge_moments)
    rest_d = [dask.delayed(_without_moments, pure=True)(t) for t in tasks]
    rest, moments = _compute(dask, client, [rest_d, mom_d])
    series_moments = series_counts = None
    if per_series and statistics:
        # Each partition's rows are its series' global rows slices[j]: series-aligned partitions fill
        # disjoint rows, time-aligned ones (one series) are Chan-merged into row 0 in time order.
        series_moments = Moments.empty((n_series, len(first["columns"])), with_range=with_range)
        series_counts = np.zeros(n_series, np.int64)
        for j, r in enumerate(rest):
            rows = np.arange(*slices[j], dtype=np.int64)
            series_moments.merge_rows(rows, r["series_moments"])
            series_counts[rows] += r["series_counts"]
    breaks = np.concatenate([r["breaks"] for r in rest] + [offsets[boundary_breaks]]).astype(np.int64)
    breaks.sort()
    if thresholds is not None:
        counts = np.zeros((len(thresholds), n_series), np.int64)
        for j, r in enumerate(rest):
            lo, hi = slices[j]
            counts[:, lo:hi] += r["counts"]
        if stamps is not None:
            boundaries = [counts[i] for i in range(len(stamps))]
            after_gap: list[Any] = [counts[len(stamps) + i] for i in range(len(stamps))] if duration is not None \
                else [None] * len(stamps)
        else:
            after_gap = [counts[i] for i in range(len(boundaries))]
    else:
        after_gap = [None] * len(boundaries)
    ranges = ranges_from_cuts(boundaries, after_gap, gap_rows, lengths)
    # ---- windows and parts: the same functions as the in-memory pipeline
    spec = pipe.spec
    starts, _ = window_starts(bounds, breaks, spec)
    warmup = pipe.warmup
    if warmup:
        # Derived features were computed over whole series (series-aligned partitions, or a time-aligned
        # series with the previous partitions' last rows in front): as in memory, the first `warmup` rows
        # of a series are NaN there and start no window.
        starts = starts[starts - bounds[np.searchsorted(bounds, starts, side="right") - 1] >= warmup]
    if len(starts) == 0:
        raise DataError(
            f"the data gives no window: the longest series has {int(lengths.max())} rows; lookback={spec.lookback} "
            f"and horizon(s) {list(spec.horizons)} need at least {spec.span} rows per series."
        )
    view = SimpleNamespace(starts=starts, spec=spec, series_data=SimpleNamespace(bounds=bounds))
    members = _assign(view, ranges, pipe.context)  # type: ignore[arg-type]
    _require_windows(view, names, members, ranges, pipe.context)  # type: ignore[arg-type]
    return _Plan(
        columns=first["columns"], n_in=first["n_in"], raw_columns=first["raw_columns"], keys=keys, bounds=bounds,
        offsets=offsets, n_rows=n_rows_part, series_slices=slices, freq=freq, breaks=breaks, ranges=ranges,
        names=names, starts=starts, members=members, moments=moments, n_train=sum(r["n_train"] for r in rest),
        partition_index=index, time_dtype=np.asarray(first["first"]).dtype if has_time else None,
        series_moments=series_moments, series_counts=series_counts, train_tasks=train_tasks, heads=heads,
    )


def _times_at_rows(
    dask: Any, client: Any, pipe: Pipeline, parts: list[Any], light: list[dict[str, Any]], offsets: np.ndarray,
    rows: np.ndarray,
) -> np.ndarray:
    """Timestamps of global rows, each read from the partition that holds it."""
    owner = np.searchsorted(offsets, rows, side="right") - 1
    jobs = {}
    for j in np.unique(owner):
        local = (rows[owner == j] - offsets[j]).tolist()
        jobs[int(j)] = dask.delayed(_time_at, pure=True)(pipe, parts[light[j]["index"]], local)
    got = _compute(dask, client, jobs)
    out = [None] * len(rows)
    for j, values in got.items():
        for pos, value in zip(np.flatnonzero(owner == j), values, strict=True):
            out[pos] = value
    return np.asarray(out)


def _robust_scaler(pipe: Pipeline, plan: _Plan, ddf: Any, client: Any) -> RobustScaler:
    """Exact medians and quantile ranges of the training rows, in a few passes over the partitions.

    Each pass sends every partition an empty accumulator of :class:`StreamingQuantiles` and merges
    what they return (counts, histograms, the few values left), as the streaming fit does in one process.
    """
    dask = _require_dask()
    scaler = pipe._make_scaler(plan.columns)
    lo, hi = scaler.quantile_range
    quantiles = StreamingQuantiles([lo, 50.0, hi], len(plan.columns))
    parts = list(ddf.to_delayed())
    while quantiles.next_pass():
        jobs = [dask.delayed(_partition_quantiles, pure=False)(pipe, parts[i], task, quantiles.accumulator(), head)
                for i, task, head in zip(plan.partition_index, plan.train_tasks, plan.heads, strict=True)]
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


# ---------------------------------------------------------------------- public API


def fit_pipeline(pipe: Pipeline, ddf: Any, client: Any = None) -> Pipeline:
    """Fit ``pipe`` on a Dask DataFrame: the split cut and the training statistics, computed per partition.

    The result equals ``pipe.fit(ddf.compute())`` (statistics to float64 rounding of the merge order;
    cut, schema and windows exactly), without bringing the rows to the client.

    Parameters
    ----------
    pipe : Pipeline
        An unfitted (or fitted: it is refitted) pipeline; see the module docstring for the settings
        supported.
    ddf : dask.dataframe.DataFrame or str or path-like
        The whole history, or the path of a Parquet dataset (read with ``dd.read_parquet``).
        Partitions must be aligned to series (``group`` set) or to time (one series, in order).
    client : distributed.Client, optional
        Run on this cluster; default: the current Dask scheduler.

    Returns
    -------
    Pipeline
        ``pipe`` itself, with ``scaler_`` and ``schema_`` set (``split_`` stays ``None``: the
        windows are written by :func:`export`).

    Raises
    ------
    DataError
        A series split across partitions, partitions out of time order, a part without windows,
        a series without training rows (``scale_per="series"``), or the pipeline's own data checks
        on a partition.
    InvalidParameterError
        A pipeline setting this path does not support.
    ImportError
        When dask is not installed.

    Examples
    --------
    >>> import numpy as np, pandas as pd, dask.dataframe as dd
    >>> from seqprep import Pipeline
    >>> df = pd.DataFrame({"y": np.arange(100.0)})
    >>> pipe = fit_pipeline(Pipeline(lookback=4, target="y", split=(0.8, 0.2)), dd.from_pandas(df, npartitions=2))
    >>> float(pipe.scaler_.mean_[0]), pipe.schema_["n_rows_fitted"]
    (39.5, 100)
    """
    _require_dask()
    _check_pipeline(pipe)
    ddf = _as_dask_frame(ddf)
    robust = isinstance(pipe._make_scaler([]), RobustScaler)  # its quantiles take passes of their own
    plan = _make_plan(pipe, ddf, client, statistics=not robust)
    pipe.scaler_ = _robust_scaler(pipe, plan, ddf, client) if robust else _fitted_scaler(pipe, plan)
    pipe.schema_ = {
        "columns": plan.columns,
        "inputs": plan.columns[: plan.n_in],
        "targets": pipe._targets,
        "raw_columns": plan.raw_columns,
        "freq": _freq_json(plan.freq),
        "series_keys": list(plan.keys) if pipe.scale_per == "series" else None,
        "warmup": pipe.warmup,
        "n_rows_fitted": int(plan.bounds[-1]),
    }
    pipe.split_ = None
    return pipe


def export(
    pipe: Pipeline,
    ddf: Any,
    out_dir: str | os.PathLike[str],
    *,
    client: Any = None,
    overwrite: bool = False,
    chunk_rows: int = 1 << 20,
) -> Path:
    """Scale every partition with the fitted pipeline and write the export directory.

    The format is the one-machine export's (:mod:`seqprep.outofcore`)::

        out_dir/data.npy               scaled rows (pipeline dtype), inputs then extra targets
        out_dir/starts-{part}.npy      int64 window start rows of each part
        out_dir/bounds.npy, breaks.npy int64 series boundaries and rows after a time gap
        out_dir/time.npy               timestamps (when the pipeline has a time column)
        out_dir/pipeline/              the fitted pipeline (Pipeline.save)
        out_dir/manifest.json          written last, with "complete": true and a sha256 per chunk

    :func:`seqprep.outofcore.open_export` reads it back as lazy windows. Each worker writes its
    partition's rows into its slice of ``data.npy`` (a memory map), so the
    workers and the client must share the file system of ``out_dir``. The directory is built under
    a temporary name beside ``out_dir`` and renamed into place when complete.

    Parameters
    ----------
    pipe : Pipeline
        A fitted pipeline (by :func:`fit_pipeline` or ``Pipeline.fit``).
    ddf : dask.dataframe.DataFrame or str or path-like
        The data to export (normally the data the pipeline was fitted on).
    out_dir : str or path-like
    client : distributed.Client, optional
    overwrite : bool, default False
        Replace an existing non-empty ``out_dir``.
    chunk_rows : int, default 1_048_576
        Rows per sha256 in the manifest (``open_export(verify=True)`` checks them).

    Returns
    -------
    Path
        ``out_dir``.

    Examples
    --------
    >>> import tempfile, numpy as np, pandas as pd, dask.dataframe as dd
    >>> from seqprep import Pipeline
    >>> ddf = dd.from_pandas(pd.DataFrame({"y": np.arange(100.0)}), npartitions=2)
    >>> pipe = fit_pipeline(Pipeline(lookback=4, target="y", split=(0.8, 0.2)), ddf)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = export(pipe, ddf, f"{tmp}/export")
    ...     sizes = [np.load(out / f"starts-{p}.npy").size for p in ("train", "test")]
    ...     rows = np.load(out / "data.npy").shape
    >>> sizes, rows
    ([76, 20], (100, 1))
    """
    _require_dask()
    _check_pipeline(pipe)
    pipe._check_fitted()
    ddf = _as_dask_frame(ddf)
    chunk_rows = check_int(chunk_rows, "chunk_rows", minimum=1)
    target = Path(out_dir)
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise ArtifactError(
            f"{str(target)!r} already exists and is not empty; refusing to overwrite it silently. "
            "Choose another path or pass overwrite=True."
        )
    plan = _make_plan(pipe, ddf, client, statistics=False)
    if plan.columns != list(pipe.schema_["columns"]):  # type: ignore[index]
        raise DataError(
            f"the data's columns {list_names(plan.columns)} differ from the fitted columns "
            f"{list_names(pipe.schema_['columns'])}."  # type: ignore[index]
        )
    series_codes = _fitted_series_codes(pipe, plan)
    dask = _require_dask()
    tmp = temp_dir_beside(target)
    try:
        n_total = int(plan.bounds[-1])
        data_path = tmp / "data.npy"
        mm = np.lib.format.open_memmap(data_path, mode="w+", dtype=np.dtype(pipe.spec.dtype),
                                       shape=(n_total, len(plan.columns)))
        del mm
        time_path = None
        if plan.time_dtype is not None:
            time_path = tmp / "time.npy"
            tm = np.lib.format.open_memmap(time_path, mode="w+", dtype=plan.time_dtype, shape=(n_total,))
            del tm
        parts = list(ddf.to_delayed())
        jobs = []
        for j, s_index in enumerate(plan.partition_index):
            lo, hi = plan.series_slices[j]
            jobs.append(dask.delayed(_write_rows, pure=False)(
                pipe, parts[s_index], str(data_path), int(plan.offsets[j]), int(plan.n_rows[j]),
                None if time_path is None else str(time_path),
                None if series_codes is None else series_codes[lo:hi], plan.heads[j]))
        written = sum(_compute(dask, client, jobs))
        if written != n_total:
            raise DataError(f"the export wrote {written} rows; the data has {n_total}.")
        n_chunks = -(-n_total // chunk_rows)
        hashes = _compute(dask, client, [
            dask.delayed(_hash_rows, pure=False)(str(data_path), k * chunk_rows, min((k + 1) * chunk_rows, n_total))
            for k in range(n_chunks)
        ])
        counts = {}
        for name, idx in zip(plan.names, plan.members, strict=True):
            starts = plan.starts[idx].astype(np.int64)
            np.save(tmp / f"starts-{name}.npy", starts)
            counts[name] = int(len(starts))
        np.save(tmp / "bounds.npy", plan.bounds.astype(np.int64))
        np.save(tmp / "breaks.npy", plan.breaks.astype(np.int64))
        pipe.save(tmp / "pipeline")
        cfg = pipe.get_config()
        manifest = {  # the fields of seqprep.outofcore's manifest, so that open_export reads this export
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "fingerprint": {"config": cfg, "source": {"kind": "dask", "npartitions": int(ddf.npartitions)},
                            "columns": plan.columns, "chunk_rows": chunk_rows, "format": "npy"},
            "columns": plan.columns,
            "inputs": plan.columns[: plan.n_in],
            "targets": list(pipe._targets),
            "scalar_target": isinstance(pipe.target, str),
            "spec": pipe.spec.to_dict(),
            "n_rows": n_total,
            "dtype": pipe.spec.dtype,
            "chunk_rows": chunk_rows,
            "n_chunks": n_chunks,
            "parts": counts,
            "part_names": list(plan.names),
            "row_ranges": {n: np.stack(r, axis=1).tolist() for n, r in zip(plan.names, plan.ranges, strict=True)},
            "keys": plan.keys,
            "scale_per": pipe.scale_per,  # "sample": open_export normalises each window as it reads it
            "time": pipe.time,
            "time_dtype": None if plan.time_dtype is None else str(plan.time_dtype),
            "freq": pipe.schema_["freq"],  # type: ignore[index]
            "chunks": {str(k): h for k, h in enumerate(hashes)},
            "runs": [{"written_by": "seqprep.dask", "partitions": len(plan.partition_index)}],
            "complete": True,
        }
        with open(tmp / "manifest.json", "w") as fh:  # last: marks the export complete
            json.dump(manifest, fh, indent=1, sort_keys=True, default=_json_default)
            fh.flush()
            os.fsync(fh.fileno())
        replace_dir(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target



def _fitted_series_codes(pipe: Pipeline, plan: _Plan) -> np.ndarray | None:
    """Fitted series code of every series of the data (plan order); ``None`` without per-series statistics.

    The exported data may list its series in another order than the fitted data (or be another
    pipeline's fit): rows are scaled with the statistics of their series key, as ``Pipeline.transform``
    does, and a series the pipeline has no statistics for is refused before any row is written.
    """
    if not isinstance(pipe.scaler_, SeriesScaler):
        return None
    return fitted_series_codes(pipe.schema_, plan.keys)  # type: ignore[arg-type]
