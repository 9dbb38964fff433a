"""The plan of :mod:`seqprep.dask`: per-partition summaries, series, split cut, breaks and windows.

The summary pass runs on the workers (:func:`_summarize`: validate a partition with the pipeline's
own checks, count its rows per series, histogram its time steps) and brings only small summaries
to the client. From them the client derives what :func:`seqprep.split` derives from the whole data:
the series and their global rows (:func:`_series_layout`), the dominant time step
(:func:`_global_freq`), the split cut (:func:`_cut_points`); the statistics pass
(:mod:`seqprep.dask._stats`) then counts each series' rows before the cut timestamps and finds the
gaps, and the window starts of each part follow with the in-memory functions (:func:`_windows`).
Functions shipped to workers are module-level (pickled by reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from .._json import key_json
from .._validation import check_int, list_names, param_error, zero_of
from ..exceptions import DataError
from ..pipeline import Pipeline
from ..splitting import (
    assign_parts,
    check_fractions,
    check_gap,
    is_time_cuts,
    parse_cuts,
    ranges_from_cuts,
    require_windows,
)
from ..timeaxis import add_duration, infer_frequency
from ..windowing import window_starts
from ._common import _chunks, _compute, _per_partition, _Plan, _require_dask, _step_diffs, _tree_reduce
from ._stats import _moment_kind, _series_statistics, _statistics_pass

__all__: list[str] = []  # internal to seqprep.dask: its siblings import the names they need

# ---------------------------------------------------------------------- per-partition work (runs on workers)


def _last_rows(pdf: pd.DataFrame, rows: int) -> pd.DataFrame:
    """The last ``rows`` rows of a partition (what the next partition's derived features read)."""
    return pdf.tail(rows).copy()


def _tail(last: pd.DataFrame, before: pd.DataFrame | None, rows: int) -> pd.DataFrame:
    """The last ``rows`` rows of everything up to a partition (``last``: its last rows; ``before``: the tail so far)."""
    frames = [f for f in (before, last) if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True).tail(rows) if frames else last.iloc[:0]


def _summarize(pdf: pd.DataFrame, pipe: Pipeline, want_times: bool, rows: int | None = None) -> dict[str, Any] | None:
    """One partition's summary: series keys and lengths, columns, time-step histogram, first and last time.

    ``want_times`` adds a histogram of its timestamps (for a common timestamp cut over many series).
    Validated and summarised in chunks of whole series (``rows``: see :func:`_chunks`); the
    histograms of the chunks are merged (a step across a chunk cut is between two series: never counted).
    """
    if len(pdf) == 0:
        return None
    out: dict[str, Any] = {"steps": None, "first": None, "last": None, "times": None}
    keys: list[Any] = []
    lengths: list[np.ndarray] = []
    sample: list[np.ndarray] = []
    sample_same: list[np.ndarray] = []
    n_sample = 0
    for c in _chunks(pipe, pdf, rows=rows):
        sd = c.sd
        if not keys:
            out.update(columns=list(c.columns), n_in=c.n_in, raw_columns=list(sd.columns or ()))
        keys.extend(key_json(k) for k in sd.keys)
        lengths.append(np.diff(sd.bounds).astype(np.int64))
        if sd.time is None or sd.n_rows == 0:
            continue
        diffs, same = _step_diffs(sd)  # the steps between consecutive rows of the same series
        out["steps"] = _merge_hist(out["steps"], np.unique(diffs[same], return_counts=True))
        if out["first"] is None:
            out["first"] = sd.time[0]
        out["last"] = sd.time[-1]
        # the first rows and their series boundaries: the client reads the calendar (months, business days) there
        k = min(sd.n_rows, _CALENDAR_SAMPLE - n_sample)
        if k > 0:
            if n_sample:
                sample_same.append(np.zeros(1, dtype=bool))  # a chunk starts with a new series
            sample.append(np.asarray(sd.time[:k]))
            sample_same.append(same[: max(k - 1, 0)])
            n_sample += k
        if want_times:
            out["times"] = _merge_hist(out["times"], np.unique(sd.time, return_counts=True))
        del diffs, same
    out["keys"] = keys
    out["lengths"] = np.concatenate(lengths)
    if sample:
        out["sample"], out["sample_same"] = np.concatenate(sample), np.concatenate(sample_same)
    return out


def _light(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """A summary without its timestamp histogram (that one is tree-reduced on the workers instead)."""
    return None if summary is None else {k: v for k, v in summary.items() if k != "times"}


def _times(summary: dict[str, Any] | None) -> Any:
    """A summary's timestamp histogram (``None`` when not asked for)."""
    return None if summary is None else summary["times"]


def _merge_hist(a: Any, b: Any) -> Any:
    """Merge two (values, counts) histograms; ``None`` is the empty one."""
    if a is None:
        return b
    if b is None:
        return a
    values = np.concatenate([a[0], b[0]])
    counts = np.concatenate([a[1], b[1]])
    uniq, inv = np.unique(values, return_inverse=True)
    return uniq, np.bincount(inv, weights=counts, minlength=len(uniq)).astype(np.int64)


def _time_at(pdf: pd.DataFrame, pipe: Pipeline, rows: list[int]) -> list[Any]:
    """The timestamps of some rows of a partition (local row numbers)."""
    want = np.asarray(rows, dtype=np.int64)
    out: list[Any] = [None] * len(want)
    for c in _chunks(pipe, pdf):
        for i in np.flatnonzero((want >= c.row0) & (want < c.row0 + c.sd.n_rows)):
            out[i] = c.sd.time[want[i] - c.row0]
    return out


# ---------------------------------------------------------------------- the plan (client side)


@dataclass(frozen=True)
class _Layout:
    """The non-empty partitions and the series and rows they hold, in global order."""

    light: list[dict[str, Any]]  # summary (less the timestamp histogram) of each non-empty partition, with "index"
    keys: list[Any]
    lengths: np.ndarray  # rows per series
    bounds: np.ndarray  # global first row of each series, and the total
    offsets: np.ndarray  # global first row of each partition
    n_rows: np.ndarray  # rows per partition
    slices: list[tuple[int, int]]  # global series range of each partition
    time_aligned: bool

    @property
    def has_time(self) -> bool:
        """Whether the rows have a time column (then every partition's summary has its first and last time)."""
        return self.light[0]["first"] is not None


@dataclass(frozen=True)
class _Cuts:
    """The split cut: timestamps (``stamps``), or rows per series (``boundaries``), and the gap.

    ``thresholds`` (``(n_thr, n_series)``) are the timestamps whose preceding rows the statistics
    pass counts per series: the cut stamps, the ends of their gaps, or the rows' time plus a gap
    duration; ``None`` when the cut and gap are rows already.
    """

    stamps: list[Any] | None
    thresholds: np.ndarray | None
    boundaries: list[np.ndarray]
    duration: Any
    gap_rows: int


def _heads(dask: Any, pipe: Pipeline, ddf: Any, index: list[int], time_aligned: bool) -> list[Any]:
    """Per non-empty partition: the rows its derived features need from earlier partitions (or None).

    Only a time-aligned series split across partitions needs them (a series-aligned partition holds
    whole series); each head is the tail of the previous head and partition's last rows, a chain of
    cheap tasks after one pass that reads each partition's last rows.
    """
    warmup = pipe.warmup
    if not (warmup and time_aligned and len(index) > 1):
        return [None] * len(index)
    last = _per_partition(dask, ddf, _last_rows, warmup, partitions=index[:-1])
    heads: list[Any] = [None]
    for j in range(1, len(index)):
        heads.append(dask.delayed(_tail, pure=True)(last[j - 1], heads[-1], warmup))
    return heads


def _gap(pipe: Pipeline, has_datetime: bool) -> tuple[Any, int]:
    """(duration or None, gap rows), checked as :func:`seqprep.split` checks them."""
    gap = pipe.gap
    if isinstance(gap, (pd.Timedelta, np.timedelta64, str, pd.offsets.BaseOffset)):
        if not has_datetime:
            raise param_error("gap", "a number of rows when the data has no timestamps", gap)
        rows, duration = check_gap(gap, np.zeros(1, dtype="datetime64[ns]"))  # months, "5B", "7D": as split
        return duration, rows
    return None, check_int(gap, "gap", minimum=0, fix="Use gap >= 0 rows (or a duration such as '7D').")


def _part_names(cuts: Any) -> tuple[str, ...]:
    """The names of the parts a split gives: train/test, or train/val/test."""
    n_parts = len(cuts) if not isinstance(cuts, str) and isinstance(cuts, (list, tuple)) else 1
    if is_time_cuts(cuts):
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
    frequency = _calendar(light, freq)
    if frequency is None:
        return freq, [i for i, step in boundary if step != freq]
    return frequency.step, [i for i, _ in boundary
                            if frequency.irregular(np.asarray([light[i - 1]["last"], light[i]["first"]]))[0]]


#: Rows of the first partition sent to the client to read a calendar frequency from.
_CALENDAR_SAMPLE = 1024


def _calendar(light: list[dict[str, Any]], dominant: Any) -> Any:
    """The calendar frequency (months, business days) as :func:`seqprep.io.as_series` infers it, or None.

    Only for a dominant step of a day or of four weeks and more; read on the first partition's
    first rows (``sample``), as the out-of-core scan reads it on the first rows of the file.
    """
    if np.asarray(dominant).dtype.kind != "m":
        return None
    day = np.timedelta64(1, "D")
    if dominant != day and dominant < 27 * day:
        return None
    sample = light[0].get("sample")
    if sample is None or len(sample) < 2:
        return None
    frequency = infer_frequency(sample, light[0]["sample_same"])
    return frequency if frequency is not None and frequency.kind != "fixed" else None


def _summaries(
    dask: Any, client: Any, pipe: Pipeline, ddf: Any, want_times: bool
) -> tuple[list[dict[str, Any]], Any]:
    """The summary pass: (light summary of each non-empty partition, with its ``index``; timestamp histogram).

    Refuses data without rows and partitions whose columns differ.
    """
    summaries = _per_partition(dask, ddf, _summarize, pipe, want_times)
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
    return light, times_hist


def _aligned_series(
    pipe: Pipeline, light: list[dict[str, Any]]
) -> tuple[list[Any], np.ndarray, list[tuple[int, int]]]:
    """(keys, rows per series, global series range of each partition) of series-aligned partitions.

    Refuses a series found in more than one partition.
    """
    keys: list[Any] = []
    length_list: list[int] = []
    slices: list[tuple[int, int]] = []
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
    return keys, np.asarray(length_list, dtype=np.int64), slices


def _series_layout(pipe: Pipeline, light: list[dict[str, Any]], time_aligned: bool) -> _Layout:
    """Series, their global rows, and each partition's rows and series, from the summaries."""
    n_rows_part = np.array([int(s["lengths"].sum()) for s in light], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_rows_part)[:-1]]).astype(np.int64)
    if time_aligned:
        keys: list[Any] = [0]
        lengths = np.array([n_rows_part.sum()], dtype=np.int64)
        slices = [(0, 1)] * len(light)
    else:
        keys, lengths, slices = _aligned_series(pipe, light)
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return _Layout(light=light, keys=keys, lengths=lengths, bounds=bounds, offsets=offsets, n_rows=n_rows_part,
                   slices=slices, time_aligned=time_aligned)


