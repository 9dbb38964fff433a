"""Chronological splits with purge gaps, and walk-forward folds, over lazy windows.

A window belongs to a part when **all its target rows** lie inside that part's rows. Parts are
cut in time (the same timestamp for every series by default), in order, with ``gap`` rows (or a
duration) left out between consecutive parts. The guarantee, for every configuration:

- every training target row comes before every validation target row minus the gap, and
  likewise validation before test;
- no training input or target row lies at or after the first validation target row.

``context="history"`` (default) lets a validation/test window read its inputs from rows before
its part (the past is known at prediction time); ``context="part"`` keeps every row of a window
inside its own part. There is deliberately no ``shuffle`` argument: shuffling overlapping windows
across a split is a leak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._validation import check_choice, check_float, check_int, param_error, zero_of
from .exceptions import DataError, InvalidParameterError
from .timeaxis import add_duration, calendar_duration, is_calendar_step
from .windowing import Windows

__all__ = ["Split", "split", "walk_forward"]

CONTEXTS = ("history", "part")


@dataclass(frozen=True)
class Split:
    """Windows of each part, with the row ranges that define them.

    Attributes
    ----------
    parts : dict of str to Windows
        ``"train"``, ``"val"``, ``"test"`` (or the names given), in time order.
    row_ranges : dict of str to ndarray of shape (n_series, 2)
        Local rows ``[lo, hi)`` of each series whose targets belong to each part.
    gap : int or timedelta
        The purge gap between consecutive parts.
    context : str
        ``"history"`` or ``"part"``.
    """

    parts: dict[str, Windows]
    row_ranges: dict[str, np.ndarray]
    gap: Any
    context: str

    def __getattr__(self, name: str) -> Windows:
        parts = self.__dict__.get("parts", {})
        if name in parts:
            return parts[name]
        raise AttributeError(f"this split has no part {name!r}; parts: {list(parts)}")

    def __getitem__(self, name: str) -> Windows:
        return self.parts[name]

    def __iter__(self) -> Any:
        return iter(self.parts.values())

    def train_rows(self, name: str = "train") -> np.ndarray:
        """Boolean mask over all rows: the rows of the training part (used to fit statistics)."""
        windows = next(iter(self.parts.values()))
        sd = windows.series_data
        lo, hi = self.row_ranges[name][:, 0], self.row_ranges[name][:, 1]
        codes = sd.series_codes()
        local = np.arange(sd.n_rows, dtype=np.int64) - sd.bounds[:-1][codes]
        return (local >= lo[codes]) & (local < hi[codes])

    def describe(self) -> pd.DataFrame:
        """One row per part: windows, target rows and times, and the gap before it."""
        rows = []
        for name, w in self.parts.items():
            prov = w.provenance() if len(w) else None
            row: dict[str, Any] = {"part": name, "windows": len(w)}
            if prov is not None and "target_row" in prov:
                row["first_target_row"] = int(prov["target_row"].min())
                row["last_target_row"] = int(prov["target_row"].max())
                row["first_input_row"] = int(prov["start"].min())
                if "target_time" in prov:
                    row["first_target_time"] = prov["target_time"].min()
                    row["last_target_time"] = prov["target_time"].max()
            rows.append(row)
        frame = pd.DataFrame(rows).set_index("part")
        report = next(iter(self.parts.values())).series_data.report if self.parts else {}
        frame.attrs["freq"] = report.get("freq")
        frame.attrs["frequency"] = report.get("frequency")
        frame.attrs["time_kind"] = report.get("time_kind")
        frame.attrs["gap"] = self.gap
        frame.attrs["context"] = self.context
        return frame

    def __repr__(self) -> str:
        table = self.describe().to_string()
        freq = self.describe().attrs.get("frequency")
        return f"Split(context={self.context!r}, gap={self.gap!r}{', freq=' + repr(freq) if freq else ''})\n{table}"


def check_fractions(fractions: Sequence[Any]) -> tuple[float, ...]:
    if isinstance(fractions, (str, bytes)) or not isinstance(fractions, Sequence) or not 2 <= len(fractions) <= 3:
        raise param_error(
            "split", "a sequence of 2 or 3 fractions (train, [val,] test) or of 1-2 timestamps", fractions,
            "For example split=(0.7, 0.15, 0.15).",
        )
    values = tuple(check_float(f, "split", minimum=0.0, maximum=1.0, inclusive=False) for f in fractions)
    if abs(sum(values) - 1.0) > 1e-6:
        raise param_error("split", "fractions that add up to 1", fractions, f"They add up to {sum(values):.4g}.")
    return values


def is_time_cuts(cuts: Any) -> bool:
    if isinstance(cuts, (str, pd.Timestamp, np.datetime64)):
        return True
    return isinstance(cuts, Sequence) and not isinstance(cuts, str) and all(
        isinstance(c, (str, pd.Timestamp, np.datetime64)) for c in cuts
    )


def _coordinates(w: Windows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: series code, local row index, and the time coordinate used for cuts."""
    sd = w.series_data
    codes = sd.series_codes()
    local = np.arange(sd.n_rows, dtype=np.int64) - sd.bounds[:-1][codes]
    coord = sd.time if sd.time is not None else local
    return codes, local, coord