def _cut_points(
    dask: Any, client: Any, pipe: Pipeline, ddf: Any, layout: _Layout, times_hist: Any, gap: tuple[Any, int],
) -> _Cuts:
    """The split cut as :func:`seqprep.split` finds it: thresholds evaluated on the workers, or rows computed here.

    Timestamp cuts, and fractions over many series with timestamps (a common cut timestamp, from
    the timestamp histogram), become thresholds; otherwise fractions are rows of each series, and a
    gap duration becomes thresholds at the cut rows' timestamps (read from the partitions holding them).
    """
    cuts = pipe.split
    duration, gap_rows = gap
    lengths, bounds = layout.lengths, layout.bounds
    n_total, n_series, has_time = int(bounds[-1]), len(lengths), layout.has_time
    stamps: list[Any] | None = None
    thresholds: np.ndarray | None = None  # (n_thr, n_series)
    boundaries: list[np.ndarray] = []
    if is_time_cuts(cuts):
        if not has_time:
            raise param_error("split", "fractions when the data has no timestamps", cuts, "Pass time=... or fractions.")
        stamps = parse_cuts(cuts)
    else:
        fractions = check_fractions(cuts)
        cum = np.cumsum(fractions)[:-1]
        if has_time and n_series > 1:
            uniq, counts = times_hist
            cumcount = np.cumsum(counts)
            stamps = [uniq[int(np.searchsorted(cumcount, min(int(round(c * n_total)), n_total - 1), side="right"))]
                      for c in cum]
        else:
            boundaries = [np.round(lengths * c).astype(np.int64) for c in cum]
    if stamps is not None:
        thr = list(stamps) + ([add_duration(s, duration) for s in stamps] if duration is not None else [])
        thresholds = np.stack([np.full(n_series, s) for s in thr])
    elif duration is not None:
        rows = [np.minimum(bounds[:-1] + b, n_total - 1) for b in boundaries]
        start_times = _times_at_rows(dask, client, pipe, ddf, layout.light, layout.offsets, np.concatenate(rows))
        thresholds = add_duration(start_times.reshape(len(boundaries), n_series), duration)
    return _Cuts(stamps=stamps, thresholds=thresholds, boundaries=boundaries, duration=duration, gap_rows=gap_rows)