def _count_before(codes: np.ndarray, mask: np.ndarray, n_series: int) -> np.ndarray:
    """Per series, how many rows satisfy *mask* (a prefix, since rows are sorted in time)."""
    return np.bincount(codes, weights=mask, minlength=n_series).astype(np.int64)


def parse_duration(gap: Any, name: str = "gap") -> Any:
    """A non-negative duration (``"7D"``, ``"12h"``, a Timedelta) as ``timedelta64[ns]``, or a one-line error.

    A calendar step (``"3MS"``, ``"1YS"``, ``"5B"``) is a pandas offset: months of uneven lengths and
    business days counted as the calendar counts them (add it with :func:`seqprep.timeaxis.add_duration`).
    """
    if isinstance(gap, pd.offsets.BaseOffset) or (isinstance(gap, str) and is_calendar_step(gap)):
        offset = calendar_duration(gap)
        if offset.n < 0:
            raise param_error(name, "a non-negative duration", gap, "Use a duration >= 0 such as '3MS'.")
        return offset
    try:
        duration = pd.Timedelta(gap)
    except (ValueError, TypeError, OverflowError):
        raise param_error(
            name, "a number of rows or a duration such as '7D' or '12h'", gap,
            "Use pandas offset units (D, h, min, s) after a number, e.g. gap='7D'.",
        ) from None
    if pd.isna(duration):
        raise param_error(name, "a duration, not NaT", gap, "Use e.g. gap='7D'.")
    value = duration.to_timedelta64()
    if value < zero_of(value.dtype):
        raise param_error(name, "a non-negative duration", gap, "Use a duration >= 0 such as '7D'.")
    return value


def parse_cuts(cuts: Any, name: str = "split") -> list[np.datetime64]:
    """Cut timestamps (one or a sequence of str/Timestamp/datetime64) as ``datetime64[ns]``, increasing."""
    items = [cuts] if isinstance(cuts, (str, pd.Timestamp, np.datetime64)) else list(cuts)
    stamps = []
    for c in items:
        try:
            stamp = pd.Timestamp(c)
        except (ValueError, TypeError, OverflowError):
            raise param_error(
                name, "fractions such as (0.7, 0.15, 0.15) or timestamps pandas can parse", c,
                "Use ISO dates such as '2020-03-01' (or '2020-03-01 12:00').",
            ) from None
        if pd.isna(stamp):
            raise param_error(name, "timestamps, not NaT", c, "Use ISO dates such as '2020-03-01'.")
        stamps.append(stamp.to_datetime64().astype("datetime64[ns]"))
    if any(b <= a for a, b in zip(stamps, stamps[1:], strict=False)):
        raise param_error(name, "increasing timestamps", cuts, "Sort the cut timestamps.")
    return stamps