def _partition_tasks(
    layout: _Layout, cut: _Cuts, freq: Any, per_series: bool, with_range: bool, statistics: bool
) -> list[dict[str, Any]]:
    """What the statistics pass asks of each non-empty partition: its training rows, thresholds, step, offset."""
    tasks = []
    for j in range(len(layout.light)):
        lo, hi = layout.slices[j]
        task: dict[str, Any] = {
            "train_stamp": cut.stamps[0] if cut.stamps is not None else None,
            "with_range": with_range,
            "per_series": per_series,
            "statistics": statistics,
            "thresholds": None if cut.thresholds is None else cut.thresholds[:, lo:hi],
            "freq": freq,
            "offset": int(layout.offsets[j]),
            "n_series": hi - lo,
        }
        if cut.stamps is None:
            b0 = cut.boundaries[0]
            task["train_rows"] = [int(b0[0]) - int(layout.offsets[j])] if layout.time_aligned else b0[lo:hi]
        tasks.append(task)
    return tasks


def _part_ranges(layout: _Layout, cut: _Cuts, rest: list[dict[str, Any]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Row ranges of each part per series, from the cut rows or the partitions' threshold counts."""
    boundaries = cut.boundaries
    if cut.thresholds is not None:
        counts = np.zeros((len(cut.thresholds), len(layout.lengths)), np.int64)
        for j, r in enumerate(rest):
            lo, hi = layout.slices[j]
            counts[:, lo:hi] += r["counts"]
        if cut.stamps is not None:
            n_stamps = len(cut.stamps)
            boundaries = [counts[i] for i in range(n_stamps)]
            after_gap: list[Any] = [counts[n_stamps + i] for i in range(n_stamps)] if cut.duration is not None \
                else [None] * n_stamps
        else:
            after_gap = [counts[i] for i in range(len(boundaries))]
    else:
        after_gap = [None] * len(boundaries)
    return ranges_from_cuts(boundaries, after_gap, cut.gap_rows, layout.lengths)


#: Windows per block of the client's assignment of windows to parts: its int64 temporaries stay at tens of MB.
WINDOW_BLOCK = 1 << 20


def _windows(
    pipe: Pipeline, bounds: np.ndarray, lengths: np.ndarray, breaks: np.ndarray,
    ranges: list[tuple[np.ndarray, np.ndarray]], names: tuple[str, ...], block: int = WINDOW_BLOCK,
) -> list[np.ndarray]:
    """Window starts of each part: the same functions as the in-memory pipeline, a block of windows at a time.

    The starts come from :func:`~seqprep.windowing.window_starts` in its compact dtype (int32 below
    2**31 rows); the warm-up filter and :func:`~seqprep.splitting.assign_parts` (whose per-window
    int64 series, offsets and targets are several times the index) run on ``block`` windows at a
    time, and each part's starts are kept in the compact dtype: the client holds the index about
    twice in int32 at its peak, never the int64 temporaries of every window.
    """
    spec = pipe.spec
    starts, _ = window_starts(bounds, breaks, spec)
    warmup = pipe.warmup
    if warmup:
        # Derived features were computed over whole series (series-aligned partitions, or a time-aligned
        # series with the previous partitions' last rows in front): as in memory, the first `warmup` rows
        # of a series are NaN there and start no window.
        keep = np.empty(len(starts), dtype=bool)
        for a in range(0, len(starts), block):
            s = starts[a : a + block]
            keep[a : a + block] = s - bounds[np.searchsorted(bounds, s, side="right") - 1] >= warmup
        starts = starts[keep]
        del keep
    if len(starts) == 0:
        raise DataError(
            f"the data gives no window: the longest series has {int(lengths.max())} rows; lookback={spec.lookback} "
            f"and horizon(s) {list(spec.horizons)} need at least {spec.span} rows per series."
        )
    pieces: list[list[np.ndarray]] = [[] for _ in names]
    series_data = SimpleNamespace(bounds=bounds)
    for a in range(0, len(starts), block):
        view = SimpleNamespace(starts=starts[a : a + block], spec=spec, series_data=series_data)
        for piece, idx in zip(pieces, assign_parts(view, ranges, pipe.context), strict=True):  # type: ignore[arg-type]
            piece.append(view.starts[idx])
    del starts
    part_starts = []
    for piece in pieces:
        part_starts.append(np.concatenate(piece))
        piece.clear()
    view = SimpleNamespace(starts=None, spec=spec, series_data=series_data)
    require_windows(view, names, part_starts, ranges, pipe.context)  # type: ignore[arg-type]
    return part_starts


def _make_plan(pipe: Pipeline, ddf: Any, client: Any, statistics: bool = True) -> _Plan:
    """Series, cuts, breaks and windows of the data, and the training rows' moments.

    :func:`export` passes ``statistics=False``: its pipeline is fitted already, so no moments are computed.
    """
    dask = _require_dask()
    time_aligned = pipe.group is None
    want_times = (not time_aligned) and (pipe.time is not None) and not is_time_cuts(pipe.split)
    light, times_hist = _summaries(dask, client, pipe, ddf, want_times)
    index = [s["index"] for s in light]
    first = light[0]
    layout = _series_layout(pipe, light, time_aligned)
    has_time = layout.has_time
    freq, boundary_breaks = _global_freq(light, time_aligned) if has_time else (None, [])
    has_datetime = has_time and np.asarray(first["first"]).dtype.kind == "M"
    gap = _gap(pipe, has_datetime)
    names = _part_names(pipe.split)
    cut = _cut_points(dask, client, pipe, ddf, layout, times_hist, gap)
    # ---- pass 2: training statistics, threshold counts and breaks, in one read of the rows
    per_series, with_range = _moment_kind(pipe)
    heads = _heads(dask, pipe, ddf, index, time_aligned)
    train_tasks = _partition_tasks(layout, cut, freq, per_series, with_range, statistics)
    rest, moments = _statistics_pass(dask, client, pipe, ddf, index, train_tasks, heads)
    series_moments = series_counts = None
    if per_series and statistics:
        series_moments, series_counts = _series_statistics(rest, layout.slices, len(layout.lengths),
                                                           len(first["columns"]), with_range)
    breaks = np.concatenate([r["breaks"] for r in rest] + [layout.offsets[boundary_breaks]]).astype(np.int64)
    breaks.sort()
    ranges = _part_ranges(layout, cut, rest)
    part_starts = _windows(pipe, layout.bounds, layout.lengths, breaks, ranges, names)
    return _Plan(
        columns=first["columns"], n_in=first["n_in"], raw_columns=first["raw_columns"], keys=layout.keys,
        bounds=layout.bounds, offsets=layout.offsets, n_rows=layout.n_rows, series_slices=layout.slices, freq=freq,
        breaks=breaks, ranges=ranges, names=names, part_starts=part_starts, moments=moments,
        n_train=sum(r["n_train"] for r in rest), partition_index=index,
        time_dtype=np.asarray(first["first"]).dtype if has_time else None,
        series_moments=series_moments, series_counts=series_counts, train_tasks=train_tasks, heads=heads,
    )


def _times_at_rows(
    dask: Any, client: Any, pipe: Pipeline, ddf: Any, light: list[dict[str, Any]], offsets: np.ndarray,
    rows: np.ndarray,
) -> np.ndarray:
    """Timestamps of global rows, each read from the partition that holds it."""
    owner = np.searchsorted(offsets, rows, side="right") - 1
    held = np.unique(owner)
    local = [(rows[owner == j] - offsets[j]).tolist() for j in held]
    got = _compute(dask, client, _per_partition(dask, ddf, _time_at, pipe, items=local,
                                                partitions=[light[j]["index"] for j in held]))
    out = [None] * len(rows)
    for j, values in zip(held, got, strict=True):
        for pos, value in zip(np.flatnonzero(owner == j), values, strict=True):
            out[pos] = value
    return np.asarray(out)