def check_split_args(split: Any, gap: Any) -> None:
    """Check the form of ``split`` and ``gap`` before any data is read (their fit to the data is checked later)."""
    if is_time_cuts(split):
        parse_cuts(split)
    else:
        check_fractions(split)
    if isinstance(gap, (pd.Timedelta, np.timedelta64, str, pd.offsets.BaseOffset)):
        parse_duration(gap)
    else:
        check_int(gap, "gap", minimum=0, fix="Use gap >= 0 rows (or a duration such as '7D').")


def check_holdout_args(holdout: str, gap: Any, context: str, seed: Any) -> None:
    """Refuse the arguments that ``holdout`` would silently ignore.

    ``holdout="series"`` puts whole series into parts: there is no boundary in time to purge
    (``gap``) nor earlier history to read (``context``), so either one given is refused rather than
    dropped. A ``seed`` with ``holdout="time"`` orders nothing either and is refused the same way.
    """
    if holdout == "series":
        if not (isinstance(gap, (int, np.integer)) and not isinstance(gap, bool) and gap == 0):
            raise param_error(
                "gap", "0 with holdout='series'", gap,
                "Whole series are held out, so no rows lie between parts to purge: remove gap, or use "
                "holdout='time' for a purge gap in time.",
            )
        if context != "history":
            raise param_error(
                "context", "'history' (the default) with holdout='series'", context,
                "Held-out series share no rows with training, so context has no effect: remove it.",
            )
    elif seed is not None:
        raise param_error(
            "seed", "None with holdout='time'", seed,
            "A chronological split has no random order to seed: remove seed, or use holdout='series'.",
        )


def check_needs_time(split: Any, gap: Any, has_time: bool) -> None:
    """Refuse cut timestamps or a duration gap for data without timestamps, before any data is read."""
    if has_time:
        return
    if is_time_cuts(split):
        raise param_error("split", "fractions when the data has no time column", split,
                          "Pass time=... (--time) naming the timestamp column, or give fractions such as "
                          "0.7,0.15,0.15.")
    if isinstance(gap, (pd.Timedelta, np.timedelta64, str)):
        raise param_error("gap", "a number of rows when the data has no time column", gap,
                          "Pass time=... (--time) naming the timestamp column, or give the gap in rows.")


def check_gap(gap: Any, time: np.ndarray | None) -> tuple[int, Any]:
    """Validate ``gap``: ``(rows, None)`` for a number of rows, ``(0, duration)`` for a duration.

    A duration is a ``timedelta64`` (``"7D"``) or a calendar offset (``"3MS"``, ``"1YS"``, ``"5B"``);
    add it to timestamps with :func:`seqprep.timeaxis.add_duration`.
    """
    if isinstance(gap, (pd.Timedelta, np.timedelta64, str, pd.offsets.BaseOffset)):
        duration = parse_duration(gap)
        if time is None or time.dtype.kind != "M":
            raise param_error("gap", "a number of rows when the data has no timestamps", gap,
                              "Pass time=... (a timestamp column) or give the gap in rows.")
        return 0, duration
    return check_int(gap, "gap", minimum=0, fix="Use gap >= 0 rows (or a duration such as '7D')."), None


def _cut_rows(w: Windows, cuts: Any, gap: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Row ranges ``[lo, hi)`` per series for each part."""
    sd = w.series_data
    codes, local, coord = _coordinates(w)
    lengths = np.diff(sd.bounds)
    n_series = sd.n_series
    gap, duration = check_gap(gap, sd.time)
    if is_time_cuts(cuts):
        if sd.time is None:
            raise param_error("split", "fractions when the data has no timestamps", cuts, "Pass time=... or fractions.")
        stamps = parse_cuts(cuts)
        boundaries = [_count_before(codes, coord < s, n_series) for s in stamps]
        after_gap = [
            _count_before(codes, coord < add_duration(s, duration), n_series) if duration is not None else None
            for s in stamps
        ]
    else:
        fractions = check_fractions(cuts)
        cum = np.cumsum(fractions)[:-1]
        if sd.time is not None and n_series > 1:
            # The same timestamp for every series: quantiles of all rows' times.
            order = np.sort(coord)
            stamps = [order[min(int(round(c * len(order))), len(order) - 1)] for c in cum]
            boundaries = [_count_before(codes, coord < s, n_series) for s in stamps]
            after_gap = [
                _count_before(codes, coord < add_duration(s, duration), n_series) if duration is not None else None
                for s in stamps
            ]
        else:
            boundaries = [np.round(lengths * c).astype(np.int64) for c in cum]
            if duration is not None:
                after_gap = []
                for b in boundaries:
                    idx = np.minimum(sd.bounds[:-1] + b, sd.n_rows - 1)
                    start_time = sd.time[idx]  # type: ignore[index]
                    after_gap.append(_count_before(codes, coord < add_duration(start_time, duration)[codes], n_series))
            else:
                after_gap = [None] * len(boundaries)
    return ranges_from_cuts(boundaries, after_gap, gap, lengths)


def ranges_from_cuts(
    boundaries: Sequence[np.ndarray], after_gap: Sequence[np.ndarray | None], gap: Any, lengths: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Row ranges ``[lo, hi)`` per series of each part from the cut rows.

    Part ``k`` ends at ``boundaries[k]``; part ``k + 1`` starts after the gap: at ``after_gap[k]``
    (a duration gap, already counted in rows) or ``boundaries[k] + gap`` rows. Shared by the
    in-memory split, the streaming fit and the Dask fit so that all three cut identically.
    """
    ranges = []
    lo = np.zeros(len(lengths), dtype=np.int64)
    for b, ag in zip(boundaries, after_gap, strict=True):
        ranges.append((lo, b))
        lo = ag if ag is not None else b + gap
        lo = np.maximum(lo, b)
    ranges.append((lo, np.asarray(lengths, dtype=np.int64)))
    return ranges


def assign_parts(w: Windows, ranges: list[tuple[np.ndarray, np.ndarray]], context: str) -> list[np.ndarray]:
    """Window indices of each part (vectorized over windows)."""
    sd = w.series_data
    starts = w.starts
    series = np.searchsorted(sd.bounds, starts, side="right") - 1
    local_start = starts - sd.bounds[series]
    first_target = local_start + w.spec.last_input_offset + min(w.spec.horizons)
    last_target = local_start + w.spec.last_input_offset + max(w.spec.horizons)
    out = []
    for lo, hi in ranges:
        ok = (first_target >= lo[series]) & (last_target < hi[series])
        if context == "part":
            ok &= local_start >= lo[series]
        out.append(np.flatnonzero(ok))
    return out


def split(
    windows: Windows,
    fractions: Any = (0.7, 0.15, 0.15),
    *,
    gap: int | str | pd.Timedelta = 0,
    context: str = "history",
    names: Sequence[str] | None = None,
    holdout: str = "time",
    seed: int | None = None,
) -> Split:
    """Split windows chronologically into train/validation/test parts.

    Parameters
    ----------
    windows : Windows
        Windows over the whole data (see :func:`seqprep.windows`).
    fractions : sequence of float or of timestamps, default (0.7, 0.15, 0.15)
        Fractions of the rows (of the time range, for several series with timestamps) for each
        part, or 1-2 cut timestamps (``("2014-06-30", "2015-01-01")``): a part's targets are
        before the next cut.
    gap : int or duration, default 0
        Purge gap between consecutive parts, in rows or as a duration (``"7D"``). Rows in the gap
        are the target of no window.
    context : {"history", "part"}, default "history"
        Whether validation/test windows may read inputs from before their part.
    names : sequence of str, optional
        Part names; default ``("train", "val", "test")`` or ``("train", "test")``.
    holdout : {"time", "series"}, default "time"
        ``"series"`` puts whole series into parts instead (by the fractions of the series count,
        in a seeded random order).
    seed : int, optional
        Seed of the series order for ``holdout="series"``.

    Returns
    -------
    Split

    Raises
    ------
    DataError
        When a part gets no window; the message gives the rows each part needs.

    Examples
    --------
    >>> import numpy as np, seqprep
    >>> w = seqprep.windows(np.arange(100.0), lookback=5, target=0)
    >>> s = split(w, (0.6, 0.2, 0.2), gap=2)
    >>> [len(p) for p in s]
    [55, 18, 18]
    >>> int(s.train.provenance()["target_row"].max()), int(s.val.provenance()["target_row"].min())
    (59, 62)
    """
    if not isinstance(windows, Windows):
        raise param_error("windows", "a seqprep.Windows (from seqprep.windows(...))", type(windows).__name__)
    if not windows.has_target:
        raise InvalidParameterError(
            "`split` needs windows with a target, so that each window belongs to the part of its target rows. "
            "Pass target=... to seqprep.windows (horizon=0 labels a window by its own last row)."
        )
    check_choice(context, "context", CONTEXTS)
    check_choice(holdout, "holdout", ("time", "series"))
    n_parts = len(fractions) if not isinstance(fractions, str) and isinstance(fractions, Sequence) else 1
    if is_time_cuts(fractions):
        n_parts += 1
    names = tuple(names) if names is not None else (("train", "val", "test") if n_parts == 3 else ("train", "test"))
    if len(names) != n_parts:
        raise param_error("names", f"{n_parts} names (one per part)", names)
    check_holdout_args(holdout, gap, context, seed)
    if holdout == "series":
        return _split_series(windows, check_fractions(fractions), names, seed)
    ranges = _cut_rows(windows, fractions, gap)
    members = assign_parts(windows, ranges, context)
    require_windows(windows, names, members, ranges, context)
    parts = {n: windows.subset(m, name=n) for n, m in zip(names, members, strict=True)}
    row_ranges = {n: np.stack(r, axis=1) for n, r in zip(names, ranges, strict=True)}
    return Split(parts, row_ranges, gap, context)


def require_windows(
    w: Windows, names: Sequence[str], members: list[np.ndarray], ranges: list[Any], context: str
) -> None:
    empty = [n for n, m in zip(names, members, strict=True) if len(m) == 0]
    if not empty:
        return
    spec = w.spec
    sizes = ", ".join(
        f"{n}: {int((hi - lo).max())} rows" for n, (lo, hi) in zip(names, ranges, strict=True)
    )
    need_part = spec.span if context == "part" else max(spec.horizons) - min(spec.horizons) + 1
    raise DataError(
        f"the part(s) {', '.join(map(repr, empty))} get no window. Longest rows per part: {sizes}. With "
        f"lookback={spec.lookback} and horizon(s) {list(spec.horizons)}, each part needs at least {need_part} rows "
        f"(context={context!r}){' and the training part at least ' + str(spec.span) if context != 'part' else ''}. "
        "Use more data, a shorter lookback, a smaller gap, or other fractions."
    )


def _check_folds_fit(
    windows: Windows, n_folds: int, val_size: Any, val_rows: np.ndarray, lengths: np.ndarray, gap: int
) -> None:
    """Refuse folds that cannot fit, naming n_folds, val_size, gap and the rows (as TimeSeriesSplit does)."""
    span = windows.spec.span
    first_train = lengths - n_folds * val_rows - gap  # rows before the first fold's gap, per series
    if bool(np.all(first_train >= span)):
        return
    i = int(np.argmin(first_train - span))
    most = max(int((lengths[i] - gap - span) // max(int(val_rows[i]), 1)), 0)
    noun = "the series" if len(lengths) == 1 else f"series {windows.series_data.keys[i]!r}"
    raise InvalidParameterError(
        f"Too many folds for the data: n_folds={n_folds} x val_size={val_size!r} ({int(val_rows[i])} rows each) "
        f"+ gap={gap} leave {int(first_train[i])} rows before the first fold, but {noun} of {int(lengths[i])} rows "
        f"needs at least {span} for one training window (lookback {windows.spec.lookback} + horizon). "
        f"Use n_folds <= {most}, a smaller val_size or gap, or more data."
    )


def _split_series(w: Windows, fractions: tuple[float, ...], names: Sequence[str], seed: int | None) -> Split:
    sd = w.series_data
    n = sd.n_series
    if n < len(fractions):
        raise DataError(f"holdout='series' needs at least {len(fractions)} series; the data has {n}.")
    order = np.random.default_rng(seed).permutation(n)
    cuts = np.round(np.cumsum(fractions)[:-1] * n).astype(int)
    groups = np.split(order, cuts)
    series_of_window = np.searchsorted(sd.bounds, w.starts, side="right") - 1
    parts, ranges = {}, {}
    lengths = np.diff(sd.bounds)
    for name, members in zip(names, groups, strict=True):
        mask = np.isin(series_of_window, members)
        if not mask.any():
            raise DataError(f"holdout='series': part {name!r} gets no window; use other fractions or more series.")
        parts[name] = w.subset(np.flatnonzero(mask), name=name)
        rr = np.zeros((n, 2), dtype=np.int64)
        rr[members, 1] = lengths[members]
        ranges[name] = rr
    return Split(parts, ranges, 0, "part")


def walk_forward(
    windows: Windows,
    n_folds: int = 5,
    *,
    val_size: float | int = 0.1,
    gap: int = 0,
    mode: str = "expanding",
    train_size: int | None = None,
    context: str = "history",
) -> list[Split]:
    """Walk-forward (time-series cross-validation) folds over windows.

    Fold ``k`` validates on a block of ``val_size`` rows per series; its training part is every
    earlier row (``mode="expanding"``) or the last ``train_size`` rows before the gap
    (``mode="sliding"``). The last fold's validation block ends at the end of the data. Each fold
    should fit its own statistics on its own training part (the :class:`~seqprep.Pipeline`
    does).

    Parameters
    ----------
    windows : Windows
    n_folds : int, default 5
    val_size : float or int, default 0.1
        Rows per validation block: a fraction of each series' length or a number of rows.
    gap : int, default 0
        Purge gap in rows between training and validation targets.
    mode : {"expanding", "sliding"}, default "expanding"
    train_size : int, optional
        Training rows per fold for ``mode="sliding"``.
    context : {"history", "part"}, default "history"

    Returns
    -------
    list of Split
        One ``Split`` with parts ``"train"`` and ``"val"`` per fold, oldest first.

    Examples
    --------
    >>> import numpy as np, seqprep
    >>> w = seqprep.windows(np.arange(60.0), lookback=4, target=0)
    >>> folds = walk_forward(w, n_folds=3, val_size=10, gap=1)
    >>> [(len(f.train), len(f.val)) for f in folds]
    [(25, 10), (35, 10), (45, 10)]
    """
    n_folds = check_int(n_folds, "n_folds", minimum=1)
    gap = check_int(gap, "gap", minimum=0, fix="Folds count the gap in rows: pass gap as a number of rows >= 0.")
    check_choice(mode, "mode", ("expanding", "sliding"))
    check_choice(context, "context", CONTEXTS)
    if mode == "sliding":
        if train_size is None:
            raise param_error("train_size", "an integer when mode='sliding'", train_size)
        train_size = check_int(train_size, "train_size", minimum=1)
    lengths = np.diff(windows.series_data.bounds).astype(np.int64)
    if isinstance(val_size, float):
        check_float(val_size, "val_size", minimum=0.0, maximum=1.0, inclusive=False)
        val_rows = np.maximum(np.round(lengths * val_size).astype(np.int64), 1)
    else:
        val_rows = np.full_like(lengths, check_int(val_size, "val_size", minimum=1))
    _check_folds_fit(windows, n_folds, val_size, val_rows, lengths, gap)
    folds = []
    for k in range(n_folds):
        val_hi = lengths - (n_folds - 1 - k) * val_rows
        val_lo = val_hi - val_rows
        train_hi = np.maximum(val_lo - gap, 0)
        train_lo = np.zeros_like(train_hi) if mode == "expanding" else np.maximum(train_hi - train_size, 0)
        ranges = [(train_lo, train_hi), (val_lo, val_hi)]
        members = assign_parts(windows, ranges, context)
        require_windows(windows, ("train", "val"), members, ranges, context)
        parts = {n: windows.subset(m, name=f"fold{k}:{n}") for n, m in zip(("train", "val"), members, strict=True)}
        folds.append(Split(parts, {"train": np.stack(ranges[0], 1), "val": np.stack(ranges[1], 1)}, gap, context))
    return folds
